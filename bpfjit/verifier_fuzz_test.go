package bpfjit

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// vtFuzzInsnLimit bounds the work of one fuzzed or generated program.
const vtFuzzInsnLimit = 20_000

// checkVerified asserts what every accepted program must satisfy: the
// rewrite keeps every slot in place and changes only what the kernel's
// fixups change, and the exception-table list names exactly the probe
// instructions.
func checkVerified(t require.TestingT, prog []Insn, out *Verified) {
	require.Len(t, out.Insns, len(prog))
	var probes []int
	for i := 0; i < len(prog); i++ {
		in, o := prog[i], out.Insns[i]
		switch {
		case o == deadCodeTrap && in != o:
			// Dead code; a wide load is dead as a whole.
			if in.IsLdImm64() {
				require.Equal(t, deadCodeTrap, out.Insns[i+1])
				i++
			}
		case in.IsLdImm64():
			require.Equal(t, LdImm64, o.Code, "insn %d", i)
			require.Equal(t, in.Dst, o.Dst, "insn %d", i)
			if in.Src == PseudoFunc {
				require.Equal(t, in, o)
			} else {
				require.Equal(t, PseudoNone, o.Src, "insn %d: pseudo source left", i)
			}
			if in.Src == PseudoNone {
				require.Equal(t, in.Imm64(prog[i+1]), o.Imm64(out.Insns[i+1]), "insn %d", i)
			}
			i++
			continue
		case o.Code.Class().IsLoadOrStore() && (o.Code.Mode() == ProbeMem32Mode || (o.Code.Class() == StXClass && o.Code.Mode() == ProbeAtomicMode)):
			probes = append(probes, i)
			require.Equal(t, in.Code.Class(), o.Code.Class(), "insn %d", i)
			require.Equal(t, in.Code.Size(), o.Code.Size(), "insn %d", i)
			if o.Code.Mode() == ProbeAtomicMode {
				require.Equal(t, AtomicMode, in.Code.Mode(), "insn %d", i)
			} else {
				require.Equal(t, MemMode, in.Code.Mode(), "insn %d", i)
			}
			require.Equal(t, [4]int64{int64(in.Dst), int64(in.Src), int64(in.Off), int64(in.Imm)},
				[4]int64{int64(o.Dst), int64(o.Src), int64(o.Off), int64(o.Imm)}, "insn %d", i)
		case in.Code == ALUOpcode(ALU64Class, Mov, RegSource) && in.Off == AddrSpaceCast && in != o:
			require.Equal(t, Insn{Code: ALUOpcode(ALUClass, Mov, RegSource), Dst: in.Dst, Src: in.Src}, o, "insn %d", i)
			require.NotNil(t, out.Arena)
		case in.Code.Class() == ALU64Class && o.Code.Class() == ALUClass:
			require.Equal(t, in.Code.ALUOp(), o.Code.ALUOp(), "insn %d: only arena arithmetic narrows", i)
			require.Equal(t, in.Code.Source(), o.Code.Source())
			require.NotNil(t, out.Arena)
		default:
			require.Equal(t, in, o, "insn %d changed", i)
		}
	}
	require.Equal(t, probes, out.ProbeInsns)
	require.LessOrEqual(t, out.InsnProcessed, ComplexityLimitInsns)
	require.NotEmpty(t, out.Subprogs)
	for _, sp := range out.Subprogs {
		require.LessOrEqual(t, sp.StackDepth, MaxBPFStack)
	}
}

// checkRejection asserts the shape of a rejection.
func checkRejection(t require.TestingT, err error) {
	var ve *VerifierError
	require.True(t, errors.As(err, &ve), "%v", err)
	require.NotZero(t, ve.Errno)
	require.NotEmpty(t, ve.Msg)
	require.True(t, errors.Is(err, ve.Errno))
}

// vtFuzzEnvs are the environments each fuzzed program is verified in:
// privileged with every map and the arena; CAP_BPF alone (loops and calls,
// but no reads of unwritten stack); unprivileged.
func vtFuzzEnvs() []*VerifyEnv {
	priv := vtEnv()
	priv.insnLimit = vtFuzzInsnLimit
	priv.LogLevel = LogLevel2
	bpfOnly := vtEnv()
	bpfOnly.Caps = CapBPF
	bpfOnly.insnLimit = vtFuzzInsnLimit
	unpriv := vtEnv()
	unpriv.Caps = 0
	unpriv.Sleepable = false
	unpriv.insnLimit = vtFuzzInsnLimit
	return []*VerifyEnv{priv, bpfOnly, unpriv}
}

// verifyEverywhere verifies prog in every fuzz environment; what is
// accepted must be rewritten faithfully and must run on the interpreter
// without reading anything unwritten or touching memory it may not.
func verifyEverywhere(t require.TestingT, prog []Insn, seed uint64) (accepted int, rejected []error) {
	for _, env := range vtFuzzEnvs() {
		out, err := Verify(prog, env)
		if err != nil {
			checkRejection(t, err)
			rejected = append(rejected, err)
			continue
		}
		accepted++
		checkVerified(t, prog, out)
		for run := range uint64(4) {
			require.NoError(t, runVerified(out, env, seed+run), "accepted program misbehaves at run time:\n%s", Disassemble(out.Insns, SyntaxKernel))
		}
	}
	return accepted, rejected
}

// FuzzVerify feeds arbitrary bytes to the verifier as a program: it must
// never panic, a rejection must carry an errno and a message, and an
// accepted program must come back rewritten only as the kernel rewrites.
func FuzzVerify(f *testing.F) {
	for _, p := range [][]Insn{vtBasicAlloc1(), vtBasicAlloc2(),
		vProg(vtLookup(vtHashFD), vJmpImm(JEq, R0, 0, 1), vLdx(DWord, R0, R0, 0), vExit()),
		vProg(vtArenaPtr(), vMov64Imm(R2, 1), vAtomic(DWord, AtomicAdd, R1, R2, 0), vExit()),
		vProg(vMov64Imm(R0, 0), vMayGoto(2), vALU64Imm(Add, R0, 1), vJa(-3), vExit()),
	} {
		f.Add(EncodeProgram(p))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 512*InsnSize {
			data = data[:512*InsnSize]
		}
		prog, err := DecodeProgram(data[:len(data)/InsnSize*InsnSize])
		require.NoError(t, err)
		verifyEverywhere(t, prog, uint64(len(data)))
	})
}

// vtGen generates programs that look like compiled code: registers
// initialised or not, ALU on them, stack spills and fills, context loads,
// forward branches, a bounded loop, helper calls, map lookups and arena
// accesses. Many are rejected, many accepted; both must be handled right.
type vtGen struct {
	t    *rapid.T
	prog []any
	n    int
}

func (g *vtGen) reg(name string) Register {
	return Register(rapid.IntRange(0, 10).Draw(g.t, name))
}

func (g *vtGen) add(parts ...any) { g.prog = append(g.prog, parts...) }

func (g *vtGen) label() vLabel {
	g.n++
	return vLabel(fmt.Sprintf("L%d", g.n))
}

var vtGenALUOps = []ALUOp{Add, Sub, Mul, Div, Or, And, LSh, RSh, Mod, Xor, ArSh}
var vtGenJumpOps = []JumpOp{JEq, JNE, JGT, JGE, JLT, JLE, JSGT, JSGE, JSLT, JSLE, JSet}
var vtGenSizes = []Size{Byte, Half, Word, DWord}

// block appends up to n random statements; depth bounds nesting.
func (g *vtGen) block(n, depth int) {
	count := rapid.IntRange(1, n).Draw(g.t, "count")
	for range count {
		switch rapid.IntRange(0, 14).Draw(g.t, "kind") {
		case 0:
			g.add(vMov64Imm(g.reg("dst"), rapid.Int32Range(-100, 100).Draw(g.t, "imm")))
		case 1:
			op := rapid.SampledFrom(vtGenALUOps).Draw(g.t, "op")
			imm := rapid.Int32Range(1, 63).Draw(g.t, "imm")
			if rapid.Bool().Draw(g.t, "alu32") {
				g.add(vALU32Imm(op, g.reg("dst"), imm%32))
			} else {
				g.add(vALU64Imm(op, g.reg("dst"), imm))
			}
		case 2:
			op := rapid.SampledFrom(vtGenALUOps).Draw(g.t, "op")
			g.add(vALU64Reg(op, g.reg("dst"), g.reg("src")))
		case 3:
			g.add(vMov64Reg(g.reg("dst"), g.reg("src")))
		case 4:
			sz := rapid.SampledFrom(vtGenSizes).Draw(g.t, "size")
			off := -int16(rapid.IntRange(1, 8).Draw(g.t, "slot")) * int16(sz.Bytes())
			g.add(vStx(sz, R10, g.reg("src"), off))
		case 5:
			sz := rapid.SampledFrom(vtGenSizes).Draw(g.t, "size")
			off := -int16(rapid.IntRange(1, 8).Draw(g.t, "slot")) * int16(sz.Bytes())
			g.add(vLdx(sz, g.reg("dst"), R10, off))
		case 6:
			g.add(vLdx(Word, g.reg("dst"), g.reg("ptr"), int16(rapid.IntRange(-4, 64).Draw(g.t, "off"))))
		case 7:
			g.add(vMov64Reg(R2, R10), vALU64Imm(Add, R2, -int32(rapid.IntRange(0, 24).Draw(g.t, "fpoff"))))
		case 8:
			if depth > 0 {
				end := g.label()
				if rapid.Bool().Draw(g.t, "x") {
					g.add(vJmpRegL(rapid.SampledFrom(vtGenJumpOps).Draw(g.t, "jop"), g.reg("a"), g.reg("b"), end))
				} else {
					g.add(vJmpImmL(rapid.SampledFrom(vtGenJumpOps).Draw(g.t, "jop"), g.reg("a"), rapid.Int32Range(-5, 70).Draw(g.t, "imm"), end))
				}
				g.block(4, depth-1)
				g.add(end)
			}
		case 9:
			if depth > 0 {
				top := g.label()
				g.add(vMov64Imm(R9, 0), top)
				g.block(3, depth-1)
				g.add(vALU64Imm(Add, R9, 1), vJmpImmL(JLT, R9, rapid.Int32Range(1, 4).Draw(g.t, "trips"), top))
			}
		case 10:
			g.add(vCall(rapid.SampledFrom([]int32{FuncKtimeGetNs, FuncGetPrandomU32}).Draw(g.t, "helper")))
		case 11:
			g.add(vtLookup(vtHashFD))
			if rapid.Bool().Draw(g.t, "check") {
				skip := g.label()
				g.add(vJmpImmL(JEq, R0, 0, skip), vLdx(DWord, R3, R0, int16(rapid.IntRange(-1, 8).Draw(g.t, "voff"))), skip)
			}
		case 12:
			g.add(vArenaAlloc(vtArenaFD, 1), vCast(g.reg("dst"), R0, CastKernImm))
		case 13:
			sz := rapid.SampledFrom(vtGenSizes).Draw(g.t, "size")
			g.add(vStx(sz, g.reg("ptr"), g.reg("src"), int16(rapid.IntRange(-32768, 32767).Draw(g.t, "aoff"))))
		case 14:
			// An index bounded through a copy, then used on a map value.
			idx := Register(rapid.IntRange(7, 9).Draw(g.t, "idx"))
			cp := Register(rapid.IntRange(7, 9).Draw(g.t, "copy"))
			skip := g.label()
			g.add(vLdx(rapid.SampledFrom([]Size{Byte, Byte, Word}).Draw(g.t, "isize"), idx, R6, int16(rapid.IntRange(0, 8).Draw(g.t, "ioff"))),
				vMov64Reg(cp, idx))
			if rapid.Bool().Draw(g.t, "delta") {
				g.add(vALU64Imm(Add, cp, rapid.Int32Range(-3, 3).Draw(g.t, "d")))
			}
			bound := rapid.Int32Range(0, 10).Draw(g.t, "bound")
			g.add(vJmpImmL(rapid.SampledFrom([]JumpOp{JGT, JGE, JSGT, JSGE}).Draw(g.t, "bop"), cp, bound, skip))
			if rapid.Bool().Draw(g.t, "between") {
				g.block(2, 0)
			}
			// The access lands near the end of the 8-byte value, where an
			// off-by-one in the bounds shows.
			voff := int16(8 - bound + rapid.Int32Range(-3, 1).Draw(g.t, "slack"))
			g.add(vtLookup(vtHashFD), vJmpImmL(JEq, R0, 0, skip), vALU64Reg(Add, R0, idx), vLdx(Byte, R3, R0, voff), skip)
		}
	}
}

func vtGenProgram(t *rapid.T) []Insn {
	g := &vtGen{t: t}
	g.add(vMov64Reg(R6, R1))
	for r := R0; r <= R9; r++ {
		if r != R6 && rapid.IntRange(0, 3).Draw(t, "init") > 0 {
			g.add(vMov64Imm(r, 0))
		}
	}
	g.block(12, 2)
	g.add(vExit())
	return vProgL(g.prog...)
}

// TestVerifierRandomPrograms runs generated programs through the verifier
// in every fuzz environment: no panic, well-formed rejections, faithful
// rewrites, and accepted programs that behave on the interpreter.
func TestVerifierRandomPrograms(t *testing.T) {
	accepted, rejected := 0, map[errno.Errno]int{}
	rapid.Check(t, func(t *rapid.T) {
		prog := vtGenProgram(t)
		n, errs := verifyEverywhere(t, prog, rapid.Uint64().Draw(t, "seed"))
		accepted += n
		for _, err := range errs {
			rejected[errno.Of(err)]++
		}
	})
	var parts []string
	for e, n := range rejected {
		parts = append(parts, fmt.Sprintf("%s %d", e.Name(), n))
	}
	sort.Strings(parts)
	t.Logf("random programs: %d accepted, rejected: %s", accepted, strings.Join(parts, ", "))
}

// TestVerifierConformancePrograms verifies every program of the
// bpf_conformance suite with r1 a buffer of the test's memory: none may
// panic the verifier, and every verdict must be well formed.
func TestVerifierConformancePrograms(t *testing.T) {
	_, tests := conformanceFiles(t)
	accepted := 0
	rejected := map[string]int{}
	for _, ct := range tests {
		env := vtEnv()
		env.Ctx = CtxInfo{Kind: CtxMemory, Size: len(ct.Mem)}
		env.insnLimit = vtFuzzInsnLimit
		out, err := Verify(ct.Program, env)
		if err != nil {
			checkRejection(t, err)
			rejected[err.(*VerifierError).Msg]++
			continue
		}
		accepted++
		checkVerified(t, ct.Program, out)
	}
	t.Logf("verifier over the conformance suite: %d accepted, %d rejected: %v", accepted, len(tests)-accepted, rejected)
	require.Equal(t, len(tests), accepted+sum(rejected))
	// The rejections are the kernel's: mem-len reads r2 (the length), which
	// no program type provides; the (imm|intmin)- shift tests shift by
	// constants out of range (the kernel's own CI excludes them); callx is
	// not an instruction Linux accepts.
	require.Equal(t, 1, rejected["R2 !read_ok"])
	require.Equal(t, 1, rejected["unknown opcode 8d"])
	shifts := 0
	for msg, n := range rejected {
		if strings.HasPrefix(msg, "invalid shift ") {
			shifts += n
		}
	}
	require.Equal(t, len(tests)-accepted-2, shifts)
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// vtGenBoundsProgram makes one bounded map-value access: an index loaded
// from the context, perhaps transformed and copied, checked by one
// conditional jump, then added to a map value pointer and dereferenced
// near the end of the 8-byte value. Whether the verifier accepts it
// depends on exactly the bounds it derives.
func vtGenBoundsProgram(t *rapid.T) []Insn {
	var p []any
	p = append(p, vMov64Reg(R6, R1), vLdx(rapid.SampledFrom(vtGenSizes).Draw(t, "isize"), R7, R6, int16(rapid.IntRange(0, 8).Draw(t, "ioff"))))
	switch rapid.IntRange(0, 4).Draw(t, "xform") {
	case 1:
		p = append(p, vALU64Imm(And, R7, rapid.Int32Range(0, 31).Draw(t, "mask")))
	case 2:
		p = append(p, vALU64Imm(RSh, R7, rapid.Int32Range(1, 60).Draw(t, "shift")))
	case 3:
		p = append(p, vALU32Imm(Add, R7, rapid.Int32Range(-4, 4).Draw(t, "add32")))
	case 4:
		p = append(p, vMovsx(R7, R7, rapid.SampledFrom([]int16{8, 16, 32}).Draw(t, "sx")))
	}
	cmp := R7
	if rapid.Bool().Draw(t, "copy") {
		cmp = R8
		p = append(p, vMov64Reg(R8, R7))
		if rapid.Bool().Draw(t, "delta") {
			p = append(p, vALU64Imm(Add, R8, rapid.Int32Range(-3, 3).Draw(t, "d")))
		}
	}
	op := rapid.SampledFrom(vtGenJumpOps).Draw(t, "op")
	bound := rapid.Int32Range(-2, 12).Draw(t, "bound")
	jmp := vJmpImm(op, cmp, bound, 0)
	if rapid.Bool().Draw(t, "jmp32") {
		jmp = vJmp32Imm(op, cmp, bound, 0)
	}
	// The access lands around the end of the 8-byte value as the bound
	// would place it, where an off-by-one in the bounds shows.
	voff := min(max(8-bound+rapid.Int32Range(-2, 1).Draw(t, "slack"), -1), 8)
	access := vProgL(vtLookup(vtHashFD), vJmpImmL(JEq, R0, 0, "skip"), vALU64Reg(Add, R0, R7),
		vLdx(Byte, R3, R0, int16(voff)), vLabel("skip"))
	if rapid.Bool().Draw(t, "taken") {
		// if (cond) goto access; goto skip; access: ...
		jmp.Off = 1
		p = append(p, jmp, vJa(int16(len(access))), access)
	} else {
		// if (cond) goto skip; access: ...
		jmp.Off = int16(len(access))
		p = append(p, jmp, access)
	}
	p = append(p, vMov64Imm(R0, 0), vExit())
	return vProg(p...)
}

// TestVerifierBoundsPrograms runs bounded accesses whose safety hangs on
// one comparison: each accepted one must stay inside the value at run time
// for every index the context supplies.
func TestVerifierBoundsPrograms(t *testing.T) {
	accepted := 0
	rapid.Check(t, func(t *rapid.T) {
		prog := vtGenBoundsProgram(t)
		env := vtEnv()
		env.insnLimit = vtFuzzInsnLimit
		out, err := Verify(prog, env)
		if err != nil {
			checkRejection(t, err)
			return
		}
		accepted++
		checkVerified(t, prog, out)
		seed := rapid.Uint64().Draw(t, "seed")
		for run := range uint64(16) {
			require.NoError(t, runVerified(out, env, seed+run), "accepted program misbehaves at run time:\n%s", Disassemble(out.Insns, SyntaxKernel))
		}
	})
	t.Logf("bounds programs: %d accepted", accepted)
}

package bpfjit

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/arenasim/arenasim/internal/errno"
)

// x86GenInsns draws one well-formed instruction (or a wide load's two
// slots) for a function of n slots whose slot i is being drawn; jumps stay
// in [lo, hi). callee is the first slot of a subprogram to call, or -1.
func x86GenInsns(t *rapid.T, i, lo, hi, callee int, arena bool) []Insn {
	wreg := rapid.SampledFrom([]Register{R0, R1, R2, R3, R4, R5, R6, R7, R8, R9}).Draw(t, "dst")
	rreg := rapid.IntRange(0, 10).Draw(t, "src")
	src := Register(rreg)
	cls := rapid.SampledFrom([]Class{ALUClass, ALU64Class}).Draw(t, "alucls")
	jcls := rapid.SampledFrom([]Class{JumpClass, Jump32Class}).Draw(t, "jcls")
	size := rapid.SampledFrom([]Size{Byte, Half, Word, DWord}).Draw(t, "size")
	off := int16(rapid.IntRange(-32768, 32767).Draw(t, "off"))
	imm := rapid.Int32().Draw(t, "imm")
	target := func() int16 { return int16(rapid.IntRange(lo, hi-1).Draw(t, "target") - i - 1) }
	ptr := rapid.SampledFrom([]Register{R1, R2, R6, R7, R9, R10}).Draw(t, "ptr")
	switch rapid.IntRange(0, 17).Draw(t, "kind") {
	case 0:
		op := rapid.SampledFrom([]ALUOp{Add, Sub, Mul, Or, And, LSh, RSh, Xor, ArSh, Div, Mod}).Draw(t, "op")
		ins := x86AluX(cls, op, wreg, src)
		if op == Div || op == Mod {
			ins.Off = int16(rapid.IntRange(0, 1).Draw(t, "signed"))
		}
		return []Insn{ins}
	case 1:
		op := rapid.SampledFrom([]ALUOp{Add, Sub, Mul, Or, And, Xor, Mov, Neg, Div, Mod}).Draw(t, "op")
		ins := x86AluK(cls, op, wreg, imm)
		if op == Div || op == Mod {
			ins.Off = int16(rapid.IntRange(0, 1).Draw(t, "signed"))
		}
		return []Insn{ins}
	case 2:
		op := rapid.SampledFrom([]ALUOp{LSh, RSh, ArSh}).Draw(t, "op")
		return []Insn{x86AluK(cls, op, wreg, int32(rapid.IntRange(0, 31).Draw(t, "sh")))}
	case 3:
		offs := map[Class][]int16{ALUClass: {0, 8, 16}, ALU64Class: {0, 8, 16, 32}}[cls]
		return []Insn{{Code: ALUOpcode(cls, Mov, RegSource), Dst: wreg, Src: src, Off: rapid.SampledFrom(offs).Draw(t, "movsx")}}
	case 4:
		code := rapid.SampledFrom([]Opcode{ALUOpcode(ALUClass, End, ImmSource), ALUOpcode(ALUClass, End, RegSource), ALUOpcode(ALU64Class, End, ImmSource)}).Draw(t, "end")
		return []Insn{{Code: code, Dst: wreg, Imm: rapid.SampledFrom([]int32{16, 32, 64}).Draw(t, "width")}}
	case 5:
		w := LdImm64Insns(wreg, PseudoNone, rapid.Uint64().Draw(t, "imm64"))
		return w[:]
	case 6:
		m := rapid.SampledFrom([]Mode{MemMode, MemSXMode, ProbeMemMode}).Draw(t, "mode")
		if m != MemMode && size == DWord {
			size = Word
		}
		if arena && rapid.Bool().Draw(t, "arena") {
			m = ProbeMem32Mode
		}
		return []Insn{x86Ldx(m, size, wreg, src, off)}
	case 7:
		m := MemMode
		if arena && rapid.Bool().Draw(t, "arena") {
			m = ProbeMem32Mode
		}
		if rapid.Bool().Draw(t, "imm") {
			return []Insn{x86St(m, size, ptr, off, imm)}
		}
		return []Insn{x86Stx(m, size, ptr, src, off)}
	case 8:
		m := AtomicMode
		ops := []int32{AtomicAdd, AtomicAnd, AtomicOr, AtomicXor, AtomicAdd | AtomicFetch, AtomicXchg, AtomicCmpXchg,
			AtomicAnd | AtomicFetch, AtomicOr | AtomicFetch, AtomicXor | AtomicFetch, AtomicLoadAcq, AtomicStoreRel}
		if arena && rapid.Bool().Draw(t, "arena") {
			m, ops = ProbeAtomicMode, ops[:7]
			ops = append(ops, AtomicLoadAcq, AtomicStoreRel)
		}
		op := rapid.SampledFrom(ops).Draw(t, "atomic")
		if op != AtomicLoadAcq && op != AtomicStoreRel {
			size = rapid.SampledFrom([]Size{Word, DWord}).Draw(t, "asize")
		}
		if op == AtomicLoadAcq {
			return []Insn{x86Atomic(m, size, wreg, src, off, op)}
		}
		if op&AtomicFetch != 0 {
			src = wreg // a fetching atomic writes its source: never r10
		}
		return []Insn{x86Atomic(m, size, ptr, src, off, op)}
	case 9:
		op := rapid.SampledFrom([]JumpOp{JEq, JGT, JGE, JSet, JNE, JSGT, JSGE, JLT, JLE, JSLT, JSLE}).Draw(t, "jop")
		if rapid.Bool().Draw(t, "x") {
			return []Insn{x86JmpX(jcls, op, wreg, src, target())}
		}
		return []Insn{x86JmpK(jcls, op, wreg, imm, target())}
	case 10:
		if rapid.Bool().Draw(t, "gotol") {
			return []Insn{{Code: JumpOpcode(Jump32Class, Ja, ImmSource), Imm: int32(target())}}
		}
		return []Insn{x86JmpK(JumpClass, Ja, 0, 0, target())}
	case 11:
		return []Insn{{Code: JumpOpcode(JumpClass, JCond, ImmSource), Off: target()}}
	case 12:
		return []Insn{x86Call(CallHelper, int32(rapid.IntRange(1, 200).Draw(t, "helper")))}
	case 13:
		return []Insn{x86Call(CallKfunc, int32(rapid.IntRange(1, 100000).Draw(t, "btf")))}
	case 14:
		if callee >= 0 {
			return []Insn{x86Call(CallLocal, int32(callee-i-1))}
		}
		return []Insn{x86Exit}
	case 15:
		if arena {
			if rapid.Bool().Draw(t, "user") {
				return []Insn{x86CastUser(wreg, src)}
			}
			return []Insn{x86CastKern(wreg, src)}
		}
		return []Insn{x86Exit}
	case 16:
		return []Insn{{Code: Opcode(uint8(StClass) | 0xc0)}}
	default:
		return []Insn{x86Exit}
	}
}

// x86GenProgram draws a program of one or two functions that the
// verifier's structural checks would pass.
func x86GenProgram(t *rapid.T, arena bool) []Insn {
	mainLen := rapid.IntRange(1, 40).Draw(t, "mainLen")
	subLen := rapid.SampledFrom([]int{0, 0, rapid.IntRange(1, 20).Draw(t, "subLen")}).Draw(t, "sub")
	callee := -1
	if subLen > 0 {
		callee = mainLen + 1
	}
	var prog []Insn
	gen := func(lo, hi int) {
		for len(prog) < hi-1 {
			ins := x86GenInsns(t, len(prog), lo, hi, callee, arena)
			if len(prog)+len(ins) > hi-1 {
				ins = []Insn{x86Exit}
			}
			prog = append(prog, ins...)
		}
		prog = append(prog, x86Exit)
	}
	gen(0, mainLen+1)
	if subLen > 0 {
		gen(mainLen+1, mainLen+1+subLen+1)
	}
	x86RetargetSecondSlots(prog)
	return prog
}

// TestX86RandomPrograms is the property the emitter must keep on every
// well-formed program: it compiles, the images decode completely, and
// every branch, call and exception-table entry agrees with the program.
func TestX86RandomPrograms(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		arena := rapid.Bool().Draw(t, "hasArena")
		o := X86Options{
			BMI2:    rapid.Bool().Draw(t, "bmi2"),
			MayGoto: rapid.SampledFrom([]X86MayGoto{X86MayGotoTimed, X86MayGotoCount}).Draw(t, "maygoto"),
		}
		if arena {
			o.KernVMStart, o.UserVMStart = x86TestKern, x86TestUser
			o.NoUserConv = rapid.Bool().Draw(t, "nouserconv")
		}
		prog := x86GenProgram(t, arena)
		p, err := JITX86(prog, &o)
		if err != nil {
			t.Fatalf("%v\nprogram: %v", err, prog)
		}
		if _, err := x86CheckImage(p, nil); err != nil {
			t.Fatalf("%v\nprogram: %v", err, prog)
		}
		if err := p.Dump(io.Discard, X86DumpOptions{BPF: true, Opcodes: true, Extable: true}); err != nil {
			t.Fatal(err)
		}
	})
}

// x86FuzzInput turns fuzz bytes into options (first byte) and a program.
func x86FuzzInput(data []byte) (X86Options, []Insn) {
	var o X86Options
	if len(data) == 0 {
		return o, nil
	}
	flags := data[0]
	data = data[1:]
	if flags&1 != 0 {
		o.KernVMStart, o.UserVMStart = x86TestKern, x86TestUser
		o.NoUserConv = flags&8 != 0
	}
	o.BMI2 = flags&2 != 0
	if flags&4 != 0 {
		o.MayGoto = X86MayGotoCount
	}
	prog, _ := DecodeProgram(data[:len(data)/InsnSize*InsnSize])
	return o, prog
}

// x86FuzzSeed encodes options and a program the way x86FuzzInput reads them.
func x86FuzzSeed(flags byte, prog []Insn) []byte {
	return append([]byte{flags}, EncodeProgram(prog)...)
}

// FuzzJITX86: any bytes, read as options and instructions, either are
// refused with a Linux errno or compile into images that decode completely
// and agree with the program. The emitter never panics.
func FuzzJITX86(f *testing.F) {
	for _, s := range x86FuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, prog := x86FuzzInput(data)
		p, err := JITX86(prog, &o)
		if err != nil {
			if errno.Of(err) == 0 {
				t.Fatalf("error without an errno: %v", err)
			}
			return
		}
		if _, err := x86CheckImage(p, nil); err != nil {
			t.Fatalf("%v\nprogram: %v", err, prog)
		}
		if err := p.Dump(io.Discard, X86DumpOptions{BPF: true, Extable: true}); err != nil {
			t.Fatal(err)
		}
	})
}

// x86FuzzSeeds are the seeds FuzzJITX86 starts from (also committed under
// testdata/fuzz/FuzzJITX86 by TestX86WriteFuzzSeeds).
func x86FuzzSeeds() [][]byte {
	arenaProg := []Insn{
		x86Ldx(ProbeMem32Mode, DWord, R0, R1, 8),
		x86Stx(ProbeMem32Mode, Word, R1, R2, -4),
		x86St(ProbeMem32Mode, Byte, R1, 32767, 1),
		x86Atomic(ProbeAtomicMode, DWord, R1, R2, 0, AtomicCmpXchg),
		x86CastUser(R3, R1),
		x86CastKern(R4, R3),
		x86Exit,
	}
	loop := []Insn{
		x86AluK(ALU64Class, Mov, R0, 0),
		x86AluK(ALU64Class, Add, R0, 1),
		{Code: JumpOpcode(JumpClass, JCond, ImmSource), Off: -2},
		x86AluX(ALU64Class, Div, R0, R1),
		{Code: ALUOpcode(ALUClass, Mod, RegSource), Dst: R0, Src: R2, Off: 1},
		x86Exit,
	}
	calls := []Insn{
		x86Call(CallLocal, 3),
		x86Call(CallHelper, 5),
		x86Call(CallKfunc, 1234),
		x86Exit,
		x86AluX(ALU64Class, LSh, R1, R2),
		x86Atomic(AtomicMode, DWord, R10, R1, -8, AtomicOr|AtomicFetch),
		x86Exit,
	}
	wide := append(x86Wide(R1, 0xffffc90000008000), x86JmpK(JumpClass, JEq, R1, 0, -3), x86Exit)
	return [][]byte{
		x86FuzzSeed(1, arenaProg),
		x86FuzzSeed(1|2|8, arenaProg),
		x86FuzzSeed(0, loop),
		x86FuzzSeed(4, loop),
		x86FuzzSeed(2, calls),
		x86FuzzSeed(0, wide),
		x86FuzzSeed(0, nil),
	}
}

// TestX86WriteFuzzSeeds writes the seed corpus files when X86_WRITE_SEEDS
// is set, and otherwise checks the committed ones are still the seeds.
func TestX86WriteFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzJITX86")
	for i, s := range x86FuzzSeeds() {
		path := filepath.Join(dir, "seed"+strconv.Itoa(i))
		content := "go test fuzz v1\n[]byte(" + strconv.Quote(string(s)) + ")\n"
		if os.Getenv("X86_WRITE_SEEDS") != "" {
			require.NoError(t, os.MkdirAll(dir, 0o755))
			require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
			continue
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, content, string(got), "%s is stale: rerun with X86_WRITE_SEEDS=1", path)
	}
}

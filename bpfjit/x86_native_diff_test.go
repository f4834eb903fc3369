//go:build linux && amd64

package bpfjit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// The differential test: random programs run by the interpreter and, as
// the x86 the model emits, natively; r0, the context memory and the arena
// must come out the same. The programs only move forward (no loop can hang
// the native run) and reach memory through three fixed bases so that
// nothing faults natively: r10 (the stack, zeroed first), r9 (r1, the
// context memory) and r8 (an arena pointer, lo32 0x800, used by the
// PROBE_MEM32/PROBE_ATOMIC forms). r0-r7 start from random constants, since
// the two engines' initial registers differ.

const (
	x86DiffMemLen   = 256
	x86DiffArenaLen = 1 << 12
	x86DiffArenaPtr = 0x800
	x86DiffStack    = 64 // bytes of stack the programs touch
)

func x86DiffInsn(t *rapid.T, i, n int) []Insn {
	dst := Register(rapid.IntRange(0, 7).Draw(t, "dst"))
	src := Register(rapid.IntRange(0, 7).Draw(t, "src"))
	cls := rapid.SampledFrom([]Class{ALUClass, ALU64Class}).Draw(t, "cls")
	jcls := rapid.SampledFrom([]Class{JumpClass, Jump32Class}).Draw(t, "jcls")
	imm := rapid.SampledFrom([]int32{0, 1, -1, 7, 0x7fffffff, -0x80000000, rapid.Int32().Draw(t, "rnd")}).Draw(t, "imm")
	size := rapid.SampledFrom([]Size{Byte, Half, Word, DWord}).Draw(t, "size")
	fwd := func() int16 { return int16(rapid.IntRange(i+1, n).Draw(t, "to") - i - 1) }
	// A memory operand: base register, an in-bounds offset for size, and
	// the load/store mode (PROBE_MEM32 for the arena).
	mem := func(arena bool) (Register, int16, Mode) {
		sz := size.Bytes()
		switch {
		case arena:
			return R8, int16(rapid.IntRange(-x86DiffArenaPtr, x86DiffArenaLen-x86DiffArenaPtr-sz).Draw(t, "aoff")), ProbeMem32Mode
		case rapid.Bool().Draw(t, "stack"):
			return R10, int16(rapid.IntRange(-x86DiffStack, -sz).Draw(t, "soff")), MemMode
		}
		return R9, int16(rapid.IntRange(0, x86DiffMemLen-sz).Draw(t, "moff")), MemMode
	}
	switch rapid.IntRange(0, 13).Draw(t, "kind") {
	case 0, 1:
		op := rapid.SampledFrom([]ALUOp{Add, Sub, Mul, Div, Or, And, LSh, RSh, Mod, Xor, Mov, ArSh}).Draw(t, "op")
		ins := x86AluX(cls, op, dst, src)
		if op == Div || op == Mod {
			ins.Off = int16(rapid.IntRange(0, 1).Draw(t, "signed"))
		}
		return []Insn{ins}
	case 2, 3:
		op := rapid.SampledFrom([]ALUOp{Add, Sub, Mul, Div, Or, And, LSh, RSh, Neg, Mod, Xor, Mov, ArSh}).Draw(t, "op")
		ins := x86AluK(cls, op, dst, imm)
		switch op {
		case LSh, RSh, ArSh:
			ins.Imm = int32(rapid.IntRange(0, map[Class]int{ALUClass: 31, ALU64Class: 63}[cls]).Draw(t, "sh"))
		case Div, Mod:
			ins.Off = int16(rapid.IntRange(0, 1).Draw(t, "signed"))
			if ins.Imm == 0 {
				ins.Imm = 3 // the verifier refuses a constant divisor of 0
			}
		case Neg:
			ins.Imm = 0
		}
		return []Insn{ins}
	case 4:
		offs := map[Class][]int16{ALUClass: {8, 16}, ALU64Class: {8, 16, 32}}[cls]
		return []Insn{{Code: ALUOpcode(cls, Mov, RegSource), Dst: dst, Src: src, Off: rapid.SampledFrom(offs).Draw(t, "movsx")}}
	case 5:
		code := rapid.SampledFrom([]Opcode{ALUOpcode(ALUClass, End, ImmSource), ALUOpcode(ALUClass, End, RegSource), ALUOpcode(ALU64Class, End, ImmSource)}).Draw(t, "end")
		return []Insn{{Code: code, Dst: dst, Imm: rapid.SampledFrom([]int32{16, 32, 64}).Draw(t, "width")}}
	case 6:
		w := LdImm64Insns(dst, PseudoNone, rapid.Uint64().Draw(t, "imm64"))
		return w[:]
	case 7:
		op := rapid.SampledFrom([]JumpOp{JEq, JGT, JGE, JSet, JNE, JSGT, JSGE, JLT, JLE, JSLT, JSLE}).Draw(t, "jop")
		if rapid.Bool().Draw(t, "x") {
			return []Insn{x86JmpX(jcls, op, dst, src, fwd())}
		}
		return []Insn{x86JmpK(jcls, op, dst, imm, fwd())}
	case 8:
		if rapid.Bool().Draw(t, "gotol") {
			return []Insn{{Code: JumpOpcode(Jump32Class, Ja, ImmSource), Imm: int32(fwd())}}
		}
		return []Insn{x86JmpK(JumpClass, Ja, 0, 0, fwd())}
	case 9:
		base, off, m := mem(rapid.Bool().Draw(t, "arena"))
		if rapid.Bool().Draw(t, "sx") && size != DWord && m == MemMode {
			m = MemSXMode
		}
		return []Insn{x86Ldx(m, size, dst, base, off)}
	case 10:
		base, off, m := mem(rapid.Bool().Draw(t, "arena"))
		if rapid.Bool().Draw(t, "imm") {
			return []Insn{x86St(m, size, base, off, imm)}
		}
		return []Insn{x86Stx(m, size, base, src, off)}
	case 11:
		arena := rapid.Bool().Draw(t, "arena")
		ops := []int32{AtomicAdd, AtomicAnd, AtomicOr, AtomicXor, AtomicAdd | AtomicFetch, AtomicXchg, AtomicCmpXchg}
		m := AtomicMode
		if arena {
			m = ProbeAtomicMode
		} else {
			ops = append(ops, AtomicAnd|AtomicFetch, AtomicOr|AtomicFetch, AtomicXor|AtomicFetch)
		}
		op := rapid.SampledFrom(ops).Draw(t, "aop")
		size = rapid.SampledFrom([]Size{Word, DWord}).Draw(t, "asize")
		if arena && size == Word && op == AtomicCmpXchg {
			size = DWord // see TestX86NativeArenaCmpxchg32: the kernel leaves r0's upper half there
		}
		base, off, _ := mem(arena)
		off &^= int16(size.Bytes() - 1) // x86 lock'ed accesses across a cache line are legal but slow
		return []Insn{x86Atomic(m, size, base, src, off, op)}
	case 12:
		if rapid.Bool().Draw(t, "user") {
			return []Insn{x86CastUser(dst, src)}
		}
		return []Insn{x86CastKern(dst, src)}
	default:
		size = rapid.SampledFrom([]Size{Byte, Half, Word, DWord}).Draw(t, "lasize")
		base, off, m := mem(rapid.Bool().Draw(t, "arena"))
		am := map[Mode]Mode{MemMode: AtomicMode, ProbeMem32Mode: ProbeAtomicMode}[m]
		if rapid.Bool().Draw(t, "acq") {
			return []Insn{x86Atomic(am, size, dst, base, off, AtomicLoadAcq)}
		}
		return []Insn{x86Atomic(am, size, base, src, off, AtomicStoreRel)}
	}
}

func x86DiffProgram(t *rapid.T) []Insn {
	prog := []Insn{x86AluX(ALU64Class, Mov, R9, R1), x86AluK(ALUClass, Mov, R8, x86DiffArenaPtr)}
	for off := int16(-8); off >= -x86DiffStack; off -= 8 {
		prog = append(prog, x86St(MemMode, DWord, R10, off, 0))
	}
	for r := R0; r <= R7; r++ {
		w := LdImm64Insns(r, PseudoNone, rapid.Uint64().Draw(t, "init"))
		prog = append(prog, w[:]...)
	}
	n := len(prog) + rapid.IntRange(1, 60).Draw(t, "len")
	for len(prog) < n {
		ins := x86DiffInsn(t, len(prog), n)
		if len(prog)+len(ins) > n {
			ins = []Insn{x86AluK(ALU64Class, Add, R0, 0)} // a wide load would not fit before the exit
		}
		prog = append(prog, ins...)
	}
	prog = append(prog, x86Exit) // slot n: jumps go at most here
	x86RetargetSecondSlots(prog)
	return prog
}

// TestX86NativeDifferential compares the interpreter with the native run
// of the emitted x86 on random programs. With X86_DIFF_DEBUG set, each
// program's annotated dump is written to $TMPDIR/x86diff.txt before it
// runs, since a native fault ends the test binary.
func TestX86NativeDifferential(t *testing.T) {
	n := newX86Native(t)
	fresh := n.next
	checks := 0
	rapid.Check(t, func(rt *rapid.T) {
		n.next = fresh
		memInit := rapid.SliceOfN(rapid.Byte(), x86DiffMemLen, x86DiffMemLen).Draw(rt, "mem")
		arenaInit := rapid.SliceOfN(rapid.Byte(), x86DiffArenaLen, x86DiffArenaLen).Draw(rt, "arenaMem")
		prog := x86DiffProgram(rt)
		bmi2 := rapid.Bool().Draw(rt, "bmi2")

		memOff := n.put(memInit)
		arenaOff := n.put(arenaInit)
		memAddr, kern := uint64(n.addr(memOff)), uint64(n.addr(arenaOff))
		o := X86Options{KernVMStart: kern, UserVMStart: 0x00007f1200000000, BMI2: bmi2}
		p, err := JITX86(prog, &o)
		if err != nil {
			rt.Fatalf("JITX86: %v", err)
		}
		n.load(t, p)
		if os.Getenv("X86_DIFF_DEBUG") != "" {
			// A wrong access kills the process: leave the program where it can be read.
			var b bytes.Buffer
			p.Dump(&b, X86DumpOptions{BPF: true})
			path := filepath.Join(os.TempDir(), "x86diff.txt")
			os.WriteFile(path, fmt.Appendf(nil, "mem %#x kern %#x\n%s", memAddr, kern, b.String()), 0o644)
		}
		got := n.run(uintptr(memAddr), x86DiffMemLen)

		imem, iarena := bytes.Clone(memInit), bytes.Clone(arenaInit)
		var user, kernel FlatMemory
		require.NoError(rt, user.Map(memAddr, imem, false))
		require.NoError(rt, kernel.Map(kern, iarena, false))
		it := NewInterpreter(prog, Config{Memory: &user, Kernel: &kernel, KernVMStart: kern, UserVMStart: o.UserVMStart})
		res, err := it.Run(memAddr, x86DiffMemLen)
		if err != nil {
			rt.Fatalf("interpreter: %v", err)
		}
		if got != res.R0 || !bytes.Equal(imem, n.m[memOff:memOff+x86DiffMemLen]) ||
			!bytes.Equal(iarena, n.m[arenaOff:arenaOff+x86DiffArenaLen]) {
			var b bytes.Buffer
			p.Dump(&b, X86DumpOptions{BPF: true})
			rt.Fatalf("native r0 %#x, interpreter r0 %#x; memory equal %v, arena equal %v\n%s",
				got, res.R0, bytes.Equal(imem, n.m[memOff:memOff+x86DiffMemLen]),
				bytes.Equal(iarena, n.m[arenaOff:arenaOff+x86DiffArenaLen]), b.String())
		}
		if res.FaultCount != 0 {
			rt.Fatalf("the interpreter saw %d faults", res.FaultCount)
		}
		checks++
	})
	t.Logf("x86 JIT vs interpreter: %d random programs agree", checks)
}

// TestX86NativeArenaCmpxchg32 pins down a kernel detail the differential
// test steers around: after a 32-bit arena cmpxchg that succeeds, r0 keeps
// its upper half (x86 cmpxchg writes eax only on failure, and the
// verifier's BPF_ZEXT_REG after cmpxchg only covers BPF_ATOMIC, which the
// arena's access already is not). Outside the arena r0 is zero-extended.
func TestX86NativeArenaCmpxchg32(t *testing.T) {
	for _, c := range []struct {
		mode Mode
		want uint64
	}{{ProbeAtomicMode, 0xaaaaaaaa00000007}, {AtomicMode, 7}} {
		n := newX86Native(t)
		arena := n.reserve(x86DiffArenaLen)
		binary.LittleEndian.PutUint32(n.m[arena+16:], 7)
		prog := []Insn{x86AluK(ALUClass, Mov, R8, 16)}
		if c.mode == AtomicMode {
			prog = []Insn{x86AluX(ALU64Class, Mov, R8, R1)}
		}
		w := LdImm64Insns(R0, PseudoNone, 0xaaaaaaaa00000007)
		prog = append(prog, w[:]...)
		prog = append(prog, x86AluK(ALU64Class, Mov, R2, 9), x86Atomic(c.mode, Word, R8, R2, 0, AtomicCmpXchg), x86Exit)
		p, err := JITX86(prog, &X86Options{KernVMStart: uint64(n.addr(arena))})
		require.NoError(t, err)
		n.load(t, p)
		require.Equal(t, c.want, n.run(n.addr(arena+16), 0), "%v", c.mode)
		require.Equal(t, uint32(9), binary.LittleEndian.Uint32(n.m[arena+16:]), "the swap happened")
	}
}

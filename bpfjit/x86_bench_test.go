package bpfjit

import (
	"io"
	"math/rand/v2"
	"testing"
)

// x86BenchPrograms returns the bytecode of ../shared/testdata/bpf_bench
// (alu, mem64, memb), built by hand since it is small.
func x86BenchPrograms(t testing.TB) map[string][]Insn {
	alu := &x86Labels{}
	alu.add(x86AluK(ALU64Class, Mov, R0, 0), x86AluK(ALU64Class, Mov, R1, 20000000), x86AluK(ALU64Class, Mov, R2, 0))
	alu.label("loop").add(
		x86AluX(ALU64Class, Add, R0, R1), x86AluX(ALU64Class, Xor, R2, R1), x86AluX(ALU64Class, Mov, R3, R1),
		x86AluK(ALU64Class, LSh, R3, 3), x86AluX(ALU64Class, Add, R0, R3), x86AluK(ALU64Class, Sub, R1, 1))
	alu.jump(x86JmpK(JumpClass, JNE, R1, 0, 0), "loop").add(x86AluX(ALU64Class, Xor, R0, R2), x86Exit)

	mem64 := &x86Labels{}
	mem64.add(x86AluX(ALU64Class, Mov, R6, R1), x86AluK(ALU64Class, Mov, R7, 20000000), x86AluK(ALU64Class, Mov, R0, 0))
	mem64.label("loop").add(x86Ldx(MemMode, DWord, R2, R6, 0))
	for off := int16(8); off < 64; off += 8 {
		mem64.add(x86Ldx(MemMode, DWord, R3, R6, off), x86AluX(ALU64Class, Add, R2, R3))
	}
	mem64.add(x86AluX(ALU64Class, Add, R2, R7), x86Stx(MemMode, DWord, R6, R2, 0), x86Stx(MemMode, DWord, R6, R7, 56),
		x86AluX(ALU64Class, Add, R0, R2), x86AluK(ALU64Class, Sub, R7, 1))
	mem64.jump(x86JmpK(JumpClass, JNE, R7, 0, 0), "loop").add(x86Exit)

	memb := &x86Labels{}
	memb.add(x86AluX(ALU64Class, Mov, R6, R1), x86AluK(ALU64Class, Mov, R7, 20000000), x86AluK(ALU64Class, Mov, R0, 0),
		x86AluK(ALU64Class, Mov, R8, 0))
	memb.label("loop").add(x86AluX(ALU64Class, Mov, R4, R6), x86AluX(ALU64Class, Add, R4, R8), x86Ldx(MemMode, Byte, R2, R4, 0),
		x86AluX(ALU64Class, Add, R0, R2), x86Stx(MemMode, Byte, R4, R7, 0), x86AluK(ALU64Class, Add, R8, 1),
		x86AluK(ALU64Class, And, R8, 63), x86AluK(ALU64Class, Sub, R7, 1))
	memb.jump(x86JmpK(JumpClass, JNE, R7, 0, 0), "loop").add(x86Exit)
	return map[string][]Insn{"alu": alu.prog(t), "mem64": mem64.prog(t), "memb": memb.prog(t)}
}

// x86LargeProgram is a 4096-slot arena program with a mix of accesses,
// arithmetic and forward and backward jumps of every length, the shape
// that needs several passes to settle.
func x86LargeProgram() []Insn {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 4096
	prog := make([]Insn, 0, n)
	for len(prog) < n-1 {
		i := len(prog)
		reg := Register(r.IntN(10))
		switch r.IntN(8) {
		case 0:
			prog = append(prog, x86Ldx(ProbeMem32Mode, DWord, reg, R1, int16(r.IntN(4096))))
		case 1:
			prog = append(prog, x86Stx(ProbeMem32Mode, Word, R1, reg, int16(r.IntN(4096))))
		case 2:
			prog = append(prog, x86AluK(ALU64Class, Add, reg, r.Int32()))
		case 3:
			prog = append(prog, x86AluX(ALU64Class, Mul, reg, R2))
		case 4:
			to := r.IntN(n - 1)
			prog = append(prog, x86JmpK(JumpClass, JGT, reg, int32(r.IntN(1000)), int16(to-i-1)))
		case 5:
			to := min(n-2, i+1+r.IntN(40))
			prog = append(prog, x86JmpX(Jump32Class, JSLT, reg, R3, int16(to-i-1)))
		case 6:
			prog = append(prog, x86CastUser(reg, reg))
		default:
			prog = append(prog, x86AluK(ALU64Class, Mov, reg, int32(r.IntN(1<<20))))
		}
	}
	return append(prog, x86Exit)
}

// BenchmarkX86JIT measures JITX86 on the benchmark programs, on the whole
// conformance suite and on a large arena program; ns/insn is per BPF slot.
func BenchmarkX86JIT(b *testing.B) {
	run := func(b *testing.B, progs [][]Insn, o *X86Options) {
		slots := 0
		for _, p := range progs {
			slots += len(p)
		}
		b.ReportAllocs()
		for b.Loop() {
			for _, p := range progs {
				if _, err := JITX86(p, o); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(slots), "ns/insn")
	}
	bench := x86BenchPrograms(b)
	for _, name := range []string{"alu", "mem64", "memb"} {
		b.Run(name, func(b *testing.B) { run(b, [][]Insn{bench[name]}, nil) })
	}
	b.Run("conformance", func(b *testing.B) {
		var progs [][]Insn
		for _, c := range confCases(b) {
			if c.name != "callx.data" {
				progs = append(progs, c.prog)
			}
		}
		run(b, progs, nil)
	})
	b.Run("large-arena", func(b *testing.B) { run(b, [][]Insn{x86LargeProgram()}, &x86Arena) })
}

// BenchmarkX86Dump measures the bpftool-style dump (decoding with x86asm).
func BenchmarkX86Dump(b *testing.B) {
	p, err := JITX86(x86LargeProgram(), &x86Arena)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Dump(io.Discard, X86DumpOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestX86LargeProgram checks the benchmark's large program compiles into
// a consistent image, and how many passes it needs.
func TestX86LargeProgram(t *testing.T) {
	p, err := JITX86(x86LargeProgram(), &x86Arena)
	if err != nil {
		t.Fatal(err)
	}
	n, err := x86CheckImage(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := p.Funcs[0]
	t.Logf("large program: 4096 slots -> %d bytes, %d x86 insns, %d extable entries, %d passes", len(f.Image), n, len(f.Extable), f.Passes)
	if f.Passes < 3 || f.Passes >= X86PaddingPasses {
		t.Errorf("%d passes", f.Passes)
	}
}

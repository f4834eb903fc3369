package bpfjit

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/arch/x86/x86asm"
)

// x86Body returns instructions whose code is exactly n bytes (n >= 2):
// "mov edi, imm32" (5 bytes), "mov rdi, rsi" (3) and "mov edi, edi" (2).
func x86Body(n int) []Insn {
	var b []Insn
	for n >= 5 && n != 6 {
		b = append(b, x86AluK(ALU64Class, Mov, R1, 5))
		n -= 5
	}
	for n >= 3 && n != 4 {
		b = append(b, x86AluX(ALU64Class, Mov, R1, R2))
		n -= 3
	}
	for n >= 2 {
		b = append(b, x86AluX(ALUClass, Mov, R1, R1))
		n -= 2
	}
	return b
}

// x86JumpAt returns the decoded branch ending BPF insn k of function 0.
func x86JumpAt(t *testing.T, p *X86Program, k int) x86asm.Inst {
	t.Helper()
	ds := x86InsnCode(t, p, k)
	require.NotEmpty(t, ds)
	return ds[len(ds)-1].Inst
}

// TestX86JumpSizing checks the kernel's choice between the 2-byte short
// form and the near form: short for -128..+123, not the +127 the encoding
// allows, so that the passes converge.
func TestX86JumpSizing(t *testing.T) {
	for _, c := range []struct {
		body  int // bytes of code jumped over
		short bool
	}{{2, true}, {100, true}, {123, true}, {124, false}, {127, false}, {1000, false}} {
		// Conditional, forward over the body.
		b := &x86Labels{}
		b.jump(x86JmpK(JumpClass, JEq, R1, 0, 0), "end").add(x86Body(c.body)...).label("end").add(x86Exit)
		p, err := JITX86(b.prog(t), nil)
		require.NoError(t, err)
		in := x86JumpAt(t, p, 0)
		require.Equal(t, x86asm.JE, in.Op)
		if c.short {
			require.Equal(t, 2, in.Len, "body %d", c.body)
			require.Equal(t, x86asm.Rel(c.body), in.Args[0])
		} else {
			require.Equal(t, 6, in.Len, "body %d", c.body)
			require.Equal(t, x86asm.Rel(c.body), in.Args[0])
		}
		// Unconditional, forward.
		b = &x86Labels{}
		b.jump(x86JmpK(JumpClass, Ja, 0, 0, 0), "end").add(x86Body(c.body)...).label("end").add(x86Exit)
		p, err = JITX86(b.prog(t), nil)
		require.NoError(t, err)
		in = x86JumpAt(t, p, 0)
		require.Equal(t, x86asm.JMP, in.Op)
		require.Equal(t, map[bool]int{true: 2, false: 5}[c.short], in.Len, "body %d", c.body)
		_, err = x86CheckImage(p, nil)
		require.NoError(t, err)
	}
	// Backward: the distance counts the jump itself, measured with the
	// jump's size from the previous pass. The first pass sizes it near (5
	// bytes, from the 64-byte estimates), so a short jmp is chosen only if
	// body + 5 <= 128: a 124..126-byte body would fit in rel8 but stays near.
	for _, c := range []struct {
		body  int
		short bool
	}{{2, true}, {123, true}, {124, false}, {126, false}, {300, false}} {
		b := &x86Labels{}
		b.label("top").add(x86Body(c.body)...).jump(x86JmpK(JumpClass, Ja, 0, 0, 0), "top").add(x86Exit)
		prog := b.prog(t)
		p, err := JITX86(prog, nil)
		require.NoError(t, err)
		in := x86JumpAt(t, p, len(prog)-2)
		require.Equal(t, x86asm.JMP, in.Op)
		if c.short {
			require.Equal(t, 2, in.Len, "body %d", c.body)
			require.Equal(t, x86asm.Rel(-(c.body + 2)), in.Args[0])
		} else {
			require.Equal(t, 5, in.Len, "body %d", c.body)
			require.Equal(t, x86asm.Rel(-(c.body + 5)), in.Args[0])
		}
	}
}

// TestX86JumpSpecialCases: a goto to the next insn vanishes, a goto to
// itself is "jmp .-2" (eb fe) whatever the passes, gotol takes its offset
// from imm, and a second exit jumps to the first one's epilogue.
func TestX86JumpSpecialCases(t *testing.T) {
	prog := []Insn{
		x86JmpK(JumpClass, Ja, 0, 0, 0),                        // 0: goto +0
		x86JmpK(JumpClass, JEq, R1, 0, 1),                      // 1
		x86JmpK(JumpClass, Ja, 0, 0, -1),                       // 2: goto self
		{Code: JumpOpcode(Jump32Class, Ja, ImmSource), Imm: 2}, // 3: gotol +2
		x86AluK(ALU64Class, Mov, R0, 1),                        // 4
		x86Exit,                                                // 5
		x86JmpX(Jump32Class, JSGT, R1, R2, -3),                 // 6: back to 4
		x86Exit,                                                // 7
	}
	p, err := JITX86(prog, nil)
	require.NoError(t, err)
	f := p.Funcs[0]
	require.Zero(t, f.Insns[0].Len)
	require.Equal(t, "ebfe", hexOf(f.Image[f.Insns[2].Off:f.Insns[2].Off+f.Insns[2].Len]))
	in := x86JumpAt(t, p, 3)
	require.Equal(t, x86asm.JMP, in.Op)
	require.Equal(t, x86asm.Rel(f.Insns[6].Off-(f.Insns[3].Off+2)), in.Args[0])
	in = x86JumpAt(t, p, 7)
	require.Equal(t, x86asm.JMP, in.Op, "the second exit")
	_, err = x86CheckImage(p, nil)
	require.NoError(t, err)
	ds := x86InsnCode(t, p, 6)
	require.Equal(t, "cmp edi, esi", x86asm.IntelSyntax(ds[0].Inst, 0, nil), "JMP32 compares 32-bit halves")
	require.Equal(t, x86asm.JG, ds[1].Inst.Op)
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	s := make([]byte, 0, 2*len(b))
	for _, c := range b {
		s = append(s, digits[c>>4], digits[c&15])
	}
	return string(s)
}

// TestX86JumpConditions maps every BPF condition to its x86 jcc, in the
// K, X and imm-0 forms, for JMP and JMP32.
func TestX86JumpConditions(t *testing.T) {
	conds := map[JumpOp]x86asm.Op{
		JEq: x86asm.JE, JNE: x86asm.JNE, JSet: x86asm.JNE, JGT: x86asm.JA, JGE: x86asm.JAE,
		JLT: x86asm.JB, JLE: x86asm.JBE, JSGT: x86asm.JG, JSGE: x86asm.JGE, JSLT: x86asm.JL, JSLE: x86asm.JLE,
	}
	for op, want := range conds {
		for _, cls := range []Class{JumpClass, Jump32Class} {
			wide := map[Class]string{JumpClass: "rdi", Jump32Class: "edi"}[cls]
			ext := map[Class]string{JumpClass: "r13", Jump32Class: "r13d"}[cls]
			for _, c := range []struct {
				ins  Insn
				test string
			}{
				{x86JmpX(cls, op, R1, R2, 1), map[bool]string{true: "test ", false: "cmp "}[op == JSet] + wide + ", " + map[Class]string{JumpClass: "rsi", Jump32Class: "esi"}[cls]},
				{x86JmpK(cls, op, R1, 5, 1), map[bool]string{true: "test " + wide + ", 0x5", false: "cmp " + wide + ", 0x5"}[op == JSet]},
				{x86JmpK(cls, op, R7, 0, 1), map[bool]string{true: "test " + ext + ", 0x0", false: "test " + ext + ", " + ext}[op == JSet]},
				{x86JmpK(cls, op, R1, 0x12345, 1), map[bool]string{true: "test ", false: "cmp "}[op == JSet] + wide + ", 0x12345"},
			} {
				p, err := JITX86([]Insn{c.ins, x86AluK(ALU64Class, Mov, R0, 1), x86Exit}, nil)
				require.NoError(t, err)
				ds := x86InsnCode(t, p, 0)
				require.Len(t, ds, 2, "%v", c.ins)
				require.Equal(t, c.test, x86asm.IntelSyntax(ds[0].Inst, 0, nil), "%v", c.ins)
				require.Equal(t, want, ds[1].Inst.Op, "%v", c.ins)
				require.Equal(t, 2, ds[1].Inst.Len)
			}
		}
	}
}

// TestX86JitConvergence compiles the kernel selftest for the je <-> jmp
// cycle (verifier_jit_convergence.c): with the +123 limit the passes
// settle, and every branch lands where the BPF program says.
func TestX86JitConvergence(t *testing.T) {
	const prandom, lookup = 7, 1
	mov := func(dst Register, imm int32) Insn { return x86AluK(ALU64Class, Mov, dst, imm) }
	movx := func(dst, src Register) Insn { return x86AluX(ALU64Class, Mov, dst, src) }
	add := func(dst Register, imm int32) Insn { return x86AluK(ALU64Class, Add, dst, imm) }
	jeq := func(dst Register, imm int32) Insn { return x86JmpK(JumpClass, JEq, dst, imm, 0) }
	ja := x86JmpK(JumpClass, Ja, 0, 0, 0)
	b := &x86Labels{}
	b.add(x86Call(CallHelper, prandom))
	for i, l := range []string{"l20", "l21", "l22", "l23", "l24"} {
		b.jump(jeq(R0, int32(i)), l)
	}
	b.add(x86Call(CallHelper, prandom), x86Call(CallHelper, prandom))
	b.label("l20").label("l21").label("l22").label("l23").label("l24")
	b.add(mov(R1, 0), x86Stx(MemMode, DWord, R10, R1, -8), movx(R2, R10), add(R2, -8))
	b.add(x86Wide(R1, 0xffff888100000000)...)
	b.add(x86Call(CallHelper, lookup))
	b.jump(jeq(R0, 0), "l1")
	b.add(movx(R6, R0), x86Call(CallHelper, prandom), movx(R7, R0), movx(R5, R6))
	b.jump(x86JmpK(JumpClass, JNE, R0, 0, 0), "l12")
	b.add(x86Call(CallHelper, prandom), movx(R1, R0), movx(R2, R6))
	b.jump(jeq(R1, 0), "l0")
	b.label("l9").add(x86Ldx(MemMode, DWord, R2, R6, 0), add(R2, 1), x86Stx(MemMode, DWord, R6, R2, 0))
	b.jump(ja, "l1")
	b.label("l12").add(movx(R1, R7), add(R1, 0x98), movx(R2, R5), add(R2, 0x90), x86Ldx(MemMode, Word, R2, R2, 0),
		movx(R3, R7), x86AluK(ALU64Class, And, R3, 1), x86AluK(ALU64Class, Mul, R2, 0xa8))
	b.jump(jeq(R3, 0), "l2")
	b.add(x86AluX(ALU64Class, Add, R1, R2), x86AluX(ALU64Class, Sub, R1, R7), add(R1, 8))
	b.jump(x86JmpK(JumpClass, JLE, R1, 0xb20, 0), "l3")
	b.add(mov(R1, 0)).jump(ja, "l4")
	b.label("l3").add(x86AluX(ALU64Class, Add, R1, R7))
	b.label("l4").jump(jeq(R1, 0), "l8").jump(ja, "l9")
	b.label("l2").add(x86AluX(ALU64Class, Add, R1, R2), x86AluX(ALU64Class, Sub, R1, R7), add(R1, 0x10))
	b.jump(x86JmpK(JumpClass, JLE, R1, 0xb20, 0), "l6")
	b.add(mov(R1, 0)).jump(ja, "l7")
	b.label("l6").add(x86AluX(ALU64Class, Add, R1, R7))
	b.label("l7").jump(jeq(R1, 0), "l8").jump(ja, "l9")
	b.label("l0").add(mov(R1, 3), x86Stx(MemMode, DWord, R10, R1, -16), movx(R2, R1)).jump(ja, "l1")
	b.label("l8").add(movx(R1, R5), add(R1, 4), x86Ldx(MemMode, Word, R1, R1, 0), x86Stx(MemMode, DWord, R10, R1, -8))
	b.label("l1").add(mov(R0, 0), x86Exit)

	p, err := JITX86(b.prog(t), &X86Options{StackDepths: []int{16}})
	require.NoError(t, err)
	f := p.Funcs[0]
	require.Less(t, f.Passes, X86PaddingPasses, "converged without padding")
	_, err = x86CheckImage(p, nil)
	require.NoError(t, err)
	ds := x86DecodeAll(t, f.Image)
	require.Equal(t, "push rbp", x86asm.IntelSyntax(ds[2].Inst, 0, nil))
}

// TestX86JumpPadding drives the passes by hand into the padding rule: a
// jump the first pass sized as near (the 64-byte-per-insn estimate) that
// would shrink in a padding pass keeps its size with a 4-byte NOP in front.
func TestX86JumpPadding(t *testing.T) {
	prog := []Insn{
		x86JmpK(JumpClass, JEq, R1, 0, 2),
		x86AluK(ALU64Class, Mov, R0, 1),
		x86AluK(ALU64Class, Mov, R0, 2),
		x86Exit,
	}
	o := &X86Options{}
	fns, err := x86Prepare(prog, o)
	require.NoError(t, err)
	j := &x86JIT{o: o, fn: &fns[0], addrs: make([]int, len(fns[0].insns)+1)}
	for k := range j.addrs {
		j.addrs[k] = 64 * (k + 1)
	}
	n1, err := j.pass(false, 0)
	require.NoError(t, err)
	near := j.addrs[1] - j.addrs[0]
	require.Equal(t, 3+6, near, "test rdi, rdi; je rel32 over two 64-byte estimates")
	n2, err := j.pass(true, n1)
	require.NoError(t, err)
	require.Equal(t, n1, n2, "the padding pass does not shrink the image")
	require.Equal(t, near, j.addrs[1]-j.addrs[0])
	j.place(n2, new(uint64))
	_, err = j.pass(true, n2)
	require.NoError(t, err)
	ds, err := x86TryDecodeAll(j.code[j.addrs[0]:j.addrs[1]])
	require.NoError(t, err)
	require.Equal(t, []string{"test rdi, rdi", "nop dword ptr [rax], eax", "jz .+12"},
		[]string{x86asm.IntelSyntax(ds[0].Inst, 0, nil), x86asm.IntelSyntax(ds[1].Inst, 0, nil), "jz .+" + itoaInt(int(ds[2].Inst.Args[0].(x86asm.Rel))+2)})
}

func itoaInt(v int) string {
	if v < 10 {
		return string(rune('0' + v))
	}
	return itoaInt(v/10) + string(rune('0'+v%10))
}

package bpfjit

import (
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestX86LLVMSyntax checks the AT&T spelling of the instructions the JIT
// emits against LLVM's, as the kernel selftests' __jited() lines show it
// (the first group is copied from those lines' expectations).
func TestX86LLVMSyntax(t *testing.T) {
	cases := []struct{ hex, want string }{
		// Spellings the selftests match (verifier_tailcall_jit.c,
		// verifier_private_stack.c, verifier_jit_convergence.c).
		{"55", "pushq\t%rbp"},
		{"4889e5", "movq\t%rsp, %rbp"},
		{"0f1f440000", "nopl\t(%rax,%rax)"},
		{"0f1f00", "nopl\t(%rax)"},
		{"4831c0", "xorq\t%rax, %rax"},
		{"4883f821", "cmpq\t$0x21, %rax"},
		{"4889e0", "movq\t%rsp, %rax"},
		{"488b45f0", "movq\t-0x10(%rbp), %rax"},
		{"31c0", "xorl\t%eax, %eax"},
		{"c9", "leave"},
		{"c3", "retq"},
		{"48833821", "cmpq\t$0x21, (%rax)"},
		{"48830001", "addq\t$0x1, (%rax)"},
		{"58", "popq\t%rax"},
		{"4151", "pushq\t%r9"},
		{"4159", "popq\t%r9"},
		{"bf2a000000", "movl\t$0x2a, %edi"},
		{"4989b900ffffff", "movq\t%rdi, -0x100(%r9)"},
		{"4881ec08000000", "subq\t$0x8, %rsp"},
		{"4881ec00010000", "subq\t$0x100, %rsp"},
		{"31d2", "xorl\t%edx, %edx"},
		// The arena forms and the rest of what the JIT emits.
		{"4a8b442708", "movq\t0x8(%rdi,%r12), %rax"},
		{"42897427fc", "movl\t%esi, -0x4(%rdi,%r12)"},
		{"49bc0080000000c9ffff", "movabsq\t$-0x36ffffff8000, %r12"},
		{"48bf0000000001000000", "movabsq\t$0x100000000, %rdi"},
		{"f04a0fb1742708", "lock\t\tcmpxchgq\t%rsi, 0x8(%rdi,%r12)"},
		{"f0420fc1742708", "lock\t\txaddl\t%esi, 0x8(%rdi,%r12)"},
		{"42c744270844332211", "movl\t$0x11223344, 0x8(%rdi,%r12)"},
		{"66c745feffff", "movw\t$-0x1, -0x2(%rbp)"},
		{"480fb64702", "movzbq\t0x2(%rdi), %rax"},
		{"420fb7bc2600100000", "movzwl\t0x1000(%rsi,%r12), %edi"},
		{"470fb66c26ff", "movzbl\t-0x1(%r14,%r12), %r13d"},
		{"4863fe", "movslq\t%esi, %rdi"},
		{"480fbefe", "movsbq\t%sil, %rdi"},
		{"48d1e7", "shlq\t%rdi"},
		{"48d3e7", "shlq\t%cl, %rdi"},
		{"c4e2c9f7ff", "shlxq\t%rsi, %rdi, %rdi"},
		{"490f44fb", "cmoveq\t%r11, %rdi"},
		{"480fcf", "bswapq\t%rdi"},
		{"66c1cf08", "rorw\t$0x8, %di"},
		{"4899", "cqto"},
		{"99", "cltd"},
		{"0faee8", "lfence"},
		{"48f7f6", "divq\t%rsi"},
		{"41f7fb", "idivl\t%r11d"},
		{"4883c7ff", "addq\t$-0x1, %rdi"},
		{"486bff03", "imulq\t$0x3, %rdi, %rdi"},
		{"40887dff", "movb\t%dil, -0x1(%rbp)"},
		{"6644897f02", "movw\t%r15w, 0x2(%rdi)"},
		{"4189f0", "movl\t%esi, %r8d"},
		{"48c7c7fbffffff", "movq\t$-0x5, %rdi"},
		{"befbffffff", "movl\t$-0x5, %esi"},
		{"480d127f0000", "orq\t$0x7f12, %rax"},
		{"6690", "nop"},
		{"e800000000", "callq\t0x1005"},
		{"7405", "je\t0x1007"},
		{"0f8405000000", "je\t0x100b"},
		{"ebfe", "jmp\t0x1000"},
	}
	for _, c := range cases {
		code, err := hex.DecodeString(c.hex)
		require.NoError(t, err)
		in, err := X86Decode(code)
		require.NoError(t, err)
		require.Equal(t, len(code), in.Len, c.hex)
		require.Equal(t, c.want, x86LLVMText(in, code, 0x1000, nil), c.hex)
	}
}

// TestX86DumpBpftool checks the bpftool layout byte for byte, with the
// opcodes lines ("%02x " per byte, as bpftool prints them) and one
// function per symbol.
func TestX86DumpBpftool(t *testing.T) {
	prog := []Insn{
		x86Call(CallLocal, 1), // 0: call 2
		x86Exit,               // 1
		x86AluK(ALU64Class, Mov, R0, 7),
		x86Exit,
	}
	p, err := JITX86(prog, &X86Options{Name: "two"})
	require.NoError(t, err)
	require.Len(t, p.Funcs, 2)
	var b strings.Builder
	require.NoError(t, p.Dump(&b, X86DumpOptions{Opcodes: true}))
	f0, f1 := p.Funcs[0], p.Funcs[1]
	require.Equal(t, f0.Addr+uint64(len(f0.Image)), X86ModulesVAddr+8+uint64(len(f0.Image)))
	require.Equal(t, X86ModulesVAddr+64+8, f1.Addr, "the subprogram's image is in the next 64-byte chunk")
	require.True(t, strings.HasPrefix(f1.Name, "bpf_prog_") && strings.HasSuffix(f1.Name, "_F"), f1.Name)
	call := f1.Addr - (f0.Addr + 0x11)
	want := f0.Name + ":\n" +
		"   0:\tnopl\t(%rax,%rax)\n\t0f 1f 44 00 00 \n" +
		"   5:\tnopl\t(%rax)\n\t0f 1f 00 \n" +
		"   8:\tpushq\t%rbp\n\t55 \n" +
		"   9:\tmovq\t%rsp, %rbp\n\t48 89 e5 \n" +
		"   c:\tcallq\t0xffffffffc0000048\n\te8 " + hexBytes(uint32(call)) + "\n" +
		"  11:\tleave\n\tc9 \n" +
		"  12:\tretq\n\tc3 \n" +
		"\n" +
		f1.Name + ":\n" +
		"   0:\tnopl\t(%rax,%rax)\n\t0f 1f 44 00 00 \n" +
		"   5:\tnopl\t(%rax)\n\t0f 1f 00 \n" +
		"   8:\tpushq\t%rbp\n\t55 \n" +
		"   9:\tmovq\t%rsp, %rbp\n\t48 89 e5 \n" +
		"   c:\tmovl\t$0x7, %eax\n\tb8 07 00 00 00 \n" +
		"  11:\tleave\n\tc9 \n" +
		"  12:\tretq\n\tc3 \n" +
		"\n"
	require.Equal(t, want, b.String())
}

func hexBytes(v uint32) string {
	return hex.EncodeToString([]byte{byte(v)}) + " " + hex.EncodeToString([]byte{byte(v >> 8)}) + " " +
		hex.EncodeToString([]byte{byte(v >> 16)}) + " " + hex.EncodeToString([]byte{byte(v >> 24)}) + " "
}

// TestX86DumpSelftest checks the selftests' layout, which __jited()
// patterns match: offsets from the function start, padded bytes, local
// labels for branch targets.
func TestX86DumpSelftest(t *testing.T) {
	prog := []Insn{
		x86JmpK(JumpClass, JEq, R1, 0, 1),
		x86AluK(ALU64Class, Mov, R0, 1),
		x86JmpK(JumpClass, JNE, R0, 0, -2),
		x86Exit,
	}
	p, err := JITX86(prog, nil)
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, p.Dump(&b, X86DumpOptions{Layout: X86LayoutSelftest}))
	pad := func(s string) string { return s + strings.Repeat(" ", 36-len(s)) }
	want := "func #0:\n" +
		"0:\t" + pad("0f 1f 44 00 00 ") + "\tnopl\t(%rax,%rax)\n" +
		"5:\t" + pad("0f 1f 00 ") + "\tnopl\t(%rax)\n" +
		"8:\t" + pad("55 ") + "\tpushq\t%rbp\n" +
		"9:\t" + pad("48 89 e5 ") + "\tmovq\t%rsp, %rbp\n" +
		"c:\t" + pad("48 85 ff ") + "\ttestq\t%rdi, %rdi\n" +
		"f:\t" + pad("74 05 ") + "\tje\tL1\n" +
		"11:\t" + pad("b8 01 00 00 00 ") + "L0:\tmovl\t$0x1, %eax\n" +
		"16:\t" + pad("48 85 c0 ") + "L1:\ttestq\t%rax, %rax\n" +
		"19:\t" + pad("75 f6 ") + "\tjne\tL0\n" +
		"1b:\t" + pad("c9 ") + "\tleave\n" +
		"1c:\t" + pad("c3 ") + "\tretq\n" +
		"\n"
	require.Equal(t, want, b.String())
}

// TestX86DumpAnnotated shows the BPF instructions between the x86 code,
// rewrites marked, and the exception table.
func TestX86DumpAnnotated(t *testing.T) {
	prog := []Insn{x86AluX(ALU64Class, Div, R0, R1), x86Ldx(ProbeMem32Mode, Word, R0, R1, 0), x86Exit}
	p, err := JITX86(prog, &x86Arena)
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, p.Dump(&b, X86DumpOptions{BPF: true, Extable: true,
		FormatBPF: func(insns []Insn, pc int) string { return insns[pc].Code.String() }}))
	out := b.String()
	for _, s := range []string{
		"; 0 (rewrite): JMP|JNE|K\n",
		"; 0: ALU64|DIV|X\n",
		"; 1: LDX|PROBE_MEM32|W\n",
		"; exception table at ",
		"insn 1: +0x",
		"skip 5, clear rax",
	} {
		require.Contains(t, out, s)
	}
	require.Equal(t, strings.Count(out, "\n; 0 (rewrite)"), 3, "the guard is three insns:\n%s", out)
}

// TestX86Lookup maps addresses back to functions and BPF instructions.
func TestX86Lookup(t *testing.T) {
	prog := []Insn{
		x86JmpK(JumpClass, Ja, 0, 0, 0), // 0: no code
		x86AluK(ALU64Class, Mov, R0, 1), // 1
		x86Call(CallLocal, 1),           // 2: call 4
		x86Exit,                         // 3
		x86Exit,                         // 4
	}
	p, err := JITX86(prog, &X86Options{Name: "lk"})
	require.NoError(t, err)
	f0, f1 := p.Funcs[0], p.Funcs[1]
	loc, ok := p.Lookup(f0.Addr)
	require.True(t, ok)
	require.Equal(t, X86Location{Func: 0, Symbol: f0.Name, Offset: 0, Size: len(f0.Image), Insn: -1, Slot: -1}, loc)
	loc, ok = p.Lookup(f0.Addr + uint64(f0.Insns[1].Off))
	require.True(t, ok)
	require.Equal(t, 1, loc.Insn, "the zero-length goto is skipped")
	require.Equal(t, f0.Name+"+0xc/0x"+strconvHex(len(f0.Image)), loc.String())
	loc, ok = p.Lookup(f1.Addr + uint64(f1.Insns[0].Off))
	require.True(t, ok)
	require.Equal(t, X86Location{Func: 1, Symbol: f1.Name, Offset: f1.Insns[0].Off, Size: len(f1.Image), Insn: 0, Slot: 4}, loc)
	_, ok = p.Lookup(f0.Addr + uint64(len(f0.Image)))
	require.False(t, ok, "the gap after the first image")
	_, ok = p.Lookup(f0.Addr - 1)
	require.False(t, ok)
	_, err = x86CheckImage(p, nil)
	require.NoError(t, err)
}

func strconvHex(v int) string { return strconv.FormatInt(int64(v), 16) }

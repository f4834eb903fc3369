package bpfjit

import (
	"errors"
	"strings"
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// llvmOmitted returns prog with the fields LLVM's text does not carry set to
// zero: the src of a call (helper, local and kfunc calls all print "call N"),
// the second immediate of ld_pseudo, and the immediate of a legacy indirect
// packet load. Assembling LLVM's text gives exactly this.
func llvmOmitted(prog []Insn) ([]Insn, string) {
	out := append([]Insn(nil), prog...)
	ins := &out[0]
	switch {
	case ins.Code == JumpOpcode(JumpClass, Call, ImmSource) && ins.Src != 0:
		ins.Src = 0
		return out, "call src"
	case ins.IsLdImm64() && ins.Src != 0 && out[1].Imm != 0:
		out[1].Imm = 0
		return out, "ld_pseudo next_imm"
	case ins.Code.Class() == LdClass && ins.Code.Mode() == IndMode && ins.Imm != 0:
		ins.Imm = 0
		return out, "LD_IND imm"
	}
	return out, ""
}

func TestLLVMTableRoundTrip(t *testing.T) {
	forms := readLLVMTable(t)
	exact, text := 0, 0
	omitted := map[string]int{}
	for _, fm := range forms {
		prog, err := Assemble("table", []byte(fm.text), SyntaxLLVM)
		require.NoError(t, err, "table line %d: %q", fm.line, fm.text)
		want, why := llvmOmitted(fm.prog)
		if diff := cmp.Diff(want, prog); diff != "" {
			t.Errorf("table line %d: %q assembles differently (-want +got):\n%s", fm.line, fm.text, diff)
			continue
		}
		if why == "" {
			exact++
		} else {
			omitted[why]++
		}
		if got := FormatInsn(prog, 0, SyntaxLLVM); got == fm.text {
			text++
		} else {
			t.Errorf("table line %d: %q prints back as %q", fm.line, fm.text, got)
		}
		// A whole-program listing never loses a field.
		back, err := Assemble("listing", []byte(Disassemble(fm.prog, SyntaxLLVM)), SyntaxLLVM)
		require.NoError(t, err)
		require.Equal(t, fm.prog, back, "table line %d: listing round trip", fm.line)
	}
	require.Equal(t, map[string]int{"call src": 2, "ld_pseudo next_imm": 6, "LD_IND imm": 3}, omitted)
	t.Logf("llvm syntax table: %d/%d text -> insns -> text identical; %d/%d assemble to the listed fields, the other %d differ only in fields LLVM's text omits %v",
		text, len(forms), exact, len(forms), len(forms)-exact, omitted)
}

func TestAssembleLLVMForms(t *testing.T) {
	cases := []struct {
		src  string
		want []Insn
	}{
		{"r1 = 0x11 ll", []Insn{{Code: LdImm64, Dst: 1, Imm: 0x11}, {}}},
		{"r1 = -1 ll", []Insn{{Code: LdImm64, Dst: 1, Imm: -1}, {Imm: -1}}},
		{"r1 = 0xffffffffffffffff ll", []Insn{{Code: LdImm64, Dst: 1, Imm: -1}, {Imm: -1}}},
		{"w1 = 0xffffffff", []Insn{{Code: 0xb4, Dst: 1, Imm: -1}}},
		{"r0 = *(u64 *)(r10 - 0x8)", []Insn{{Code: 0x79, Src: 10, Off: -8}}},
		{"r0 = *(u32 *)(r1 +4)", []Insn{{Code: 0x61, Src: 1, Off: 4}}},
		{"r0 = *(u32 *)(r1)", []Insn{{Code: 0x61, Src: 1}}},
		{"*(u64 *)(r10 - 8) = -1", []Insn{{Code: 0x7a, Dst: 10, Off: -8, Imm: -1}}},
		{"*(u32 *)(r1 + 4) = r2", []Insn{{Code: 0x63, Dst: 1, Src: 2, Off: 4}}},
		{"if r1 > 0x5 goto +0x2", []Insn{{Code: 0x25, Dst: 1, Imm: 5, Off: 2}}},
		{"goto -1", []Insn{{Code: 0x05, Off: -1}}},
		{"r1 = addr_space_cast(r1, 0, 1); exit", []Insn{{Code: 0xbf, Dst: 1, Src: 1, Off: 1, Imm: 1}, {Code: 0x95}}},
		{"w0 = load_acquire((u8 *)(r1 + 0))", []Insn{{Code: 0xd3, Src: 1, Imm: AtomicLoadAcq}}},
		{"r0 = load_acquire((u64 *)(r1 - 8))", []Insn{{Code: 0xdb, Src: 1, Off: -8, Imm: AtomicLoadAcq}}},
		{"store_release((u16 *)(r1 + 2), w3)", []Insn{{Code: 0xcb, Dst: 1, Src: 3, Off: 2, Imm: AtomicStoreRel}}},
		{"call bpf_map_lookup_elem", []Insn{{Code: 0x85, Imm: 1}}},
		{"call f\nexit\nf: r0 = 1 // the callee\nexit", []Insn{{Code: 0x85, Src: CallLocal, Imm: 1}, {Code: 0x95}, {Code: 0xb7, Imm: 1}, {Code: 0x95}}},
		{"loop: may_goto done\ngoto loop\ndone: exit", []Insn{{Code: 0xe5, Off: 1}, {Code: 0x05, Off: -2}, {Code: 0x95}}},
		{"gotol end\nr0 = 0 ll\nend: exit", []Insn{{Code: 0x06, Imm: 2}, {Code: LdImm64}, {}, {Code: 0x95}}},
		{"r2 = cb ll\nexit\ncb: exit", []Insn{{Code: LdImm64, Dst: 2, Src: PseudoFunc, Imm: 2}, {}, {Code: 0x95}, {Code: 0x95}}},
		{".8byte 0x00000000000810b9 # a PROBE_MEM32 load", []Insn{{Code: 0xb9, Dst: 0, Src: 1, Off: 8}}},
		{"  # only a comment\n\n", []Insn{}},
	}
	for _, c := range cases {
		got, err := Assemble("t.s", []byte(c.src), SyntaxLLVM)
		require.NoError(t, err, c.src)
		require.Equal(t, c.want, got, c.src)
	}
}

func TestAssemblerSymbols(t *testing.T) {
	a := Assembler{
		Syntax: SyntaxLLVM,
		Kfuncs: map[string]int32{"bpf_arena_alloc_pages": 71234},
		Maps:   map[string]int32{"arena": 5},
	}
	src := "r1 = arena ll\nr2 = 0\nr3 = 1\ncall bpf_arena_alloc_pages\nr1 = addr_space_cast(r0, 0, 1)\nexit"
	prog, err := a.Assemble("arena.s", []byte(src))
	require.NoError(t, err)
	require.Equal(t, Insn{Code: LdImm64, Dst: 1, Src: PseudoMapFD, Imm: 5}, prog[0])
	require.Equal(t, Insn{Code: 0x85, Src: CallKfunc, Imm: 71234}, prog[4])
	require.Equal(t, "4: (85) call kernel-function#71234", strings.Split(Disassemble(prog, SyntaxKernel), "\n")[3])
	_, err = Assemble("arena.s", []byte(src), SyntaxLLVM)
	require.EqualError(t, err, `arena.s:1:6: "arena" is not a label or a map`)
}

func TestAssembleErrors(t *testing.T) {
	cases := []struct {
		s    Syntax
		src  string
		want string
	}{
		{SyntaxLLVM, "r0 = 1\nr1 += w2", `f:2:7: expected a 64-bit register r0-r10, found "w2"`},
		{SyntaxLLVM, "w1 = *(u64 *)(r2 + 0)", "f:1:7: a 64-bit load needs an r register"},
		{SyntaxLLVM, "r1 = *(u32 *)(r2 + 40000)", "f:1:20: offset 40000 is out of the 16-bit range"},
		{SyntaxLLVM, "if r1 >> 3 goto +1", `f:1:7: expected a comparison (==, !=, >, >=, <, <=, &, s>, s>=, s<, s<=), found ">>"`},
		{SyntaxLLVM, "if r1 > 3 goto nowhere", `f:1:16: undefined label "nowhere"`},
		{SyntaxLLVM, "r11 = 1", `f:1:1: unknown instruction "r11"`},
		{SyntaxLLVM, "r1 = -r2", "f:1:7: negation must be r1 = -r1"},
		{SyntaxLLVM, "r1 = le16 r2", "f:1:11: a byte swap must be r1 = le16 r1"},
		{SyntaxLLVM, "w1 = (s32)w2", `f:1:7: expected s8, s16 or (for r registers) s32, found "s32"`},
		{SyntaxLLVM, "r1 = 1\nr1 = 1\nx: x: exit", `f:3:4: label "x" already defined at line 3`},
		{SyntaxLLVM, "r0 = 4294967296", "f:1:6: immediate 4294967296 is out of the 32-bit range"},
		{SyntaxLLVM, "exit exit", `f:1:6: expected end of line, found "exit"`},
		{SyntaxLLVM, "r1 = 1 @", `f:1:8: unexpected character '@'`},
		{SyntaxLLVM, "call nosuch", `f:1:6: call target "nosuch" is not a label, a kfunc or a helper`},
		{SyntaxLLVM, "lock *(u16 *)(r1 + 0) += w2", "f:1:7: an atomic operation takes u32 or u64"},
		{SyntaxLLVM, "r0 = cmpxchg_64(r1 + 0, r2, r3)", `f:1:25: expected "r0", found "r2"`},
		{SyntaxLLVM, "r1 = addr_space_cast(r2, 0, 70000)", "f:1:29: an address space is 0-65535"},
		{SyntaxConformance, "mov %r0, 1\nadd32 %r0", `f:2:10: expected a register or an immediate, found end of line`},
		{SyntaxConformance, "ja 5", `f:1:4: expected a label or a +N/-N jump offset, found "5"`},
		{SyntaxConformance, "jeq %r1, 0, +40000", "f:1:13: offset 40000 is out of the 16-bit range"},
		{SyntaxConformance, "lock fetch nand [%r1], %r2", `f:1:12: expected an atomic operation (add, and, or, xor, xchg, cmpxchg, with 32 for 32 bits), found "nand"`},
		{SyntaxConformance, "call local nowhere", `f:1:12: undefined label "nowhere"`},
		{SyntaxConformance, "movsx864 %r1, 3", `f:1:15: expected a source register (movsx has no immediate form), found "3"`},
		{SyntaxConformance, "ldxdw %r0 [%r1+8", `f:1:17: expected "]", found end of line`},
		{SyntaxConformance, "l: exit\nl: exit", `f:2:1: label "l" already defined at line 1`},
	}
	for _, c := range cases {
		_, err := Assemble("f", []byte(c.src), c.s)
		require.Error(t, err, c.src)
		if c.want != err.Error() {
			t.Errorf("%q:\n got %s\nwant %s", c.src, err, c.want)
		}
		require.True(t, errors.Is(err, errno.EINVAL))
		var se *SyntaxError
		require.True(t, errors.As(err, &se))
	}
	_, err := Assemble("k", []byte("exit"), SyntaxKernel)
	require.ErrorIs(t, err, errno.EINVAL)
}

func TestConformanceSyntaxDetails(t *testing.T) {
	cases := []struct {
		src  string
		want []Insn
	}{
		{"mov %r0 1", []Insn{{Code: 0xb7, Imm: 1}}},
		{"mov32 %r0, 0xffffffff", []Insn{{Code: 0xb4, Imm: -1}}},
		{"ldxh %r3, [%r1+0xfffe]", []Insn{{Code: 0x69, Dst: 3, Src: 1, Off: -2}}},
		{"stb [%r10 - 1], 7", []Insn{{Code: 0x72, Dst: 10, Off: -1, Imm: 7}}},
		{"jne %r0, %r1, exit\nmov %r0, 1\nexit", []Insn{{Code: 0x5d, Src: 1, Off: 1}, {Code: 0xb7, Imm: 1}, {Code: 0x95}}},
		{"call helper 5\ncall runtime 7\ncall %r3\ncall local +2", []Insn{{Code: 0x85, Imm: 5}, {Code: 0x85, Src: 2, Imm: 7}, {Code: 0x8d, Dst: 3}, {Code: 0x85, Src: 1, Imm: 2}}},
		{"ja32 +70000", []Insn{{Code: 0x06, Imm: 70000}}},
		{"lddw %r1, -2", []Insn{{Code: LdImm64, Dst: 1, Imm: -2}, {Imm: -1}}},
		{"lock fetch xchg32 [%r1], %r2", []Insn{{Code: 0xc3, Dst: 1, Src: 2, Imm: AtomicXchg}}},
		{"swap16 %r1\nbe64 %r2\nle32 %r3", []Insn{{Code: 0xd7, Dst: 1, Imm: 16}, {Code: 0xdc, Dst: 2, Imm: 64}, {Code: 0xd4, Dst: 3, Imm: 32}}},
		{"sdiv64 %r1, -3\nsmod32 %r1, %r2", []Insn{{Code: 0x37, Dst: 1, Off: 1, Imm: -3}, {Code: 0x9c, Dst: 1, Src: 2, Off: 1}}},
		{"first: second: neg %r4", []Insn{{Code: 0x87, Dst: 4}}},
	}
	for _, c := range cases {
		got, err := Assemble("c", []byte(c.src), SyntaxConformance)
		require.NoError(t, err, c.src)
		require.Equal(t, c.want, got, c.src)
	}
}

package bpfjit

import (
	"bufio"
	"fmt"
	"github.com/arenasim/arenasim/internal/shared"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// llvmForm is one row of llvm19_syntax_table.txt: the fields of an
// instruction and the text LLVM 19 prints for it.
type llvmForm struct {
	line int
	prog []Insn
	text string
}

// readLLVMTable parses the table. A row looks like
// "bf dst=1 src=2 off=1 imm=0x1 <description> | r1 = addr_space_cast(r2, 0, 1)";
// LD_IMM64 rows give imm and next_imm instead of off.
func readLLVMTable(t *testing.T) []llvmForm {
	t.Helper()
	f, err := os.Open(shared.Path(t, "testdata/bpf_syntax/llvm19_syntax_table.txt"))
	require.NoError(t, err)
	defer f.Close()
	var forms []llvmForm
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		bar := strings.LastIndex(line, " | ")
		require.Positive(t, bar, "line %d has no ' | '", n)
		fields := strings.Fields(line[:bar])
		code, err := strconv.ParseUint(fields[0], 16, 8)
		require.NoError(t, err, "line %d", n)
		ins := Insn{Code: Opcode(code)}
		var next Insn
		wide := false
		for _, kv := range fields[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			x, err := strconv.ParseInt(v, 0, 64)
			if err != nil {
				continue // "imm=ADD|FETCH" and the like are descriptions
			}
			switch k {
			case "dst":
				ins.Dst = Register(x)
			case "src":
				ins.Src = Register(x)
			case "off":
				ins.Off = int16(x)
			case "imm":
				ins.Imm = int32(uint32(x))
			case "next_imm":
				next.Imm = int32(uint32(x))
				wide = true
			}
		}
		prog := []Insn{ins}
		if wide {
			prog = append(prog, next)
		}
		forms = append(forms, llvmForm{line: n, prog: prog, text: line[bar+3:]})
	}
	require.NoError(t, sc.Err())
	return forms
}

func TestLLVMTableDisassembles(t *testing.T) {
	forms := readLLVMTable(t)
	require.Len(t, forms, 174)
	same := 0
	for _, fm := range forms {
		got := FormatInsn(fm.prog, 0, SyntaxLLVM)
		if got == fm.text {
			same++
		} else {
			t.Errorf("table line %d: %v: got %q, want %q", fm.line, fm.prog[0], got, fm.text)
		}
	}
	t.Logf("llvm syntax table: %d/%d disassemble to LLVM's text", same, len(forms))
}

func TestFormatInsnKernel(t *testing.T) {
	cases := []struct {
		prog []Insn
		want string
	}{
		{[]Insn{{Code: 0xbf, Dst: 1, Src: 1, Off: 1, Imm: CastKernImm}}, "(bf) r1 = addr_space_cast(r1, 0, 1)"},
		{[]Insn{{Code: 0xbf, Dst: 3, Src: 2, Off: 1, Imm: CastUserImm}}, "(bf) r3 = addr_space_cast(r2, 1, 0)"},
		{[]Insn{{Code: 0x85, Imm: 1}}, "(85) call bpf_map_lookup_elem#1"},
		{[]Insn{{Code: 0x85, Imm: 5000}}, "(85) call unknown#5000"},
		{[]Insn{{Code: 0x85, Src: CallLocal, Imm: 2}}, "(85) call pc+2"},
		{[]Insn{{Code: 0x85, Src: CallLocal, Imm: -7}}, "(85) call pc-7"},
		{[]Insn{{Code: 0x85, Src: CallKfunc, Imm: 71234}}, "(85) call kernel-function#71234"},
		{[]Insn{{Code: 0x05, Off: 3}}, "(05) goto pc+3"},
		{[]Insn{{Code: 0x05, Off: -1}}, "(05) goto pc-1"},
		{[]Insn{{Code: 0x06, Imm: 70000}}, "(06) gotol pc+70000"},
		{[]Insn{{Code: 0xe5, Off: 4}}, "(e5) may_goto pc+4"},
		{[]Insn{{Code: 0x95}}, "(95) exit"},
		{[]Insn{{Code: 0xb7, Imm: 0}}, "(b7) r0 = 0"},
		{[]Insn{{Code: 0xb4, Dst: 2, Imm: -1}}, "(b4) w2 = -1"},
		{[]Insn{{Code: 0xbf, Dst: 1, Src: 6}}, "(bf) r1 = r6"},
		{[]Insn{{Code: 0xbc, Dst: 1, Src: 2, Off: 8}}, "(bc) w1 = (s8)w2"},
		{[]Insn{{Code: 0xbf, Dst: 1, Src: 2, Off: 32}}, "(bf) r1 = (s32)r2"},
		{[]Insn{{Code: 0x3f, Dst: 1, Src: 2, Off: 1}}, "(3f) r1 s/= r2"},
		{[]Insn{{Code: 0x94, Dst: 1, Off: 1, Imm: -5}}, "(94) w1 s%= -5"},
		{[]Insn{{Code: 0xc7, Dst: 4, Imm: 3}}, "(c7) r4 s>>= 3"},
		{[]Insn{{Code: 0x87, Dst: 4}}, "(87) r4 = -r4"},
		{[]Insn{{Code: 0x84, Dst: 4}}, "(84) w4 = -w4"},
		{[]Insn{{Code: 0xd4, Dst: 1, Imm: 16}}, "(d4) r1 = le16 r1"},
		{[]Insn{{Code: 0xdc, Dst: 1, Imm: 32}}, "(dc) r1 = be32 r1"},
		{[]Insn{{Code: 0xd7, Dst: 1, Imm: 64}}, "(d7) r1 = bswap64 r1"},
		{[]Insn{{Code: 0xbf, Dst: 1, Src: 2, Off: -1}}, "(bf) r1 = &(void __percpu *)(r2)"},
		{[]Insn{{Code: 0x61, Dst: 0, Src: 1, Off: 4}}, "(61) r0 = *(u32 *)(r1 +4)"},
		{[]Insn{{Code: 0x79, Dst: 0, Src: 10, Off: -8}}, "(79) r0 = *(u64 *)(r10 -8)"},
		{[]Insn{{Code: 0x91, Dst: 0, Src: 1}}, "(91) r0 = *(s8 *)(r1 +0)"},
		{[]Insn{{Code: 0xb9, Dst: 0, Src: 1}}, "BUG_ldx_b9"},
		{[]Insn{{Code: 0x7b, Dst: 10, Src: 1, Off: -16}}, "(7b) *(u64 *)(r10 -16) = r1"},
		{[]Insn{{Code: 0x63, Dst: 1, Src: 2, Off: 2}}, "(63) *(u32 *)(r1 +2) = r2"},
		{[]Insn{{Code: 0x7a, Dst: 10, Off: -8, Imm: 42}}, "(7a) *(u64 *)(r10 -8) = 42"},
		{[]Insn{{Code: 0xa2, Dst: 1}}, "BUG_st_a2"},
		{[]Insn{{Code: 0xc2}}, "(c2) nospec"},
		{[]Insn{{Code: 0xdb, Dst: 1, Src: 2, Off: 8, Imm: AtomicAdd}}, "(db) lock *(u64 *)(r1 +8) += r2"},
		{[]Insn{{Code: 0xc3, Dst: 1, Src: 2, Imm: AtomicXor}}, "(c3) lock *(u32 *)(r1 +0) ^= r2"},
		{[]Insn{{Code: 0xdb, Dst: 1, Src: 2, Imm: AtomicOr | AtomicFetch}}, "(db) r2 = atomic64_fetch_or((u64 *)(r1 +0), r2)"},
		{[]Insn{{Code: 0xc3, Dst: 1, Src: 2, Imm: AtomicAnd | AtomicFetch}}, "(c3) r2 = atomic_fetch_and((u32 *)(r1 +0), r2)"},
		{[]Insn{{Code: 0xdb, Dst: 1, Src: 2, Off: -8, Imm: AtomicCmpXchg}}, "(db) r0 = atomic64_cmpxchg((u64 *)(r1 -8), r0, r2)"},
		{[]Insn{{Code: 0xc3, Dst: 1, Src: 3, Imm: AtomicXchg}}, "(c3) r3 = atomic_xchg((u32 *)(r1 +0), r3)"},
		{[]Insn{{Code: 0xd3, Dst: 0, Src: 1, Imm: AtomicLoadAcq}}, "(d3) r0 = load_acquire((u8 *)(r1 +0))"},
		{[]Insn{{Code: 0xdb, Dst: 1, Src: 2, Off: 8, Imm: AtomicStoreRel}}, "(db) store_release((u64 *)(r1 +8), r2)"},
		{[]Insn{{Code: 0xfb, Dst: 1, Src: 2}}, "BUG_fb"},
		{[]Insn{{Code: 0xdb, Dst: 1, Src: 2, Imm: 0x77}}, "BUG_db"},
		{[]Insn{{Code: 0x15, Dst: 1, Imm: 7, Off: 3}}, "(15) if r1 == 0x7 goto pc+3"},
		{[]Insn{{Code: 0x16, Dst: 1, Imm: -1, Off: -2}}, "(16) if w1 == 0xffffffff goto pc-2"},
		{[]Insn{{Code: 0xcd, Dst: 1, Src: 2, Off: 0}}, "(cd) if r1 s< r2 goto pc+0"},
		{[]Insn{{Code: 0x4e, Dst: 1, Src: 2, Off: 1}}, "(4e) if w1 & w2 goto pc+1"},
		{[]Insn{{Code: 0x20, Imm: 16}}, "(20) r0 = *(u32 *)skb[16]"},
		{[]Insn{{Code: 0x50, Src: 3, Imm: 2}}, "(50) r0 = *(u8 *)skb[r3 + 2]"},
		{[]Insn{{Code: 0x18, Dst: 1, Imm: 0x55667788}, {Imm: 0x11223344}}, "(18) r1 = 0x1122334455667788"},
		{[]Insn{{Code: 0x18, Dst: 1, Src: PseudoMapFD, Imm: -0x7e000000}, {Imm: -0x7778}}, "(18) r1 = 0xffff888882000000"},
		{[]Insn{{Code: 0x00}}, "BUG_ld_00"},
	}
	for _, c := range cases {
		require.Equal(t, c.want, FormatInsn(c.prog, 0, SyntaxKernel), "%v", c.prog[0])
	}
}

func TestKernelFormatterHooks(t *testing.T) {
	mapLoad := []Insn{{Code: 0x18, Dst: 1, Src: PseudoMapValue, Imm: 0x1000}, {Imm: -0x7778}}
	f := Formatter{Syntax: SyntaxKernel, HidePointers: true}
	require.Equal(t, "(18) r1 = 0x0", f.Format(mapLoad, 0))
	f = Formatter{
		Syntax: SyntaxKernel,
		Imm64:  func(ins Insn, imm uint64) string { return fmt.Sprintf("map[id:%d]", ins.Imm) },
		CallName: func(ins Insn) string {
			if ins.Src == CallKfunc && ins.Imm == 71234 {
				return "bpf_arena_alloc_pages"
			}
			return ""
		},
	}
	require.Equal(t, "(18) r1 = map[id:4096]", f.Format(mapLoad, 0))
	require.Equal(t, "(85) call bpf_arena_alloc_pages#71234", f.Format([]Insn{{Code: 0x85, Src: CallKfunc, Imm: 71234}}, 0))
	require.Equal(t, "(85) call kernel-function#7", f.Format([]Insn{{Code: 0x85, Src: CallKfunc, Imm: 7}}, 0))
	require.Equal(t, "(85) call bpf_map_lookup_elem#1", f.Format([]Insn{{Code: 0x85, Imm: 1}}, 0), "helper names win over the hook")
}

func TestFormatInsnLLVMHexAndRaw(t *testing.T) {
	f := Formatter{Hex: true}
	cases := []struct {
		prog []Insn
		want string
	}{
		{[]Insn{{Code: 0x25, Dst: 1, Imm: 5, Off: 2}}, "if r1 > 0x5 goto +0x2"},
		{[]Insn{{Code: 0x07, Dst: 2, Imm: 42}}, "r2 += 0x2a"},
		{[]Insn{{Code: 0x07, Dst: 2, Imm: -42}}, "r2 += -0x2a"},
		{[]Insn{{Code: 0x79, Dst: 0, Src: 10, Off: -8}}, "r0 = *(u64 *)(r10 - 0x8)"},
		{[]Insn{{Code: 0x05, Off: -3}}, "goto -0x3"},
		{[]Insn{{Code: 0xb9, Dst: 0, Src: 1, Off: 8}}, ".8byte 0x00000000000810b9"},
	}
	for _, c := range cases {
		require.Equal(t, c.want, f.Format(c.prog, 0))
	}
	require.Equal(t, "r1 = -1 ll", FormatInsn([]Insn{{Code: 0x18, Dst: 1, Imm: -1}, {Imm: -1}}, 0, SyntaxLLVM))
	require.Equal(t, "r10 = *(u64 *)(r10 + 0)", FormatInsn([]Insn{{Code: 0x79, Dst: 10, Src: 10}}, 0, SyntaxLLVM))
	require.Equal(t, ".8byte 0x0000000000000018", FormatInsn([]Insn{{Code: 0x18}}, 0, SyntaxLLVM), "a wide load without its second slot")
	require.Equal(t, ".8byte 0x0000000100000095", FormatInsn([]Insn{{Code: 0x95, Imm: 1}}, 0, SyntaxLLVM), "exit with a reserved field set")
}

func TestFormatInsnConformance(t *testing.T) {
	cases := []struct {
		prog []Insn
		want string
	}{
		{[]Insn{{Code: 0x79, Dst: 0, Src: 1, Off: 8}}, "ldxdw %r0, [%r1+8]"},
		{[]Insn{{Code: 0x7b, Dst: 10, Src: 1, Off: -8}}, "stxdw [%r10-8], %r1"},
		{[]Insn{{Code: 0x62, Dst: 1, Imm: 0x11223344}}, "stw [%r1], 0x11223344"},
		{[]Insn{{Code: 0xc3, Dst: 1, Src: 2, Off: 4, Imm: AtomicXor | AtomicFetch}}, "lock fetch xor32 [%r1+4], %r2"},
		{[]Insn{{Code: 0xdb, Dst: 10, Src: 1, Off: -8, Imm: AtomicCmpXchg}}, "lock cmpxchg [%r10-8], %r1"},
		{[]Insn{{Code: 0x55, Dst: 3, Imm: 0x81, Off: 2}}, "jne %r3, 0x81, +2"},
		{[]Insn{{Code: 0x1e, Dst: 3, Src: 4, Off: -2}}, "jeq32 %r3, %r4, -2"},
		{[]Insn{{Code: 0xb7, Dst: 0, Imm: -1}}, "mov %r0, -1"},
		{[]Insn{{Code: 0xb4, Dst: 0, Imm: -1 << 31}}, "mov32 %r0, 0x80000000"},
		{[]Insn{{Code: 0x3c, Dst: 0, Src: 1, Off: 1}}, "sdiv32 %r0, %r1"},
		{[]Insn{{Code: 0xbc, Dst: 0, Src: 1, Off: 16}}, "movsx1632 %r0, %r1"},
		{[]Insn{{Code: 0xd7, Dst: 0, Imm: 32}}, "bswap32 %r0"},
		{[]Insn{{Code: 0x85, Src: CallLocal, Imm: 12}}, "call local +12"},
		{[]Insn{{Code: 0x85, Src: CallKfunc, Imm: 3}}, "call runtime 3"},
		{[]Insn{{Code: 0x8d, Dst: 2}}, "call %r2"},
		{[]Insn{{Code: 0x06, Imm: -5}}, "ja32 -5"},
		{[]Insn{{Code: 0x18, Dst: 0, Imm: 0x55667788}, {Imm: 0x11223344}}, "lddw %r0, 0x1122334455667788"},
		{[]Insn{{Code: 0xe5, Off: 3}}, ".8byte 0x00000000000300e5"},
	}
	for _, c := range cases {
		require.Equal(t, c.want, FormatInsn(c.prog, 0, SyntaxConformance))
	}
}

func TestXlated(t *testing.T) {
	prog := []Insn{
		{Code: 0x18, Dst: 1, Src: PseudoMapValue, Imm: 7}, {Imm: 16},
		{Code: MemOpcode(LdXClass, ProbeMem32Mode, DWord), Dst: 0, Src: 1, Off: 8},
		{Code: MemOpcode(StXClass, ProbeMem32Mode, Word), Dst: 1, Src: 0, Off: -4},
		{Code: MemOpcode(StClass, ProbeMem32Mode, Byte), Dst: 1, Imm: 3},
		{Code: MemOpcode(StXClass, ProbeAtomicMode, DWord), Dst: 1, Src: 2, Imm: AtomicAdd},
		{Code: 0xe5, Off: 1},
		{Code: 0x95},
	}
	f := Formatter{Imm64: func(ins Insn, imm uint64) string {
		if ins.Src == PseudoMapValue {
			return fmt.Sprintf("map[id:%d][0]+%d", ins.Imm, imm>>32)
		}
		return fmt.Sprintf("%#x", imm)
	}}
	want := "" +
		"   0: (18) r1 = map[id:7][0]+16\n" +
		"   2: (79) r0 = *(u64 *)(r1 +8)\n" +
		"   3: (63) *(u32 *)(r1 -4) = r0\n" +
		"   4: (72) *(u8 *)(r1 +0) = 3\n" +
		"   5: BUG_fb\n" +
		"   6: (e5) may_goto pc+1\n" +
		"   7: (95) exit\n"
	require.Equal(t, want, f.Xlated(prog))
	require.Equal(t, "BUG_ldx_b9", FormatInsn(prog, 2, SyntaxKernel), "the verifier log prints the rewritten opcode as is")
}

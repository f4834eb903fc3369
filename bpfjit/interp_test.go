package bpfjit

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/internal/trace"
)

// execAsm assembles LLVM-syntax source for a test.
func execAsm(t testing.TB, src string) []Insn {
	t.Helper()
	prog, err := Assemble(t.Name(), []byte(src), SyntaxLLVM)
	require.NoError(t, err)
	return prog
}

// toProbe rewrites the loads, stores and atomics at the given slots as the
// verifier does for arena pointers: MEM becomes PROBE_MEM32, ATOMIC becomes
// PROBE_ATOMIC, MEMSX becomes PROBE_MEM32SX.
func toProbe(prog []Insn, slots ...int) []Insn {
	out := append([]Insn(nil), prog...)
	for _, pc := range slots {
		op := out[pc].Code
		mode := ProbeMem32Mode
		switch op.Mode() {
		case AtomicMode:
			mode = ProbeAtomicMode
		case MemSXMode:
			mode = ProbeMem32SXMode
		}
		out[pc].Code = MemOpcode(op.Class(), mode, op.Size())
	}
	return out
}

// execCase is one program with what both engines must make of it.
type execCase struct {
	name    string
	asm     string // LLVM syntax; or prog
	prog    []Insn
	probe   []int // slots to turn into arena accesses
	buf     []byte
	setup   func(*execWorld, *Config)
	want    uint64  // r0 when outcome is OK
	outcome Outcome // OK unless the run must stop early
	check   func(t *testing.T, s execState)
}

func runExecCases(t *testing.T, cases []execCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prog := c.prog
			if c.asm != "" {
				prog = execAsm(t, c.asm)
			}
			prog = toProbe(prog, c.probe...)
			s := runBoth(t, prog, c.buf, c.setup)
			require.Equal(t, c.outcome, s.Outcome, "outcome (%s)", s.Err)
			if c.outcome == OK {
				require.Equal(t, c.want, s.R0, "r0 = %#x, want %#x", s.R0, c.want)
			}
			if c.check != nil {
				c.check(t, s)
			}
		})
	}
}

func TestALUEdgeSemantics(t *testing.T) {
	const v = "r1 = 0x0123456789abcdef ll\n"
	runExecCases(t, []execCase{
		{name: "div64 by zero imm", asm: "r0 = 7\nr0 /= 0\nexit", want: 0},
		{name: "div64 by zero reg", asm: "r0 = 7\nr1 = 0\nr0 /= r1\nexit", want: 0},
		{name: "sdiv64 by zero", asm: "r0 = -7\nr1 = 0\nr0 s/= r1\nexit", want: 0},
		{name: "div32 by zero", asm: "r0 = 7\nw1 = 0\nw0 /= w1\nexit", want: 0},
		{name: "mod64 by zero keeps dst", asm: "r0 = -5\nr1 = 0\nr0 %= r1\nexit", want: 0xfffffffffffffffb},
		{name: "smod64 by zero keeps dst", asm: "r0 = -5\nr0 s%= 0\nexit", want: 0xfffffffffffffffb},
		{name: "mod32 by zero zero-extends", asm: "r0 = -5\nw1 = 0\nw0 %= w1\nexit", want: 0xfffffffb},
		{name: "smod32 by zero zero-extends", asm: "r0 = -5\nw0 s%= 0\nexit", want: 0xfffffffb},
		{name: "div32 uses the low half of src", asm: "r0 = 100\nr1 = 0x100000004 ll\nw0 /= w1\nexit", want: 25},
		{name: "div32 by 2^32 is by zero", asm: "r0 = 100\nr1 = 0x100000000 ll\nw0 /= w1\nexit", want: 0},
		{name: "div64 imm is sign-extended then unsigned", asm: "r0 = -1\nr0 /= -1\nexit", want: 1},
		{name: "div32 imm is unsigned", asm: "w0 = -1\nw0 /= -1\nexit", want: 1},
		{name: "sdiv64 INT_MIN by -1", asm: "r0 = 0x8000000000000000 ll\nr0 s/= -1\nexit", want: 0x8000000000000000},
		{name: "smod64 INT_MIN by -1", asm: "r0 = 0x8000000000000000 ll\nr0 s%= -1\nexit", want: 0},
		{name: "sdiv32 INT_MIN by -1", asm: "w0 = -2147483648\nw0 s/= -1\nexit", want: 0x80000000},
		{name: "smod32 INT_MIN by -1", asm: "w0 = -2147483648\nw1 = -1\nw0 s%= w1\nexit", want: 0},
		{name: "smod truncates toward zero", asm: "r0 = -13\nr0 s%= 3\nexit", want: 0xffffffffffffffff},
		{name: "sdiv32 result zero-extended", asm: "w0 = -12\nw0 s/= 4\nexit", want: 0xfffffffd},
		{name: "lsh64 masks the count", asm: "r0 = 1\nr1 = 65\nr0 <<= r1\nexit", want: 2},
		{name: "lsh32 masks the count", asm: "w0 = 1\nw1 = 60\nw0 <<= w1\nexit", want: 0x10000000},
		{name: "rsh64 by 64 is by 0", asm: "r0 = 8\nr1 = 64\nr0 >>= r1\nexit", want: 8},
		{name: "rsh32 zero-extends", asm: "r0 = -1\nw0 >>= 4\nexit", want: 0x0fffffff},
		{name: "arsh32", asm: "w0 = -2147483648\nw0 s>>= 4\nexit", want: 0xf8000000},
		{name: "arsh64", asm: "r0 = -16\nr0 s>>= 2\nexit", want: 0xfffffffffffffffc},
		{name: "arsh64 reg masks", asm: "r0 = -16\nr1 = 66\nr0 s>>= r1\nexit", want: 0xfffffffffffffffc},
		{name: "add32 wraps and zero-extends", asm: "r0 = -1\nw0 += 2\nexit", want: 1},
		{name: "mul32", asm: "r0 = 0x10000\nw0 *= w0\nexit", want: 0},
		{name: "mov32 zero-extends", asm: "r1 = -1\nw0 = w1\nexit", want: 0xffffffff},
		{name: "mov64 imm sign-extends", asm: "r0 = -2147483648\nexit", want: 0xffffffff80000000},
		{name: "mov32 imm", asm: "w0 = -1\nexit", want: 0xffffffff},
		{name: "neg64", asm: "r0 = 5\nr0 = -r0\nexit", want: 0xfffffffffffffffb},
		{name: "neg32 INT_MIN", asm: "w0 = -2147483648\nw0 = -w0\nexit", want: 0x80000000},
		{name: "xor32 zero-extends", asm: "r0 = -1\nw0 ^= 0\nexit", want: 0xffffffff},
		{name: "movsx64 s8", asm: "r1 = 0x1ff\nr0 = (s8)r1\nexit", want: 0xffffffffffffffff},
		{name: "movsx64 s16", asm: "r1 = 0x1ff\nr0 = (s16)r1\nexit", want: 0x1ff},
		{name: "movsx64 s32", asm: "r1 = 0x80000000 ll\nr0 = (s32)r1\nexit", want: 0xffffffff80000000},
		{name: "movsx32 s8", asm: v + "w0 = (s8)w1\nexit", want: 0xffffffef},
		{name: "movsx32 s16", asm: v + "w0 = (s16)w1\nexit", want: 0xffffcdef},
		{name: "bswap16", asm: v + "r1 = bswap16 r1\nr0 = r1\nexit", want: 0xefcd},
		{name: "bswap32", asm: v + "r1 = bswap32 r1\nr0 = r1\nexit", want: 0xefcdab89},
		{name: "bswap64", asm: v + "r1 = bswap64 r1\nr0 = r1\nexit", want: 0xefcdab8967452301},
		{name: "be16", asm: v + "r1 = be16 r1\nr0 = r1\nexit", want: 0xefcd},
		{name: "be32", asm: v + "r1 = be32 r1\nr0 = r1\nexit", want: 0xefcdab89},
		{name: "be64", asm: v + "r1 = be64 r1\nr0 = r1\nexit", want: 0xefcdab8967452301},
		{name: "le16", asm: v + "r1 = le16 r1\nr0 = r1\nexit", want: 0xcdef},
		{name: "le32", asm: v + "r1 = le32 r1\nr0 = r1\nexit", want: 0x89abcdef},
		{name: "le64", asm: v + "r1 = le64 r1\nr0 = r1\nexit", want: 0x0123456789abcdef},
		{name: "ld_imm64", asm: "r0 = 0x8877665544332211 ll\nexit", want: 0x8877665544332211},
		{name: "cast_user keeps the upper half of user_vm_start",
			asm: "r1 = 0xdead00001234 ll\nr0 = addr_space_cast(r1, 1, 0)\nexit", want: execUserStart | 0x1234},
		{name: "cast_user of lo32 0 is NULL", asm: "r1 = 0xdead00000000 ll\nr0 = addr_space_cast(r1, 1, 0)\nexit", want: 0},
		{name: "cast_kern before the verifier is a 32-bit move",
			asm: "r1 = 0xdead00001234 ll\nr0 = addr_space_cast(r1, 0, 1)\nexit", want: 0x1234},
		{name: "cast_user with another user_vm_start",
			asm:   "r1 = 0x5678 ll\nr0 = addr_space_cast(r1, 1, 0)\nexit",
			setup: func(w *execWorld, c *Config) { c.UserVMStart = 0x7ffe12340000 },
			want:  0x7ffe00005678},
	})
}

func TestJumpEdgeSemantics(t *testing.T) {
	runExecCases(t, []execCase{
		{name: "jmp imm is sign-extended", asm: "r0 = 1\nr1 = -1\nif r1 == -1 goto +1\nr0 = 0\nexit", want: 1},
		{name: "jmp32 compares the low half", asm: "r0 = 1\nr1 = 0x1ffffffff ll\nif w1 == -1 goto +1\nr0 = 0\nexit", want: 1},
		{name: "jmp32 signed", asm: "r0 = 1\nr1 = 0xffffffff ll\nif w1 s< 0 goto +1\nr0 = 0\nexit", want: 1},
		{name: "jmp64 sees the same value as positive", asm: "r0 = 1\nr1 = 0xffffffff ll\nif r1 s< 0 goto +1\nr0 = 0\nexit", want: 0},
		{name: "jmp unsigned", asm: "r0 = 1\nr1 = -1\nif r1 > 5 goto +1\nr0 = 0\nexit", want: 1},
		{name: "jset", asm: "r0 = 1\nr1 = 6\nif r1 & 2 goto +1\nr0 = 0\nexit", want: 1},
		{name: "jset32 ignores the upper half", asm: "r0 = 1\nr1 = 0x100000000 ll\nr2 = r1\nif w1 & w2 goto +1\nr0 = 0\nexit", want: 0},
		{name: "jsle reg", asm: "r0 = 1\nr1 = -3\nr2 = -3\nif r1 s<= r2 goto +1\nr0 = 0\nexit", want: 1},
		{name: "gotol", asm: "r0 = 1\ngotol +1\nr0 = 0\nexit", want: 1},
		{name: "may_goto falls through 2^23 times, then jumps",
			asm:   "r0 = 0\nl:\nmay_goto +2\nr0 += 1\ngoto l\nexit",
			setup: func(w *execWorld, c *Config) { c.Budget = 1 << 26 },
			want:  BPFMaxLoops},
		{name: "may_goto budget is per frame and restored on return",
			asm: `r6 = 0
l:
may_goto +2
r6 += 1
goto l
call f
r6 += r0
may_goto +1
r6 += 1000
r0 = r6
exit
f:
r0 = 0
g:
may_goto +2
r0 += 1
goto g
exit`,
			setup: func(w *execWorld, c *Config) { c.Budget = 1 << 26 },
			want:  2 * BPFMaxLoops},
	})
}

func TestCallSemantics(t *testing.T) {
	runExecCases(t, []execCase{
		{name: "local call keeps r6-r9 and gets a fresh frame", asm: `r6 = 6
r9 = 9
*(u64 *)(r10 - 8) = r6
call sub
r0 += r6
r0 += r9
r1 = *(u64 *)(r10 - 8)
r0 += r1
exit
sub:
r6 = 100
r9 = 100
r0 = *(u64 *)(r10 - 8)
*(u64 *)(r10 - 8) = r6
r0 += 1000
exit`, want: 1000 + 6 + 9 + 6},
		{name: "callee sees the caller's r10 one frame up", asm: `r1 = r10
call sub
exit
sub:
r0 = r1
r0 -= r10
exit`, want: MaxBPFStack},
		{name: "callee reads the caller's stack through a pointer", asm: `r1 = 42
*(u64 *)(r10 - 16) = r1
r1 = r10
r1 += -16
call sub
exit
sub:
r0 = *(u64 *)(r1 + 0)
exit`, want: 42},
		{name: "eight frames are fine", asm: `r0 = 0
call f1
exit
f1:
call f2
r0 += 1
exit
f2:
call f3
r0 += 1
exit
f3:
call f4
r0 += 1
exit
f4:
call f5
r0 += 1
exit
f5:
call f6
r0 += 1
exit
f6:
call f7
r0 += 1
exit
f7:
r0 += 1
exit`, want: 7},
		{name: "a ninth frame is too deep", asm: "call f\nexit\nf:\ncall f\nexit", outcome: CallDepth,
			check: func(t *testing.T, s execState) {
				require.Equal(t, 2, s.PC)
				require.Equal(t, MaxCallFrames, s.Depth)
				require.Contains(t, s.Err, "the call stack of 9 frames is too deep")
			}},
		{name: "helper", asm: "call 5\nexit", want: 1000},
		{name: "helper clobbers nothing but r0", asm: "r1 = 11\nr5 = 55\ncall 5\nr0 = r1\nr0 += r5\nexit", want: 66},
		{name: "callx calls the helper whose id is in the register", asm: "r2 = 5\ncallx r2\nexit", want: 1000},
		{name: "unknown helper", asm: "call 42\nexit", outcome: UnknownCall,
			check: func(t *testing.T, s execState) { require.Contains(t, s.Err, "invalid func unknown#42") }},
		{name: "callx beyond the helper ids", asm: "r2 = 0x100000000 ll\ncallx r2\nexit", outcome: UnknownCall},
		{name: "helper error stops the run", asm: "call 99\nexit", outcome: CallFailed,
			check: func(t *testing.T, s execState) { require.Contains(t, s.Err, "EIO") }},
		{name: "helper reads the key from the stack", asm: `*(u32 *)(r10 - 4) = 0
r2 = r10
r2 += -4
r1 = 0xffff888000700000 ll
call 1
if r0 == 0 goto +3
r1 = 77
*(u64 *)(r0 + 8) = r1
r0 = *(u64 *)(r0 + 8)
exit`, want: 77, check: func(t *testing.T, s execState) {
			require.Equal(t, uint64(77), binary.LittleEndian.Uint64(s.Value[8:]))
		}},
		{name: "kfunc", prog: []Insn{
			{Code: 0xb7, Dst: R3, Imm: 2}, // page_cnt
			{Code: 0x85, Src: CallKfunc, Imm: execKfAlloc},
			{Code: 0x95},
		}, want: execUserStart, check: func(t *testing.T, s execState) {
			require.Equal(t, []uint64{0, 1}, sortedPages(s.Pages))
		}},
		{name: "unknown kfunc", prog: []Insn{{Code: 0x85, Src: CallKfunc, Imm: 5}, {Code: 0x95}}, outcome: UnknownCall},
	})
}

func TestMemoryEdgeSemantics(t *testing.T) {
	buf := []byte{0x80, 0xff, 0x00, 0x80, 0x01, 0x02, 0x03, 0x84, 9, 9, 9, 9, 9, 9, 9, 9}
	runExecCases(t, []execCase{
		{name: "ldx s8", asm: "r0 = *(s8 *)(r1 + 0)\nexit", buf: buf, want: 0xffffffffffffff80},
		{name: "ldx s16", asm: "r0 = *(s16 *)(r1 + 0)\nexit", buf: buf, want: 0xffffffffffffff80},
		{name: "ldx s32", asm: "r0 = *(s32 *)(r1 + 0)\nexit", buf: buf, want: 0xffffffff8000ff80},
		{name: "ldx u32 zero-extends", asm: "w0 = *(u32 *)(r1 + 4)\nexit", buf: buf, want: 0x84030201},
		{name: "ldx u16", asm: "w0 = *(u16 *)(r1 + 2)\nexit", buf: buf, want: 0x8000},
		{name: "ldx u8", asm: "w0 = *(u8 *)(r1 + 1)\nexit", buf: buf, want: 0xff},
		{name: "ldx u64", asm: "r0 = *(u64 *)(r1 + 0)\nexit", buf: buf, want: 0x840302018000ff80},
		{name: "st dw imm is sign-extended", asm: "*(u64 *)(r10 - 8) = -1\nr0 = *(u64 *)(r10 - 8)\nexit", want: 0xffffffffffffffff},
		{name: "stores of every width", asm: `r2 = 0x1122334455667788 ll
*(u64 *)(r1 + 8) = r2
*(u32 *)(r1 + 0) = w2
*(u16 *)(r1 + 4) = w2
*(u8 *)(r1 + 6) = w2
*(u16 *)(r1 + 2) = 0x7777
r0 = *(u64 *)(r1 + 0)
exit`, buf: buf, want: 0x8488778877777788, check: func(t *testing.T, s execState) {
			require.Equal(t, uint64(0x1122334455667788), binary.LittleEndian.Uint64(s.Buf[8:]))
		}},
		{name: "stack starts zeroed", asm: "r0 = *(u64 *)(r10 - 512)\nexit", want: 0},
		{name: "load at address 0 is a bad access", asm: "r1 = 0\nr0 = *(u64 *)(r1 + 0)\nexit", outcome: BadAccess,
			check: func(t *testing.T, s execState) {
				require.Equal(t, 1, s.PC)
				require.Contains(t, s.Err, "EFAULT")
			}},
		{name: "above the stack is not the stack", asm: "r0 = *(u64 *)(r10 + 0)\nexit", outcome: BadAccess},
		{name: "below the frame is not the stack", asm: "r0 = *(u8 *)(r10 - 513)\nexit", outcome: BadAccess},
		{name: "an access straddling the end of the buffer", asm: "r0 = *(u64 *)(r1 + 12)\nexit", buf: buf, outcome: BadAccess},
		{name: "store to a read-only region", asm: "*(u8 *)(r1 + 0) = 1\nexit", buf: buf, outcome: BadAccess,
			setup: func(w *execWorld, c *Config) {
				require.NoError(t, w.mem.Unmap(execMemBase))
				require.NoError(t, w.mem.Map(execMemBase, w.buf, true))
			}},
		{name: "a failed store changes nothing", asm: "r2 = -1\n*(u64 *)(r1 + 12) = r2\nexit", buf: buf, outcome: BadAccess,
			check: func(t *testing.T, s execState) { require.Equal(t, buf, s.Buf) }},
	})
}

func TestAtomicSemantics(t *testing.T) {
	const init = "r1 = 0x00000000fffffff0 ll\n*(u64 *)(r10 - 8) = r1\n"
	const back = "r0 = *(u64 *)(r10 - 8)\n"
	runExecCases(t, []execCase{
		{name: "add64", asm: init + "r2 = 0x20\nlock *(u64 *)(r10 - 8) += r2\n" + back + "exit", want: 0x100000010},
		{name: "add32 wraps in 32 bits", asm: init + "w2 = 0x20\nlock *(u32 *)(r10 - 8) += w2\n" + back + "exit", want: 0x10},
		{name: "fetch_add32 zero-extends the old value", asm: init + "r2 = -1\nw2 = atomic_fetch_add((u32 *)(r10 - 8), w2)\nr0 = r2\nexit", want: 0xfffffff0},
		{name: "or", asm: init + "r2 = 0xf\nlock *(u64 *)(r10 - 8) |= r2\n" + back + "exit", want: 0xffffffff},
		{name: "and", asm: init + "r2 = 0x30\nlock *(u64 *)(r10 - 8) &= r2\n" + back + "exit", want: 0x30},
		{name: "xor", asm: init + "r2 = -1\nlock *(u64 *)(r10 - 8) ^= r2\n" + back + "exit", want: 0xffffffff0000000f},
		{name: "fetch_or returns the old value", asm: init + "r2 = 1\nr2 = atomic_fetch_or((u64 *)(r10 - 8), r2)\nr0 = r2\nexit", want: 0xfffffff0},
		{name: "fetch_and", asm: init + "r2 = 0x10\nr2 = atomic_fetch_and((u64 *)(r10 - 8), r2)\n" + back + "r0 += r2\nexit", want: 0x10 + 0xfffffff0},
		{name: "fetch_xor32", asm: init + "w2 = 0xff\nw2 = atomic_fetch_xor((u32 *)(r10 - 8), w2)\n" + back + "r0 += r2\nexit", want: 0xffffff0f + 0xfffffff0},
		{name: "xchg64", asm: init + "r2 = 5\nr2 = xchg_64(r10 - 8, r2)\n" + back + "r0 <<= 32\nr0 |= r2\nexit", want: 0x5fffffff0},
		{name: "xchg32 keeps the upper half of memory", asm: "r1 = -1\n*(u64 *)(r10 - 8) = r1\nw2 = 5\nw2 = xchg32_32(r10 - 8, w2)\n" + back + "exit", want: 0xffffffff00000005},
		{name: "cmpxchg64 equal", asm: init + "r0 = 0xfffffff0 ll\nr2 = 7\nr0 = cmpxchg_64(r10 - 8, r0, r2)\nr1 = *(u64 *)(r10 - 8)\nr0 += r1\nexit", want: 0xfffffff0 + 7},
		{name: "cmpxchg64 not equal", asm: init + "r0 = 1\nr2 = 7\nr0 = cmpxchg_64(r10 - 8, r0, r2)\nr1 = *(u64 *)(r10 - 8)\nr0 += r1\nexit", want: 2 * 0xfffffff0},
		{name: "cmpxchg32 compares the low half of r0", asm: init + "r0 = 0x1fffffff0 ll\nw2 = 7\nw0 = cmpxchg32_32(r10 - 8, w0, w2)\nr1 = *(u64 *)(r10 - 8)\nr0 += r1\nexit", want: 0xfffffff0 + 7},
		{name: "atomics on the buffer", asm: "r2 = 3\nlock *(u64 *)(r1 + 0) += r2\nr0 = *(u64 *)(r1 + 0)\nexit", buf: make([]byte, 8), want: 3},
		{name: "atomic on bad memory", asm: "r1 = 8\nr2 = 3\nlock *(u64 *)(r1 + 0) += r2\nexit", outcome: BadAccess},
		{name: "load_acquire of every width", asm: init + `w0 = load_acquire((u8 *)(r10 - 8))
w2 = load_acquire((u16 *)(r10 - 8))
r0 += r2
w2 = load_acquire((u32 *)(r10 - 8))
r0 += r2
r2 = load_acquire((u64 *)(r10 - 8))
r0 += r2
exit`, want: 0xf0 + 0xfff0 + 0xfffffff0 + 0xfffffff0},
		{name: "store_release of every width", asm: `r2 = 0x1122334455667788 ll
store_release((u64 *)(r10 - 16), r2)
store_release((u32 *)(r10 - 8), w2)
store_release((u16 *)(r10 - 4), w2)
store_release((u8 *)(r10 - 2), w2)
r0 = *(u64 *)(r10 - 8)
r1 = *(u64 *)(r10 - 16)
r0 ^= r1
exit`, want: 0x0088778855667788 ^ 0x1122334455667788},
	})
}

func TestInvalidInstructions(t *testing.T) {
	exit := Insn{Code: 0x95}
	check := func(pc int, detail string) func(*testing.T, execState) {
		return func(t *testing.T, s execState) {
			require.Equal(t, pc, s.PC)
			require.Contains(t, s.Err, detail)
			require.True(t, strings.Contains(s.Err, "EINVAL"), s.Err)
		}
	}
	runExecCases(t, []execCase{
		{name: "unknown opcode", prog: []Insn{{Code: 0xff}, exit}, outcome: InvalidInsn, check: check(0, "unknown opcode 0xff")},
		{name: "neg with a source register", prog: []Insn{{Code: 0x8f}, exit}, outcome: InvalidInsn, check: check(0, "neg")},
		{name: "register r11", prog: []Insn{{Code: 0xb7, Dst: 11}, exit}, outcome: InvalidInsn, check: check(0, "invalid register")},
		{name: "write to r10", prog: []Insn{{Code: 0xb7, Dst: R10}, exit}, outcome: InvalidInsn, check: check(0, "read only")},
		{name: "fetch into r10", prog: []Insn{{Code: 0xdb, Dst: R1, Src: R10, Imm: AtomicAdd | AtomicFetch}, exit},
			outcome: InvalidInsn, check: check(0, "read only")},
		{name: "jump out of range", prog: []Insn{{Code: 0x05, Off: 5}, exit}, outcome: InvalidInsn, check: check(0, "jump out of range")},
		{name: "jump backwards out of range", prog: []Insn{{Code: 0x05, Off: -2}, exit}, outcome: InvalidInsn, check: check(0, "jump out of range")},
		{name: "jump into the second half of ld_imm64", prog: []Insn{{Code: 0x05, Off: 2}, {Code: 0xb7}, {Code: 0x18, Imm: 1}, {}, exit},
			outcome: InvalidInsn, check: check(3, "unknown opcode 0x0")},
		{name: "ld_imm64 without a second slot", prog: []Insn{{Code: 0x18}}, outcome: InvalidInsn, check: check(0, "no second slot")},
		{name: "ld_imm64 of an unresolved map fd", prog: []Insn{{Code: 0x18, Src: PseudoMapFD, Imm: 3}, {}, exit},
			outcome: InvalidInsn, check: check(0, "pseudo source 1")},
		{name: "running off the end", prog: []Insn{{Code: 0xb7}}, outcome: InvalidInsn, check: check(1, "past the last instruction")},
		{name: "empty program", prog: nil, outcome: InvalidInsn, check: check(0, "past the last instruction")},
		{name: "a jump to the end", prog: []Insn{{Code: 0x05}}, outcome: InvalidInsn, check: check(1, "past the last instruction")},
		{name: "invalid addr_space_cast", prog: []Insn{{Code: 0xbf, Src: R1, Off: 1, Imm: 2}, exit}, outcome: InvalidInsn, check: check(0, "address spaces")},
		{name: "legacy packet load", prog: []Insn{{Code: 0x20}, exit}, outcome: InvalidInsn, check: check(0, "legacy packet")},
		{name: "8-bit read-modify-write atomic", prog: []Insn{{Code: 0xd3, Dst: R10, Src: R1, Off: -8, Imm: AtomicAdd}, exit},
			outcome: InvalidInsn, check: check(0, "4 or 8 bytes")},
		{name: "an invalid slot that never runs", prog: []Insn{{Code: 0xb7, Imm: 3}, exit, {Code: 0xff}}, want: 3},
	})
}

func TestBudget(t *testing.T) {
	small := func(n uint64) func(*execWorld, *Config) {
		return func(w *execWorld, c *Config) { c.Budget = n }
	}
	runExecCases(t, []execCase{
		{name: "an endless loop stops", asm: "l:\ngoto l", setup: small(100), outcome: Budget, check: func(t *testing.T, s execState) {
			require.Equal(t, 0, s.PC)
			require.Contains(t, s.Err, "E2BIG")
		}},
		{name: "exactly enough", asm: "r0 = 1\nr0 += 1\nexit", setup: small(3), want: 2, check: func(t *testing.T, s execState) {
			require.Equal(t, uint64(3), s.Insns)
		}},
		{name: "one short stops before the run", asm: "r0 = 1\nr0 += 1\nexit", setup: small(2), outcome: Budget,
			check: func(t *testing.T, s execState) { require.Equal(t, uint64(0), s.Regs[0]) }},
		{name: "the run after a jump", asm: "r0 = 1\nif r0 == 1 goto +1\nr0 = 5\nr0 += 1\nexit", setup: small(3), outcome: Budget,
			check: func(t *testing.T, s execState) {
				require.Equal(t, 3, s.PC)
				require.Equal(t, uint64(1), s.Regs[0])
			}},
		{name: "ld_imm64 counts once", asm: "r0 = 0x100000000 ll\nexit", setup: small(2), want: 0x100000000, check: func(t *testing.T, s execState) {
			require.Equal(t, uint64(2), s.Insns)
		}},
	})
}

func TestRunErrors(t *testing.T) {
	for _, eng := range execEngines {
		e := eng.new([]Insn{{Code: 0x95}}, Config{})
		_, err := e.Run(1, 2, 3, 4, 5, 6)
		require.ErrorIs(t, err, errno.EINVAL, eng.name)
		_, err = eng.new(nil, Config{}).Run()
		var ee *Error
		require.True(t, errors.As(err, &ee), eng.name)
		require.Equal(t, InvalidInsn, OutcomeOf(err))
		require.ErrorIs(t, err, errno.EINVAL)
		require.Equal(t, OK, OutcomeOf(nil))
		require.Equal(t, CallFailed, OutcomeOf(errno.EIO))
	}
}

// TestTraceEvents checks the events a run emits: one insn event per executed
// instruction from the interpreter only (a JIT has no per-instruction hook),
// a kfunc event per helper or kfunc call and a fault event per fixed-up
// arena access from both engines, with the same budget accounting as an
// untraced run.
func TestTraceEvents(t *testing.T) {
	prog := toProbe(execAsm(t, `r1 = 0x10000
r0 = *(u64 *)(r1 + 0)
call 5
r0 = 7
exit`), 1)
	for _, eng := range execEngines {
		t.Run(eng.name, func(t *testing.T) {
			rec := &trace.Recorder{}
			w := newExecWorld(t, nil, execUserStart)
			cfg := w.config()
			cfg.Tracer, cfg.Who = trace.New(rec, trace.All), "prog 3"
			res, err := eng.new(prog, cfg).Run()
			require.NoError(t, err)
			require.Equal(t, uint64(7), res.R0)
			require.Equal(t, uint64(5), res.Insns)
			var want []trace.Kind
			if eng.name == "interpreter" {
				want = []trace.Kind{trace.Insn, trace.Insn, trace.Fault, trace.Insn, trace.Kfunc, trace.Insn, trace.Insn}
			} else {
				want = []trace.Kind{trace.Fault, trace.Kfunc}
			}
			require.Equal(t, want, rec.Kinds())
			for _, e := range rec.Events {
				require.Equal(t, "prog 3", e.Who)
				switch e.Kind {
				case trace.Insn:
					require.NotEmpty(t, e.Text)
				case trace.Fault:
					require.Equal(t, uint64(execKernStart+0x10000), e.Addr)
					require.Contains(t, e.Text, "arena READ access at unmapped address 0x7f0000010000")
				case trace.Kfunc:
					require.Equal(t, uint64(5), e.Val)
					require.Contains(t, e.Text, "helper 5(")
				}
			}
			if eng.name == "interpreter" {
				require.Equal(t, "(79) r0 = *(u64 *)(r1 +0) (PROBE_MEM32)", rec.Events[1].Text)
				require.Equal(t, "(85) call bpf_ktime_get_ns#5", rec.Events[3].Text)
			}
		})
	}
}

package bpfjit

import (
	"errors"
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/stretchr/testify/require"
)

// The maps and kfuncs of the verifier tests' environment.
const (
	vtHashFD    = 1
	vtArrayFD   = 2
	vtArenaFD   = 3
	vtArena2FD  = 4
	vtByteBufFD = 5
	vtKfAlloc   = 1001
	vtKfFree    = 1002
	vtMapAddr   = 0xffff888100010000
	vtArrAddr   = 0xffff888100020000
	vtArrValue  = 0xffff888100020100
	vtArenaAddr = 0xffff888100030000
	vtUserVM    = 0x100000000000
)

// vtEnv returns a privileged, sleepable environment with a hash map
// (key 4, value 8), a one-element array (value 16), an arena of two pages,
// the standard helpers, the arena kfuncs and a 64-byte context.
func vtEnv() *VerifyEnv {
	return &VerifyEnv{
		Maps: map[int32]*MapInfo{
			vtHashFD:   {Name: "hmap", Type: MapTypeHash, KeySize: 4, ValueSize: 8, MaxEntries: 16, Addr: vtMapAddr},
			vtArrayFD:  {Name: "arr", Type: MapTypeArray, KeySize: 4, ValueSize: 16, MaxEntries: 1, Addr: vtArrAddr, ValueAddr: vtArrValue},
			vtArenaFD:  {Name: "arena", Type: MapTypeArena, MaxEntries: 2, Flags: MapFlagMmapable, Addr: vtArenaAddr, ValueAddr: vtUserVM},
			vtArena2FD: {Name: "arena2", Type: MapTypeArena, MaxEntries: 2, Flags: MapFlagMmapable, Addr: vtArenaAddr + 0x1000, ValueAddr: vtUserVM * 2},
			vtByteBufFD: {Name: ".data.single_byte_buf", Type: MapTypeArray, KeySize: 4, ValueSize: 1, MaxEntries: 1,
				Addr: vtArrAddr + 0x1000, ValueAddr: vtArrValue + 0x1000},
		},
		Helpers:   StandardHelpers(),
		Kfuncs:    ArenaKfuncs(vtKfAlloc, vtKfFree),
		Ctx:       CtxInfo{Size: 64},
		Caps:      AllCaps,
		Sleepable: true,
	}
}

type vtCase struct {
	name  string
	prog  []Insn
	env   func(e *VerifyEnv)
	errno errno.Errno // 0: accepted
	insn  int
	msg   string
	check func(t *testing.T, out *Verified)
}

func runVerifierCases(t *testing.T, cases []vtCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := vtEnv()
			if c.env != nil {
				c.env(env)
			}
			out, err := Verify(c.prog, env)
			if c.errno == 0 {
				if err != nil {
					env.LogLevel = LogLevel2
					_, err2 := Verify(c.prog, env)
					t.Fatalf("rejected: %v\n%s", err, err2.(*VerifierError).Log)
				}
				if c.check != nil {
					c.check(t, out)
				}
				return
			}
			require.Error(t, err, "accepted; want %v %q", c.errno, c.msg)
			var ve *VerifierError
			require.True(t, errors.As(err, &ve))
			require.True(t, errors.Is(err, c.errno), "errno %v, want %v (%v)", ve.Errno, c.errno, err)
			require.Equal(t, c.msg, ve.Msg, "%v", err)
			require.Equal(t, c.insn, ve.Insn, "%v", err)
		})
	}
}

func TestVerifierControlFlow(t *testing.T) {
	runVerifierCases(t, []vtCase{
		{name: "jump out of range", prog: vProg(vMov64Imm(R0, 0), vJa(5), vExit()),
			errno: errno.EINVAL, insn: 1, msg: "jump out of range from insn 1 to 7"},
		{name: "jump backwards out of range", prog: vProg(vMov64Imm(R0, 0), vJmpImm(JEq, R0, 0, -3), vExit()),
			errno: errno.EINVAL, insn: 1, msg: "jump out of range from insn 1 to -1"},
		{name: "jump into ldimm64", prog: vProg(vMov64Imm(R0, 0), vJmpImm(JEq, R0, 0, 1), vLdImm64(R0, 7), vExit()),
			errno: errno.EINVAL, insn: 2, msg: "jump into the middle of ldimm64 insn 2"},
		{name: "fall through the end", prog: vProg(vMov64Imm(R0, 0)),
			errno: errno.EINVAL, insn: 0, msg: "last insn is not an exit or jmp"},
		{name: "conditional jump last", prog: vProg(vMov64Imm(R0, 0), vJmpImm(JEq, R0, 0, -2)),
			errno: errno.EINVAL, insn: 1, msg: "last insn is not an exit or jmp"},
		{name: "unreachable", prog: vProg(vMov64Imm(R0, 0), vExit(), vMov64Imm(R0, 1), vExit()),
			errno: errno.EINVAL, insn: 2, msg: "unreachable insn 2"},
		{name: "back-edge without CAP_BPF",
			prog:  vProg(vMov64Imm(R0, 0), vALU64Imm(Add, R0, 1), vJmpImm(JLT, R0, 10, -2), vExit()),
			env:   func(e *VerifyEnv) { e.Caps = 0 },
			errno: errno.EINVAL, insn: 2, msg: "back-edge from insn 2 to 1"},
		{name: "bounded loop with CAP_BPF",
			prog: vProg(vMov64Imm(R0, 0), vALU64Imm(Add, R0, 1), vJmpImm(JLT, R0, 10, -2), vExit()),
			check: func(t *testing.T, out *Verified) {
				require.Greater(t, out.InsnProcessed, 20, "the loop is unrolled")
			}},
		{name: "infinite loop", prog: vProg(vMov64Imm(R0, 0), vJa(-1)),
			errno: errno.EINVAL, insn: 1, msg: "infinite loop detected at insn 1"},
		{name: "unknown opcode", prog: vProg(Insn{Code: 0xff}, vExit()),
			errno: errno.EINVAL, insn: 0, msg: "unknown opcode ff"},
		{name: "callx", prog: vProg(vMov64Imm(R0, 0), Insn{Code: 0x8d, Dst: R2}, vExit()),
			errno: errno.EINVAL, insn: 1, msg: "unknown opcode 8d"},
		{name: "ldimm64 second half", prog: vProg(Insn{Code: LdImm64}, Insn{Code: 0x07}, vExit()),
			errno: errno.EINVAL, insn: 0, msg: "invalid bpf_ld_imm64 insn"},
		{name: "ldimm64 at the end", prog: vProg(vMov64Imm(R0, 0), vExit(), Insn{Code: LdImm64}),
			errno: errno.EINVAL, insn: 2, msg: "last insn is not an exit or jmp"},
		{name: "legacy packet load", prog: vProg(Insn{Code: 0x20}, vExit()),
			errno: errno.EINVAL, insn: 0, msg: "BPF_LD_[ABS|IND] instructions not allowed for this program type"},
		{name: "too many instructions",
			prog:  vProg(vMov64Imm(R0, 0), vALU64Imm(Add, R0, 1), vJmpImm(JLT, R0, 2_000_000, -2), vExit()),
			errno: errno.E2BIG, insn: 2, msg: "BPF program is too large. Processed 1000001 insn"},
		{name: "dead code becomes a trap",
			prog: vProg(vMov64Imm(R0, 0), vJmpImm(JEq, R0, 0, 2), vLdImm64(R0, 1), vExit()),
			check: func(t *testing.T, out *Verified) {
				require.Equal(t, []Insn{vMov64Imm(R0, 0), vJmpImm(JEq, R0, 0, 2), deadCodeTrap, deadCodeTrap, vExit()}, out.Insns)
			}},
		{name: "may_goto bounds a loop",
			prog: vProg(vMov64Imm(R0, 0), vMayGoto(2), vALU64Imm(Add, R0, 1), vJa(-3), vExit())},
	})
}

func TestVerifierReservedFields(t *testing.T) {
	exit0 := []Insn{vMov64Imm(R0, 0), vExit()}
	runVerifierCases(t, []vtCase{
		{name: "ldx imm", prog: vProg(Insn{Code: MemOpcode(LdXClass, MemMode, DWord), Dst: R0, Src: R10, Off: -8, Imm: 1}, exit0),
			errno: errno.EINVAL, insn: 0, msg: "BPF_LDX uses reserved fields"},
		{name: "stx imm", prog: vProg(Insn{Code: MemOpcode(StXClass, MemMode, DWord), Dst: R10, Src: R1, Off: -8, Imm: 1}, exit0),
			errno: errno.EINVAL, insn: 0, msg: "BPF_STX uses reserved fields"},
		{name: "st src", prog: vProg(Insn{Code: MemOpcode(StClass, MemMode, DWord), Dst: R10, Src: R1, Off: -8}, exit0),
			errno: errno.EINVAL, insn: 0, msg: "BPF_ST uses reserved fields"},
		{name: "exit imm", prog: vProg(vMov64Imm(R0, 0), Insn{Code: 0x95, Imm: 1}),
			errno: errno.EINVAL, insn: 1, msg: "BPF_EXIT uses reserved fields"},
		{name: "ja src", prog: vProg(Insn{Code: 0x05, Src: 1}, exit0),
			errno: errno.EINVAL, insn: 0, msg: "BPF_JA uses reserved fields"},
		{name: "gotol off", prog: vProg(Insn{Code: 0x06, Off: 1}, exit0),
			errno: errno.EINVAL, insn: 0, msg: "BPF_JA uses reserved fields"},
		{name: "call dst", prog: vProg(Insn{Code: 0x85, Dst: 1, Imm: FuncKtimeGetNs}, exit0),
			errno: errno.EINVAL, insn: 0, msg: "BPF_CALL uses reserved fields"},
		{name: "mov imm src", prog: vProg(Insn{Code: 0xb7, Src: 1}, vExit()),
			errno: errno.EINVAL, insn: 0, msg: "BPF_MOV uses reserved fields"},
		{name: "movsx64 off 7", prog: vProg(Insn{Code: 0xbf, Dst: R0, Src: R1, Off: 7}, vExit()),
			errno: errno.EINVAL, insn: 0, msg: "BPF_MOV uses reserved fields"},
		{name: "mov32 off 32", prog: vProg(Insn{Code: 0xbc, Dst: R0, Src: R1, Off: 32}, vExit()),
			errno: errno.EINVAL, insn: 0, msg: "BPF_MOV uses reserved fields"},
		{name: "add off", prog: vProg(vMov64Imm(R0, 0), Insn{Code: 0x07, Off: 2}, vExit()),
			errno: errno.EINVAL, insn: 1, msg: "BPF_ALU uses reserved fields"},
		{name: "sdiv off allowed", prog: vProg(vMov64Imm(R0, 6), Insn{Code: 0x37, Off: 1, Imm: 3}, vExit())},
		{name: "neg imm", prog: vProg(vMov64Imm(R0, 0), Insn{Code: 0x87, Imm: 1}, vExit()),
			errno: errno.EINVAL, insn: 1, msg: "BPF_NEG uses reserved fields"},
		{name: "end width", prog: vProg(vMov64Imm(R0, 0), Insn{Code: 0xd4, Imm: 8}, vExit()),
			errno: errno.EINVAL, insn: 1, msg: "BPF_END uses reserved fields"},
		{name: "jmp x imm", prog: vProg(vMov64Imm(R0, 0), Insn{Code: 0x1d, Dst: R0, Src: R0, Imm: 1}, vExit()),
			errno: errno.EINVAL, insn: 1, msg: "BPF_JMP/JMP32 uses reserved fields"},
		{name: "may_goto imm", prog: vProg(vMov64Imm(R0, 0), Insn{Code: 0xe5, Imm: 1}, vExit()),
			errno: errno.EINVAL, insn: 1, msg: "invalid may_goto imm 1"},
		{name: "atomic opcode", prog: vProg(vSt(DWord, R10, -8, 0), vMov64Imm(R1, 1), vAtomic(DWord, 0x30, R10, R1, -8), exit0),
			errno: errno.EINVAL, insn: 2, msg: "BPF_ATOMIC uses invalid atomic opcode 30"},
		{name: "atomic byte", prog: vProg(vSt(DWord, R10, -8, 0), vMov64Imm(R1, 1), vAtomic(Byte, AtomicAdd, R10, R1, -8), exit0),
			errno: errno.EINVAL, insn: 2, msg: "invalid atomic operand size"},
	})
}

func TestVerifierRegisters(t *testing.T) {
	runVerifierCases(t, []vtCase{
		{name: "read uninitialised", prog: vProg(vMov64Reg(R0, R2), vExit()),
			errno: errno.EACCES, insn: 0, msg: "R2 !read_ok"},
		{name: "exit without r0", prog: vProg(vExit()),
			errno: errno.EACCES, insn: 0, msg: "R0 !read_ok"},
		{name: "r0 on one path only", prog: vProg(vLdx(Word, R2, R1, 0), vJmpImm(JEq, R2, 0, 1), vMov64Imm(R0, 0), vExit()),
			errno: errno.EACCES, insn: 3, msg: "R0 !read_ok"},
		{name: "r10 is read-only", prog: vProg(vMov64Imm(R10, 0), vExit()),
			errno: errno.EACCES, insn: 0, msg: "frame pointer is read only"},
		{name: "r11", prog: vProg(Insn{Code: 0xb7, Dst: 11}, vExit()),
			errno: errno.EINVAL, insn: 0, msg: "R11 is invalid"},
		{name: "call clobbers r1-r5", prog: vProg(vMov64Imm(R2, 1), vCall(FuncKtimeGetNs), vMov64Reg(R0, R2), vExit()),
			errno: errno.EACCES, insn: 2, msg: "R2 !read_ok"},
		{name: "call keeps r6-r9", prog: vProg(vMov64Imm(R6, 1), vCall(FuncKtimeGetNs), vMov64Reg(R0, R6), vExit())},
		{name: "32-bit ALU on registers", prog: vProg(vMov32Imm(R0, 1), vMov32Imm(R1, 2), vALU32Reg(Add, R0, R1), vExit())},
		{name: "div by zero constant", prog: vProg(vMov64Imm(R0, 1), vALU64Imm(Div, R0, 0), vExit()),
			errno: errno.EINVAL, insn: 1, msg: "div by zero"},
		{name: "div by zero register is allowed", prog: vProg(vMov64Imm(R0, 1), vMov64Imm(R1, 0), vALU64Reg(Div, R0, R1), vExit())},
		{name: "invalid shift", prog: vProg(vMov64Imm(R0, 1), vALU64Imm(LSh, R0, 64), vExit()),
			errno: errno.EINVAL, insn: 1, msg: "invalid shift 64"},
		{name: "invalid shift 32-bit", prog: vProg(vMov64Imm(R0, 1), vALU32Imm(RSh, R0, 32), vExit()),
			errno: errno.EINVAL, insn: 1, msg: "invalid shift 32"},
		{name: "pointer leak as return value", prog: vProg(vMov64Reg(R0, R1), vExit()),
			env:   func(e *VerifyEnv) { e.Caps = CapBPF },
			errno: errno.EACCES, insn: 1, msg: "R0 leaks addr as return value"},
		{name: "pointer returned with CAP_PERFMON", prog: vProg(vMov64Reg(R0, R1), vExit())},
		{name: "pointer comparison unprivileged", prog: vProg(vMov64Imm(R0, 0), vJmpImm(JEq, R1, 0, 0), vExit()),
			env:   func(e *VerifyEnv) { e.Caps = 0 },
			errno: errno.EACCES, insn: 1, msg: "R1 pointer comparison prohibited"},
		{name: "partial copy of pointer", prog: vProg(vMov32Reg(R0, R1), vExit()),
			env:   func(e *VerifyEnv) { e.Caps = CapBPF },
			errno: errno.EACCES, insn: 0, msg: "R1 partial copy of pointer"},
		{name: "pointer arithmetic mul", prog: vProg(vALU64Imm(Mul, R1, 2), vMov64Imm(R0, 0), vExit()),
			errno: errno.EACCES, insn: 0, msg: "R1 pointer arithmetic with *= operator prohibited"},
		{name: "pointer bitwise", prog: vProg(vALU64Imm(And, R1, 3), vMov64Imm(R0, 0), vExit()),
			errno: errno.EACCES, insn: 0, msg: "R1 bitwise operator &= on pointer prohibited"},
		{name: "pointer plus pointer", prog: vProg(vMov64Reg(R2, R10), vALU64Reg(Add, R2, R1), vMov64Imm(R0, 0), vExit()),
			errno: errno.EACCES, insn: 1, msg: "R2 pointer += pointer prohibited"},
		{name: "32-bit pointer arithmetic", prog: vProg(vALU32Imm(Add, R1, 4), vMov64Imm(R0, 0), vExit()),
			errno: errno.EACCES, insn: 0, msg: "R1 32-bit pointer arithmetic prohibited"},
		{name: "subtract from stack pointer", prog: vProg(vMov64Reg(R2, R10), vALU64Imm(Sub, R2, 8), vMov64Imm(R0, 0), vExit()),
			errno: errno.EACCES, insn: 1, msg: "R2 subtraction from stack pointer prohibited"},
		{name: "scalar minus pointer", prog: vProg(vMov64Imm(R2, 8), vALU64Reg(Sub, R2, R10), vMov64Imm(R0, 0), vExit()),
			env:   func(e *VerifyEnv) { e.Caps = CapBPF },
			errno: errno.EACCES, insn: 1, msg: "R2 tried to subtract pointer from scalar"},
		{name: "pointer difference with CAP_PERFMON", prog: vProg(vMov64Reg(R2, R10), vALU64Reg(Sub, R2, R10), vMov64Reg(R0, R2), vExit())},
		{name: "end of pointer", prog: vProg(Insn{Code: 0xd4, Dst: R1, Imm: 32}, vMov64Imm(R0, 0), vExit()),
			env:   func(e *VerifyEnv) { e.Caps = CapBPF },
			errno: errno.EACCES, insn: 0, msg: "R1 pointer arithmetic prohibited"},
		{name: "unbounded pointer offset",
			prog:  vProg(vLdx(DWord, R2, R1, 0), vMov64Reg(R3, R10), vALU64Reg(Add, R3, R2), vMov64Imm(R0, 0), vExit()),
			errno: errno.EINVAL, insn: 2, msg: "math between fp pointer and register with unbounded min value is not allowed"},
		{name: "huge constant offset",
			prog:  vProg(vMov64Reg(R3, R10), vLdImm64(R2, 1<<30), vALU64Reg(Add, R3, R2), vMov64Imm(R0, 0), vExit()),
			errno: errno.EINVAL, insn: 3, msg: "math between fp pointer and 1073741824 is not allowed"},
	})
}

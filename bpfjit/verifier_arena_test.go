package bpfjit

import (
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/stretchr/testify/require"
)

// vtBasicAlloc1 is verifier_arena.c's basic_alloc1 as clang compiles it:
// allocate two pages, write them through cast_kern pointers, fail a third
// allocation, free page2 and read it back as zero, reallocate it.
func vtBasicAlloc1() []Insn {
	return vProgL(
		vArenaAlloc(vtArenaFD, 1), // 0-6
		vMov64Reg(R6, R0),         // 7: page1
		vMov64Imm(R0, 1),
		vJmpImmL(JEq, R6, 0, "out"),
		vCast(R1, R6, CastKernImm), // 10
		vMov32Imm(R2, 1),
		vStx(Word, R1, R2, 0),     // 12: *page1 = 1
		vArenaAlloc(vtArenaFD, 1), // 13-19
		vMov64Reg(R7, R0),         // 20: page2
		vMov64Imm(R0, 2),
		vJmpImmL(JEq, R7, 0, "out"),
		vCast(R1, R7, CastKernImm),
		vMov32Imm(R2, 2),
		vStx(Word, R1, R2, 0),     // 25: *page2 = 2
		vArenaAlloc(vtArenaFD, 1), // 26-32: no_page
		vMov64Reg(R1, R0),
		vMov64Imm(R0, 3),
		vJmpImmL(JNE, R1, 0, "out"),
		vCast(R1, R6, CastKernImm),
		vLdx(Word, R2, R1, 0), // 37
		vMov64Imm(R0, 4),
		vJmpImmL(JNE, R2, 1, "out"),
		vCast(R1, R7, CastKernImm),
		vLdx(Word, R2, R1, 0), // 41
		vMov64Imm(R0, 5),
		vJmpImmL(JNE, R2, 2, "out"),
		vArenaFree(vtArenaFD, R7, 1), // 44-48
		vCast(R1, R6, CastKernImm),
		vLdx(Word, R2, R1, 0), // 50
		vMov64Imm(R0, 6),
		vJmpImmL(JNE, R2, 1, "out"),
		vCast(R1, R7, CastKernImm),
		vLdx(Word, R2, R1, 0), // 54: use after free reads 0
		vMov64Imm(R0, 7),
		vJmpImmL(JNE, R2, 0, "out"),
		vArenaAlloc(vtArenaFD, 1), // 57-63: page3
		vMov64Reg(R8, R0),
		vMov64Imm(R0, 8),
		vJmpImmL(JEq, R8, 0, "out"),
		vCast(R1, R8, CastKernImm),
		vMov32Imm(R2, 3),
		vStx(Word, R1, R2, 0), // 69
		vMov64Imm(R0, 9),
		vJmpRegL(JNE, R7, R8, "out"),
		vMov64Imm(R0, 0),
		vLabel("out"),
		vExit(),
	)
}

// vtBasicAlloc2 is basic_alloc2: pointer arithmetic in the user address
// space (page1 ± PAGE_SIZE) before each cast, byte accesses.
func vtBasicAlloc2() []Insn {
	return vProgL(
		vArenaAlloc(vtArenaFD, 2),
		vMov64Reg(R6, R0),
		vMov64Imm(R0, 1),
		vJmpImmL(JEq, R6, 0, "out"),
		vMov64Reg(R7, R6), vALU64Imm(Add, R7, 4096), // page2
		vMov64Reg(R8, R6), vALU64Imm(Add, R8, 8192), // page3
		vMov64Reg(R9, R6), vALU64Imm(Add, R9, -4096), // page4
		vCast(R1, R6, CastKernImm), vSt(Byte, R1, 0, 1),
		vCast(R1, R7, CastKernImm), vSt(Byte, R1, 0, 2),
		vCast(R1, R8, CastKernImm), vSt(Byte, R1, 0, 3),
		vCast(R1, R9, CastKernImm), vSt(Byte, R1, 0, 4),
		vCast(R1, R6, CastKernImm), vLdx(Byte, R2, R1, 0), vMov64Imm(R0, 1), vJmpImmL(JNE, R2, 1, "out"),
		vCast(R1, R8, CastKernImm), vLdx(Byte, R2, R1, 0), vMov64Imm(R0, 3), vJmpImmL(JNE, R2, 0, "out"),
		vArenaFree(vtArenaFD, R6, 2),
		vCast(R1, R7, CastKernImm), vLdx(Byte, R2, R1, 0), vMov64Imm(R0, 6), vJmpImmL(JNE, R2, 0, "out"),
		vMov64Imm(R0, 0),
		vLabel("out"),
		vExit(),
	)
}

func TestVerifierArenaPrograms(t *testing.T) {
	t.Run("basic_alloc1", func(t *testing.T) {
		prog := vtBasicAlloc1()
		out, err := Verify(prog, vtEnv())
		require.NoError(t, err)
		require.Equal(t, len(prog), len(out.Insns), "rewrites keep instruction indices")
		require.Equal(t, []int{12, 25, 37, 41, 50, 54, 69}, out.ProbeInsns)
		for _, i := range out.ProbeInsns {
			require.Equal(t, ProbeMem32Mode, out.Insns[i].Code.Mode(), "insn %d", i)
			require.Equal(t, prog[i].Code.Class(), out.Insns[i].Code.Class())
			require.Equal(t, prog[i].Code.Size(), out.Insns[i].Code.Size())
		}
		for i, ins := range prog {
			if ins.IsCastKern() {
				require.Equal(t, Insn{Code: ALUOpcode(ALUClass, Mov, RegSource), Dst: ins.Dst, Src: ins.Src}, out.Insns[i],
					"cast_kern at %d becomes w%d = w%d", i, ins.Dst, ins.Src)
			}
			if isKfuncCall(ins) {
				require.Equal(t, ins, out.Insns[i], "kfunc calls stay")
			}
			if ins.IsLdImm64() {
				require.Equal(t, uint64(vtArenaAddr), out.Insns[i].Imm64(out.Insns[i+1]))
				require.Equal(t, PseudoNone, out.Insns[i].Src)
			}
		}
		require.Equal(t, "arena", out.Arena.Name)
	})
	t.Run("basic_alloc2", func(t *testing.T) {
		out, err := Verify(vtBasicAlloc2(), vtEnv())
		require.NoError(t, err)
		require.Len(t, out.ProbeInsns, 7)
	})
}

// vtArenaPtr leaves an arena pointer (cast_kern of a fresh allocation) in r1
// and a 0 in r0; the caller appends its accesses and the exit.
func vtArenaPtr() []Insn {
	return vProg(vArenaAlloc(vtArenaFD, 1), vMov64Reg(R6, R0), vCast(R1, R6, CastKernImm), vMov64Imm(R0, 0))
}

// vtArenaAt is the index of the first instruction after vtArenaPtr.
const vtArenaAt = 10

func TestVerifierArenaRules(t *testing.T) {
	exit := vExit()
	probe := func(at int, mode Mode) func(t *testing.T, out *Verified) {
		return func(t *testing.T, out *Verified) {
			require.Equal(t, mode, out.Insns[at].Code.Mode(), "%v", out.Insns[at])
		}
	}
	runVerifierCases(t, []vtCase{
		{name: "load becomes PROBE_MEM32", prog: vProg(vtArenaPtr(), vLdx(DWord, R0, R1, 8), exit),
			check: func(t *testing.T, out *Verified) {
				require.Equal(t, Insn{Code: MemOpcode(LdXClass, ProbeMem32Mode, DWord), Dst: R0, Src: R1, Off: 8}, out.Insns[vtArenaAt])
				require.Equal(t, []int{vtArenaAt}, out.ProbeInsns)
			}},
		{name: "store at off -32768", prog: vProg(vtArenaPtr(), vSt(DWord, R1, -32768, 1), exit),
			check: func(t *testing.T, out *Verified) {
				require.Equal(t, Insn{Code: MemOpcode(StClass, ProbeMem32Mode, DWord), Dst: R1, Off: -32768, Imm: 1}, out.Insns[vtArenaAt])
			}},
		{name: "store at off +32767", prog: vProg(vtArenaPtr(), vStx(Byte, R1, R6, 32767), exit),
			check: func(t *testing.T, out *Verified) {
				require.Equal(t, Insn{Code: MemOpcode(StXClass, ProbeMem32Mode, Byte), Dst: R1, Src: R6, Off: 32767}, out.Insns[vtArenaAt])
			}},
		{name: "unaligned arena access", prog: vProg(vtArenaPtr(), vLdx(DWord, R0, R1, 3), exit),
			check: probe(vtArenaAt, ProbeMem32Mode)},
		{name: "arena load gives a scalar", prog: vProg(vtArenaPtr(), vLdx(DWord, R2, R1, 0), vLdx(DWord, R0, R2, 0), exit),
			errno: errno.EACCES, insn: vtArenaAt + 1, msg: "R2 invalid mem access 'scalar'"},
		{name: "pointers may be stored in the arena", prog: vProg(vtArenaPtr(), vStx(DWord, R1, R10, 0), exit),
			check: probe(vtArenaAt, ProbeMem32Mode)},
		{name: "atomic add becomes PROBE_ATOMIC", prog: vProg(vtArenaPtr(), vMov64Imm(R2, 1), vAtomic(DWord, AtomicAdd, R1, R2, 0), exit),
			check: func(t *testing.T, out *Verified) {
				require.Equal(t, Opcode(0xfb), out.Insns[vtArenaAt+1].Code)
			}},
		{name: "atomic fetch add", prog: vProg(vtArenaPtr(), vMov64Imm(R2, 1), vAtomic(Word, AtomicAdd|AtomicFetch, R1, R2, 0), exit),
			check: probe(vtArenaAt+1, ProbeAtomicMode)},
		{name: "atomic xchg", prog: vProg(vtArenaPtr(), vMov64Imm(R2, 1), vAtomic(DWord, AtomicXchg, R1, R2, 0), exit),
			check: probe(vtArenaAt+1, ProbeAtomicMode)},
		{name: "atomic cmpxchg", prog: vProg(vtArenaPtr(), vMov64Imm(R2, 1), vAtomic(DWord, AtomicCmpXchg, R1, R2, 0), exit),
			check: probe(vtArenaAt+1, ProbeAtomicMode)},
		{name: "atomic and without fetch", prog: vProg(vtArenaPtr(), vMov64Imm(R2, 1), vAtomic(DWord, AtomicAnd, R1, R2, 0), exit),
			check: probe(vtArenaAt+1, ProbeAtomicMode)},
		{name: "atomic fetch and refused", prog: vProg(vtArenaPtr(), vMov64Imm(R2, 1), vAtomic(DWord, AtomicAnd|AtomicFetch, R1, R2, 0), exit),
			errno: errno.EACCES, insn: vtArenaAt + 1, msg: "BPF_ATOMIC stores into R1 arena is not allowed"},
		{name: "atomic fetch or refused", prog: vProg(vtArenaPtr(), vMov64Imm(R2, 1), vAtomic(Word, AtomicOr|AtomicFetch, R1, R2, 0), exit),
			errno: errno.EACCES, insn: vtArenaAt + 1, msg: "BPF_ATOMIC stores into R1 arena is not allowed"},
		{name: "atomic fetch xor refused", prog: vProg(vtArenaPtr(), vMov64Imm(R2, 1), vAtomic(DWord, AtomicXor|AtomicFetch, R1, R2, 0), exit),
			errno: errno.EACCES, insn: vtArenaAt + 1, msg: "BPF_ATOMIC stores into R1 arena is not allowed"},
		{name: "load-acquire", prog: vProg(vtArenaPtr(), vAtomic(DWord, AtomicLoadAcq, R2, R1, 0), vMov64Reg(R0, R2), exit),
			check: probe(vtArenaAt, ProbeAtomicMode)},
		{name: "atomics on the stack stay", prog: vProg(vSt(DWord, R10, -8, 0), vMov64Imm(R2, 1), vAtomic(DWord, AtomicAnd|AtomicFetch, R10, R2, -8),
			vMov64Imm(R0, 0), exit),
			check: probe(2, AtomicMode)},
		{name: "atomic on ctx refused", prog: vProg(vMov64Imm(R2, 1), vAtomic(DWord, AtomicAdd, R1, R2, 0), vMov64Imm(R0, 0), exit),
			errno: errno.EACCES, insn: 1, msg: "BPF_ATOMIC stores into R1 ctx is not allowed"},
		{name: "sign-extending arena load", prog: vProg(vtArenaPtr(), vLdxSX(Word, R0, R1, 0), exit),
			errno: errno.EOPNOTSUPP, insn: vtArenaAt, msg: "sign extending loads from arena are not supported yet"},
		{name: "64-bit arithmetic becomes 32-bit", prog: vProg(vtArenaPtr(), vALU64Imm(Add, R1, 8), vALU64Reg(Sub, R1, R6), vSt(DWord, R1, 0, 1), exit),
			check: func(t *testing.T, out *Verified) {
				require.Equal(t, ALUOpcode(ALUClass, Add, ImmSource), out.Insns[vtArenaAt].Code)
				require.Equal(t, ALUOpcode(ALUClass, Sub, RegSource), out.Insns[vtArenaAt+1].Code)
				require.Equal(t, ProbeMem32Mode, out.Insns[vtArenaAt+2].Code.Mode())
			}},
		{name: "scalar plus arena pointer", prog: vProg(vtArenaPtr(), vMov64Imm(R2, 8), vALU64Reg(Add, R2, R1), exit),
			errno: errno.EACCES, insn: vtArenaAt + 1, msg: "R2 pointer arithmetic on arena prohibited"},
		{name: "cast_user stays", prog: vProg(vtArenaPtr(), vCast(R2, R1, CastUserImm), vMov64Reg(R0, R2), exit),
			check: func(t *testing.T, out *Verified) {
				require.True(t, out.Insns[vtArenaAt].IsCastUser())
			}},
		{name: "cast_user with BPF_F_NO_USER_CONV", prog: vProg(vtArenaPtr(), vCast(R2, R1, CastUserImm), vMov64Reg(R0, R2), exit),
			env: func(e *VerifyEnv) { e.Maps[vtArenaFD].Flags |= MapFlagNoUserConv },
			check: func(t *testing.T, out *Verified) {
				require.Equal(t, Insn{Code: ALUOpcode(ALUClass, Mov, RegSource), Dst: R2, Src: R1}, out.Insns[vtArenaAt])
			}},
		{name: "cast_user gives a scalar", prog: vProg(vtArenaPtr(), vCast(R2, R1, CastUserImm), vLdx(DWord, R0, R2, 0), exit),
			errno: errno.EACCES, insn: vtArenaAt + 1, msg: "R2 invalid mem access 'scalar'"},
		{name: "cast of a pointer", prog: vProg(vtArenaPtr(), vCast(R2, R10, CastKernImm), vLdx(DWord, R0, R2, 0), exit),
			check: probe(vtArenaAt+1, ProbeMem32Mode)},
		{name: "cast imm 2", prog: vProg(vtArenaPtr(), vCast(R2, R1, 2), exit),
			errno: errno.EINVAL, insn: vtArenaAt, msg: "addr_space_cast insn can only convert between address space 1 and 0"},
		{name: "cast imm 0x10001", prog: vProg(vtArenaPtr(), vCast(R2, R1, 0x10001), exit),
			errno: errno.EINVAL, insn: vtArenaAt, msg: "addr_space_cast insn can only convert between address space 1 and 0"},
		{name: "cast without an arena", prog: vProg(vMov64Imm(R2, 0), vCast(R1, R2, CastKernImm), vMov64Imm(R0, 0), exit),
			errno: errno.EINVAL, insn: 1, msg: "addr_space_cast insn can only be used in a program that has an associated arena"},
		{name: "32-bit cast", prog: vProg(vtArenaPtr(), Insn{Code: ALUOpcode(ALUClass, Mov, RegSource), Dst: R2, Src: R1, Off: 1, Imm: 1}, exit),
			errno: errno.EINVAL, insn: vtArenaAt, msg: "BPF_MOV uses reserved fields"},
		{name: "same insn with arena and stack pointers",
			prog: vProgL(vtArenaPtr(), vSt(DWord, R10, -8, 0),
				vJmpImmL(JEq, R6, 0, "load"), vMov64Reg(R1, R10), vALU64Imm(Add, R1, -8),
				vLabel("load"), vLdx(DWord, R0, R1, 0), exit),
			errno: errno.EINVAL, insn: vtArenaAt + 4, msg: "same insn cannot be used with different pointers"},
		{name: "same insn with map value and stack pointers",
			prog: vProgL(vMov64Reg(R6, R1), vtLookup(vtHashFD), vJmpImmL(JEq, R0, 0, "out"), vSt(DWord, R10, -8, 0), vLdx(Word, R2, R6, 0),
				vJmpImmL(JEq, R2, 0, "load"), vMov64Reg(R0, R10), vALU64Imm(Add, R0, -8),
				vLabel("load"), vLdx(DWord, R0, R0, 0), vLabel("out"), exit)},
		{name: "same insn with ctx and stack pointers",
			prog: vProgL(vSt(DWord, R10, -8, 0), vLdx(Word, R2, R1, 0),
				vJmpImmL(JEq, R2, 0, "load"), vMov64Reg(R1, R10), vALU64Imm(Add, R1, -8),
				vLabel("load"), vLdx(DWord, R0, R1, 0), exit),
			errno: errno.EINVAL, insn: 5, msg: "same insn cannot be used with different pointers"},
		{name: "arena global", prog: vProg(vLdMapValue(R1, vtArenaFD, 16), vCast(R1, R1, CastKernImm), vLdx(DWord, R0, R1, 0), exit),
			check: func(t *testing.T, out *Verified) {
				require.Equal(t, uint64(vtUserVM+16), out.Insns[0].Imm64(out.Insns[1]))
				require.Equal(t, ProbeMem32Mode, out.Insns[3].Code.Mode())
			}},
		{name: "arena global past the arena", prog: vProg(vLdMapValue(R1, vtArenaFD, 2*4096+1), vMov64Imm(R0, 0), exit),
			errno: errno.ERANGE, insn: 0, msg: "invalid access to map value pointer, value_size=0 off=8193"},
		{name: "two arenas", prog: vProg(vLdMapFD(R1, vtArenaFD), vLdMapFD(R2, vtArena2FD), vMov64Imm(R0, 0), exit),
			errno: errno.EBUSY, insn: 2, msg: "Only one arena per program"},
		{name: "arena without CAP_PERFMON", prog: vProg(vLdMapFD(R1, vtArenaFD), vMov64Imm(R0, 0), exit),
			env:   func(e *VerifyEnv) { e.Caps = CapBPF },
			errno: errno.EPERM, insn: 0, msg: "CAP_BPF and CAP_PERFMON are required to use arena"},
		{name: "arena without JIT", prog: vProg(vLdMapFD(R1, vtArenaFD), vMov64Imm(R0, 0), exit),
			env:   func(e *VerifyEnv) { e.NoJIT = true },
			errno: errno.EOPNOTSUPP, insn: 0, msg: "JIT is required to use arena"},
		{name: "arena without user address", prog: vProg(vLdMapFD(R1, vtArenaFD), vMov64Imm(R0, 0), exit),
			env:   func(e *VerifyEnv) { e.Maps[vtArenaFD].ValueAddr = 0 },
			errno: errno.EINVAL, insn: 0, msg: "arena's user address must be set via map_extra or mmap()"},
	})
}

func TestVerifierKfuncs(t *testing.T) {
	ret0 := []Insn{vMov64Imm(R0, 0), vExit()}
	runVerifierCases(t, []vtCase{
		{name: "alloc and free", prog: vProg(vArenaAlloc(vtArenaFD, 1), vMov64Reg(R6, R0), vArenaFree(vtArenaFD, R6, 1), ret0)},
		{name: "unknown kfunc", prog: vProg(vKfuncCall(77), ret0),
			errno: errno.EINVAL, insn: 0, msg: "kernel btf_id 77 is not a function"},
		{name: "kfunc without CAP_BPF", prog: vProg(vKfuncCall(vtKfAlloc), ret0),
			env:   func(e *VerifyEnv) { e.Caps = 0 },
			errno: errno.EPERM, insn: 0, msg: "loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN"},
		{name: "sleepable kfunc", prog: vProg(vArenaAlloc(vtArenaFD, 1), ret0),
			env:   func(e *VerifyEnv) { e.Sleepable = false },
			errno: errno.EACCES, insn: 6, msg: "program must be sleepable to call sleepable kfunc bpf_arena_alloc_pages"},
		{name: "NULL map", prog: vProg(vMov64Imm(R1, 0), vMov64Imm(R2, 0), vMov64Imm(R3, 1), vMov64Imm(R4, 0), vMov64Imm(R5, 0),
			vKfuncCall(vtKfAlloc), ret0),
			errno: errno.EACCES, insn: 5, msg: "Possibly NULL pointer passed to trusted arg0"},
		{name: "scalar map", prog: vProg(vMov64Imm(R1, 8), vMov64Imm(R2, 0), vMov64Imm(R3, 1), vMov64Imm(R4, 0), vMov64Imm(R5, 0),
			vKfuncCall(vtKfAlloc), ret0),
			errno: errno.EINVAL, insn: 5, msg: "pointer in R1 isn't map pointer"},
		{name: "stack as map", prog: vProg(vMov64Reg(R1, R10), vMov64Imm(R2, 0), vMov64Imm(R3, 1), vMov64Imm(R4, 0), vMov64Imm(R5, 0),
			vKfuncCall(vtKfAlloc), ret0),
			errno: errno.EINVAL, insn: 5, msg: "pointer in R1 isn't map pointer"},
		{name: "page count is a pointer", prog: vProg(vLdMapFD(R1, vtArenaFD), vMov64Imm(R2, 0), vMov64Reg(R3, R10), vMov64Imm(R4, 0), vMov64Imm(R5, 0),
			vKfuncCall(vtKfAlloc), ret0),
			errno: errno.EINVAL, insn: 6, msg: "R3 is not a scalar"},
		{name: "hint ignored", prog: vProg(vLdMapFD(R1, vtArenaFD), vMov64Reg(R2, R10), vMov64Imm(R3, 1), vMov64Imm(R4, 0), vMov64Imm(R5, 0),
			vKfuncCall(vtKfAlloc), ret0)},
		{name: "result is a scalar", prog: vProg(vArenaAlloc(vtArenaFD, 1), vLdx(DWord, R0, R0, 0), vExit()),
			errno: errno.EACCES, insn: 7, msg: "R0 invalid mem access 'scalar'"},
		{name: "free returns nothing", prog: vProg(vArenaFree(vtArenaFD, R10, 1), vExit()),
			errno: errno.EACCES, insn: 5, msg: "R0 !read_ok"},
	})
}

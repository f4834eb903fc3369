package bpfjit

import (
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/stretchr/testify/require"
)

func TestVerifierSubprograms(t *testing.T) {
	runVerifierCases(t, []vtCase{
		{name: "call and return",
			prog: vProgL(vSt(DWord, R10, -8, 0), vMov64Imm(R1, 2), vCallL("sub"), vALU64Imm(Add, R0, 1), vExit(),
				vLabel("sub"), vSt(DWord, R10, -24, 1), vMov64Reg(R0, R1), vALU64Imm(Mul, R0, 21), vExit()),
			check: func(t *testing.T, out *Verified) {
				require.Equal(t, []Subprog{{Start: 0, StackDepth: 8, StackSize: 16}, {Start: 5, StackDepth: 24, StackSize: 32}}, out.Subprogs)
			}},
		{name: "callee sees only r1-r5",
			prog: vProgL(vMov64Imm(R6, 1), vCallL("sub"), vExit(),
				vLabel("sub"), vMov64Reg(R0, R6), vExit()),
			errno: errno.EACCES, insn: 3, msg: "R6 !read_ok"},
		{name: "caller's r6-r9 survive",
			prog: vProgL(vMov64Imm(R6, 1), vCallL("sub"), vMov64Reg(R0, R6), vExit(),
				vLabel("sub"), vMov64Imm(R6, 5), vMov64Imm(R0, 0), vExit())},
		{name: "r1-r5 are gone after the call",
			prog: vProgL(vMov64Imm(R1, 1), vCallL("sub"), vMov64Reg(R0, R1), vExit(),
				vLabel("sub"), vMov64Imm(R0, 0), vExit()),
			errno: errno.EACCES, insn: 2, msg: "R1 !read_ok"},
		{name: "callee writes the caller's stack",
			prog: vProgL(vSt(DWord, R10, -8, 0), vMov64Reg(R1, R10), vALU64Imm(Add, R1, -8), vCallL("sub"),
				vLdx(DWord, R0, R10, -8), vExit(),
				vLabel("sub"), vSt(DWord, R1, 0, 7), vMov64Imm(R0, 0), vExit())},
		{name: "returning a stack pointer",
			prog: vProgL(vCallL("sub"), vExit(),
				vLabel("sub"), vMov64Reg(R0, R10), vExit()),
			errno: errno.EINVAL, insn: 3, msg: "cannot return stack pointer to the caller"},
		{name: "spilling a stack pointer into the caller's frame",
			prog: vProgL(vSt(DWord, R10, -8, 0), vMov64Reg(R1, R10), vALU64Imm(Add, R1, -8), vCallL("sub"), vExit(),
				vLabel("sub"), vSt(DWord, R10, -8, 0), vStx(DWord, R1, R10, 0), vMov64Imm(R0, 0), vExit()),
			errno: errno.EINVAL, insn: 6, msg: "cannot spill pointers to stack into stack frame of the caller"},
		{name: "unbounded recursion",
			prog: vProgL(vCallL("sub"), vExit(),
				vLabel("sub"), vCallL("sub"), vExit()),
			errno: errno.E2BIG, insn: 2, msg: "the call stack of 9 frames is too deep"},
		{name: "combined stack too large",
			prog: vProgL(vSt(DWord, R10, -256, 0), vCallL("sub"), vExit(),
				vLabel("sub"), vSt(DWord, R10, -304, 0), vMov64Imm(R0, 0), vExit()),
			errno: errno.EACCES, insn: -1, msg: "combined stack size of 2 calls is 560. Too large"},
		{name: "call to invalid destination",
			prog:  vProg(vCallLocal(5), vExit()),
			errno: errno.EINVAL, insn: 0, msg: "call to invalid destination"},
		{name: "jump into another subprogram",
			prog: vProgL(vMov64Imm(R0, 0), vJmpImmL(JEq, R0, 0, "sub"), vCallL("sub"), vExit(),
				vLabel("sub"), vMov64Imm(R0, 0), vExit()),
			errno: errno.EINVAL, insn: 1, msg: "jump out of range from insn 1 to 4"},
		{name: "local call without CAP_BPF",
			prog: vProgL(vCallL("sub"), vExit(),
				vLabel("sub"), vMov64Imm(R0, 0), vExit()),
			env:   func(e *VerifyEnv) { e.Caps = 0 },
			errno: errno.EPERM, insn: 0, msg: "loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN"},
		{name: "return value flows back",
			prog: vProgL(vtLookup(vtHashFD), vJmpImmL(JEq, R0, 0, "out"), vMov64Imm(R1, 3), vCallL("sub"), vALU64Imm(And, R0, 7),
				vMov64Reg(R6, R0), vtLookup(vtHashFD), vJmpImmL(JEq, R0, 0, "out"), vALU64Reg(Add, R0, R6), vLdx(Byte, R0, R0, 0),
				vLabel("out"), vMov64Imm(R0, 0), vExit(),
				vLabel("sub"), vMov64Reg(R0, R1), vExit())},
	})
}

func TestVerifierPruning(t *testing.T) {
	env := vtEnv()
	env.Helpers = StandardHelpers()
	// verifier_search_pruning.c "allocated_stack": the second path joins the
	// first at insn 9, where the spilled values are no longer read.
	prog := vProgL(
		vMov64Reg(R6, R1), vCall(FuncGetPrandomU32), vMov64Reg(R7, R0),
		vJmpImmL(JEq, R0, 0, "l0"),
		vMov64Imm(R0, 0), vStx(DWord, R10, R6, -8), vLdx(DWord, R6, R10, -8),
		vStx(Byte, R10, R7, -9), vLdx(Byte, R7, R10, -9),
		vLabel("l0"), vJmpImm(JNE, R0, 0, 0), vJmpImm(JNE, R0, 0, 0), vJmpImm(JNE, R0, 0, 0), vJmpImm(JNE, R0, 0, 0),
		vExit())
	out, err := Verify(prog, env)
	require.NoError(t, err)
	require.Equal(t, 15, out.InsnProcessed, "processed as many insns as the kernel's selftest expects")

	// Two paths that differ only in a value nobody reads afterwards meet
	// in one state.
	prog = vProgL(vLdx(Word, R2, R1, 0), vMov64Imm(R3, 1),
		vJmpImmL(JEq, R2, 0, "join"), vMov64Imm(R3, 2),
		vLabel("join"), vMov64Imm(R0, 0),
		vMov64Imm(R4, 0), vMov64Imm(R4, 1), vMov64Imm(R4, 2), vMov64Imm(R4, 3), vExit())
	out, err = Verify(prog, env)
	require.NoError(t, err)
	require.Equal(t, 1, out.TotalStates)

	// A may_goto loop whose counter nothing relies on converges by
	// widening instead of running through the whole budget.
	prog = vProgL(vMov64Imm(R0, 0), vMov64Imm(R6, 0),
		vLabel("loop"), vMayGotoL("done"),
		vALU64Imm(Add, R6, 1), vLdx(Word, R2, R1, 0), vJmpRegL(JGE, R6, R2, "done"), vJaL("loop"),
		vLabel("done"), vExit())
	out, err = Verify(prog, env)
	require.NoError(t, err)
	require.Less(t, out.InsnProcessed, 100)
}

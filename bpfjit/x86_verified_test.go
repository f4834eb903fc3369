package bpfjit

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/arch/x86/x86asm"
)

// x86VerifiedArenaProg is an __arena global program the way clang emits
// it: the global's user address from a map-value load, cast_kern, accesses,
// cast_user, and a subprogram that uses the stack.
func x86VerifiedArenaProg(t *testing.T, flags MapFlags) (*Verified, []Insn) {
	const fd, userVM = 3, 0x00007f1200000000
	g := LdImm64Insns(R1, PseudoMapValue, uint64(16)<<32|fd) // imm = fd, next imm = offset 16
	prog := []Insn{
		g[0], g[1],
		x86CastKern(R1, R1),                                 // 2
		x86Ldx(MemMode, DWord, R0, R1, 8),                   // 3: arena load
		x86St(MemMode, Word, R1, 16, 5),                     // 4: arena store
		x86Atomic(AtomicMode, DWord, R1, R0, 24, AtomicAdd), // 5: arena atomic
		x86CastUser(R2, R1),                                 // 6
		x86AluX(ALU64Class, Add, R0, R2),                    // 7
		x86Call(CallLocal, 1),                               // 8: call 10
		x86Exit,                                             // 9
		x86St(MemMode, DWord, R10, -24, 7),                  // 10: subprogram
		x86Ldx(MemMode, DWord, R0, R10, -24),                // 11
		x86Exit,                                             // 12
	}
	env := &VerifyEnv{
		Maps: map[int32]*MapInfo{fd: {Name: "arena", Type: MapTypeArena, MaxEntries: 16,
			Flags: MapFlagMmapable | flags, Addr: 0xffff888100001000, ValueAddr: userVM}},
		Ctx:  CtxInfo{Size: 64},
		Caps: AllCaps,
	}
	v, err := Verify(prog, env)
	require.NoError(t, err)
	return v, prog
}

// TestX86FromVerifier feeds the verifier's output and metadata to the JIT:
// the accesses it rewrote get exception-table entries, the subprogram its
// stack, cast_user its sequence (or a move under BPF_F_NO_USER_CONV).
func TestX86FromVerifier(t *testing.T) {
	v, _ := x86VerifiedArenaProg(t, 0)
	require.Equal(t, []int{3, 4, 5}, v.ProbeInsns)
	o := X86OptionsFor(v, x86TestKern)
	require.Equal(t, []int{10}, o.SubprogStarts)
	require.Equal(t, []int{0, 24}, o.StackDepths)
	require.Equal(t, uint64(0x00007f1200000000), o.UserVMStart)
	p, err := JITX86(v.Insns, o)
	require.NoError(t, err)
	require.Len(t, p.Funcs, 2)
	var slots []int
	for _, e := range p.Funcs[0].Extable {
		slots = append(slots, e.Slot)
	}
	require.Equal(t, v.ProbeInsns, slots, "one exception-table entry per probe access")
	require.Equal(t, 24, p.Funcs[1].StackDepth)
	ds := x86InsnCode(t, p, 6)
	require.Equal(t, x86asm.CMOVE, ds[len(ds)-1].Inst.Op, "cast_user ends in cmove")
	_, err = x86CheckImage(p, nil)
	require.NoError(t, err)

	v, _ = x86VerifiedArenaProg(t, MapFlagNoUserConv)
	p, err = JITX86(v.Insns, X86OptionsFor(v, x86TestKern))
	require.NoError(t, err)
	ds = x86InsnCode(t, p, 6)
	require.Len(t, ds, 1)
	require.Equal(t, "mov esi, edi", x86asm.IntelSyntax(ds[0].Inst, 0, nil), "NO_USER_CONV: cast_user is a 32-bit move")
}

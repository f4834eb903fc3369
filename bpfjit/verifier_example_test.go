package bpfjit

import (
	"errors"
	"fmt"

	"github.com/arenasim/arenasim/internal/errno"
)

// ExampleVerify verifies a program that allocates an arena page and stores
// to it: the store through the cast pointer comes back as a PROBE_MEM32
// access and the cast as a 32-bit move.
func ExampleVerify() {
	arena := &MapInfo{Name: "arena", Type: MapTypeArena, MaxEntries: 1, Flags: MapFlagMmapable,
		Addr: 0xffff888100001000, ValueAddr: 0x100000000000}
	env := &VerifyEnv{
		Maps:      map[int32]*MapInfo{3: arena},
		Kfuncs:    ArenaKfuncs(100, 101),
		Ctx:       SyscallCtx(),
		Caps:      AllCaps,
		Sleepable: true,
	}
	a := Assembler{Syntax: SyntaxLLVM, Kfuncs: map[string]int32{"bpf_arena_alloc_pages": 100}, Maps: map[string]int32{"arena": 3}}
	prog, err := a.Assemble("alloc.s", []byte(`
		r1 = arena ll
		r2 = 0
		r3 = 1
		r4 = -1
		r5 = 0
		call bpf_arena_alloc_pages
		if r0 == 0 goto out
		r1 = addr_space_cast(r0, 0, 1)
		*(u64 *)(r1 + 8) = 42
	out:
		r0 = 0
		exit`))
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := Verify(prog, env)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, i := range []int{0, 8} {
		fmt.Printf("%d: %s\n", i, FormatInsn(out.Insns, i, SyntaxKernel))
	}
	fmt.Printf("9: %v off=%d imm=%d\n", out.Insns[9].Code, out.Insns[9].Off, out.Insns[9].Imm)
	fmt.Println("exception table entries for", out.ProbeInsns)
	// Output:
	// 0: (18) r1 = 0xffff888100001000
	// 8: (bc) w1 = w0
	// 9: ST|PROBE_MEM32|DW off=8 imm=42
	// exception table entries for [9]
}

// ExampleVerify_rejected shows a rejection: the kernel's message, the
// instruction and the errno.
func ExampleVerify_rejected() {
	prog := []Insn{
		{Code: MemOpcode(LdXClass, MemMode, DWord), Dst: R0, Src: R10, Off: -8},
		{Code: JumpOpcode(JumpClass, Exit, ImmSource)},
	}
	_, err := Verify(prog, &VerifyEnv{Caps: CapBPF})
	var ve *VerifierError
	if errors.As(err, &ve) {
		fmt.Println(ve.Insn, ve.Msg, errors.Is(err, errno.EACCES))
	}
	// Output:
	// 0 invalid read from stack R10 off=-8 size=8 true
}

// ExampleVerify_log prints the verifier log of a short program.
func ExampleVerify_log() {
	prog := []Insn{
		{Code: MemOpcode(LdXClass, MemMode, Word), Dst: R2, Src: R1, Off: 0},
		{Code: ALUOpcode(ALU64Class, And, ImmSource), Dst: R2, Imm: 7},
		{Code: ALUOpcode(ALU64Class, Mov, RegSource), Dst: R0, Src: R2},
		{Code: JumpOpcode(JumpClass, Exit, ImmSource)},
	}
	out, _ := Verify(prog, &VerifyEnv{Ctx: CtxInfo{Size: 8}, Caps: AllCaps, LogLevel: LogLevel1})
	fmt.Print(out.Log)
	// Output:
	// 0: R1=ctx() R10=fp0
	// 0: (61) r2 = *(u32 *)(r1 +0)          ; R1=ctx() R2_w=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))
	// 1: (57) r2 &= 7                       ; R2_w=scalar(smin=smin32=0,smax=umax=smax32=umax32=7,var_off=(0x0; 0x7))
	// 2: (bf) r0 = r2                       ; R0_w=scalar(id=1,smin=smin32=0,smax=umax=smax32=umax32=7,var_off=(0x0; 0x7)) R2_w=scalar(id=1,smin=smin32=0,smax=umax=smax32=umax32=7,var_off=(0x0; 0x7))
	// 3: (95) exit
	// processed 4 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
}

package bpfjit_test

import (
	"fmt"
	"os"

	"github.com/arenasim/arenasim/bpfjit"
)

// An arena load, r0 = *(u64 *)(r1 + 8), after the verifier made it a
// PROBE_MEM32 access: the JIT indexes it by r12, which the prologue loaded
// with kern_vm_start, and gives it an exception-table entry that clears rax
// and skips the 5-byte load if the page is not there.
func ExampleJITX86() {
	prog := []bpfjit.Insn{
		{Code: bpfjit.MemOpcode(bpfjit.LdXClass, bpfjit.ProbeMem32Mode, bpfjit.DWord), Dst: bpfjit.R0, Src: bpfjit.R1, Off: 8},
		{Code: bpfjit.JumpOpcode(bpfjit.JumpClass, bpfjit.Exit, bpfjit.ImmSource)},
	}
	p, err := bpfjit.JITX86(prog, &bpfjit.X86Options{
		Name:        "arena_load",
		KernVMStart: 0xffffc90000008000,
		UserVMStart: 0x7f1200000000,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	p.Dump(os.Stdout, bpfjit.X86DumpOptions{BPF: true, Extable: true})
	// Output:
	// bpf_prog_0740b0dd6d23eeef_arena_load:
	//    0:	nopl	(%rax,%rax)
	//    5:	nopl	(%rax)
	//    8:	pushq	%rbp
	//    9:	movq	%rsp, %rbp
	//    c:	pushq	%r12
	//    e:	movabsq	$-0x36ffffff8000, %r12
	// ; 0: (79) r0 = *(u64 *)(r1 +8)
	//   18:	movq	0x8(%rdi,%r12), %rax
	// ; 1: (95) exit
	//   1d:	popq	%r12
	//   1f:	leave
	//   20:	retq
	// ; exception table at 0xffffffffc000002c:
	// ;   insn 0: +0x18 (0xffffffffc0000020) skip 5, clear rax
}

// A program without an arena in Intel syntax. The symbol carries the
// program's tag: the first 8 bytes of the SHA-1 of its instructions.
func ExampleX86Program_Dump() {
	prog := []bpfjit.Insn{
		{Code: bpfjit.ALUOpcode(bpfjit.ALU64Class, bpfjit.Mov, bpfjit.ImmSource), Dst: bpfjit.R0, Imm: 42},
		{Code: bpfjit.JumpOpcode(bpfjit.JumpClass, bpfjit.Exit, bpfjit.ImmSource)},
	}
	p, err := bpfjit.JITX86(prog, &bpfjit.X86Options{Name: "answer"})
	if err != nil {
		fmt.Println(err)
		return
	}
	p.Dump(os.Stdout, bpfjit.X86DumpOptions{Syntax: bpfjit.X86SyntaxIntel})
	// Output:
	// bpf_prog_f7b20f7af67e4318_answer:
	//    0:	nop dword ptr [rax+rax], eax
	//    5:	nop dword ptr [rax], eax
	//    8:	push rbp
	//    9:	mov rbp, rsp
	//    c:	mov eax, 0x2a
	//   11:	leave
	//   12:	ret
}

// What happens when an arena load faults: ex_handler_bpf finds the entry
// for the faulting address, zeroes the destination and resumes after it.
func ExampleX86ExEntry_Handle() {
	prog := []bpfjit.Insn{
		{Code: bpfjit.MemOpcode(bpfjit.LdXClass, bpfjit.ProbeMem32Mode, bpfjit.Word), Dst: bpfjit.R6, Src: bpfjit.R1},
		{Code: bpfjit.JumpOpcode(bpfjit.JumpClass, bpfjit.Exit, bpfjit.ImmSource)},
	}
	p, _ := bpfjit.JITX86(prog, &bpfjit.X86Options{KernVMStart: 0xffffc90000008000})
	fault := p.Funcs[0].Extable[0].Addr // the #PF happens here
	e, ok := p.SearchExtable(fault)
	regs := bpfjit.X86PtRegs{IP: fault}
	regs.Regs[bpfjit.X86RBX] = 0xdead
	e.Handle(&regs)
	fmt.Println(ok, e)
	at, _ := p.Lookup(fault)
	next, _ := p.Lookup(regs.IP)
	fmt.Printf("rbx=%#x, fault at %v (insn %d), resume at %v (insn %d)\n", regs.Regs[bpfjit.X86RBX], at, at.Slot, next, next.Slot)
	// Output:
	// true insn 0: +0x19 (0xffffffffc0000021) skip 5, clear rbx
	// rbx=0x0, fault at bpf_prog_50d115251c649e80+0x19/0x23 (insn 0), resume at bpf_prog_50d115251c649e80+0x1e/0x23 (insn 1)
}

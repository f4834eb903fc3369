package bpfjit_test

import (
	"fmt"

	"github.com/arenasim/arenasim/bpfjit"
)

// An arena access, as the verifier rewrites it (PROBE_MEM32), goes to
// kern_vm_start + (u32)reg + off in the kernel's address space. The compiled
// engine runs it exactly as the interpreter would: the load from the mapped
// page reads it, the one from an absent page is fixed up to 0 and recorded.
func ExampleCompile() {
	const kernVMStart = 0xffffc90000008000
	kernel := &bpfjit.FlatMemory{}
	page := make([]byte, 4096)
	page[16] = 42
	if err := kernel.Map(kernVMStart, page, false); err != nil { // arena page 0
		panic(err)
	}
	prog, err := bpfjit.Assemble("arena.s", []byte(`
		r1 = 0x7f0000000000 ll      // a user address: only its low 32 bits count
		r2 = *(u64 *)(r1 + 16)      // page 0: mapped
		r3 = *(u64 *)(r1 + 4096)    // page 1: absent
		r0 = r2
		r0 += r3
		exit`), bpfjit.SyntaxLLVM)
	if err != nil {
		panic(err)
	}
	for _, pc := range []int{2, 3} { // what the verifier does to arena accesses
		prog[pc].Code = bpfjit.MemOpcode(bpfjit.LdXClass, bpfjit.ProbeMem32Mode, bpfjit.DWord)
	}
	c := bpfjit.Compile(prog, bpfjit.Config{Kernel: kernel, KernVMStart: kernVMStart, UserVMStart: 0x7f0000000000})
	res, err := c.Run()
	fmt.Println(res.R0, err)
	for _, f := range res.Faults {
		fmt.Println(f)
	}
	// Output:
	// 42 <nil>
	// pc 3: arena READ access at unmapped address 0x7f0000001000 (kernel 0xffffc90000009000, 8 bytes, EFAULT)
}

package bpfjit_test

import (
	"fmt"

	"github.com/arenasim/arenasim/bpfjit"
)

func ExampleFormatInsn() {
	prog := []bpfjit.Insn{
		{Code: 0xbf, Dst: 1, Src: 1, Off: bpfjit.AddrSpaceCast, Imm: bpfjit.CastKernImm},
		{Code: 0x61, Dst: 0, Src: 1, Off: 4},
		{Code: 0x85, Imm: 1},
	}
	for pc := range prog {
		fmt.Println(bpfjit.FormatInsn(prog, pc, bpfjit.SyntaxLLVM))
		fmt.Println(bpfjit.FormatInsn(prog, pc, bpfjit.SyntaxConformance))
		fmt.Println(bpfjit.FormatInsn(prog, pc, bpfjit.SyntaxKernel))
	}
	// Output:
	// r1 = addr_space_cast(r1, 0, 1)
	// .8byte 0x00000001000111bf
	// (bf) r1 = addr_space_cast(r1, 0, 1)
	// w0 = *(u32 *)(r1 + 4)
	// ldxw %r0, [%r1+4]
	// (61) r0 = *(u32 *)(r1 +4)
	// call 1
	// call 1
	// (85) call bpf_map_lookup_elem#1
}

func ExampleDisassemble() {
	prog := []bpfjit.Insn{
		{Code: 0x18, Dst: 1, Imm: 0x55667788}, {Imm: 0x11223344},
		{Code: 0x85, Src: bpfjit.CallLocal, Imm: 1},
		{Code: 0x95},
		{Code: 0xb7, Dst: 0, Imm: 7},
		{Code: 0x95},
	}
	fmt.Print(bpfjit.Disassemble(prog, bpfjit.SyntaxKernel))
	fmt.Print(bpfjit.Disassemble(prog, bpfjit.SyntaxLLVM))
	// Output:
	// 0: (18) r1 = 0x1122334455667788
	// 2: (85) call pc+1
	// 3: (95) exit
	// 4: (b7) r0 = 7
	// 5: (95) exit
	// r1 = 1234605616436508552 ll
	// call L4
	// exit
	// L4:
	// r0 = 7
	// exit
}

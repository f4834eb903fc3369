package bpfjit_test

import (
	"fmt"

	"github.com/arenasim/arenasim/bpfjit"
)

func ExampleAssemble() {
	src := `
		r1 = addr_space_cast(r1, 0, 1)
		w0 = *(u32 *)(r1 + 4)
		if w0 > 7 goto out
		lock *(u64 *)(r1 + 8) += r0
	out:
		exit
	`
	prog, err := bpfjit.Assemble("prog.s", []byte(src), bpfjit.SyntaxLLVM)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(bpfjit.Disassemble(prog, bpfjit.SyntaxKernel))

	_, err = bpfjit.Assemble("bad.s", []byte("r0 = 1\nif r0 > 7 goto +1 2\n"), bpfjit.SyntaxLLVM)
	fmt.Println(err)
	// Output:
	// 0: (bf) r1 = addr_space_cast(r1, 0, 1)
	// 1: (61) r0 = *(u32 *)(r1 +4)
	// 2: (26) if w0 > 0x7 goto pc+1
	// 3: (db) lock *(u64 *)(r1 +8) += r0
	// 4: (95) exit
	// bad.s:2:19: expected end of line, found "2"
}

func ExampleAssemble_conformance() {
	src := "ldxdw %r0, [%r1+8]\nlock fetch xor32 [%r1+4], %r2\njne %r0, 0x1, exit\nmov %r0, 0\nexit\n"
	prog, err := bpfjit.Assemble("t.data", []byte(src), bpfjit.SyntaxConformance)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(bpfjit.Disassemble(prog, bpfjit.SyntaxLLVM))
	// Output:
	// r0 = *(u64 *)(r1 + 8)
	// w2 = atomic_fetch_xor((u32 *)(r1 + 4), w2)
	// if r0 != 1 goto +1
	// r0 = 0
	// exit
}

func ExampleParseConformanceFile() {
	data := []byte(`# Copyright (c) Big Switch Networks, Inc
-- asm
mov %r0, 1
add %r0, %r2  # r2 holds the memory length
exit
-- mem
00 11 22 33
-- result
0x5
`)
	t, err := bpfjit.ParseConformanceFile("len.data", data)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d slots, mem % x, expect r0 = %#x\n", len(t.Program), t.Mem, t.Result)
	// Output:
	// 3 slots, mem 00 11 22 33, expect r0 = 0x5
}

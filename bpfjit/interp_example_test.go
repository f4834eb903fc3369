package bpfjit_test

import (
	"fmt"

	"github.com/arenasim/arenasim/bpfjit"
)

// A program runs on the interpreter with r1 pointing at a buffer in a
// FlatMemory, and calls a helper the caller supplies.
func ExampleNewInterpreter() {
	prog, err := bpfjit.Assemble("sum.s", []byte(`
		r2 = *(u32 *)(r1 + 0)
		r3 = *(u32 *)(r1 + 4)
		r2 += r3
		*(u64 *)(r10 - 8) = r2
		r1 = r10
		r1 += -8
		call 7          // the caller's helper 7: read 8 bytes at r1, double them
		exit`), bpfjit.SyntaxLLVM)
	if err != nil {
		panic(err)
	}
	mem := &bpfjit.FlatMemory{}
	buf := []byte{20, 0, 0, 0, 1, 0, 0, 0}
	if err := mem.Map(0xffff888000001000, buf, false); err != nil {
		panic(err)
	}
	double := func(c *bpfjit.HelperCall) (uint64, error) {
		v, err := c.Load(c.Args[0], 8) // the program's stack is readable from helpers
		return 2 * v, err
	}
	it := bpfjit.NewInterpreter(prog, bpfjit.Config{
		Memory:  mem,
		Helpers: map[int32]bpfjit.HelperFunc{7: double},
	})
	res, err := it.Run(0xffff888000001000, uint64(len(buf)))
	fmt.Println(res.R0, res.Insns, err)

	// A load outside every region stops the run with an *Error.
	_, err = bpfjit.NewInterpreter(prog, bpfjit.Config{Memory: mem}).Run(0x1000)
	fmt.Println(bpfjit.OutcomeOf(err), err)
	// Output:
	// 42 8 <nil>
	// invalid memory access pc 0: invalid memory access: load of 4 bytes at 0x1000: EFAULT (Bad address)
}

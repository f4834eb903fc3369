package bpfjit

import "fmt"

// Register is a BPF register number, r0 to r10.
type Register uint8

// The BPF registers. By the Linux calling convention r0 holds return values,
// r1-r5 arguments (clobbered by calls), r6-r9 are callee-saved and r10 is the
// read-only frame pointer.
const (
	R0 Register = iota
	R1
	R2
	R3
	R4
	R5
	R6
	R7
	R8
	R9
	R10
	// MaxReg is the number of registers a program may name (MAX_BPF_REG is 11
	// in the ISA; the kernel's internal AX register is not addressable).
	MaxReg = 11

	RFP = R10 // BPF_REG_FP
)

func (r Register) String() string { return fmt.Sprintf("r%d", uint8(r)) }

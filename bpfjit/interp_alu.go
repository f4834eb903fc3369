package bpfjit

import "math/bits"

// The arithmetic both engines share, with the edge semantics of RFC 9669 and
// the kernel's verifier fixups: division by zero gives 0, modulo by zero
// leaves the dividend (for 32-bit ops its low half, zero-extended), and
// INT_MIN / -1 wraps to INT_MIN with remainder 0 (which Go's / and % already
// do; only the zero divisor needs a guard).

func div64(a, b uint64) uint64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func sdiv64(a, b uint64) uint64 {
	if b == 0 {
		return 0
	}
	return uint64(int64(a) / int64(b))
}

func mod64(a, b uint64) uint64 {
	if b == 0 {
		return a
	}
	return a % b
}

func smod64(a, b uint64) uint64 {
	if b == 0 {
		return a
	}
	return uint64(int64(a) % int64(b))
}

func div32(a, b uint64) uint64 {
	if uint32(b) == 0 {
		return 0
	}
	return uint64(uint32(a) / uint32(b))
}

func sdiv32(a, b uint64) uint64 {
	if uint32(b) == 0 {
		return 0
	}
	return uint64(uint32(int32(a) / int32(b)))
}

func mod32(a, b uint64) uint64 {
	if uint32(b) == 0 {
		return uint64(uint32(a))
	}
	return uint64(uint32(a) % uint32(b))
}

func smod32(a, b uint64) uint64 {
	if uint32(b) == 0 {
		return uint64(uint32(a))
	}
	return uint64(uint32(int32(a) % int32(b)))
}

// movsx64 is MOVSX in the ALU64 class: sign-extend the low off bits.
func movsx64(v uint64, off int16) uint64 {
	switch off {
	case 8:
		return uint64(int64(int8(v)))
	case 16:
		return uint64(int64(int16(v)))
	case 32:
		return uint64(int64(int32(v)))
	}
	return v
}

// movsx32 is MOVSX in the ALU class: sign-extend to 32 bits, then zero-extend.
func movsx32(v uint64, off int16) uint64 {
	switch off {
	case 8:
		return uint64(uint32(int32(int8(v))))
	case 16:
		return uint64(uint32(int32(int16(v))))
	}
	return uint64(uint32(v))
}

// bswap reverses the low width bits and drops the rest (BPF_END TO_BE on a
// little-endian host, and the ALU64 bswap).
func bswap(v uint64, width int32) uint64 {
	switch width {
	case 16:
		return uint64(bits.ReverseBytes16(uint16(v)))
	case 32:
		return uint64(bits.ReverseBytes32(uint32(v)))
	}
	return bits.ReverseBytes64(v)
}

// truncLE is BPF_END TO_LE on a little-endian host: keep the low width bits.
func truncLE(v uint64, width int32) uint64 {
	switch width {
	case 16:
		return uint64(uint16(v))
	case 32:
		return uint64(uint32(v))
	}
	return v
}

// jumpCond evaluates a conditional jump's comparison on 64-bit operands.
func jumpCond(op JumpOp, a, b uint64) bool {
	switch op {
	case JEq:
		return a == b
	case JGT:
		return a > b
	case JGE:
		return a >= b
	case JSet:
		return a&b != 0
	case JNE:
		return a != b
	case JSGT:
		return int64(a) > int64(b)
	case JSGE:
		return int64(a) >= int64(b)
	case JLT:
		return a < b
	case JLE:
		return a <= b
	case JSLT:
		return int64(a) < int64(b)
	case JSLE:
		return int64(a) <= int64(b)
	}
	return false
}

// jumpCond32 is jumpCond on the low 32 bits (the JMP32 class).
func jumpCond32(op JumpOp, a, b uint64) bool {
	switch op {
	case JSGT, JSGE, JSLT, JSLE:
		return jumpCond(op, uint64(int64(int32(a))), uint64(int64(int32(b))))
	}
	return jumpCond(op, uint64(uint32(a)), uint64(uint32(b)))
}

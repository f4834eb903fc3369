package bpfjit

import (
	"fmt"
	"math"
)

// checkInsn says why the slot at pc cannot execute, or "" if it can. Both
// engines ask it about every slot before a program first runs, so they agree
// exactly on what is invalid. pc == len(prog) is the slot past the end.
//
// The checks are the ones the engines need to run an instruction safely and
// unambiguously; the verifier's checks (reserved fields, types, reachability)
// are not repeated. An invalid slot is an error only if it is executed, as
// in a CPU that traps on an undefined opcode.
func checkInsn(prog []Insn, pc int) string {
	if pc >= len(prog) {
		return "fell through past the last instruction"
	}
	ins := prog[pc]
	if ins.Dst > R10 || ins.Src > R10 {
		return fmt.Sprintf("invalid register in dst=%d src=%d", ins.Dst, ins.Src)
	}
	op := ins.Code
	target := func() string {
		if t := ins.JumpTarget(pc); t < 0 || t > len(prog) {
			return fmt.Sprintf("jump out of range: target %d, program has %d slots", t, len(prog))
		}
		return ""
	}
	writes := func(r Register) string {
		if r == R10 {
			return "frame pointer r10 is read only"
		}
		return ""
	}
	switch c := op.Class(); c {
	case ALUClass, ALU64Class:
		switch op.ALUOp() {
		case Add, Sub, Mul, Or, And, LSh, RSh, Xor, ArSh:
		case Div, Mod:
			if ins.Off != 0 && ins.Off != 1 {
				return fmt.Sprintf("invalid offset %d for div/mod (0: unsigned, 1: signed)", ins.Off)
			}
		case Neg:
			if op.Source() == RegSource {
				return "neg takes no source register"
			}
		case Mov:
			if op.Source() == ImmSource {
				break
			}
			switch {
			case ins.Off == 0 || ins.Off == 8 || ins.Off == 16:
			case ins.Off == 32 && c == ALU64Class:
			case ins.Off == AddrSpaceCast && c == ALU64Class:
				if ins.Imm != CastKernImm && ins.Imm != CastUserImm {
					return fmt.Sprintf("addr_space_cast imm %#x: can only convert between address spaces 1 and 0", ins.Imm)
				}
			default:
				return fmt.Sprintf("invalid offset %d for %v", ins.Off, op)
			}
		case End:
			if c == ALU64Class && op.Source() == RegSource {
				return "unknown opcode 0xdf"
			}
			if ins.Imm != 16 && ins.Imm != 32 && ins.Imm != 64 {
				return fmt.Sprintf("invalid byte swap width %d", ins.Imm)
			}
		default:
			return fmt.Sprintf("unknown opcode %#02x", uint8(op))
		}
		return writes(ins.Dst)
	case JumpClass, Jump32Class:
		switch op.JumpOp() {
		case Ja:
			if op.Source() == RegSource {
				return fmt.Sprintf("unknown opcode %#02x (indirect jumps are not supported)", uint8(op))
			}
			return target()
		case JEq, JGT, JGE, JSet, JNE, JSGT, JSGE, JLT, JLE, JSLT, JSLE:
			return target()
		case Call:
			switch {
			case c == Jump32Class:
			case op.Source() == RegSource: // callx: dst holds a helper id
				return ""
			case ins.Src == CallHelper || ins.Src == CallKfunc:
				return ""
			case ins.Src == CallLocal:
				return target()
			default:
				return fmt.Sprintf("unknown call kind src=%d", ins.Src)
			}
		case Exit:
			if c == JumpClass && op.Source() == ImmSource {
				return ""
			}
		case JCond:
			if c == JumpClass && op.Source() == ImmSource && ins.Src == MayGoto {
				return target()
			}
		}
		return fmt.Sprintf("unknown opcode %#02x", uint8(op))
	case LdClass:
		if op != LdImm64 {
			if m := op.Mode(); m == AbsMode || m == IndMode {
				return fmt.Sprintf("legacy packet access %#02x is not modelled", uint8(op))
			}
			return fmt.Sprintf("unknown opcode %#02x", uint8(op))
		}
		if pc+1 >= len(prog) {
			return "ld_imm64 has no second slot"
		}
		if n := prog[pc+1]; n.Code != 0 || n.Dst != 0 || n.Src != 0 || n.Off != 0 {
			return "invalid second slot of ld_imm64"
		}
		if ins.Src != PseudoNone {
			return fmt.Sprintf("ld_imm64 with pseudo source %d: the verifier resolves it before the program runs", ins.Src)
		}
		return writes(ins.Dst)
	case LdXClass:
		switch m, s := op.Mode(), op.Size(); {
		case m == MemMode || m == ProbeMem32Mode:
		case (m == MemSXMode || m == ProbeMem32SXMode) && s != DWord:
		default:
			return fmt.Sprintf("unknown opcode %#02x", uint8(op))
		}
		return writes(ins.Dst)
	case StClass:
		if m := op.Mode(); m != MemMode && m != ProbeMem32Mode {
			return fmt.Sprintf("unknown opcode %#02x", uint8(op))
		}
		return ""
	case StXClass:
		switch op.Mode() {
		case MemMode, ProbeMem32Mode:
			return ""
		case AtomicMode, ProbeAtomicMode:
			return checkAtomic(ins)
		}
		return fmt.Sprintf("unknown opcode %#02x", uint8(op))
	}
	return fmt.Sprintf("unknown opcode %#02x", uint8(op))
}

// checkAtomic checks the operation of an STX|ATOMIC or STX|PROBE_ATOMIC.
func checkAtomic(ins Insn) string {
	size := ins.Code.Size()
	switch ins.Imm {
	case AtomicAdd, AtomicOr, AtomicAnd, AtomicXor:
	case AtomicAdd | AtomicFetch, AtomicOr | AtomicFetch, AtomicAnd | AtomicFetch,
		AtomicXor | AtomicFetch, AtomicXchg:
		if ins.Src == R10 {
			return "frame pointer r10 is read only"
		}
	case AtomicCmpXchg:
	case AtomicLoadAcq:
		if ins.Dst == R10 {
			return "frame pointer r10 is read only"
		}
		return ""
	case AtomicStoreRel:
		return ""
	default:
		return fmt.Sprintf("invalid atomic operation %#x", ins.Imm)
	}
	if size != Word && size != DWord {
		return "read-modify-write atomics are 4 or 8 bytes only"
	}
	return ""
}

// prepareCode returns a copy of prog, one slot longer, in which every slot
// checkInsn rejects (and the extra slot past the end) has opcode 0, which
// the engines treat as "stop with InvalidInsn". Imm is kept, as the second
// slot of LD_IMM64 carries the upper half of the constant.
func prepareCode(prog []Insn) []Insn {
	code := make([]Insn, len(prog)+1)
	for pc, ins := range prog {
		if checkInsn(prog, pc) == "" {
			code[pc] = ins
		} else {
			code[pc] = Insn{Imm: ins.Imm}
		}
	}
	return code
}

// runCharges returns, for every slot of code (prepareCode's output, one
// past the end included), the number of instructions of the straight-line
// run that starts there: up to and including the first jump, may_goto, call
// to a subprogram, exit or invalid slot. LD_IMM64 counts once. A helper or
// kfunc call does not end a run: it returns to the next slot.
func runCharges(code []Insn) []int32 {
	n := len(code) - 1
	charges := make([]int32, n+1)
	charges[n] = 1 // the invalid slot past the end
	for pc := n - 1; pc >= 0; pc-- {
		ins := code[pc]
		next := pc + 1
		if ins.IsLdImm64() {
			next = pc + 2
		}
		switch {
		case ins.Code == 0 || endsRun(ins):
			charges[pc] = 1
		case charges[next] == math.MaxInt32: // cannot happen below 2^31 slots, but must not wrap
			charges[pc] = math.MaxInt32
		default:
			charges[pc] = charges[next] + 1
		}
	}
	return charges
}

// endsRun reports whether a valid instruction transfers control: a jump,
// may_goto, a local call or exit. Helper, kfunc and callx calls return to the
// next slot and do not.
func endsRun(ins Insn) bool {
	op := ins.Code
	if !op.Class().IsJump() {
		return false
	}
	if op.JumpOp() == Call {
		return op.Source() == ImmSource && ins.Src == CallLocal
	}
	return true
}

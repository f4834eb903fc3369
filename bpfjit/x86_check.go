package bpfjit

import (
	"slices"

	"github.com/arenasim/arenasim/internal/errno"
)

// x86SubprogStarts returns the first slot of every subprogram, main first,
// and checks every jump and call target (check_subprogs and
// add_subprog_and_kfunc in kernel/bpf/verifier.c).
func x86SubprogStarts(prog []Insn, o *X86Options) ([]int, error) {
	n := len(prog)
	found := []int{0}
	for i := 0; i < n; i++ {
		ins := prog[i]
		if err := x86CheckInsn(prog, i); err != nil {
			return nil, err
		}
		if ins.IsLdImm64() {
			if ins.Src == PseudoFunc {
				t := i + 1 + int(ins.Imm)
				if t < 0 || t >= n {
					return nil, errno.Errorf(errno.EINVAL, "insn %d: function pointer to invalid insn %d", i, t)
				}
				found = append(found, t)
			}
			i++
			continue
		}
		if ins.Code == JumpOpcode(JumpClass, Call, ImmSource) && ins.Src == CallLocal {
			t := ins.JumpTarget(i)
			if t < 0 || t >= n {
				return nil, errno.Errorf(errno.EINVAL, "insn %d: call to invalid destination %d", i, t)
			}
			if t == 0 {
				// The main program is never a callee: check_cfg refuses the
				// call as a back-edge, so no such program reaches the JIT.
				return nil, errno.Errorf(errno.EINVAL, "insn %d: call to the main program (back-edge from insn %d to 0)", i, i)
			}
			found = append(found, t)
		}
	}
	slices.Sort(found)
	found = slices.Compact(found)
	starts := found
	if o.SubprogStarts != nil {
		starts = append([]int{0}, o.SubprogStarts...)
		for k := 1; k < len(starts); k++ {
			if starts[k] <= starts[k-1] || starts[k] >= n {
				return nil, errno.Errorf(errno.EINVAL, "subprogram start %d out of order or range", starts[k])
			}
		}
		for _, t := range found {
			if _, ok := slices.BinarySearch(starts, t); !ok {
				return nil, errno.Errorf(errno.EINVAL, "call target %d is not a subprogram start", t)
			}
		}
	}
	second := x86SecondSlots(prog)
	for k, s := range starts {
		if second[s] {
			return nil, errno.Errorf(errno.EINVAL, "subprogram %d starts inside the ld_imm64 at insn %d", k, s-1)
		}
	}
	// Jumps must stay inside their subprogram.
	f := 0
	for i := 0; i < n; i++ {
		for f+1 < len(starts) && i >= starts[f+1] {
			f++
		}
		ins := prog[i]
		if second[i] || !x86HasTarget(ins.Code) {
			continue
		}
		lo, hi := starts[f], n
		if f+1 < len(starts) {
			hi = starts[f+1]
		}
		t := ins.JumpTarget(i)
		if t < lo || t >= hi {
			return nil, errno.Errorf(errno.EINVAL, "insn %d: jump out of range from insn %d to %d", i, i, t)
		}
		if second[t] {
			return nil, errno.Errorf(errno.EINVAL, "insn %d: jump into the middle of ldimm64 insn %d", i, t-1)
		}
	}
	return starts, nil
}

// x86SecondSlots marks the second slot of every wide load, counting wide
// loads from the start so that a constant whose first byte happens to read
// 0x18 is not mistaken for one.
func x86SecondSlots(prog []Insn) []bool {
	second := make([]bool, len(prog)+1)
	for i := 0; i < len(prog); i++ {
		if prog[i].IsLdImm64() {
			i++
			second[i] = true
		}
	}
	return second
}

// x86HasTarget reports whether op is a jump with a target (not a call or exit).
func x86HasTarget(op Opcode) bool {
	return op.Class().IsJump() && op.JumpOp() != Call && op.JumpOp() != Exit
}

// x86CheckInsn rejects what the verifier would reject and the JIT would
// otherwise turn into garbage or index out of range: reserved register
// numbers, a truncated wide load, operand fields the emitter switches on.
func x86CheckInsn(prog []Insn, i int) error {
	ins := prog[i]
	bad := func(format string, args ...any) error {
		return errno.Errorf(errno.EINVAL, "insn %d (%v): "+format, append([]any{i, ins}, args...)...)
	}
	if ins.IsLdImm64() {
		if i+1 >= len(prog) {
			return bad("ld_imm64 is the last slot")
		}
		if n := prog[i+1]; n.Code != 0 || n.Dst != 0 || n.Src != 0 || n.Off != 0 {
			return bad("invalid ld_imm64 second slot")
		}
	}
	if ins.Dst > R10 {
		return bad("R%d is invalid", ins.Dst)
	}
	c := ins.Code
	if ins.Dst == R10 && (c.Class().IsALU() || c.Class() == LdXClass || ins.IsLdImm64()) {
		return errno.Errorf(errno.EACCES, "insn %d (%v): frame pointer is read only", i, ins)
	}
	switch {
	case c == JumpOpcode(JumpClass, Call, ImmSource):
		if ins.Src > CallKfunc {
			return bad("unknown call kind %d", ins.Src)
		}
	case c == JumpOpcode(JumpClass, JCond, ImmSource):
		if ins.Src != MayGoto || ins.Imm != 0 || ins.Dst != 0 {
			return bad("invalid may_goto")
		}
	case ins.IsLdImm64():
		// Src is a pseudo kind, not a register.
	case ins.Src > R10:
		return bad("R%d is invalid", ins.Src)
	}
	switch {
	case c == ALUOpcode(ALU64Class, Mov, RegSource):
		if ins.Imm != 0 && ins.Off != AddrSpaceCast {
			return bad("BPF_MOV uses reserved fields")
		}
		switch ins.Off {
		case 0, 8, 16, 32:
		case AddrSpaceCast:
			if ins.Imm != CastKernImm && ins.Imm != CastUserImm {
				return bad("addr_space_cast can only convert between address spaces 1 and 0")
			}
		default:
			return bad("invalid movsx offset %d", ins.Off)
		}
	case c == ALUOpcode(ALUClass, Mov, RegSource):
		if ins.Imm != 0 {
			return bad("BPF_MOV uses reserved fields")
		}
		if ins.Off != 0 && ins.Off != 8 && ins.Off != 16 {
			return bad("invalid movsx offset %d", ins.Off)
		}
	case c.Class().IsALU() && c.ALUOp() == End:
		if ins.Imm != 16 && ins.Imm != 32 && ins.Imm != 64 {
			return bad("invalid byte swap width %d", ins.Imm)
		}
	case c.Class().IsALU() && (c.ALUOp() == Div || c.ALUOp() == Mod):
		if ins.Off != 0 && ins.Off != 1 {
			return bad("invalid div/mod offset %d", ins.Off)
		}
	}
	return nil
}

// x86StackDepth estimates the verifier's stack depth of one function from
// its instructions: the deepest access through r10 itself. If r10 is used
// any other way (copied, compared, stored) the pointer could be anywhere in
// the frame, so the whole MAX_BPF_STACK is assumed.
func x86StackDepth(insns []Insn) int {
	depth := 0
	for i := 0; i < len(insns); i++ {
		ins := insns[i]
		if ins.IsLdImm64() {
			i++
			continue
		}
		c := ins.Code
		base, other := Register(0xff), []Register(nil)
		switch c.Class() {
		case LdXClass:
			base, other = ins.Src, []Register{ins.Dst}
		case StClass:
			base = ins.Dst
		case StXClass:
			base, other = ins.Dst, []Register{ins.Src}
		default:
			if ins.Dst == R10 || (c.Source() == RegSource && ins.Src == R10) {
				return MaxBPFStack
			}
			continue
		}
		if slices.Contains(other, R10) {
			return MaxBPFStack
		}
		if base == R10 && ins.Off < 0 {
			depth = max(depth, -int(ins.Off))
		}
	}
	return min(depth, MaxBPFStack)
}

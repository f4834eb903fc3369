package bpfjit

// jsetNot is the pseudo jump operation "not JSET" (BPF_JSET | BPF_X in the
// kernel's rev_opcode), the false branch of a JSET.
const jsetNot = JSet | JumpOp(RegSource)

// flipJump returns op with its operands swapped: a < b becomes b > a
// (flip_opcode).
func flipJump(op JumpOp) JumpOp {
	switch op {
	case JGE:
		return JLE
	case JGT:
		return JLT
	case JLE:
		return JGE
	case JLT:
		return JGT
	case JSGE:
		return JSLE
	case JSGT:
		return JSLT
	case JSLE:
		return JSGE
	case JSLT:
		return JSGT
	}
	return op
}

// reverseJump returns the condition of the false branch (rev_opcode).
func reverseJump(op JumpOp) JumpOp {
	switch op {
	case JEq:
		return JNE
	case JNE:
		return JEq
	case JSet:
		return jsetNot
	case jsetNot:
		return JSet
	case JGE:
		return JLT
	case JGT:
		return JLE
	case JLE:
		return JGT
	case JLT:
		return JGE
	case JSGE:
		return JSLT
	case JSGT:
		return JSLE
	case JSLE:
		return JSGT
	case JSLT:
		return JSGE
	}
	return InvalidJumpOp
}

// notNull reports a pointer known not to be NULL (reg_not_null, for the
// pointer kinds this model has). Like the kernel it does not count stack,
// context or map pointers, so comparing those with 0 explores both ways.
func (r *regState) notNull() bool {
	if r.typ.maybeNull() {
		return false
	}
	switch r.typ.base() {
	case ptrToMapValue, ptrToMapKey, ptrToMem:
		return true
	}
	return false
}

// branchTaken predicts "if r1 op r2 goto": 1 taken, 0 not taken, -1
// unknown (is_branch_taken, is_scalar_branch_taken).
func branchTaken(r1, r2 *regState, op JumpOp, jmp32 bool) int {
	if r1.typ.isPointer() || r2.typ.isPointer() {
		if !r2.isConst(jmp32) {
			op = flipJump(op)
			r1, r2 = r2, r1
		}
		if !r2.isConst(jmp32) || !r1.notNull() || r2.constValue(jmp32) != 0 {
			return -1
		}
		switch op {
		case JEq:
			return 0
		case JNE:
			return 1
		}
		return -1
	}
	t1, t2 := r1.varOff, r2.varOff
	umin1, umax1, smin1, smax1 := r1.umin, r1.umax, r1.smin, r1.smax
	umin2, umax2, smin2, smax2 := r2.umin, r2.umax, r2.smin, r2.smax
	if jmp32 {
		t1, t2 = t1.subreg(), t2.subreg()
		umin1, umax1, smin1, smax1 = uint64(r1.u32min), uint64(r1.u32max), int64(r1.s32min), int64(r1.s32max)
		umin2, umax2, smin2, smax2 = uint64(r2.u32min), uint64(r2.u32max), int64(r2.s32min), int64(r2.s32max)
	}
	disjoint := func() bool {
		if umin1 > umax2 || umax1 < umin2 || smin1 > smax2 || smax1 < smin2 {
			return true
		}
		if !jmp32 && (r1.u32min > r2.u32max || r1.u32max < r2.u32min ||
			r1.s32min > r2.s32max || r1.s32max < r2.s32min) {
			return true
		}
		return false
	}
	switch op {
	case JEq:
		if t1.isConst() && t2.isConst() {
			return vB2i(t1.value == t2.value)
		}
		if disjoint() {
			return 0
		}
	case JNE:
		if t1.isConst() && t2.isConst() {
			return vB2i(t1.value != t2.value)
		}
		if disjoint() {
			return 1
		}
	case JSet:
		if !r2.isConst(jmp32) {
			r1, r2 = r2, r1
			t1, t2 = t2, t1
		}
		if !r2.isConst(jmp32) {
			return -1
		}
		if (^t1.mask&t1.value)&t2.value != 0 {
			return 1
		}
		if (t1.mask|t1.value)&t2.value == 0 {
			return 0
		}
	case JGT:
		if umin1 > umax2 {
			return 1
		} else if umax1 <= umin2 {
			return 0
		}
	case JSGT:
		if smin1 > smax2 {
			return 1
		} else if smax1 <= smin2 {
			return 0
		}
	case JLT:
		if umax1 < umin2 {
			return 1
		} else if umin1 >= umax2 {
			return 0
		}
	case JSLT:
		if smax1 < smin2 {
			return 1
		} else if smin1 >= smax2 {
			return 0
		}
	case JGE:
		if umin1 >= umax2 {
			return 1
		} else if umax1 < umin2 {
			return 0
		}
	case JSGE:
		if smin1 >= smax2 {
			return 1
		} else if smax1 < smin2 {
			return 0
		}
	case JLE:
		if umax1 <= umin2 {
			return 1
		} else if umin1 > umax2 {
			return 0
		}
	case JSLE:
		if smax1 <= smin2 {
			return 1
		} else if smin1 > smax2 {
			return 0
		}
	}
	return -1
}

func vB2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func vIsPow2(v uint64) bool { return v != 0 && v&(v-1) == 0 }

// refineCond narrows r1 and r2 given that "r1 op r2" holds
// (regs_refine_cond_op). Both are scalars.
func refineCond(r1, r2 *regState, op JumpOp, jmp32 bool) {
	switch op {
	case JGE, JGT, JSGE, JSGT:
		op = flipJump(op)
		r1, r2 = r2, r1
	}
	switch op {
	case JEq:
		if jmp32 {
			r1.u32min = max(r1.u32min, r2.u32min)
			r1.u32max = min(r1.u32max, r2.u32max)
			r1.s32min = max(r1.s32min, r2.s32min)
			r1.s32max = min(r1.s32max, r2.s32max)
			r2.u32min, r2.u32max, r2.s32min, r2.s32max = r1.u32min, r1.u32max, r1.s32min, r1.s32max
			t := tnumIntersect(r1.varOff.subreg(), r2.varOff.subreg())
			r1.varOff = r1.varOff.withSubreg(t)
			r2.varOff = r2.varOff.withSubreg(t)
		} else {
			r1.umin = max(r1.umin, r2.umin)
			r1.umax = min(r1.umax, r2.umax)
			r1.smin = max(r1.smin, r2.smin)
			r1.smax = min(r1.smax, r2.smax)
			r2.umin, r2.umax, r2.smin, r2.smax = r1.umin, r1.umax, r1.smin, r1.smax
			r1.varOff = tnumIntersect(r1.varOff, r2.varOff)
			r2.varOff = r1.varOff
		}
	case JNE:
		if !r2.isConst(jmp32) {
			r1, r2 = r2, r1
		}
		if !r2.isConst(jmp32) {
			return
		}
		v := r2.constValue(jmp32)
		if jmp32 {
			if r1.u32min == uint32(v) {
				r1.u32min++
			}
			if r1.u32max == uint32(v) {
				r1.u32max--
			}
			if r1.s32min == int32(v) {
				r1.s32min++
			}
			if r1.s32max == int32(v) {
				r1.s32max--
			}
		} else {
			if r1.umin == v {
				r1.umin++
			}
			if r1.umax == v {
				r1.umax--
			}
			if r1.smin == int64(v) {
				r1.smin++
			}
			if r1.smax == int64(v) {
				r1.smax--
			}
		}
	case JSet, jsetNot:
		if !r2.isConst(jmp32) {
			r1, r2 = r2, r1
		}
		if !r2.isConst(jmp32) {
			return
		}
		v := r2.constValue(jmp32)
		if op == JSet {
			if !vIsPow2(v) {
				return
			}
			if jmp32 {
				r1.varOff = r1.varOff.withSubreg(tnumOr(r1.varOff.subreg(), tnumConst(v)))
			} else {
				r1.varOff = tnumOr(r1.varOff, tnumConst(v))
			}
			return
		}
		if jmp32 {
			r1.varOff = r1.varOff.withSubreg(tnumAnd(r1.varOff.subreg(), tnumConst(^v)))
		} else {
			r1.varOff = tnumAnd(r1.varOff, tnumConst(^v))
		}
	case JLE:
		if jmp32 {
			r1.u32max = min(r1.u32max, r2.u32max)
			r2.u32min = max(r1.u32min, r2.u32min)
		} else {
			r1.umax = min(r1.umax, r2.umax)
			r2.umin = max(r1.umin, r2.umin)
		}
	case JLT:
		if jmp32 {
			r1.u32max = min(r1.u32max, r2.u32max-1)
			r2.u32min = max(r1.u32min+1, r2.u32min)
		} else {
			r1.umax = min(r1.umax, r2.umax-1)
			r2.umin = max(r1.umin+1, r2.umin)
		}
	case JSLE:
		if jmp32 {
			r1.s32max = min(r1.s32max, r2.s32max)
			r2.s32min = max(r1.s32min, r2.s32min)
		} else {
			r1.smax = min(r1.smax, r2.smax)
			r2.smin = max(r1.smin, r2.smin)
		}
	case JSLT:
		if jmp32 {
			r1.s32max = min(r1.s32max, r2.s32max-1)
			r2.s32min = max(r1.s32min+1, r2.s32min)
		} else {
			r1.smax = min(r1.smax, r2.smax-1)
			r2.smin = max(r1.smin+1, r2.smin)
		}
	}
}

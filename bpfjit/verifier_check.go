package bpfjit

import (
	"math"
	"math/bits"

	"github.com/arenasim/arenasim/internal/errno"
)

type regArgType uint8

const (
	srcOp       regArgType = iota // SRC_OP: the register is read
	dstOp                         // DST_OP: written, becomes an unknown scalar
	dstOpNoMark                   // DST_OP_NO_MARK: written, the caller sets it
)

// doCheckMain verifies the main program from its first instruction with r1
// holding the context (do_check_main, do_check_common).
func (v *verifier) doCheckMain() error {
	f := v.initFuncState(-1, 0, 0)
	r1 := &f.regs[R1]
	if v.env.Ctx.Kind == CtxMemory {
		r1.setPointer(ptrToMem)
		r1.memSize = uint32(v.env.Ctx.Size)
	} else {
		r1.setPointer(ptrToCtx)
	}
	v.cur = &vstate{frames: []*funcState{f}}
	v.insnIdx = 0
	v.log.scratchAll()
	return v.doCheck()
}

// checkRegArg checks a register operand (check_reg_arg).
func (v *verifier) checkRegArg(regno Register, t regArgType) error {
	if regno >= MaxReg {
		return v.errorf(errno.EINVAL, v.insnIdx, "R%d is invalid", regno)
	}
	v.log.scratchReg(regno)
	f := v.cur.cur()
	r := &f.regs[regno]
	if t == srcOp {
		if r.typ == notInit {
			return v.errorf(errno.EACCES, v.insnIdx, "R%d !read_ok", regno)
		}
		return nil
	}
	if regno == RFP {
		return v.errorf(errno.EACCES, v.insnIdx, "frame pointer is read only")
	}
	f.regWritten |= regBit(regno)
	if t == dstOp {
		r.setUnknown(!v.bpfCapable)
	}
	return nil
}

// isPointerValue reports a pointer the program may not treat as a number
// (is_pointer_value): always false for loaders with CAP_PERFMON.
func (v *verifier) isPointerValue(regno Register) bool {
	if v.allowPtrLeaks {
		return false
	}
	return v.regs()[regno].typ != scalarValue
}

// doCheck is the main loop of abstract interpretation (do_check): it runs
// the current state forward one instruction at a time, queues the other
// side of every undecided branch, and takes the next queued path when a
// path exits or joins a state already proven safe.
func (v *verifier) doCheck() error {
	popLog := v.log.level&LogLevel2 == 0
	doPrintState := false
	prevInsnIdx := -1
	for {
		v.prevInsnIdx = prevInsnIdx
		if v.insnIdx < 0 || v.insnIdx >= len(v.insns) {
			return v.errorf(errno.EFAULT, v.insnIdx, "invalid insn idx %d insn_cnt %d", v.insnIdx, len(v.insns))
		}
		ins := v.insns[v.insnIdx]
		c := ins.Code.Class()
		v.insnProcessed++
		if v.insnProcessed > v.insnLimit {
			return v.errorf(errno.E2BIG, v.insnIdx, "BPF program is too large. Processed %d insn", v.insnProcessed)
		}
		exit := false
		if v.aux[v.insnIdx].prunePoint {
			hit, err := v.isStateVisited(v.insnIdx)
			if err != nil {
				return err
			}
			if hit {
				if v.log.on() {
					if doPrintState {
						v.log.printf("\nfrom %d to %d: safe\n", v.prevInsnIdx, v.insnIdx)
					} else {
						v.log.printf("%d: safe\n", v.insnIdx)
					}
				}
				exit = true
			}
		}
		if !exit {
			if v.log.level&LogLevel2 != 0 && doPrintState {
				v.log.printf("\nfrom %d to %d:", v.prevInsnIdx, v.insnIdx)
				v.printVerifierState(v.cur, v.cur.curframe(), true)
				doPrintState = false
			}
			if v.log.on() {
				if v.log.stateScratched() {
					v.printInsnState(v.cur.curframe())
				}
				v.log.prevLogPos = v.log.pos()
				v.log.printf("%d: %s\n", v.insnIdx, v.formatInsn(v.insnIdx))
				v.log.prevInsnPrintPos = v.log.pos() - v.log.prevLogPos
				v.log.prevLogPos = v.log.pos()
			}
			v.aux[v.insnIdx].seen = true
			prevInsnIdx = v.insnIdx

			var err error
			switch c {
			case ALUClass, ALU64Class:
				err = v.checkALU(ins)
			case LdXClass:
				err = v.checkLoadMem(ins, ins.Code.Mode() == MemSXMode, false)
			case StXClass:
				if ins.Code.Mode() == AtomicMode {
					err = v.checkAtomic(ins)
				} else if ins.Code.Mode() != MemMode || ins.Imm != 0 {
					err = v.errorf(errno.EINVAL, v.insnIdx, "BPF_STX uses reserved fields")
				} else {
					err = v.checkStoreReg(ins)
				}
			case StClass:
				err = v.checkStoreImm(ins)
			case JumpClass, Jump32Class:
				v.jmpsProcessed++
				switch ins.Code.JumpOp() {
				case Call:
					if ins.Code.Source() != ImmSource || (ins.Src != CallKfunc && ins.Off != 0) ||
						(ins.Src != CallHelper && ins.Src != CallLocal && ins.Src != CallKfunc) ||
						ins.Dst != 0 || c == Jump32Class {
						return v.errorf(errno.EINVAL, v.insnIdx, "BPF_CALL uses reserved fields")
					}
					switch ins.Src {
					case CallLocal:
						err = v.checkFuncCall(ins)
					case CallKfunc:
						err = v.checkKfuncCall(ins)
					default:
						err = v.checkHelperCall(ins)
					}
					v.log.scratchReg(R0)
				case Ja:
					if ins.Code.Source() != ImmSource || ins.Src != 0 || ins.Dst != 0 ||
						(c == JumpClass && ins.Imm != 0) || (c == Jump32Class && ins.Off != 0) {
						return v.errorf(errno.EINVAL, v.insnIdx, "BPF_JA uses reserved fields")
					}
					v.insnIdx += jmpOffset(ins) + 1
					continue
				case Exit:
					if ins.Code.Source() != ImmSource || ins.Imm != 0 || ins.Src != 0 || ins.Dst != 0 || c == Jump32Class {
						return v.errorf(errno.EINVAL, v.insnIdx, "BPF_EXIT uses reserved fields")
					}
					if v.cur.curframe() > 0 {
						if err := v.prepareFuncExit(); err != nil {
							return err
						}
						doPrintState = true
						continue
					}
					if err := v.checkReturnCode(); err != nil {
						return err
					}
					exit = true
				default:
					err = v.checkCondJmp(ins)
				}
			case LdClass:
				switch ins.Code.Mode() {
				case AbsMode, IndMode:
					err = v.errorf(errno.EINVAL, v.insnIdx, "BPF_LD_[ABS|IND] instructions not allowed for this program type")
				case ImmMode:
					err = v.checkLdImm(ins)
					v.insnIdx++
					v.aux[v.insnIdx].seen = true
				default:
					err = v.errorf(errno.EINVAL, v.insnIdx, "invalid BPF_LD mode")
				}
			default:
				err = v.errorf(errno.EINVAL, v.insnIdx, "unknown insn class %d", c)
			}
			if err != nil {
				return err
			}
		}
		if exit {
			v.log.scratchAll()
			v.updateBranchCounts()
			if !v.popStack(popLog) {
				return nil
			}
			prevInsnIdx = v.prevInsnIdx
			doPrintState = true
			continue
		}
		v.insnIdx++
	}
}

// checkReturnCode checks r0 at the main program's exit (check_return_code
// for a program type without a return-value range).
func (v *verifier) checkReturnCode() error {
	if err := v.checkRegArg(R0, srcOp); err != nil {
		return err
	}
	if v.isPointerValue(R0) {
		return v.errorf(errno.EACCES, v.insnIdx, "R%d leaks addr as return value", R0)
	}
	return nil
}

// checkLdImm types the destination of a wide load (check_ld_imm).
func (v *verifier) checkLdImm(ins Insn) error {
	if ins.Code.Size() != DWord {
		return v.errorf(errno.EINVAL, v.insnIdx, "invalid BPF_LD_IMM insn")
	}
	if ins.Off != 0 {
		return v.errorf(errno.EINVAL, v.insnIdx, "BPF_LD_IMM64 uses reserved fields")
	}
	if err := v.checkRegArg(ins.Dst, dstOp); err != nil {
		return err
	}
	dst := &v.regs()[ins.Dst]
	if ins.Src == PseudoNone {
		dst.setConst(ins.Imm64(v.insns[v.insnIdx+1]), !v.bpfCapable)
		return nil
	}
	if ins.Src == PseudoFunc {
		return v.errorf(errno.EINVAL, v.insnIdx, "missing btf func_info")
	}
	aux := &v.aux[v.insnIdx]
	m := v.usedMaps[aux.mapIndex]
	dst.setPointer(notInit)
	dst.mapPtr = m
	switch ins.Src {
	case PseudoMapValue, PseudoMapIdxValue:
		if m.Type == MapTypeArena {
			dst.setUnknown(!v.bpfCapable)
			return nil
		}
		dst.typ = ptrToMapValue
		dst.off = int32(aux.mapOff)
	default:
		dst.typ = constPtrToMap
	}
	return nil
}

// aluOpString names an ALU operation as the verifier's messages do
// (bpf_alu_string in kernel/bpf/disasm.c).
func aluOpString(op ALUOp) string {
	switch op {
	case Add:
		return "+="
	case Sub:
		return "-="
	case Mul:
		return "*="
	case Div:
		return "/="
	case Or:
		return "|="
	case And:
		return "&="
	case LSh:
		return "<<="
	case RSh:
		return ">>="
	case Neg:
		return "neg"
	case Mod:
		return "%="
	case Xor:
		return "^="
	case Mov:
		return "="
	case ArSh:
		return "s>>="
	case End:
		return "endian"
	}
	return "?"
}

// checkALU checks an ALU or ALU64 instruction and computes its result
// (check_alu_op).
func (v *verifier) checkALU(ins Insn) error {
	op := ins.Code.ALUOp()
	alu64 := ins.Code.Class() == ALU64Class
	x := ins.Code.Source() == RegSource
	switch op {
	case End, Neg:
		if op == Neg {
			if x || ins.Src != 0 || ins.Off != 0 || ins.Imm != 0 {
				return v.errorf(errno.EINVAL, v.insnIdx, "BPF_NEG uses reserved fields")
			}
		} else if ins.Src != 0 || ins.Off != 0 || (ins.Imm != 16 && ins.Imm != 32 && ins.Imm != 64) || (alu64 && x) {
			return v.errorf(errno.EINVAL, v.insnIdx, "BPF_END uses reserved fields")
		}
		if err := v.checkRegArg(ins.Dst, srcOp); err != nil {
			return err
		}
		if v.isPointerValue(ins.Dst) {
			return v.errorf(errno.EACCES, v.insnIdx, "R%d pointer arithmetic prohibited", ins.Dst)
		}
		if err := v.checkRegArg(ins.Dst, dstOp); err != nil {
			return err
		}
	case Mov:
		if err := v.checkMov(ins, alu64, x); err != nil {
			return err
		}
	default:
		if x {
			if ins.Imm != 0 || ins.Off > 1 || (ins.Off == 1 && op != Mod && op != Div) {
				return v.errorf(errno.EINVAL, v.insnIdx, "BPF_ALU uses reserved fields")
			}
			if err := v.checkRegArg(ins.Src, srcOp); err != nil {
				return err
			}
		} else if ins.Src != 0 || ins.Off > 1 || (ins.Off == 1 && op != Mod && op != Div) {
			return v.errorf(errno.EINVAL, v.insnIdx, "BPF_ALU uses reserved fields")
		}
		if err := v.checkRegArg(ins.Dst, srcOp); err != nil {
			return err
		}
		if (op == Mod || op == Div) && !x && ins.Imm == 0 {
			return v.errorf(errno.EINVAL, v.insnIdx, "div by zero")
		}
		if (op == LSh || op == RSh || op == ArSh) && !x {
			size := int32(32)
			if alu64 {
				size = 64
			}
			if ins.Imm < 0 || ins.Imm >= size {
				return v.errorf(errno.EINVAL, v.insnIdx, "invalid shift %d", ins.Imm)
			}
		}
		if err := v.checkRegArg(ins.Dst, dstOpNoMark); err != nil {
			return err
		}
		if err := v.adjustRegMinMaxVals(ins); err != nil {
			return err
		}
	}
	v.boundsSanityCheck(&v.regs()[ins.Dst], "alu")
	return nil
}

// boundsSanityCheck reports and forgets bounds that contradict each other
// (reg_bounds_sanity_check without BPF_F_TEST_REG_INVARIANTS).
func (v *verifier) boundsSanityCheck(r *regState, ctx string) {
	if r.typ != scalarValue || r.boundsSane() {
		return
	}
	v.log.printf("REG INVARIANTS VIOLATION (%s): range bounds violation u64=[%#x, %#x] s64=[%#x, %#x] u32=[%#x, %#x] s32=[%#x, %#x] var_off=(%#x, %#x)\n",
		ctx, r.umin, r.umax, uint64(r.smin), uint64(r.smax), r.u32min, r.u32max, uint32(r.s32min), uint32(r.s32max), r.varOff.value, r.varOff.mask)
	r.markUnbounded()
}

// checkMov handles MOV, MOVSX and addr_space_cast.
func (v *verifier) checkMov(ins Insn, alu64, x bool) error {
	if x {
		switch {
		case !alu64:
			if (ins.Off != 0 && ins.Off != 8 && ins.Off != 16) || ins.Imm != 0 {
				return v.errorf(errno.EINVAL, v.insnIdx, "BPF_MOV uses reserved fields")
			}
		case ins.Off == AddrSpaceCast:
			if ins.Imm != CastKernImm && ins.Imm != CastUserImm {
				return v.errorf(errno.EINVAL, v.insnIdx, "addr_space_cast insn can only convert between address space 1 and 0")
			}
			if v.arena == nil {
				return v.errorf(errno.EINVAL, v.insnIdx, "addr_space_cast insn can only be used in a program that has an associated arena")
			}
		default:
			if (ins.Off != 0 && ins.Off != 8 && ins.Off != 16 && ins.Off != 32) || ins.Imm != 0 {
				return v.errorf(errno.EINVAL, v.insnIdx, "BPF_MOV uses reserved fields")
			}
		}
		if err := v.checkRegArg(ins.Src, srcOp); err != nil {
			return err
		}
	} else if ins.Src != 0 || ins.Off != 0 {
		return v.errorf(errno.EINVAL, v.insnIdx, "BPF_MOV uses reserved fields")
	}
	if err := v.checkRegArg(ins.Dst, dstOpNoMark); err != nil {
		return err
	}
	regs := v.regs()
	dst := &regs[ins.Dst]
	if !x {
		if alu64 {
			dst.setConst(uint64(int64(ins.Imm)), !v.bpfCapable)
		} else {
			dst.setConst(uint64(uint32(ins.Imm)), !v.bpfCapable)
		}
		return nil
	}
	src := &regs[ins.Src]
	if alu64 {
		switch {
		case ins.Imm != 0: // addr_space_cast
			dst.setUnknown(!v.bpfCapable)
			if ins.Imm == CastKernImm {
				dst.typ = ptrToArena
			}
		case ins.Off == 0:
			v.assignScalarIDBeforeMov(src)
			*dst = *src
		case v.isPointerValue(ins.Src):
			return v.errorf(errno.EACCES, v.insnIdx, "R%d sign-extension part of pointer", ins.Src)
		case src.typ == scalarValue:
			noSext := src.umax < 1<<(ins.Off-1)
			if noSext {
				v.assignScalarIDBeforeMov(src)
			}
			*dst = *src
			if !noSext {
				dst.id = 0
			}
			dst.coerceToSizeSX(int(ins.Off) >> 3)
		default:
			dst.setUnknown(!v.bpfCapable)
		}
		return nil
	}
	switch {
	case v.isPointerValue(ins.Src):
		return v.errorf(errno.EACCES, v.insnIdx, "R%d partial copy of pointer", ins.Src)
	case src.typ == scalarValue:
		// A copy keeps the link to its source only while the value fits
		// the destination unchanged.
		linked := bits.Len64(src.umax) <= 32
		if ins.Off != 0 {
			linked = src.umax < 1<<(ins.Off-1)
		}
		if linked {
			v.assignScalarIDBeforeMov(src)
		}
		*dst = *src
		if !linked {
			dst.id = 0
		}
		if ins.Off != 0 {
			dst.coerceSubregToSizeSX(int(ins.Off) >> 3)
		}
	default:
		dst.setUnknown(!v.bpfCapable)
	}
	dst.zext32To64()
	dst.syncBounds()
	return nil
}

// addConstID marks a scalar id whose register holds the linked value plus
// off (BPF_ADD_CONST).
const addConstID = 1 << 31

// assignScalarIDBeforeMov gives a scalar about to be copied an id, so that
// what a later comparison learns about one copy applies to the other
// (assign_scalar_id_before_mov).
func (v *verifier) assignScalarIDBeforeMov(src *regState) {
	if src.typ != scalarValue {
		return
	}
	if src.id&addConstID != 0 {
		src.id, src.off = 0, 0
	}
	if src.id == 0 && !src.varOff.isConst() {
		v.idGen++
		src.id = v.idGen
	}
}

// adjustRegMinMaxVals computes the result of an ALU operation other than
// MOV, NEG and END (adjust_reg_min_max_vals).
func (v *verifier) adjustRegMinMaxVals(ins Insn) error {
	regs := v.regs()
	dst := &regs[ins.Dst]
	op := ins.Code.ALUOp()
	alu64 := ins.Code.Class() == ALU64Class
	if dst.typ == ptrToArena {
		// Any arithmetic on an arena pointer is allowed; 64-bit operations
		// are emitted as 32-bit ones so the value stays zero-extended.
		if alu64 {
			v.aux[v.insnIdx].needsZext = true
		}
		return nil
	}
	var srcVal regState
	if ins.Code.Source() == RegSource {
		src := &regs[ins.Src]
		if src.typ != scalarValue {
			if dst.typ != scalarValue {
				if op == Sub && v.allowPtrLeaks {
					dst.setUnknown(!v.bpfCapable)
					return nil
				}
				return v.errorf(errno.EACCES, v.insnIdx, "R%d pointer %s pointer prohibited", ins.Dst, aluOpString(op))
			}
			v.markPrecise(v.insnIdx, regBit(ins.Dst))
			return v.adjustPtrMinMaxVals(ins, *src, *dst, true)
		}
		if dst.typ != scalarValue {
			v.markPrecise(v.insnIdx, regBit(ins.Src))
			return v.adjustPtrMinMaxVals(ins, *dst, *src, false)
		}
		srcVal = *src
	} else {
		srcVal.setConst(uint64(int64(ins.Imm)), false)
		if dst.typ != scalarValue {
			return v.adjustPtrMinMaxVals(ins, *dst, srcVal, false)
		}
	}
	dst.scalarALU(op, !alu64, &srcVal, !v.bpfCapable)
	// r1 = r2; r1 += 1 keeps r1 linked to r2 with a known difference, so a
	// later bound on either applies to both.
	if v.bpfCapable && op == Add && alu64 && dst.id != 0 && srcVal.isConst(false) {
		val := srcVal.constValue(false)
		if dst.id&addConstID != 0 || val > math.MaxInt32 {
			dst.id, dst.off = 0, 0
		} else {
			dst.id |= addConstID
			dst.off = int32(val)
		}
	} else {
		dst.id, dst.off = 0, 0
	}
	return nil
}

// checkRegSaneOffset rejects pointer offsets that could overflow later
// arithmetic (check_reg_sane_offset).
func (v *verifier) checkRegSaneOffset(r *regState, t regType) error {
	known := r.varOff.isConst()
	val := int64(r.varOff.value)
	switch {
	case known && (val >= bpfMaxVarOff || val <= -bpfMaxVarOff):
		return v.errorf(errno.EINVAL, v.insnIdx, "math between %s pointer and %d is not allowed", t, val)
	case r.off >= bpfMaxVarOff || r.off <= -bpfMaxVarOff:
		return v.errorf(errno.EINVAL, v.insnIdx, "%s pointer offset %d is not allowed", t, r.off)
	case r.smin == math.MinInt64:
		return v.errorf(errno.EINVAL, v.insnIdx, "math between %s pointer and register with unbounded min value is not allowed", t)
	case r.smin >= bpfMaxVarOff || r.smin <= -bpfMaxVarOff:
		return v.errorf(errno.EINVAL, v.insnIdx, "value %d makes %s pointer be out of bounds", r.smin, t)
	}
	return nil
}

// adjustPtrMinMaxVals computes pointer +/- scalar (adjust_ptr_min_max_vals).
// dstIsOff is set for "scalar += pointer".
func (v *verifier) adjustPtrMinMaxVals(ins Insn, ptr, off regState, dstIsOff bool) error {
	dst := &v.regs()[ins.Dst]
	op := ins.Code.ALUOp()
	known := off.varOff.isConst()
	if (known && (off.smin != off.smax || off.umin != off.umax)) || off.smin > off.smax || off.umin > off.umax {
		dst.setUnknown(!v.bpfCapable)
		return nil
	}
	if ins.Code.Class() != ALU64Class {
		if op == Sub && v.allowPtrLeaks {
			dst.setUnknown(!v.bpfCapable)
			return nil
		}
		return v.errorf(errno.EACCES, v.insnIdx, "R%d 32-bit pointer arithmetic prohibited", ins.Dst)
	}
	if ptr.typ.maybeNull() {
		return v.errorf(errno.EACCES, v.insnIdx, "R%d pointer arithmetic on %s prohibited, null-check it first", ins.Dst, ptr.typ)
	}
	switch ptr.typ.base() {
	case ptrToCtx, ptrToMapValue, ptrToMapKey, ptrToStack, ptrToMem:
	case constPtrToMap:
		if known && off.smin == 0 && op == Add {
			break
		}
		fallthrough
	default:
		return v.errorf(errno.EACCES, v.insnIdx, "R%d pointer arithmetic on %s prohibited", ins.Dst, ptr.typ)
	}
	if err := v.checkRegSaneOffset(&off, ptr.typ); err != nil {
		return err
	}
	if err := v.checkRegSaneOffset(&ptr, ptr.typ); err != nil {
		return err
	}
	res := ptr
	res.markUnbounded32()
	switch op {
	case Add:
		if sum := int64(ptr.off) + off.smin; known && sum == int64(int32(sum)) {
			res.off = int32(sum)
			break
		}
		res.add64Bounds(&ptr, &off)
		res.varOff = tnumAdd(ptr.varOff, off.varOff)
	case Sub:
		if dstIsOff {
			return v.errorf(errno.EACCES, v.insnIdx, "R%d tried to subtract pointer from scalar", ins.Dst)
		}
		if ptr.typ == ptrToStack {
			return v.errorf(errno.EACCES, v.insnIdx, "R%d subtraction from stack pointer prohibited", ins.Dst)
		}
		if diff := int64(ptr.off) - off.smin; known && diff == int64(int32(diff)) {
			res.off = int32(diff)
			break
		}
		res.sub64Bounds(&ptr, &off)
		res.varOff = tnumSub(ptr.varOff, off.varOff)
	case And, Or, Xor:
		return v.errorf(errno.EACCES, v.insnIdx, "R%d bitwise operator %s on pointer prohibited", ins.Dst, aluOpString(op))
	default:
		return v.errorf(errno.EACCES, v.insnIdx, "R%d pointer arithmetic with %s operator prohibited", ins.Dst, aluOpString(op))
	}
	if err := v.checkRegSaneOffset(&res, ptr.typ); err != nil {
		return err
	}
	res.syncBounds()
	if !v.bypassSpecV1 {
		if err := v.sanitizeCheckBounds(ins.Dst, &res); err != nil {
			return err
		}
	}
	*dst = res
	return nil
}

// sanitizeCheckBounds keeps unprivileged pointer arithmetic inside its
// object (sanitize_check_bounds).
func (v *verifier) sanitizeCheckBounds(regno Register, r *regState) error {
	switch r.typ {
	case ptrToStack:
		if !r.varOff.isConst() {
			return v.errorf(errno.EACCES, v.insnIdx, "R%d variable stack access prohibited for !root, var_off=%s off=%d", regno, r.varOff, r.off)
		}
		if o := int64(r.off) + int64(r.varOff.value); o >= 0 || o < -MaxBPFStack {
			return v.errorf(errno.EACCES, v.insnIdx, "R%d stack pointer arithmetic goes out of range, prohibited for !root; off=%d", regno, o)
		}
	case ptrToMapValue:
		lo := r.smin + int64(r.off)
		hi := int64(r.umax) + int64(r.off) + 1
		if r.smin < 0 || lo < 0 || hi > int64(r.mapPtr.ValueSize) {
			return v.errorf(errno.EACCES, v.insnIdx, "R%d pointer arithmetic of map value goes out of range, prohibited for !root", regno)
		}
	}
	return nil
}

// checkCondJmp checks a conditional jump or may_goto, follows the branch
// that is taken if the outcome is known, else queues the jump target with
// the bounds each outcome implies (check_cond_jmp_op).
func (v *verifier) checkCondJmp(ins Insn) error {
	op := ins.Code.JumpOp()
	if op == Ja || op > JCond {
		return v.errorf(errno.EINVAL, v.insnIdx, "invalid BPF_JMP/JMP32 opcode %x", uint8(op))
	}
	if op == JCond {
		if ins.Code != JumpOpcode(JumpClass, JCond, ImmSource) || ins.Src != MayGoto || ins.Dst != 0 || ins.Imm != 0 {
			return v.errorf(errno.EINVAL, v.insnIdx, "invalid may_goto imm %d", ins.Imm)
		}
		prev := v.findPrevEntry(v.insnIdx)
		queued, err := v.pushStack(v.insnIdx+1, v.insnIdx)
		if err != nil {
			return err
		}
		queued.mayGotoDepth++
		if prev != nil {
			v.widenImpreciseScalars(prev.st, queued, v.insnIdx)
		}
		v.insnIdx += int(ins.Off)
		return nil
	}
	if err := v.checkRegArg(ins.Dst, srcOp); err != nil {
		return err
	}
	regs := v.regs()
	dst := &regs[ins.Dst]
	var src *regState
	x := ins.Code.Source() == RegSource
	var fake regState
	if x {
		if ins.Imm != 0 {
			return v.errorf(errno.EINVAL, v.insnIdx, "BPF_JMP/JMP32 uses reserved fields")
		}
		if err := v.checkRegArg(ins.Src, srcOp); err != nil {
			return err
		}
		src = &regs[ins.Src]
		if v.isPointerValue(ins.Src) {
			return v.errorf(errno.EACCES, v.insnIdx, "R%d pointer comparison prohibited", ins.Src)
		}
	} else {
		if ins.Src != 0 {
			return v.errorf(errno.EINVAL, v.insnIdx, "BPF_JMP/JMP32 uses reserved fields")
		}
		fake.setConst(uint64(int64(ins.Imm)), false)
		src = &fake
	}
	jmp32 := ins.Code.Class() == Jump32Class
	pred := branchTaken(dst, src, op, jmp32)
	if pred >= 0 {
		var mask uint16
		if !dst.typ.isPointer() {
			mask |= regBit(ins.Dst)
		}
		if x && !src.typ.isPointer() {
			mask |= regBit(ins.Src)
		}
		v.markPrecise(v.insnIdx, mask)
	}
	switch pred {
	case 1:
		if v.log.on() {
			v.printInsnState(v.cur.curframe())
		}
		v.insnIdx += int(ins.Off)
		return nil
	case 0:
		if v.log.on() {
			v.printInsnState(v.cur.curframe())
		}
		return nil
	}
	var linked []linkedReg
	if x && src.typ == scalarValue && src.id != 0 {
		linked = collectLinkedRegs(v.cur.cur(), src.id, linked)
	}
	if dst.typ == scalarValue && dst.id != 0 {
		linked = collectLinkedRegs(v.cur.cur(), dst.id, linked)
	}
	other, err := v.pushStack(v.insnIdx+int(ins.Off)+1, v.insnIdx)
	if err != nil {
		return err
	}
	oregs := &other.cur().regs
	if x {
		v.regSetMinMax(&oregs[ins.Dst], &oregs[ins.Src], dst, src, op, jmp32)
	} else {
		fake2 := fake
		v.regSetMinMax(&oregs[ins.Dst], &fake, dst, &fake2, op, jmp32)
	}
	if x && src.typ == scalarValue && src.id != 0 {
		syncLinkedRegs(v.cur.cur(), src, linked)
		syncLinkedRegs(other.cur(), &oregs[ins.Src], linked)
	}
	if dst.typ == scalarValue && dst.id != 0 {
		syncLinkedRegs(v.cur.cur(), dst, linked)
		syncLinkedRegs(other.cur(), &oregs[ins.Dst], linked)
	}
	if len(linked) > 0 {
		mask := regBit(ins.Dst)
		if x {
			mask |= regBit(ins.Src)
		}
		for _, e := range linked {
			if e.isReg {
				mask |= regBit(Register(e.idx))
			}
		}
		v.aux[v.insnIdx].linked |= mask
		v.precisionDirty = true
	}
	if !jmp32 && !x && ins.Imm == 0 && (op == JEq || op == JNE) && dst.typ.maybeNull() {
		id := dst.id
		markPtrOrNullRegs(v.cur, id, op == JNE)
		markPtrOrNullRegs(other, id, op == JEq)
	} else if v.isPointerValue(ins.Dst) {
		return v.errorf(errno.EACCES, v.insnIdx, "R%d pointer comparison prohibited", ins.Dst)
	}
	if v.log.on() {
		v.printInsnState(v.cur.curframe())
	}
	return nil
}

// linkedReg names a scalar of the current frame that shares an id: a
// register or a spilled stack slot (struct linked_reg).
type linkedReg struct {
	isReg bool
	idx   int
}

// linkedRegsMax is LINKED_REGS_MAX: at most this many registers are tied
// to one comparison; the rest lose their id.
const linkedRegsMax = 6

// collectLinkedRegs appends the scalars of frame f that share id
// (collect_linked_regs). The model links within the current frame only;
// the kernel also looks in the callers' frames, which can only tighten
// bounds further.
func collectLinkedRegs(f *funcState, id uint32, set []linkedReg) []linkedReg {
	id &^= addConstID
	add := func(r *regState, e linkedReg) {
		if r.typ != scalarValue || r.id&^addConstID != id {
			return
		}
		if len(set) < linkedRegsMax {
			set = append(set, e)
		} else {
			r.id = 0
		}
	}
	for i := R0; i < RFP; i++ {
		add(&f.regs[i], linkedReg{isReg: true, idx: int(i)})
	}
	for j := range f.stack {
		if f.stack[j].isSpilled() {
			add(&f.stack[j].spilled, linkedReg{idx: j})
		}
	}
	return set
}

// syncLinkedRegs copies what is known of known into every scalar linked to
// it, adjusting for a constant difference (sync_linked_regs).
func syncLinkedRegs(f *funcState, known *regState, set []linkedReg) {
	for _, e := range set {
		var r *regState
		if e.isReg {
			r = &f.regs[e.idx]
		} else {
			r = &f.stack[e.idx].spilled
		}
		if r.typ != scalarValue || r == known || r.id&^addConstID != known.id&^addConstID {
			continue
		}
		if (r.id&addConstID == 0 && known.id&addConstID == 0) || r.off == known.off {
			*r = *known
			continue
		}
		off, id := r.off, r.id
		var delta regState
		delta.setConst(uint64(int64(off)-int64(known.off)), false)
		*r = *known
		r.off, r.id = off, id
		r.minMaxAdd(&delta)
	}
}

// regSetMinMax narrows both outcomes of a comparison of two scalars
// (reg_set_min_max).
func (v *verifier) regSetMinMax(t1, t2, f1, f2 *regState, op JumpOp, jmp32 bool) {
	if f1.typ != scalarValue || f2.typ != scalarValue {
		return
	}
	refineCond(f1, f2, reverseJump(op), jmp32)
	f1.syncBounds()
	f2.syncBounds()
	refineCond(t1, t2, op, jmp32)
	t1.syncBounds()
	t2.syncBounds()
	v.boundsSanityCheck(t1, "true_reg1")
	v.boundsSanityCheck(t2, "true_reg2")
	v.boundsSanityCheck(f1, "false_reg1")
	v.boundsSanityCheck(f2, "false_reg2")
}

// markPtrOrNullRegs resolves every copy of a maybe-NULL pointer after its
// NULL check (mark_ptr_or_null_regs): a NULL one becomes the scalar 0, a
// non-NULL one loses the maybe-NULL flag.
func markPtrOrNullRegs(st *vstate, id uint32, isNull bool) {
	mark := func(r *regState) {
		if !r.typ.maybeNull() || r.id != id {
			return
		}
		if isNull {
			r.typ = scalarValue
		} else {
			r.typ &^= ptrMaybeNull
		}
		r.id = 0
	}
	for _, f := range st.frames {
		for i := range f.regs {
			mark(&f.regs[i])
		}
		for i := range f.stack {
			if f.stack[i].isSpilled() {
				mark(&f.stack[i].spilled)
			}
		}
	}
}

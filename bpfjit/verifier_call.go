package bpfjit

import "github.com/arenasim/arenasim/internal/errno"

// clearCallerSavedRegs makes r0-r5 unreadable after a call
// (clear_caller_saved_regs).
func (v *verifier) clearCallerSavedRegs(f *funcState) {
	for r := R0; r <= R5; r++ {
		f.regs[r].setUnknown(!v.bpfCapable)
		f.regs[r].typ = notInit
		v.log.scratchReg(r)
		f.regWritten |= regBit(r)
	}
}

// checkFuncCall enters a static subprogram: a new frame whose r1-r5 are
// the caller's arguments (check_func_call, setup_func_entry).
func (v *verifier) checkFuncCall(ins Insn) error {
	target := v.insnIdx + int(ins.Imm) + 1
	sp := v.findSubprog(target)
	if sp < 0 {
		return v.errorf(errno.EFAULT, v.insnIdx, "verifier bug: target of func call at insn %d is not a program", target)
	}
	st := v.cur
	if st.curframe()+1 >= maxCallFrames {
		return v.errorf(errno.E2BIG, v.insnIdx, "the call stack of %d frames is too deep", st.curframe()+2)
	}
	caller := st.cur()
	callee := v.initFuncState(v.insnIdx, uint8(st.curframe()+1), sp)
	for r := R1; r <= R5; r++ {
		callee.regs[r] = caller.regs[r]
	}
	callee.regWritten = caller.regWritten & argRegs
	st.frames = append(st.frames, callee)
	v.clearCallerSavedRegs(caller)
	v.insnIdx = v.subprogs[sp].start - 1
	if v.log.on() {
		v.log.printf("caller:\n")
		v.printVerifierState(st, int(caller.frameno), true)
		v.log.printf("callee:\n")
		v.printVerifierState(st, st.curframe(), true)
	}
	return nil
}

// prepareFuncExit returns from a subprogram to its caller (prepare_func_exit).
func (v *verifier) prepareFuncExit() error {
	st := v.cur
	callee := st.cur()
	r0 := callee.regs[R0]
	if r0.typ == ptrToStack {
		return v.errorf(errno.EINVAL, v.insnIdx, "cannot return stack pointer to the caller")
	}
	caller := st.frames[st.curframe()-1]
	caller.regs[R0] = r0
	caller.regWritten = caller.regWritten&^1 | callee.regWritten&1
	v.insnIdx = callee.callsite + 1
	if v.log.on() {
		v.log.printf("returning from callee:\n")
		v.printVerifierState(st, st.curframe(), true)
		v.log.printf("to caller at %d:\n", v.insnIdx)
		v.printVerifierState(st, st.curframe()-1, true)
	}
	st.frames = st.frames[:len(st.frames)-1]
	return nil
}

// checkHelperCall checks a helper call against its prototype and types r0
// (check_helper_call, check_func_arg).
func (v *verifier) checkHelperCall(ins Insn) error {
	id := ins.Imm
	fn := v.env.Helpers[id]
	if id < 0 || id >= BPFFuncMaxID {
		return v.errorf(errno.EINVAL, v.insnIdx, "invalid func %s#%d", helperNameOr(fn, id), id)
	}
	if fn == nil {
		return v.errorf(errno.EINVAL, v.insnIdx, "program of this type cannot use helper %s#%d", helperNameOr(fn, id), id)
	}
	if !v.env.Sleepable && fn.MightSleep {
		return v.errorf(errno.EINVAL, v.insnIdx, "helper call might sleep in a non-sleepable prog")
	}
	regs := v.regs()
	var mapPtr *MapInfo
	constKey := int64(-1)
	rawRegno, rawSize := -1, 0
	for a, at := range fn.Args {
		if at == ArgDontCare {
			break
		}
		regno := R1 + Register(a)
		if err := v.checkRegArg(regno, srcOp); err != nil {
			return err
		}
		reg := &regs[regno]
		if at == ArgAnything {
			if v.isPointerValue(regno) {
				return v.errorf(errno.EACCES, v.insnIdx, "R%d leaks addr into helper function", regno)
			}
			continue
		}
		switch at {
		case ArgConstMapPtr:
			if reg.typ != constPtrToMap {
				return v.argTypeError(regno, reg, "map_ptr")
			}
			mapPtr = reg.mapPtr
		case ArgPtrToMapKey, ArgPtrToMapValue:
			if !isMemArgType(reg.typ) {
				return v.argTypeError(regno, reg, "fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_")
			}
			if mapPtr == nil {
				what := "key"
				if at == ArgPtrToMapValue {
					what = "value"
				}
				return v.errorf(errno.EACCES, v.insnIdx, "invalid map_ptr to access map->%s", what)
			}
			size := int(mapPtr.KeySize)
			if at == ArgPtrToMapValue {
				size = int(mapPtr.ValueSize)
			}
			if err := v.checkHelperMemAccess(regno, size, accessRead, false, false); err != nil {
				return err
			}
			if at == ArgPtrToMapKey && (mapPtr.Type == MapTypeArray || mapPtr.Type == MapTypePercpuArray) {
				constKey = v.constantMapKey(reg, size)
			}
		case ArgPtrToMem, ArgPtrToUninitMem:
			if !isMemArgType(reg.typ) {
				return v.argTypeError(regno, reg, "fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_")
			}
		case ArgConstSize, ArgConstSizeOrZero:
			if reg.typ != scalarValue {
				return v.argTypeError(regno, reg, "scalar")
			}
			t := accessRead
			memArg := fn.Args[a-1]
			raw := memArg == ArgPtrToUninitMem
			if raw {
				t = accessWrite
			}
			if err := v.checkMemSizeReg(regno, t, at == ArgConstSizeOrZero, raw); err != nil {
				return err
			}
			if raw && reg.varOff.isConst() && regs[regno-1].typ == ptrToStack {
				rawRegno, rawSize = int(regno-1), int(reg.umax)
			}
		case ArgPtrToCtx:
			if reg.typ != ptrToCtx {
				return v.argTypeError(regno, reg, "ctx")
			}
			if err := v.checkPtrOffReg(reg, regno); err != nil {
				return err
			}
		}
	}
	// A helper writing an uninitialised stack buffer initialises it byte by byte.
	for i := 0; i < rawSize; i++ {
		if err := v.checkMemAccess(Register(rawRegno), i, Byte, accessWrite, -1, false, false); err != nil {
			return err
		}
	}
	v.clearCallerSavedRegs(v.cur.cur())
	r0 := &regs[R0]
	switch fn.Ret {
	case RetInteger:
		r0.setUnknown(!v.bpfCapable)
	case RetVoid:
		r0.typ = notInit
	case RetPtrToMapValueOrNull:
		if mapPtr == nil {
			return v.errorf(errno.EINVAL, v.insnIdx, "kernel subsystem misconfigured verifier")
		}
		if id == FuncMapLookupElem && constKey >= 0 && constKey < int64(mapPtr.MaxEntries) {
			// An array element at a constant index in range always exists.
			r0.setPointer(ptrToMapValue)
			r0.mapPtr = mapPtr
			break
		}
		r0.setPointer(ptrToMapValue | ptrMaybeNull)
		r0.mapPtr = mapPtr
		v.idGen++
		r0.id = v.idGen
	}
	return nil
}

// helperNameOr names a helper as func_id_name does, preferring the
// environment's prototype.
func helperNameOr(fn *HelperProto, id int32) string {
	if fn != nil {
		return fn.Name
	}
	if n := HelperName(id); n != "" {
		return n
	}
	return "unknown"
}

// constantMapKey returns the key a stack pointer argument points at when
// the stack holds a known constant there, else -1 (get_constant_map_key).
// The slot needs no precision mark: the model compares spilled scalars
// exactly.
func (v *verifier) constantMapKey(key *regState, keySize int) int64 {
	if !v.bpfCapable || key.typ != ptrToStack || !key.varOff.isConst() {
		return -1
	}
	stackOff := int64(key.off) + int64(key.varOff.value)
	slot := -stackOff - 1
	spi, off := int(slot/bpfRegSize), int(slot%bpfRegSize)
	s := &v.funcOf(key).stack[spi]
	zeros := 0
	for i := off; i >= 0 && s.types[i] == stackZero; i-- {
		zeros++
	}
	if zeros >= keySize {
		return 0
	}
	if !s.isSpilledScalar() {
		return -1
	}
	spill := 0
	for i := off; i >= 0 && s.types[i] == stackSpill; i-- {
		spill++
	}
	if spill != keySize || !s.spilled.varOff.isConst() {
		return -1
	}
	return int64(s.spilled.varOff.value)
}

// isMemArgType reports the register types a helper memory argument accepts
// in this model (compatible_reg_types for ARG_PTR_TO_MEM and friends).
func isMemArgType(t regType) bool {
	switch t.base() {
	case ptrToStack, ptrToMapKey, ptrToMapValue:
		return !t.maybeNull()
	case ptrToMem:
		return !t.maybeNull()
	}
	return false
}

// argTypeError is check_reg_type's message.
func (v *verifier) argTypeError(regno Register, reg *regState, expected string) error {
	return v.errorf(errno.EACCES, v.insnIdx, "R%d type=%s expected=%s", regno, reg.typ, expected)
}

// checkHelperMemAccess checks access_size bytes at the pointer in regno
// (check_helper_mem_access).
func (v *verifier) checkHelperMemAccess(regno Register, size int, t accessType, zeroOK, raw bool) error {
	reg := &v.regs()[regno]
	switch reg.typ.base() {
	case ptrToMapKey:
		if t == accessWrite {
			return v.errorf(errno.EACCES, v.insnIdx, "R%d cannot write into %s", regno, reg.typ)
		}
		return v.checkMemRegionAccess(regno, int(reg.off), size, reg.mapPtr.KeySize, false)
	case ptrToMapValue:
		if err := v.checkMapAccessType(regno, int(reg.off), size, t); err != nil {
			return err
		}
		return v.checkMemRegionAccess(regno, int(reg.off), size, reg.mapPtr.ValueSize, zeroOK)
	case ptrToMem:
		if reg.typ.rdonlyMem() && t == accessWrite {
			return v.errorf(errno.EACCES, v.insnIdx, "R%d cannot write into %s", regno, reg.typ)
		}
		return v.checkMemRegionAccess(regno, int(reg.off), size, reg.memSize, zeroOK)
	case ptrToStack:
		return v.checkStackRangeInitialized(regno, int(reg.off), size, zeroOK, t, raw)
	}
	if zeroOK && size == 0 && reg.isNull() {
		return nil
	}
	return v.errorf(errno.EACCES, v.insnIdx, "R%d type=%s expected=%s", regno, reg.typ, ptrToStack)
}

// checkMemSizeReg checks a (pointer, size) argument pair whose size is in
// regno (check_mem_size_reg).
func (v *verifier) checkMemSizeReg(regno Register, t accessType, zeroOK, raw bool) error {
	reg := &v.regs()[regno]
	if !reg.varOff.isConst() {
		raw = false
	}
	if reg.smin < 0 {
		return v.errorf(errno.EACCES, v.insnIdx, "R%d min value is negative, either use unsigned or 'var &= const'", regno)
	}
	if reg.umin == 0 && !zeroOK {
		return v.errorf(errno.EACCES, v.insnIdx, "R%d invalid zero-sized read: u64=[%d,%d]", regno, int64(reg.umin), int64(reg.umax))
	}
	if reg.umax >= bpfMaxVarSiz {
		return v.errorf(errno.EACCES, v.insnIdx, "R%d unbounded memory access, use 'var &= const' or 'if (var < const)'", regno)
	}
	if err := v.checkHelperMemAccess(regno-1, int(reg.umax), t, zeroOK, raw); err != nil {
		return err
	}
	v.markPrecise(v.insnIdx, regBit(regno))
	return nil
}

// checkKfuncCall checks a kfunc call against its BTF prototype
// (check_kfunc_call, check_kfunc_args) for the argument kinds the arena
// kfuncs use.
func (v *verifier) checkKfuncCall(ins Insn) error {
	kf := v.aux[v.insnIdx].kfunc
	if kf == nil {
		return v.errorf(errno.EINVAL, v.insnIdx, "kernel btf_id %d is not a function", uint32(ins.Imm))
	}
	if kf.Flags&KFSleepable != 0 && !v.env.Sleepable {
		return v.errorf(errno.EACCES, v.insnIdx, "program must be sleepable to call sleepable kfunc %s", kf.Name)
	}
	if len(kf.Args) > 5 {
		return v.errorf(errno.EINVAL, v.insnIdx, "Function %s has %d > %d args", kf.Name, len(kf.Args), 5)
	}
	regs := v.regs()
	for i, a := range kf.Args {
		regno := R1 + Register(i)
		reg := &regs[regno]
		if a.Kind == KfuncArgIgnore {
			continue
		}
		if reg.typ == notInit {
			// The kernel reads the argument registers' types directly; an
			// unwritten one fails the type checks below the same way.
			return v.errorf(errno.EACCES, v.insnIdx, "R%d !read_ok", regno)
		}
		v.log.scratchReg(regno)
		if a.Kind == KfuncArgScalar {
			if reg.typ != scalarValue {
				return v.errorf(errno.EINVAL, v.insnIdx, "R%d is not a scalar", regno)
			}
			continue
		}
		if kf.Flags&KFTrustedArgs != 0 && (reg.isNull() || reg.typ.maybeNull()) {
			return v.errorf(errno.EACCES, v.insnIdx, "Possibly NULL pointer passed to trusted arg%d", i)
		}
		if reg.mapPtr == nil {
			return v.errorf(errno.EINVAL, v.insnIdx, "pointer in R%d isn't map pointer", regno)
		}
		if reg.typ != constPtrToMap {
			return v.errorf(errno.EINVAL, v.insnIdx, "arg#%d is %s expected %s or socket", i, reg.typ, reg.typ.base())
		}
		if reg.off != 0 || !reg.varOff.equalsConst(0) {
			return v.errorf(errno.EACCES, v.insnIdx, "R%d must have zero offset when passed to release func or trusted arg to kfunc", regno)
		}
	}
	v.clearCallerSavedRegs(v.cur.cur())
	r0 := &regs[R0]
	switch kf.Ret {
	case KfuncRetVoid:
		r0.typ = notInit
	case KfuncRetScalar:
		r0.setUnknown(!v.bpfCapable)
		if kf.RetSize > 0 && kf.RetSize < 8 {
			r0.coerceToSize(int(kf.RetSize))
		}
	case KfuncRetVoidPtr:
		r0.setUnknown(!v.bpfCapable)
	}
	return nil
}

package bpfjit

import (
	"math"
	"math/bits"

	"github.com/arenasim/arenasim/internal/errno"
)

type accessType uint8

const (
	accessRead accessType = iota
	accessWrite
)

// saveAuxPtrType remembers which pointer type a memory instruction used and
// rejects a second, incompatible one (save_aux_ptr_type): the rewrite for
// the JIT depends on it, so one instruction must see one kind of pointer.
func (v *verifier) saveAuxPtrType(t regType) error {
	a := &v.aux[v.insnIdx]
	if a.ptrType == notInit {
		a.ptrType = t
		return nil
	}
	mismatchOK := func(t regType) bool {
		switch t.base() {
		case ptrToCtx, ptrToArena:
			return false
		}
		return true
	}
	if t != a.ptrType && (!mismatchOK(t) || !mismatchOK(a.ptrType)) {
		return v.errorf(errno.EINVAL, v.insnIdx, "same insn cannot be used with different pointers")
	}
	return nil
}

// checkLoadMem checks LDX and load-acquire (check_load_mem); atomics ask
// for strict alignment.
func (v *verifier) checkLoadMem(ins Insn, isLdsx, strict bool) error {
	if err := v.checkRegArg(ins.Src, srcOp); err != nil {
		return err
	}
	if err := v.checkRegArg(ins.Dst, dstOpNoMark); err != nil {
		return err
	}
	srcType := v.regs()[ins.Src].typ
	if err := v.checkMemAccess(ins.Src, int(ins.Off), ins.Code.Size(), accessRead, int(ins.Dst), strict, isLdsx); err != nil {
		return err
	}
	if err := v.saveAuxPtrType(srcType); err != nil {
		return err
	}
	v.boundsSanityCheck(&v.regs()[ins.Dst], "ldx")
	return nil
}

// checkStoreReg checks STX (check_store_reg).
func (v *verifier) checkStoreReg(ins Insn) error {
	if err := v.checkRegArg(ins.Src, srcOp); err != nil {
		return err
	}
	if err := v.checkRegArg(ins.Dst, srcOp); err != nil {
		return err
	}
	dstType := v.regs()[ins.Dst].typ
	if err := v.checkMemAccess(ins.Dst, int(ins.Off), ins.Code.Size(), accessWrite, int(ins.Src), false, false); err != nil {
		return err
	}
	return v.saveAuxPtrType(dstType)
}

// checkStoreImm checks ST (the BPF_ST branch of do_check).
func (v *verifier) checkStoreImm(ins Insn) error {
	if ins.Code.Mode() != MemMode || ins.Src != 0 {
		return v.errorf(errno.EINVAL, v.insnIdx, "BPF_ST uses reserved fields")
	}
	if err := v.checkRegArg(ins.Dst, srcOp); err != nil {
		return err
	}
	dstType := v.regs()[ins.Dst].typ
	if err := v.checkMemAccess(ins.Dst, int(ins.Off), ins.Code.Size(), accessWrite, -1, false, false); err != nil {
		return err
	}
	return v.saveAuxPtrType(dstType)
}

// arenaAtomicSupported reports whether the x86-64 JIT can emit the atomic
// on an arena address (bpf_jit_supports_insn in arch/x86/net/bpf_jit_comp.c):
// not the fetching AND, OR and XOR, which need a cmpxchg loop.
func arenaAtomicSupported(ins Insn) bool {
	if ins.Code.Size() == Word || ins.Code.Size() == DWord {
		switch ins.Imm {
		case AtomicAnd | AtomicFetch, AtomicOr | AtomicFetch, AtomicXor | AtomicFetch:
			return false
		}
	}
	return true
}

// atomicPtrTypeOK reports whether an atomic may target the pointer
// (atomic_ptr_type_ok).
func (v *verifier) atomicPtrTypeOK(regno Register, ins Insn) bool {
	switch v.regs()[regno].typ.base() {
	case ptrToCtx:
		return false
	case ptrToArena:
		return arenaAtomicSupported(ins)
	}
	return true
}

// checkAtomic checks STX|ATOMIC (check_atomic).
func (v *verifier) checkAtomic(ins Insn) error {
	switch ins.Imm {
	case AtomicAdd, AtomicAdd | AtomicFetch, AtomicAnd, AtomicAnd | AtomicFetch, AtomicOr, AtomicOr | AtomicFetch,
		AtomicXor, AtomicXor | AtomicFetch, AtomicXchg, AtomicCmpXchg:
		return v.checkAtomicRMW(ins)
	case AtomicLoadAcq:
		if err := v.checkLoadMem(ins, false, true); err != nil {
			return err
		}
		if !v.atomicPtrTypeOK(ins.Src, ins) {
			return v.errorf(errno.EACCES, v.insnIdx, "BPF_ATOMIC loads from R%d %s is not allowed", ins.Src, v.regs()[ins.Src].typ)
		}
		return nil
	case AtomicStoreRel:
		if err := v.checkStoreReg(ins); err != nil {
			return err
		}
		if !v.atomicPtrTypeOK(ins.Dst, ins) {
			return v.errorf(errno.EACCES, v.insnIdx, "BPF_ATOMIC stores into R%d %s is not allowed", ins.Dst, v.regs()[ins.Dst].typ)
		}
		return nil
	}
	return v.errorf(errno.EINVAL, v.insnIdx, "BPF_ATOMIC uses invalid atomic opcode %02x", ins.Imm)
}

// checkAtomicRMW checks the read-modify-write atomics (check_atomic_rmw).
func (v *verifier) checkAtomicRMW(ins Insn) error {
	if s := ins.Code.Size(); s != Word && s != DWord {
		return v.errorf(errno.EINVAL, v.insnIdx, "invalid atomic operand size")
	}
	if err := v.checkRegArg(ins.Src, srcOp); err != nil {
		return err
	}
	if err := v.checkRegArg(ins.Dst, srcOp); err != nil {
		return err
	}
	if ins.Imm == AtomicCmpXchg {
		if err := v.checkRegArg(R0, srcOp); err != nil {
			return err
		}
		if v.isPointerValue(R0) {
			return v.errorf(errno.EACCES, v.insnIdx, "R%d leaks addr into mem", R0)
		}
	}
	if v.isPointerValue(ins.Src) {
		return v.errorf(errno.EACCES, v.insnIdx, "R%d leaks addr into mem", ins.Src)
	}
	if !v.atomicPtrTypeOK(ins.Dst, ins) {
		return v.errorf(errno.EACCES, v.insnIdx, "BPF_ATOMIC stores into R%d %s is not allowed", ins.Dst, v.regs()[ins.Dst].typ)
	}
	loadReg := -1
	if ins.Imm&AtomicFetch != 0 {
		loadReg = int(ins.Src)
		if ins.Imm == AtomicCmpXchg {
			loadReg = int(R0)
		}
		if err := v.checkRegArg(Register(loadReg), dstOp); err != nil {
			return err
		}
	}
	if err := v.checkMemAccess(ins.Dst, int(ins.Off), ins.Code.Size(), accessRead, -1, true, false); err != nil {
		return err
	}
	if loadReg >= 0 {
		if err := v.checkMemAccess(ins.Dst, int(ins.Off), ins.Code.Size(), accessRead, loadReg, true, false); err != nil {
			return err
		}
	}
	if v.regs()[ins.Dst].typ == ptrToArena {
		if err := v.saveAuxPtrType(ptrToArena); err != nil {
			return err
		}
	}
	return v.checkMemAccess(ins.Dst, int(ins.Off), ins.Code.Size(), accessWrite, -1, true, false)
}

// checkPtrAlignment checks alignment where the kernel insists on it
// (check_ptr_alignment): always for the stack and atomics, never for the
// arena; x86-64 has efficient unaligned access, so otherwise not.
func (v *verifier) checkPtrAlignment(r *regState, off, size int, strictOnce bool) error {
	strict := strictOnce
	desc := ""
	switch r.typ {
	case ptrToMapKey:
		desc = "key "
	case ptrToMapValue:
		desc = "value "
	case ptrToCtx:
		desc = "context "
	case ptrToStack:
		desc = "stack "
		strict = true
	case ptrToArena:
		return nil
	}
	if !strict || size == 1 {
		return nil
	}
	regOff := tnumAdd(r.varOff, tnumConst(uint64(int64(r.off)+int64(off))))
	if !regOff.isAligned(uint64(size)) {
		return v.errorf(errno.EACCES, v.insnIdx, "misaligned %saccess off %s+%d+%d size %d", desc, r.varOff, r.off, off, size)
	}
	return nil
}

// checkMemAccess checks that regno+off is accessible for a read or write of
// size bytes and types the loaded register (check_mem_access). valueReg is
// the register loaded into or stored from, -1 for none.
func (v *verifier) checkMemAccess(regno Register, off int, sz Size, t accessType, valueReg int, strictOnce, isLdsx bool) error {
	regs := v.regs()
	reg := &regs[regno]
	size := sz.Bytes()
	if err := v.checkPtrAlignment(reg, off, size, strictOnce); err != nil {
		return err
	}
	off += int(reg.off)
	valuePtr := func() bool { return valueReg >= 0 && v.isPointerValue(Register(valueReg)) }
	var err error
	switch {
	case reg.typ == ptrToMapKey:
		if t == accessWrite {
			return v.errorf(errno.EACCES, v.insnIdx, "write to change key R%d not allowed", regno)
		}
		if err = v.checkMemRegionAccess(regno, off, size, reg.mapPtr.KeySize, false); err != nil {
			return err
		}
		if valueReg >= 0 {
			regs[valueReg].setUnknown(!v.bpfCapable)
		}
	case reg.typ == ptrToMapValue:
		if t == accessWrite && valuePtr() {
			return v.errorf(errno.EACCES, v.insnIdx, "R%d leaks addr into map", valueReg)
		}
		if err = v.checkMapAccessType(regno, off, size, t); err != nil {
			return err
		}
		if err = v.checkMemRegionAccess(regno, off, size, reg.mapPtr.ValueSize, false); err != nil {
			return err
		}
		if t == accessRead && valueReg >= 0 {
			regs[valueReg].setUnknown(!v.bpfCapable)
		}
	case reg.typ.base() == ptrToMem:
		if reg.typ.maybeNull() {
			return v.errorf(errno.EACCES, v.insnIdx, "R%d invalid mem access '%s'", regno, reg.typ)
		}
		if t == accessWrite && reg.typ.rdonlyMem() {
			return v.errorf(errno.EACCES, v.insnIdx, "R%d cannot write into %s", regno, reg.typ)
		}
		if t == accessWrite && valuePtr() {
			return v.errorf(errno.EACCES, v.insnIdx, "R%d leaks addr into mem", valueReg)
		}
		if err = v.checkMemRegionAccess(regno, off, size, reg.memSize, false); err != nil {
			return err
		}
		if valueReg >= 0 && (t == accessRead || reg.typ.rdonlyMem()) {
			regs[valueReg].setUnknown(!v.bpfCapable)
		}
	case reg.typ == ptrToCtx:
		if t == accessWrite && valuePtr() {
			return v.errorf(errno.EACCES, v.insnIdx, "R%d leaks addr into ctx", valueReg)
		}
		if err = v.checkPtrOffReg(reg, regno); err != nil {
			return err
		}
		if err = v.checkCtxAccess(off, size, t); err != nil {
			return err
		}
		if t == accessRead && valueReg >= 0 {
			regs[valueReg].setUnknown(!v.bpfCapable)
		}
	case reg.typ == ptrToStack:
		if err = v.checkStackAccessWithinBounds(regno, off, size, t); err != nil {
			return err
		}
		if t == accessRead {
			err = v.checkStackRead(regno, off, size, valueReg)
		} else {
			err = v.checkStackWrite(regno, off, size, valueReg)
		}
		if err != nil {
			return err
		}
	case reg.typ == constPtrToMap:
		return v.errorf(errno.ENOTSUPP, v.insnIdx, "map_ptr access not supported without CONFIG_DEBUG_INFO_BTF")
	case reg.typ == ptrToArena:
		if t == accessRead && valueReg >= 0 {
			regs[valueReg].setUnknown(!v.bpfCapable)
		}
	default:
		return v.errorf(errno.EACCES, v.insnIdx, "R%d invalid mem access '%s'", regno, reg.typ)
	}
	if size < bpfRegSize && valueReg >= 0 && t == accessRead && regs[valueReg].typ == scalarValue {
		if isLdsx {
			regs[valueReg].coerceToSizeSX(size)
		} else {
			regs[valueReg].coerceToSize(size)
		}
	}
	return nil
}

// checkMapAccessType honours BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG
// (check_map_access_type).
func (v *verifier) checkMapAccessType(regno Register, off, size int, t accessType) error {
	m := v.regs()[regno].mapPtr
	if t == accessWrite && m.Flags&MapFlagRdonlyProg != 0 {
		return v.errorf(errno.EACCES, v.insnIdx, "write into map forbidden, value_size=%d off=%d size=%d", m.ValueSize, off, size)
	}
	if t == accessRead && m.Flags&MapFlagWronlyProg != 0 {
		return v.errorf(errno.EACCES, v.insnIdx, "read from map forbidden, value_size=%d off=%d size=%d", m.ValueSize, off, size)
	}
	return nil
}

// memAccessOK checks one constant access against a region, printing the
// per-type message when it fails (__check_mem_access).
func (v *verifier) memAccessOK(regno Register, off int64, size int, memSize uint32, zeroOK bool) error {
	sizeOK := size > 0 || (size == 0 && zeroOK)
	if off >= 0 && sizeOK && uint64(off)+uint64(size) <= uint64(memSize) {
		return nil
	}
	switch v.regs()[regno].typ {
	case ptrToMapKey:
		v.notef("invalid access to map key, key_size=%d off=%d size=%d", memSize, int32(off), size)
	case ptrToMapValue:
		v.notef("invalid access to map value, value_size=%d off=%d size=%d", memSize, int32(off), size)
	default:
		v.notef("invalid access to memory, mem_size=%d off=%d size=%d", memSize, int32(off), size)
	}
	return errno.EACCES
}

// checkMemRegionAccess checks a possibly variable-offset access against a
// region of memSize bytes (check_mem_region_access).
func (v *verifier) checkMemRegionAccess(regno Register, off, size int, memSize uint32, zeroOK bool) error {
	reg := &v.regs()[regno]
	if reg.smin < 0 && (reg.smin == math.MinInt64 || int64(off)+reg.smin != int64(int32(int64(off)+reg.smin)) || reg.smin+int64(off) < 0) {
		return v.errorf(errno.EACCES, v.insnIdx, "R%d min value is negative, either use unsigned index or do a if (index >=0) check.", regno)
	}
	if v.memAccessOK(regno, reg.smin+int64(off), size, memSize, zeroOK) != nil {
		return v.errorf(errno.EACCES, v.insnIdx, "R%d min value is outside of the allowed memory range", regno)
	}
	if reg.umax >= bpfMaxVarOff {
		return v.errorf(errno.EACCES, v.insnIdx, "R%d unbounded memory access, make sure to bounds check any such access", regno)
	}
	if v.memAccessOK(regno, int64(reg.umax)+int64(off), size, memSize, zeroOK) != nil {
		return v.errorf(errno.EACCES, v.insnIdx, "R%d max value is outside of the allowed memory range", regno)
	}
	return nil
}

// checkPtrOffReg requires a pointer in its original form
// (__check_ptr_off_reg with fixed_off_ok false).
func (v *verifier) checkPtrOffReg(reg *regState, regno Register) error {
	if reg.off < 0 {
		return v.errorf(errno.EACCES, v.insnIdx, "negative offset %s ptr R%d off=%d disallowed", reg.typ, regno, reg.off)
	}
	if reg.off != 0 {
		return v.errorf(errno.EACCES, v.insnIdx, "dereference of modified %s ptr R%d off=%d disallowed", reg.typ, regno, reg.off)
	}
	if !reg.varOff.isConst() || reg.varOff.value != 0 {
		return v.errorf(errno.EACCES, v.insnIdx, "variable %s access var_off=%s disallowed", reg.typ, reg.varOff)
	}
	return nil
}

// checkCtxAccess plays the program type's is_valid_access for a context of
// Ctx.Size bytes (check_ctx_access).
func (v *verifier) checkCtxAccess(off, size int, t accessType) error {
	c := v.env.Ctx
	ok := off >= 0 && off+size <= c.Size && !(t == accessWrite && c.ReadOnly) && !(c.Aligned && off%size != 0)
	if !ok {
		return v.errorf(errno.EACCES, v.insnIdx, "invalid bpf_context access off=%d size=%d", off, size)
	}
	return nil
}

// checkStackAccessWithinBounds checks a stack access against the 512-byte
// frame and, for reads, against what has been written (check_stack_access_within_bounds).
func (v *verifier) checkStackAccessWithinBounds(regno Register, off, size int, t accessType) error {
	reg := &v.regs()[regno]
	state := v.funcOf(reg)
	extra := " read from"
	if t == accessWrite {
		extra = " write to"
	}
	var minOff, maxOff int64
	if reg.varOff.isConst() {
		minOff = int64(reg.varOff.value) + int64(off)
		maxOff = minOff + int64(size)
	} else {
		if reg.smax >= bpfMaxVarOff || reg.smin <= -bpfMaxVarOff {
			return v.errorf(errno.EACCES, v.insnIdx, "invalid unbounded variable-offset%s stack R%d", extra, regno)
		}
		minOff = reg.smin + int64(off)
		maxOff = reg.smax + int64(off) + int64(size)
	}
	minValid := -int64(state.allocatedStack())
	if t == accessWrite || v.allowUninitStack {
		minValid = -MaxBPFStack
	}
	var e errno.Errno
	switch {
	case minOff < minValid || minOff > -1:
		e = errno.EACCES
	case maxOff > 0:
		e = errno.EINVAL
	}
	if e != 0 {
		if reg.varOff.isConst() {
			return v.errorf(e, v.insnIdx, "invalid%s stack R%d off=%d size=%d", extra, regno, off, size)
		}
		return v.errorf(e, v.insnIdx, "invalid variable-offset%s stack R%d var_off=%s off=%d size=%d", extra, regno, reg.varOff, off, size)
	}
	v.growStack(state, int(-minOff))
	return nil
}

// isSpillable reports pointer types that may be spilled and filled whole
// (is_spillable_regtype).
func isSpillable(t regType) bool {
	switch t.base() {
	case ptrToMapValue, ptrToStack, ptrToCtx, constPtrToMap, ptrToMem, ptrToMapKey, ptrToArena:
		return true
	}
	return false
}

// saveRegisterState spills reg into the top size bytes of slot spi
// (save_register_state).
func (v *verifier) saveRegisterState(f *funcState, spi int, reg *regState, size int) {
	s := &f.stack[spi]
	s.spilled = *reg
	if size == bpfRegSize {
		f.stackWritten |= 1 << spi
	}
	i := bpfRegSize
	for ; i > bpfRegSize-size; i-- {
		s.types[i-1] = stackSpill
	}
	for ; i > 0; i-- {
		if t := &s.types[i-1]; *t != stackZero && *t != stackInvalid {
			*t = stackMisc
		}
	}
}

func (v *verifier) checkStackWrite(regno Register, off, size, valueReg int) error {
	reg := &v.regs()[regno]
	state := v.funcOf(reg)
	if reg.varOff.isConst() {
		return v.checkStackWriteFixedOff(state, off+int(int64(reg.varOff.value)), size, valueReg)
	}
	return v.checkStackWriteVarOff(state, reg, off, size, valueReg)
}

// checkStackWriteFixedOff tracks a write at a constant stack offset,
// spilling registers whole (check_stack_write_fixed_off).
func (v *verifier) checkStackWriteFixedOff(state *funcState, off, size, valueReg int) error {
	ins := v.insns[v.insnIdx]
	slot := -off - 1
	spi := slot / bpfRegSize
	cur := v.cur.cur()
	s := &state.stack[spi]
	if !v.allowPtrLeaks && s.isSpilled() && !s.isSpilledScalar() && size != bpfRegSize {
		return v.errorf(errno.EACCES, v.insnIdx, "attempt to corrupt spilled pointer on stack")
	}
	var reg *regState
	if valueReg >= 0 {
		reg = &cur.regs[valueReg]
	}
	isST := ins.Code.Class() == StClass && ins.Code.Mode() == MemMode
	v.log.scratchStack(spi)
	switch {
	case reg != nil && off%bpfRegSize == 0 && reg.typ == scalarValue && v.bpfCapable:
		// A spilled scalar keeps its bounds, and stack slots are compared
		// exactly when pruning, so the spill relies on its exact value.
		v.markPrecise(v.insnIdx, regBit(Register(valueReg)))
		fits := bits.Len64(reg.umax) <= 8*size
		if fits {
			v.assignScalarIDBeforeMov(reg)
		}
		v.saveRegisterState(state, spi, reg, size)
		if !fits {
			s.spilled.id = 0
		}
	case reg == nil && off%bpfRegSize == 0 && isST && v.bpfCapable:
		var tmp regState
		tmp.setConst(uint64(int64(ins.Imm)), false)
		v.saveRegisterState(state, spi, &tmp, size)
	case reg != nil && isSpillable(reg.typ):
		if size != bpfRegSize {
			return v.errorf(errno.EACCES, v.insnIdx, "invalid size of register spill")
		}
		if state != cur && reg.typ == ptrToStack {
			return v.errorf(errno.EINVAL, v.insnIdx, "cannot spill pointers to stack into stack frame of the caller")
		}
		v.saveRegisterState(state, spi, reg, size)
	default:
		typ := stackMisc
		s.spilled.typ = notInit
		if s.isSpilled() {
			for i := range s.types {
				if s.types[i] != stackInvalid {
					s.types[i] = stackMisc
				}
			}
		}
		if size == bpfRegSize {
			state.stackWritten |= 1 << spi
		}
		if (reg != nil && reg.isNull()) || (reg == nil && isST && ins.Imm == 0) {
			if reg != nil {
				v.markPrecise(v.insnIdx, regBit(Register(valueReg)))
			}
			typ = stackZero
		}
		for i := 0; i < size; i++ {
			s.types[(slot-i)%bpfRegSize] = typ
		}
	}
	return nil
}

// checkStackWriteVarOff conservatively tracks a write at a variable stack
// offset: every byte it may touch becomes misc (check_stack_write_var_off).
func (v *verifier) checkStackWriteVarOff(state *funcState, ptr *regState, off, size, valueReg int) error {
	ins := v.insns[v.insnIdx]
	minOff := int(ptr.smin) + off
	maxOff := int(ptr.smax) + off + size
	var value *regState
	if valueReg >= 0 {
		value = &v.regs()[valueReg]
	}
	writingZero := (value != nil && value.isNull()) ||
		(value == nil && ins.Code.Class() == StClass && ins.Imm == 0)
	zeroUsed := false
	for i := minOff; i < maxOff; i++ {
		slot := -i - 1
		spi := slot / bpfRegSize
		s := &state.stack[spi]
		st := &s.types[slot%bpfRegSize]
		v.log.scratchStack(spi)
		if !v.allowPtrLeaks && *st != stackMisc && *st != stackZero {
			return v.errorf(errno.EINVAL, v.insnIdx, "spilled ptr in range of var-offset stack write; insn %d, ptr off: %d", v.insnIdx, i)
		}
		if writingZero && *st == stackSpill && s.isSpilledScalar() && s.spilled.varOff.equalsConst(0) {
			zeroUsed = true
			continue
		}
		s.spilled.typ = notInit
		newType := stackMisc
		if writingZero && *st == stackZero {
			newType = stackZero
			zeroUsed = true
		}
		if *st == stackInvalid && !v.allowUninitStack {
			return v.errorf(errno.EINVAL, v.insnIdx, "uninit stack in range of var-offset write prohibited for !root; insn %d, off: %d", v.insnIdx, i)
		}
		*st = newType
	}
	if zeroUsed && valueReg >= 0 {
		v.markPrecise(v.insnIdx, regBit(Register(valueReg)))
	}
	return nil
}

func (v *verifier) checkStackRead(regno Register, off, size, dstReg int) error {
	reg := &v.regs()[regno]
	state := v.funcOf(reg)
	if !reg.varOff.isConst() {
		if dstReg < 0 {
			return v.errorf(errno.EACCES, v.insnIdx, "variable offset stack pointer cannot be passed into helper function; var_off=%s off=%d size=%d", reg.varOff, off, size)
		}
		if err := v.checkStackRangeInitialized(regno, off, size, false, accessRead, false); err != nil {
			return err
		}
		minOff := int(reg.smin) + off
		maxOff := int(reg.smax) + off
		v.markRegStackRead(state, minOff, maxOff+size, dstReg)
		return nil
	}
	return v.checkStackReadFixedOff(state, off+int(int64(reg.varOff.value)), size, dstReg)
}

// markRegStackRead types a register loaded from stack bytes that are not a
// whole spill: zero if all are zero, else unknown (mark_reg_stack_read).
func (v *verifier) markRegStackRead(state *funcState, minOff, maxOff, dstReg int) {
	cur := v.cur.cur()
	zeros := 0
	for i := minOff; i < maxOff; i++ {
		slot := -i - 1
		spi := slot / bpfRegSize
		v.log.scratchStack(spi)
		if state.stack[spi].types[slot%bpfRegSize] != stackZero {
			break
		}
		zeros++
	}
	if zeros == maxOff-minOff {
		cur.regs[dstReg].setConst(0, !v.bpfCapable)
	} else {
		cur.regs[dstReg].setUnknown(!v.bpfCapable)
	}
	cur.regWritten |= regBit(Register(dstReg))
}

// checkStackReadFixedOff loads from a constant stack offset, filling a
// spilled register whole when the access matches it (check_stack_read_fixed_off).
func (v *verifier) checkStackReadFixedOff(state *funcState, off, size, dstReg int) error {
	cur := v.cur.cur()
	slot := -off - 1
	spi := slot / bpfRegSize
	s := &state.stack[spi]
	v.log.scratchStack(spi)
	if !s.isSpilled() {
		for i := 0; i < size; i++ {
			t := s.types[(slot-i)%bpfRegSize]
			if t == stackMisc || t == stackZero || (t == stackInvalid && v.allowUninitStack) {
				continue
			}
			return v.errorf(errno.EACCES, v.insnIdx, "invalid read from stack off %d+%d size %d", off, i, size)
		}
		v.markStackRead(int(state.frameno), spi)
		if dstReg >= 0 {
			v.markRegStackRead(state, off, off+size, dstReg)
		}
		return nil
	}
	spillSize := 1
	for i := bpfRegSize - 1; i > 0 && s.types[i-1] == stackSpill; i-- {
		spillSize++
	}
	if size != bpfRegSize || spillSize != bpfRegSize {
		if s.spilled.typ != scalarValue {
			return v.errorf(errno.EACCES, v.insnIdx, "invalid size of register fill")
		}
		v.markStackRead(int(state.frameno), spi)
		if dstReg < 0 {
			return nil
		}
		if size <= spillSize && off%bpfRegSize == 0 {
			cur.regs[dstReg] = s.spilled
			if bits.Len64(s.spilled.umax) > size*8 {
				cur.regs[dstReg].id = 0
			}
		} else {
			spillCnt, zeroCnt := 0, 0
			for i := 0; i < size; i++ {
				switch t := s.types[(slot-i)%bpfRegSize]; {
				case t == stackSpill:
					spillCnt++
				case t == stackMisc:
				case t == stackZero:
					zeroCnt++
				case t == stackInvalid && v.allowUninitStack:
				default:
					return v.errorf(errno.EACCES, v.insnIdx, "invalid read from stack off %d+%d size %d", off, i, size)
				}
			}
			switch {
			case spillCnt == size && s.spilled.varOff.equalsConst(0):
				cur.regs[dstReg].setConst(0, !v.bpfCapable)
			case zeroCnt == size:
				cur.regs[dstReg].setConst(0, !v.bpfCapable)
			default:
				cur.regs[dstReg].setUnknown(!v.bpfCapable)
			}
		}
		cur.regWritten |= regBit(Register(dstReg))
		return nil
	}
	if dstReg >= 0 {
		cur.regs[dstReg] = s.spilled
		cur.regWritten |= regBit(Register(dstReg))
	} else if !v.allowPtrLeaks && s.spilled.typ != scalarValue {
		return v.errorf(errno.EACCES, v.insnIdx, "leaking pointer from stack off %d", off)
	}
	v.markStackRead(int(state.frameno), spi)
	return nil
}

// checkStackRangeInitialized checks that a helper (or a variable-offset
// load) reads only initialised stack bytes; a helper writing the range
// makes them misc (check_stack_range_initialized).
func (v *verifier) checkStackRangeInitialized(regno Register, off, size int, zeroOK bool, t accessType, rawMode bool) error {
	reg := &v.regs()[regno]
	state := v.funcOf(reg)
	if size == 0 && !zeroOK {
		return v.errorf(errno.EACCES, v.insnIdx, "invalid zero-sized read")
	}
	if err := v.checkStackAccessWithinBounds(regno, off, size, t); err != nil {
		return err
	}
	var minOff, maxOff int
	if reg.varOff.isConst() {
		minOff = int(int64(reg.varOff.value)) + off
		maxOff = minOff
	} else {
		if !v.bypassSpecV1 {
			return v.errorf(errno.EACCES, v.insnIdx, "R%d variable offset stack access prohibited for !root, var_off=%s", regno, reg.varOff)
		}
		rawMode = false
		minOff = int(reg.smin) + off
		maxOff = int(reg.smax) + off
	}
	if rawMode {
		return nil
	}
	for i := minOff; i < maxOff+size; i++ {
		slot := -i - 1
		spi := slot / bpfRegSize
		if state.allocatedStack() <= slot {
			return v.errorf(errno.EFAULT, v.insnIdx, "allocated_stack too small")
		}
		s := &state.stack[spi]
		st := &s.types[slot%bpfRegSize]
		v.markStackRead(int(state.frameno), spi)
		switch {
		case *st == stackMisc:
			continue
		case *st == stackZero || (*st == stackInvalid && v.allowUninitStack):
			if t == accessWrite {
				*st = stackMisc
			}
			continue
		case s.isSpilled() && (s.spilled.typ == scalarValue || v.allowPtrLeaks):
			if t == accessWrite {
				s.spilled.setUnknown(!v.bpfCapable)
				s.scrub()
			}
			continue
		}
		if reg.varOff.isConst() {
			return v.errorf(errno.EACCES, v.insnIdx, "invalid read from stack R%d off %d+%d size %d", regno, minOff, i-minOff, size)
		}
		return v.errorf(errno.EACCES, v.insnIdx, "invalid read from stack R%d var_off %s+%d size %d", regno, reg.varOff, i-minOff, size)
	}
	return nil
}

package bpfjit

import "github.com/arenasim/arenasim/internal/errno"

// storeImm emits ST | MEM: mov size ptr [dst + off], imm.
func (j *x86JIT) storeImm(size Size, dst Register, off int16, imm int32) {
	e := &j.tmp
	switch size {
	case Byte:
		if x86IsEReg(dst) {
			e.emit2(0x41, 0xC6)
		} else {
			e.emit1(0xC6)
		}
	case Half:
		if x86IsEReg(dst) {
			e.emit3(0x66, 0x41, 0xC7)
		} else {
			e.emit2(0x66, 0xC7)
		}
	case Word:
		if x86IsEReg(dst) {
			e.emit2(0x41, 0xC7)
		} else {
			e.emit1(0xC7)
		}
	case DWord:
		e.emit2(x86Add1Mod(0x48, dst), 0xC7)
	}
	if x86IsImm8(int64(off)) {
		e.emit2(x86Add1Reg(0x40, dst), byte(off))
	} else {
		e.emit1(x86Add1Reg(0x80, dst))
		e.emit32(int32(off))
	}
	e.emitImm(uint32(imm), x86ImmBytes(size))
}

// load emits LDX | MEM and MEMSX, and the PROBE_MEM forms, which first
// check that src + off is a kernel address above the user half and below
// the vsyscall page, load 0 otherwise, and fix up a fault like an arena load.
func (j *x86JIT) load(k, proglen int, ins Insn) error {
	e := &j.tmp
	dst, src := ins.Dst, ins.Src
	m := ins.Code.Mode()
	probe := m == ProbeMemMode || m == ProbeMemSXMode
	start := 0
	if probe {
		// The kernel's limit wraps around 2^64, as u64 arithmetic does.
		limit := x86TaskSizeMax + x86PageSize
		limit -= x86VsyscallAddr
		e.movImm64(x86RegAX, x86VsyscallAddr)
		e.mov(x86RegAux, src)
		if ins.Off != 0 {
			e.maybe1Mod(x86RegAux, true)
			e.emit2(0x81, x86Add1Reg(0xC0, x86RegAux)) // add r11, off
			e.emit32(int32(ins.Off))
		}
		e.maybeMod(x86RegAux, x86RegAX, true)
		e.emit2(0x29, x86Add2Reg(0xC0, x86RegAux, x86RegAX)) // sub r11, r10
		e.movImm64(x86RegAX, limit)
		e.maybeMod(x86RegAux, x86RegAX, true)
		e.emit2(0x39, x86Add2Reg(0xC0, x86RegAux, x86RegAX)) // cmp r11, r10
		e.emit2(x86JA, 0)
		endOfJmp := e.len()
		e.movImm32(false, dst, 0)
		e.emit2(0xEB, 0) // jmp past the load
		start = e.len()
		e.b[endOfJmp-1] = byte(start - endOfJmp)
	}
	if m == MemSXMode || m == ProbeMemSXMode {
		e.ldsx(ins.Code.Size(), dst, src, int32(ins.Off))
	} else {
		e.ldx(ins.Code.Size(), dst, src, int32(ins.Off))
	}
	if probe {
		e.b[start-1] = byte(e.len() - start)
		if dst > R9 {
			return j.errf(errno.EFAULT, k, "verifier error")
		}
		j.extable(k, proglen, start, PtRegsOffset(x86RegMap[dst]))
	}
	return nil
}

// atomic emits STX | ATOMIC outside the arena.
func (j *x86JIT) atomic(k int, ins Insn) error {
	e := &j.tmp
	size := ins.Code.Size()
	op := ins.Imm
	dst, src := ins.Dst, ins.Src
	loadStore := op == AtomicLoadAcq || op == AtomicStoreRel
	if (size == Byte || size == Half) && !loadStore {
		return j.errf(errno.EFAULT, k, "1- and 2-byte RMW atomics are not supported")
	}
	switch op {
	case AtomicAnd | AtomicFetch, AtomicOr | AtomicFetch, AtomicXor | AtomicFetch:
		// No single x86 instruction: load, compute in r11, cmpxchg, retry.
		is64 := size == DWord
		realSrc, realDst := src, dst
		e.movReg(true, x86RegAX, R0) // cmpxchg needs rax: save r0 in r10
		if src == R0 {
			realSrc = x86RegAX
		}
		if dst == R0 {
			realDst = x86RegAX
		}
		loop := e.len()
		e.ldx(size, R0, realDst, int32(ins.Off))
		e.movReg(is64, x86RegAux, R0)
		e.maybeMod(x86RegAux, realSrc, is64)
		e.emit2(x86SimpleALU(ALUOp(op&^AtomicFetch)), x86Add2Reg(0xC0, x86RegAux, realSrc))
		e.atomicRMW(AtomicCmpXchg, realDst, x86RegAux, ins.Off, size)
		e.emit2(x86JNE, byte(-(e.len()-loop)-2))
		e.movReg(is64, realSrc, R0) // the old value
		e.movReg(true, R0, x86RegAX)
		return nil
	case AtomicLoadAcq:
		// x86 loads are already acquires and stores releases (TSO).
		e.ldx(size, dst, src, int32(ins.Off))
		return nil
	case AtomicStoreRel:
		e.stx(size, dst, src, int32(ins.Off))
		return nil
	}
	if !e.atomicRMW(op, dst, src, ins.Off, size) {
		return j.errf(errno.EFAULT, k, "unknown atomic opcode")
	}
	return nil
}

// extable records the exception-table entry of the access that starts at
// byte start of the current insn and ends at its current end. reg is the
// pt_regs offset to clear, or ExDontClear. Entries only exist once the
// image does (the kernel's aux->extable is NULL while sizing).
func (j *x86JIT) extable(k, proglen, start, reg int) {
	if j.image == 0 {
		return
	}
	off := proglen + start
	at := j.image + uint64(off)
	slot := x86ExtableAddr(j.image, len(j.code)) + uint64(len(j.ex))*X86ExEntrySize
	j.ex = append(j.ex, X86ExEntry{
		Slot:   j.fn.insns[k].slot,
		Offset: off,
		Addr:   at,
		Insn:   int32(at - slot),
		Fixup:  int32(j.tmp.len()-start) | int32(reg)<<8,
		Data:   ExTypeBPF,
	})
}

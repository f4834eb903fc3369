package bpfjit

// This file holds the per-instruction encoders of arch/x86/net/bpf_jit_comp.c
// (emit_mov_imm32, emit_ldx_index, emit_atomic_rmw, ...). Each keeps the
// kernel's byte-level choices, because those choices are what a jited dump
// shows: "mov eax, imm32" instead of "mov rax, imm32" for non-negative
// constants, "xor eax, eax" for zero, a disp8 even for a zero offset.

// movImm32 models emit_mov_imm32. With signPropagate (ALU64) a negative
// constant is loaded by the sign-extending "mov r64, imm32"; otherwise the
// shorter zero-extending "mov r32, imm32", or "xor r32, r32" for zero.
func (e *x86Buf) movImm32(signPropagate bool, dst Register, imm uint32) {
	if signPropagate && int32(imm) < 0 {
		e.emit3(x86Add1Mod(0x48, dst), 0xC7, x86Add1Reg(0xC0, dst))
		e.emitImm(imm, 4)
		return
	}
	if imm == 0 {
		if x86IsEReg(dst) {
			e.emit1(x86Add2Mod(0x40, dst, dst))
		}
		e.emit2(0x31, x86Add2Reg(0xC0, dst, dst))
		return
	}
	if x86IsEReg(dst) {
		e.emit1(x86Add1Mod(0x40, dst))
	}
	e.emit1(x86Add1Reg(0xB8, dst))
	e.emitImm(imm, 4)
}

// movImm64 models emit_mov_imm64: the shortest of mov r32, mov r64 (sign
// extended imm32) and movabs.
func (e *x86Buf) movImm64(dst Register, v uint64) {
	switch {
	case x86IsUimm32(v):
		e.movImm32(false, dst, uint32(v))
	case x86IsSimm32(int64(v)):
		e.movImm32(true, dst, uint32(v))
	default:
		e.emit2(x86Add1Mod(0x48, dst), x86Add1Reg(0xB8, dst))
		e.emitImm(uint32(v), 4)
		e.emitImm(uint32(v>>32), 4)
	}
}

// movReg models emit_mov_reg: a 64-bit move (omitted when dst == src) or a
// 32-bit one, which always exists because it clears the upper half.
func (e *x86Buf) movReg(is64 bool, dst, src Register) {
	if is64 {
		e.mov(dst, src)
		return
	}
	if x86IsEReg(dst) || x86IsEReg(src) {
		e.emit1(x86Add2Mod(0x40, dst, src))
	}
	e.emit2(0x89, x86Add2Reg(0xC0, dst, src))
}

// movsxReg models emit_movsx_reg (movsbq/movswq/movslq, movsbl/movswl).
func (e *x86Buf) movsxReg(bits int16, is64 bool, dst, src Register) {
	if is64 {
		switch bits {
		case 8:
			e.emit4(x86Add2Mod(0x48, src, dst), 0x0f, 0xbe, x86Add2Reg(0xC0, src, dst))
		case 16:
			e.emit4(x86Add2Mod(0x48, src, dst), 0x0f, 0xbf, x86Add2Reg(0xC0, src, dst))
		case 32:
			e.emit3(x86Add2Mod(0x48, src, dst), 0x63, x86Add2Reg(0xC0, src, dst))
		}
		return
	}
	switch bits {
	case 8:
		e.emit4(x86Add2Mod(0x40, src, dst), 0x0f, 0xbe, x86Add2Reg(0xC0, src, dst))
	case 16:
		if x86IsEReg(dst) || x86IsEReg(src) {
			e.emit1(x86Add2Mod(0x40, src, dst))
		}
		e.emit3(x86Add2Mod(0x0f, src, dst), 0xbf, x86Add2Reg(0xC0, src, dst))
	}
}

// suffix models emit_insn_suffix: ModRM for [ptr + off] with val in the reg
// field, always with a displacement (disp8 if it fits, else disp32): a zero
// disp8 costs one byte but spares the r13/rbp special case.
func (e *x86Buf) suffix(ptr, val Register, off int32) {
	if x86IsImm8(int64(off)) {
		e.emit2(x86Add2Reg(0x40, ptr, val), byte(off))
		return
	}
	e.emit1(x86Add2Reg(0x80, ptr, val))
	e.emit32(off)
}

// suffixSIB models emit_insn_suffix_SIB: ModRM + SIB for
// [ptr + index*1 + off], the arena form [reg + r12 + off].
func (e *x86Buf) suffixSIB(ptr, val, index Register, off int32) {
	if x86IsImm8(int64(off)) {
		e.emit3(x86Add2Reg(0x44, R0, val), x86Add2Reg(0, ptr, index), byte(off))
		return
	}
	e.emit2(x86Add2Reg(0x84, R0, val), x86Add2Reg(0, ptr, index))
	e.emit32(off)
}

// maybeMod models maybe_emit_mod: REX.W for 64-bit operands, or a plain REX
// when either register is r8-r15.
func (e *x86Buf) maybeMod(dst, src Register, is64 bool) {
	if is64 {
		e.emit1(x86Add2Mod(0x48, dst, src))
	} else if x86IsEReg(dst) || x86IsEReg(src) {
		e.emit1(x86Add2Mod(0x40, dst, src))
	}
}

// maybe1Mod models maybe_emit_1mod.
func (e *x86Buf) maybe1Mod(reg Register, is64 bool) {
	if is64 {
		e.emit1(x86Add1Mod(0x48, reg))
	} else if x86IsEReg(reg) {
		e.emit1(x86Add1Mod(0x40, reg))
	}
}

// ldx models emit_ldx: dst = zero-extended *(size *)(src + off). B and H
// use movzx with a REX.W prefix the result does not need.
func (e *x86Buf) ldx(size Size, dst, src Register, off int32) {
	switch size {
	case Byte:
		e.emit3(x86Add2Mod(0x48, src, dst), 0x0F, 0xB6)
	case Half:
		e.emit3(x86Add2Mod(0x48, src, dst), 0x0F, 0xB7)
	case Word:
		if x86IsEReg(dst) || x86IsEReg(src) {
			e.emit2(x86Add2Mod(0x40, src, dst), 0x8B)
		} else {
			e.emit1(0x8B)
		}
	case DWord:
		e.emit2(x86Add2Mod(0x48, src, dst), 0x8B)
	}
	e.suffix(src, dst, off)
}

// ldsx models emit_ldsx: sign-extending loads (movsx/movsxd into 64 bits).
func (e *x86Buf) ldsx(size Size, dst, src Register, off int32) {
	switch size {
	case Byte:
		e.emit3(x86Add2Mod(0x48, src, dst), 0x0F, 0xBE)
	case Half:
		e.emit3(x86Add2Mod(0x48, src, dst), 0x0F, 0xBF)
	case Word:
		e.emit2(x86Add2Mod(0x48, src, dst), 0x63)
	}
	e.suffix(src, dst, off)
}

// ldxIndex models emit_ldx_index: dst = *(size *)(src + index + off).
func (e *x86Buf) ldxIndex(size Size, dst, src, index Register, off int32) {
	switch size {
	case Byte:
		e.emit3(x86Add3Mod(0x40, src, dst, index), 0x0F, 0xB6)
	case Half:
		e.emit3(x86Add3Mod(0x40, src, dst, index), 0x0F, 0xB7)
	case Word:
		e.emit2(x86Add3Mod(0x40, src, dst, index), 0x8B)
	case DWord:
		e.emit2(x86Add3Mod(0x48, src, dst, index), 0x8B)
	}
	e.suffixSIB(src, dst, index, off)
}

// stx models emit_stx: *(size *)(dst + off) = src.
func (e *x86Buf) stx(size Size, dst, src Register, off int32) {
	switch size {
	case Byte:
		if x86IsEReg(dst) || x86IsEReg8L(src) {
			e.emit2(x86Add2Mod(0x40, dst, src), 0x88)
		} else {
			e.emit1(0x88)
		}
	case Half:
		if x86IsEReg(dst) || x86IsEReg(src) {
			e.emit3(0x66, x86Add2Mod(0x40, dst, src), 0x89)
		} else {
			e.emit2(0x66, 0x89)
		}
	case Word:
		if x86IsEReg(dst) || x86IsEReg(src) {
			e.emit2(x86Add2Mod(0x40, dst, src), 0x89)
		} else {
			e.emit1(0x89)
		}
	case DWord:
		e.emit2(x86Add2Mod(0x48, dst, src), 0x89)
	}
	e.suffix(dst, src, off)
}

// stxIndex models emit_stx_index: *(size *)(dst + index + off) = src. The
// byte form always carries a REX prefix (the index is r12), so sil/dil/bpl
// never turn into dh/bh/ch.
func (e *x86Buf) stxIndex(size Size, dst, src, index Register, off int32) {
	e.indexOp(size, dst, src, index, 0x88, 0x89)
	e.suffixSIB(dst, src, index, off)
}

// indexOp emits the prefixes and opcode of a store to [base + index + off]
// with reg in the ModRM reg field: op8 for a byte, op for wider sizes.
func (e *x86Buf) indexOp(size Size, base, reg, index Register, op8, op byte) {
	switch size {
	case Byte:
		e.emit2(x86Add3Mod(0x40, base, reg, index), op8)
	case Half:
		e.emit3(0x66, x86Add3Mod(0x40, base, reg, index), op)
	case Word:
		e.emit2(x86Add3Mod(0x40, base, reg, index), op)
	case DWord:
		e.emit2(x86Add3Mod(0x48, base, reg, index), op)
	}
}

// x86ImmBytes is bpf_size_to_x86_bytes: the immediate width of a store
// (a DW store takes a sign-extended imm32).
func x86ImmBytes(s Size) int {
	switch s {
	case Word, DWord:
		return 4
	case Half:
		return 2
	case Byte:
		return 1
	}
	return 0
}

// stIndex models emit_st_index: *(size *)(dst + index + off) = imm.
func (e *x86Buf) stIndex(size Size, dst, index Register, off, imm int32) {
	e.indexOp(size, dst, R0, index, 0xC6, 0xC7)
	e.suffixSIB(dst, R0, index, off)
	e.emitImm(uint32(imm), x86ImmBytes(size))
}

// atomicOpcode appends the opcode bytes of a lock-prefixed read-modify-write
// (the switch shared by emit_atomic_rmw and emit_atomic_rmw_index). It
// reports false for an operation x86 cannot do in one instruction.
func (e *x86Buf) atomicOpcode(op int32) bool {
	switch op {
	case AtomicAdd:
		e.emit1(x86SimpleALU(Add))
	case AtomicAnd:
		e.emit1(x86SimpleALU(And))
	case AtomicOr:
		e.emit1(x86SimpleALU(Or))
	case AtomicXor:
		e.emit1(x86SimpleALU(Xor))
	case AtomicAdd | AtomicFetch:
		e.emit2(0x0F, 0xC1) // xadd
	case AtomicXchg:
		e.emit1(0x87)
	case AtomicCmpXchg:
		e.emit2(0x0F, 0xB1)
	default:
		return false
	}
	return true
}

// atomicRMW models emit_atomic_rmw: lock <op> [dst + off], src.
func (e *x86Buf) atomicRMW(op int32, dst, src Register, off int16, size Size) bool {
	e.emit1(0xF0)
	e.maybeMod(dst, src, size == DWord)
	if !e.atomicOpcode(op) {
		return false
	}
	e.suffix(dst, src, int32(off))
	return true
}

// atomicRMWIndex models emit_atomic_rmw_index: lock <op> [dst + index + off], src.
func (e *x86Buf) atomicRMWIndex(op int32, size Size, dst, src, index Register, off int16) bool {
	e.emit1(0xF0)
	switch size {
	case Word:
		e.emit1(x86Add3Mod(0x40, dst, src, index))
	case DWord:
		e.emit1(x86Add3Mod(0x48, dst, src, index))
	default:
		return false
	}
	if !e.atomicOpcode(op) {
		return false
	}
	e.suffixSIB(dst, src, index, int32(off))
	return true
}

// shiftX models emit_shiftx: a BMI2 shlx/shrx/sarx dst, dst, src with a
// three-byte VEX prefix (emit_3vex). pp selects the operation: 1 (66) shlx,
// 2 (F3) sarx, 3 (F2) shrx.
func (e *x86Buf) shiftX(dst, src Register, is64 bool, pp byte) {
	r := x86IsEReg(dst)
	vvvv := x86Hex(src)
	if x86IsEReg(src) {
		vvvv |= 8
	}
	b1 := byte(2) // map 0F38
	if !r {
		b1 |= 0x80 | 0x20 // ~R and ~B set: no extension
	}
	b1 |= 0x40 // ~X
	b2 := (^vvvv&0xf)<<3 | pp&3
	if is64 {
		b2 |= 0x80
	}
	e.emit3(0xc4, b1, b2)
	e.emit2(0xf7, x86Add2Reg(0xC0, dst, dst))
}

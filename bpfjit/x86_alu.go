package bpfjit

// The multi-instruction ALU sequences of do_jit.

// castUser emits addr_space_cast(src, 1, 0) (do_jit's insn_is_cast_user
// case): dst = lo32(src) == 0 ? 0 : hi32(user_vm_start) << 32 | lo32(src),
// without a branch, using r11 as the zero for cmove.
func (j *x86JIT) castUser(dst, src Register) {
	e := &j.tmp
	if dst != src {
		e.movReg(false, dst, src)
	}
	e.maybe1Mod(dst, true)
	e.emit3(0xC1, x86Add1Reg(0xE0, dst), 32) // shl dst, 32
	e.maybe1Mod(dst, true)
	hi := int32(uint32(j.o.UserVMStart >> 32))
	if dst == R0 {
		e.emit1(0x0D) // or rax, imm32
	} else {
		e.emit2(0x81, x86Add1Reg(0xC8, dst))
	}
	e.emit32(hi)
	e.maybe1Mod(dst, true)
	e.emit3(0xC1, x86Add1Reg(0xC0, dst), 32) // rol dst, 32
	e.emit3(0x4D, 0x31, 0xDB)                // xor r11, r11
	e.maybeMod(dst, dst, false)
	e.emit2(0x85, x86Add2Reg(0xC0, dst, dst)) // test dst32, dst32
	e.maybeMod(x86RegAux, dst, true)
	e.emit3(0x0F, 0x44, x86Add2Reg(0xC0, x86RegAux, dst)) // cmove dst, r11
}

// divMod emits the div/idiv sequence: x86 divides rdx:rax, so rax and rdx
// are saved around it unless they are the destination, and a divisor in
// rax or rdx (or an immediate) goes through r11.
func (j *x86JIT) divMod(ins Insn, is64 bool) {
	e := &j.tmp
	dst, src := ins.Dst, ins.Src
	if dst != R0 {
		e.emit1(0x50) // push rax
	}
	if dst != R3 {
		e.emit1(0x52) // push rdx
	}
	if ins.Code.Source() == RegSource {
		if src == R0 || src == R3 {
			e.mov(x86RegAux, src)
			src = x86RegAux
		}
	} else {
		e.emit3(0x49, 0xC7, 0xC3) // mov r11, imm32
		e.emit32(ins.Imm)
		src = x86RegAux
	}
	if dst != R0 {
		e.movReg(is64, R0, dst)
	}
	if ins.Off == 0 {
		e.emit2(0x31, 0xd2) // xor edx, edx
		e.maybe1Mod(src, is64)
		e.emit2(0xF7, x86Add1Reg(0xF0, src)) // div src
	} else {
		if is64 {
			e.emit2(0x48, 0x99) // cqo
		} else {
			e.emit1(0x99) // cdq
		}
		e.maybe1Mod(src, is64)
		e.emit2(0xF7, x86Add1Reg(0xF8, src)) // idiv src
	}
	if ins.Code.ALUOp() == Mod && dst != R3 {
		e.movReg(is64, dst, R3)
	} else if ins.Code.ALUOp() == Div && dst != R0 {
		e.movReg(is64, dst, R0)
	}
	if dst != R3 {
		e.emit1(0x5A) // pop rdx
	}
	if dst != R0 {
		e.emit1(0x58) // pop rax
	}
}

// shiftX emits a shift by a register: BMI2's shlx/shrx/sarx when the CPU has
// it, otherwise the count moves into cl, saving rcx around the shift.
func (j *x86JIT) shiftX(op ALUOp, dst, src Register, is64 bool) {
	e := &j.tmp
	if j.o.BMI2 && src != R4 {
		pp := byte(1) // 66: shlx
		switch op {
		case RSh:
			pp = 3 // F2: shrx
		case ArSh:
			pp = 2 // F3: sarx
		}
		e.shiftX(dst, src, is64, pp)
		return
	}
	origDst := dst
	if src != R4 {
		if dst == R4 {
			e.mov(x86RegAux, dst) // the value to shift is in rcx: move it away
			dst = x86RegAux
		} else {
			e.emit1(0x51) // push rcx
		}
		e.mov(R4, src)
	}
	e.maybe1Mod(dst, is64)
	e.emit2(0xD3, x86Add1Reg(x86SimpleALU(op), dst))
	if src != R4 {
		if origDst == R4 {
			e.mov(R4, x86RegAux)
		} else {
			e.emit1(0x59) // pop rcx
		}
	}
}

// swap emits be16/be32/be64 and bswap16/32/64: ror ax, 8 plus a
// zero-extension, or bswap.
func (j *x86JIT) swap(dst Register, width int32) {
	e := &j.tmp
	switch width {
	case 16:
		e.emit1(0x66)
		if x86IsEReg(dst) {
			e.emit1(0x41)
		}
		e.emit3(0xC1, x86Add1Reg(0xC8, dst), 8) // ror dst16, 8
		if x86IsEReg(dst) {
			e.emit3(0x45, 0x0F, 0xB7)
		} else {
			e.emit2(0x0F, 0xB7)
		}
		e.emit1(x86Add2Reg(0xC0, dst, dst)) // movzwl
	case 32:
		if x86IsEReg(dst) {
			e.emit2(0x41, 0x0F)
		} else {
			e.emit1(0x0F)
		}
		e.emit1(x86Add1Reg(0xC8, dst)) // bswap dst32
	case 64:
		e.emit3(x86Add1Mod(0x48, dst), 0x0F, x86Add1Reg(0xC8, dst))
	}
}

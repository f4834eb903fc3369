package bpfjit

import "encoding/binary"

// x86Buf collects the bytes of one BPF instruction's x86 code, like the
// temp[] buffer do_jit fills before copying into the image. Its methods are
// the kernel's EMIT macros and small encoders (add_1mod, add_2reg, ...) in
// arch/x86/net/bpf_jit_comp.c; registers are BPF register numbers, mapped
// through x86RegMap.
type x86Buf struct {
	b []byte
}

func (e *x86Buf) reset()       { e.b = e.b[:0] }
func (e *x86Buf) len() int     { return len(e.b) }
func (e *x86Buf) emit1(b byte) { e.b = append(e.b, b) }
func (e *x86Buf) emit2(a, b byte) {
	e.b = append(e.b, a, b)
}
func (e *x86Buf) emit3(a, b, c byte) { e.b = append(e.b, a, b, c) }
func (e *x86Buf) emit4(a, b, c, d byte) {
	e.b = append(e.b, a, b, c, d)
}

// emitImm appends the low n bytes of v, little-endian (EMIT(v, n)).
func (e *x86Buf) emitImm(v uint32, n int) {
	var t [4]byte
	binary.LittleEndian.PutUint32(t[:], v)
	e.b = append(e.b, t[:n]...)
}

func (e *x86Buf) emit32(v int32) { e.emitImm(uint32(v), 4) }

// x86Add1Mod is add_1mod: set REX.B when reg is r8-r15.
func x86Add1Mod(b byte, reg Register) byte {
	if x86IsEReg(reg) {
		b |= 1
	}
	return b
}

// x86Add2Mod is add_2mod: REX.B for r1 (r/m), REX.R for r2 (reg).
func x86Add2Mod(b byte, r1, r2 Register) byte {
	if x86IsEReg(r1) {
		b |= 1
	}
	if x86IsEReg(r2) {
		b |= 4
	}
	return b
}

// x86Add3Mod is add_3mod: REX.B for the base, REX.X for the index, REX.R
// for the register operand.
func x86Add3Mod(b byte, r1, r2, index Register) byte {
	if x86IsEReg(r1) {
		b |= 1
	}
	if x86IsEReg(index) {
		b |= 2
	}
	if x86IsEReg(r2) {
		b |= 4
	}
	return b
}

// x86Add1Reg is add_1reg: put dst in the low three bits.
func x86Add1Reg(b byte, dst Register) byte { return b + x86Hex(dst) }

// x86Add2Reg is add_2reg: dst in bits 0-2 (r/m), src in bits 3-5 (reg).
func x86Add2Reg(b byte, dst, src Register) byte { return b + x86Hex(dst) + x86Hex(src)<<3 }

// x86IsImm8 is is_imm8.
func x86IsImm8(v int64) bool { return v <= 127 && v >= -128 }

// x86IsImm8JmpOffset is is_imm8_jmp_offset: forward short jumps stop at
// +123, not +127, so that a jump that grows from 2 to 6 bytes and one that
// shrinks from 5 to 2 bytes cannot keep trading places forever and the
// passes always converge.
func x86IsImm8JmpOffset(v int64) bool { return v <= 123 && v >= -128 }

// x86IsSimm32 is is_simm32.
func x86IsSimm32(v int64) bool { return v == int64(int32(v)) }

// x86IsUimm32 is is_uimm32.
func x86IsUimm32(v uint64) bool { return v == uint64(uint32(v)) }

// mov emits EMIT_mov: a 64-bit register move, nothing when dst == src.
func (e *x86Buf) mov(dst, src Register) {
	if dst != src {
		e.emit3(x86Add2Mod(0x48, dst, src), 0x89, x86Add2Reg(0xC0, dst, src))
	}
}

// The x86 conditional-jump opcodes in their short form (Jcc rel8); the near
// form is 0x0F followed by the short opcode + 0x10, then rel32.
const (
	x86JB  = 0x72
	x86JAE = 0x73
	x86JE  = 0x74
	x86JNE = 0x75
	x86JBE = 0x76
	x86JA  = 0x77
	x86JL  = 0x7C
	x86JGE = 0x7D
	x86JLE = 0x7E
	x86JG  = 0x7F
)

// x86SimpleALU is simple_alu_opcodes: the opcode of "op r/m, reg" for the
// binary ALU ops, and the ModRM /digit base for the shifts.
func x86SimpleALU(op ALUOp) byte {
	switch op {
	case Add:
		return 0x01
	case Sub:
		return 0x29
	case And:
		return 0x21
	case Or:
		return 0x09
	case Xor:
		return 0x31
	case LSh:
		return 0xE0
	case RSh:
		return 0xE8
	case ArSh:
		return 0xF8
	}
	return 0
}

// x86Nops are the kernel's x86_nops table for 64-bit (BYTES_NOP1..11 in
// arch/x86/include/asm/nops.h).
var x86Nops = [12][]byte{
	1:  {0x90},
	2:  {0x66, 0x90},
	3:  {0x0f, 0x1f, 0x00},
	4:  {0x0f, 0x1f, 0x40, 0x00},
	5:  {0x0f, 0x1f, 0x44, 0x00, 0x00},
	6:  {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
	7:  {0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00},
	8:  {0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
	9:  {0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
	10: {0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
	11: {0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
}

// x86AsmNopMax is ASM_NOP_MAX on x86-64.
const x86AsmNopMax = 11

// nops is emit_nops: the fewest kernel NOPs covering n bytes.
func (e *x86Buf) nops(n int) {
	for n > 0 {
		k := min(n, x86AsmNopMax)
		e.b = append(e.b, x86Nops[k]...)
		n -= k
	}
}

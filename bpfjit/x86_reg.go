package bpfjit

import "fmt"

// X86Reg is an x86-64 general-purpose register number as the hardware
// encodes it: 0-7 fit in a ModRM/SIB field, 8-15 need a REX extension bit.
type X86Reg uint8

// The sixteen x86-64 general-purpose registers.
const (
	X86RAX X86Reg = iota
	X86RCX
	X86RDX
	X86RBX
	X86RSP
	X86RBP
	X86RSI
	X86RDI
	X86R8
	X86R9
	X86R10
	X86R11
	X86R12
	X86R13
	X86R14
	X86R15
)

var x86RegNames = [16]string{
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
}

func (r X86Reg) String() string {
	if r < 16 {
		return x86RegNames[r]
	}
	return fmt.Sprintf("X86Reg(%d)", uint8(r))
}

// Registers the JIT uses beyond r0-r10. The kernel numbers them after
// MAX_BPF_REG: BPF_REG_AX (11) is the verifier's scratch register, then the
// JIT's own AUX_REG, X86_REG_R9 and X86_REG_R12.
const (
	x86RegAX  Register = MaxReg     // BPF_REG_AX: r10, also used by verifier patchlets
	x86RegAux Register = MaxReg + 1 // AUX_REG: r11, JIT-internal scratch
	x86RegR9  Register = MaxReg + 2 // X86_REG_R9: the private-stack frame pointer
	x86RegR12 Register = MaxReg + 3 // X86_REG_R12: kern_vm_start for arena accesses
	x86NumReg          = MaxReg + 4
)

// x86RegMap is the JIT's register assignment (reg2hex in
// arch/x86/net/bpf_jit_comp.c, with the REX bit folded in). x86-64 r12 is
// kept out of the BPF mapping because as a base register it always costs an
// extra SIB byte; the arena code uses it as an index instead.
var x86RegMap = [x86NumReg]X86Reg{
	R0:        X86RAX,
	R1:        X86RDI,
	R2:        X86RSI,
	R3:        X86RDX,
	R4:        X86RCX,
	R5:        X86R8,
	R6:        X86RBX,
	R7:        X86R13,
	R8:        X86R14,
	R9:        X86R15,
	R10:       X86RBP,
	x86RegAX:  X86R10,
	x86RegAux: X86R11,
	x86RegR9:  X86R9,
	x86RegR12: X86R12,
}

// X86RegOf returns the x86-64 register that holds BPF register r (r0-r10).
func X86RegOf(r Register) (X86Reg, bool) {
	if r > R10 {
		return 0, false
	}
	return x86RegMap[r], true
}

// x86Hex is reg2hex: the low three bits of the register's number.
func x86Hex(r Register) byte { return byte(x86RegMap[r] & 7) }

// x86IsEReg is is_ereg: the register is r8-r15 and needs a REX bit.
func x86IsEReg(r Register) bool { return x86RegMap[r] >= X86R8 }

// x86IsEReg8L is is_ereg_8l: addressing the low byte needs a REX prefix
// (r8b-r15b, or sil/dil/bpl/spl, which without REX would mean ah-bh).
func x86IsEReg8L(r Register) bool { return x86RegMap[r] >= X86RSP }

// PtRegs offsets of the registers a BPF program lives in (struct pt_regs in
// arch/x86/include/asm/ptrace.h). An exception-table fixup names the
// register to clear by its offset here.
const (
	PtRegsR15 = 0
	PtRegsR14 = 8
	PtRegsR13 = 16
	PtRegsR12 = 24
	PtRegsBP  = 32
	PtRegsBX  = 40
	PtRegsR11 = 48
	PtRegsR10 = 56
	PtRegsR9  = 64
	PtRegsR8  = 72
	PtRegsAX  = 80
	PtRegsCX  = 88
	PtRegsDX  = 96
	PtRegsSI  = 104
	PtRegsDI  = 112
	PtRegsIP  = 128
	// PtRegsSize is sizeof(struct pt_regs) on x86-64.
	PtRegsSize = 168
)

// x86PtRegsOff maps each hardware register to its pt_regs slot (rsp has none
// in the first part of the frame the handler may clear, so it is -1).
var x86PtRegsOff = [16]int{
	X86RAX: PtRegsAX, X86RCX: PtRegsCX, X86RDX: PtRegsDX, X86RBX: PtRegsBX, X86RSP: -1,
	X86RBP: PtRegsBP, X86RSI: PtRegsSI, X86RDI: PtRegsDI, X86R8: PtRegsR8, X86R9: PtRegsR9,
	X86R10: PtRegsR10, X86R11: PtRegsR11, X86R12: PtRegsR12, X86R13: PtRegsR13,
	X86R14: PtRegsR14, X86R15: PtRegsR15,
}

// PtRegsOffset returns the offset of x86 register r in struct pt_regs, or -1.
func PtRegsOffset(r X86Reg) int {
	if r >= 16 {
		return -1
	}
	return x86PtRegsOff[r]
}

// X86RegAtPtRegs returns the register stored at pt_regs offset off.
func X86RegAtPtRegs(off int) (X86Reg, bool) {
	for r, o := range x86PtRegsOff {
		if o == off {
			return X86Reg(r), true
		}
	}
	return 0, false
}

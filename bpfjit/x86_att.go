package bpfjit

import (
	"encoding/binary"
	"strconv"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// x86LLVMText spells a decoded instruction in AT&T syntax the way LLVM's
// X86 disassembler prints it with hex immediates (what bpftool built with
// libLLVM and the kernel selftests' __jited() patterns show): a size suffix
// on the mnemonic, a tab before the operands, ", " between them, signed
// hex immediates and displacements, no zero displacement, no scale of 1,
// branch targets as addresses. code holds the instruction's bytes and pc its
// address. label, if not nil, may name a branch target instead (the
// symbolizer callback of LLVMCreateDisasm).
//
// It is written for the instructions the BPF JIT emits; anything else falls
// back to x86asm's GNU syntax.
func x86LLVMText(in x86asm.Inst, code []byte, pc uint64, label func(uint64) (string, bool)) string {
	var b strings.Builder
	lock := false
	for _, p := range in.Prefix {
		if p == 0 {
			break
		}
		if p&0xff == x86asm.PrefixLOCK {
			lock = true
		}
	}
	if lock {
		b.WriteString("lock\t\t")
	}
	mn, ok := x86LLVMMnemonic(in, code)
	if !ok {
		return x86asm.GNUSyntax(in, pc, nil)
	}
	b.WriteString(mn)
	// AT&T lists operands source first: the reverse of x86asm's Intel order.
	n := 0
	for n < len(in.Args) && in.Args[n] != nil {
		n++
	}
	if x86OpcodeByte(code, in) == 0xD1 && n == 2 {
		n = 1 // shift by one: LLVM leaves out the implicit $1
	}
	if in.Op == x86asm.NOP {
		n = min(n, 1) // the ModRM reg field of a long NOP is not an operand
	}
	for k := n - 1; k >= 0; k-- {
		if k == n-1 {
			b.WriteByte('\t')
		} else {
			b.WriteString(", ")
		}
		switch a := in.Args[k].(type) {
		case x86asm.Reg:
			b.WriteString("%" + x86LLVMReg(a))
		case x86asm.Mem:
			x86LLVMMem(&b, a)
		case x86asm.Imm:
			b.WriteString("$" + x86HexImm(x86LLVMImm(in, code, a)))
		case x86asm.Rel:
			to := pc + uint64(in.Len) + uint64(int64(a))
			if l, ok := "", false; label != nil {
				if l, ok = label(to); ok {
					b.WriteString(l)
					continue
				}
			}
			b.WriteString("0x" + strconv.FormatUint(to, 16))
		default:
			return x86asm.GNUSyntax(in, pc, nil)
		}
	}
	return b.String()
}

// x86OpcodeByte returns the first opcode byte after the prefixes (REX included).
func x86OpcodeByte(code []byte, in x86asm.Inst) byte {
	return byte(in.Opcode >> 24)
}

func x86LLVMMnemonic(in x86asm.Inst, code []byte) (string, bool) {
	op := strings.ToLower(in.Op.String())
	first := x86OpcodeByte(code, in)
	switch in.Op {
	case x86asm.JMP, x86asm.JE, x86asm.JNE, x86asm.JA, x86asm.JAE, x86asm.JB, x86asm.JBE,
		x86asm.JG, x86asm.JGE, x86asm.JL, x86asm.JLE, x86asm.LFENCE:
		return op, true
	case x86asm.CALL:
		return "callq", true
	case x86asm.RET:
		return "retq", true
	case x86asm.LEAVE:
		return "leave", true
	case x86asm.CQO:
		return "cqto", true
	case x86asm.CDQ:
		return "cltd", true
	case x86asm.NOP:
		if m, ok := in.Args[0].(x86asm.Mem); ok {
			_ = m
			return "nop" + x86SizeSuffix(in.MemBytes), true
		}
		return "nop", true
	case x86asm.MOVZX, x86asm.MOVSX, x86asm.MOVSXD:
		dst, ok := in.Args[0].(x86asm.Reg)
		if !ok {
			return "", false
		}
		srcBytes := in.MemBytes
		if r, ok := in.Args[1].(x86asm.Reg); ok {
			srcBytes = x86RegBytes(r)
		}
		s := "movz"
		if in.Op != x86asm.MOVZX {
			s = "movs"
		}
		return s + x86SizeSuffix(srcBytes) + x86SizeSuffix(x86RegBytes(dst)), true
	case x86asm.MOV:
		if first >= 0xB8 && first <= 0xBF && in.DataSize == 64 {
			return "movabsq", true
		}
	}
	if in.Args[0] == nil {
		return op, true
	}
	switch a := in.Args[0].(type) {
	case x86asm.Reg:
		return op + x86SizeSuffix(x86RegBytes(a)), true
	case x86asm.Mem:
		return op + x86SizeSuffix(in.MemBytes), true
	}
	return "", false
}

func x86SizeSuffix(bytes int) string {
	switch bytes {
	case 1:
		return "b"
	case 2:
		return "w"
	case 4:
		return "l"
	case 8:
		return "q"
	}
	return ""
}

func x86RegBytes(r x86asm.Reg) int {
	switch {
	case r >= x86asm.AL && r <= x86asm.R15B:
		return 1
	case r >= x86asm.AX && r <= x86asm.R15W:
		return 2
	case r >= x86asm.EAX && r <= x86asm.R15L:
		return 4
	case r >= x86asm.RAX && r <= x86asm.R15:
		return 8
	}
	return 0
}

var x86LLVMByteRegs = [...]string{"al", "cl", "dl", "bl", "ah", "ch", "dh", "bh", "spl", "bpl", "sil", "dil"}

// x86LLVMReg returns LLVM's name: r8b/r8w/r8d for the extended registers.
func x86LLVMReg(r x86asm.Reg) string {
	switch {
	case r >= x86asm.AL && r <= x86asm.DIB:
		return x86LLVMByteRegs[r-x86asm.AL]
	case r >= x86asm.R8B && r <= x86asm.R15B:
		return "r" + strconv.Itoa(int(r-x86asm.R8B)+8) + "b"
	case r >= x86asm.R8W && r <= x86asm.R15W:
		return "r" + strconv.Itoa(int(r-x86asm.R8W)+8) + "w"
	case r >= x86asm.R8L && r <= x86asm.R15L:
		return "r" + strconv.Itoa(int(r-x86asm.R8L)+8) + "d"
	}
	return strings.ToLower(r.String())
}

func x86LLVMMem(b *strings.Builder, m x86asm.Mem) {
	if m.Segment != 0 {
		b.WriteString("%" + x86LLVMReg(m.Segment) + ":")
	}
	if m.Disp != 0 || (m.Base == 0 && m.Index == 0) {
		b.WriteString(x86HexImm(m.Disp))
	}
	if m.Base == 0 && m.Index == 0 {
		return
	}
	b.WriteByte('(')
	if m.Base != 0 {
		b.WriteString("%" + x86LLVMReg(m.Base))
	}
	if m.Index != 0 {
		b.WriteString(",%" + x86LLVMReg(m.Index))
		if m.Scale != 1 {
			b.WriteString("," + strconv.Itoa(int(m.Scale)))
		}
	}
	b.WriteByte(')')
}

// x86LLVMImm returns the immediate sign-extended from its encoded width, as
// LLVM's decoder does for every x86 immediate.
func x86LLVMImm(in x86asm.Inst, code []byte, a x86asm.Imm) int64 {
	w := 4
	switch first := x86OpcodeByte(code, in); {
	case first == 0x83 || first == 0x6B || first == 0xC1 || first == 0xC6 || first == 0x6A:
		w = 1
	case first >= 0xB8 && first <= 0xBF && in.DataSize == 64:
		return int64(a)
	case in.DataSize == 16:
		w = 2
	case first == 0xD1:
		return int64(a)
	}
	if in.Len < w || len(code) < in.Len {
		return int64(a)
	}
	raw := code[in.Len-w : in.Len]
	switch w {
	case 1:
		return int64(int8(raw[0]))
	case 2:
		return int64(int16(binary.LittleEndian.Uint16(raw)))
	}
	return int64(int32(binary.LittleEndian.Uint32(raw)))
}

// x86HexImm prints v as LLVM's formatHex does: 0x2a, -0x10.
func x86HexImm(v int64) string {
	if v < 0 {
		return "-0x" + strconv.FormatUint(uint64(-v), 16)
	}
	return "0x" + strconv.FormatUint(uint64(v), 16)
}

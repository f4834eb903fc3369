package bpfjit

import "fmt"

// Opcode is the first byte of an instruction.
//
// For the ALU, ALU64, JMP and JMP32 classes:
//
//	msb      lsb
//	+----+-+---+
//	|op  |s|cls|   op: ALUOp or JumpOp; s: Source (K=imm, X=register)
//	+----+-+---+
//
// For the LD, LDX, ST and STX classes:
//
//	msb      lsb
//	+---+--+---+
//	|mde|sz|cls|   mode: Mode; sz: Size
//	+---+--+---+
//
// Use the accessor methods; nothing outside this file masks opcode bits.
type Opcode uint8

// Class is the instruction class, the low three bits of an opcode.
type Class uint8

// The eight instruction classes (BPF_LD ... BPF_ALU64 in include/uapi/linux/bpf_common.h).
const (
	LdClass     Class = 0x00
	LdXClass    Class = 0x01
	StClass     Class = 0x02
	StXClass    Class = 0x03
	ALUClass    Class = 0x04
	JumpClass   Class = 0x05
	Jump32Class Class = 0x06
	ALU64Class  Class = 0x07
)

const classMask = 0x07

// Class returns the opcode's class.
func (op Opcode) Class() Class { return Class(op & classMask) }

// IsLoadOrStore reports whether the class is LD, LDX, ST or STX.
func (c Class) IsLoadOrStore() bool { return c < ALUClass }

// IsALU reports whether the class is ALU or ALU64.
func (c Class) IsALU() bool { return c == ALUClass || c == ALU64Class }

// IsJump reports whether the class is JMP or JMP32.
func (c Class) IsJump() bool { return c == JumpClass || c == Jump32Class }

func (c Class) String() string {
	switch c {
	case LdClass:
		return "LD"
	case LdXClass:
		return "LDX"
	case StClass:
		return "ST"
	case StXClass:
		return "STX"
	case ALUClass:
		return "ALU"
	case JumpClass:
		return "JMP"
	case Jump32Class:
		return "JMP32"
	case ALU64Class:
		return "ALU64"
	}
	return fmt.Sprintf("Class(%#x)", uint8(c))
}

// Size is the access width of a load or store (bits 3-4).
type Size uint8

// Access sizes (BPF_W, BPF_H, BPF_B, BPF_DW).
const (
	InvalidSize Size = 0xff
	Word        Size = 0x00 // 4 bytes
	Half        Size = 0x08 // 2 bytes
	Byte        Size = 0x10 // 1 byte
	DWord       Size = 0x18 // 8 bytes
)

const sizeMask = 0x18

// Bytes returns the access width in bytes.
func (s Size) Bytes() int {
	switch s {
	case Word:
		return 4
	case Half:
		return 2
	case Byte:
		return 1
	case DWord:
		return 8
	}
	return 0
}

func (s Size) String() string {
	switch s {
	case Word:
		return "W"
	case Half:
		return "H"
	case Byte:
		return "B"
	case DWord:
		return "DW"
	}
	return "InvalidSize"
}

// Size returns the access size, or InvalidSize if the opcode is not a load or store.
func (op Opcode) Size() Size {
	if !op.Class().IsLoadOrStore() {
		return InvalidSize
	}
	return Size(op & sizeMask)
}

// Mode is the addressing mode of a load or store (the top three bits).
type Mode uint8

// Addressing modes. The three probe modes never appear in program files: the
// verifier writes them (include/linux/filter.h) so the JIT knows an access may
// fault and needs an exception-table entry.
const (
	InvalidMode Mode = 0xff
	ImmMode     Mode = 0x00 // BPF_IMM: LD_IMM64
	AbsMode     Mode = 0x20 // BPF_ABS: legacy packet access
	IndMode     Mode = 0x40 // BPF_IND: legacy packet access
	MemMode     Mode = 0x60 // BPF_MEM
	MemSXMode   Mode = 0x80 // BPF_MEMSX: sign-extending load
	AtomicMode  Mode = 0xc0 // BPF_ATOMIC (STX only)

	ProbeMemMode     Mode = 0x20 // BPF_PROBE_MEM: LDX from a possibly bad kernel pointer
	ProbeMemSXMode   Mode = 0x40 // BPF_PROBE_MEMSX
	ProbeMem32Mode   Mode = 0xa0 // BPF_PROBE_MEM32: arena access, r12 + (u32)reg + (s16)off
	ProbeMem32SXMode Mode = 0xc0 // BPF_PROBE_MEM32SX: sign-extending arena load (LDX only)
	ProbeAtomicMode  Mode = 0xe0 // BPF_PROBE_ATOMIC: arena atomic
)

const modeMask = 0xe0

// Mode returns the addressing mode, or InvalidMode if the opcode is not a load or store.
func (op Opcode) Mode() Mode {
	if !op.Class().IsLoadOrStore() {
		return InvalidMode
	}
	return Mode(op & modeMask)
}

func (m Mode) String() string {
	switch m {
	case ImmMode:
		return "IMM"
	case AbsMode:
		return "ABS"
	case IndMode:
		return "IND"
	case MemMode:
		return "MEM"
	case MemSXMode:
		return "MEMSX"
	case ProbeMem32Mode:
		return "PROBE_MEM32"
	case AtomicMode:
		return "ATOMIC"
	case ProbeAtomicMode:
		return "PROBE_ATOMIC"
	}
	return "InvalidMode"
}

// Source says where the second operand of an ALU or jump comes from.
type Source uint8

// Operand sources (BPF_K, BPF_X). For END, K means TO_LE and X means TO_BE.
const (
	InvalidSource Source = 0xff
	ImmSource     Source = 0x00 // BPF_K
	RegSource     Source = 0x08 // BPF_X
)

const sourceMask = 0x08

// Source returns the operand source, or InvalidSource for loads and stores.
func (op Opcode) Source() Source {
	if op.Class().IsLoadOrStore() {
		return InvalidSource
	}
	return Source(op & sourceMask)
}

func (s Source) String() string {
	switch s {
	case ImmSource:
		return "K"
	case RegSource:
		return "X"
	}
	return "InvalidSource"
}

// ALUOp is the operation of an ALU or ALU64 instruction (the top four bits).
type ALUOp uint8

// ALU operations. SDIV, SMOD and MOVSX share DIV, MOD and MOV's codes and
// are told apart by Insn.Off; END is byte swap.
const (
	InvalidALUOp ALUOp = 0xff
	Add          ALUOp = 0x00
	Sub          ALUOp = 0x10
	Mul          ALUOp = 0x20
	Div          ALUOp = 0x30
	Or           ALUOp = 0x40
	And          ALUOp = 0x50
	LSh          ALUOp = 0x60
	RSh          ALUOp = 0x70
	Neg          ALUOp = 0x80
	Mod          ALUOp = 0x90
	Xor          ALUOp = 0xa0
	Mov          ALUOp = 0xb0
	ArSh         ALUOp = 0xc0
	End          ALUOp = 0xd0
)

const opMask = 0xf0

// ALUOp returns the ALU operation, or InvalidALUOp if the class is not ALU or ALU64.
func (op Opcode) ALUOp() ALUOp {
	if !op.Class().IsALU() {
		return InvalidALUOp
	}
	return ALUOp(op & opMask)
}

var aluOpNames = map[ALUOp]string{
	Add: "ADD", Sub: "SUB", Mul: "MUL", Div: "DIV", Or: "OR", And: "AND", LSh: "LSH",
	RSh: "RSH", Neg: "NEG", Mod: "MOD", Xor: "XOR", Mov: "MOV", ArSh: "ARSH", End: "END",
}

func (o ALUOp) String() string {
	if n, ok := aluOpNames[o]; ok {
		return n
	}
	return "InvalidALUOp"
}

// JumpOp is the operation of a JMP or JMP32 instruction (the top four bits).
type JumpOp uint8

// Jump operations. Call and Exit exist only in the JMP class; JA in the JMP32
// class is "gotol" (offset in Imm).
const (
	InvalidJumpOp JumpOp = 0xff
	Ja            JumpOp = 0x00
	JEq           JumpOp = 0x10
	JGT           JumpOp = 0x20
	JGE           JumpOp = 0x30
	JSet          JumpOp = 0x40
	JNE           JumpOp = 0x50
	JSGT          JumpOp = 0x60
	JSGE          JumpOp = 0x70
	Call          JumpOp = 0x80
	Exit          JumpOp = 0x90
	JLT           JumpOp = 0xa0
	JLE           JumpOp = 0xb0
	JSLT          JumpOp = 0xc0
	JSLE          JumpOp = 0xd0
	JCond         JumpOp = 0xe0 // BPF_JCOND: may_goto when Src is 0
)

// JumpOp returns the jump operation, or InvalidJumpOp if the class is not JMP or JMP32.
func (op Opcode) JumpOp() JumpOp {
	if !op.Class().IsJump() {
		return InvalidJumpOp
	}
	return JumpOp(op & opMask)
}

var jumpOpNames = map[JumpOp]string{
	Ja: "JA", JEq: "JEQ", JGT: "JGT", JGE: "JGE", JSet: "JSET", JNE: "JNE", JSGT: "JSGT",
	JSGE: "JSGE", Call: "CALL", Exit: "EXIT", JLT: "JLT", JLE: "JLE", JSLT: "JSLT",
	JSLE: "JSLE", JCond: "JCOND",
}

func (o JumpOp) String() string {
	if n, ok := jumpOpNames[o]; ok {
		return n
	}
	return "InvalidJumpOp"
}

// ALUOpcode builds an ALU or ALU64 opcode.
func ALUOpcode(c Class, op ALUOp, s Source) Opcode { return Opcode(uint8(op) | uint8(s) | uint8(c)) }

// JumpOpcode builds a JMP or JMP32 opcode.
func JumpOpcode(c Class, op JumpOp, s Source) Opcode { return Opcode(uint8(op) | uint8(s) | uint8(c)) }

// MemOpcode builds a load or store opcode.
func MemOpcode(c Class, m Mode, s Size) Opcode { return Opcode(uint8(m) | uint8(s) | uint8(c)) }

// String prints the opcode's parts, e.g. "LDX|MEM|DW" or "ALU64|ADD|X".
func (op Opcode) String() string {
	c := op.Class()
	switch {
	case c.IsLoadOrStore():
		return c.String() + "|" + op.Mode().String() + "|" + op.Size().String()
	case c.IsALU():
		return c.String() + "|" + op.ALUOp().String() + "|" + op.Source().String()
	default:
		return c.String() + "|" + op.JumpOp().String() + "|" + op.Source().String()
	}
}

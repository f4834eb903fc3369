package bpfjit

import (
	"fmt"
	"strconv"
)

// The conformance syntax's mnemonics by operation (bpf_conformance's
// assembler tables; suffix "32" selects the ALU and JMP32 classes).
var (
	confALUOps = map[ALUOp]string{
		Add: "add", Sub: "sub", Mul: "mul", Div: "div", Or: "or", And: "and", LSh: "lsh",
		RSh: "rsh", Mod: "mod", Xor: "xor", Mov: "mov", ArSh: "arsh",
	}
	confJumpOps = map[JumpOp]string{
		JEq: "jeq", JGT: "jgt", JGE: "jge", JSet: "jset", JNE: "jne", JSGT: "jsgt",
		JSGE: "jsge", JLT: "jlt", JLE: "jle", JSLT: "jslt", JSLE: "jsle",
	}
	confAtomicOps = map[int32]string{AtomicAdd: "add", AtomicOr: "or", AtomicAnd: "and", AtomicXor: "xor"}
)

func confReg(r Register) string { return "%r" + strconv.Itoa(int(r)) }

// confImm prints an immediate the way bpf_conformance's disassembler does:
// small and negative values in decimal, the rest as 32-bit hex.
func confImm(v int32) string {
	if (v < 0 && v != -1<<31) || (v >= -10 && v <= 10) {
		return strconv.Itoa(int(v))
	}
	return fmt.Sprintf("%#x", uint32(v))
}

func confMem(r Register, off int16) string {
	if off == 0 {
		return "[" + confReg(r) + "]"
	}
	return fmt.Sprintf("[%s%+d]", confReg(r), off)
}

func confTarget(v int64) string { return fmt.Sprintf("%+d", v) }

// conformanceText returns the conformance-syntax text of ins, or false if the
// syntax cannot express it (it has no addr_space_cast, may_goto, pseudo or
// legacy loads, load-acquire or probe modes) or a field the form does not use
// is not zero.
func conformanceText(ins Insn, next Insn, hasNext bool) (string, bool) {
	if ins.Dst >= 16 || ins.Src >= 16 {
		return "", false
	}
	switch ins.Code.Class() {
	case ALUClass, ALU64Class:
		return confALU(ins)
	case JumpClass, Jump32Class:
		return confJump(ins)
	case LdClass:
		if ins.Code != LdImm64 || ins.Src != 0 || ins.Off != 0 || !hasNext || !ldImm64Second(next) {
			return "", false
		}
		return fmt.Sprintf("lddw %s, %#x", confReg(ins.Dst), ins.Imm64(next)), true
	case LdXClass:
		m := ins.Code.Mode()
		if ins.Imm != 0 || (m != MemMode && m != MemSXMode) || (m == MemSXMode && ins.Code.Size() == DWord) {
			return "", false
		}
		name := "ldx"
		if m == MemSXMode {
			name = "ldxs"
		}
		return fmt.Sprintf("%s%s %s, %s", name, sizeSuffix(ins.Code.Size()), confReg(ins.Dst), confMem(ins.Src, ins.Off)), true
	case StClass:
		if ins.Code.Mode() != MemMode || ins.Src != 0 {
			return "", false
		}
		return fmt.Sprintf("st%s %s, %s", sizeSuffix(ins.Code.Size()), confMem(ins.Dst, ins.Off), confImm(ins.Imm)), true
	}
	// STX
	size := ins.Code.Size()
	switch ins.Code.Mode() {
	case MemMode:
		if ins.Imm != 0 {
			return "", false
		}
		return fmt.Sprintf("stx%s %s, %s", sizeSuffix(size), confMem(ins.Dst, ins.Off), confReg(ins.Src)), true
	case AtomicMode:
	default:
		return "", false
	}
	if size != Word && size != DWord {
		return "", false
	}
	w := ""
	if size == Word {
		w = "32"
	}
	var op string
	switch ins.Imm {
	case AtomicXchg:
		op = "xchg" + w
	case AtomicCmpXchg:
		op = "cmpxchg" + w
	default:
		name, ok := confAtomicOps[ins.Imm&^AtomicFetch]
		if !ok {
			return "", false
		}
		op = name + w
		if ins.Imm&AtomicFetch != 0 {
			op = "fetch " + op
		}
	}
	return fmt.Sprintf("lock %s %s, %s", op, confMem(ins.Dst, ins.Off), confReg(ins.Src)), true
}

func confALU(ins Insn) (string, bool) {
	c := ins.Code.Class()
	x := ins.Code.Source() == RegSource
	op := ins.Code.ALUOp()
	sfx := ""
	if c == ALUClass {
		sfx = "32"
	}
	d := confReg(ins.Dst)
	if (!x && ins.Src != 0) || (x && ins.Imm != 0 && op != End) {
		return "", false
	}
	switch op {
	case Neg:
		if x || ins.Off != 0 || ins.Imm != 0 {
			return "", false
		}
		return "neg" + sfx + " " + d, true
	case End:
		if ins.Src != 0 || ins.Off != 0 || (ins.Imm != 16 && ins.Imm != 32 && ins.Imm != 64) || (c == ALU64Class && x) {
			return "", false
		}
		kind := "le"
		switch {
		case c == ALU64Class:
			kind = "bswap"
		case x:
			kind = "be"
		}
		return fmt.Sprintf("%s%d %s", kind, ins.Imm, d), true
	case Mov:
		if x && (ins.Off == 8 || ins.Off == 16 || (ins.Off == 32 && c == ALU64Class)) {
			bits := "64"
			if c == ALUClass {
				bits = "32"
			}
			return fmt.Sprintf("movsx%d%s %s, %s", ins.Off, bits, d, confReg(ins.Src)), true
		}
	}
	name, ok := confALUOps[op]
	if !ok {
		return "", false
	}
	switch {
	case ins.Off == 1 && (op == Div || op == Mod):
		name = "s" + name
	case ins.Off != 0:
		return "", false
	}
	if x {
		return name + sfx + " " + d + ", " + confReg(ins.Src), true
	}
	return name + sfx + " " + d + ", " + confImm(ins.Imm), true
}

func confJump(ins Insn) (string, bool) {
	c := ins.Code.Class()
	x := ins.Code.Source() == RegSource
	op := ins.Code.JumpOp()
	if c == Jump32Class && op == Ja && !x {
		if ins.Dst != 0 || ins.Src != 0 || ins.Off != 0 {
			return "", false
		}
		return "ja32 " + confTarget(int64(ins.Imm)), true
	}
	if c == JumpClass {
		switch op {
		case Ja:
			if x || ins.Dst != 0 || ins.Src != 0 || ins.Imm != 0 {
				return "", false
			}
			return "ja " + confTarget(int64(ins.Off)), true
		case Call:
			if x {
				if ins.Src != 0 || ins.Off != 0 || ins.Imm != 0 {
					return "", false
				}
				return "call " + confReg(ins.Dst), true
			}
			if ins.Dst != 0 || ins.Off != 0 {
				return "", false
			}
			switch ins.Src {
			case CallHelper:
				return "call " + confImm(ins.Imm), true
			case CallLocal:
				return "call local " + confTarget(int64(ins.Imm)), true
			case CallKfunc:
				return "call runtime " + confImm(ins.Imm), true
			}
			return "", false
		case Exit:
			if x || ins != (Insn{Code: ins.Code}) {
				return "", false
			}
			return "exit", true
		}
	}
	name, ok := confJumpOps[op]
	if !ok {
		return "", false
	}
	if c == Jump32Class {
		name += "32"
	}
	if x {
		if ins.Imm != 0 {
			return "", false
		}
		return fmt.Sprintf("%s %s, %s, %s", name, confReg(ins.Dst), confReg(ins.Src), confTarget(int64(ins.Off))), true
	}
	if ins.Src != 0 {
		return "", false
	}
	return fmt.Sprintf("%s %s, %s, %s", name, confReg(ins.Dst), confImm(ins.Imm), confTarget(int64(ins.Off))), true
}

package bpfjit

import (
	"fmt"
	"strconv"
)

// LLVM's operator spellings by ALU operation (BPFInstrInfo.td).
var llvmALUOps = map[ALUOp]string{
	Add: "+=", Sub: "-=", Mul: "*=", Div: "/=", Or: "|=", And: "&=", LSh: "<<=",
	RSh: ">>=", Mod: "%=", Xor: "^=", ArSh: "s>>=",
}

// LLVM's comparison spellings by jump operation.
var llvmJumpOps = map[JumpOp]string{
	JEq: "==", JGT: ">", JGE: ">=", JSet: "&", JNE: "!=", JSGT: "s>", JSGE: "s>=",
	JLT: "<", JLE: "<=", JSLT: "s<", JSLE: "s<=",
}

// Atomic read-modify-write operations as LLVM names them (lock ... op= and
// atomic_fetch_op).
var llvmAtomicOps = map[int32]struct{ sym, name string }{
	AtomicAdd: {"+=", "add"}, AtomicOr: {"|=", "or"}, AtomicAnd: {"&=", "and"}, AtomicXor: {"^=", "xor"},
}

// num prints an immediate as LLVM's formatImm does: signed decimal, or
// signed hex ("-0x5") with Hex.
func (f *Formatter) num(v int64) string {
	if !f.Hex {
		return strconv.FormatInt(v, 10)
	}
	if v < 0 {
		return "-0x" + strconv.FormatUint(uint64(-v), 16)
	}
	return "0x" + strconv.FormatUint(uint64(v), 16)
}

// target prints a branch offset: "+3", "-3" (printBrTargetOperand).
func (f *Formatter) target(v int64) string {
	if v >= 0 {
		return "+" + f.num(v)
	}
	return f.num(v)
}

// mem prints a memory operand: "r1 + 4", "r10 - 8" (printMemOperand).
func (f *Formatter) mem(r Register, off int16) string {
	if off < 0 {
		return fmt.Sprintf("r%d - %s", r, f.num(-int64(off)))
	}
	return fmt.Sprintf("r%d + %s", r, f.num(int64(off)))
}

// regName prints register r as rN, or as the 32-bit subregister wN.
func regName(r Register, w32 bool) string {
	if w32 {
		return "w" + strconv.Itoa(int(r))
	}
	return "r" + strconv.Itoa(int(r))
}

// llvm returns the LLVM-syntax text of ins, as LLVM 19's BPF disassembler
// prints it (load-acquire and store-release in LLVM 20's spelling), or false
// if the encoding has no LLVM text: an unknown operation, a non-zero field
// the form does not use, or one of the kernel-internal probe modes.
func (f *Formatter) llvm(ins Insn, next Insn, hasNext bool) (string, bool) {
	if ins.Dst >= MaxReg || ins.Src >= MaxReg {
		return "", false // LLVM has no r11-r15
	}
	switch c := ins.Code.Class(); c {
	case ALUClass, ALU64Class:
		return f.llvmALU(ins)
	case JumpClass, Jump32Class:
		return f.llvmJump(ins)
	case LdXClass:
		return f.llvmLdX(ins)
	case StClass:
		if ins.Code.Mode() != MemMode || ins.Src != 0 {
			return "", false
		}
		return fmt.Sprintf("*(u%d *)(%s) = %s", sizeBits(ins.Code.Size()), f.mem(ins.Dst, ins.Off), f.num(int64(ins.Imm))), true
	case StXClass:
		return f.llvmStX(ins)
	default:
		return f.llvmLd(ins, next, hasNext)
	}
}

func (f *Formatter) llvmALU(ins Insn) (string, bool) {
	c := ins.Code.Class()
	w := c == ALUClass
	d := regName(ins.Dst, w)
	s := regName(ins.Src, w)
	x := ins.Code.Source() == RegSource
	op := ins.Code.ALUOp()
	// Operands a form does not use must be zero: src for K, imm for X.
	if (!x && ins.Src != 0) || (x && ins.Imm != 0 && op != End && !(op == Mov && ins.Off == AddrSpaceCast && !w)) {
		return "", false
	}
	switch op {
	case Neg:
		if x || ins.Off != 0 || ins.Imm != 0 {
			return "", false
		}
		return d + " = -" + d, true
	case End:
		if ins.Src != 0 || ins.Off != 0 || (ins.Imm != 16 && ins.Imm != 32 && ins.Imm != 64) {
			return "", false
		}
		kind := "le"
		switch {
		case c == ALU64Class && !x:
			kind = "bswap"
		case c == ALU64Class:
			return "", false
		case x:
			kind = "be"
		}
		r := regName(ins.Dst, false)
		return fmt.Sprintf("%s = %s%d %s", r, kind, ins.Imm, r), true
	case Mov:
		if !x {
			if ins.Off != 0 {
				return "", false
			}
			return d + " = " + f.num(int64(ins.Imm)), true
		}
		switch {
		case ins.Off == 0:
			return d + " = " + s, true
		case ins.Off == 8 || ins.Off == 16 || (ins.Off == 32 && !w):
			return fmt.Sprintf("%s = (s%d)%s", d, ins.Off, s), true
		case ins.Off == AddrSpaceCast && !w:
			return fmt.Sprintf("%s = addr_space_cast(%s, %d, %d)", d, s, uint32(ins.Imm)>>16, uint16(ins.Imm)), true
		}
		return "", false
	}
	sym, ok := llvmALUOps[op]
	if !ok {
		return "", false
	}
	switch {
	case ins.Off == 1 && (op == Div || op == Mod):
		sym = "s" + sym
	case ins.Off != 0:
		return "", false
	}
	if x {
		return d + " " + sym + " " + s, true
	}
	return d + " " + sym + " " + f.num(int64(ins.Imm)), true
}

func (f *Formatter) llvmJump(ins Insn) (string, bool) {
	c := ins.Code.Class()
	x := ins.Code.Source() == RegSource
	op := ins.Code.JumpOp()
	if c == Jump32Class {
		if op == Ja && !x {
			if ins.Dst != 0 || ins.Src != 0 || ins.Off != 0 {
				return "", false
			}
			return "gotol " + f.target(int64(ins.Imm)), true
		}
	} else {
		switch op {
		case Ja:
			if x || ins.Dst != 0 || ins.Src != 0 || ins.Imm != 0 {
				return "", false
			}
			return "goto " + f.target(int64(ins.Off)), true
		case Call:
			if x {
				if ins.Src != 0 || ins.Off != 0 || ins.Imm != 0 {
					return "", false
				}
				return "callx " + regName(ins.Dst, false), true
			}
			// LLVM prints helper, local and kfunc calls alike.
			if ins.Dst != 0 || ins.Off != 0 || ins.Src > CallKfunc {
				return "", false
			}
			return "call " + f.num(int64(ins.Imm)), true
		case Exit:
			if x || ins != (Insn{Code: ins.Code}) {
				return "", false
			}
			return "exit", true
		case JCond:
			if x || ins.Src != MayGoto || ins.Dst != 0 || ins.Imm != 0 {
				return "", false
			}
			return "may_goto " + f.target(int64(ins.Off)), true
		}
	}
	sym, ok := llvmJumpOps[op]
	if !ok {
		return "", false
	}
	w := c == Jump32Class
	if x {
		if ins.Imm != 0 {
			return "", false
		}
		return fmt.Sprintf("if %s %s %s goto %s", regName(ins.Dst, w), sym, regName(ins.Src, w), f.target(int64(ins.Off))), true
	}
	if ins.Src != 0 {
		return "", false
	}
	return fmt.Sprintf("if %s %s %s goto %s", regName(ins.Dst, w), sym, f.num(int64(ins.Imm)), f.target(int64(ins.Off))), true
}

func (f *Formatter) llvmLdX(ins Insn) (string, bool) {
	if ins.Imm != 0 {
		return "", false
	}
	size := ins.Code.Size()
	bits := sizeBits(size)
	switch ins.Code.Mode() {
	case MemMode:
		return fmt.Sprintf("%s = *(u%d *)(%s)", regName(ins.Dst, size != DWord), bits, f.mem(ins.Src, ins.Off)), true
	case MemSXMode:
		if size == DWord {
			return "", false
		}
		return fmt.Sprintf("%s = *(s%d *)(%s)", regName(ins.Dst, false), bits, f.mem(ins.Src, ins.Off)), true
	}
	return "", false
}

func (f *Formatter) llvmStX(ins Insn) (string, bool) {
	size := ins.Code.Size()
	w := size != DWord
	bits := sizeBits(size)
	addr := f.mem(ins.Dst, ins.Off)
	s := regName(ins.Src, w)
	switch ins.Code.Mode() {
	case MemMode:
		if ins.Imm != 0 {
			return "", false
		}
		return fmt.Sprintf("*(u%d *)(%s) = %s", bits, addr, s), true
	case AtomicMode:
	default:
		return "", false
	}
	switch ins.Imm {
	case AtomicLoadAcq:
		return fmt.Sprintf("%s = load_acquire((u%d *)(%s))", regName(ins.Dst, w), bits, f.mem(ins.Src, ins.Off)), true
	case AtomicStoreRel:
		return fmt.Sprintf("store_release((u%d *)(%s), %s)", bits, addr, s), true
	}
	if size != Word && size != DWord {
		return "", false
	}
	switch ins.Imm {
	case AtomicXchg:
		if w {
			return fmt.Sprintf("%s = xchg32_32(%s, %s)", s, addr, s), true
		}
		return fmt.Sprintf("%s = xchg_64(%s, %s)", s, addr, s), true
	case AtomicCmpXchg:
		if w {
			return fmt.Sprintf("w0 = cmpxchg32_32(%s, w0, %s)", addr, s), true
		}
		return fmt.Sprintf("r0 = cmpxchg_64(%s, r0, %s)", addr, s), true
	}
	a, ok := llvmAtomicOps[ins.Imm&^AtomicFetch]
	if !ok {
		return "", false
	}
	if ins.Imm&AtomicFetch != 0 {
		return fmt.Sprintf("%s = atomic_fetch_%s((u%d *)(%s), %s)", s, a.name, bits, addr, s), true
	}
	return fmt.Sprintf("lock *(u%d *)(%s) %s %s", bits, addr, a.sym, s), true
}

func (f *Formatter) llvmLd(ins Insn, next Insn, hasNext bool) (string, bool) {
	size := ins.Code.Size()
	switch ins.Code.Mode() {
	case ImmMode:
		if size != DWord || ins.Off != 0 || !hasNext || !ldImm64Second(next) {
			return "", false
		}
		if ins.Src == PseudoNone {
			return fmt.Sprintf("%s = %s ll", regName(ins.Dst, false), f.num(int64(ins.Imm64(next)))), true
		}
		// LLVM prints only the first immediate of a pseudo load, unsigned.
		return fmt.Sprintf("ld_pseudo\t%s, %d, %d", regName(ins.Dst, false), ins.Src, uint32(ins.Imm)), true
	case AbsMode:
		if size == DWord || ins.Dst != 0 || ins.Src != 0 || ins.Off != 0 {
			return "", false
		}
		return fmt.Sprintf("r0 = *(u%d *)skb[%s]", sizeBits(size), f.num(int64(ins.Imm))), true
	case IndMode:
		if size == DWord || ins.Dst != 0 || ins.Off != 0 {
			return "", false
		}
		// LLVM's LD_IND has no immediate operand and prints none.
		return fmt.Sprintf("r0 = *(u%d *)skb[%s]", sizeBits(size), regName(ins.Src, false)), true
	}
	return "", false
}

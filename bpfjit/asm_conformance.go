package bpfjit

import (
	"strconv"
	"strings"
)

// confRegOK parses "%r0".."%r15". Like bpf_conformance's assembler it takes
// r11-r15, which no program may use, so that negative tests can name them.
func confRegOK(s string) (Register, bool) {
	if !strings.HasPrefix(s, "%r") || len(s) < 3 || (len(s) > 3 && s[2] == '0') {
		return 0, false
	}
	n, err := strconv.Atoi(s[2:])
	if err != nil || n < 0 || n > 15 {
		return 0, false
	}
	return Register(n), true
}

func (p *parser) confReg() (Register, *posError) {
	t := p.peek()
	r, ok := confRegOK(t.text)
	switch {
	case t.kind == tokIdent && strings.HasPrefix(t.text, "%") && !ok:
		return 0, errAt(t, "unknown register %s (registers are %%r0-%%r10)", t.text)
	case t.kind != tokIdent || !ok:
		return 0, expected(t, "a register %r0-%r10")
	}
	p.next()
	return r, nil
}

// confOperand reads a register or a 32-bit immediate.
func (p *parser) confOperand() (isReg bool, r Register, imm int32, err *posError) {
	if t := p.peek(); t.kind == tokIdent && strings.HasPrefix(t.text, "%") {
		r, err = p.confReg()
		return true, r, 0, err
	}
	imm, err = p.imm32("a register or an immediate", true)
	return false, 0, imm, err
}

// comma skips the optional comma between operands.
func (p *parser) comma() { p.accept(",") }

// confMem reads "[%r1]", "[%r1+8]" or "[%r10-8]". Hex offsets up to 0xffff
// are 16-bit patterns, as the suite's assembler reads them.
func (p *parser) confMem() (Register, int16, *posError) {
	if t := p.peek(); t.text != "[" {
		return 0, 0, expected(t, "a memory operand [%rN+off]")
	}
	p.next()
	r, err := p.confReg()
	if err != nil {
		return 0, 0, err
	}
	var off int16
	if t := p.peek(); t.text == "+" || t.text == "-" {
		mag, neg, hex, nt, err := p.number("an offset")
		if err != nil {
			return 0, 0, err
		}
		if off, err = off16Value(nt, mag, neg, hex, hex); err != nil {
			return 0, 0, err
		}
	}
	if err := p.expect("]"); err != nil {
		return 0, 0, err
	}
	return r, off, nil
}

// confTarget reads a jump target: a label, or "+N" / "-N" slots from the
// next instruction.
func (st *asmState) confTarget(p *parser, kind fixKind) (int64, *posError) {
	t := p.peek()
	switch {
	case t.kind == tokIdent:
		p.next()
		st.reference(t, kind)
		return 0, nil
	case t.text != "+" && t.text != "-":
		return 0, expected(t, "a label or a +N/-N jump offset")
	case kind == fixOff:
		v, err := p.off16("a jump offset", true)
		return int64(v), err
	}
	v, err := p.imm32("a jump offset", true)
	return int64(v), err
}

var confALUNames = map[string]ALUOp{
	"add": Add, "sub": Sub, "mul": Mul, "div": Div, "sdiv": Div, "or": Or, "and": And,
	"lsh": LSh, "rsh": RSh, "neg": Neg, "mod": Mod, "smod": Mod, "xor": Xor, "mov": Mov,
	"arsh": ArSh,
}

var confJumpNames = map[string]JumpOp{
	"jeq": JEq, "jgt": JGT, "jge": JGE, "jset": JSet, "jne": JNE, "jsgt": JSGT,
	"jsge": JSGE, "jlt": JLT, "jle": JLE, "jslt": JSLT, "jsle": JSLE,
}

var confSizes = map[string]Size{"b": Byte, "h": Half, "w": Word, "dw": DWord}

// splitWidth splits a trailing "32" or "64" off a mnemonic.
func splitWidth(m string) (base string, class32 bool) {
	switch {
	case strings.HasSuffix(m, "32"):
		return m[:len(m)-2], true
	case strings.HasSuffix(m, "64"):
		return m[:len(m)-2], false
	}
	return m, false
}

// confStatement assembles one statement of the conformance syntax.
func (st *asmState) confStatement(p *parser) *posError {
	t := p.next()
	if t.kind != tokIdent {
		return expected(t, "a mnemonic")
	}
	m := t.text
	var ins Insn
	var err *posError
	switch {
	case m == "exit":
		if !st.exits {
			st.exits = true
			if _, ok := st.labels["exit"]; !ok {
				st.labels["exit"] = labelDef{pc: len(st.prog), line: st.line, implicit: true}
			}
		}
		ins.Code = JumpOpcode(JumpClass, Exit, ImmSource)
	case m == "lddw":
		return st.confLddw(p)
	case m == "lock":
		ins, err = st.confLock(p, t)
	case m == "call":
		ins, err = st.confCall(p)
	case m == "ja" || m == "ja32":
		kind := fixOff
		ins.Code = JumpOpcode(JumpClass, Ja, ImmSource)
		if m == "ja32" {
			kind, ins.Code = fixImm, JumpOpcode(Jump32Class, Ja, ImmSource)
		}
		var v int64
		v, err = st.confTarget(p, kind)
		if kind == fixOff {
			ins.Off = int16(v)
		} else {
			ins.Imm = int32(v)
		}
	case strings.HasPrefix(m, "ldx") || strings.HasPrefix(m, "stx") || strings.HasPrefix(m, "st"):
		ins, err = st.confLoadStore(p, t)
	default:
		if base, c32 := splitWidth(m); confJumpNames[base] != 0 {
			ins, err = st.confJump(p, confJumpNames[base], c32)
		} else {
			ins, err = st.confALU(p, t)
		}
	}
	if err != nil {
		return err
	}
	if err := p.end(); err != nil {
		return err
	}
	st.emit(ins)
	return nil
}

func (st *asmState) confLddw(p *parser) *posError {
	dst, err := p.confReg()
	if err != nil {
		return err
	}
	p.comma()
	v, err := p.imm64("a 64-bit immediate")
	if err != nil {
		return err
	}
	if err := p.end(); err != nil {
		return err
	}
	pair := LdImm64Insns(dst, PseudoNone, v)
	st.emit(pair[:]...)
	return nil
}

// confLock assembles "lock [fetch] op[32] [%rD+off], %rS".
func (st *asmState) confLock(p *parser, lock token) (Insn, *posError) {
	fetch := p.accept("fetch")
	ot := p.peek()
	if ot.kind != tokIdent {
		return Insn{}, errAt(lock, "invalid number of operands for lock: expected [fetch] op [%%rD+off], %%rS")
	}
	p.next()
	base, c32 := splitWidth(ot.text)
	size := DWord
	if c32 {
		size = Word
	}
	var imm int32
	switch base {
	case "add":
		imm = AtomicAdd
	case "and":
		imm = AtomicAnd
	case "or":
		imm = AtomicOr
	case "xor":
		imm = AtomicXor
	case "xchg":
		imm = AtomicXchg
	case "cmpxchg":
		imm = AtomicCmpXchg
	default:
		return Insn{}, expected(ot, "an atomic operation (add, and, or, xor, xchg, cmpxchg, with 32 for 32 bits)")
	}
	if fetch {
		imm |= AtomicFetch
	}
	dst, off, err := p.confMem()
	if err != nil {
		return Insn{}, err
	}
	p.comma()
	src, err := p.confReg()
	if err != nil {
		return Insn{}, err
	}
	return Insn{Code: MemOpcode(StXClass, AtomicMode, size), Dst: dst, Src: src, Off: off, Imm: imm}, nil
}

// confCall assembles "call N", "call %rN", "call helper N|%rN",
// "call local label|+N" and "call runtime N".
func (st *asmState) confCall(p *parser) (Insn, *posError) {
	ins := Insn{Code: JumpOpcode(JumpClass, Call, ImmSource)}
	mode := "helper"
	if t := p.peek(); t.kind == tokIdent && (t.text == "helper" || t.text == "local" || t.text == "runtime") {
		mode = t.text
		p.next()
	}
	if _, isReg := confRegOK(p.peek().text); isReg && mode == "helper" {
		r, _ := p.confReg()
		ins.Code, ins.Dst = JumpOpcode(JumpClass, Call, RegSource), r
		return ins, nil
	}
	var err *posError
	switch mode {
	case "helper":
		ins.Imm, err = p.imm32("a helper id, a register or a call mode (helper, local, runtime)", true)
	case "local":
		ins.Src = CallLocal
		var v int64
		t := p.peek()
		if t.kind == tokIdent {
			p.next()
			st.reference(t, fixCallLc)
		} else if v, err = st.confTarget(p, fixImm); err == nil {
			ins.Imm = int32(v)
		}
	case "runtime":
		ins.Src = CallKfunc
		ins.Imm, err = p.imm32("a runtime function id", true)
	}
	return ins, err
}

// confJump assembles "jeq[32] %rD, %rS|imm, target".
func (st *asmState) confJump(p *parser, op JumpOp, c32 bool) (Insn, *posError) {
	class := JumpClass
	if c32 {
		class = Jump32Class
	}
	dst, err := p.confReg()
	if err != nil {
		return Insn{}, err
	}
	p.comma()
	ins := Insn{Dst: dst, Code: JumpOpcode(class, op, ImmSource)}
	isReg, src, imm, err := p.confOperand()
	if err != nil {
		return Insn{}, err
	}
	if isReg {
		ins.Src, ins.Code = src, JumpOpcode(class, op, RegSource)
	} else {
		ins.Imm = imm
	}
	p.comma()
	v, err := st.confTarget(p, fixOff)
	ins.Off = int16(v)
	return ins, err
}

// confLoadStore assembles ldx*, st* and stx*.
func (st *asmState) confLoadStore(p *parser, t token) (Insn, *posError) {
	m := t.text
	switch {
	case strings.HasPrefix(m, "ldxs"):
		size, ok := confSizes[m[4:]]
		if !ok || size == DWord {
			break
		}
		return st.confLoad(p, MemSXMode, size)
	case strings.HasPrefix(m, "ldx"):
		if size, ok := confSizes[m[3:]]; ok {
			return st.confLoad(p, MemMode, size)
		}
	case strings.HasPrefix(m, "stx"):
		if size, ok := confSizes[m[3:]]; ok {
			dst, off, err := p.confMem()
			if err != nil {
				return Insn{}, err
			}
			p.comma()
			src, err := p.confReg()
			return Insn{Code: MemOpcode(StXClass, MemMode, size), Dst: dst, Src: src, Off: off}, err
		}
	default:
		if size, ok := confSizes[m[2:]]; ok {
			dst, off, err := p.confMem()
			if err != nil {
				return Insn{}, err
			}
			p.comma()
			imm, err := p.imm32("an immediate", true)
			return Insn{Code: MemOpcode(StClass, MemMode, size), Dst: dst, Off: off, Imm: imm}, err
		}
	}
	return Insn{}, errAt(t, "unknown mnemonic %q", m)
}

func (st *asmState) confLoad(p *parser, mode Mode, size Size) (Insn, *posError) {
	dst, err := p.confReg()
	if err != nil {
		return Insn{}, err
	}
	p.comma()
	src, off, err := p.confMem()
	return Insn{Code: MemOpcode(LdXClass, mode, size), Dst: dst, Src: src, Off: off}, err
}

// confALU assembles the ALU mnemonics, byte swaps and movsx.
func (st *asmState) confALU(p *parser, t token) (Insn, *posError) {
	m := t.text
	for _, k := range []struct {
		prefix string
		code   Opcode
	}{
		{"le", ALUOpcode(ALUClass, End, ImmSource)},
		{"be", ALUOpcode(ALUClass, End, RegSource)},
		{"swap", ALUOpcode(ALU64Class, End, ImmSource)},
		{"bswap", ALUOpcode(ALU64Class, End, ImmSource)},
	} {
		if w, ok := strings.CutPrefix(m, k.prefix); ok && (w == "16" || w == "32" || w == "64") {
			dst, err := p.confReg()
			imm, _ := strconv.Atoi(w)
			return Insn{Code: k.code, Dst: dst, Imm: int32(imm)}, err
		}
	}
	base, c32 := splitWidth(m)
	class := ALU64Class
	if c32 {
		class = ALUClass
	}
	ins := Insn{}
	if bits, ok := strings.CutPrefix(base, "movsx"); ok {
		switch {
		case bits == "8" || bits == "16" || (bits == "32" && !c32):
			n, _ := strconv.Atoi(bits)
			ins.Off = int16(n)
			base = "mov"
		default:
			return Insn{}, errAt(t, "unknown mnemonic %q (movsx is movsx864, movsx1664, movsx3264, movsx832 or movsx1632)", m)
		}
	}
	op, ok := confALUNames[base]
	if !ok {
		return Insn{}, errAt(t, "unknown mnemonic %q", m)
	}
	if base == "sdiv" || base == "smod" {
		ins.Off = 1
	}
	dst, err := p.confReg()
	if err != nil {
		return Insn{}, err
	}
	ins.Dst = dst
	if op == Neg {
		ins.Code = ALUOpcode(class, Neg, ImmSource)
		return ins, nil
	}
	p.comma()
	at := p.peek()
	isReg, src, imm, err := p.confOperand()
	switch {
	case err != nil:
		return Insn{}, err
	case isReg:
		ins.Src, ins.Code = src, ALUOpcode(class, op, RegSource)
	case ins.Off != 0 && op == Mov:
		return Insn{}, expected(at, "a source register (movsx has no immediate form)")
	default:
		ins.Imm, ins.Code = imm, ALUOpcode(class, op, ImmSource)
	}
	return ins, nil
}

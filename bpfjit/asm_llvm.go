package bpfjit

import "strconv"

// llvmRegOK parses "r0".."r10" and "w0".."w10"; the second result is true
// for a w register.
func llvmRegOK(s string) (Register, bool, bool) {
	if len(s) < 2 || (s[0] != 'r' && s[0] != 'w') {
		return 0, false, false
	}
	if len(s) > 2 && s[1] == '0' {
		return 0, false, false
	}
	n, err := strconv.Atoi(s[1:])
	if err != nil || n < 0 || n >= MaxReg {
		return 0, false, false
	}
	return Register(n), s[0] == 'w', true
}

// llvmReg reads a register. want is "r", "w" or "" (either).
func (p *parser) llvmReg(want string) (Register, bool, *posError) {
	t := p.peek()
	r, w, ok := llvmRegOK(t.text)
	if t.kind != tokIdent || !ok {
		return 0, false, expected(t, regWant(want))
	}
	if (want == "r" && w) || (want == "w" && !w) {
		return 0, false, expected(t, regWant(want))
	}
	p.next()
	return r, w, nil
}

// llvmOperand reads a register (of kind want) or a 32-bit immediate.
func (p *parser) llvmOperand(want, what string) (isReg bool, r Register, imm int32, err *posError) {
	if p.peek().kind == tokIdent {
		r, _, err = p.llvmReg(want)
		return true, r, 0, err
	}
	imm, err = p.imm32(what, false)
	return false, 0, imm, err
}

func regWant(want string) string {
	switch want {
	case "r":
		return "a 64-bit register r0-r10"
	case "w":
		return "a 32-bit register w0-w10"
	}
	return "a register"
}

func kindOf(w bool) string {
	if w {
		return "w"
	}
	return "r"
}

// llvmTypes maps the C types of memory operands to sizes.
var llvmTypes = map[string]struct {
	size   Size
	signed bool
}{
	"u8": {Byte, false}, "u16": {Half, false}, "u32": {Word, false}, "u64": {DWord, false},
	"s8": {Byte, true}, "s16": {Half, true}, "s32": {Word, true},
}

// castType reads "(u32 *)".
func (p *parser) castType() (Size, bool, *posError) {
	if err := p.expect("("); err != nil {
		return 0, false, err
	}
	t := p.peek()
	ty, ok := llvmTypes[t.text]
	if t.kind != tokIdent || !ok {
		return 0, false, expected(t, "a type u8, u16, u32, u64, s8, s16 or s32")
	}
	p.next()
	if err := p.expect("*"); err != nil {
		return 0, false, err
	}
	if err := p.expect(")"); err != nil {
		return 0, false, err
	}
	return ty.size, ty.signed, nil
}

// addr reads "r1 + 4", "r10 - 8" or "r1", inside parentheses if parens.
func (p *parser) addr(parens bool) (Register, int16, *posError) {
	if parens {
		if err := p.expect("("); err != nil {
			return 0, 0, err
		}
	}
	r, _, err := p.llvmReg("r")
	if err != nil {
		return 0, 0, err
	}
	var off int16
	if t := p.peek(); t.text == "+" || t.text == "-" {
		p.next()
		mag, neg, hex, nt, err := p.number("an offset")
		if err != nil {
			return 0, 0, err
		}
		if t.text == "-" {
			neg = !neg
		}
		if off, err = off16Value(nt, mag, neg, hex, false); err != nil {
			return 0, 0, err
		}
	}
	if parens {
		if err := p.expect(")"); err != nil {
			return 0, 0, err
		}
	}
	return r, off, nil
}

// memRef reads "*(u32 *)(r1 + 4)" after the '*'.
func (p *parser) memRef() (Size, bool, Register, int16, *posError) {
	size, signed, err := p.castType()
	if err != nil {
		return 0, false, 0, 0, err
	}
	r, off, err := p.addr(true)
	return size, signed, r, off, err
}

// storeRef reads the unsigned memory operand "(u32 *)(r1 + 4)" a store
// writes, and says which register kind its source may be.
func (p *parser) storeRef(what string) (size Size, dst Register, off int16, want string, err *posError) {
	at := p.peek()
	size, signed, dst, off, err := p.memRef()
	if err != nil {
		return 0, 0, 0, "", err
	}
	if signed {
		return 0, 0, 0, "", errAt(at, "%s takes an unsigned type", what)
	}
	if size == DWord {
		want = "r"
	}
	return size, dst, off, want, nil
}

// target reads a branch target: "+3", "-3", "3" or a label. A label is
// recorded as a reference of the given kind and reads as 0.
func (st *asmState) target(p *parser, kind fixKind) (int64, *posError) {
	t := p.peek()
	if t.kind == tokIdent {
		p.next()
		st.reference(t, kind)
		return 0, nil
	}
	if kind == fixOff {
		v, err := p.off16("a jump offset or label", false)
		return int64(v), err
	}
	v, err := p.imm32("a jump offset or label", false)
	return int64(v), err
}

var llvmCmpOps = map[string]JumpOp{
	"==": JEq, "!=": JNE, ">": JGT, ">=": JGE, "<": JLT, "<=": JLE, "&": JSet,
	"s>": JSGT, "s>=": JSGE, "s<": JSLT, "s<=": JSLE,
}

var llvmCompound = map[string]struct {
	op     ALUOp
	signed bool
}{
	"+=": {Add, false}, "-=": {Sub, false}, "*=": {Mul, false}, "/=": {Div, false},
	"|=": {Or, false}, "&=": {And, false}, "<<=": {LSh, false}, ">>=": {RSh, false},
	"%=": {Mod, false}, "^=": {Xor, false}, "s>>=": {ArSh, false}, "s/=": {Div, true},
	"s%=": {Mod, true},
}

var llvmAtomicNames = map[string]int32{
	"atomic_fetch_add": AtomicAdd | AtomicFetch, "atomic_fetch_or": AtomicOr | AtomicFetch,
	"atomic_fetch_and": AtomicAnd | AtomicFetch, "atomic_fetch_xor": AtomicXor | AtomicFetch,
}

var llvmLockOps = map[string]int32{"+=": AtomicAdd, "|=": AtomicOr, "&=": AtomicAnd, "^=": AtomicXor}

// llvmStatement assembles one statement of LLVM syntax.
func (st *asmState) llvmStatement(p *parser) *posError {
	t := p.peek()
	if t.text == "*" && t.kind == tokPunct {
		p.next()
		return st.llvmStore(p)
	}
	if t.kind != tokIdent {
		return expected(t, "an instruction")
	}
	if r, w, ok := llvmRegOK(t.text); ok {
		p.next()
		return st.llvmRegStatement(p, r, w)
	}
	p.next()
	ins := Insn{}
	switch t.text {
	case "exit":
		ins.Code = JumpOpcode(JumpClass, Exit, ImmSource)
	case "goto", "may_goto":
		ins.Code = JumpOpcode(JumpClass, Ja, ImmSource)
		if t.text == "may_goto" {
			ins.Code = JumpOpcode(JumpClass, JCond, ImmSource)
		}
		v, err := st.target(p, fixOff)
		if err != nil {
			return err
		}
		ins.Off = int16(v)
	case "gotol":
		ins.Code = JumpOpcode(Jump32Class, Ja, ImmSource)
		v, err := st.target(p, fixImm)
		if err != nil {
			return err
		}
		ins.Imm = int32(v)
	case "call":
		ins.Code = JumpOpcode(JumpClass, Call, ImmSource)
		if n := p.peek(); n.kind == tokIdent {
			p.next()
			st.reference(n, fixCall)
			break
		}
		v, err := p.imm32("a helper id or function name", false)
		if err != nil {
			return err
		}
		ins.Imm = v
	case "callx":
		ins.Code = JumpOpcode(JumpClass, Call, RegSource)
		r, _, err := p.llvmReg("r")
		if err != nil {
			return err
		}
		ins.Dst = r
	case "if":
		return st.llvmIf(p)
	case "lock":
		return st.llvmLock(p)
	case "store_release":
		return st.llvmStoreRelease(p)
	case "ld_pseudo":
		return st.llvmLdPseudo(p)
	default:
		return errAt(t, "unknown instruction %q", t.text)
	}
	if err := p.end(); err != nil {
		return err
	}
	st.emit(ins)
	return nil
}

// llvmStore assembles "*(u32 *)(r1 + 4) = w2" and "*(u32 *)(r1 + 4) = 9".
func (st *asmState) llvmStore(p *parser) *posError {
	size, dst, off, want, err := p.storeRef("a store")
	if err != nil {
		return err
	}
	if err := p.expect("="); err != nil {
		return err
	}
	isReg, src, imm, err := p.llvmOperand(want, "a register or an immediate")
	if err != nil {
		return err
	}
	ins := Insn{Code: MemOpcode(StClass, MemMode, size), Dst: dst, Off: off, Imm: imm}
	if isReg {
		ins.Code, ins.Src = MemOpcode(StXClass, MemMode, size), src
	}
	if err := p.end(); err != nil {
		return err
	}
	st.emit(ins)
	return nil
}

// llvmIf assembles "if r1 > 7 goto +3" and "if w1 s<= w2 goto L".
func (st *asmState) llvmIf(p *parser) *posError {
	dst, w, err := p.llvmReg("")
	if err != nil {
		return err
	}
	ct := p.peek()
	op, ok := llvmCmpOps[ct.text]
	if ct.kind != tokPunct || !ok {
		return expected(ct, "a comparison (==, !=, >, >=, <, <=, &, s>, s>=, s<, s<=)")
	}
	p.next()
	class := JumpClass
	if w {
		class = Jump32Class
	}
	isReg, src, imm, err := p.llvmOperand(kindOf(w), "a register or an immediate")
	if err != nil {
		return err
	}
	ins := Insn{Code: JumpOpcode(class, op, ImmSource), Dst: dst, Imm: imm}
	if isReg {
		ins.Code, ins.Src = JumpOpcode(class, op, RegSource), src
	}
	if err := p.expect("goto"); err != nil {
		return err
	}
	v, err := st.target(p, fixOff)
	if err != nil {
		return err
	}
	ins.Off = int16(v)
	if err := p.end(); err != nil {
		return err
	}
	st.emit(ins)
	return nil
}

// llvmLock assembles "lock *(u64 *)(r1 + 4) += r2".
func (st *asmState) llvmLock(p *parser) *posError {
	if err := p.expect("*"); err != nil {
		return err
	}
	at := p.peek()
	size, signed, dst, off, err := p.memRef()
	if err != nil {
		return err
	}
	if signed || (size != Word && size != DWord) {
		return errAt(at, "an atomic operation takes u32 or u64")
	}
	ot := p.next()
	imm, ok := llvmLockOps[ot.text]
	if !ok {
		return expected(ot, "an atomic operation (+=, |=, &=, ^=)")
	}
	want := ""
	if size == DWord {
		want = "r"
	}
	src, _, err := p.llvmReg(want)
	if err != nil {
		return err
	}
	if err := p.end(); err != nil {
		return err
	}
	st.emit(Insn{Code: MemOpcode(StXClass, AtomicMode, size), Dst: dst, Src: src, Off: off, Imm: imm})
	return nil
}

// llvmStoreRelease assembles "store_release((u8 *)(r1 + 0), w2)".
func (st *asmState) llvmStoreRelease(p *parser) *posError {
	if err := p.expect("("); err != nil {
		return err
	}
	size, dst, off, want, err := p.storeRef("store_release")
	if err != nil {
		return err
	}
	if err := p.expect(","); err != nil {
		return err
	}
	src, _, err := p.llvmReg(want)
	if err != nil {
		return err
	}
	if err := p.expect(")"); err != nil {
		return err
	}
	if err := p.end(); err != nil {
		return err
	}
	st.emit(Insn{Code: MemOpcode(StXClass, AtomicMode, size), Dst: dst, Src: src, Off: off, Imm: AtomicStoreRel})
	return nil
}

// llvmLdPseudo assembles "ld_pseudo r1, 2, 17".
func (st *asmState) llvmLdPseudo(p *parser) *posError {
	dst, _, err := p.llvmReg("r")
	if err != nil {
		return err
	}
	if err := p.expect(","); err != nil {
		return err
	}
	mag, neg, _, t, err := p.number("a pseudo source 0-15")
	if err != nil {
		return err
	}
	if neg || mag > 15 {
		return errAt(t, "pseudo source must be 0-15")
	}
	if err := p.expect(","); err != nil {
		return err
	}
	imm, err := p.imm32("an immediate", false)
	if err != nil {
		return err
	}
	if err := p.end(); err != nil {
		return err
	}
	pair := LdImm64Insns(dst, Register(mag), uint64(uint32(imm)))
	st.emit(pair[:]...)
	return nil
}

// llvmRegStatement assembles the statements that start with a register:
// "r1 += 5", "w1 = w2", "r1 = *(u64 *)(r2 + 8)", "r1 = 7 ll", ...
func (st *asmState) llvmRegStatement(p *parser, dst Register, w bool) *posError {
	ot := p.next()
	class := ALU64Class
	if w {
		class = ALUClass
	}
	if c, ok := llvmCompound[ot.text]; ok && ot.kind == tokPunct {
		isReg, src, imm, err := p.llvmOperand(kindOf(w), "a register or an immediate")
		if err != nil {
			return err
		}
		ins := Insn{Code: ALUOpcode(class, c.op, ImmSource), Dst: dst, Imm: imm}
		if isReg {
			ins.Code, ins.Src = ALUOpcode(class, c.op, RegSource), src
		}
		if c.signed {
			ins.Off = 1
		}
		if err := p.end(); err != nil {
			return err
		}
		st.emit(ins)
		return nil
	}
	if ot.text != "=" || ot.kind != tokPunct {
		return expected(ot, "an assignment (=, +=, -=, ...)")
	}
	if err := st.llvmAssign(p, dst, w, class); err != nil {
		return err
	}
	return p.end()
}

// llvmAssign assembles the right-hand side of "rD = ...".
func (st *asmState) llvmAssign(p *parser, dst Register, w bool, class Class) *posError {
	t := p.peek()
	switch {
	case t.kind == tokPunct && t.text == "*":
		p.next()
		return st.llvmLoad(p, dst, w)
	case t.kind == tokPunct && t.text == "(":
		// "(s8)r2": sign-extending move.
		p.next()
		bt := p.next()
		bits := map[string]int16{"s8": 8, "s16": 16, "s32": 32}[bt.text]
		if bits == 0 || (bits == 32 && w) {
			return expected(bt, "s8, s16 or (for r registers) s32")
		}
		if err := p.expect(")"); err != nil {
			return err
		}
		src, _, err := p.llvmReg(kindOf(w))
		if err != nil {
			return err
		}
		st.emit(Insn{Code: ALUOpcode(class, Mov, RegSource), Dst: dst, Src: src, Off: bits})
		return nil
	case t.kind == tokPunct && t.text == "-" && p.toks[p.pos+1].kind == tokIdent:
		p.next()
		rt := p.peek()
		src, _, err := p.llvmReg(kindOf(w))
		if err != nil {
			return err
		}
		if src != dst {
			return errAt(rt, "negation must be %s = -%s", regName(dst, w), regName(dst, w))
		}
		st.emit(Insn{Code: ALUOpcode(class, Neg, ImmSource), Dst: dst})
		return nil
	case t.kind == tokNumber || (t.kind == tokPunct && (t.text == "-" || t.text == "+")):
		return st.llvmConst(p, dst, w, class)
	case t.kind != tokIdent:
		return expected(t, "a register, a constant, a memory operand or an operation")
	}
	if _, _, ok := llvmRegOK(t.text); ok {
		src, _, err := p.llvmReg(kindOf(w))
		if err != nil {
			return err
		}
		st.emit(Insn{Code: ALUOpcode(class, Mov, RegSource), Dst: dst, Src: src})
		return nil
	}
	p.next()
	if code, imm, ok := llvmEndian(t.text); ok {
		if w {
			return errAt(t, "byte swaps are written on r registers: r%d = %s r%d", dst, t.text, dst)
		}
		rt := p.peek()
		src, _, err := p.llvmReg("r")
		if err != nil {
			return err
		}
		if src != dst {
			return errAt(rt, "a byte swap must be r%d = %s r%d", dst, t.text, dst)
		}
		st.emit(Insn{Code: code, Dst: dst, Imm: imm})
		return nil
	}
	if imm, ok := llvmAtomicNames[t.text]; ok {
		return st.llvmFetch(p, dst, w, imm)
	}
	switch t.text {
	case "xchg_64", "xchg32_32", "cmpxchg_64", "cmpxchg32_32":
		return st.llvmXchg(p, t, dst, w)
	case "addr_space_cast":
		return st.llvmCast(p, t, dst, w)
	case "load_acquire":
		return st.llvmLoadAcquire(p, dst, w)
	}
	if p.peek().text == "ll" {
		if w {
			return errAt(t, "a 64-bit load needs an r register")
		}
		p.next()
		st.reference(t, fixLdImm)
		pair := LdImm64Insns(dst, PseudoNone, 0)
		st.emit(pair[:]...)
		return nil
	}
	return errAt(t, "unknown operation %q", t.text)
}

// llvmConst assembles "r1 = 5", "w1 = -1" and "r1 = 0x1122334455667788 ll".
func (st *asmState) llvmConst(p *parser, dst Register, w bool, class Class) *posError {
	save := p.pos
	mag, neg, _, t, err := p.number("a constant")
	if err != nil {
		return err
	}
	if p.accept("ll") {
		if w {
			return errAt(t, "a 64-bit constant needs an r register")
		}
		if neg && mag > 1<<63 {
			return errAt(t, "constant is out of the 64-bit range")
		}
		v := mag
		if neg {
			v = -mag
		}
		pair := LdImm64Insns(dst, PseudoNone, v)
		st.emit(pair[:]...)
		return nil
	}
	p.pos = save
	imm, err := p.imm32("a constant", false)
	if err != nil {
		return err
	}
	st.emit(Insn{Code: ALUOpcode(class, Mov, ImmSource), Dst: dst, Imm: imm})
	return nil
}

// llvmEndian maps "le16" ... "bswap64" to their opcode and width.
func llvmEndian(name string) (Opcode, int32, bool) {
	for _, k := range []struct {
		prefix string
		code   Opcode
	}{
		{"le", ALUOpcode(ALUClass, End, ImmSource)},
		{"be", ALUOpcode(ALUClass, End, RegSource)},
		{"bswap", ALUOpcode(ALU64Class, End, ImmSource)},
	} {
		switch name {
		case k.prefix + "16":
			return k.code, 16, true
		case k.prefix + "32":
			return k.code, 32, true
		case k.prefix + "64":
			return k.code, 64, true
		}
	}
	return 0, 0, false
}

// llvmLoad assembles "w1 = *(u32 *)(r2 + 4)", "r1 = *(s8 *)(r2 + 4)" and
// the legacy "r0 = *(u32 *)skb[16]" / "skb[r2]", after the '*'.
func (st *asmState) llvmLoad(p *parser, dst Register, w bool) *posError {
	at := p.peek()
	size, signed, err := p.castType()
	if err != nil {
		return err
	}
	if p.accept("skb") {
		if dst != R0 || w {
			return errAt(at, "a packet load writes r0")
		}
		if signed || size == DWord {
			return errAt(at, "a packet load takes u8, u16 or u32")
		}
		if err := p.expect("["); err != nil {
			return err
		}
		isReg, src, imm, err := p.llvmOperand("r", "an offset or a register")
		if err != nil {
			return err
		}
		ins := Insn{Code: MemOpcode(LdClass, AbsMode, size), Imm: imm}
		if isReg {
			ins.Code, ins.Src = MemOpcode(LdClass, IndMode, size), src
		}
		if err := p.expect("]"); err != nil {
			return err
		}
		st.emit(ins)
		return nil
	}
	src, off, err := p.addr(true)
	if err != nil {
		return err
	}
	switch {
	case signed && w:
		return errAt(at, "a sign-extending load needs an r register")
	case size == DWord && w:
		return errAt(at, "a 64-bit load needs an r register")
	}
	mode := MemMode
	if signed {
		mode = MemSXMode
	}
	st.emit(Insn{Code: MemOpcode(LdXClass, mode, size), Dst: dst, Src: src, Off: off})
	return nil
}

// llvmFetch assembles "r2 = atomic_fetch_add((u64 *)(r1 + 4), r2)".
func (st *asmState) llvmFetch(p *parser, dst Register, w bool, imm int32) *posError {
	if err := p.expect("("); err != nil {
		return err
	}
	at := p.peek()
	size, signed, base, off, err := p.memRef()
	if err != nil {
		return err
	}
	if signed || (size != Word && size != DWord) || (size == DWord) == w {
		return errAt(at, "%s needs u64 with r registers or u32 with w registers", "an atomic fetch")
	}
	if err := p.expect(","); err != nil {
		return err
	}
	if err := st.sameReg(p, dst, w); err != nil {
		return err
	}
	if err := p.expect(")"); err != nil {
		return err
	}
	st.emit(Insn{Code: MemOpcode(StXClass, AtomicMode, size), Dst: base, Src: dst, Off: off, Imm: imm})
	return nil
}

// sameReg reads a register that must be the same as r (and of the same width).
func (st *asmState) sameReg(p *parser, r Register, w bool) *posError {
	t := p.peek()
	got, _, err := p.llvmReg(kindOf(w))
	if err != nil {
		return err
	}
	if got != r {
		return expected(t, strconv.Quote(regName(r, w)))
	}
	return nil
}

// llvmXchg assembles "r2 = xchg_64(r1 + 4, r2)", "w2 = xchg32_32(...)",
// "r0 = cmpxchg_64(r1 + 4, r0, r2)" and "w0 = cmpxchg32_32(...)".
func (st *asmState) llvmXchg(p *parser, t token, dst Register, w bool) *posError {
	is32 := t.text == "xchg32_32" || t.text == "cmpxchg32_32"
	if is32 != w {
		return errAt(t, "%s writes a %s register", t.text, map[bool]string{true: "w", false: "r"}[is32])
	}
	cmp := t.text[0] == 'c'
	if cmp && dst != R0 {
		return errAt(t, "%s writes %s", t.text, regName(R0, w))
	}
	if err := p.expect("("); err != nil {
		return err
	}
	base, off, err := p.addr(false)
	if err != nil {
		return err
	}
	if err := p.expect(","); err != nil {
		return err
	}
	size, imm := DWord, int32(AtomicXchg)
	if w {
		size = Word
	}
	src := dst
	if cmp {
		imm = AtomicCmpXchg
		if err := st.sameReg(p, R0, w); err != nil {
			return err
		}
		if err := p.expect(","); err != nil {
			return err
		}
		if src, _, err = p.llvmReg(kindOf(w)); err != nil {
			return err
		}
	} else if err := st.sameReg(p, dst, w); err != nil {
		return err
	}
	if err := p.expect(")"); err != nil {
		return err
	}
	st.emit(Insn{Code: MemOpcode(StXClass, AtomicMode, size), Dst: base, Src: src, Off: off, Imm: imm})
	return nil
}

// llvmCast assembles "r1 = addr_space_cast(r2, 0, 1)".
func (st *asmState) llvmCast(p *parser, t token, dst Register, w bool) *posError {
	if w {
		return errAt(t, "addr_space_cast writes an r register")
	}
	if err := p.expect("("); err != nil {
		return err
	}
	src, _, err := p.llvmReg("r")
	if err != nil {
		return err
	}
	var as [2]uint64
	for i := range as {
		if err := p.expect(","); err != nil {
			return err
		}
		mag, neg, _, nt, err := p.number("an address space")
		if err != nil {
			return err
		}
		if neg || mag > 0xffff {
			return errAt(nt, "an address space is 0-65535")
		}
		as[i] = mag
	}
	if err := p.expect(")"); err != nil {
		return err
	}
	st.emit(Insn{Code: ALUOpcode(ALU64Class, Mov, RegSource), Dst: dst, Src: src, Off: AddrSpaceCast, Imm: int32(uint32(as[0]<<16 | as[1]))})
	return nil
}

// llvmLoadAcquire assembles "w0 = load_acquire((u8 *)(r1 + 0))".
func (st *asmState) llvmLoadAcquire(p *parser, dst Register, w bool) *posError {
	if err := p.expect("("); err != nil {
		return err
	}
	at := p.peek()
	size, signed, src, off, err := p.memRef()
	if err != nil {
		return err
	}
	if signed || (size == DWord && w) {
		return errAt(at, "load_acquire takes an unsigned type, u64 only into an r register")
	}
	if err := p.expect(")"); err != nil {
		return err
	}
	st.emit(Insn{Code: MemOpcode(StXClass, AtomicMode, size), Dst: dst, Src: src, Off: off, Imm: AtomicLoadAcq})
	return nil
}

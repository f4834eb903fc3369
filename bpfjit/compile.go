package bpfjit

// Compiled is the JIT model's executable form of a program: what the kernel's
// JIT produces, made runnable in Go. Every slot is decoded once into an op
// specialised by class, source and variant, with immediates pre-extended,
// jump targets resolved and the budget charge of each jump's destination at
// hand; helpers and kfuncs are bound when compiling, as the kernel's JIT
// turns them into direct calls; and frequent sequences (mov then op, add
// then jump, load then op, pairs of ALU ops, a scaled index) become single
// superinstructions.
//
// It has exactly the interpreter's semantics (the differential tests and
// FuzzBPF hold it to that), including PROBE_MEM32 fixups and cast_user. Like
// a real JIT it emits no per-instruction trace events.
//
// A Compiled is reusable but not safe for concurrent use.
type Compiled struct {
	ops     []cop        // one per slot, plus the slot past the end
	charges []int32      // m.charges
	funcs   []HelperFunc // the helper or kfunc of each kCall, by cop.target
	m       machine
}

// cop is one compiled operation. Field use depends on kind (see compile_ops.go).
// It is 32 bytes, so that indexing the op array is a shift.
type cop struct {
	kind    opKind
	dst     uint8
	src     uint8
	aux     uint8 // a third register, an access size or a JumpOp
	aux2    uint8 // a fourth register
	off     int16
	imm2    int32 // a second immediate: ST's value, a fused add's addend
	target  int32 // jump target slot, or index into funcs
	chargeT int32 // budget charged when the jump is taken
	chargeF int32 // budget charged when it falls through
	imm     uint64
}

// Compile builds the compiled form of prog, bound to cfg. Like
// NewInterpreter it never fails; invalid instructions fail when run.
func Compile(prog []Insn, cfg Config) *Compiled {
	c := &Compiled{}
	c.m.init(prog, cfg)
	n := len(prog)
	c.charges = c.m.charges
	c.ops = make([]cop, n+1)
	for pc := 0; pc < n; pc++ {
		c.ops[pc] = c.compileInsn(pc)
	}
	c.ops[n] = cop{kind: kTrap}
	for pc := 0; pc+1 < n; pc++ {
		if f, ok := fuse(c.ops[pc], c.ops[pc+1]); ok {
			c.ops[pc] = f
		}
	}
	// A second pass joins what the first made: pairs of ALU ops, and the
	// scaled-index idiom (a fused mov-and-shift, then an add of the result).
	for pc := 0; pc+1 < n; pc++ {
		a, b := c.ops[pc], c.ops[pc+1]
		if k := pairKind(a.kind, b.kind); k != kTrap {
			c.ops[pc] = cop{kind: k, dst: a.dst, src: a.src, aux: b.dst, aux2: b.src}
			continue
		}
		if a.kind == kMovLsh64K && pc+2 < n {
			if d := c.ops[pc+2]; d.kind == kAdd64X && d.src == a.dst && d.dst != a.dst {
				c.ops[pc] = cop{kind: kMovLshAdd64X, dst: a.dst, src: a.src, aux: d.dst, imm: a.imm}
			}
		}
	}
	return c
}

// compileInsn decodes the valid or trap slot at pc into its op.
func (c *Compiled) compileInsn(pc int) cop {
	ins := c.m.code[pc]
	if ins.Code == 0 {
		return cop{kind: kTrap}
	}
	o := cop{dst: uint8(ins.Dst), src: uint8(ins.Src), off: ins.Off}
	sext := uint64(int64(ins.Imm))
	zext := uint64(uint32(ins.Imm))
	k := func(kind opKind, imm uint64) cop { o.kind, o.imm = kind, imm; return o }
	x := func(kind opKind) cop { o.kind = kind; return o }
	jump := func(kind opKind, imm uint64) cop {
		t := ins.JumpTarget(pc)
		o.kind, o.imm, o.target = kind, imm, int32(t)
		o.chargeT, o.chargeF = c.charges[t], c.charges[pc+1]
		return o
	}
	mem := func(kind opKind) cop {
		o.kind, o.imm, o.aux = kind, uint64(int64(ins.Off)), uint8(ins.Code.Size().Bytes())
		return o
	}
	signed := ins.Off == 1
	pick := func(unsigned, signedKind opKind) opKind {
		if signed {
			return signedKind
		}
		return unsigned
	}
	switch ins.Code {
	case 0x07:
		return k(kAdd64K, sext)
	case 0x17:
		return k(kAdd64K, -sext)
	case 0x27:
		return k(kMul64K, sext)
	case 0x37:
		return k(pick(kDiv64K, kSDiv64K), sext)
	case 0x47:
		return k(kOr64K, sext)
	case 0x57:
		return k(kAnd64K, sext)
	case 0x67:
		return k(kLsh64K, sext&63)
	case 0x77:
		return k(kRsh64K, sext&63)
	case 0x87:
		return x(kNeg64)
	case 0x97:
		return k(pick(kMod64K, kSMod64K), sext)
	case 0xa7:
		return k(kXor64K, sext)
	case 0xb7:
		return k(kMov64K, sext)
	case 0xc7:
		return k(kArsh64K, sext&63)
	case 0xd7, 0xdc:
		return k(kBswap, sext)
	case 0x0f:
		return x(kAdd64X)
	case 0x1f:
		return x(kSub64X)
	case 0x2f:
		return x(kMul64X)
	case 0x3f:
		return x(pick(kDiv64X, kSDiv64X))
	case 0x4f:
		return x(kOr64X)
	case 0x5f:
		return x(kAnd64X)
	case 0x6f:
		return x(kLsh64X)
	case 0x7f:
		return x(kRsh64X)
	case 0x9f:
		return x(pick(kMod64X, kSMod64X))
	case 0xaf:
		return x(kXor64X)
	case 0xbf:
		switch {
		case ins.Off == 0:
			return x(kMov64X)
		case ins.IsCastUser():
			return x(kCastUser)
		case ins.IsCastKern():
			return x(kMov32X)
		}
		return k(kMovSX64, uint64(ins.Off))
	case 0xcf:
		return x(kArsh64X)

	case 0x04:
		return k(kAdd32K, zext)
	case 0x14:
		return k(kAdd32K, uint64(-uint32(ins.Imm)))
	case 0x24:
		return k(kMul32K, zext)
	case 0x34:
		return k(pick(kDiv32K, kSDiv32K), zext)
	case 0x44:
		return k(kOr32K, zext)
	case 0x54:
		return k(kAnd32K, zext)
	case 0x64:
		return k(kLsh32K, zext&31)
	case 0x74:
		return k(kRsh32K, zext&31)
	case 0x84:
		return x(kNeg32)
	case 0x94:
		return k(pick(kMod32K, kSMod32K), zext)
	case 0xa4:
		return k(kXor32K, zext)
	case 0xb4:
		return k(kMov64K, zext)
	case 0xc4:
		return k(kArsh32K, zext&31)
	case 0xd4:
		return k(kTruncLE, sext)
	case 0x0c:
		return x(kAdd32X)
	case 0x1c:
		return x(kSub32X)
	case 0x2c:
		return x(kMul32X)
	case 0x3c:
		return x(pick(kDiv32X, kSDiv32X))
	case 0x4c:
		return x(kOr32X)
	case 0x5c:
		return x(kAnd32X)
	case 0x6c:
		return x(kLsh32X)
	case 0x7c:
		return x(kRsh32X)
	case 0x9c:
		return x(pick(kMod32X, kSMod32X))
	case 0xac:
		return x(kXor32X)
	case 0xbc:
		if ins.Off == 0 {
			return x(kMov32X)
		}
		return k(kMovSX32, uint64(ins.Off))
	case 0xcc:
		return x(kArsh32X)

	case 0x05, 0x06:
		return jump(kJa, 0)
	case 0xe5:
		return jump(kMayGoto, 0)
	case 0x85:
		switch ins.Src {
		case CallLocal:
			return jump(kCallLocal, 0)
		default:
			table := c.m.helpers
			if ins.Src == CallKfunc {
				table = c.m.kfuncs
			}
			o.kind, o.target = kCall, int32(len(c.funcs))
			c.funcs = append(c.funcs, table[ins.Imm]) // nil: unknown, reported when called
			return o
		}
	case 0x8d:
		return x(kStep)
	case 0x95:
		return x(kExit)
	case 0x18:
		return k(kLdImm64, ins.Imm64(c.m.code[pc+1]))

	case 0x71:
		return mem(kLdxB)
	case 0x61:
		return mem(kLdxW)
	case 0x79:
		return mem(kLdxDW)
	case 0x72, 0x62, 0x7a:
		o = mem([...]opKind{Word: kStW, Byte: kStB, DWord: kStDW}[ins.Code.Size()])
		o.imm2 = ins.Imm
		return o
	case 0x73:
		return mem(kStxB)
	case 0x63:
		return mem(kStxW)
	case 0x7b:
		return mem(kStxDW)
	case 0xa1, 0xa9, 0xb1, 0xb9:
		return mem(kProbeLdx)
	case 0xc1, 0xc9, 0xd1:
		return mem(kProbeLdxSX)
	case 0xa2, 0xaa, 0xb2, 0xba:
		o = mem(kProbeSt)
		o.imm2 = ins.Imm
		return o
	case 0xa3, 0xab, 0xb3, 0xbb:
		return mem(kProbeStx)
	}
	if op := ins.Code; op.Class().IsJump() && op.JumpOp() != Call { // the conditional jumps
		kind := jumpKind(op.JumpOp(), op.Source())
		if op.Class() == Jump32Class {
			kind = kJmp32K
			if op.Source() == RegSource {
				kind = kJmp32X
			}
		}
		o = jump(kind, sext)
		o.aux = uint8(op.JumpOp())
		return o
	}
	return x(kStep) // halfword accesses, sign-extending loads, atomics, ...
}

// jumpKind is the op of a JMP-class conditional jump.
func jumpKind(op JumpOp, s Source) opKind {
	var k opKind
	switch op {
	case JEq:
		k = kJeqK
	case JNE:
		k = kJneK
	case JGT:
		k = kJgtK
	case JGE:
		k = kJgeK
	case JLT:
		k = kJltK
	case JLE:
		k = kJleK
	case JSGT:
		k = kJsgtK
	case JSGE:
		k = kJsgeK
	case JSLT:
		k = kJsltK
	case JSLE:
		k = kJsleK
	case JSet:
		k = kJsetK
	}
	if s == RegSource {
		k++ // every X kind follows its K kind
	}
	return k
}

// fuse returns the superinstruction doing a then b, if there is one. a and b
// are the ops of two consecutive slots; the fused op replaces a and skips b
// (b keeps its own op for jumps that land on it).
func fuse(a, b cop) (cop, bool) {
	switch {
	case a.kind == kMov64X && b.dst == a.dst:
		// mov rD, rS; op rD, K  =>  rD = rS op K
		if kind := movFusedK(b.kind); kind != kTrap {
			return cop{kind: kind, dst: a.dst, src: a.src, imm: b.imm}, true
		}
		// mov rD, rS; op rD, rT  =>  rD = rS op rT, unless T is D
		if kind := movFusedX(b.kind); kind != kTrap && b.src != a.dst {
			return cop{kind: kind, dst: a.dst, src: a.src, aux: b.src}, true
		}
	case a.kind == kAdd64K && b.dst == a.dst && int64(a.imm) == int64(int32(a.imm)):
		// add rD, K; if rD op K2 goto  =>  one step, the jump's fields plus K in
		// imm2 (unless K is sub's -(-2^31), which does not fit there)
		if kind := addFusedJump(b.kind); kind != kTrap {
			f := b
			f.kind, f.imm2 = kind, int32(a.imm)
			return f, true
		}
	case a.kind == kLdxDW && b.src == a.dst && b.dst != a.dst:
		// rA = *(u64 *)(rB + off); op rC, rA  =>  one step, C in aux
		if kind := ldxFusedX(b.kind); kind != kTrap {
			f := a
			f.kind, f.aux = kind, b.dst
			return f, true
		}
	}
	return cop{}, false
}

// pairKind is the op doing a then b, two register-register ALU64 ops among
// add, sub, xor, and, or; kTrap if there is none.
func pairKind(a, b opKind) opKind {
	i, j := pairIndex(a), pairIndex(b)
	if i < 0 || j < 0 {
		return kTrap
	}
	return kPairAddAdd + opKind(i*5+j)
}

// pairIndex is a's position in the pair kinds' order, or -1.
func pairIndex(a opKind) int {
	switch a {
	case kAdd64X:
		return 0
	case kSub64X:
		return 1
	case kXor64X:
		return 2
	case kAnd64X:
		return 3
	case kOr64X:
		return 4
	}
	return -1
}

func movFusedK(k opKind) opKind {
	switch k {
	case kAdd64K:
		return kMovAdd64K
	case kAnd64K:
		return kMovAnd64K
	case kOr64K:
		return kMovOr64K
	case kXor64K:
		return kMovXor64K
	case kLsh64K:
		return kMovLsh64K
	case kRsh64K:
		return kMovRsh64K
	case kArsh64K:
		return kMovArsh64K
	case kMul64K:
		return kMovMul64K
	}
	return kTrap
}

func movFusedX(k opKind) opKind {
	switch k {
	case kAdd64X:
		return kMovAdd64X
	case kSub64X:
		return kMovSub64X
	case kAnd64X:
		return kMovAnd64X
	case kOr64X:
		return kMovOr64X
	case kXor64X:
		return kMovXor64X
	case kMul64X:
		return kMovMul64X
	}
	return kTrap
}

func addFusedJump(k opKind) opKind {
	switch k {
	case kJeqK:
		return kAddJeqK
	case kJneK:
		return kAddJneK
	case kJgtK:
		return kAddJgtK
	case kJgeK:
		return kAddJgeK
	case kJltK:
		return kAddJltK
	case kJleK:
		return kAddJleK
	case kJsgtK:
		return kAddJsgtK
	case kJsgeK:
		return kAddJsgeK
	case kJsltK:
		return kAddJsltK
	case kJsleK:
		return kAddJsleK
	case kJsetK:
		return kAddJsetK
	}
	return kTrap
}

func ldxFusedX(k opKind) opKind {
	switch k {
	case kAdd64X:
		return kLdxDWAdd
	case kOr64X:
		return kLdxDWOr
	case kXor64X:
		return kLdxDWXor
	case kAnd64X:
		return kLdxDWAnd
	case kSub64X:
		return kLdxDWSub
	}
	return kTrap
}

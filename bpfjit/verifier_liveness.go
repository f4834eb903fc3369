package bpfjit

const (
	callerSavedRegs = 1<<6 - 1 // r0-r5 (ALL_CALLER_SAVED_REGS)
	argRegs         = callerSavedRegs &^ 1
)

func regBit(r Register) uint16 { return 1 << (r & 0x0f) }

// successors returns the instructions that may run right after i inside its
// own function (insn_successors): calls continue at i+1.
func (v *verifier) successors(i int, buf *[2]int) []int {
	ins := v.insns[i]
	c := ins.Code.Class()
	next := i + 1
	if ins.IsLdImm64() {
		next = i + 2
	}
	if !c.IsJump() {
		buf[0] = next
		return buf[:1]
	}
	switch ins.Code.JumpOp() {
	case Exit:
		return buf[:0]
	case Call:
		buf[0] = next
		return buf[:1]
	case Ja:
		buf[0] = i + jmpOffset(ins) + 1
		return buf[:1]
	}
	buf[0], buf[1] = next, i+int(ins.Off)+1
	return buf[:2]
}

// useDef returns the registers an instruction reads and writes
// (compute_insn_live_regs).
func (v *verifier) useDef(i int) (use, def uint16) {
	ins := v.insns[i]
	src, dst, r0 := regBit(ins.Src), regBit(ins.Dst), uint16(1)
	use = 0xffff
	switch ins.Code.Class() {
	case LdClass:
		if ins.Code.Mode() == ImmMode {
			return 0, dst
		}
	case LdXClass:
		return src, dst
	case StClass:
		return dst, 0
	case StXClass:
		if ins.Code.Mode() == AtomicMode {
			switch ins.Imm {
			case AtomicCmpXchg:
				return r0 | dst | src, r0
			case AtomicLoadAcq:
				return src, dst
			case AtomicStoreRel:
				return dst | src, 0
			}
			if ins.Imm&AtomicFetch != 0 {
				return dst | src, src
			}
			return dst | src, 0
		}
		return dst | src, 0
	case ALUClass, ALU64Class:
		switch ins.Code.ALUOp() {
		case End:
			return dst, dst
		case Mov:
			if ins.Code.Source() == ImmSource {
				return 0, dst
			}
			return src, dst
		}
		if ins.Code.Source() == ImmSource {
			return dst, dst
		}
		return dst | src, dst
	case JumpClass, Jump32Class:
		switch ins.Code.JumpOp() {
		case Ja, JCond:
			return 0, 0
		case Exit:
			return r0, 0
		case Call:
			def = callerSavedRegs
			use = def &^ r0
			if h := v.aux[i].helper; h != nil {
				use = 0
				for a, t := range h.Args {
					if t != ArgDontCare {
						use |= regBit(R1 + Register(a))
					}
				}
			} else if kf := v.aux[i].kfunc; kf != nil {
				use = 0
				for a := range kf.Args {
					use |= regBit(R1 + Register(a))
				}
			}
			return use, def
		}
		if ins.Code.Source() == ImmSource {
			return dst, 0
		}
		return dst | src, 0
	}
	return use, def
}

// computeLiveRegs finds, for every instruction, the registers that may be
// read before being written on some path from it (compute_live_registers).
// State comparison ignores the others.
func (v *verifier) computeLiveRegs() {
	v.indexSubprogs()
	n := len(v.insns)
	for i := range v.insns {
		if isHelperCall(v.insns[i]) {
			v.aux[i].helper = v.env.Helpers[v.insns[i].Imm]
		}
	}
	type io struct{ use, def, in, out uint16 }
	st := make([]io, n)
	for i := range st {
		st[i].use, st[i].def = v.useDef(i)
	}
	var buf [2]int
	for changed := true; changed; {
		changed = false
		for i := n - 1; i >= 0; i-- {
			var out uint16
			for _, s := range v.successors(i, &buf) {
				if s >= 0 && s < n {
					out |= st[s].in
				}
			}
			in := out&^st[i].def | st[i].use
			if in != st[i].in || out != st[i].out {
				st[i].in, st[i].out = in, out
				changed = true
			}
		}
	}
	for i := range st {
		v.aux[i].liveIn = st[i].in
	}
}

// markPrecise records that the verifier relied on the exact values of the
// registers in mask at instruction insn: the points where the kernel calls
// mark_chain_precision, plus a scalar spilled to the stack (a slot the
// model always compares exactly). Like the kernel, it leaves the precise
// flag of the current state alone; that flag shows only for unprivileged
// programs, whose scalars are all precise.
func (v *verifier) markPrecise(insn int, mask uint16) {
	a := &v.aux[insn]
	if a.preciseUse|mask != a.preciseUse {
		a.preciseUse |= mask
		v.precisionDirty = true
	}
}

// computePrecision propagates the precise uses backwards over every path:
// a register must be compared exactly before an instruction if its value,
// or a value derived from it, is relied on later. It stands in for the
// kernel's backtracking (__mark_chain_precision) and is sound for pruning
// because it covers every path instead of one.
func (v *verifier) computePrecision() {
	v.precisionDirty = false
	n := len(v.insns)
	var buf [2]int
	for changed := true; changed; {
		changed = false
		for i := n - 1; i >= 0; i-- {
			a := &v.aux[i]
			var out uint16
			for _, s := range v.successors(i, &buf) {
				if s >= 0 && s < n {
					out |= v.aux[s].needIn
				}
			}
			in := v.precisionTransfer(i, out) | a.preciseUse
			if in != a.needIn || out != a.needOut {
				a.needIn, a.needOut = in, out
				changed = true
			}
		}
	}
}

// precisionTransfer returns the registers needed before instruction i
// given those needed after it.
func (v *verifier) precisionTransfer(i int, out uint16) uint16 {
	ins := v.insns[i]
	src, dst := regBit(ins.Src), regBit(ins.Dst)
	switch ins.Code.Class() {
	case LdClass, LdXClass:
		return out &^ dst
	case StClass:
		return out
	case StXClass:
		if ins.Code.Mode() == AtomicMode {
			_, def := v.useDef(i)
			return out &^ def
		}
		return out
	case ALUClass, ALU64Class:
		op := ins.Code.ALUOp()
		switch {
		case op == Mov && ins.Code.Source() == ImmSource:
			return out &^ dst
		case op == Mov && ins.Off == AddrSpaceCast && ins.Code.Class() == ALU64Class:
			return out &^ dst
		case op == Mov:
			if out&dst != 0 {
				return out&^dst | src
			}
			return out
		case op == Neg || op == End || ins.Code.Source() == ImmSource:
			return out
		}
		if out&dst != 0 {
			return out | src
		}
		return out
	case JumpClass, Jump32Class:
		switch ins.Code.JumpOp() {
		case Ja, JCond:
			return out
		case Exit:
			if v.subprogOf(i) == 0 {
				return 0
			}
			return v.exitNeed(v.subprogOf(i))
		case Call:
			in := out &^ callerSavedRegs
			if ins.Src == CallLocal {
				if t := i + int(ins.Imm) + 1; t >= 0 && t < len(v.insns) {
					in |= v.aux[t].needIn & argRegs
				}
			}
			return in
		}
		group := v.aux[i].linked
		if ins.Code.Source() == RegSource {
			group |= src | dst
		}
		if out&group != 0 {
			return out | group
		}
		return out
	}
	return out
}

// exitNeed returns {r0} if some caller of subprogram sp relies on its
// return value.
func (v *verifier) exitNeed(sp int) uint16 {
	for _, c := range v.callSites[sp] {
		if c+1 < len(v.insns) && v.aux[c+1].needIn&1 != 0 {
			return 1
		}
	}
	return 0
}

// subprogOf returns the subprogram holding instruction i.
func (v *verifier) subprogOf(i int) int { return int(v.aux[i].subprog) }

// indexSubprogs records each instruction's subprogram and each
// subprogram's call sites, for the precision analysis.
func (v *verifier) indexSubprogs() {
	v.callSites = make([][]int, len(v.subprogs))
	sp := 0
	for i := range v.insns {
		for sp+1 < len(v.subprogs)-1 && v.subprogs[sp+1].start <= i {
			sp++
		}
		v.aux[i].subprog = int32(sp)
		if ins := v.insns[i]; isPseudoCall(ins) {
			if t := v.findSubprog(i + int(ins.Imm) + 1); t >= 0 {
				v.callSites[t] = append(v.callSites[t], i)
			}
		}
	}
}

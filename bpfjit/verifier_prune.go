package bpfjit

import "github.com/arenasim/arenasim/internal/errno"

// exactLevel says how strictly two states are compared (enum exact_level).
type exactLevel uint8

const (
	notExact    exactLevel = iota // imprecise scalars and dead registers do not matter
	exact                         // everything must be identical
	rangeWithin                   // scalars by range, whether precise or not
)

// complexityLimitStates caps the states kept per instruction for
// unprivileged programs (BPF_COMPLEXITY_LIMIT_STATES).
const complexityLimitStates = 64

// idmap pairs the ids of an old state with those of a new one
// (struct bpf_idmap). tmp hands out ids to scalars that have none, above
// every id the verifier gave out.
type idmap struct {
	old, cur []uint32
	tmp      uint32
}

// checkScalar compares scalar ids, where an absent id is a fresh one: two
// unlinked scalars may correspond to each other but not to a linked one
// (check_scalar_ids).
func (m *idmap) checkScalar(oldID, curID uint32) bool {
	if oldID == 0 {
		m.tmp++
		oldID = m.tmp
	}
	if curID == 0 {
		m.tmp++
		curID = m.tmp
	}
	return m.check(oldID, curID)
}

// check reports whether oldID and curID correspond consistently (check_ids).
func (m *idmap) check(oldID, curID uint32) bool {
	if (oldID == 0) != (curID == 0) {
		return false
	}
	if oldID == 0 {
		return true
	}
	for i := range m.old {
		if m.old[i] == oldID {
			return m.cur[i] == curID
		}
		if m.cur[i] == curID {
			return false
		}
	}
	m.old = append(m.old, oldID)
	m.cur = append(m.cur, curID)
	return true
}

// regsafe reports whether everything safe with rold is safe with rcur
// (regsafe). precise says whether the register's exact value matters.
func regsafe(rold, rcur *regState, precise bool, lvl exactLevel, ids *idmap) bool {
	if lvl == exact {
		return rold.exact(rcur) && ids.check(rold.id, rcur.id)
	}
	if rold.typ == notInit && (lvl == notExact || rcur.typ == notInit) {
		return true
	}
	if rold.typ != rcur.typ {
		return false
	}
	switch rold.typ.base() {
	case scalarValue:
		if !precise && lvl == notExact {
			return true
		}
		if rold.id&addConstID != rcur.id&addConstID || (rold.id&addConstID != 0 && rold.off != rcur.off) {
			return false
		}
		return vRangeWithin(rold, rcur) && rold.varOff.in(rcur.varOff) && ids.checkScalar(rold.id, rcur.id)
	case ptrToMapKey, ptrToMapValue, ptrToMem:
		return rold.sameShape(rcur) && vRangeWithin(rold, rcur) && rold.varOff.in(rcur.varOff) &&
			ids.check(rold.id, rcur.id)
	case ptrToStack:
		return rold.exact(rcur) && ids.check(rold.id, rcur.id) && rold.frameno == rcur.frameno
	case ptrToArena:
		return true
	}
	return rold.exact(rcur) && ids.check(rold.id, rcur.id)
}

// unboundScalar is what a load from all-misc stack bytes gives.
func unboundScalar() regState {
	var r regState
	r.setUnknown(false)
	return r
}

// scalarForStack returns the scalar a slot holds for comparison purposes
// (scalar_reg_for_stack), or nil.
func (v *verifier) scalarForStack(s *stackSlot, unbound *regState) *regState {
	if s.types[0] == stackSpill && s.spilled.typ == scalarValue {
		return &s.spilled
	}
	for _, t := range s.types {
		if t != stackMisc && !(t == stackInvalid && v.allowUninitStack) {
			return nil
		}
	}
	return unbound
}

// stacksafe compares stacks (stacksafe). Spilled scalars are compared as
// precise: the model keeps no precision marks on stack slots.
func (v *verifier) stacksafe(old, cur *funcState, lvl exactLevel, ids *idmap) bool {
	unbound := unboundScalar()
	for i := 0; i < old.allocatedStack(); i++ {
		spi, k := i/bpfRegSize, i%bpfRegSize
		ot := old.stack[spi].types[k]
		if lvl == notExact && old.stackRead&(1<<uint(spi)) == 0 {
			i += bpfRegSize - 1 - k
			continue
		}
		if lvl != notExact && (i >= cur.allocatedStack() || ot != cur.stack[spi].types[k]) {
			return false
		}
		if ot == stackInvalid {
			continue
		}
		if v.allowUninitStack && ot == stackMisc {
			continue
		}
		if i >= cur.allocatedStack() {
			return false
		}
		os, cs := &old.stack[spi], &cur.stack[spi]
		oreg, creg := v.scalarForStack(os, &unbound), v.scalarForStack(cs, &unbound)
		if oreg != nil && creg != nil {
			if !regsafe(oreg, creg, true, lvl, ids) {
				return false
			}
			i += bpfRegSize - 1 - k
			continue
		}
		ct := cs.types[k]
		if ot == stackMisc && ct == stackZero {
			continue
		}
		if ot != ct {
			return false
		}
		if k != bpfRegSize-1 {
			continue
		}
		if ot == stackSpill && !regsafe(&os.spilled, &cs.spilled, true, lvl, ids) {
			return false
		}
	}
	return true
}

// funcStatesEqual compares one frame before instruction insn
// (func_states_equal): only registers live there matter.
func (v *verifier) funcStatesEqual(old, cur *funcState, insn int, lvl exactLevel, ids *idmap) bool {
	live, need := v.aux[insn].liveIn, v.aux[insn].needIn
	for r := R0; r < MaxReg; r++ {
		if live&regBit(r) == 0 {
			continue
		}
		if !regsafe(&old.regs[r], &cur.regs[r], need&regBit(r) != 0, lvl, ids) {
			return false
		}
	}
	return v.stacksafe(old, cur, lvl, ids)
}

// statesEqual compares two states at instruction insn (states_equal).
func (v *verifier) statesEqual(old, cur *vstate, insn int, lvl exactLevel) bool {
	if len(old.frames) != len(cur.frames) {
		return false
	}
	ids := idmap{tmp: v.idGen}
	for i, fo := range old.frames {
		at := insn
		if i < old.curframe() {
			at = old.frames[i+1].callsite
		}
		if fo.callsite != cur.frames[i].callsite {
			return false
		}
		if !v.funcStatesEqual(fo, cur.frames[i], at, lvl, &ids) {
			return false
		}
	}
	return true
}

// statesMaybeLooping is the cheap test before the exact comparison that
// detects an infinite loop (states_maybe_looping).
func statesMaybeLooping(old, cur *vstate) bool {
	if old.curframe() != cur.curframe() {
		return false
	}
	fo, fc := old.cur(), cur.cur()
	for i := range fo.regs {
		if !fo.regs[i].exact(&fc.regs[i]) || fo.regs[i].id != fc.regs[i].id {
			return false
		}
	}
	return true
}

func sameCallsites(a, b *vstate) bool {
	if len(a.frames) != len(b.frames) {
		return false
	}
	for i := range a.frames {
		if a.frames[i].callsite != b.frames[i].callsite {
			return false
		}
	}
	return true
}

// isStateVisited looks for a remembered state at insn that makes the
// current one redundant, and remembers the current one if not
// (is_state_visited). It reports true when the path can be pruned.
func (v *verifier) isStateVisited(insn int) (bool, error) {
	if v.precisionDirty {
		v.computePrecision()
	}
	cur := v.cur
	forceNew := v.aux[insn].forceCkpt || (v.env.TestStateFreq && v.bpfCapable)
	addNew := forceNew
	if v.jmpsProcessed-v.prevJmpsProcessed >= 2 && v.insnProcessed-v.prevInsnProcessed >= 8 {
		addNew = true
	}
	list := v.explored[insn]
	kept := list[:0]
	n := 0
	hit := false
	for idx, sl := range list {
		if hit {
			kept = append(kept, list[idx:]...)
			break
		}
		n++
		if sl.branches > 0 {
			if isMayGoto(v.insns[insn]) && sl.st.mayGotoDepth != cur.mayGotoDepth &&
				v.statesEqual(sl.st, cur, insn, rangeWithin) {
				updateLoopEntry(cur, sl)
				v.propagateStackReads(sl.st)
				sl.hit++
				hit = true
				kept = append(kept, sl)
				continue
			}
			if statesMaybeLooping(sl.st, cur) && v.statesEqual(sl.st, cur, insn, exact) &&
				sl.st.mayGotoDepth == cur.mayGotoDepth {
				err := v.errorf(errno.EINVAL, insn, "infinite loop detected at insn %d", insn)
				v.log.printf("cur state:")
				v.printVerifierState(cur, cur.curframe(), true)
				v.log.printf("old state:")
				v.printVerifierState(sl.st, cur.curframe(), true)
				return false, err
			}
			if !forceNew && v.jmpsProcessed-v.prevJmpsProcessed < 20 && v.insnProcessed-v.prevInsnProcessed < 100 {
				addNew = false
			}
		} else {
			lvl := notExact
			le := getLoopEntry(sl.st)
			if le != nil && le.branches > 0 {
				lvl = rangeWithin
			}
			if v.statesEqual(sl.st, cur, insn, lvl) {
				if lvl == rangeWithin {
					updateLoopEntry(cur, le)
				}
				v.propagateStackReads(sl.st)
				sl.hit++
				hit = true
				kept = append(kept, sl)
				continue
			}
		}
		if addNew {
			sl.miss++
		}
		nmiss := 3
		if forceNew && sl.branches > 0 {
			nmiss = 64
		}
		if sl.miss > sl.hit*nmiss+nmiss {
			v.exploredStates--
			continue
		}
		kept = append(kept, sl)
	}
	v.explored[insn] = kept
	if hit {
		return true, nil
	}
	v.maxStatesPerInsn = max(v.maxStatesPerInsn, n)
	if !v.bpfCapable && n > complexityLimitStates {
		return false, nil
	}
	if !addNew {
		return false, nil
	}
	v.totalStates++
	v.exploredStates++
	v.peakStates = max(v.peakStates, v.exploredStates)
	v.prevJmpsProcessed = v.jmpsProcessed
	v.prevInsnProcessed = v.insnProcessed
	ck := &checkpoint{st: cur.clone(), insnIdx: insn, branches: 1, parent: cur.parent}
	for _, f := range ck.st.frames {
		f.stackRead = 0
	}
	cur.parent = ck
	cur.dfsDepth = ck.st.dfsDepth + 1
	for _, f := range cur.frames {
		f.regWritten = 0
		f.stackWritten = 0
	}
	v.explored[insn] = append([]*checkpoint{ck}, v.explored[insn]...)
	return false, nil
}

// propagateStackReads makes the current path depend on every stack slot
// the equivalent old state's continuation read (propagate_liveness).
func (v *verifier) propagateStackReads(old *vstate) {
	for fr, f := range old.frames {
		for spi := range f.stack {
			if f.stackRead&(1<<uint(spi)) != 0 && spi < len(v.cur.frames[fr].stack) {
				v.markStackRead(fr, spi)
			}
		}
	}
}

// findPrevEntry finds the checkpoint at insn that the current path went
// through on an earlier loop iteration (find_prev_entry).
func (v *verifier) findPrevEntry(insn int) *checkpoint {
	p := v.cur.parent
	if p == nil {
		return nil
	}
	for _, sl := range v.explored[insn] {
		if sl.branches > 0 && sameCallsites(sl.st, p.st) && sl.st.dfsDepth < p.st.dfsDepth {
			return sl
		}
	}
	return nil
}

// widenImpreciseScalars forgets scalars that changed since the previous
// loop iteration when nothing relies on their exact value, so a loop
// reaches a state equal to an earlier one (widen_imprecise_scalars).
func (v *verifier) widenImpreciseScalars(old, cur *vstate, insn int) {
	if v.precisionDirty {
		v.computePrecision()
	}
	for fr := old.curframe(); fr >= 0 && fr < len(cur.frames); fr-- {
		at := insn
		if fr < old.curframe() {
			at = old.frames[fr+1].callsite
		}
		need := v.aux[at].needIn
		fo, fc := old.frames[fr], cur.frames[fr]
		for r := range fo.regs {
			ro, rc := &fo.regs[r], &fc.regs[r]
			if ro.typ != scalarValue || rc.typ != scalarValue {
				continue
			}
			if need&regBit(Register(r)) != 0 || ro.exact(rc) {
				continue
			}
			rc.setUnknown(!v.bpfCapable)
		}
	}
}

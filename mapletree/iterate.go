package mapletree

// prevNode models mas_prev_node: move to the previous node at the same
// level (its last slot), or set ma_underflow below min. It reports true on
// a dead node.
func (mas *State) prevNode(min uint64) bool {
	t := mas.tree
	n := mas.node
	if mas.min == 0 {
		return mas.noPrev(n)
	}
	max := mas.min - 1
	if max < min {
		return mas.noPrev(n)
	}
	level := 0
	var offset int
	for {
		if t.isRoot(n) {
			return mas.noPrev(n)
		}
		if mas.ascend() {
			return true
		}
		offset = int(mas.offset)
		level++
		n = mas.node
		if offset != 0 {
			break
		}
	}
	offset--
	for level > 1 {
		level--
		mas.node = n.childAt(uint8(offset))
		if n.dead() {
			return true
		}
		n = mas.node
		offset = int(n.dataEnd(max))
		if n.dead() {
			return true
		}
	}
	mas.node = n.childAt(uint8(offset))
	if n.dead() {
		return true
	}
	if offset != 0 {
		mas.min = n.pivotAt(uint8(offset-1)) + 1
	}
	mas.max = max
	mas.offset = mas.dataEnd()
	if mas.node.dead() {
		return true
	}
	mas.end = mas.offset
	return false
}

func (mas *State) noPrev(n *node) bool {
	if n.dead() {
		return true
	}
	mas.status = StatusUnderflow
	return false
}

// prevSlot models mas_prev_slot: the entry in the previous slot, possibly
// NULL when empty is set; without empty, NULL slots are skipped.
func (mas *State) prevSlot(min uint64, empty bool) eword {
	savePoint := mas.index
retry:
	n := mas.node
	seq, ok := n.seqBegin()
	if !ok {
		mas.rewalk(savePoint)
		goto retry
	}
	if mas.rewalkIfDead(n, savePoint) {
		goto retry
	}
	if mas.min <= min {
		pivot := n.safeMinAt(mas.offset, mas.min)
		if mas.rewalkIfDead(n, savePoint) {
			goto retry
		}
		if pivot <= min {
			mas.status = StatusUnderflow
			return eword{}
		}
	}
	for {
		if mas.offset != 0 {
			mas.offset--
			mas.last = mas.index - 1
			mas.index = n.safeMinAt(mas.offset, mas.min)
		} else {
			if mas.index <= min {
				mas.status = StatusUnderflow
				return eword{}
			}
			if mas.prevNode(min) {
				mas.rewalk(savePoint)
				goto retry
			}
			if mas.isUnderflow() {
				return eword{}
			}
			mas.last = mas.max
			n = mas.node
			if seq, ok = n.seqBegin(); !ok {
				mas.rewalk(savePoint)
				goto retry
			}
			if mas.offset == 0 {
				mas.index = mas.min
			} else {
				mas.index = n.pivotAt(mas.offset-1) + 1
			}
		}
		w := n.entryAt(mas.offset)
		if n.dead() || n.seqRetry(seq) {
			mas.rewalk(savePoint)
			goto retry
		}
		if !w.isNull() {
			return w
		}
		if empty {
			return w
		}
		if mas.index <= min {
			mas.status = StatusUnderflow
			return eword{}
		}
	}
}

// safeMinAt is mas_safe_min for a reader (atomic pivot loads).
func (n *node) safeMinAt(i uint8, min uint64) uint64 {
	if i != 0 {
		return n.pivotAt(i-1) + 1
	}
	return min
}

// safePivotAt is mas_safe_pivot for a reader.
func (n *node) safePivotAt(i uint8, max uint64) uint64 {
	if i >= n.typ.pivots() {
		return max
	}
	return n.pivotAt(i)
}

// nextNode models mas_next_node: move to the next node at the same level
// (its first slot), or set ma_overflow at max. It reports true on a dead
// node.
func (mas *State) nextNode(n *node, max uint64) bool {
	t := mas.tree
	if mas.max >= max {
		return mas.noNext(n)
	}
	min := mas.max + 1
	level := 0
	var nodeEnd uint8
	for {
		if t.isRoot(n) {
			return mas.noNext(n)
		}
		if mas.ascend() {
			return true
		}
		level++
		n = mas.node
		nodeEnd = n.dataEnd(mas.max)
		if n.dead() {
			return true
		}
		if mas.offset != nodeEnd {
			break
		}
	}
	mas.offset++
	enode := n.childAt(mas.offset)
	if n.dead() {
		return true
	}
	if level > 1 {
		mas.offset = 0
	}
	for level > 1 {
		level--
		mas.node = enode
		n = enode
		enode = n.childAt(0)
		if n.dead() {
			return true
		}
	}
	mas.max = n.safePivotAt(mas.offset, mas.max)
	mas.end = enode.dataEnd(mas.max)
	if n.dead() {
		return true
	}
	mas.node = enode
	mas.min = min
	return false
}

func (mas *State) noNext(n *node) bool {
	if n.dead() {
		return true
	}
	mas.status = StatusOverflow
	return false
}

// nextSlot models mas_next_slot: the entry in the next slot, possibly NULL
// when empty is set; without empty, NULL slots are skipped.
func (mas *State) nextSlot(max uint64, empty bool) eword {
	savePoint := mas.last
retry:
	n := mas.node
	seq, ok := n.seqBegin()
	if !ok {
		mas.rewalk(savePoint)
		goto retry
	}
	if mas.rewalkIfDead(n, savePoint) {
		goto retry
	}
	if mas.max >= max {
		var pivot uint64
		if mas.offset < mas.end {
			pivot = n.pivotAt(mas.offset)
		} else {
			pivot = mas.max
		}
		if mas.rewalkIfDead(n, savePoint) {
			goto retry
		}
		if pivot >= max { // at the limit; the next slot lies beyond it
			mas.status = StatusOverflow
			return eword{}
		}
	}
	if mas.offset < mas.end {
		mas.index = n.pivotAt(mas.offset) + 1
		mas.offset++
		mas.setLastAtOffset(n)
	} else {
		if mas.last >= max {
			mas.status = StatusOverflow
			return eword{}
		}
		if mas.nextNode(n, max) {
			mas.rewalk(savePoint)
			goto retry
		}
		if mas.isOverflow() {
			return eword{}
		}
		mas.offset = 0
		mas.index = mas.min
		n = mas.node
		if seq, ok = n.seqBegin(); !ok {
			mas.rewalk(savePoint)
			goto retry
		}
		mas.last = n.pivotAt(0)
	}
	for {
		if mas.offset >= mapleRange64Slots {
			// Only a leaf that breaks the leaf rules ends in NULL
			// below max; stop rather than run off the node.
			mas.status = StatusOverflow
			return eword{}
		}
		w := n.entryAt(mas.offset)
		if n.dead() || n.seqRetry(seq) {
			mas.rewalk(savePoint)
			goto retry
		}
		if !w.isNull() || empty {
			return w
		}
		if mas.last >= max {
			mas.status = StatusOverflow
			return eword{}
		}
		mas.index = mas.last + 1
		mas.offset++
		mas.setLastAtOffset(n)
	}
}

// setLastAtOffset sets last to the end of the slot at offset.
func (mas *State) setLastAtOffset(n *node) {
	if mas.offset < mas.end {
		mas.last = n.pivotAt(mas.offset)
	} else {
		mas.last = mas.max
	}
}

// nextSetup models mas_next_setup. It reports true when the answer is
// already known (in entry).
func (mas *State) nextSetup(max uint64, entry *eword) bool {
	wasNone := mas.isNone()
	if mas.last >= max {
		mas.status = StatusOverflow
		return true
	}
	switch mas.status {
	case StatusActive:
		return false
	case StatusNone, StatusPause:
		mas.status = StatusStart
		mas.walk()
	case StatusStart:
		mas.walk()
	case StatusOverflow:
		// A new, higher limit: carry on from here.
		mas.status = StatusActive
	case StatusUnderflow:
		// Underflow left the State one range early: step back onto it.
		mas.status = StatusActive
		*entry = mas.walk()
		if !entry.isNull() {
			return true
		}
	case StatusRoot:
	case StatusError:
		return true
	}
	if mas.isActive() {
		return false
	}
	if mas.isPtr() {
		*entry = eword{}
		if wasNone && mas.index == 0 {
			mas.index = 0
			mas.last = 0
			return true
		}
		mas.index = 1
		mas.last = maxIndex
		mas.status = StatusNone
		return true
	}
	return mas.isNone()
}

// Next models mas_next: the next entry after the current range, up to max.
// It may return ZeroEntry.
func (mas *State) Next(max uint64) any {
	var w eword
	if mas.nextSetup(max, &w) {
		return w.unpack()
	}
	return mas.nextSlot(max, false).unpack()
}

// NextRange models mas_next_range: advance to the next range, empty or not.
func (mas *State) NextRange(max uint64) any {
	var w eword
	if mas.nextSetup(max, &w) {
		return w.unpack()
	}
	return mas.nextSlot(max, true).unpack()
}

// prevSetup models mas_prev_setup.
func (mas *State) prevSetup(min uint64, entry *eword) bool {
	if mas.index <= min {
		mas.status = StatusUnderflow
		return true
	}
	switch mas.status {
	case StatusActive:
		return false
	case StatusStart:
	case StatusNone, StatusPause:
		mas.status = StatusStart
	case StatusUnderflow:
		// A new, lower limit: carry on from here.
		mas.status = StatusActive
	case StatusOverflow:
		// Overflow left the State one range late: step back onto it.
		mas.status = StatusActive
		*entry = mas.walk()
		if !entry.isNull() {
			return true
		}
	case StatusRoot:
	case StatusError:
		return true
	}
	if mas.isStart() {
		mas.walk()
	}
	if mas.isPtr() {
		if mas.index == 0 {
			mas.status = StatusNone
			return true
		}
		mas.index = 0
		mas.last = 0
		_, *entry = mas.tree.loadRoot()
		return true
	}
	if mas.isNone() {
		if mas.index != 0 {
			// The walk left a bare root entry: step back onto it.
			mas.index = 0
			mas.last = 0
			mas.status = StatusRoot
			_, *entry = mas.tree.loadRoot()
			return true
		}
		return true
	}
	return false
}

// Prev models mas_prev: the previous entry before the current range, down
// to min. It may return ZeroEntry.
func (mas *State) Prev(min uint64) any {
	var w eword
	if mas.prevSetup(min, &w) {
		return w.unpack()
	}
	return mas.prevSlot(min, false).unpack()
}

// PrevRange models mas_prev_range: step back one range, empty or not.
func (mas *State) PrevRange(min uint64) any {
	var w eword
	if mas.prevSetup(min, &w) {
		return w.unpack()
	}
	return mas.prevSlot(min, true).unpack()
}

// findSetup models mas_find_setup.
func (mas *State) findSetup(max uint64, entry *eword) bool {
	switch mas.status {
	case StatusActive:
		return mas.last >= max
	case StatusStart:
	case StatusPause:
		if mas.last >= max {
			return true
		}
		mas.last++
		mas.index = mas.last
		mas.status = StatusStart
	case StatusNone:
		if mas.last >= max {
			return true
		}
		mas.index = mas.last
		mas.status = StatusStart
	case StatusUnderflow:
		// Underflow: the State sits on the range it could not go below.
		if mas.index >= max {
			mas.status = StatusOverflow
			return true
		}
		mas.status = StatusActive
		*entry = mas.walk()
		if !entry.isNull() {
			return true
		}
	case StatusOverflow:
		if mas.last >= max {
			return true
		}
		mas.status = StatusActive
		*entry = mas.walk()
		if !entry.isNull() {
			return true
		}
	case StatusRoot:
	case StatusError:
		return true
	}
	if mas.isStart() {
		// A fresh walk, or one resumed from pause or none.
		if mas.index > max {
			return true
		}
		*entry = mas.walk()
		if !entry.isNull() {
			return true
		}
	}
	if mas.isPtr() {
		mas.status = StatusNone
		mas.index = 1
		mas.last = maxIndex
		return true
	}
	if mas.isNone() {
		return true
	}
	return mas.index == max
}

// find is Find at the word level.
func (mas *State) find(max uint64) eword {
	var w eword
	if mas.findSetup(max, &w) {
		return w
	}
	w = mas.nextSlot(max, false)
	mas.status = StatusActive // ignore overflow
	return w
}

// Find models mas_find: on the first call the entry at or after Index up to
// max, afterwards the next one. NULLs are skipped; ZeroEntry is returned.
func (mas *State) Find(max uint64) any { return mas.find(max).unpack() }

// FindRange models mas_find_range: like Find but stepping through empty
// ranges too.
func (mas *State) FindRange(max uint64) any {
	var w eword
	if mas.findSetup(max, &w) {
		return w.unpack()
	}
	return mas.nextSlot(max, true).unpack()
}

// findRevSetup models mas_find_rev_setup.
func (mas *State) findRevSetup(min uint64, entry *eword) bool {
	switch mas.status {
	case StatusActive:
		return mas.index < min
	case StatusStart:
	case StatusPause:
		if mas.index <= min {
			mas.status = StatusUnderflow
			return true
		}
		mas.index--
		mas.last = mas.index
		mas.status = StatusStart
	case StatusNone:
		if mas.index <= min {
			mas.status = StatusNone
			return true
		}
		mas.last = mas.index
		mas.status = StatusStart
	case StatusOverflow:
		// Overflow left the State one range late: step back onto it.
		if mas.index <= min {
			mas.status = StatusUnderflow
			return true
		}
		mas.status = StatusActive
	case StatusUnderflow:
		// Underflow left the State one range early: step back onto it.
		if mas.index <= min {
			return true
		}
		mas.status = StatusActive
	case StatusRoot:
	case StatusError:
		return true
	}
	if mas.isStart() {
		// A fresh walk, or one resumed from pause or none.
		if mas.index < min {
			return true
		}
		*entry = mas.walk()
		if !entry.isNull() {
			return true
		}
	}
	if mas.isPtr() {
		mas.status = StatusNone
		return true
	}
	if mas.isNone() {
		// Nothing at or below the index but the bare root entry at 0.
		mas.index = 0
		mas.last = 0
		mas.status = StatusRoot
		_, *entry = mas.tree.loadRoot()
		return true
	}
	return mas.index < min
}

// FindRev models mas_find_rev: on the first call the entry at or before
// Index down to min, afterwards the previous one.
func (mas *State) FindRev(min uint64) any {
	var w eword
	if mas.findRevSetup(min, &w) {
		return w.unpack()
	}
	return mas.prevSlot(min, false).unpack()
}

// FindRangeRev models mas_find_range_rev.
func (mas *State) FindRangeRev(min uint64) any {
	var w eword
	if mas.findRevSetup(min, &w) {
		return w.unpack()
	}
	return mas.prevSlot(min, true).unpack()
}

// Find models mt_find: the first entry (not NULL, not ZeroEntry) whose
// range meets [*index, max]; on success *index becomes the end of that
// range plus one (wrapping to 0 after ULONG_MAX). Lock-free.
func (t *Tree) Find(index *uint64, max uint64) any {
	e, _, _ := t.findRange(index, max)
	return e
}

// findRange is mt_find also returning the range of the entry found.
func (t *Tree) findRange(index *uint64, max uint64) (any, uint64, uint64) {
	if *index > max {
		return nil, 0, 0
	}
	var mas State
	mas.init(t, *index, *index)
	var w eword
	for {
		w = mas.stateWalk()
		if !mas.isStart() {
			break
		}
	}
	e := w.unpack()
	if isZero(e) {
		e = nil
	}
	if e == nil {
		for mas.isActive() && mas.last < max {
			e = mas.nextSlot(max, false).unpack()
			if e != nil && !isZero(e) {
				break
			}
		}
		if isZero(e) {
			e = nil
		}
	}
	if e == nil {
		return nil, 0, 0
	}
	*index = mas.last + 1
	if mas.isPtr() {
		return e, 0, 0
	}
	return e, mas.index, mas.last
}

// FindAfter models mt_find_after: Find, except that an *index of 0 (a
// wrap-around in a loop) finds nothing.
func (t *Tree) FindAfter(index *uint64, max uint64) any {
	if *index == 0 {
		return nil
	}
	return t.Find(index, max)
}

// ForEach models mt_for_each: call fn for every entry (skipping ZeroEntry)
// whose range meets [index, max], in order, with the range it covers,
// until fn returns false. Lock-free.
func (t *Tree) ForEach(index, max uint64, fn func(first, last uint64, entry any) bool) {
	i := index
	for {
		e, first, last := t.findRange(&i, max)
		if e == nil || !fn(first, last, e) || i == 0 {
			return
		}
	}
}

// Next models mt_next: the next entry after index, up to max.
func (t *Tree) Next(index, max uint64) any {
	var mas State
	mas.init(t, index, index)
	return mas.Next(max)
}

// Prev models mt_prev: the previous entry before index, down to min.
func (t *Tree) Prev(index, min uint64) any {
	var mas State
	mas.init(t, index, index)
	return mas.Prev(min)
}

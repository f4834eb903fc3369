package mapletree

import "math"

// rangeWalk models mtree_range_walk: descend from mas.node to the leaf slot
// holding mas.index and leave the State describing it: index/last are the
// slot's whole range (even for NULL), min/max the leaf's limits, offset and
// end set. On a dead node (or a leaf changed under the reader) it resets
// the State to ma_start and returns NULL; the caller walks again.
func (mas *State) rangeWalk() eword {
	next := mas.node
	min, max := mas.min, mas.max
	var prevMin, prevMax uint64
	var offset, end uint8
	for {
		n := next
		seq, ok := n.seqBegin()
		if !ok {
			break
		}
		end = n.dataEnd(max)
		prevMin, prevMax = min, max
		if p := n.pivotAt(0); p >= mas.index {
			offset = 0
			max = p
		} else {
			offset = 1
			for offset < end {
				if p := n.pivotAt(offset); p >= mas.index {
					max = p
					break
				}
				offset++
			}
			min = n.pivotAt(offset-1) + 1
		}
		if n.typ.isLeaf() {
			w := n.entryAt(offset)
			if n.dead() || n.seqRetry(seq) {
				break
			}
			mas.end = end
			mas.offset = offset
			mas.index = min
			mas.last = max
			mas.min = prevMin
			mas.max = prevMax
			mas.node = n
			return w
		}
		next = n.childAt(offset)
		if n.dead() {
			break
		}
	}
	mas.Reset()
	return eword{}
}

// lookupWalk models mtree_lookup_walk: the quick descent Load uses. It scans
// every pivot slot instead of computing the data end (a short node stores
// its max at its end, so the scan stops there). ok is false when the walk
// met a dead or changing node and must be retried.
func lookupWalk(n *node, index uint64) (w eword, ok bool) {
	// Internal nodes change in place only by single-word child swaps, so
	// only the leaf needs its sequence count checked.
	for !n.typ.isLeaf() {
		end := n.typ.pivots()
		var offset uint8
		for offset < end && n.pivotAt(offset) < index {
			offset++
		}
		next := n.childAt(offset)
		if n.dead() {
			return eword{}, false
		}
		n = next
	}
	seq, stable := n.seqBegin()
	if !stable {
		return eword{}, false
	}
	var offset uint8
	for offset < mapleRange64Slots-1 && n.pivotAt(offset) < index {
		offset++
	}
	w = n.entryAt(offset)
	if n.dead() || n.seqRetry(seq) {
		return eword{}, false
	}
	return w, true
}

// stateWalk models mas_state_walk.
func (mas *State) stateWalk() eword {
	w := mas.start()
	if mas.isNone() {
		return eword{}
	}
	if mas.isPtr() {
		return w
	}
	return mas.rangeWalk()
}

// walk is Walk returning the entry's words.
func (mas *State) walk() eword {
	if !mas.isActive() || !mas.isStart() {
		mas.status = StatusStart
	}
	for {
		w := mas.stateWalk()
		switch {
		case mas.isStart():
			continue
		case mas.isNone():
			mas.index = 0
			mas.last = math.MaxUint64
		case mas.isPtr():
			if mas.index == 0 {
				mas.last = 0
				return w
			}
			mas.index = 1
			mas.last = math.MaxUint64
			mas.status = StatusNone
			return eword{}
		}
		return w
	}
}

// Walk models mas_walk: find the entry at Index and set [Index, Last] to the
// range of its slot (the range of the empty slot when there is no entry).
// It may return ZeroEntry.
func (mas *State) Walk() any { return mas.walk().unpack() }

// rewalk models mas_rewalk: walk again to index after meeting a dead node.
func (mas *State) rewalk(index uint64) {
	for {
		mas.Set(index)
		mas.stateWalk()
		if !mas.isStart() {
			return
		}
	}
}

// rewalkIfDead models mas_rewalk_if_dead.
func (mas *State) rewalkIfDead(n *node, index uint64) bool {
	if n.dead() {
		mas.rewalk(index)
		return true
	}
	return false
}

// Load models mtree_load: the entry at index, or nil. ZeroEntry loads as
// nil. Load takes no lock and allocates nothing; in RCU mode it may run
// beside a writer and returns either the old or the new entry.
func (t *Tree) Load(index uint64) any {
	e := t.load(index).unpack()
	if isZero(e) {
		return nil
	}
	return e
}

// load is the word-level lookup behind Load.
func (t *Tree) load(index uint64) eword {
	for {
		root, w := t.loadRoot()
		if root == nil {
			if index != 0 {
				return eword{}
			}
			return w
		}
		if w, ok := lookupWalk(root, index); ok {
			return w
		}
	}
}

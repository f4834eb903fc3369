package mapletree

import (
	"math"
	"sync/atomic"
	"unsafe"
)

// rangeWalk models mtree_range_walk: descend from mas.node to the leaf slot
// holding mas.index and leave the State describing it: index/last are the
// slot's whole range (even for NULL), min/max the leaf's limits, offset and
// end set. On a dead node (or a leaf changed under the reader) it resets
// the State to ma_start and returns NULL; the caller walks again.
func (mas *State) rangeWalk() eword {
	n := mas.node
	index := mas.index
	min, max := mas.min, mas.max
	for {
		// Only leaves change in place by more than one word (see
		// Load), so only a leaf's sequence count is checked.
		leaf := n.typ.isLeaf()
		var seq uint32
		if leaf {
			var stable bool
			if seq, stable = n.seqBegin(); !stable {
				break
			}
		}
		end := uint(n.dataEnd(max))
		checkEnd(end)
		prevMin, prevMax := min, max
		var offset uint
		if p := n.pivotAt(0); p >= index {
			max = p
		} else {
			// The kernel scans [1, end); with end 0 the offset is 1.
			offset = pivotSearch(&n.pivot, 1, maxUint(end, 1), index)
			if offset < end {
				max = n.pivotLoad(offset)
			}
			min = n.pivotLoad(offset-1) + 1
		}
		s := n.slotRef(offset)
		if leaf {
			w := loadEword(&s.typ, &s.data)
			if n.dead() || n.seqRetry(seq) {
				break
			}
			mas.end = uint8(end)
			mas.offset = uint8(offset)
			mas.index = min
			mas.last = max
			mas.min = prevMin
			mas.max = prevMax
			mas.node = n
			return w
		}
		next := (*node)(atomic.LoadPointer(&s.data))
		if n.dead() {
			break
		}
		n = next
	}
	mas.Reset()
	return eword{}
}

// pivotSearch is the pivot scan of every walk, readers' and writers': the
// first offset in [start, end) whose pivot is at least index, or end if
// there is none; start <= end <= 15. Each pivot is read atomically (a plain
// load on amd64, so writers lose nothing). The loop steps a pointer and
// breaks in its body rather than in its condition so that it compiles to a
// load, a compare and two branches.
func pivotSearch(pv *[mapleRange64Slots - 1]uint64, start, end uint, index uint64) uint {
	base := unsafe.Pointer(pv)
	p := unsafe.Add(base, start*8)
	stop := unsafe.Add(base, end*8)
	for p != stop {
		if atomic.LoadUint64((*uint64)(p)) >= index {
			break
		}
		p = unsafe.Add(p, 8)
	}
	return uint(uintptr(p)-uintptr(base)) / 8
}

func maxUint(a, b uint) uint { return max(a, b) }

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
		// mas_state_walk, one call level saved: start gives a bare root
		// entry, nothing, or a node to descend from.
		var w eword
		if !mas.isStart() || !mas.startAtRoot() {
			w = mas.start()
		}
		if mas.isActive() {
			w = mas.rangeWalk()
		}
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
//
// Its descent is mtree_lookup_walk, written inline (one call less on the
// hottest read): it scans every pivot slot instead of computing the data
// end (a short node stores its max at its end, so the scan stops there)
// and starts again from the root when it meets a dead or changing node.
func (t *Tree) Load(index uint64) any {
	var w eword
retry:
	for {
		n, rw := t.loadRoot()
		if n == nil {
			if index == 0 {
				w = rw
			}
			break
		}
		// Internal nodes change in place only by single-word child
		// swaps, so only the leaf needs its sequence count checked.
		for {
			typ := n.typ
			if typ.isLeaf() {
				break
			}
			end := uint(mapleRange64Slots - 1)
			if typ == mapleArange64 {
				end = mapleArange64Slots - 1
			}
			off := pivotSearch(&n.pivot, 0, end, index)
			next := (*node)(atomic.LoadPointer(&n.slotRef(off).data))
			if n.dead() {
				continue retry
			}
			n = next
		}
		seq, stable := n.seqBegin()
		if !stable {
			continue
		}
		s := n.slotRef(pivotSearch(&n.pivot, 0, mapleRange64Slots-1, index))
		w = loadEword(&s.typ, &s.data)
		if n.dead() || n.seqRetry(seq) {
			continue
		}
		break
	}
	e := w.unpack()
	if isZero(e) {
		return nil
	}
	return e
}

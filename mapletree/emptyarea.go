package mapletree

import (
	"github.com/arenasim/arenasim/internal/errno"
)

// revAwalkLoop is the search loop of mas_empty_area_rev with mas_rev_awalk
// written inline (one call less per node visited): from mas.node and
// mas.offset, find the highest gap of size inside the window [mas.index,
// mas.last], descending into it and rewinding to earlier slots as needed.
// It returns the end of the gap found (the State is at its leaf slot), or
// false when rewinding ran out of nodes; a failed search leaves EBUSY in
// the State. lastNode is the node the search started from.
func (mas *State) revAwalkLoop(size uint64, lastNode *node) (gapMax uint64, ok bool) {
	index, last := mas.index, mas.last // the window
	for !mas.isErr() {
		// mas_rev_awalk: in mas.node, find the highest gap of size that
		// lies in the window and settle on it (a leaf) or descend into it.
		n := mas.node
		typ := n.typ
		nodeMin := mas.min
		pv := &n.pivot
		offset := uint(mas.offset)
		safeMin := func(off uint) uint64 { // mas_safe_min
			if off == 0 {
				return nodeMin
			}
			return pv[off-1] + 1
		}
		min := safeMin(offset)
		// Step left past slots that start above the window. The kernel
		// steps one slot at a time; the pivots before the offset (which is
		// at most the data end) rise and none is ULONG_MAX, so the slot it
		// stops at is the first whose pivot reaches last, which the
		// forward pivot scan finds in fewer instructions.
		if last < min {
			offset = pivotSearch(pv, 0, offset, last)
			min = safeMin(offset)
		}
		max := n.safePivot(uint8(offset), mas.max)
		var gap uint64
		ascend := false
		// One scan per node kind: arange64 nodes keep their children's
		// gaps; other nodes have a gap wherever a slot is NULL, and never
		// two in a row. Leaving a scan by break is the kernel's "found".
		// The kernel has one loop testing the kind on every slot; two
		// loops (which repeat the step to the previous slot, as a shared
		// closure would cost more than it saves) run ~10% fewer
		// instructions.
		if typ == mapleArange64 {
			gaps := &n.gap
			for index <= max {
				gap = gaps[offset]
				// The kernel also tests gap != 0 first; size >= 1
				// (EmptyAreaRev refuses 0) makes size <= gap imply it.
				if size <= gap && size <= last-min+1 {
					break
				}
				if offset == 0 {
					ascend = true
					break
				}
				offset--
				max = min - 1
				min = safeMin(offset)
			}
		} else {
			for index <= max {
				gap = 0
				if n.slotNull(uint8(offset)) {
					gap = max - min + 1 // 0 if the slot spans every index
				}
				if gap != 0 {
					if size <= gap && size <= last-min+1 {
						break
					}
					// The next slot cannot be a gap.
					if offset < 2 {
						ascend = true
						break
					}
					offset -= 2
					max = pv[offset]
					min = safeMin(offset)
					continue
				}
				if offset == 0 {
					ascend = true
					break
				}
				offset--
				max = min - 1
				min = safeMin(offset)
			}
		}
		switch {
		case ascend:
			if mas.isRootNode() {
				mas.setErr(errno.EBUSY)
			}
		case index > max || size-1 > max-index:
			mas.setErr(errno.EBUSY)
		case typ.isLeaf():
			mas.offset = uint8(offset)
			return min + gap - 1, true
		default:
			// Descend (under the lock only).
			mas.node = n.child(uint8(offset))
			mas.min = min
			mas.max = max
			mas.offset = mas.dataEnd()
		}
		// mas_rev_awalk found nothing here: go on from the node it left
		// the State at, or rewind to the slot before this node.
		if mas.isErr() {
			break
		}
		if lastNode == mas.node {
			if !mas.rewindNode() {
				return 0, false
			}
		} else {
			lastNode = mas.node
		}
	}
	return 0, true
}

// anodeDescend models mas_anode_descend: in mas.node, find the lowest gap
// of size inside [mas.index, mas.last]; descend into it or settle on a leaf
// slot (true). It sets EBUSY (and returns true) once past mas.last.
func (mas *State) anodeDescend(size uint64) bool {
	n := mas.node
	typ := n.typ
	gaps := typ == mapleArange64
	offset := mas.offset
	min := n.safeMin(offset, mas.min)
	dataEnd := n.dataEnd(mas.max)
	found := false
	for ; offset <= dataEnd; offset++ {
		pivot := n.safePivot(offset, mas.max)
		// Not within the lower bound.
		if mas.index <= pivot {
			var gap uint64
			isGap := true
			if gaps {
				gap = n.gap[offset]
			} else if n.slotNull(offset) {
				gap = minU64(pivot, mas.last) - maxU64(mas.index, min) + 1
			} else {
				isGap = false
			}
			if isGap && gap >= size {
				if typ.isLeaf() {
					found = true
					break
				}
				mas.node = n.child(offset)
				mas.min = min
				mas.max = pivot
				offset = 0
				break
			}
		}
		min = pivot + 1
		if mas.last <= pivot {
			mas.setErr(errno.EBUSY)
			return true
		}
	}
	mas.offset = offset
	return found
}

func minU64(a, b uint64) uint64 { return min(a, b) }
func maxU64(a, b uint64) uint64 { return max(a, b) }

// rewindNode models mas_rewind_node: step back one slot, climbing as needed.
func (mas *State) rewindNode() bool {
	var slot uint8
	for {
		if mas.isRootNode() {
			slot = mas.offset
			if slot == 0 {
				return false
			}
		} else {
			mas.ascend()
			slot = mas.offset
		}
		if slot != 0 {
			break
		}
	}
	mas.offset = slot - 1
	return true
}

// skipNode models mas_skip_node: move past the current node.
func (mas *State) skipNode() bool {
	if mas.isErr() {
		return false
	}
	for {
		if mas.isRootNode() {
			if mas.offset >= mas.dataEnd() {
				mas.setErr(errno.EBUSY)
				return false
			}
		} else {
			mas.ascend()
		}
		if mas.offset < mas.dataEnd() {
			break
		}
	}
	mas.offset++
	return true
}

// awalk models mas_awalk: search low to high for a gap of size.
func (mas *State) awalk(size uint64) {
	var last *node
	for !mas.isErr() && !mas.anodeDescend(size) {
		if last == mas.node {
			mas.skipNode()
		} else {
			last = mas.node
		}
	}
}

// sparseArea models mas_sparse_area: the answer for an empty tree or a
// bare root entry (which occupies index 0).
func (mas *State) sparseArea(min, max, size uint64, fwd bool) error {
	if !mas.isNone() && min == 0 {
		min++
		// min moved: the window must still fit.
		if min > max || max-min+1 < size {
			return errno.EBUSY
		}
	}
	if fwd {
		mas.index = min
		mas.last = min + size - 1
	} else {
		mas.last = max
		mas.index = max - size + 1
	}
	return nil
}

// EmptyArea models mas_empty_area: find the lowest range of size empty
// indices inside [min, max] and set [Index, Last] to it. It fails with
// EINVAL for an impossible window and EBUSY when nothing fits. Called
// again without a Reset, it continues the search (for retry loops). Hold
// the tree's lock if other goroutines write.
func (mas *State) EmptyArea(min, max, size uint64) error {
	if min > max {
		return errno.Errorf(errno.EINVAL, "mapletree: empty area: min %#x > max %#x", min, max)
	}
	if size == 0 || max-min < size-1 {
		return errno.Errorf(errno.EINVAL, "mapletree: empty area: size %#x does not fit [%#x, %#x]", size, min, max)
	}
	switch {
	case mas.isStart():
		mas.start()
	case mas.offset >= 2:
		mas.offset -= 2
	default:
		if !mas.skipNode() {
			return errno.EBUSY
		}
	}
	// An empty tree or a bare root entry.
	if mas.isNone() || mas.isPtr() {
		return mas.sparseArea(min, max, size, true)
	}
	// The window start must fall within [min, max].
	mas.index = min
	mas.last = max
	mas.awalk(size)
	if mas.isErr() {
		return mas.err
	}
	n := mas.node
	lo := n.safeMin(mas.offset, mas.min)
	if mas.index < lo {
		mas.index = lo
	}
	mas.last = mas.index + size - 1
	mas.end = n.dataEnd(mas.max)
	return nil
}

// EmptyAreaRev models mas_empty_area_rev: like EmptyArea but the highest
// fitting range.
func (mas *State) EmptyAreaRev(min, max, size uint64) error {
	lastNode := mas.node
	if min > max {
		return errno.Errorf(errno.EINVAL, "mapletree: empty area: min %#x > max %#x", min, max)
	}
	if size == 0 || max-min < size-1 {
		return errno.Errorf(errno.EINVAL, "mapletree: empty area: size %#x does not fit [%#x, %#x]", size, min, max)
	}
	if mas.isStart() {
		if !mas.startAtRoot() { // mas_start, its common case inline
			mas.start()
		}
	} else if mas.offset < 2 && !mas.rewindNode() {
		return errno.EBUSY
	}
	if mas.isNone() || mas.isPtr() {
		return mas.sparseArea(min, max, size, false)
	} else if mas.offset >= 2 {
		mas.offset -= 2
	} else {
		mas.offset = mas.dataEnd()
	}
	// The window start must fall within [min, max].
	mas.index = min
	mas.last = max
	gapMax, ok := mas.revAwalkLoop(size, lastNode)
	if !ok {
		return errno.EBUSY
	}
	if mas.isErr() {
		return mas.err
	}
	if mas.offset == mapleNodeSlots {
		return errno.EBUSY
	}
	// Clip the gap end to the window.
	if gapMax < mas.last {
		mas.last = gapMax
	}
	mas.index = mas.last - size + 1
	mas.end = mas.dataEnd()
	return nil
}

package mapletree

import "math"

// leafMaxGap models mas_leaf_max_gap: the largest run of empty indices in
// the leaf at mas.node. NULL slots are never adjacent, so the scan skips the
// slot after each NULL; the tail of the right-most leaf counts up to
// ULONG_MAX.
func (mas *State) leafMaxGap() uint64 {
	n := mas.node
	min := mas.min
	var maxGap uint64
	i := uint(1)
	if n.slots[0].typ == nil {
		maxGap = n.pivot[0] - min + 1
		i = 2
	}
	maxPiv := int(n.dataEnd(mas.max)) - 1
	if maxPiv < 0 {
		// A single-slot leaf: only slot 0, handled above.
		return maxGap
	}
	if mas.max == math.MaxUint64 && maxPiv+1 < mapleRange64Slots && n.slots[maxPiv+1].typ == nil {
		gap := math.MaxUint64 - n.pivot[maxPiv]
		if gap > maxGap {
			maxGap = gap
		}
		if maxGap > n.pivot[maxPiv]-min {
			return maxGap
		}
	}
	// Slices bounded by maxPiv let the compiler drop the bounds checks.
	pivots := n.pivot[:maxPiv+1]
	slots := n.slots[:len(pivots)]
	for ; i < uint(len(pivots)); i++ {
		if slots[i].typ != nil {
			continue
		}
		if gap := pivots[i] - pivots[i-1]; gap > maxGap {
			maxGap = gap
		}
		i++ // NULL slots are never neighbours
	}
	return maxGap
}

// maxGapOf models mas_max_gap: a leaf's computed gap, or an arange64 node's
// recorded largest gap.
func (mas *State) maxGapOf() uint64 {
	if n := mas.node; n.typ >= mapleRange64 { // not a leaf (inlines)
		return n.gap[n.meta.gap]
	}
	return mas.leafMaxGap()
}

// parentGap models mas_parent_gap: record gap value nv at offset of the
// parent and carry the change upwards while it changes a node's maximum.
func (mas *State) parentGap(offset uint8, nv uint64) {
	rootMark := mas.tree.rootMarkPtr()
	p := mas.node.parentNode()
	for {
		metaOffset := p.meta.gap
		metaGap := p.gap[metaOffset]
		p.gap[offset] = nv
		if metaGap == nv {
			return
		}
		if offset != metaOffset {
			if metaGap > nv {
				return
			}
			p.meta.gap = offset
		} else if nv < metaGap {
			nv, metaOffset = p.maxGap()
			p.meta.gap = metaOffset
		}
		// Climb: one read of the parent word gives the root test, the
		// slot and the parent (ma_is_root, mte_parent_slot, mte_parent).
		pw := loadParent(p)
		if pw == rootMark {
			return
		}
		offset = parentSlotOf(pw)
		p = nodeFromParentWord(pw)
	}
}

// updateGap models mas_update_gap: recompute the gap of mas.node and push a
// change into its parent.
func (mas *State) updateGap() {
	if !mas.tree.isAlloc() {
		return
	}
	pw := loadParent(mas.node) // the root test, the slot and the parent
	if pw == mas.tree.rootMarkPtr() {
		return
	}
	maxGap := mas.maxGapOf()
	pslot := parentSlotOf(pw)
	if nodeFromParentWord(pw).gap[pslot] != maxGap {
		mas.parentGap(pslot, maxGap)
	}
}

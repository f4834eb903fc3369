package mapletree

import (
	"math"
	"unsafe"
)

// bigNode is struct maple_big_node: the scratch buffer (two nodes' worth
// plus two) that split, rebalance and spanning store assemble data in.
//
// The kernel overlays gap[] on the upper half of slot[]; the write paths
// only use gaps where the two do not collide, so separate arrays behave the
// same. The arrays are one element longer than the kernel's so that the
// kernel's harmless one-past-the-end writes land in bounds here.
type bigNode struct {
	pivot [mapleBigNodeSlots]uint64
	slots [mapleBigNodeSlots]eword
	gap   [mapleBigNodeSlots]uint64
	bEnd  uint8
	typ   nodeType
}

func (b *bigNode) slotNull(i uint8) bool { return b.slots[i].typ == nil && b.slots[i].data == nil }

func (b *bigNode) setSlot(i uint8, w eword) { b.slots[i] = w }

func (b *bigNode) setChild(i uint8, n *node) { b.slots[i] = eword{data: unsafe.Pointer(n)} }

// shiftRight models mab_shift_right: move the first bEnd entries up by
// shift (the caller fixes bEnd and the vacated slots).
func (b *bigNode) shiftRight(shift uint8) {
	size := int(b.bEnd)
	s := int(shift)
	copy(b.pivot[s:s+size], b.pivot[:size])
	copy(b.slots[s:s+size], b.slots[:size])
	if b.typ == mapleArange64 {
		copy(b.gap[s:s+size], b.gap[:size])
	}
}

// middleNode models mab_middle_node: does the data need three nodes?
func (b *bigNode) middleNode(split int, slotCount uint8) bool {
	size := int(b.bEnd)
	if size >= 2*int(slotCount) {
		return true
	}
	if b.slotNull(uint8(split)) && size >= 2*int(slotCount)-1 {
		return true
	}
	return false
}

// noNullSplit models mab_no_null_split: never end the left node with NULL.
func (b *bigNode) noNullSplit(split, slotCount uint8) uint8 {
	if b.slotNull(split) {
		if split < slotCount-1 && int(b.bEnd)-int(split) > int(b.typ.minSlots()) {
			split++
		} else {
			split--
		}
	}
	return split
}

// calcSplit models mab_calc_split: the split point (and a second split for
// the rare three-way split). Bulk mode packs left nodes full.
func (mas *State) calcSplit(b *bigNode, midSplit *uint8) uint8 {
	bEnd := b.bEnd
	split := int(bEnd / 2)
	slotCount := b.typ.slots()
	if mas.flags&maStateBulk != 0 {
		*midSplit = 0
		split = int(bEnd) - int(b.typ.minSlots())
		if !b.typ.isLeaf() {
			return uint8(split)
		}
		mas.flags |= maStateRebalance
		if b.slotNull(uint8(split)) {
			split--
		}
		return uint8(split)
	}
	if b.middleNode(split, slotCount) {
		split = int(bEnd) / 3
		*midSplit = uint8(split * 2)
	} else {
		*midSplit = 0
	}
	s := b.noNullSplit(uint8(split), slotCount)
	if *midSplit != 0 {
		*midSplit = b.noNullSplit(*midSplit, slotCount)
	}
	return s
}

// mabCopy models mas_mab_cp: copy slots masStart..masEnd (inclusive) of
// mas.node into b at mabStart and set bEnd past them.
func (mas *State) mabCopy(masStart, masEnd uint8, b *bigNode, mabStart uint8) {
	n := mas.node
	mt := n.typ
	i, j := int(masStart), int(mabStart)
	done := false
	if i == 0 {
		b.pivot[j] = n.pivot[i]
		i++
		if i > int(masEnd) {
			done = true
		} else {
			j++
		}
	}
	if !done {
		pivEnd := int(min(masEnd, mt.pivots()))
		for ; i < pivEnd; i, j = i+1, j+1 {
			b.pivot[j] = n.pivot[i]
			if b.pivot[j] == 0 || b.pivot[j] == mas.max {
				done = true
				break
			}
		}
		if !done {
			b.pivot[j] = n.safePivot(uint8(i), mas.max)
		}
	}
	j++
	b.bEnd = uint8(j)
	j -= int(mabStart)
	ms, bs := int(masStart), int(mabStart)
	copy(b.slots[bs:bs+j], n.slots[ms:ms+j])
	if !mt.isLeaf() && mas.tree.isAlloc() {
		copy(b.gap[bs:bs+j], n.gap[ms:ms+j])
	}
}

// toNode models mab_mas_cp: fill mas.node from b[mabStart..mabEnd],
// setting the metadata (and gaps for arange64 nodes). newMax makes the last
// pivot copied the State's max.
func (b *bigNode) toNode(mabStart, mabEnd uint8, mas *State, newMax bool) {
	n := mas.node
	mt := n.typ
	np := mt.pivots()
	if int(mabEnd)-int(mabStart) > int(np) {
		mabEnd--
	}
	if n.pivot[np-1] == 0 {
		n.clearSlot(np)
	}
	// Count the entries to copy: the first, then up to mabEnd while the
	// pivots are set; then copy the pivots (as many as the node has) and
	// the slots in one go each.
	i := int(mabStart) + 1
	for i <= int(mabEnd) && b.pivot[i] != 0 {
		i++
	}
	cnt := i - int(mabStart)
	j := cnt
	copy(n.pivot[:min(cnt, int(np))], b.pivot[mabStart:])
	copy(n.slots[:cnt], b.slots[mabStart:int(mabStart)+cnt])
	if newMax {
		mas.max = b.pivot[i-1]
	}
	end := uint8(j - 1)
	if !mt.isLeaf() && mas.tree.isAlloc() {
		var maxGap uint64
		var offset uint8
		for j > 0 {
			j--
			i--
			n.gap[j] = b.gap[i]
			if n.gap[j] > maxGap {
				offset = uint8(j)
				maxGap = n.gap[j]
			}
		}
		n.setMeta(offset, end)
	} else {
		n.leafSetMeta(end)
	}
}

// bulkRebalance models mas_bulk_rebalance.
func (mas *State) bulkRebalance(end uint8, mt nodeType) {
	if mas.flags&maStateBulk == 0 {
		return
	}
	if mas.isRootNode() {
		return
	}
	if end > mt.minSlots() {
		mas.flags &^= maStateRebalance
	}
}

// storeBNode models mas_store_b_node: copy the leaf into b with the write
// applied, ending the copy of the old data at offsetEnd.
func (wr *wrState) storeBNode(b *bigNode, offsetEnd uint8) {
	mas := wr.mas
	b.typ = wr.typ
	var bEnd uint8
	slot := mas.offset
	var piv uint64
	if slot != 0 {
		// Copy the start of the data up to the write.
		mas.mabCopy(0, slot-1, b, 0)
		bEnd = b.bEnd
		piv = b.pivot[bEnd-1]
	} else {
		piv = mas.min - 1 // may wrap; only piv+1 is used
	}
	if piv+1 < mas.index {
		// The write starts after the old range starts.
		b.setSlot(bEnd, wr.content)
		if wr.content.isNull() {
			b.gap[bEnd] = mas.index - 1 - piv
		}
		b.pivot[bEnd] = mas.index - 1
		bEnd++
	}
	// The new entry.
	mas.offset = bEnd
	b.setSlot(bEnd, wr.entry)
	b.pivot[bEnd] = mas.last
	if mas.last >= mas.max {
		b.bEnd = bEnd // appended
		return
	}
	// The write ends before the old range ends.
	piv = wr.node.safePivot(offsetEnd, mas.max)
	if piv > mas.last {
		if piv == math.MaxUint64 {
			mas.bulkRebalance(b.bEnd, wr.typ)
		}
		if offsetEnd != slot {
			wr.content = wr.node.entry(offsetEnd)
		}
		bEnd++
		b.setSlot(bEnd, wr.content)
		if wr.content.isNull() {
			b.gap[bEnd] = piv - mas.last + 1
		}
		b.pivot[bEnd] = piv
	}
	slot = offsetEnd + 1
	if slot > mas.end {
		b.bEnd = bEnd
		return
	}
	// The old slots after the write.
	bEnd++
	mas.mabCopy(slot, mas.end+1, b, bEnd)
	b.bEnd--
}

// setBEnd models mab_set_b_end: append child n (with mas describing it) to
// b; a nil child adds nothing.
func (b *bigNode) setBEnd(mas *State, n *node) {
	if n == nil {
		return
	}
	b.setChild(b.bEnd, n)
	if mas.tree.isAlloc() {
		b.gap[b.bEnd] = mas.maxGapOf()
	}
	b.pivot[b.bEnd] = mas.max
	b.bEnd++
}

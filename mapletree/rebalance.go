package mapletree

// rebalanceNext models mast_rebalance_next: append the whole right node.
func (mast *subtreeState) rebalanceNext() {
	bEnd := mast.bn.bEnd
	mast.origR.mabCopy(0, mast.origR.node.typ.slots(), mast.bn, bEnd)
	mast.origR.last = mast.origR.max
}

// rebalancePrev models mast_rebalance_prev: prepend the whole left node.
func (mast *subtreeState) rebalancePrev() {
	end := mast.origL.dataEnd() + 1
	bEnd := mast.bn.bEnd
	mast.bn.shiftRight(end)
	mast.origL.mabCopy(0, end-1, mast.bn, 0)
	mast.l.min = mast.origL.min
	mast.origL.index = mast.origL.min
	mast.bn.bEnd = end + bEnd
	mast.l.offset += end
}

// spanningRebalanceStep models mast_spanning_rebalance: pull in the nearest
// neighbour, preferring the right, looking at each level up to the root.
func (mast *subtreeState) spanningRebalanceStep() bool {
	rTmp := *mast.origR
	lTmp := *mast.origL
	depth := 0
	for {
		mast.origR.ascend()
		mast.origL.ascend()
		depth++
		if mast.origR.offset < mast.origR.dataEnd() {
			mast.origR.offset++
			for {
				mast.origR.descend()
				mast.origR.offset = 0
				depth--
				if depth == 0 {
					break
				}
			}
			mast.rebalanceNext()
			*mast.origL = lTmp
			return true
		} else if mast.origL.offset != 0 {
			mast.origL.offset--
			for {
				mast.origL.descend()
				mast.origL.offset = mast.origL.dataEnd()
				depth--
				if depth == 0 {
					break
				}
			}
			mast.rebalancePrev()
			*mast.origR = rTmp
			return true
		}
		if mast.origR.isRootNode() {
			break
		}
	}
	*mast.origR = rTmp
	*mast.origL = lTmp
	return false
}

// ascend models mast_ascend: move both original edges up one level and
// find where the new nodes sit there.
func (mast *subtreeState) ascend() {
	wr := newWrState(mast.origR, eword{})
	mast.origL.ascend()
	mast.origR.ascend()
	mast.origR.offset = 0
	mast.origR.index = mast.r.max
	// last must not be below index.
	if mast.origR.last < mast.origR.index {
		mast.origR.last = mast.origR.index
	}
	wr.typ = mast.origR.node.typ
	wr.nodeWalk()
	// The left side.
	mast.origL.offset = 0
	mast.origL.index = mast.l.min
	wr.mas = mast.origL
	wr.typ = mast.origL.node.typ
	wr.nodeWalk()
	mast.bn.typ = wr.typ
}

// mabToNodes models mas_mab_to_node: allocate the left node and, when the
// data does not fit one node, the right (and rarely middle) node; return
// the split.
func (mas *State) mabToNodes(b *bigNode) (left, right, middle *node, split, midSplit uint8) {
	slotCount := b.typ.slots()
	left = mas.newMaNode(b)
	if b.bEnd < slotCount {
		split = b.bEnd
	} else {
		split = mas.calcSplit(b, &midSplit)
		right = mas.newMaNode(b)
	}
	if midSplit != 0 {
		middle = mas.newMaNode(b)
	}
	return left, right, middle, split, midSplit
}

// midSplitCheck models mte_mid_split_check.
func midSplitCheck(l, r **node, right *node, slot uint8, split *uint8, midSplit uint8) {
	if *r == right {
		return
	}
	if slot < midSplit {
		return
	}
	*l = *r
	*r = right
	*split = midSplit
}

// setSplitParents models mast_set_split_parents: give the new nodes of the
// level below (mast.l, m, r) their parents among left, middle and right.
func (mast *subtreeState) setSplitParents(left, middle, right *node, split, midSplit uint8) {
	l, r := left, right
	if mast.l.isNone() {
		return
	}
	if middle != nil {
		r = middle
	}
	slot := mast.l.offset
	midSplitCheck(&l, &r, right, slot, &split, midSplit)
	mast.l.setSplitParent(l, r, &slot, split)
	midSplitCheck(&l, &r, right, slot, &split, midSplit)
	mast.m.setSplitParent(l, r, &slot, split)
	midSplitCheck(&l, &r, right, slot, &split, midSplit)
	mast.r.setSplitParent(l, r, &slot, split)
}

// nodeOrNone models mas_node_or_none.
func (mas *State) nodeOrNone(n *node) {
	if n != nil {
		mas.node = n
		mas.status = StatusActive
	} else {
		mas.node = nil
		mas.status = StatusNone
	}
}

// cpToNodes models mast_cp_to_nodes: copy the big node out to the new
// nodes.
func (mast *subtreeState) cpToNodes(left, middle, right *node, split, midSplit uint8) {
	newLMax := true
	mast.l.nodeOrNone(left)
	mast.m.nodeOrNone(middle)
	mast.r.nodeOrNone(right)
	mast.l.min = mast.origL.min
	if split == mast.bn.bEnd {
		mast.l.max = mast.origR.max
		newLMax = false
	}
	mast.bn.toNode(0, split, mast.l, newLMax)
	if middle != nil {
		mast.bn.toNode(1+split, midSplit, mast.m, true)
		mast.m.min = mast.bn.pivot[split] + 1
		split = midSplit
	}
	mast.r.max = mast.origR.max
	if right != nil {
		mast.bn.toNode(1+split, mast.bn.bEnd, mast.r, false)
		mast.r.min = mast.bn.pivot[split] + 1
	}
}

// combineCpLeft models mast_combine_cp_left.
func (mast *subtreeState) combineCpLeft() {
	lSlot := mast.origL.offset
	if lSlot == 0 {
		return
	}
	mast.origL.mabCopy(0, lSlot-1, mast.bn, 0)
}

// combineCpRight models mast_combine_cp_right.
func (mast *subtreeState) combineCpRight() {
	if mast.bn.pivot[mast.bn.bEnd-1] >= mast.origR.max {
		return
	}
	mast.origR.mabCopy(mast.origR.offset+1, mast.origR.node.typ.slots(), mast.bn, mast.bn.bEnd)
	mast.origR.last = mast.origR.max
}

// sufficient models mast_sufficient.
func (mast *subtreeState) sufficient() bool {
	return mast.bn.bEnd > mast.origL.node.typ.minSlots()
}

// overflow models mast_overflow.
func (mast *subtreeState) overflow() bool {
	return mast.bn.bEnd > mast.origL.node.typ.slots()
}

// spanningRebalance models mas_spanning_rebalance: starting with the data
// in the big node, build new nodes level by level upwards (at most count
// levels, or to the root), combining with neighbours so that every new node
// is sufficient, possibly removing levels; then publish the new subtree in
// one step and discard the old one.
func (mas *State) spanningRebalance(mast *subtreeState, count uint8) {
	var split, midSplit, slot uint8
	newHeight := 0
	var left, middle, right *node
	var lMas, rMas, mMas State
	lMas.init(mas.tree, mas.index, mas.index)
	rMas.init(mas.tree, mas.index, mas.last)
	mMas.init(mas.tree, mas.index, mas.index)
	mast.l = &lMas
	mast.m = &mMas
	mast.r = &rMas
	lMas.status, rMas.status, mMas.status = StatusNone, StatusNone, StatusNone

	// Not the root and not sufficient: pull in a neighbour first.
	if (mast.origL.min != 0 || mast.origR.max != maxIndex) &&
		mast.bn.bEnd <= mast.bn.typ.minSlots() {
		mast.spanningRebalanceStep()
	}

	newRoot := false
	for count > 0 {
		count--
		mast.bn.bEnd--
		mast.bn.typ = mast.origL.node.typ
		left, right, middle, split, midSplit = mas.mabToNodes(mast.bn)
		mast.setSplitParents(left, middle, right, split, midSplit)
		mast.cpToNodes(left, middle, right, split, midSplit)
		newHeight++

		// Gather the next level up in the big node.
		*mast.bn = bigNode{}
		mast.bn.typ = left.typ
		if mast.l.isRootLimits() {
			newRoot = true // the root is already in l.node
			break
		}
		mast.ascend()
		mast.combineCpLeft()
		lMas.offset = mast.bn.bEnd
		mast.bn.setBEnd(&lMas, left)
		mast.bn.setBEnd(&mMas, middle)
		mast.bn.setBEnd(&rMas, right)
		// Then the right original node, past the new data.
		mast.combineCpRight()
		mast.origL.last = mast.origL.max

		if mast.sufficient() {
			if mast.overflow() {
				continue
			}
			if mast.origL.node == mast.origR.node {
				// The data fits one node, in the tree.
				slot = mast.l.offset
				break
			}
			continue
		}
		// At the top: the big node becomes the new root.
		if mast.origL.isRootLimits() {
			break
		}
		mast.spanningRebalanceStep()
		// Rebalancing with a neighbour may need another level.
		if count == 0 {
			count++
		}
	}

	if !newRoot {
		lMas.node = mas.popNode(mast.origL.node.typ)
		mast.bn.toNode(0, mast.bn.typ.slots()-1, &lMas, true)
		newHeight++
		left.setParent(lMas.node, slot)
		if middle != nil {
			slot++
			middle.setParent(lMas.node, slot)
		}
		if right != nil {
			slot++
			right.setParent(lMas.node, slot)
		}
	}
	if newRoot || mast.l.isRootLimits() {
		mas.tree.setRootParent(mast.l.node)
		for !mast.origL.isRootNode() {
			mast.ascend()
		}
	} else {
		lMas.node.copyParent(mast.origL.node)
	}
	old := mast.origL.node
	mas.depth = lMas.depth
	mas.node = lMas.node
	mas.min = lMas.min
	mas.max = lMas.max
	mas.offset = lMas.offset
	mas.wmbReplace(old, newHeight)
	mas.rangeWalk()
}

// rebalance models mas_rebalance: the leaf would drop below its minimum;
// combine it with the right sibling (or else the left one) and carry the
// result up through spanningRebalance.
func (mas *State) rebalance(b *bigNode) {
	emptyCount := uint8(mas.height())
	b.bEnd++
	bEnd := b.bEnd
	var lMas, rMas State
	lMas.init(mas.tree, mas.index, mas.last)
	rMas.init(mas.tree, mas.index, mas.last)
	mast := subtreeState{origL: &lMas, origR: &rMas, bn: b}
	b.typ = mas.node.typ
	lMas = *mas
	rMas = *mas
	if rMas.nextSibling() {
		rMas.mabCopy(0, rMas.node.typ.slots(), b, bEnd)
		rMas.index = rMas.max
		rMas.last = rMas.max
	} else {
		lMas.prevSibling()
		shift := lMas.dataEnd() + 1
		b.shiftRight(shift)
		mas.offset += shift
		lMas.mabCopy(0, shift-1, b, 0)
		b.bEnd = shift + bEnd
		lMas.index = lMas.min
		lMas.last = lMas.min
	}
	mas.spanningRebalance(&mast, emptyCount)
}

// extendSpanningNull models mas_extend_spanning_null: widen a spanning NULL
// write over the NULLs next to both of its ends.
func extendSpanningNull(l, r *wrState) {
	lMas, rMas := l.mas, r.mas
	lSlot := lMas.offset
	if l.content.isNull() {
		lMas.index = l.rMin
	}
	if lMas.index == l.rMin && lSlot != 0 && l.node.slotNull(lSlot-1) {
		if lSlot > 1 {
			lMas.index = l.node.pivot[lSlot-2] + 1
		} else {
			lMas.index = lMas.min
		}
		lMas.offset = lSlot - 1
	}
	if r.content.isNull() {
		if rMas.last < r.rMax {
			rMas.last = r.rMax
		}
		rMas.offset++
	} else if rMas.last == r.rMax && rMas.last < rMas.max && r.node.slotNull(rMas.offset+1) {
		// The kernel passes mas_safe_pivot's last two arguments swapped
		// here; the branch cannot run (the right state walked to last+1,
		// so r_max > last), so the intended pivot is used.
		rMas.last = r.node.safePivot(rMas.offset+1, rMas.max)
		rMas.offset++
	}
}

// spanningStore models mas_wr_spanning_store: the write starts in one node
// and ends in another (or would leave a leaf ending in NULL). Walk a second
// state to last+1, combine the left part, the new entry and the right part
// in a big node, and rebuild upwards with spanningRebalance.
func (wr *wrState) spanningStore() {
	mas := wr.mas
	if mas.index == 0 && mas.last == maxIndex {
		mas.newRoot(wr.entry)
		return
	}
	// Up to three new nodes per level, and a new root, may be needed.
	height := uint8(mas.height())

	// The right side: the slot after the write, so that it is not NULL
	// and the node holding it is combined with the left one.
	rMas := *mas
	if rMas.last+1 != 0 {
		rMas.last++ // avoid overflow
	}
	rMas.index = rMas.last
	rWr := newWrState(&rMas, wr.entry)
	rWr.walkIndex()
	rMas.index = mas.last
	rMas.last = mas.last

	// The left side.
	lMas := *mas
	lWr := newWrState(&lMas, wr.entry)
	lWr.walkIndex()

	if wr.entry.isNull() {
		extendSpanningNull(&lWr, &rWr)
		mas.offset = lMas.offset
		mas.index = lMas.index
		mas.last = rMas.last
		lMas.last = rMas.last
	}
	// Extending NULLs may cover every index.
	if lMas.index == 0 && rMas.last == maxIndex {
		mas.SetRange(0, maxIndex)
		mas.newRoot(wr.entry)
		return
	}
	var b bigNode
	// Copy the left node with the new entry stored.
	lWr.storeBNode(&b, lMas.end)
	// Copy the right node if anything is left of it.
	if rMas.max > rMas.last {
		rMas.mabCopy(rMas.offset, rMas.end, &b, b.bEnd+1)
	} else {
		b.bEnd++
	}
	// From here on the left state looks for index alone.
	lMas.index = mas.index
	lMas.last = mas.index
	mast := subtreeState{bn: &b, origL: &lMas, origR: &rMas}
	mas.spanningRebalance(&mast, height+1)
}

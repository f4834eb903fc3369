package mapletree

// subtreeState is struct maple_subtree_state: the original left and right
// edges of the part of the tree being rebuilt, the new left, middle and
// right nodes, and the big node carrying the data between levels.
type subtreeState struct {
	origL, origR *State
	l, m, r      *State
	bn           *bigNode
}

// newMaNode models mas_new_ma_node: a node of the big node's type from the
// State's preallocation.
func (mas *State) newMaNode(b *bigNode) *node { return mas.popNode(b.typ) }

// prevSibling models mas_prev_sibling: move to the previous node with the
// same parent.
func (mas *State) prevSibling() bool {
	pSlot := mas.tree.parentSlot(mas.node)
	if pSlot == 0 {
		return false
	}
	mas.ascend()
	mas.offset = pSlot - 1
	mas.descend()
	return true
}

// nextSibling models mas_next_sibling: move to the next node with the same
// parent.
func (mas *State) nextSibling() bool {
	if mas.isRootNode() {
		return false
	}
	parent := *mas
	parent.ascend()
	parent.offset = mas.tree.parentSlot(mas.node) + 1
	if parent.offset > parent.dataEnd() {
		return false
	}
	*mas = parent
	mas.descend()
	return true
}

// setSplitParent models mas_set_split_parent: give mas.node its parent,
// left or right of the split, and advance the slot.
func (mas *State) setSplitParent(left, right *node, slot *uint8, split uint8) {
	if mas.isNone() {
		return
	}
	if *slot <= split {
		mas.node.setParent(left, *slot)
	} else if right != nil {
		mas.node.setParent(right, *slot-split-1)
	}
	*slot++
}

// splitData models mast_split_data: copy the big node into the new left and
// right nodes around split and re-parent the children that moved.
func (mast *subtreeState) splitData(mas *State, split uint8) {
	mast.bn.toNode(0, split, mast.l, true)
	mast.r.node.pivot[0] = mast.r.max
	mast.bn.toNode(split+1, mast.bn.bEnd, mast.r, false)
	mast.l.offset = mas.tree.parentSlot(mas.node)
	mast.l.max = mast.bn.pivot[split]
	mast.r.min = mast.l.max + 1
	if mas.node.typ.isLeaf() {
		return
	}
	pSlot := mast.origL.offset
	mast.origL.setSplitParent(mast.l.node, mast.r.node, &pSlot, split)
	mast.origR.setSplitParent(mast.l.node, mast.r.node, &pSlot, split)
}

// fillBNode models mast_fill_bnode: load the parent level into the big node
// with the new left and right nodes in place of the old child (skip slots
// of the old data are dropped).
func (mast *subtreeState) fillBNode(mas *State, skip uint8) {
	cp := true
	*mast.bn = bigNode{}
	if mas.isRootNode() {
		cp = false
	} else {
		mas.ascend()
		mas.offset = mas.tree.parentSlot(mas.node)
	}
	if cp && mast.l.offset != 0 {
		mas.mabCopy(0, mast.l.offset-1, mast.bn, 0)
	}
	split := mast.bn.bEnd
	mast.bn.setBEnd(mast.l, mast.l.node)
	mast.r.offset = mast.bn.bEnd
	mast.bn.setBEnd(mast.r, mast.r.node)
	if mast.bn.pivot[mast.bn.bEnd-1] == mas.max {
		cp = false
	}
	if cp {
		mas.mabCopy(split+skip, mas.node.typ.slots()-1, mast.bn, mast.bn.bEnd)
	}
	mast.bn.bEnd--
	mast.bn.typ = mas.node.typ
}

// splitFinalNode models mas_split_final_node: the big node fits one node,
// the new parent of the left and right nodes (a new root at the top).
func (mast *subtreeState) splitFinalNode(mas *State) {
	if mas.isRootNode() {
		if mas.tree.isAlloc() {
			mast.bn.typ = mapleArange64
		} else {
			mast.bn.typ = mapleRange64
		}
	}
	ancestor := mas.newMaNode(mast.bn)
	mast.l.node.setParent(ancestor, mast.l.offset)
	mast.r.node.setParent(ancestor, mast.r.offset)
	ancestor.copyParent(mas.node)
	mast.l.node = ancestor
	mast.bn.toNode(0, mast.bn.typ.slots()-1, mast.l, true)
	mas.offset = mast.bn.bEnd - 1
}

// pushData models mas_push_data: instead of splitting, move data into the
// left (or right) sibling when both fit with room to spare. It keeps the
// tree low and stops the split rippling upwards.
func (mas *State) pushData(mast *subtreeState, left bool) bool {
	slotTotal := mast.bn.bEnd
	tmp := *mas
	tmp.depth = mast.l.depth
	if left && !tmp.prevSibling() {
		return false
	} else if !left && !tmp.nextSibling() {
		return false
	}
	end := tmp.dataEnd()
	slotTotal += end
	space := 2*mas.node.typ.slots() - 2
	// -2 instead of -1 avoids a three-way split.
	if mast.bn.typ.isLeaf() {
		space--
	}
	if mas.max == maxIndex {
		space--
	}
	if slotTotal >= space {
		return false
	}
	// Fill the big node with the sibling's data.
	mast.bn.bEnd++
	if left {
		mast.bn.shiftRight(end + 1)
		tmp.mabCopy(0, end, mast.bn, 0)
		mast.bn.bEnd = slotTotal + 1
	} else {
		tmp.mabCopy(0, end, mast.bn, mast.bn.bEnd)
	}
	split := mast.bn.typ.slots() - 2
	if left {
		// The sibling now holds the left part: mas moves there.
		*mas = tmp
		tmp.node = mast.l.node
		*mast.l = tmp
	} else {
		tmp.node = mast.r.node
		*mast.r = tmp
		split = slotTotal - split
	}
	split = mast.bn.noNullSplit(split, mast.bn.typ.slots())
	// Update the parent slot for the split calculation.
	if left {
		mast.origL.offset += end + 1
	}
	mast.splitData(mas, split)
	mast.fillBNode(mas, 2)
	mast.splitFinalNode(mas)
	return true
}

// split models mas_split: the leaf's data (in b) does not fit one node.
// Working upwards, each level is pushed into a sibling or split in two (or
// three), until a level absorbs the new nodes; then the new subtree
// replaces the old one in one publication.
func (mas *State) split(b *bigNode) {
	origHeight := mas.height()
	height := 0
	var midSplit uint8
	var lMas, rMas, prevL, prevR State
	for _, s := range []*State{&lMas, &rMas, &prevL, &prevR} {
		s.init(mas.tree, mas.index, mas.last)
	}
	mast := subtreeState{l: &lMas, r: &rMas, origL: &prevL, origR: &prevR, bn: b}
	for {
		more := height <= origHeight
		height++
		if !more {
			break
		}
		if b.typ.slots() > b.bEnd {
			mast.splitFinalNode(mas)
			break
		}
		lMas = *mas
		rMas = *mas
		lMas.node = mas.newMaNode(b)
		rMas.node = mas.newMaNode(b)
		// A sibling with room ends the split here, so it does not ripple up.
		if mas.pushData(&mast, true) {
			height++
			break
		}
		if mas.pushData(&mast, false) {
			height++
			break
		}
		split := mas.calcSplit(b, &midSplit)
		mast.splitData(mas, split)
		// mab_mas_cp above usually set r.max already; make sure.
		mast.r.max = mas.max
		mast.fillBNode(mas, 1)
		prevL = *mast.l
		prevR = *mast.r
	}
	old := mas.node
	mas.node = lMas.node
	mas.wmbReplace(old, height)
	mas.rangeWalk()
}

package mapletree

import (
	"math"
	"unsafe"

	"github.com/arenasim/arenasim/internal/errno"
)

// wrState is struct ma_wr_state: the write walk's view of the node being
// changed.
type wrState struct {
	mas              *State
	node             *node
	rMin, rMax       uint64 // range of the slot at mas.offset
	typ              nodeType
	offsetEnd        uint8  // slot where the write ends
	endPiv           uint64 // pivot (or max) of offsetEnd
	entry            eword  // what is being written
	content          eword  // what mas.offset held (a child in slot word for internal nodes)
	vacantHeight     uint8  // deepest level with a free slot
	sufficientHeight uint8  // deepest level that stays sufficient after losing a slot
}

func newWrState(mas *State, entry eword) wrState {
	return wrState{mas: mas, entry: entry}
}

// contentNode returns the content as a child node (internal levels).
func (wr *wrState) contentNode() *node { return (*node)(wr.content.data) }

// nodeWalk models mas_wr_node_walk: find the slot of mas.index in mas.node,
// starting at mas.offset, and record its range.
func (wr *wrState) nodeWalk() {
	mas := wr.mas
	n := mas.node
	wr.node = n
	count := uint(n.dataEnd(mas.max))
	checkEnd(count)
	mas.end = uint8(count)
	start := uint(mas.offset)
	offset := pivotSearch(&n.pivot, start, max(start, count), mas.index)
	if offset < count {
		wr.rMax = n.pivot[offset]
	} else {
		wr.rMax = mas.max
	}
	wr.rMin = n.safeMin(uint8(offset), mas.min)
	wr.offsetEnd = uint8(offset)
	mas.offset = uint8(offset)
}

// isSpanWr models mas_is_span_wr: does the write leave this node, or would
// it end a non-right-most leaf with NULL? rMax is the end of the slot
// written, nodeMax the node's max, last the write's last index.
func isSpanWr(typ nodeType, rMax, nodeMax, last uint64, entryNull bool) bool {
	max := rMax
	if last < max {
		return false
	}
	if typ.isLeaf() {
		max = nodeMax
		if last < max {
			return false
		}
	}
	if last == max {
		if !entryNull || last == math.MaxUint64 {
			return false
		}
	}
	return true
}

// walkDescend models mas_wr_walk_descend.
func (wr *wrState) walkDescend() {
	wr.typ = wr.mas.node.typ
	wr.nodeWalk()
}

// walkTraverse models mas_wr_walk_traverse: step into the child found.
func (wr *wrState) walkTraverse() {
	mas := wr.mas
	mas.max = wr.rMax
	mas.min = wr.rMin
	mas.node = wr.contentNode()
	mas.offset = 0
	mas.depth++
}

// slotContent reads slot off of the walked node as the content.
func (wr *wrState) slotContent(off uint8) eword {
	n := wr.node
	if n.typ.isLeaf() {
		return n.entry(off)
	}
	return eword{data: n.slots[off].data}
}

// walk models mas_wr_walk: descend to the leaf that takes the write,
// recording vacant and sufficient heights. It returns false for a spanning
// write.
//
// It is mas_wr_walk_descend, mas_is_span_wr and mas_wr_walk_traverse
// inlined by hand, the walk's position held in locals and stored into the
// State and wrState once, where the walk stops: the write path's hottest
// loop, which the compiler would otherwise run through memory.
func (wr *wrState) walk() bool {
	mas := wr.mas
	t := mas.tree
	n := mas.node
	index, last := mas.index, mas.last
	min, max := mas.min, mas.max
	offset := uint(mas.offset)
	depth := mas.depth
	entryNull := wr.entry.isNull()
	for {
		// mas_wr_walk_descend: find the slot of index and its range.
		typ := n.typ
		end := uint(n.dataEnd(max))
		checkEnd(end)
		offset = pivotSearch(&n.pivot, offset, maxUint(offset, end), index)
		rMax := max
		if offset < end {
			rMax = n.pivot[offset]
		}
		rMin := n.safeMin(uint8(offset), min)
		span := isSpanWr(typ, rMax, max, last, entryNull)
		if span || typ.isLeaf() {
			wr.typ, wr.node = typ, n
			wr.rMin, wr.rMax = rMin, rMax
			wr.offsetEnd = uint8(offset)
			mas.end, mas.offset = uint8(end), uint8(offset)
			mas.node, mas.min, mas.max, mas.depth = n, min, max, depth
			if span {
				return false
			}
			wr.content = n.entry(uint8(offset))
			return true
		}
		child := n.child(uint8(offset))
		if end < uint(typ.slots()-1) {
			wr.vacantHeight = depth + 1
		}
		if t.isRoot(n) {
			// The root needs more than two entries to stay sufficient.
			if end > 2 {
				wr.sufficientHeight = 1
			}
		} else if end > uint(typ.minSlots()+1) {
			wr.sufficientHeight = depth + 1
		}
		// mas_wr_walk_traverse: step into the child.
		wr.content = eword{data: unsafe.Pointer(child)}
		n, min, max = child, rMin, rMax
		offset = 0
		depth++
	}
}

// walkIndex models mas_wr_walk_index: descend to mas.index, ignoring spans.
func (wr *wrState) walkIndex() {
	mas := wr.mas
	for {
		wr.walkDescend()
		wr.content = wr.slotContent(mas.offset)
		if wr.typ.isLeaf() {
			return
		}
		wr.walkTraverse()
	}
}

// endPivot models mas_wr_end_piv: find the slot where the write ends.
func (wr *wrState) endPivot() {
	mas := wr.mas
	end := uint(mas.end)
	start := uint(wr.offsetEnd)
	off := pivotSearch(&wr.node.pivot, start, max(start, end), mas.last)
	wr.offsetEnd = uint8(off)
	if off < end {
		wr.endPiv = wr.node.pivot[off]
	} else {
		wr.endPiv = mas.max
	}
}

// extendNull models mas_wr_extend_null: a NULL write swallows NULL
// neighbours so that NULL ranges stay merged.
func (wr *wrState) extendNull() {
	mas := wr.mas
	n := wr.node
	if n.slots[wr.offsetEnd].typ == nil {
		mas.last = wr.endPiv
	} else if mas.last == wr.endPiv && mas.end != wr.offsetEnd &&
		n.slots[wr.offsetEnd+1].typ == nil {
		wr.offsetEnd++
		if wr.offsetEnd == mas.end {
			mas.last = mas.max
		} else {
			mas.last = n.pivot[wr.offsetEnd]
		}
		wr.endPiv = mas.last
	}
	if wr.content.isNull() {
		mas.index = wr.rMin
	} else if mas.index == wr.rMin && mas.offset != 0 && n.slots[mas.offset-1].typ == nil {
		mas.offset--
		mas.index = n.safeMin(mas.offset, mas.min)
		wr.rMin = mas.index
		wr.rMax = n.pivot[mas.offset]
	}
}

// newEnd models mas_wr_new_end: the data end after the write.
func (wr *wrState) newEnd() uint8 {
	mas := wr.mas
	newEnd := mas.end + 2
	newEnd -= wr.offsetEnd - mas.offset
	if wr.rMin == mas.index {
		newEnd--
	}
	if wr.endPiv == mas.last {
		newEnd--
	}
	return newEnd
}

// storeType models mas_wr_store_type: choose the write path exactly as the
// kernel does.
func (wr *wrState) storeType() storeType {
	mas := wr.mas
	if mas.isNone() || mas.isPtr() {
		return wrStoreRoot
	}
	if !wr.walk() {
		return wrSpanningStore
	}
	// At the leaf that takes the write.
	wr.endPivot()
	if wr.entry.isNull() {
		wr.extendNull()
	}
	if wr.rMin == mas.index && wr.rMax == mas.last {
		return wrExactFit
	}
	if mas.index == 0 && mas.last == math.MaxUint64 {
		return wrNewRoot
	}
	newEnd := wr.newEnd()
	if newEnd < wr.typ.minSlots() {
		if !mas.isRootNode() && mas.flags&maStateBulk == 0 {
			return wrRebalance
		}
		return wrNodeStore
	}
	if newEnd >= wr.typ.slots() {
		return wrSplitStore
	}
	inRCU := mas.tree.InRCU()
	if !inRCU && mas.offset == mas.end {
		return wrAppend
	}
	if newEnd == mas.end && (!inRCU || wr.offsetEnd-mas.offset == 1) {
		return wrSlotStore
	}
	return wrNodeStore
}

// preallocSetup models mas_wr_prealloc_setup: decide whether the State can
// be reused from where it stands or must walk from the root.
func (wr *wrState) preallocSetup() {
	mas := wr.mas
	if !mas.isActive() {
		switch mas.status {
		case StatusStart:
			if mas.startAtRoot() { // mas_start's common case, inline
				wr.content = eword{}
				return
			}
			wr.content = mas.start()
			return
		case StatusPause, StatusNone, StatusOverflow, StatusUnderflow:
			mas.Reset()
			wr.content = mas.start()
			return
		}
	}
	// A lenient mas_is_span_wr: writes may span inside this node.
	switch {
	case mas.last > mas.max:
		mas.Reset()
	case !wr.entry.isNull():
	case (mas.node == nil || mas.node.typ.isLeaf()) && mas.last == mas.max:
		mas.Reset()
	}
	wr.content = mas.start()
}

// preallocCalc models mas_prealloc_calc: how many nodes the chosen store
// needs at most.
func (wr *wrState) preallocCalc() int {
	mas := wr.mas
	height := mas.height()
	ret := height*3 + 1
	delta := height - int(wr.vacantHeight)
	switch mas.storeType {
	case wrExactFit, wrAppend, wrSlotStore:
		ret = 0
	case wrSpanningStore:
		if wr.sufficientHeight < wr.vacantHeight {
			ret = (height-int(wr.sufficientHeight))*3 + 1
		} else {
			ret = delta*3 + 1
		}
	case wrSplitStore:
		ret = delta*2 + 1
	case wrRebalance:
		if wr.sufficientHeight < wr.vacantHeight {
			ret = (height-int(wr.sufficientHeight))*2 + 1
		} else {
			ret = delta*2 + 1
		}
	case wrNodeStore:
		ret = 0
		if mas.tree.InRCU() {
			ret = 1
		}
	case wrNewRoot:
		ret = 1
	case wrStoreRoot:
		if mas.last != 0 || mas.index != 0 || isInternalWord(wr.entry) {
			ret = 1
		} else {
			ret = 0
		}
	}
	return ret
}

// preallocate models mas_wr_preallocate.
func (wr *wrState) preallocate() {
	wr.preallocSetup()
	wr.mas.storeType = wr.storeType()
	if req := wr.preallocCalc(); req != 0 {
		wr.mas.nodeCount(req)
	}
}

// storeEntry models mas_wr_store_entry: run the chosen write path.
func (wr *wrState) storeEntry() {
	mas := wr.mas
	newEnd := wr.newEnd()
	switch mas.storeType {
	case wrExactFit:
		n := mas.node
		if mas.tree.InRCU() {
			n.writeBegin()
			n.storeEntryRCU(mas.offset, wr.entry)
			n.writeEnd()
		} else {
			n.setEntry(mas.offset, wr.entry)
		}
		if wr.entry.isNull() != wr.content.isNull() {
			mas.updateGap()
		}
	case wrAppend:
		wr.appendStore(newEnd)
	case wrSlotStore:
		wr.slotStore()
	case wrNodeStore:
		wr.nodeStore(newEnd)
	case wrSpanningStore:
		wr.spanningStore()
	case wrSplitStore, wrRebalance:
		wr.bnode()
	case wrNewRoot:
		mas.newRoot(wr.entry)
	case wrStoreRoot:
		mas.storeRoot(wr.entry)
	}
}

// appendStore models mas_wr_append: write past the end of the node in place
// (never in RCU mode, where a reader may have cached the end).
func (wr *wrState) appendStore(newEnd uint8) {
	mas := wr.mas
	n := wr.node
	end := mas.end
	if newEnd < wr.typ.pivots() {
		n.pivot[newEnd] = n.pivot[end]
		n.setMeta(0, newEnd)
	}
	if newEnd == end+1 {
		if mas.last == wr.rMax {
			// The write ends where the old range ended.
			n.setEntry(newEnd, wr.entry)
			n.pivot[end] = mas.index - 1
			mas.offset = newEnd
		} else {
			// The write starts where the old range started.
			n.setEntry(newEnd, wr.content)
			n.pivot[end] = mas.last
			n.setEntry(end, wr.entry)
		}
	} else {
		// Append inside the range without touching its boundaries.
		n.setEntry(newEnd, wr.content)
		n.pivot[end+1] = mas.last
		n.setEntry(end+1, wr.entry)
		n.pivot[end] = mas.index - 1
		mas.offset = end + 1
	}
	if wr.content.isNull() || wr.entry.isNull() {
		mas.updateGap()
	}
	mas.end = newEnd
}

// slotStore models mas_wr_slot_store: move one boundary (or, outside RCU
// mode, two) and write one slot in place.
func (wr *wrState) slotStore() {
	mas := wr.mas
	n := wr.node
	offset := mas.offset
	rcu := mas.tree.InRCU()
	gap := n.slots[offset].typ == nil || n.slots[offset+1].typ == nil
	if rcu {
		n.writeBegin()
	}
	if wr.offsetEnd-offset == 1 {
		if mas.index == wr.rMin {
			// The write starts at this slot and eats into the next.
			wr.setSlot(offset, wr.entry, rcu)
			wr.setPivot(offset, mas.last, rcu)
		} else {
			// The write starts inside this slot and takes the rest of the next.
			wr.setSlot(offset+1, wr.entry, rcu)
			wr.setPivot(offset, mas.index-1, rcu)
			mas.offset++
		}
	} else {
		// Expand into the middle of three ranges (never in RCU mode).
		gap = gap || n.slots[offset+2].typ == nil
		wr.setSlot(offset+1, wr.entry, rcu)
		wr.setPivot(offset, mas.index-1, rcu)
		wr.setPivot(offset+1, mas.last, rcu)
		mas.offset++
	}
	if rcu {
		n.writeEnd()
	}
	if wr.entry.isNull() || gap {
		mas.updateGap()
	}
}

func (wr *wrState) setSlot(i uint8, w eword, rcu bool) {
	if rcu {
		wr.node.storeEntryRCU(i, w)
	} else {
		wr.node.setEntry(i, w)
	}
}

func (wr *wrState) setPivot(i uint8, v uint64, rcu bool) {
	if rcu {
		wr.node.storePivotRCU(i, v)
	} else {
		wr.node.pivot[i] = v
	}
}

// nodeStore models mas_wr_node_store: rebuild the leaf. Outside RCU mode the
// leaf is rewritten in place; in RCU mode a copy is rewritten and replaces
// the old leaf, which is marked dead.
func (wr *wrState) nodeStore(newEnd uint8) {
	mas := wr.mas
	offsetEnd := wr.offsetEnd
	height := mas.height()
	if mas.last == wr.endPiv {
		offsetEnd++ // the write ends exactly there: that slot is replaced
	} else if wr.rMax == math.MaxUint64 {
		mas.bulkRebalance(mas.end, wr.typ)
	}
	if mas.tree.InRCU() {
		nn := mas.popNode(wr.typ)
		nn.parent = wr.node.parent
		nn.nodeBody = wr.node.nodeBody
		wr.fillNodeStore(nn, offsetEnd, newEnd)
		old := mas.node
		mas.node = nn
		mas.replaceNode(old, height)
	} else {
		wr.fillNodeStore(wr.node, offsetEnd, newEnd)
	}
	mas.updateGap()
	mas.end = newEnd
}

// fillNodeStore rewrites n, which holds the leaf's body, into the body
// after the write (mas_wr_node_store between "set up node" and "done").
//
// The kernel builds the new body in a zeroed node (the stack's, outside
// RCU mode) from the old one and copies it back. Here the part after the
// write moves to its place first (copy handles the overlap), then the new
// ranges are written and the slots and pivots past the new end cleared:
// the same body, without building and copying a whole node. newEnd, the
// data end after the write, is where the moved part ends (or the entry's
// slot when nothing follows it).
func (wr *wrState) fillNodeStore(n *node, offsetEnd, newEnd uint8) {
	mas := wr.mas
	nodePivots := wr.typ.pivots()
	off := mas.offset
	split := wr.rMin < mas.index // a new range keeps the start of the old one
	at := off                    // the entry's slot
	if split {
		at++
	}
	if offsetEnd <= mas.end {
		// Move the rest of the node to follow the entry.
		d := at + 1
		size := mas.end - offsetEnd + 1
		copy(n.slots[d:d+size], n.slots[offsetEnd:offsetEnd+size])
		copy(n.pivot[d:d+size-1], n.pivot[offsetEnd:offsetEnd+size-1])
		if newEnd < nodePivots {
			n.pivot[newEnd] = mas.max
		}
	}
	if split {
		n.slots[off] = wr.content
		n.pivot[off] = mas.index - 1
		mas.offset = at
	}
	// The new entry and its range end.
	if at < nodePivots {
		n.pivot[at] = mas.last
	}
	n.slots[at] = wr.entry
	// What the kernel's zeroed node leaves empty.
	clear(n.slots[newEnd+1:])
	if int(newEnd)+1 < len(n.pivot) {
		clear(n.pivot[newEnd+1:])
	}
	n.meta = metadata{}
	if newEnd < wr.typ.slots()-1 {
		n.meta = metadata{end: newEnd} // mas_leaf_set_meta
	}
}

// bnode models mas_wr_bnode: the slow path through a big node (split or
// rebalance).
func (wr *wrState) bnode() {
	var b bigNode
	wr.storeBNode(&b, wr.offsetEnd)
	if wr.mas.storeType == wrRebalance {
		wr.mas.rebalance(&b)
		return
	}
	wr.mas.split(&b)
}

// putInTree models mas_put_in_tree: publish mas.node where old was, then
// mark old dead.
func (mas *State) putInTree(old *node, newHeight int) {
	t := mas.tree
	n := mas.node
	if t.isRoot(n) {
		t.setRootParent(n)
		t.publishRoot(n)
		t.setHeight(newHeight)
	} else {
		p := n.parentNode()
		p.storeChildRCU(t.parentSlot(n), n)
	}
	old.setDead()
}

// replaceNode models mas_replace_node.
func (mas *State) replaceNode(old *node, newHeight int) {
	mas.putInTree(old, newHeight)
	mas.free(old)
}

// rootExpand models mas_root_expand: turn the bare root (or empty tree)
// into one leaf holding the old root entry, the new entry and the NULLs
// around them.
func (mas *State) rootExpand(entry eword) {
	t := mas.tree
	_, contents := t.loadRoot()
	n := mas.popNode(mapleLeaf64)
	t.setRootParent(n)
	mas.node = n
	mas.status = StatusActive
	var slot uint8
	if mas.index != 0 {
		if !contents.isNull() {
			n.setEntry(slot, contents)
			if mas.index > 1 {
				slot++
			}
		}
		n.pivot[slot] = mas.index - 1
		slot++
	}
	n.setEntry(slot, entry)
	mas.offset = slot
	n.pivot[slot] = mas.last
	if mas.last != math.MaxUint64 {
		slot++
		n.pivot[slot] = math.MaxUint64
	}
	t.setHeight(1)
	n.setMeta(0, slot)
	t.publishRoot(n)
}

// storeRoot models mas_store_root: write into an empty tree or a tree that
// is a bare entry.
func (mas *State) storeRoot(entry eword) {
	switch {
	case entry.isNull():
		if mas.index == 0 {
			mas.tree.publishRootEntry(eword{})
		}
	case mas.last != 0 || mas.index != 0:
		mas.rootExpand(entry)
	case isInternalWord(entry):
		mas.rootExpand(entry)
	default:
		mas.tree.publishRootEntry(entry)
		mas.status = StatusStart
	}
}

// isInternalWord reports the kernel's internal bit pattern for an entry.
func isInternalWord(w eword) bool { return !w.isNull() && isInternal(w.unpack()) }

// newRoot models mas_new_root: the write covers every index, so the tree
// becomes one leaf (or empty) and the old nodes are discarded.
func (mas *State) newRoot(entry eword) {
	t := mas.tree
	old, _ := t.loadRoot()
	if entry.isNull() {
		t.setHeight(0)
		t.publishRootEntry(eword{})
		mas.status = StatusStart
	} else {
		n := mas.popNode(mapleLeaf64)
		t.setRootParent(n)
		mas.node = n
		mas.status = StatusActive
		n.setEntry(0, entry)
		n.pivot[0] = mas.last
		t.setHeight(1)
		t.publishRoot(n)
	}
	if old != nil {
		mas.destroyWalk(old)
	}
}

// insert models mas_insert: store only if nothing occupies [index, last].
// It returns the content found; on failure the State holds EEXIST (or
// ENOMEM).
func (mas *State) insert(entry eword) eword {
	wr := newWrState(mas, entry)
	if !mas.isStart() || !mas.startAtRoot() { // mas_start, its common case inline
		wr.content = mas.start()
	}
	if !wr.content.isNull() {
		mas.setErr(errno.EEXIST)
		return wr.content
	}
	wr.preallocate()
	if mas.isErr() {
		return eword{}
	}
	// A write spanning nodes must cover an occupied slot.
	if mas.storeType == wrSpanningStore {
		mas.setErr(errno.EEXIST)
		return wr.content
	}
	if mas.storeType != wrNewRoot && mas.storeType != wrStoreRoot {
		wr.offsetEnd = mas.offset
		wr.endPiv = wr.rMax
		if !wr.content.isNull() || mas.last > wr.rMax {
			mas.setErr(errno.EEXIST)
			return wr.content
		}
	}
	wr.storeEntry()
	return wr.content
}

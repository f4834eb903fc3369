package mapletree

import (
	"math"
	"sync/atomic"
	"unsafe"
)

// Node geometry on 64-bit kernels (include/linux/maple_tree.h).
const (
	mapleNodeSlots     = 31 // MAPLE_NODE_SLOTS: dense nodes (never built by 6.16)
	mapleRange64Slots  = 16 // MAPLE_RANGE64_SLOTS: leaves and range64 internal nodes
	mapleArange64Slots = 10 // MAPLE_ARANGE64_SLOTS: arange64 internal nodes (alloc trees)
	mapleBigNodeSlots  = mapleRange64Slots*2 + 2
	mapleBigNodeGaps   = mapleArange64Slots*2 + 1
	// MapleHeightMax is MAPLE_HEIGHT_MAX, the largest height the flags can hold.
	MapleHeightMax = 31
)

// maxIndex is ULONG_MAX, the largest index.
const maxIndex = math.MaxUint64

// nodeType is enum maple_type.
type nodeType uint8

const (
	mapleDense    nodeType = iota // maple_dense
	mapleLeaf64                   // maple_leaf_64
	mapleRange64                  // maple_range_64
	mapleArange64                 // maple_arange_64
)

// slots models mt_slots[].
func (t nodeType) slots() uint8 {
	switch t {
	case mapleDense:
		return mapleNodeSlots
	case mapleArange64:
		return mapleArange64Slots
	}
	return mapleRange64Slots
}

// pivots models mt_pivots[].
func (t nodeType) pivots() uint8 {
	switch t {
	case mapleDense:
		return 0
	case mapleArange64:
		return mapleArange64Slots - 1
	}
	return mapleRange64Slots - 1
}

// minSlots models mt_min_slots[]: the smallest zero-based data end a
// non-root node may keep before it is rebalanced.
func (t nodeType) minSlots() uint8 {
	switch t {
	case mapleDense:
		return mapleNodeSlots / 2
	case mapleArange64:
		return mapleArange64Slots/2 - 1
	}
	return mapleRange64Slots/2 - 2
}

// isLeaf models ma_is_leaf.
func (t nodeType) isLeaf() bool { return t < mapleRange64 }

// isDense models ma_is_dense.
func (t nodeType) isDense() bool { return t < mapleLeaf64 }

func (t nodeType) String() string {
	switch t {
	case mapleDense:
		return "maple_dense"
	case mapleLeaf64:
		return "maple_leaf_64"
	case mapleRange64:
		return "maple_range_64"
	case mapleArange64:
		return "maple_arange_64"
	}
	return "maple_unknown"
}

// metadata is struct maple_metadata: the zero-based end of the data and, in
// arange64 nodes, the offset of the child with the largest gap. The kernel
// overlays it on slot 15 of range64 nodes (valid only while the node is not
// full); here it has its own bytes, read under the same rules.
type metadata struct {
	end uint8
	gap uint8
}

// nodeBody is the part of a node that a node store rewrites: pivots,
// slots and metadata.
type nodeBody struct {
	pivot [mapleRange64Slots - 1]uint64
	slots [mapleRange64Slots]eword
	meta  metadata
}

// node is struct maple_node for the three node types the 6.16 write paths
// build. One Go struct serves all of them, as the kernel's union does:
// range64 and leaf64 nodes use 15 pivots and 16 slots, arange64 nodes use 9
// pivots, 10 slots and 10 gaps.
//
// Slots of internal nodes hold child *node pointers in the data word of
// slots[]; slots of leaves hold entries as a (type, data) word pair (see
// eword), the two words side by side.
//
// The parent word encodes, in one pointer, what the kernel packs into
// node->parent: it points at links[s] of the parent node, where links[s] == s
// is the slot this node occupies, so one atomic load gives parent and slot
// together. The root points at its tree's rootMark; a dead node points at
// its own links[0] (the kernel's "parent points to itself").
type node struct {
	parent unsafe.Pointer
	nodeBody
	gap   [mapleArange64Slots]uint64
	typ   nodeType
	links [mapleRange64Slots]uint8
	// seq is odd while a writer changes a published leaf in place (RCU
	// mode exact-fit and slot stores); readers retry when it moves.
	seq uint32
}

const linksOffset = unsafe.Offsetof(node{}.links)

// reset zeroes n as a fresh node of type t, with its link bytes set.
// The link bytes never change once set, so a reused node keeps them and
// only a node fresh from the Go allocator (all zero) gets them written.
func (n *node) reset(t nodeType) {
	n.parent = nil
	n.nodeBody = nodeBody{}
	n.gap = [mapleArange64Slots]uint64{}
	n.typ = t
	n.seq = 0
	if n.links[len(n.links)-1] == 0 {
		for i := range n.links {
			n.links[i] = uint8(i)
		}
	}
}

// entry returns the entry in leaf slot i (writer side: plain loads).
func (n *node) entry(i uint8) eword { return n.slots[i] }

// setEntry writes leaf slot i on a node no reader can see yet.
func (n *node) setEntry(i uint8, w eword) { n.slots[i] = w }

// child returns the child in internal slot i (writer side).
func (n *node) child(i uint8) *node { return (*node)(n.slots[i].data) }

// slotNull reports whether slot i holds NULL, for leaves and internal nodes
// (a child pointer has no type word; a leaf entry always has one).
func (n *node) slotNull(i uint8) bool { return n.slots[i].typ == nil && n.slots[i].data == nil }

// clearSlot sets slot i to NULL.
func (n *node) clearSlot(i uint8) { n.slots[i] = eword{} }

// pivotAt loads pivot i for a lock-free reader.
func (n *node) pivotAt(i uint8) uint64 { return atomic.LoadUint64(&n.pivot[i]) }

// childAt loads child i for a lock-free reader (rcu_dereference).
func (n *node) childAt(i uint8) *node { return (*node)(atomic.LoadPointer(&n.slots[i].data)) }

// entryAt loads leaf slot i for a lock-free reader.
func (n *node) entryAt(i uint8) eword { return loadEword(&n.slots[i].typ, &n.slots[i].data) }

// The lock-free walks index pivots and slots with offsets their own pivot
// scan bounded (offset <= data end <= 15), so these two read without a
// bounds check: in the descent a check costs more than the load.

// checkEnd panics on a data end past the last slot, which only a corrupt
// node has, before the unchecked reads use it (a plain bounds-check hint
// such as _ = n.slots[end] would be a racing read under the race detector).
func checkEnd(end uint) {
	if end >= mapleRange64Slots {
		panic("mapletree: corrupt node: data end past the last slot")
	}
}

// pivotLoad loads pivot i (i < 15) for a lock-free reader.
func (n *node) pivotLoad(i uint) uint64 {
	return atomic.LoadUint64((*uint64)(unsafe.Add(unsafe.Pointer(&n.pivot), i*8)))
}

// slotRef returns slot i (i < 16).
func (n *node) slotRef(i uint) *eword {
	return (*eword)(unsafe.Add(unsafe.Pointer(&n.slots), uintptr(i)*unsafe.Sizeof(eword{})))
}

// seqBegin returns the leaf's sequence count for a reader, or false if a
// writer is in the middle of an in-place change.
func (n *node) seqBegin() (uint32, bool) {
	s := atomic.LoadUint32(&n.seq)
	return s, s&1 == 0
}

// seqRetry reports whether the leaf changed since seqBegin returned s.
func (n *node) seqRetry(s uint32) bool { return atomic.LoadUint32(&n.seq) != s }

// writeBegin and writeEnd bracket an in-place change of a published leaf.
func (n *node) writeBegin() { atomic.StoreUint32(&n.seq, n.seq+1) }
func (n *node) writeEnd()   { atomic.StoreUint32(&n.seq, n.seq+1) }

// storeEntryRCU publishes a leaf slot in place (rcu_assign_pointer).
func (n *node) storeEntryRCU(i uint8, w eword) {
	atomic.StorePointer(&n.slots[i].typ, w.typ)
	atomic.StorePointer(&n.slots[i].data, w.data)
}

// storePivotRCU changes a pivot of a published node in place.
func (n *node) storePivotRCU(i uint8, v uint64) { atomic.StoreUint64(&n.pivot[i], v) }

// storeChildRCU publishes a child pointer (rcu_assign_pointer).
func (n *node) storeChildRCU(i uint8, c *node) {
	atomic.StorePointer(&n.slots[i].data, unsafe.Pointer(c))
}

// setParent models mas_set_parent: record parent p and slot in one word.
func (n *node) setParent(p *node, slot uint8) {
	atomic.StorePointer(&n.parent, unsafe.Pointer(&p.links[slot]))
}

// copyParent gives n the parent word of o (the kernel's "->parent = ->parent").
func (n *node) copyParent(o *node) {
	atomic.StorePointer(&n.parent, atomic.LoadPointer(&o.parent))
}

// setDead models mte_set_node_dead: the parent word points at the node
// itself. The atomic store orders it after the writes that replaced the node
// (the kernel's smp_wmb).
func (n *node) setDead() {
	atomic.StorePointer(&n.parent, unsafe.Pointer(&n.links[0]))
}

// dead models ma_dead_node.
func (n *node) dead() bool {
	return atomic.LoadPointer(&n.parent) == unsafe.Pointer(&n.links[0])
}

// parentNode models mte_parent. n must have a parent node (not the root).
func (n *node) parentNode() *node {
	p := atomic.LoadPointer(&n.parent)
	s := *(*uint8)(p)
	return (*node)(unsafe.Add(p, -int(uintptr(s)+linksOffset)))
}

// loadParent reads a node's parent word.
func loadParent(n *node) unsafe.Pointer { return atomic.LoadPointer(&n.parent) }

// parentSlotOf decodes the slot from a parent word.
func parentSlotOf(p unsafe.Pointer) uint8 { return *(*uint8)(p) }

// nodeFromParentWord decodes the parent node from a parent word.
func nodeFromParentWord(p unsafe.Pointer) *node {
	s := *(*uint8)(p)
	return (*node)(unsafe.Add(p, -int(uintptr(s)+linksOffset)))
}

// dataEnd models ma_data_end: the zero-based index of the last used slot,
// using the metadata where the node layout keeps it valid. Leaves and
// range64 nodes share one pivot count, so only arange64 (and dense, which
// has no pivots) need their own answer; kept small enough to inline.
func (n *node) dataEnd(max uint64) uint8 {
	switch n.typ {
	case mapleArange64:
		return n.meta.end
	case mapleDense:
		return 0
	}
	const off = mapleRange64Slots - 2
	p := n.pivotAt(off)
	if p == 0 {
		return n.meta.end
	}
	if p == max {
		return off
	}
	return off + 1
}

// safePivot models mas_safe_pivot: pivot i, or max beyond the pivot array.
func (n *node) safePivot(i uint8, max uint64) uint64 {
	if i >= n.typ.pivots() {
		return max
	}
	return n.pivot[i]
}

// safeMin models mas_safe_min: the first index covered by slot i.
func (n *node) safeMin(i uint8, min uint64) uint64 {
	if i != 0 {
		return n.pivot[i-1] + 1
	}
	return min
}

// setMeta models ma_set_meta.
func (n *node) setMeta(gapOffset, end uint8) {
	n.meta.gap = gapOffset
	n.meta.end = end
}

// leafSetMeta models mas_leaf_set_meta: range64 nodes record the end only
// when slot 15 (where the kernel overlays the metadata) is free.
func (n *node) leafSetMeta(end uint8) {
	if end < n.typ.slots()-1 {
		n.setMeta(0, end)
	}
}

// maxGap models ma_max_gap: the largest gap of an arange64 node and its offset.
func (n *node) maxGap() (uint64, uint8) {
	var max uint64
	end := uint(n.meta.end)
	off := end
	// The kernel scans from the end down and a tie keeps the higher
	// offset; scanning up with >= finds the same answer (and the end when
	// every gap is 0) without bounds checks. The two separate conditional
	// assignments compile to conditional moves: the comparison is
	// data-dependent and would mispredict as a branch.
	for i, g := range n.gap[:end+1] {
		if g >= max {
			off = uint(i)
		}
		if g >= max {
			max = g
		}
	}
	return max, uint8(off)
}

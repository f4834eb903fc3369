package mapletree

import (
	"unsafe"

	"github.com/arenasim/arenasim/internal/errno"
)

// The kernel allocates every node a write may need before it changes
// anything (mas_preallocate, mas_node_count), so that a failed allocation
// leaves the tree untouched. The State keeps its nodes chained through
// slot[0], as struct maple_alloc chains them.

// nodeCount models mas_node_count: make sure count nodes are allocated,
// setting ENOMEM in the State when the allocator refuses.
func (mas *State) nodeCount(count int) {
	for mas.allocCount < count {
		n := mas.tree.allocNode()
		if n == nil {
			mas.setErr(errno.ENOMEM)
			return
		}
		mas.pushNode(n)
	}
}

// pushNode models mas_push_node: keep a node for reuse by this operation.
func (mas *State) pushNode(n *node) {
	n.slots[0].typ = nil
	n.slots[0].data = unsafe.Pointer(mas.alloc)
	mas.alloc = n
	mas.allocCount++
}

// popNode models mas_pop_node: a zeroed node of type typ from the
// preallocation. Running out is a counting bug (the kernel would crash);
// the port allocates, counts the miss, and the tests assert none happen.
func (mas *State) popNode(typ nodeType) *node {
	n := mas.alloc
	if n == nil {
		mas.tree.preallocMisses++
		n = new(node)
	} else {
		mas.alloc = (*node)(n.slots[0].data)
		mas.allocCount--
	}
	n.reset(typ)
	return n
}

// free models mas_free: in RCU mode a replaced node is left to the garbage
// collector (call_rcu); otherwise it can be reused at once.
func (mas *State) free(n *node) {
	if mas.tree.InRCU() {
		return
	}
	mas.pushNode(n)
}

// allocated models mas_allocated.
func (mas *State) allocated() int { return mas.allocCount }

// Destroy models mas_destroy: finish a bulk load (rebalancing the last
// node if it ended up short) and give back the nodes the State still holds.
func (mas *State) Destroy() {
	if mas.flags&maStateRebalance != 0 || mas.alloc != nil {
		mas.destroy()
		return
	}
	// Nothing to finish or give back (the common case, kept inlinable).
	mas.flags &^= maStateBulk | maStatePrealloc
	mas.allocCount = 0
}

// destroy is Destroy's slow path.
func (mas *State) destroy() {
	if mas.flags&maStateRebalance != 0 {
		if mas.isErr() {
			mas.Reset()
		}
		mas.start()
		if mas.isActive() {
			mas.rangeWalk()
			end := mas.end + 1
			if end < mas.node.typ.minSlots()-1 {
				mas.destroyRebalance(end)
			}
		}
		mas.flags &^= maStateRebalance
	}
	mas.flags &^= maStateBulk | maStatePrealloc
	for mas.alloc != nil {
		n := mas.alloc
		mas.alloc = (*node)(n.slots[0].data)
		mas.tree.freeNode(n)
	}
	mas.allocCount = 0
}

// ExpectedEntries models mas_expected_entries: announce a bulk load of n
// entries in ascending order into an empty tree, outside RCU mode. Splits
// then pack left nodes full; call Destroy when done. It preallocates the
// nodes the load is expected to need.
func (mas *State) ExpectedEntries(n uint64) error {
	nonleafCap := uint64(mapleArange64Slots - 2)
	enode := mas.node
	mas.flags |= maStateBulk
	nrNodes := max(n, n*2+1)
	if !mas.tree.isAlloc() {
		nonleafCap = mapleRange64Slots - 2
	}
	nrNodes = divRoundUp(nrNodes, mapleRange64Slots-2)
	nrNodes += divRoundUp(nrNodes, nonleafCap)
	if nrNodes > maxBulkNodes {
		// The kernel's bulk allocation would fail; refuse before trying.
		mas.setErr(errno.ENOMEM)
	} else {
		mas.nodeCount(int(nrNodes + 3))
	}
	mas.flags |= maStatePrealloc
	if !mas.isErr() {
		return nil
	}
	err := mas.err
	mas.node = enode
	mas.Destroy()
	return err
}

// maxBulkNodes bounds what ExpectedEntries preallocates (16 Mi nodes, 8 GiB).
const maxBulkNodes = 1 << 24

func divRoundUp(a, b uint64) uint64 { return (a + b - 1) / b }

// destroyRebalance models mas_destroy_rebalance: after a bulk load the
// last leaf may be short; move data from its left sibling into it.
func (mas *State) destroyRebalance(end uint8) {
	mt := mas.node.typ
	split := mt.slots() / 2
	inRCU := mas.tree.InRCU()
	newHeight := mas.height()
	lMas := *mas
	lMas.prevSibling()

	var reuse node
	var newnode *node
	if inRCU {
		newnode = mas.popNode(mt)
	} else {
		reuse.reset(mt)
		newnode = &reuse
	}
	n := mas.node
	newnode.parent = n.parent
	left := lMas.node
	if left.slotNull(split) {
		split++
	}
	tmp := lMas.dataEnd() - split
	copy(newnode.slots[:tmp], left.slots[split+1:split+1+tmp])
	copy(newnode.pivot[:tmp], left.pivot[split+1:split+1+tmp])
	newnode.pivot[tmp] = lMas.max
	copy(newnode.slots[tmp:tmp+end], n.slots[:end])
	copy(newnode.pivot[tmp:min(int(tmp)+int(end), int(mt.pivots()))], n.pivot[:end])
	lMas.max = left.pivot[split]
	mas.min = lMas.max + 1
	oldParent := left.parentNode()
	tmp += end
	var parent *node
	if !inRCU {
		maxP, maxS := mt.pivots(), mt.slots()
		for i := tmp; i < maxP; i++ {
			newnode.pivot[i] = 0
		}
		for i := tmp; i < maxS; i++ {
			newnode.clearSlot(i)
		}
		*n = *newnode
		n.setMeta(0, tmp-1)
		oldParent.pivot[mas.tree.parentSlot(left)] = left.pivot[split]
		// Remove the moved data from the left node.
		for i := split + 1; i < maxP; i++ {
			left.pivot[i] = 0
		}
		for i := split + 1; i < maxS; i++ {
			left.clearSlot(i)
		}
		left.setMeta(0, split)
		parent = oldParent
	} else {
		// RCU needs new left, right and parent nodes.
		mas.node = newnode
		newnode.setMeta(0, tmp)
		newLeft := mas.popNode(left.typ)
		newLeft.parent = left.parent
		copy(newLeft.slots[:split], left.slots[:split])
		copy(newLeft.pivot[:split], left.pivot[:split])
		newLeft.setMeta(0, split)
		lMas.node = newLeft
		// Replace the parent.
		offset := mas.tree.parentSlot(mas.node)
		parent = mas.popNode(oldParent.typ)
		*parent = *oldParent // links are the same in every node
		parent.slots[offset].data = nodePtr(mas.node)
		parent.slots[offset-1].data = nodePtr(lMas.node)
		parent.pivot[offset-1] = lMas.max
	}
	gap := mas.leafMaxGap()
	if parent.typ == mapleArange64 {
		parent.gap[mas.tree.parentSlot(mas.node)] = gap
	}
	gap = lMas.leafMaxGap()
	if parent.typ == mapleArange64 {
		parent.gap[mas.tree.parentSlot(lMas.node)] = gap
	}
	mas.ascend()
	if inRCU {
		// The kernel ascends from the new node, whose parent word still
		// names the old parent, and replaces that; the new parent is what
		// must go into the tree.
		mas.node = parent
		mas.replaceNode(oldParent, newHeight)
		mas.adoptChildren(mas.node)
	}
	mas.updateGap()
}

func nodePtr(n *node) unsafe.Pointer { return unsafe.Pointer(n) }

package vmalloc

import (
	"fmt"
	"slices"
)

// Check verifies the allocator's invariants and returns the first
// violation found:
//   - every tree is a valid red-black tree whose in-order walk is its list,
//     with areas ordered and disjoint;
//   - every free-tree node's subtreeMax is the largest block below it, and
//     no two free blocks touch (merging keeps them maximal);
//   - busy areas sit in the node of their start address, bound to a
//     vm_struct that records their range; lazy areas sit in the node that
//     allocated them; pooled areas have their pool's size;
//   - free, busy, lazy and pooled ranges are disjoint and together cover the
//     managed space [1, ULONG_MAX) exactly;
//   - the lazy page count matches the lazy areas, and every descriptor
//     handed out by the cache is accounted for.
//
// Check walks everything: it is for tests and the simulator's checker, not
// for hot paths.
func (a *Allocator) Check() error {
	if !a.initialized {
		return nil
	}
	var all []span
	nFree, err := checkRBList(&a.free, "free")
	if err != nil {
		return err
	}
	if err := checkAugment(a.free.tree.root); err != nil {
		return err
	}
	var prev *vmapArea
	for va := a.free.list.first(); va != nil; va = a.free.list.after(va) {
		if prev != nil && prev.end == va.start {
			return fmt.Errorf("vmalloc: free blocks %#x-%#x and %#x-%#x touch", prev.start, prev.end, va.start, va.end)
		}
		all = append(all, span{va.start, va.end, "free"})
		prev = va
	}
	count := nFree
	var lazyPages uint64
	for i := range a.nodes {
		vn := &a.nodes[i]
		n, err := checkRBList(&vn.busy, fmt.Sprintf("node %d busy", i))
		if err != nil {
			return err
		}
		count += n
		for va := vn.busy.list.first(); va != nil; va = vn.busy.list.after(va) {
			if a.addrToNodeID(va.start) != i {
				return fmt.Errorf("vmalloc: busy %#x-%#x in node %d, belongs to %d", va.start, va.end, i, a.addrToNodeID(va.start))
			}
			if vm := va.vm; vm != nil && (vm.Addr != va.start || vm.Size != va.size()) {
				return fmt.Errorf("vmalloc: busy %#x-%#x has vm_struct %#x+%#x", va.start, va.end, vm.Addr, vm.Size)
			}
			if vm := va.vm; vm != nil && vm.va != va {
				return fmt.Errorf("vmalloc: busy %#x-%#x: its vm_struct is not bound to it", va.start, va.end)
			}
			all = append(all, span{va.start, va.end, "busy"})
		}
		n, err = checkRBList(&vn.lazy, fmt.Sprintf("node %d lazy", i))
		if err != nil {
			return err
		}
		count += n
		for va := vn.lazy.list.first(); va != nil; va = vn.lazy.list.after(va) {
			want := a.addrToNodeID(va.start)
			if id := a.decodeVnID(va.flags); a.vnIDValid(id) {
				want = id
			}
			if want != i {
				return fmt.Errorf("vmalloc: lazy %#x-%#x in node %d, belongs to %d", va.start, va.end, i, want)
			}
			lazyPages += va.size() >> PageShift
			all = append(all, span{va.start, va.end, "lazy"})
		}
		for p := range vn.pool {
			vp := &vn.pool[p]
			n := 0
			for va := vp.list.first(); va != nil; va = vp.list.after(va) {
				if va.size() != uint64(p+1)*PageSize {
					return fmt.Errorf("vmalloc: node %d pool %d holds %#x-%#x", i, p, va.start, va.end)
				}
				all = append(all, span{va.start, va.end, "pool"})
				n++
			}
			if n != vp.len {
				return fmt.Errorf("vmalloc: node %d pool %d has %d areas, len says %d", i, p, n, vp.len)
			}
			count += n
		}
	}
	if lazyPages != a.lazyNr {
		return fmt.Errorf("vmalloc: %d lazy pages listed, vmap_lazy_nr is %d", lazyPages, a.lazyNr)
	}
	for _, p := range a.preload {
		if p != nil {
			count++
		}
	}
	if count != a.cache.inUse {
		return fmt.Errorf("vmalloc: %d descriptors accounted for, %d handed out", count, a.cache.inUse)
	}
	slices.SortFunc(all, func(x, y span) int {
		switch {
		case x.start < y.start:
			return -1
		case x.start > y.start:
			return 1
		}
		return 0
	})
	at := uint64(1)
	for _, s := range all {
		if s.start != at {
			if s.start < at {
				return fmt.Errorf("vmalloc: %s %#x-%#x overlaps below %#x", s.kind, s.start, s.end, at)
			}
			return fmt.Errorf("vmalloc: %#x-%#x is neither free, busy, lazy nor pooled", at, s.start)
		}
		if s.end <= s.start {
			return fmt.Errorf("vmalloc: empty %s area %#x-%#x", s.kind, s.start, s.end)
		}
		at = s.end
	}
	if at != ULongMax {
		return fmt.Errorf("vmalloc: %#x-%#x is unaccounted for", at, ULongMax)
	}
	return a.checkPageTable()
}

type span struct {
	start, end uint64
	kind       string
}

// checkRBList checks one tree and its list and returns the area count.
func checkRBList(r *rbList, name string) (int, error) {
	if r.tree.root != nil && (r.tree.root.parent != nil || r.tree.root.red) {
		return 0, fmt.Errorf("vmalloc: %s tree root is red or has a parent", name)
	}
	var inorder []*vmapArea
	if _, err := checkRBNode(r.tree.root, &inorder, name); err != nil {
		return 0, err
	}
	i := 0
	for va := r.list.first(); va != nil; va = r.list.after(va) {
		if i >= len(inorder) || inorder[i] != va {
			return 0, fmt.Errorf("vmalloc: %s list and tree differ at %d (%#x-%#x)", name, i, va.start, va.end)
		}
		if va.next.prev != va {
			return 0, fmt.Errorf("vmalloc: %s list broken at %#x", name, va.start)
		}
		i++
	}
	if i != len(inorder) {
		return 0, fmt.Errorf("vmalloc: %s list has %d areas, tree %d", name, i, len(inorder))
	}
	for k := 1; k < len(inorder); k++ {
		if inorder[k-1].end > inorder[k].start {
			return 0, fmt.Errorf("vmalloc: %s areas %#x-%#x and %#x-%#x out of order or overlapping",
				name, inorder[k-1].start, inorder[k-1].end, inorder[k].start, inorder[k].end)
		}
	}
	return len(inorder), nil
}

// checkRBNode returns the black height of n's subtree.
func checkRBNode(n *vmapArea, out *[]*vmapArea, name string) (int, error) {
	if n == nil {
		return 1, nil
	}
	for _, c := range n.child {
		if c == nil {
			continue
		}
		if c.parent != n {
			return 0, fmt.Errorf("vmalloc: %s node %#x has a wrong parent", name, c.start)
		}
		if n.red && c.red {
			return 0, fmt.Errorf("vmalloc: %s red node %#x has a red child", name, n.start)
		}
	}
	lh, err := checkRBNode(n.child[left], out, name)
	if err != nil {
		return 0, err
	}
	*out = append(*out, n)
	rh, err := checkRBNode(n.child[right], out, name)
	if err != nil {
		return 0, err
	}
	if lh != rh {
		return 0, fmt.Errorf("vmalloc: %s node %#x black heights %d and %d", name, n.start, lh, rh)
	}
	if !n.red {
		lh++
	}
	return lh, nil
}

// checkAugment verifies subtreeMax bottom-up and returns nil if all agree.
func checkAugment(n *vmapArea) error {
	if n == nil {
		return nil
	}
	if err := checkAugment(n.child[left]); err != nil {
		return err
	}
	if err := checkAugment(n.child[right]); err != nil {
		return err
	}
	want := max(n.size(), subtreeMaxOf(n.child[left]), subtreeMaxOf(n.child[right]))
	if n.subtreeMax != want {
		return fmt.Errorf("vmalloc: free block %#x-%#x subtree max %#x, want %#x", n.start, n.end, n.subtreeMax, want)
	}
	return nil
}

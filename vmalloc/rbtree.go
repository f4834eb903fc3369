package vmalloc

// rbTree is an intrusive red-black tree of vmapAreas ordered by address, the
// Go form of lib/rbtree.c. It follows the kernel's insertion and erase
// algorithms case for case, so a sequence of operations leaves the same tree
// shape as in the kernel; that matters because the free-space search, with
// alignment, depends on which nodes lie on its path.
//
// With augment set the tree keeps subtreeMax current the way the
// RB_DECLARE_CALLBACKS_MAX callbacks do (rotate, copy, propagate), which is
// what vmalloc's free tree uses; the busy and lazy trees are plain.
type rbTree struct {
	root    *vmapArea
	augment bool
}

// subtreeMaxOf is get_subtree_max_size: 0 for an empty subtree.
func subtreeMaxOf(n *vmapArea) uint64 {
	if n == nil {
		return 0
	}
	return n.subtreeMax
}

// computeMax recomputes n.subtreeMax from its own size and its children.
// With exit set it reports true, changing nothing, when the stored value is
// already right: propagation stops there.
func computeMax(n *vmapArea, exit bool) bool {
	m := n.size()
	if n.child[left] != nil && n.child[left].subtreeMax > m {
		m = n.child[left].subtreeMax
	}
	if n.child[right] != nil && n.child[right].subtreeMax > m {
		m = n.child[right].subtreeMax
	}
	if exit && n.subtreeMax == m {
		return true
	}
	n.subtreeMax = m
	return false
}

// propagate walks up from n until stop (exclusive) or until a node's value
// does not change.
func (t *rbTree) propagate(n, stop *vmapArea) {
	if !t.augment {
		return
	}
	for n != stop {
		if computeMax(n, true) {
			break
		}
		n = n.parent
	}
}

// rotateAug is the augmented rotate callback: new takes old's subtree
// value, old's is recomputed from its new children.
func (t *rbTree) rotateAug(old, new *vmapArea) {
	if !t.augment {
		return
	}
	new.subtreeMax = old.subtreeMax
	computeMax(old, false)
}

// changeChild makes parent (or the root) point at new instead of old.
func (t *rbTree) changeChild(old, new, parent *vmapArea) {
	if parent == nil {
		t.root = new
	} else if parent.child[left] == old {
		parent.child[left] = new
	} else {
		parent.child[right] = new
	}
}

// rotateSetParents gives new the place and colour of old, and makes old a
// child of new with the given colour.
func (t *rbTree) rotateSetParents(old, new *vmapArea, red bool) {
	parent := old.parent
	new.parent, new.red = old.parent, old.red
	old.parent, old.red = new, red
	t.changeChild(old, new, parent)
}

// link attaches n as a red leaf at *link under parent (rb_link_node).
func link(n, parent *vmapArea, at **vmapArea) {
	n.parent, n.red = parent, true
	n.child = [2]*vmapArea{}
	*at = n
}

// insertColor rebalances after link (rb_insert_color /
// rb_insert_augmented). The kernel spells out the case where the parent is
// a left child and its mirror image; here d is the parent's side and o the
// other one, which covers both.
func (t *rbTree) insertColor(node *vmapArea) {
	parent := node.parent
	for {
		if parent == nil {
			node.parent, node.red = nil, false
			return
		}
		if !parent.red {
			return
		}
		gparent := parent.parent
		d := left
		if parent == gparent.child[right] {
			d = right
		}
		o := 1 - d
		if uncle := gparent.child[o]; uncle != nil && uncle.red { // recolour, go up
			uncle.red, parent.red = false, false
			node = gparent
			parent = node.parent
			node.red = true
			continue
		}
		tmp := parent.child[o]
		if node == tmp { // inner child: rotate at parent first
			tmp = node.child[d]
			parent.child[o] = tmp
			node.child[d] = parent
			if tmp != nil {
				tmp.parent, tmp.red = parent, false
			}
			parent.parent, parent.red = node, true
			t.rotateAug(parent, node)
			parent = node
			tmp = node.child[o]
		}
		gparent.child[d] = tmp // rotate at gparent
		parent.child[o] = gparent
		if tmp != nil {
			tmp.parent, tmp.red = gparent, false
		}
		t.rotateSetParents(gparent, parent, true)
		t.rotateAug(gparent, parent)
		return
	}
}

// insert links n at (parent, at) and rebalances. For the free tree the
// caller then propagates subtreeMax from n (augment_tree_propagate_from);
// the value starts at zero so that rotations during the insert never read a
// stale one.
func (t *rbTree) insert(n, parent *vmapArea, at **vmapArea) {
	link(n, parent, at)
	n.subtreeMax = 0
	t.insertColor(n)
}

// erase unlinks node (rb_erase / rb_erase_augmented).
func (t *rbTree) erase(node *vmapArea) {
	child := node.child[right]
	tmp := node.child[left]
	var parent, rebalance *vmapArea

	switch {
	case tmp == nil: // at most a right child
		parent = node.parent
		t.changeChild(node, child, parent)
		if child != nil {
			child.parent, child.red = parent, node.red
		} else if !node.red {
			rebalance = parent
		}
		tmp = parent
	case child == nil: // only a left child
		parent = node.parent
		tmp.parent, tmp.red = parent, node.red
		t.changeChild(node, tmp, parent)
		tmp = parent
	default: // two children: the in-order successor takes node's place
		successor := child
		var child2 *vmapArea
		tmp = child.child[left]
		if tmp == nil {
			parent = successor
			child2 = successor.child[right]
			t.copyAug(node, successor)
		} else {
			for tmp != nil {
				parent = successor
				successor = tmp
				tmp = tmp.child[left]
			}
			child2 = successor.child[right]
			parent.child[left] = child2
			successor.child[right] = child
			child.parent = successor
			t.copyAug(node, successor)
			t.propagate(parent, successor)
		}
		tmp = node.child[left]
		successor.child[left] = tmp
		tmp.parent = successor

		nodeParent, nodeRed := node.parent, node.red
		t.changeChild(node, successor, nodeParent)
		if child2 != nil {
			child2.parent, child2.red = parent, false
		} else if !successor.red {
			rebalance = parent
		}
		successor.parent, successor.red = nodeParent, nodeRed
		tmp = successor
	}
	t.propagate(tmp, nil)
	if rebalance != nil {
		t.eraseColor(rebalance)
	}
	node.parent, node.child = nil, [2]*vmapArea{}
}

// copyAug is the augmented copy callback.
func (t *rbTree) copyAug(old, new *vmapArea) {
	if t.augment {
		new.subtreeMax = old.subtreeMax
	}
}

// eraseColor restores the red-black properties after removing a black node
// below parent (____rb_erase_color); d is the side of the short path.
func (t *rbTree) eraseColor(parent *vmapArea) {
	var node *vmapArea
	for {
		d := left
		if node == parent.child[right] {
			d = right
		}
		o := 1 - d
		sibling := parent.child[o]
		if sibling.red { // red sibling: rotate at parent
			tmp1 := sibling.child[d]
			parent.child[o] = tmp1
			sibling.child[d] = parent
			tmp1.parent, tmp1.red = parent, false
			t.rotateSetParents(parent, sibling, true)
			t.rotateAug(parent, sibling)
			sibling = tmp1
		}
		tmp1 := sibling.child[o]
		if tmp1 == nil || !tmp1.red {
			tmp2 := sibling.child[d]
			if tmp2 == nil || !tmp2.red { // black nephews: recolour
				sibling.parent, sibling.red = parent, true
				if parent.red {
					parent.red = false
				} else {
					node = parent
					parent = node.parent
					if parent != nil {
						continue
					}
				}
				return
			}
			tmp1 = tmp2.child[o] // rotate at sibling
			sibling.child[d] = tmp1
			tmp2.child[o] = sibling
			parent.child[o] = tmp2
			if tmp1 != nil {
				tmp1.parent, tmp1.red = sibling, false
			}
			t.rotateAug(sibling, tmp2)
			tmp1 = sibling
			sibling = tmp2
		}
		tmp2 := sibling.child[d] // rotate at parent, recolour
		parent.child[o] = tmp2
		sibling.child[d] = parent
		tmp1.parent, tmp1.red = sibling, false
		if tmp2 != nil {
			tmp2.parent = parent
		}
		t.rotateSetParents(parent, sibling, false)
		t.rotateAug(parent, sibling)
		return
	}
}

// findLinks is find_va_links: it finds where va would be linked, descending
// from the root (from == nil) or from a given node. It reports false when
// va overlaps an area already in the tree (the kernel WARNs "vmalloc bug").
func (t *rbTree) findLinks(va, from *vmapArea) (parent *vmapArea, at **vmapArea, ok bool) {
	cur := from
	if cur == nil {
		if t.root == nil {
			return nil, &t.root, true
		}
		cur = t.root
	}
	for {
		switch {
		case va.end <= cur.start:
			at = &cur.child[left]
		case va.start >= cur.end:
			at = &cur.child[right]
		default:
			return nil, nil, false
		}
		parent = cur
		if *at == nil {
			return parent, at, true
		}
		cur = *at
	}
}

// lookup finds the area containing addr (__find_vmap_area).
func (t *rbTree) lookup(addr uint64) *vmapArea {
	n := t.root
	for n != nil {
		switch {
		case addr < n.start:
			n = n.child[left]
		case addr >= n.end:
			n = n.child[right]
		default:
			return n
		}
	}
	return nil
}

package mapletree

// adoptChildren models mas_adopt_children: point every child of parent
// (described by mas) back at parent with its slot.
func (mas *State) adoptChildren(parent *node) {
	offset := int(parent.dataEnd(mas.max))
	for ; offset >= 0; offset-- {
		parent.child(uint8(offset)).setParent(parent, uint8(offset))
	}
}

// findChild models mas_find_child: from mas.offset on, find the next child
// of mas.node whose parent word already names mas.node; step child into it.
func (mas *State) findChild(child *State) bool {
	n := mas.node
	end := n.dataEnd(mas.max)
	for offset := mas.offset; offset <= end; offset++ {
		c := n.child(offset)
		if c == nil {
			continue
		}
		if pw := loadParent(c); pw != nil && pw != mas.tree.rootMarkPtr() && nodeFromParentWord(pw) == n {
			*child = *mas
			mas.offset = offset + 1
			child.offset = offset
			child.descend()
			child.offset = 0
			return true
		}
	}
	return false
}

// topiaryNode models mas_topiary_node: mark a replaced node dead and free it.
func (mas *State) topiaryNode(tmp *State, inRCU bool) {
	if tmp.isNone() {
		return
	}
	tmp.node.setDead()
	if !inRCU {
		mas.pushNode(tmp.node)
	}
}

// topiaryReplace models mas_topiary_replace: publish the new subtree at
// mas.node in place of old, fix the parent words below the new nodes, then
// walk the old subtree: nodes wholly inside [index, last] are destroyed
// with their subtrees, the others are freed one by one.
func (mas *State) topiaryReplace(old *node, newHeight int) {
	var tmp, tmpNext [3]State
	var subtrees []*node
	mas.putInTree(old, newHeight)

	// Point the children of the new nodes back at them, level by level.
	tmp[0] = *mas
	tmp[0].offset = 0
	tmp[1].status = StatusNone
	tmp[2].status = StatusNone
	for !tmp[0].node.typ.isLeaf() {
		n := 0
		for i := 0; i < 3; i++ {
			if tmp[i].isNone() {
				continue
			}
			for n < 3 {
				if !tmp[i].findChild(&tmpNext[n]) {
					break
				}
				n++
			}
			tmp[i].adoptChildren(tmp[i].node)
		}
		if n == 0 {
			break
		}
		for ; n < 3; n++ {
			tmpNext[n].status = StatusNone
		}
		tmp = tmpNext
	}

	// Walk the replaced nodes and discard them.
	if old.typ.isLeaf() {
		mas.free(old)
		return
	}
	tmp[0] = *mas
	tmp[0].offset = 0
	tmp[0].node = old
	tmp[1].status = StatusNone
	tmp[2].status = StatusNone
	inRCU := mas.tree.InRCU()
	for {
		n := 0
		for i := 0; i < 3; i++ {
			if tmp[i].isNone() {
				continue
			}
			for n < 3 {
				if !tmp[i].findChild(&tmpNext[n]) {
					break
				}
				if tmpNext[n].min >= tmpNext[0].index && tmpNext[n].max <= tmpNext[0].last {
					tmpNext[n].node.setDead()
					subtrees = append(subtrees, tmpNext[n].node)
					tmpNext[n].status = StatusNone
				} else {
					n++
				}
			}
		}
		if n == 0 {
			break
		}
		for ; n < 3; n++ {
			tmpNext[n].status = StatusNone
		}
		for i := 0; i < 3; i++ {
			mas.topiaryNode(&tmp[i], inRCU)
			tmp[i] = tmpNext[i]
		}
		if tmp[0].node.typ.isLeaf() {
			break
		}
	}
	for i := 0; i < 3; i++ {
		mas.topiaryNode(&tmp[i], inRCU)
	}
	// mas_mat_destroy: free the dead subtrees.
	for _, s := range subtrees {
		mas.destroyWalk(s)
	}
}

// wmbReplace models mas_wmb_replace: put the new subtree in place and
// update the gaps above it.
func (mas *State) wmbReplace(old *node, newHeight int) {
	mas.topiaryReplace(old, newHeight)
	if mas.node.typ.isLeaf() {
		return
	}
	mas.updateGap()
}

// destroyWalk models mte_destroy_walk: mark every node of the subtree at n
// dead (so lock-free readers restart) and, outside RCU mode, give the nodes
// back to the tree's cache. In RCU mode the garbage collector frees them
// once no reader holds them, which is what call_rcu achieves.
func (mas *State) destroyWalk(n *node) {
	mas.tree.destroySubtree(n)
}

// destroySubtree marks n and every node below it dead, children first,
// freeing them to the cache outside RCU mode.
func (t *Tree) destroySubtree(n *node) {
	if !n.typ.isLeaf() {
		for i := uint8(0); i < n.typ.slots(); i++ {
			c := n.child(i)
			if c == nil {
				break
			}
			t.destroySubtree(c)
		}
	}
	n.setDead()
	if !t.InRCU() {
		t.freeNode(n)
	}
}

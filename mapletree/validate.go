package mapletree

import (
	"errors"
	"fmt"
)

// Validate models mt_validate: check every node of the tree and return an
// error describing each broken invariant (nil for a valid tree):
//
//   - no node in the tree is dead;
//   - every non-root node keeps at least mt_min_slots entries;
//   - each node sits in its parent's slot, and only there;
//   - pivots increase and stay within the node's limits, the data end is
//     where the limit is reached, nothing is stored beyond it;
//   - every child slot up to the end is a node pointing back at its slot;
//   - in allocation trees every recorded gap equals the child's largest
//     gap, meta.gap names the largest, gaps beyond the end are 0;
//   - no two NULL entries are adjacent, across leaves too.
//
// Hold the tree's lock if other goroutines write.
func (t *Tree) Validate() error {
	root, _ := t.loadRoot()
	if root == nil {
		return nil
	}
	v := validator{t: t}
	v.node(root, 0, maxIndex, 0)
	v.nulls(root, maxIndex)
	if h := t.Height(); v.height != h {
		v.errf("tree height %d, but the leaves are at depth %d", h, v.height)
	}
	return errors.Join(v.errs...)
}

type validator struct {
	t      *Tree
	errs   []error
	height int
	// lastNull tracks the previous leaf slot for the adjacent-NULL check.
	lastNull bool
	started  bool
}

func (v *validator) errf(format string, args ...any) {
	if len(v.errs) < 20 {
		v.errs = append(v.errs, fmt.Errorf("mapletree: validate: "+format, args...))
	}
}

// node checks n, covering [min, max] at depth d, then its children
// (mas_validate_parent_slot, _limits, _child_slot, _gaps).
func (v *validator) node(n *node, min, max uint64, d int) {
	t := v.t
	if n.dead() {
		v.errf("node %p [%d, %d] is dead", n, min, max)
		return
	}
	mas := State{tree: t, node: n, min: min, max: max, status: StatusActive}
	end := mas.dataEnd()
	if !t.isRoot(n) && end < n.typ.minSlots() {
		v.errf("node %p [%d, %d]: invalid size %d < %d", n, min, max, end, n.typ.minSlots())
	}
	v.parentSlot(n)
	v.limits(&mas)
	if !n.typ.isLeaf() {
		v.childSlots(&mas)
	}
	if t.isAlloc() {
		v.gaps(&mas)
	}
	if n.typ.isLeaf() {
		if v.height == 0 {
			v.height = d + 1
		} else if v.height != d+1 {
			v.errf("leaf %p [%d, %d] at depth %d, others at %d", n, min, max, d+1, v.height)
		}
		return
	}
	lo := min
	for i := uint8(0); i <= end && i < n.typ.slots(); i++ {
		c := n.child(i)
		hi := n.safePivot(i, max)
		if c != nil {
			v.node(c, lo, hi, d+1)
		}
		if hi == max {
			break
		}
		lo = hi + 1
	}
}

// parentSlot models mas_validate_parent_slot.
func (v *validator) parentSlot(n *node) {
	t := v.t
	if t.isRoot(n) {
		return
	}
	if loadParent(n) == nil {
		v.errf("node %p has no parent", n)
		return
	}
	p := n.parentNode()
	ps := t.parentSlot(n)
	if p == n {
		v.errf("node %p is its own parent", n)
		return
	}
	for i := uint8(0); i < p.typ.slots(); i++ {
		c := p.child(i)
		if i == ps && c != n {
			v.errf("parent %p[%d] does not hold %p", p, i, n)
		} else if i != ps && c == n {
			v.errf("node %p also in parent %p[%d], parent slot %d", n, p, i, ps)
		}
	}
}

// limits models mas_validate_limits.
func (v *validator) limits(mas *State) {
	n := mas.node
	typ := n.typ
	var prev uint64
	i := uint8(0)
	for ; i < typ.slots(); i++ {
		piv := n.safePivot(i, mas.max)
		if piv == 0 && i != 0 {
			v.errf("node %p: missing node limit pivot at %d", n, i)
		}
		if prev > piv {
			v.errf("node %p[%d]: pivot %d < previous %d", n, i, piv, prev)
		}
		if piv < mas.min {
			v.errf("node %p[%d]: pivot %d < min %d", n, i, piv, mas.min)
		}
		if piv > mas.max {
			v.errf("node %p[%d]: pivot %d > max %d", n, i, piv, mas.max)
		}
		prev = piv
		if piv == mas.max {
			break
		}
	}
	if end := mas.dataEnd(); end != i {
		v.errf("node %p: data end %d != last slot offset %d", n, end, i)
	}
	for i++; i < typ.slots(); i++ {
		if !n.slotNull(i) && i != typ.slots()-1 {
			v.errf("node %p[%d] should not hold an entry", n, i)
		}
		if i < typ.pivots() && n.pivot[i] != 0 && i < typ.pivots()-1 {
			v.errf("node %p[%d] should not have pivot %d", n, i, n.pivot[i])
		}
	}
}

// childSlots models mas_validate_child_slot.
func (v *validator) childSlots(mas *State) {
	t := v.t
	n := mas.node
	typ := n.typ
	for i := uint8(0); i < typ.slots(); i++ {
		c := n.child(i)
		if c == nil {
			v.errf("non-leaf node %p lacks child at %d", n, i)
			return
		}
		if t.parentSlot(c) != i {
			v.errf("slot error at %p[%d]: child %p has parent slot %d", n, i, c, t.parentSlot(c))
		}
		if t.isRoot(c) || loadParent(c) == nil || c.parentNode() != n {
			v.errf("child %p of %p[%d] has another parent", c, n, i)
		}
		if i < typ.pivots() && n.pivot[i] == mas.max {
			break
		}
	}
}

// gaps models mas_validate_gaps.
func (v *validator) gaps(mas *State) {
	t := v.t
	n := mas.node
	typ := n.typ
	var gap, maxGap uint64
	pStart := mas.min
	isArange := typ == mapleArange64
	i := uint8(0)
	for ; i < typ.slots(); i++ {
		pEnd := n.safePivot(i, mas.max)
		if !isArange {
			if n.slotNull(i) {
				gap = pEnd - pStart + 1
			}
		} else {
			gap = n.gap[i]
			if n.slotNull(i) {
				v.errf("node %p[%d]: internal slot is NULL", n, i)
			}
			if gap > pEnd-pStart+1 {
				v.errf("node %p[%d]: gap %d > range %d", n, i, gap, pEnd-pStart+1)
			}
		}
		if gap > maxGap {
			maxGap = gap
		}
		pStart = pEnd + 1
		if pEnd >= mas.max {
			break
		}
	}
	if isArange {
		off := n.meta.gap
		if off > i {
			v.errf("node %p: gap offset %d is beyond the end %d", n, off, i)
		} else if n.gap[off] != maxGap {
			v.errf("node %p: gap[%d] = %d is not the largest gap %d", n, off, n.gap[off], maxGap)
		}
		for i++; i < typ.slots(); i++ {
			if n.gap[i] != 0 {
				v.errf("node %p: gap[%d] beyond the end is %d", n, i, n.gap[i])
			}
		}
	}
	if t.isRoot(n) || loadParent(n) == nil {
		return
	}
	p := n.parentNode()
	ps := t.parentSlot(n)
	if p.typ == mapleArange64 && p.gap[ps] != maxGap {
		v.errf("parent %p gap[%d] = %d, child %p has %d", p, ps, p.gap[ps], n, maxGap)
	}
}

// nulls models mt_validate_nulls: walk every leaf slot left to right.
func (v *validator) nulls(n *node, max uint64) {
	end := n.dataEnd(max)
	if !n.typ.isLeaf() {
		for i := uint8(0); i <= end; i++ {
			c := n.child(i)
			if c == nil {
				break
			}
			v.nulls(c, n.safePivot(i, max))
		}
		return
	}
	for i := uint8(0); i <= end; i++ {
		null := n.slotNull(i)
		if v.started && v.lastNull && null {
			v.errf("sequential NULLs end at %p[%d]", n, i)
		}
		v.started = true
		v.lastNull = null
	}
}

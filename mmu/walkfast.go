package mmu

import "encoding/binary"

// walkFast is walk with update set and no recording, for the TLB-miss
// path of every access. It does the same checks in the same order, but
// handles only the case where the walk changes nothing: A already set on
// the way, the leaf's A (and D for a write) already set, and rights that
// c.allowed settles. Anything else is handed to walk, which starts over;
// nothing has changed by then, so the outcome is walk's in every case.
// Not-present and reserved-bit faults are reported here: the entries
// passed on the way already had A, so walk would change nothing either.
//
// It finds each next table through the shadow of the current one (see
// tableShadow), so a level costs one dependent load of simulated memory
// rather than a host-cache search and a load. For a 4 KiB leaf it also
// returns the bytes of the page (else data is nil).
func walkFast(pm *PhysMem, c *control, va uint64, acc Access) (pa uint64, leaf PTE, lvl Level, perm tlbPerm, data *[PageSize]byte, f fault) {
	t, sh := c.root, c.rootShadow
	if t == nil || sh == nil {
		pa, leaf, lvl, perm, f = walk(pm, c, va, acc, nil, true)
		return pa, leaf, lvl, perm, nil, f
	}
	lvl = c.mode.Top()
	shift := lvl.Shift()
	all, any := ^PTE(0), PTE(0)
	var e PTE
	var se *shadowEntry
	for {
		i := va >> (shift & 63) & (PtrsPerTable - 1)
		e = PTE(binary.LittleEndian.Uint64(t[i*8:]))
		se = &sh[i]
		isLeaf := e&c.leafBit[lvl&7] != 0
		bad := c.badTable[lvl&7]
		if isLeaf {
			bad = c.badLeaf[lvl&7]
		}
		// One test for both: P clear, or a reserved bit set.
		if (e^PagePresent)&bad != 0 {
			cause := CauseReserved
			if !e.Present() {
				cause = CauseNotPresent
			}
			return 0, 0, 0, 0, nil, c.pageFault(acc, lvl, cause)
		}
		all &= e
		any |= e
		if isLeaf {
			break
		}
		if se.e != e || se.table == nil {
			// Not remembered yet (or the entry changed): remember the
			// path and take the general walk this once. The loop makes
			// no calls, so its values stay in registers.
			return walkRemember(pm, c, va, acc)
		}
		if !e.Accessed() {
			pa, leaf, lvl, perm, f = walk(pm, c, va, acc, nil, true)
			return pa, leaf, lvl, perm, nil, f
		}
		t, sh = se.frame, se.table
		shift -= 9
		lvl--
	}
	// Without NXE an XD bit was a reserved bit above, so here it always
	// means no-execute.
	perm = tlbPerm(all>>2&1 | all&PageRW)
	if any&PageNX == 0 {
		perm |= permExec
	}
	set := PageAccessed
	if acc.IsWrite() {
		set |= PageDirty
	}
	if c.allowed[perm&7]&(1<<(acc&(accessCombos-1))) == 0 || e&set != set {
		pa, leaf, lvl, perm, f = walk(pm, c, va, acc, nil, true)
		return pa, leaf, lvl, perm, nil, f
	}
	if e.Dirty() {
		perm |= permDirty
	}
	if c.pge && e.Global() {
		perm |= permGlobal
	}
	if lvl == LevelPT {
		if se.e != e {
			return walkRemember(pm, c, va, acc)
		}
		data = se.frame
	}
	return e.LeafAddr(lvl) | va&(lvl.Size()-1), e, lvl, perm, data, 0
}

// walkRemember fills the shadows along va's path, then does the general
// walk (which may change A and D, so the leaf is remembered next time).
func walkRemember(pm *PhysMem, c *control, va uint64, acc Access) (pa uint64, leaf PTE, lvl Level, perm tlbPerm, data *[PageSize]byte, f fault) {
	t, sh := c.root, c.rootShadow
	for l := c.mode.Top(); t != nil && sh != nil; l-- {
		i := l.Index(va)
		e := PTE(binary.LittleEndian.Uint64(t[i*8:]))
		if !e.Present() {
			break
		}
		leaf := e.IsLeaf(l)
		if leaf && l != LevelPT {
			break // a large leaf's bytes depend on va: not remembered
		}
		se := &sh[i]
		if se.e != e || (!leaf && se.table == nil) {
			if !pm.remember(se, e, !leaf) {
				break
			}
		}
		if leaf {
			break
		}
		t, sh = se.frame, se.table
	}
	pa, leaf, lvl, perm, f = walk(pm, c, va, acc, nil, true)
	return pa, leaf, lvl, perm, nil, f
}

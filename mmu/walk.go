package mmu

// walk translates the canonical address va for access acc through the
// tables under c's CR3, in the hardware's check order (SDM Vol.3A 4.5-4.8,
// following QEMU's mmu_translate):
//
//  1. from the root down, read the entry; P=0 is a not-present fault;
//  2. a set reserved bit (above MAXPHYADDR, NX without NXE, PS in a PML5E
//     or PML4E, the low bits of a large leaf, PS in a PDPTE without 1 GiB
//     page support) is an RSVD fault;
//  3. a non-leaf entry gets A (when update is set) and the walk descends;
//  4. at the leaf the effective rights (US and RW ANDed, XD ORed over the
//     levels) are checked by control.rights;
//  5. on success the leaf gets A, and D on a write.
//
// Non-leaf A bits set on the way stay set when the walk faults (as in
// QEMU; the SDM leaves it model-specific); a faulting walk never changes
// the leaf. With update clear the walk changes nothing (a dry run for
// tools and checks) and rec reports what would change. rec may be nil.
//
// A successful walk returns the physical address of va, the leaf entry
// after its A/D update, its level (the page size) and perm: the effective
// rights (US, RW, X) as tlbPerm bits, with D from the leaf and G when
// CR4.PGE is set, ready for the TLB. The results travel in registers: as
// a struct they would be stored and reloaded with wide moves that stall
// on the narrow stores. A TLB miss runs walkFast, which hands this walk
// everything but the common case.
func walk(pm *PhysMem, c *control, va uint64, acc Access, rec *WalkResult, update bool) (pa uint64, leaf PTE, lvl Level, perm tlbPerm, f fault) {
	ea := c.rootAddr
	lvl = c.mode.Top()
	shift := lvl.Shift()
	all, any := ^PTE(0), PTE(0) // every entry ANDed (US, RW) and ORed (XD)
	var e PTE
	for {
		ea |= va >> (shift & 63) & (PtrsPerTable - 1) << 3
		v, ok := pm.cached64(ea)
		if !ok {
			v = pm.load64Slow(ea)
		}
		e = PTE(v)
		if rec != nil {
			rec.addStep(lvl, lvl.Index(va), ea, e)
		}
		if !e.Present() {
			return 0, 0, 0, 0, c.pageFault(acc, lvl, CauseNotPresent)
		}
		// A PTE is always a leaf, a PDE or PDPTE when PS is set; PS in a
		// PML4E or PML5E is a reserved bit (in rsvdTable).
		rsvd := c.rsvdTable[lvl&7]
		isLeaf := e&c.leafBit[lvl&7] != 0
		if isLeaf {
			rsvd = c.rsvdLeaf[lvl&7]
		}
		if bad := e & rsvd; bad != 0 {
			if rec != nil {
				rec.Reserved = bad
			}
			return 0, 0, 0, 0, c.pageFault(acc, lvl, CauseReserved)
		}
		all &= e
		any |= e
		if isLeaf {
			break
		}
		if !e.Accessed() {
			if update {
				pm.store64(ea, uint64(e|PageAccessed))
			}
			if rec != nil {
				rec.steps[rec.n-1].SetA = true
			}
		}
		ea = e.Addr()
		shift -= 9
		lvl--
	}
	// The effective rights as tlbPerm bits 0-2: US (bit 2 of an entry) to
	// bit 0, RW stays bit 1, and X unless some level had XD under NXE.
	perm = tlbPerm(all>>2&1 | all&PageRW)
	if !(c.nxe && any.NX()) {
		perm |= permExec
	}
	if rec != nil {
		rec.User, rec.Writable, rec.Executable, rec.Key = all.User(), all.Writable(), perm&permExec != 0, e.Key()
	}
	if c.allowed[perm&7]&(1<<(acc&(accessCombos-1))) == 0 {
		// Not obviously allowed: ask the full check (keys, or a fault).
		if cause := c.rights(all.User(), all.Writable(), perm&permExec != 0, e.Key(), acc); cause != CauseNone {
			return 0, 0, 0, 0, c.pageFault(acc, lvl, cause)
		}
	}
	set := PageAccessed
	if acc.IsWrite() {
		set |= PageDirty
	}
	if e&set != set {
		if rec != nil {
			s := &rec.steps[rec.n-1]
			s.SetA, s.SetD = !e.Accessed(), acc.IsWrite() && !e.Dirty()
		}
		e |= set
		if update {
			pm.store64(ea, uint64(e))
		}
	}
	if e.Dirty() {
		perm |= permDirty
	}
	if c.pge && e.Global() {
		perm |= permGlobal
	}
	size := uint64(1) << (shift & 63)
	pa = e.LeafAddr(lvl) | va&(size-1)
	if rec != nil {
		rec.PA, rec.PageSize = pa, size
	}
	return pa, e, lvl, perm, 0
}

// pageFault builds the #PF for a failed check at level lvl.
func (c *control) pageFault(acc Access, lvl Level, cause Cause) fault {
	return packFault(VecPF, c.errorCode(cause, acc), lvl, cause)
}

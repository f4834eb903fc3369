package mmu

// translation is what a successful walk hands to the TLB and the access.
type translation struct {
	pa       uint64 // physical address of the accessed byte
	level    Level  // level of the leaf: the page size
	entry    PTE    // the leaf, after the A/D update
	entryPA  uint64 // where the leaf lives
	user     bool   // US at every level
	writable bool   // RW at every level
	exec     bool   // XD at no level (or NXE off)
}

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
func walk(pm *PhysMem, c *control, va uint64, acc Access, rec *WalkResult, update bool, out *translation) fault {
	base := c.rootAddr
	all, any := ^PTE(0), PTE(0) // every entry ANDed (US, RW) and ORed (XD)
	lvl := c.mode.Top()
	var e PTE
	var ea uint64
	for {
		ea = base | uint64(lvl.Index(va))<<3
		v, ok := pm.cached64(ea)
		if !ok {
			v = pm.load64Slow(ea)
		}
		e = PTE(v)
		if rec != nil {
			rec.addStep(lvl, lvl.Index(va), ea, e)
		}
		if !e.Present() {
			return c.pageFault(acc, lvl, CauseNotPresent)
		}
		// PS makes a PDE or PDPTE a leaf; in a PML4E or PML5E it is a
		// reserved bit (in rsvdTable).
		isLeaf := lvl == LevelPT || (lvl <= LevelPDPT && e.Huge())
		rsvd := c.rsvdTable[lvl]
		if isLeaf {
			rsvd = c.rsvdLeaf[lvl]
		}
		if bad := e & rsvd; bad != 0 {
			if rec != nil {
				rec.Reserved = bad
			}
			return c.pageFault(acc, lvl, CauseReserved)
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
		base = e.Addr()
		lvl--
	}
	user, writable, exec := all.User(), all.Writable(), !(c.nxe && any.NX())
	if rec != nil {
		rec.User, rec.Writable, rec.Executable, rec.Key = user, writable, exec, e.Key()
	}
	if c.allowed[rightsIndex(user, writable, exec)&7]&(1<<acc) == 0 {
		// Not obviously allowed: ask the full check (keys, or a fault).
		if cause := c.rights(user, writable, exec, e.Key(), acc); cause != CauseNone {
			return c.pageFault(acc, lvl, cause)
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
	size := lvl.Size()
	// Field by field: a composite literal would be built on the stack and
	// copied with wide loads that stall on the narrow stores.
	out.pa, out.level, out.entry, out.entryPA = e.LeafAddr(lvl)|va&(size-1), lvl, e, ea
	out.user, out.writable, out.exec = user, writable, exec
	if rec != nil {
		rec.PA, rec.PageSize = out.pa, size
	}
	return 0
}

// rightsIndex packs effective rights as tlbPerm bits 0-2.
func rightsIndex(user, writable, exec bool) int {
	i := 0
	if user {
		i |= int(permUser)
	}
	if writable {
		i |= int(permWrite)
	}
	if exec {
		i |= int(permExec)
	}
	return i
}

// pageFault builds the #PF for a failed check at level lvl.
func (c *control) pageFault(acc Access, lvl Level, cause Cause) fault {
	return packFault(VecPF, c.errorCode(cause, acc), lvl, cause)
}

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
func walk(pm *PhysMem, c *control, va uint64, acc Access, rec *WalkResult, update bool) (translation, Fault) {
	base := c.rootAddr
	user, writable, nx := true, true, false
	lvl := c.mode.Top()
	var e PTE
	var ea uint64
	for {
		ea = base + uint64(lvl.Index(va))*8
		e = PTE(pm.load64(ea))
		if rec != nil {
			rec.addStep(lvl, lvl.Index(va), ea, e)
		}
		if !e.Present() {
			return translation{}, c.pageFault(va, acc, lvl, CauseNotPresent)
		}
		rsvd := c.rsvd
		isLeaf := false
		switch lvl {
		case LevelPT:
			isLeaf = true
		case LevelPD:
			if e.Huge() {
				isLeaf, rsvd = true, rsvd|largeRsvd2M
			}
		case LevelPDPT:
			if e.Huge() {
				isLeaf = true
				if c.no1G {
					rsvd |= PagePSE
				} else {
					rsvd |= largeRsvd1G
				}
			}
		default:
			rsvd |= PagePSE
		}
		if bad := e & rsvd; bad != 0 {
			if rec != nil {
				rec.Reserved = bad
			}
			return translation{}, c.pageFault(va, acc, lvl, CauseReserved)
		}
		user = user && e.User()
		writable = writable && e.Writable()
		nx = nx || (c.nxe && e.NX())
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
	if rec != nil {
		rec.User, rec.Writable, rec.Executable, rec.Key = user, writable, !nx, e.Key()
	}
	if cause := c.rights(user, writable, !nx, e.Key(), acc); cause != CauseNone {
		return translation{}, c.pageFault(va, acc, lvl, cause)
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
	t := translation{
		pa:    e.LeafAddr(lvl) | va&(size-1),
		level: lvl, entry: e, entryPA: ea,
		user: user, writable: writable, exec: !nx,
	}
	if rec != nil {
		rec.PA, rec.PageSize = t.pa, size
	}
	return t, Fault{}
}

// pageFault builds the #PF for a failed check at level lvl.
func (c *control) pageFault(va uint64, acc Access, lvl Level, cause Cause) Fault {
	return Fault{Vector: VecPF, Code: c.errorCode(cause, acc), Addr: va, Level: lvl, Cause: cause}
}

// generalProtection builds the #GP(0) for a non-canonical address.
func generalProtection(va uint64) Fault {
	return Fault{Vector: VecGP, Addr: va, Cause: CauseNonCanonical}
}

package mmu

// control is the decoded state of the registers the walker consults,
// recomputed whenever one of them changes.
type control struct {
	mode                    PagingMode
	wp, nxe, smep, smap, ac bool
	pke, pks, pge, pcide    bool
	pkru, pkrs              uint32
	no1G, rsvdWithoutP      bool
	rsvd                    PTE         // reserved in every present entry: 51..MAXPHYADDR, and NX without NXE
	rsvdTable               [8]PTE      // reserved bits of an entry pointing to a table, by level (8: indexed by lvl&7)
	rsvdLeaf                [8]PTE      // reserved bits of a leaf, by level
	badTable, badLeaf       [8]PTE      // rsvdTable and rsvdLeaf with P, for walkFast's single test
	leafBit                 [8]PTE      // by level: a present entry with this bit set is a leaf (P for a PTE, PS for a PDE or PDPTE)
	pcid                    uint64      // the current PCID (0 unless CR4.PCIDE)
	fast                    [256]uint16 // indexed by tlbPerm; 256 so no bounds check is needed
	allowed                 [8]uint16   // by US|RW|X (tlbPerm bits 0-2): the accesses the rights allow, keys aside
	rootAddr                uint64
	root                    *[PageSize]byte // host memory of the root table, nil beyond RAM (set by AddressSpace.decode)
	rootShadow              *tableShadow
	maxPhyAddr              uint8
}

// decode fills c from the registers.
func (c *control) decode(r *Regs, maxPhyAddr uint8, no1G, rsvdWithoutP bool) {
	*c = control{
		mode:         FourLevel,
		wp:           r.CR0&CR0WP != 0,
		nxe:          r.EFER&EFERNX != 0,
		smep:         r.CR4&CR4SMEP != 0,
		smap:         r.CR4&CR4SMAP != 0,
		ac:           r.RFLAGS&RFLAGSAC != 0,
		pke:          r.CR4&CR4PKE != 0,
		pks:          r.CR4&CR4PKS != 0,
		pge:          r.CR4&CR4PGE != 0,
		pcide:        r.CR4&CR4PCIDE != 0,
		pkru:         r.PKRU,
		pkrs:         r.PKRS,
		no1G:         no1G,
		rsvdWithoutP: rsvdWithoutP,
		rootAddr:     r.CR3 & CR3AddrMask,
		maxPhyAddr:   maxPhyAddr,
	}
	if r.CR4&CR4LA57 != 0 {
		c.mode = FiveLevel
	}
	if c.pcide {
		c.pcid = r.CR3 & CR3PCIDMask
	}
	c.rsvd = PTE((uint64(1)<<maxPhysBits - 1) &^ (uint64(1)<<maxPhyAddr - 1))
	if !c.nxe {
		c.rsvd |= PageNX
	}
	c.leafBit[LevelPT] = PagePresent
	c.leafBit[LevelPD], c.leafBit[LevelPDPT] = PagePSE, PagePSE
	for l := range c.rsvdTable {
		c.rsvdTable[l], c.rsvdLeaf[l] = c.rsvd, c.rsvd
	}
	c.rsvdTable[LevelPML4] |= PagePSE
	c.rsvdTable[LevelPML5] |= PagePSE
	c.rsvdLeaf[LevelPD] |= largeRsvd2M
	if no1G {
		c.rsvdLeaf[LevelPDPT] |= PagePSE
	} else {
		c.rsvdLeaf[LevelPDPT] |= largeRsvd1G
	}
	for l := range c.badTable {
		c.badTable[l], c.badLeaf[l] = c.rsvdTable[l]|PagePresent, c.rsvdLeaf[l]|PagePresent
	}
	c.buildFast()
}

// rights applies the access-rights checks of SDM Vol.3A 4.6 to a
// translation whose paging entries give the effective user, writable and
// executable bits and the leaf's protection key. The order follows QEMU's
// mmu_translate: a user access to a supervisor address first, then
// protection keys, then SMAP and R/W for data; XD and SMEP for fetches,
// which keys and SMAP never concern. The walker asks c.allowed first and
// calls this only when that table does not settle the access.
func (c *control) rights(user, writable, exec bool, key uint8, acc Access) Cause {
	isUser, isWrite := acc.IsUser(), acc.IsWrite()
	if isUser && !user {
		return CauseUserSuper
	}
	if acc.IsFetch() {
		// Protection keys and SMAP never apply to fetches.
		switch {
		case !exec:
			return CauseNX
		case !isUser && user && c.smep:
			return CauseSMEP
		}
		return CauseNone
	}
	var pkr uint32
	switch {
	case user && c.pke:
		pkr = c.pkru
	case !user && c.pks:
		pkr = c.pkrs
	}
	if bits := pkr >> (2 * key) & 3; bits != 0 {
		// AD denies reads and writes; WD denies writes that R/W would
		// police (user writes, or supervisor writes with CR0.WP).
		if bits&1 != 0 || (isWrite && (isUser || c.wp)) {
			return CausePK
		}
	}
	if !isUser && user && c.smap && (!c.ac || acc&Implicit != 0) {
		return CauseSMAP
	}
	if isWrite && !writable && (isUser || c.wp) {
		return CauseReadOnly
	}
	return CauseNone
}

// errorCode assembles the #PF error code for a failed check (SDM 4.7):
// RSVD and rights faults have P set; W, U and I/D describe the access,
// I/D only when NXE or SMEP is on.
func (c *control) errorCode(cause Cause, acc Access) ErrorCode {
	var code ErrorCode
	switch cause {
	case CauseNotPresent:
	case CauseReserved:
		code = PFRsvd
		if !c.rsvdWithoutP {
			code |= PFProt
		}
	case CausePK:
		code = PFPK | PFProt
	default:
		code = PFProt
	}
	if acc.IsWrite() {
		code |= PFWrite
	}
	if acc.IsUser() {
		code |= PFUser
	}
	if acc.IsFetch() && (c.nxe || c.smep) {
		code |= PFInstr
	}
	return code
}

// buildFast precomputes, for every combination of cached permission bits,
// the set of accesses a TLB hit may serve without further checks (none for
// an empty entry). Writes
// need a cached D bit (else the walk must set D). With protection keys on,
// the key decides, so data accesses take the slow path.
func (c *control) buildFast() {
	for p := range c.allowed {
		var ok uint16
		for a := range Access(accessCombos) {
			if !(a.IsWrite() && a.IsFetch()) && !c.pke && !c.pks &&
				c.rights(p&int(permUser) != 0, p&int(permWrite) != 0, p&int(permExec) != 0, 0, a) == CauseNone {
				ok |= 1 << a
			}
		}
		c.allowed[p] = ok
	}
	for p := range tlbPermCombos {
		perm := tlbPerm(p)
		var ok uint16
		if perm&permValid == 0 {
			c.fast[p] = 0
			continue
		}
		for a := range Access(accessCombos) {
			if a.IsWrite() && a.IsFetch() {
				continue
			}
			if a.IsWrite() && perm&permDirty == 0 {
				continue
			}
			if (c.pke || c.pks) && !a.IsFetch() {
				continue
			}
			if c.rights(perm&permUser != 0, perm&permWrite != 0, perm&permExec != 0, 0, a) == CauseNone {
				ok |= 1 << a
			}
		}
		c.fast[p] = ok
	}
}

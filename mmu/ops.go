package mmu

import (
	"errors"
	"iter"

	"github.com/arenasim/arenasim/internal/errno"
)

// Leaf is a page-table entry that maps a page (or is a non-present entry
// at a leaf position, such as a PROT_NONE or swap entry).
type Leaf struct {
	VA        uint64 // the first address the entry maps
	Entry     PTE
	Level     Level  // LevelPT for 4 KiB, LevelPD for 2 MiB, LevelPDPT for 1 GiB
	EntryAddr uint64 // physical address of the entry
}

// Size returns the number of bytes the entry maps.
func (l Leaf) Size() uint64 { return l.Level.Size() }

// PhysAddr returns the physical address va translates to through the leaf
// (va must lie in [l.VA, l.VA+l.Size())).
func (l Leaf) PhysAddr(va uint64) uint64 { return l.Entry.LeafAddr(l.Level) | va&(l.Size()-1) }

// mapVisitor installs leaves: a contiguous physical range, or a list of
// frames. It models vmap_range_noflush / vmap_pages_range_noflush
// (mm/vmalloc.c), including their refusal to overwrite an entry.
type mapVisitor struct {
	walkPolicy
	pt    *PageTable
	start uint64
	pa    uint64
	pfns  []PFN
	prot  PTE
	huge  bool
}

func (m *mapVisitor) physFor(va uint64) uint64 {
	if m.pfns != nil {
		return m.pfns[(va-m.start)>>PageShift].Addr()
	}
	return m.pa + (va - m.start)
}

func (m *mapVisitor) leafHere(va uint64, l Level) bool {
	return m.huge && l.CanBeLeaf() && m.physFor(va)&(l.Size()-1) == 0
}

func (m *mapVisitor) visit(va, _ uint64, r entryRef, l Level) error {
	if e := r.load(); !e.None() {
		return errno.Errorf(errno.EBUSY, "mmu: map 0x%x: %s already set (%v)", va, l.EntryName(), e)
	}
	prot := m.prot
	if l > LevelPT {
		// prot is in 4 KiB form; a large leaf has PS in bit 7 and PAT in
		// bit 12 (pgprot_4k_2_large).
		prot = prot&^PagePAT | PagePSE
		if m.prot&PagePAT != 0 {
			prot |= PagePATLarge
		}
	}
	m.pt.set(r, va, l, PTE(m.physFor(va))|prot)
	return nil
}

// Map maps [va, va+size) to the physical range at pa with 4 KiB leaves
// carrying the protection prot (for example PageKernel or PageShared;
// always in 4 KiB form, where bit 7 is PAT),
// allocating intermediate tables as needed. va, size and pa must be
// page-aligned, size > 0, the range canonical and in one half, and prot
// free of address bits. A slot already in use (any non-zero entry, or a
// large leaf over the range) fails with EBUSY; a table allocation failure
// fails with ENOMEM. Either way the pages before the failure stay mapped,
// as in the kernel: undoing them is the caller's choice. No TLB entry is
// touched: mapping a not-present slot needs no flush.
func (pt *PageTable) Map(va, size, pa uint64, prot PTE) error {
	return pt.mapRange("map", va, size, mapVisitor{start: va, pa: pa, prot: prot})
}

// MapHuge is Map using 2 MiB and 1 GiB leaves wherever the range and pa
// are aligned for them (4 KiB leaves elsewhere), as vmap_range does for
// huge ioremap. A CPU without 1 GiB pages faults on the 1 GiB leaves.
func (pt *PageTable) MapHuge(va, size, pa uint64, prot PTE) error {
	return pt.mapRange("map", va, size, mapVisitor{start: va, pa: pa, prot: prot, huge: true})
}

// MapPages maps len(pfns) pages at va, page i to frame pfns[i], with the
// same rules as Map. It models vmap_pages_range_noflush; the NULL-page
// check of the kernel is the caller's (a PFN has no NULL).
func (pt *PageTable) MapPages(va uint64, pfns []PFN, prot PTE) error {
	return pt.mapRange("map", va, uint64(len(pfns))<<PageShift, mapVisitor{start: va, pfns: pfns, prot: prot})
}

// MapPage maps the single 4 KiB page at va to frame pfn.
func (pt *PageTable) MapPage(va uint64, pfn PFN, prot PTE) error {
	return pt.mapRange("map", va, PageSize, mapVisitor{start: va, pa: pfn.Addr(), prot: prot})
}

// mapRange checks the range and runs the map visitor m (its policy and
// page table filled in here) over it.
func (pt *PageTable) mapRange(op string, va, size uint64, m mapVisitor) error {
	last, err := pt.checkRange(op, va, size, true)
	if err != nil {
		return err
	}
	if m.prot&PTEPFNMask != 0 {
		return errno.Errorf(errno.EINVAL, "mmu: %s 0x%x: protection %#x has address bits", op, va, uint64(m.prot))
	}
	if m.pfns == nil && (m.pa&pageOffsetMask != 0 || m.pa+size-1 < m.pa || m.pa+size-1 > uint64(PTEPFNMask|pageOffsetMask)) {
		return errno.Errorf(errno.EINVAL, "mmu: %s 0x%x: physical range 0x%x+0x%x is not page-aligned or too high", op, va, m.pa, size)
	}
	v := &pt.scratch.mapV
	if pt.take() {
		defer pt.release()
	} else {
		v = new(mapVisitor) // the scratch one is in use
	}
	*v = m
	v.walkPolicy, v.pt = walkPolicy{stop: LevelPT, alloc: true}, pt
	return pt.walkRange(va, last, v)
}

// unmapVisitor clears leaves, telling fn about each one first.
type unmapVisitor struct {
	walkPolicy
	pt *PageTable
	fn func(Leaf)
}

func (u *unmapVisitor) visit(va, _ uint64, r entryRef, l Level) error {
	e := r.load()
	if e.None() {
		return nil
	}
	if u.fn != nil {
		u.fn(Leaf{VA: va &^ (l.Size() - 1), Entry: e, Level: l, EntryAddr: r.pa})
	}
	u.pt.clear(r, va, l)
	return nil
}

// Unmap clears every leaf in [va, va+size), present or not, calling fn (if
// not nil) with each before it goes, so the caller can drop references as
// zap_pte_range does. A large leaf only partly inside the range is split
// first, which allocates a table and can fail with ENOMEM. Under the
// FreeEmptyTables policy the tables left empty are freed. Nothing is
// flushed from any TLB: that is the caller's job, and until it does it,
// stale translations stay usable. It models vunmap_range_noflush and the
// page-table half of zap_page_range_single.
func (pt *PageTable) Unmap(va, size uint64, fn func(Leaf)) error {
	last, err := pt.checkRange("unmap", va, size, true)
	if err != nil {
		return err
	}
	v := &pt.scratch.unmapV
	if pt.take() {
		defer pt.release()
	} else {
		v = new(unmapVisitor) // the scratch one is in use
	}
	*v = unmapVisitor{walkPolicy: walkPolicy{stop: LevelPT, split: true, empties: true}, pt: pt, fn: fn}
	return pt.walkRange(va, last, v)
}

// protectVisitor rewrites the protection of present leaves.
type protectVisitor struct {
	walkPolicy
	pt   *PageTable
	prot PTE
}

func (p *protectVisitor) visit(va, _ uint64, r entryRef, l Level) error {
	e := r.load()
	if e&(PagePresent|PageProtNone) == 0 {
		return nil
	}
	var n PTE
	if l == LevelPT {
		n = e&PageChgMask | p.prot&^PageChgMask
	} else {
		n = e&HPageChgMask | p.prot&^HPageChgMask | PagePSE
	}
	if n != e {
		p.pt.set(r, va, l, n)
	}
	return nil
}

// Protect gives every present leaf in [va, va+size) the protection prot,
// keeping its frame, A, D and caching bits, as change_pte_range does with
// pte_modify; PROT_NONE entries (P clear, PROTNONE set) count as present,
// as they do for Linux. Large leaves partly inside the range are split
// (ENOMEM possible). No TLB entry is touched: reducing rights without a
// flush leaves stale, more permissive translations in use.
func (pt *PageTable) Protect(va, size uint64, prot PTE) error {
	last, err := pt.checkRange("protect", va, size, true)
	if err != nil {
		return err
	}
	if prot&PTEPFNMask != 0 {
		return errno.Errorf(errno.EINVAL, "mmu: protect 0x%x: protection %#x has address bits", va, uint64(prot))
	}
	return pt.walkRange(va, last, &protectVisitor{walkPolicy: walkPolicy{stop: LevelPT, split: true}, pt: pt, prot: prot})
}

// leafVisitor reports the non-none leaves of a range to yield.
type leafVisitor struct {
	walkPolicy
	yield func(Leaf) bool
}

var errStop = errors.New("stop")

func (v *leafVisitor) visit(va, _ uint64, r entryRef, l Level) error {
	e := r.load()
	if e.None() {
		return nil
	}
	if !v.yield(Leaf{VA: va &^ (l.Size() - 1), Entry: e, Level: l, EntryAddr: r.pa}) {
		return errStop
	}
	return nil
}

// Leaves yields every non-none leaf entry overlapping [start, end) in
// address order, reading the tables as software does (no A/D changes, no
// reserved-bit checks). end 0 means the end of start's half.
func (pt *PageTable) Leaves(start, end uint64) iter.Seq[Leaf] {
	return func(yield func(Leaf) bool) {
		start &^= pageOffsetMask
		last := end - 1
		if end == 0 {
			last = ^uint64(0)
			if !kernelHalf(start) {
				last = 1<<(pt.mode.VABits()-1) - 1
			}
		}
		if !pt.mode.Canonical(start) || !pt.mode.Canonical(last) || last < start || kernelHalf(start) != kernelHalf(last) {
			return
		}
		_ = pt.walkRange(start, last, &leafVisitor{walkPolicy: walkPolicy{stop: LevelPT}, yield: yield})
	}
}

// findVisitor records the first non-none leaf of a range.
type findVisitor struct {
	walkPolicy
	leaf  Leaf
	found bool
}

func (v *findVisitor) visit(va, _ uint64, r entryRef, l Level) error {
	if e := r.load(); !e.None() {
		v.leaf, v.found = Leaf{VA: va &^ (l.Size() - 1), Entry: e, Level: l, EntryAddr: r.pa}, true
		return errStop
	}
	return nil
}

// Lookup returns the leaf mapping va, if a software walk finds one: a
// present 4 KiB PTE or large leaf. A non-present leaf that is not none (a
// PROT_NONE or swap entry) is returned with false. It is what
// vmalloc_to_page and follow_pte do (mm/vmalloc.c, mm/memory.c), and
// allocates nothing.
func (pt *PageTable) Lookup(va uint64) (Leaf, bool) {
	if !pt.mode.Canonical(va) {
		return Leaf{}, false
	}
	v := &pt.scratch.findV
	if pt.take() {
		defer pt.release()
	} else {
		v = new(findVisitor) // the scratch one is in use
	}
	v.walkPolicy = walkPolicy{stop: LevelPT}
	page := va &^ pageOffsetMask
	_ = pt.walkRange(page, page+pageOffsetMask, v)
	return v.leaf, v.found && v.leaf.Entry.Present()
}

// preallocVisitor makes sure the tables down to a level exist. It stops
// one level above them and allocates each missing one at the entry that
// points to it, so the walk never steps through the new tables' entries.
type preallocVisitor struct {
	walkPolicy
	pt *PageTable
}

func (p *preallocVisitor) visit(va, _ uint64, r entryRef, lvl Level) error {
	e := r.load()
	if lvl != p.stop || e.Present() || (lvl.CanBeLeaf() && e.Huge()) {
		return nil // a large leaf above the tables, or the table is there
	}
	if !e.None() {
		return errno.Errorf(errno.EBUSY, "mmu: bad %s 0x%x for 0x%x", lvl.EntryName(), uint64(e), va)
	}
	child, err := p.pt.allocTable(lvl-1, va)
	if err != nil {
		return err
	}
	p.pt.set(r, va, lvl, NewPTE(child, PageTableBits))
	return nil
}

// AllocTables allocates every missing table that entries of level l over
// [start, end) live in, without installing any leaf: with l = LevelPT the
// range gets its page tables, as the pte_alloc chain of
// apply_to_page_range or vmap_pages_pte_range does before it looks at a
// page. Existing large leaves are left alone. start and end are rounded
// out to whole pages. Tables allocated before an ENOMEM stay.
func (pt *PageTable) AllocTables(start, end uint64, l Level) error {
	start &^= pageOffsetMask
	end = (end + pageOffsetMask) &^ pageOffsetMask
	last, err := pt.checkRange("alloc tables", start, end-start, true)
	if err != nil {
		return err
	}
	if l < LevelPT || l >= pt.mode.Top() {
		return errno.Errorf(errno.EINVAL, "mmu: alloc tables: level %v is not below the root", l)
	}
	v := &pt.scratch.tablesV
	if pt.take() {
		defer pt.release()
	} else {
		v = new(preallocVisitor) // the scratch one is in use
	}
	v.walkPolicy, v.pt = walkPolicy{stop: l + 1, alloc: true}, pt
	return pt.walkRange(start, last, v)
}

// Preallocate allocates, for every root entry that [start, end) touches,
// the table one level below the root, so that later mappings in the range
// never change the root and every process table that copied the kernel
// half sees them. It models preallocate_vmalloc_pages
// (arch/x86/mm/init_64.c): the pud tables in 4-level paging, the p4d
// tables in 5-level.
func (pt *PageTable) Preallocate(start, end uint64) error {
	return pt.AllocTables(start, end, pt.mode.Top()-1)
}

package mmu

import (
	"errors"
	"fmt"
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
	"pgregory.net/rapid"
)

// flatPageMap is the reference model: what every 4 KiB virtual page maps,
// in one flat map, with no tables, no TLB and no large pages. Map, Unmap
// and Protect change it page by page in address order; accesses are
// judged by refOutcome, written straight from the SDM's rules.
type flatPageMap map[uint64]refPage

type refPage struct {
	pfn  PFN
	prot PTE // the leaf's non-address bits, without A and D (the CPU changes those)
}

// The data frames mapped by the model tests sit in a region the allocator
// never reaches (it only hands out table frames from 1 MiB up).
const (
	dataBase   = 0x40000000 // 1 GiB
	dataFrames = 1024
	adMask     = PageAccessed | PageDirty
)

// rigSlots are the virtual regions the ops aim at: page boundaries of
// every level, both ends of both halves, and the non-canonical hole.
func rigSlots() []uint64 {
	return []uint64{
		0x0000000000400000,
		0x00007f0000000000 - 8*PageSize, // crosses a PML4 boundary
		0x00007ffffffff000 - 7*PageSize, // the top of the 4-level user half, then the hole
		0x00fffffffffff000 - 7*PageSize, // the top of the 5-level user half
		0xffffc90000000000,              // vmalloc
		0xfffffffffffff000 - 7*PageSize, // the top of the address space
		0xff00000000000000,              // the bottom of the 5-level kernel half
		0x00007f0000000000 - PMDSize,    // 2 MiB below a PML4 boundary
	}
}

func rigProts() []PTE {
	return []PTE{
		PageShared, PageReadonly, PageSharedExec, PageReadonlyExec,
		PageKernel, PageKernelRO, PageKernelExec, PageNone, PageShared | PageGlobal,
	}
}

func rigAccesses() []Access {
	return []Access{Read, Write, Fetch, User, User | Write, User | Fetch, Implicit, Implicit | Write}
}

// rig runs operations on a real page table and address space and on the
// reference, and checks that they agree.
type rig struct {
	mode       PagingMode
	freeTables bool
	pm         *PhysMem
	pt         *PageTable
	as         *AddressSpace
	ref        flatPageMap
	mem        map[PFN]*[PageSize]byte // reference contents of the data frames

	wp, smap, smep, ac, nxe bool

	sloppy bool // software skipped a flush; outcomes are not compared until FlushAll
	// blindStore: while sloppy, a store may have gone through a stale
	// translation, so the reference no longer knows the data frames'
	// contents; they are read back from memory when software flushes.
	blindStore bool
	injected   bool // an allocation failure was injected
	changed    bool // the tables changed since the last full comparison
	steps      int
	fatalf     func(format string, args ...any)
}

func newRig(mode PagingMode, freeTables bool, fatalf func(string, ...any)) *rig {
	pm, err := NewPhysMem(PhysMemConfig{Size: 2 << 30})
	if err != nil {
		fatalf("%v", err)
	}
	pt, err := NewPageTable(pm, PageTableConfig{Mode: mode, FreeEmptyTables: freeTables})
	if err != nil {
		fatalf("%v", err)
	}
	// A small TLB: evictions happen, and the stale check is cheap.
	tlb, err := NewTLB(64)
	if err != nil {
		fatalf("%v", err)
	}
	as, err := NewAddressSpace(pt, AddressSpaceConfig{TLB: tlb})
	if err != nil {
		fatalf("%v", err)
	}
	return &rig{
		mode: mode, freeTables: freeTables, pm: pm, pt: pt, as: as,
		ref: flatPageMap{}, mem: map[PFN]*[PageSize]byte{},
		wp: true, smap: true, smep: true, nxe: true, fatalf: fatalf,
	}
}

func (r *rig) failf(format string, args ...any) {
	r.fatalf("step %d (%v, free tables %v): %s", r.steps, r.mode, r.freeTables, fmt.Sprintf(format, args...))
}

// validRange is the reference's range rule: canonical at both ends and in
// one half.
func (r *rig) validRange(va, size uint64) bool {
	last := va + size - 1
	return last > va && r.mode.Canonical(va) && r.mode.Canonical(last) && va>>63 == last>>63
}

func slotVA(slot, page int) uint64 {
	s := rigSlots()
	return s[slot%len(s)] + uint64(page)*PageSize
}

// mapPages maps n pages at va to the data frames from frame; huge maps
// the 2 MiB around va with one large leaf (or 512 small ones where a
// table is already in place).
func (r *rig) mapPages(va uint64, n int, frame int, prot PTE, huge bool) {
	r.changed = true
	size := uint64(n) * PageSize
	pa := uint64(dataBase + frame%dataFrames*PageSize)
	var err error
	if huge {
		va &^= PMDSize - 1
		size = PMDSize
		pa = dataBase + uint64(frame%2)*PMDSize
		err = r.pt.MapHuge(va, size, pa, prot)
	} else {
		err = r.pt.Map(va, size, pa, prot)
	}
	if !r.validRange(va, size) {
		r.expectErr(err, errno.EINVAL, "map 0x%x+0x%x", va, size)
		return
	}
	for off := uint64(0); off < size; off += PageSize {
		page := va + off
		want := refPage{pfn: PhysPFN(pa + off), prot: prot &^ adMask}
		if _, busy := r.ref[page]; busy {
			r.expectErr(err, errno.EBUSY, "map 0x%x+0x%x over 0x%x", va, size, page)
			return
		}
		if errors.Is(err, errno.ENOMEM) && r.injected {
			// No rollback: a prefix of the pages is mapped.
			if _, ok := r.leafAt(page); !ok {
				return
			}
		}
		r.ref[page] = want
	}
	if err != nil {
		r.failf("map 0x%x+0x%x: %v", va, size, err)
	}
}

func (r *rig) expectErr(err error, want errno.Errno, format string, args ...any) {
	if !errors.Is(err, want) && !(r.injected && errors.Is(err, errno.ENOMEM)) {
		r.failf("%s: got %v, want %v", fmt.Sprintf(format, args...), err, want)
	}
}

// unmapPages unmaps n pages at va, flushing unless sloppy.
func (r *rig) unmapPages(va uint64, n int, flush bool) {
	r.changed = true
	size := uint64(n) * PageSize
	var cleared uint64
	err := r.pt.Unmap(va, size, func(l Leaf) {
		lo, last := max(l.VA, va), min(l.VA+l.Size()-1, va+size-1) // inclusive: the range may end at 2^64
		cleared += (last-lo)/PageSize + 1
	})
	if !r.validRange(va, size) {
		r.expectErr(err, errno.EINVAL, "unmap 0x%x+0x%x", va, size)
		return
	}
	removed := uint64(0)
	for off := uint64(0); off < size; off += PageSize {
		page := va + off
		if _, ok := r.ref[page]; !ok {
			continue
		}
		if err != nil && r.injected {
			if _, still := r.leafAt(page); still {
				break // the split before this page failed
			}
		}
		delete(r.ref, page)
		removed++
	}
	if err != nil && !(r.injected && errors.Is(err, errno.ENOMEM)) {
		r.failf("unmap 0x%x+0x%x: %v", va, size, err)
	}
	if err == nil && cleared != removed {
		r.failf("unmap 0x%x+0x%x reported %d pages, the reference had %d", va, size, cleared, removed)
	}
	r.flush(va, size, flush)
}

// protectPages gives n pages at va protection prot, flushing unless sloppy.
func (r *rig) protectPages(va uint64, n int, prot PTE, flush bool) {
	r.changed = true
	size := uint64(n) * PageSize
	err := r.pt.Protect(va, size, prot)
	if !r.validRange(va, size) {
		r.expectErr(err, errno.EINVAL, "protect 0x%x+0x%x", va, size)
		return
	}
	if err != nil && !(r.injected && errors.Is(err, errno.ENOMEM)) {
		r.failf("protect 0x%x+0x%x: %v", va, size, err)
	}
	for off := uint64(0); off < size; off += PageSize {
		if p, ok := r.ref[va+off]; ok {
			if l, _ := r.leafAt(va + off); err != nil && leafProt(l)&^adMask != prot&^adMask {
				continue // not reached before the failure
			}
			r.ref[va+off] = refPage{pfn: p.pfn, prot: prot &^ adMask}
		}
	}
	r.flush(va, size, flush)
}

func (r *rig) flush(va, size uint64, flush bool) {
	if flush {
		r.as.InvlpgRange(va, va+size)
	} else {
		r.sloppy = true
	}
}

// leafAt returns the leaf mapping page (present or not), from the real
// tables.
func (r *rig) leafAt(page uint64) (Leaf, bool) {
	for l := range r.pt.Leaves(page, page+PageSize) {
		return l, true
	}
	return Leaf{}, false
}

// leafProt returns a leaf's protection bits as the reference keeps them.
func leafProt(l Leaf) PTE {
	prot := l.Entry & protMask
	if l.Level > LevelPT {
		prot &^= PagePSE
	}
	return prot
}

// refOutcome decides one page's part of an access from the SDM's rules:
// the reference for the walker and the TLB.
func (r *rig) refOutcome(va uint64, acc Access) Fault {
	if !r.mode.Canonical(va) {
		return Fault{Vector: VecGP, Addr: va, Cause: CauseNonCanonical}
	}
	var code ErrorCode
	if acc.IsWrite() {
		code |= PFWrite
	}
	if acc.IsUser() {
		code |= PFUser
	}
	if acc.IsFetch() && (r.nxe || r.smep) {
		code |= PFInstr
	}
	p, ok := r.ref[va&^pageOffsetMask]
	if !ok || p.prot&PagePresent == 0 {
		return Fault{Vector: VecPF, Code: code, Addr: va}
	}
	if !r.nxe && p.prot&PageNX != 0 {
		return Fault{Vector: VecPF, Code: code | PFRsvd | PFProt, Addr: va}
	}
	user, writable, exec := p.prot&PageUser != 0, p.prot&PageRW != 0, !(r.nxe && p.prot&PageNX != 0)
	var denied bool
	switch {
	case acc.IsUser() && !user:
		denied = true
	case acc.IsFetch():
		denied = !exec || (!acc.IsUser() && user && r.smep)
	default:
		smap := !acc.IsUser() && user && r.smap && (!r.ac || acc&Implicit != 0)
		readOnly := acc.IsWrite() && !writable && (acc.IsUser() || r.wp)
		denied = smap || readOnly
	}
	if denied {
		return Fault{Vector: VecPF, Code: code | PFProt, Addr: va}
	}
	return Fault{}
}

// access runs one load or store and compares it with the reference.
func (r *rig) access(va uint64, size int, acc Access, store bool, val uint64) {
	if store {
		acc = acc&^Fetch | Write
	} else {
		acc &^= Write
	}
	var want Fault
	for i := range size {
		a := va + uint64(i)
		if i == 0 || a&pageOffsetMask == 0 {
			if want = r.refOutcome(a, acc); want.Faulted() {
				break
			}
		}
	}
	// While software is sloppy, an access whose pages have no stale TLB
	// entry still translates through the tables and is judged in full.
	blind := r.sloppy && r.staleFor(va, size)
	var got Fault
	var v uint64
	if store {
		got = r.as.Store(va, size, val, acc)
	} else {
		v, got = r.as.Load(va, size, acc)
	}
	if blind {
		// A stale translation may be in use: only "no panic" counts.
		r.blindStore = r.blindStore || (store && !got.Faulted())
		return
	}
	if got.Vector != want.Vector || got.Code != want.Code || (got.Faulted() && got.Addr != want.Addr) {
		r.failf("%v of %d at 0x%x: got %v, want %v\n%v", acc, size, va, got, want, r.walkOf(want.Addr, acc))
	}
	if got.Vector == VecPF && r.as.Regs().CR2 != want.Addr {
		r.failf("CR2 0x%x, want 0x%x", r.as.Regs().CR2, want.Addr)
	}
	if got.Faulted() {
		return
	}
	for i := range size {
		a := va + uint64(i)
		p := r.ref[a&^pageOffsetMask]
		frame := r.mem[p.pfn]
		if frame == nil {
			frame = new([PageSize]byte)
			r.mem[p.pfn] = frame
		}
		if store {
			frame[a&pageOffsetMask] = byte(val >> (8 * i))
		} else if b := byte(v >> (8 * i)); b != frame[a&pageOffsetMask] {
			r.failf("load of %d at 0x%x: byte %d is 0x%x, want 0x%x", size, va, i, b, frame[a&pageOffsetMask])
		}
	}
}

// staleFor reports whether the TLB holds a stale entry for a page of
// [va, va+size).
func (r *rig) staleFor(va uint64, size int) bool {
	first, last := va&^pageOffsetMask, (va+uint64(size)-1)&^pageOffsetMask
	for _, s := range r.as.StaleTLBEntries() {
		if s.Entry.VA == first || s.Entry.VA == last {
			return true
		}
	}
	return false
}

// endSloppy: software flushed, outcomes are compared again. If a store
// may have used a stale translation, the reference takes the data frames'
// contents from memory.
func (r *rig) endSloppy() {
	r.sloppy = false
	if !r.blindStore {
		return
	}
	r.blindStore = false
	for i := range PFN(dataFrames) {
		pfn := PhysPFN(dataBase) + i
		if f := r.pm.peek(pfn); f != nil {
			c := *f
			r.mem[pfn] = &c
		}
	}
}

func (r *rig) walkOf(va uint64, acc Access) string {
	w := r.as.Walk(va, acc)
	return w.String()
}

// setReg flips one control bit, as the kernel might.
func (r *rig) setReg(which int) {
	cr4 := r.as.Regs().CR4
	switch which % 7 {
	case 0:
		r.wp = !r.wp
		r.as.SetCR0(r.as.Regs().CR0 ^ CR0WP)
	case 1:
		r.smap = !r.smap
		r.mustCR4(cr4 ^ CR4SMAP)
	case 2:
		r.smep = !r.smep
		r.mustCR4(cr4 ^ CR4SMEP)
	case 3:
		r.ac = !r.ac
		r.as.SetAC(r.ac)
	case 4:
		// Entries cached under the old NXE meaning are flushed, as software
		// must after changing what bit 63 means.
		r.nxe = !r.nxe
		r.as.SetEFER(r.as.Regs().EFER ^ EFERNX)
		r.as.FlushAll()
		r.endSloppy()
	case 5:
		r.mustCR4(cr4 ^ CR4PGE) // flushes everything
		r.endSloppy()
	case 6:
		r.as.LoadCR3(r.pt.Root().Addr())
	}
}

func (r *rig) mustCR4(v CR4) {
	if err := r.as.SetCR4(v); err != nil {
		r.failf("SetCR4(%v): %v", v, err)
	}
}

func (r *rig) flushAll() {
	r.as.FlushAll()
	r.endSloppy()
}

// check verifies the invariants after every step.
func (r *rig) check() {
	r.steps++
	if !r.sloppy {
		if stale := r.as.StaleTLBEntries(); len(stale) > 0 {
			r.failf("stale TLB entries although software flushed: %v", stale)
		}
	}
	if !r.changed {
		return // only A and D bits changed, which the reference ignores
	}
	r.changed = false
	// Every page the tables map is in the reference with the same frame
	// and protection, and no reference page is missing.
	pages := 0
	for _, start := range []uint64{0, ^uint64(0) << (r.mode.VABits() - 1)} {
		for l := range r.pt.Leaves(start, 0) {
			for off := uint64(0); off < l.Size(); off += PageSize {
				want, ok := r.ref[l.VA+off]
				if !ok || PhysPFN(l.PhysAddr(l.VA+off)) != want.pfn || leafProt(l)&^adMask != want.prot {
					r.failf("page 0x%x: tables have %v (%v), reference %v %v (%v)", l.VA+off, l.Entry, l.Level, want.pfn, want.prot, ok)
				}
				pages++
			}
		}
	}
	if pages != len(r.ref) {
		r.failf("tables map %d pages, reference %d", pages, len(r.ref))
	}
	tables := 0
	for pfn, p := range r.pm.AllocatedFrames() {
		if p.Flags&PGTable == 0 || p.Refcount != 1 {
			r.failf("allocated frame %v is %v, not a page table", pfn, p)
		}
		tables++
	}
	if tables != r.pt.TableFrames() {
		r.failf("%d table frames allocated, page table owns %d", tables, r.pt.TableFrames())
	}
	if r.freeTables && !r.injected {
		r.checkNoEmptyTables(r.pt.Root(), r.mode.Top())
	}
}

// checkNoEmptyTables: under the FreeEmptyTables policy no table below the
// root is empty, except those hanging off kernel-half root entries.
func (r *rig) checkNoEmptyTables(table PFN, l Level) {
	t := r.pm.peek(table)
	if t == nil {
		return
	}
	for i := range PtrsPerTable {
		e := entryRef{table: t, idx: i}.load()
		if !e.Present() || e.IsLeaf(l) {
			continue
		}
		if r.pt.tableEmpty(e.PFN()) && !(l == r.mode.Top() && i >= PtrsPerTable/2) {
			r.failf("empty %v table %v left under %v[%d]", l-1, e.PFN(), l, i)
		}
		r.checkNoEmptyTables(e.PFN(), l-1)
	}
}

// TestModel runs random operations against the flat reference with
// pgregory.net/rapid: translation, fault and error code, CR2 and data
// agree after every step, the TLB holds nothing stale, and every frame is
// accounted for.
func TestModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		mode := rapid.SampledFrom([]PagingMode{FourLevel, FiveLevel}).Draw(t, "mode")
		r := newRig(mode, rapid.Bool().Draw(t, "freeTables"), t.Fatalf)
		slot := rapid.IntRange(0, len(rigSlots())-1)
		page := rapid.IntRange(0, 17)
		pages := rapid.IntRange(1, 4)
		prot := rapid.SampledFrom(rigProts())
		t.Repeat(map[string]func(*rapid.T){
			"map": func(t *rapid.T) {
				r.mapPages(slotVA(slot.Draw(t, "slot"), page.Draw(t, "page")), pages.Draw(t, "n"),
					rapid.IntRange(0, dataFrames-1).Draw(t, "frame"), prot.Draw(t, "prot"), false)
			},
			"mapHuge": func(t *rapid.T) {
				if rapid.IntRange(0, 3).Draw(t, "rarely") == 0 {
					r.mapPages(slotVA(slot.Draw(t, "slot"), 0), pages.Draw(t, "n"), rapid.IntRange(0, 1).Draw(t, "frame"), prot.Draw(t, "prot"), true)
				}
			},
			"unmap": func(t *rapid.T) {
				r.unmapPages(slotVA(slot.Draw(t, "slot"), page.Draw(t, "page")), pages.Draw(t, "n"), true)
			},
			"protect": func(t *rapid.T) {
				r.protectPages(slotVA(slot.Draw(t, "slot"), page.Draw(t, "page")), pages.Draw(t, "n"), prot.Draw(t, "prot"), true)
			},
			"access": func(t *rapid.T) {
				va := slotVA(slot.Draw(t, "slot"), page.Draw(t, "page")) +
					rapid.SampledFrom([]uint64{0, 8, 0x234, 0xffc, 0xffe, 0xfff}).Draw(t, "off")
				r.access(va, rapid.SampledFrom([]int{1, 2, 4, 8}).Draw(t, "size"), rapid.SampledFrom(rigAccesses()).Draw(t, "acc"),
					rapid.Bool().Draw(t, "store"), rapid.Uint64().Draw(t, "val"))
			},
			"reg": func(t *rapid.T) { r.setReg(rapid.IntRange(0, 6).Draw(t, "reg")) },
			"":    func(*rapid.T) { r.check() },
		})
	})
}

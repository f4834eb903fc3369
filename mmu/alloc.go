package mmu

import (
	"fmt"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/internal/trace"
)

// AllocRequest describes one frame allocation to a FailHook.
type AllocRequest struct {
	Seq  uint64 // 1 for the first allocation this PhysMem was asked for
	Site string // who allocates: "alloc_page", "pte_alloc", "pmd_alloc", ...
	GFP  GFP
}

// FailHook decides whether an allocation fails with ENOMEM, as the
// kernel's fail_page_alloc fault injection does. It is not consulted for
// __GFP_NOFAIL allocations.
type FailHook func(AllocRequest) bool

// FailNth returns a hook that fails the n-th allocation it is asked about
// (counting from 1) and no other. Each call returns a fresh counter.
func FailNth(n uint64) FailHook {
	var seen uint64
	return func(AllocRequest) bool {
		seen++
		return seen == n
	}
}

// SetFailHook installs h (nil removes it).
func (m *PhysMem) SetFailHook(h FailHook) { m.hook = h }

// AllocPage allocates one frame with refcount 1, zeroed if gfp has
// __GFP_ZERO; without it the frame keeps whatever it last held. It fails
// with ENOMEM when RAM is exhausted or the fail hook says so.
// It models alloc_page (include/linux/gfp.h).
//
// Simplification: one list of order-0 frames instead of the buddy
// allocator's free areas and per-CPU lists. Frames come lowest-first until
// one is freed, then most recently freed first, as the per-CPU lists hand
// out cache-hot pages; every allocation is deterministic.
func (m *PhysMem) AllocPage(gfp GFP) (PFN, error) { return m.AllocPageAt("alloc_page", gfp) }

// AllocPageAt is AllocPage with the allocation site named for the fail
// hook and the trace.
func (m *PhysMem) AllocPageAt(site string, gfp GFP) (PFN, error) {
	m.seq++
	if m.hook != nil && gfp&GFPNoFail == 0 && m.hook(AllocRequest{Seq: m.seq, Site: site, GFP: gfp}) {
		if m.tr.On(trace.Alloc) { // boxing the arguments would allocate
			m.traceAlloc(0, "%s(%v) failed (injected)", site, gfp)
		}
		return 0, errno.Errorf(errno.ENOMEM, "mmu: %s(%v): injected failure of allocation %d", site, gfp, m.seq)
	}
	var pfn PFN
	switch {
	case len(m.free) > 0:
		pfn = m.free[len(m.free)-1]
		m.free = m.free[:len(m.free)-1]
	case uint64(m.next) < m.nframes:
		pfn = m.next
		m.next++
	default:
		if m.tr.On(trace.Alloc) { // boxing the arguments would allocate
			m.traceAlloc(0, "%s(%v) failed: out of memory", site, gfp)
		}
		return 0, errno.Errorf(errno.ENOMEM, "mmu: %s(%v): all %d frames in use", site, gfp, m.inUse)
	}
	c := m.chunk(pfn, true)
	c.pages[pfn&(chunkFrames-1)] = Page{Refcount: 1}
	if gfp&GFPZero != 0 {
		if f := c.data[pfn&(chunkFrames-1)]; f != nil {
			clear(f[:])
		}
	}
	m.inUse++
	if m.tr.On(trace.Alloc) { // boxing the arguments would allocate
		m.traceAlloc(pfn, "%s(%v) -> %v", site, gfp, pfn)
	}
	return pfn, nil
}

// traceAlloc emits an alloc event; callers check m.tr.On(trace.Alloc).
func (m *PhysMem) traceAlloc(pfn PFN, format string, args ...any) {
	m.tr.Emit(trace.Event{Kind: trace.Alloc, Addr: pfn.Addr(), Text: fmt.Sprintf(format, args...)})
}

// GetPage takes a reference on an allocated frame (get_page).
func (m *PhysMem) GetPage(pfn PFN) error {
	p, err := m.page(pfn, "get_page")
	if err != nil {
		return err
	}
	p.Refcount++
	return nil
}

// PutPage drops a reference (put_page, and __free_page for an order-0
// page); the frame returns to the allocator when the last one goes. A
// frame that user page tables still map (mapcount above zero) cannot lose
// its last reference: that is the kernel's "Bad page state".
func (m *PhysMem) PutPage(pfn PFN) error {
	p, err := m.page(pfn, "put_page")
	if err != nil {
		return err
	}
	if p.Refcount == 1 && p.Mapcount != 0 {
		return errno.Errorf(errno.EINVAL, "mmu: put_page on %v: bad page state, freeing a mapped page (%v)", pfn, *p)
	}
	p.Refcount--
	if p.Refcount == 0 {
		*p = Page{Flags: PGBuddy}
		m.free = append(m.free, pfn)
		m.inUse--
		if m.tr.On(trace.Alloc) { // boxing the arguments would allocate
			m.traceAlloc(pfn, "free %v", pfn)
		}
	}
	return nil
}

// IncMapcount records one more user mapping of the frame: the mapcount half
// of folio_add_file_rmap_pte (mm/rmap.c).
func (m *PhysMem) IncMapcount(pfn PFN) error {
	p, err := m.page(pfn, "page_add_rmap")
	if err != nil {
		return err
	}
	p.Mapcount++
	return nil
}

// DecMapcount records one user mapping fewer: the mapcount half of
// folio_remove_rmap_pte (mm/rmap.c).
func (m *PhysMem) DecMapcount(pfn PFN) error {
	p, err := m.page(pfn, "page_remove_rmap")
	if err != nil {
		return err
	}
	if p.Mapcount == 0 {
		return errno.Errorf(errno.EINVAL, "mmu: page_remove_rmap on %v: mapcount already 0", pfn)
	}
	p.Mapcount--
	return nil
}

// setTable marks or unmarks an allocated frame as a page table.
func (m *PhysMem) setTable(pfn PFN, on bool) {
	if c := m.chunk(pfn, false); c != nil {
		if on {
			c.pages[pfn&(chunkFrames-1)].Flags |= PGTable
		} else {
			c.pages[pfn&(chunkFrames-1)].Flags &^= PGTable
		}
	}
}

package vmalloc

import (
	"fmt"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/internal/trace"
	"github.com/arenasim/arenasim/mmu"
)

// TLBFlusher is what the allocator needs of the CPUs' TLBs: single-page
// invalidation and a full flush, on every CPU that may cache kernel
// translations. An *mmu.AddressSpace is one; a machine with several CPUs
// passes something that reaches them all.
type TLBFlusher interface {
	Invlpg(va uint64)
	FlushAll()
}

// TLBSinglePageFlushCeiling is tlb_single_page_flush_ceiling
// (arch/x86/mm/tlb.c): flushing more pages than this flushes everything.
const TLBSinglePageFlushCeiling = 33

// NullPage stands for a NULL struct page pointer in a pages array: mapping
// it fails with ENOMEM, as vmap_pages_pte_range does.
const NullPage = ^mmu.PFN(0)

// dataPageSite names vmalloc's data-page allocations for mmu fault
// injection (mmu.AllocRequest.Site).
const dataPageSite = "vmalloc"

// kernelMM is the part of init_mm the allocator maps into.
type kernelMM struct {
	pt         *mmu.PageTable
	pm         *mmu.PhysMem
	tlb        TLBFlusher
	pageKernel mmu.PTE // PAGE_KERNEL: __PAGE_KERNEL, without G under PTI

	// [mappedLo, mappedHi) spans every range vmapPagesRange was asked to
	// map: no PTE of this package can lie outside it, so the invariant
	// check scans that span, and the busy areas, rather than 32 TiB.
	mappedLo, mappedHi uint64
}

// initKernelMM adopts pt as the kernel page table and preallocates the
// tables one level below its root over the vmalloc range, as x86 does at
// boot so that vmalloc mappings never change the top level, which every
// process copies (preallocate_vmalloc_pages, arch/x86/mm/init_64.c).
func (a *Allocator) initKernelMM(cfg Config) error {
	pt := cfg.PageTable
	if int(pt.Mode()) != a.layout.Levels {
		return errno.Errorf(errno.EINVAL, "vmalloc: %d-level layout on a %v page table", a.layout.Levels, pt.Mode())
	}
	if pt.FreeEmptyTables() {
		// The kernel never frees vmalloc's page tables: an unmap that
		// freed a PT would leave a stale PDE in every CPU's paging-
		// structure caches and break the sharing of the tables below the
		// preallocated level with every process.
		return errno.Errorf(errno.EINVAL, "vmalloc: the kernel page table must not free empty tables (PageTableConfig.FreeEmptyTables)")
	}
	if err := pt.Preallocate(a.layout.VmallocStart, a.layout.VmemoryEnd()+1); err != nil {
		return fmt.Errorf("vmalloc: failed to pre-allocate page tables for the vmalloc area: %w", err)
	}
	a.mm = &kernelMM{pt: pt, pm: pt.PhysMem(), tlb: cfg.TLB, pageKernel: mmu.PageKernel, mappedLo: ULongMax}
	if cfg.PTI {
		a.mm.pageKernel &^= mmu.PageGlobal // __default_kernel_pte_mask
	}
	return nil
}

// PageKernel returns the protection vmalloc maps with (PAGE_KERNEL).
func (a *Allocator) PageKernel() mmu.PTE {
	if a.mm == nil {
		return mmu.PageKernel
	}
	return a.mm.pageKernel
}

// PageTable returns the kernel page table, or nil for an allocator without
// one.
func (a *Allocator) PageTable() *mmu.PageTable {
	if a.mm == nil {
		return nil
	}
	return a.mm.pt
}

// totalRAMPages is totalram_pages().
func (a *Allocator) totalRAMPages() uint64 { return a.mm.pm.Frames() }

// errNoPageTable is returned by mapping calls of an allocator built
// without a kernel page table.
var errNoPageTable = errno.Errorf(errno.EINVAL, "vmalloc: no kernel page table configured")

// vmapPagesRange maps pages at [start, end) with prot, one PTE per page in
// address order (vmap_pages_range with PAGE_SHIFT pages). Like the
// kernel's walk it goes 2 MiB range by 2 MiB range: first the page tables
// of the range (AllocTables: the pmd_alloc and pte_alloc of
// vmap_pages_pmd_range and vmap_pages_pte_range, which happen before any
// page is looked at), then each page: its PTE must be empty (else EBUSY),
// the page non-NULL (else ENOMEM) and a real frame (else EINVAL).
// Whatever fails, the caller gets ENOMEM, because the kernel's upper walk
// levels turn every error into ENOMEM; the pages and tables before the
// failure stay. No TLB flush is needed: only empty entries are filled.
func (a *Allocator) vmapPagesRange(start, end uint64, prot mmu.PTE, pages []mmu.PFN) error {
	if a.mm == nil {
		return errNoPageTable
	}
	if start >= end || !pageAligned(start) || !pageAligned(end) {
		return errno.Errorf(errno.EINVAL, "vmap_pages_range: kernel BUG: range %#x-%#x", start, end)
	}
	a.mm.mappedLo, a.mm.mappedHi = min(a.mm.mappedLo, start), max(a.mm.mappedHi, end)
	frames := a.mm.pm.Frames()
	i := 0
	for addr := start; addr != end; {
		next := pmdAddrEnd(addr, end)
		if err := a.mm.pt.AllocTables(addr, next, mmu.LevelPT); err != nil {
			return errno.Errorf(errno.ENOMEM, "vmap_pages_range %#x-%#x: page tables at %#x: %v", start, end, addr, errno.Of(err))
		}
		for va := addr; va != next; i, va = i+1, va+PageSize {
			pfn := NullPage
			if i < len(pages) {
				pfn = pages[i]
			}
			var err error
			switch {
			case pfn == NullPage:
				if leaf, ok := a.mm.pt.Lookup(va); ok || leaf.Entry != 0 {
					err = errno.Errorf(errno.EBUSY, "PTE at %#x not empty", va)
				} else {
					err = errno.Errorf(errno.ENOMEM, "NULL page %d", i)
				}
			case uint64(pfn) >= frames:
				if leaf, ok := a.mm.pt.Lookup(va); ok || leaf.Entry != 0 {
					err = errno.Errorf(errno.EBUSY, "PTE at %#x not empty", va)
				} else {
					err = errno.Errorf(errno.EINVAL, "page %d: %v is not a valid pfn", i, pfn)
				}
			default:
				err = a.mm.pt.MapPage(va, pfn, prot) // the tables exist: EBUSY is its only error
			}
			if err != nil {
				a.warnf("vmap_pages_range: %v", err) // the WARN_ONs of vmap_pages_pte_range
				return errno.Errorf(errno.ENOMEM, "vmap_pages_range %#x-%#x: page %d: %v", start, end, i, errno.Of(err))
			}
		}
		addr = next
	}
	return nil
}

// pmdAddrEnd is pmd_addr_end: the end of the 2 MiB range holding addr, or
// end if that comes first.
func pmdAddrEnd(addr, end uint64) uint64 {
	if boundary := (addr + mmu.PMDSize) &^ (mmu.PMDSize - 1); boundary-1 < end-1 {
		return boundary
	}
	return end
}

// vunmapRangeNoflush clears the kernel PTEs of [start, end) without a TLB
// flush; page-table pages stay (vunmap_range_noflush).
func (a *Allocator) vunmapRangeNoflush(start, end uint64) {
	if a.mm == nil || start >= end {
		return
	}
	// The range is page aligned and canonical for every area the
	// allocator hands out in the kernel half; others are not mapped.
	_ = a.mm.pt.Unmap(start, end-start, nil)
}

// flushKernelRange is flush_tlb_kernel_range: INVLPG page by page, or a
// full flush beyond TLBSinglePageFlushCeiling pages.
func (a *Allocator) flushKernelRange(start, end uint64) {
	a.stats.TLBFlushes++
	a.stats.LastFlushStart, a.stats.LastFlushEnd = start, end
	all := (end-start)>>PageShift > TLBSinglePageFlushCeiling
	if a.tr.On(trace.TLBFlush) {
		text := "flush_tlb_kernel_range"
		if all {
			text += " (all)"
		}
		a.tr.Emit(trace.Event{Kind: trace.TLBFlush, Who: "kernel", Addr: start, Len: end - start, Text: text})
	}
	if a.mm == nil || a.mm.tlb == nil {
		return
	}
	if all {
		a.mm.tlb.FlushAll()
		return
	}
	for va := start; va < end; va += PageSize {
		a.mm.tlb.Invlpg(va)
	}
}

// VmallocToPage returns the frame mapped at addr in the kernel page table
// (the frame within a large mapping), or false if nothing is mapped there.
// No reference is taken. Models vmalloc_to_page.
func (a *Allocator) VmallocToPage(addr uint64) (mmu.PFN, bool) {
	if a.mm == nil {
		return 0, false
	}
	leaf, ok := a.mm.pt.Lookup(addr)
	if !ok {
		return 0, false
	}
	return mmu.PhysPFN(leaf.PhysAddr(addr)), true
}

// checkPageTable verifies the kernel page table over the vmalloc window:
// every PTE lies in the usable part of a busy area (none in guard pages,
// lazy or free ranges), and every page of an area with a pages array (a
// vmalloc, or a vmap that owns its pages) is mapped to the frame it
// records, all of them for a vmalloc. The PTE scan covers the busy areas
// and every range vmalloc ever mapped, where stray entries can arise.
func (a *Allocator) checkPageTable() error {
	if a.mm == nil {
		return nil
	}
	l := a.layout
	lo, hi := a.mm.mappedLo, a.mm.mappedHi
	for i := range a.nodes {
		if first := a.nodes[i].busy.list.first(); first != nil {
			lo, hi = min(lo, first.start), max(hi, a.nodes[i].busy.list.last().end)
		}
	}
	lo, hi = max(lo, l.VmallocStart), min(hi, l.VmallocEnd+1)
	if lo >= hi {
		lo, hi = l.VmallocStart, l.VmallocStart // nothing to scan
	}
	var cur *vmapArea
	mapped := map[*VMStruct]int{} // pages seen mapped, for areas with a pages array
	for leaf := range a.mm.pt.Leaves(lo, hi) {
		if leaf.Level != mmu.LevelPT {
			return fmt.Errorf("vmalloc: %v leaf at %#x in the vmalloc range", leaf.Level, leaf.VA)
		}
		if cur == nil || leaf.VA < cur.start || leaf.VA >= cur.end {
			cur = a.findVA(leaf.VA, false)
		}
		if cur == nil || cur.vm == nil || leaf.VA >= cur.start+cur.vm.AreaSize() {
			return fmt.Errorf("vmalloc: stray PTE %v at %#x outside any area's pages", leaf.Entry, leaf.VA)
		}
		if vm := cur.vm; vm.Pages != nil && vm.Flags&VMUninitialized == 0 {
			p := int((leaf.VA - vm.Addr) >> PageShift)
			if p >= vm.NrPages || !leaf.Entry.Present() || leaf.Entry.PFN() != vm.Pages[p] {
				return fmt.Errorf("vmalloc: page %d of area %#x (%v) maps %v, want a page of %d", p, vm.Addr, vm.Flags, leaf.Entry, vm.NrPages)
			}
			mapped[vm]++
		}
	}
	for i := range a.nodes {
		busy := &a.nodes[i].busy.list
		for va := busy.first(); va != nil; va = busy.after(va) {
			vm := va.vm
			if vm == nil || vm.Flags&VMUninitialized != 0 || vm.Pages == nil {
				continue
			}
			if vm.Flags&VMAlloc != 0 && uint64(vm.NrPages) != vm.AreaSize()>>PageShift {
				return fmt.Errorf("vmalloc: area %#x has %d pages for %#x bytes", vm.Addr, vm.NrPages, vm.AreaSize())
			}
			if mapped[vm] != vm.NrPages {
				return fmt.Errorf("vmalloc: area %#x (%v) has %d of its %d pages mapped", vm.Addr, vm.Flags, mapped[vm], vm.NrPages)
			}
		}
	}
	return nil
}

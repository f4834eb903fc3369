package vmalloc

import (
	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/internal/trace"
	"github.com/arenasim/arenasim/mmu"
)

// checkSparse validates a range of a VM_SPARSE area, in the kernel's order:
// the area must not reset permissions, must have its guard page and must
// be sparse (EINVAL, each a WARN); the range may not hold more pages than
// RAM (E2BIG, which catches end < start too, the subtraction being
// unsigned); and it must lie within the area without its guard (ERANGE).
// Alignment and start < end are not checked. Models check_sparse_vm_area.
func (a *Allocator) checkSparse(area *VMStruct, start, end uint64) error {
	switch {
	case area.Flags&VMFlushResetPerms != 0:
		a.warnf("check_sparse_vm_area: VM_FLUSH_RESET_PERMS area %#x", area.Addr)
		return errno.Errorf(errno.EINVAL, "vm_area %#x: VM_FLUSH_RESET_PERMS", area.Addr)
	case area.Flags&VMNoGuard != 0:
		a.warnf("check_sparse_vm_area: VM_NO_GUARD area %#x", area.Addr)
		return errno.Errorf(errno.EINVAL, "vm_area %#x: VM_NO_GUARD", area.Addr)
	case area.Flags&VMSparse == 0:
		a.warnf("check_sparse_vm_area: area %#x is not VM_SPARSE", area.Addr)
		return errno.Errorf(errno.EINVAL, "vm_area %#x: not VM_SPARSE", area.Addr)
	case (end-start)>>PageShift > a.totalRAMPages():
		return errno.Errorf(errno.E2BIG, "vm_area %#x: %#x-%#x is more pages than RAM", area.Addr, start, end)
	case start < area.Addr || end > area.Addr+area.AreaSize():
		return errno.Errorf(errno.ERANGE, "vm_area %#x+%#x: %#x-%#x outside", area.Addr, area.AreaSize(), start, end)
	}
	return nil
}

// AreaMapPages maps pages, one per page, at [start, end) inside the
// VM_SPARSE area with PAGE_KERNEL. Errors: EINVAL, E2BIG or ERANGE from the
// checks (nothing mapped); ENOMEM for any failure while mapping (a page
// already mapped, a NullPage, an invalid frame, a page-table allocation),
// with the pages before it left mapped, as the kernel leaves them. No
// reference is taken on the pages. Models vm_area_map_pages.
func (a *Allocator) AreaMapPages(area *VMStruct, start, end uint64, pages []mmu.PFN) error {
	if a.mm == nil {
		return errNoPageTable
	}
	if err := a.checkSparse(area, start, end); err != nil {
		return err
	}
	if a.tr.On(trace.VMap) {
		a.tr.Emit(trace.Event{Kind: trace.VMap, Who: "kernel", Addr: start, Len: end - start, Text: "vm_area_map_pages"})
	}
	return a.vmapPagesRange(start, end, a.mm.pageKernel, pages)
}

// AreaUnmapPages clears the PTEs of [start, end) inside the VM_SPARSE area
// and flushes the TLB for the range; neither the pages nor the page-table
// pages are freed. A range failing the checks of AreaMapPages is silently
// ignored, as is a range with nothing mapped. Models vm_area_unmap_pages.
func (a *Allocator) AreaUnmapPages(area *VMStruct, start, end uint64) {
	if a.mm == nil || a.checkSparse(area, start, end) != nil {
		return
	}
	if a.tr.On(trace.VMap) {
		a.tr.Emit(trace.Event{Kind: trace.VMap, Who: "kernel", Addr: start, Len: end - start, Text: "vm_area_unmap_pages"})
	}
	a.vunmapRange(start, end)
}

// vunmapRange clears PTEs and flushes the TLB for the range (vunmap_range).
func (a *Allocator) vunmapRange(start, end uint64) {
	if !pageAligned(start) || !pageAligned(end) || start >= end {
		return // the kernel's page-table walk assumes a page-aligned, non-empty range
	}
	a.vunmapRangeNoflush(start, end)
	a.flushKernelRange(start, end)
}

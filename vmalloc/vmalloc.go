package vmalloc

import (
	"fmt"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/internal/trace"
	"github.com/arenasim/arenasim/mmu"
)

// Vmalloc allocates size bytes of virtually contiguous kernel memory:
// page frames from physical memory mapped into a fresh VM_ALLOC area. The
// memory is not zeroed. It returns the address, or 0 and an error saying
// why the kernel would return NULL. Models vmalloc.
func (a *Allocator) Vmalloc(size uint64) (uint64, error) {
	return a.VmallocRange(size, 1, a.layout.VmallocStart, a.layout.VmallocEnd, mmu.GFPKernel, a.PageKernel(), 0, "vmalloc")
}

// Vzalloc is Vmalloc with zeroed memory. Models vzalloc.
func (a *Allocator) Vzalloc(size uint64) (uint64, error) {
	return a.VmallocRange(size, 1, a.layout.VmallocStart, a.layout.VmallocEnd, mmu.GFPKernel|mmu.GFPZero, a.PageKernel(), 0, "vzalloc")
}

// VmallocNode is Vmalloc with an alignment and allocation flags. Models
// __vmalloc_node.
func (a *Allocator) VmallocNode(size, align uint64, gfp mmu.GFP, caller string) (uint64, error) {
	return a.VmallocRange(size, align, a.layout.VmallocStart, a.layout.VmallocEnd, gfp, a.PageKernel(), 0, caller)
}

// VmallocRange allocates size bytes aligned to align within [start, end]
// and maps them with prot. It reserves the area (VM_ALLOC and
// VM_UNINITIALIZED plus vmFlags), allocates the pages[] array (kmalloc'ed,
// or itself vmalloc'ed when it exceeds a page), allocates the frames one by
// one with gfp, maps them, and clears VM_UNINITIALIZED. A failure after
// the reservation frees everything again through Vfree. Models
// __vmalloc_node_range and __vmalloc_area_node; huge mappings
// (VM_ALLOW_HUGE_VMAP) are not modelled, and the kernel's bulk page
// allocation is modelled one frame at a time, the first failure ending it.
func (a *Allocator) VmallocRange(size, align, start, end uint64, gfp mmu.GFP, prot mmu.PTE, vmFlags VMFlags, caller string) (uint64, error) {
	if a.mm == nil {
		return 0, errNoPageTable
	}
	if size == 0 {
		a.warnf("__vmalloc_node_range: size 0")
		return 0, errno.Errorf(errno.EINVAL, "vmalloc: size 0")
	}
	if size>>PageShift > a.totalRAMPages() {
		a.warnf("vmalloc error: size %d, exceeds total pages", size)
		return 0, errno.Errorf(errno.ENOMEM, "vmalloc: size %#x exceeds total pages", size)
	}
	area, err := a.GetVMAreaNode(size, align, PageShift, VMAlloc|VMUninitialized|vmFlags, start, end, caller)
	if err != nil {
		a.warnf("vmalloc error: size %d, vm_struct allocation failed", size)
		return 0, fmt.Errorf("vmalloc: %w", err)
	}
	if err := a.vmallocAreaNode(area, gfp, prot); err != nil {
		return 0, err
	}
	area.Flags &^= VMUninitialized
	return area.Addr, nil
}

// vmallocAreaNode backs area with frames and maps them
// (__vmalloc_area_node).
func (a *Allocator) vmallocAreaNode(area *VMStruct, gfp mmu.GFP, prot mmu.PTE) error {
	size := area.AreaSize()
	nr := int(size >> PageShift)
	if arraySize := uint64(nr) * 8; arraySize > PageSize {
		// The array of page pointers is vmalloc'ed itself; the recursion
		// ends because its own array fits in a page.
		addr, err := a.VmallocRange(arraySize, 1, a.layout.VmallocStart, a.layout.VmallocEnd,
			gfp&^mmu.GFPHighmem|mmu.GFPZero, a.PageKernel(), 0, area.Caller)
		if err != nil {
			return a.pagesArrayFailed(area, arraySize, err)
		}
		area.pagesArea = a.FindVMArea(addr)
	} else if failAt(a.inject, SitePagesArray) {
		return a.pagesArrayFailed(area, arraySize, errno.ENOMEM)
	}
	area.Pages = make([]mmu.PFN, 0, nr)
	var allocErr error
	for len(area.Pages) < nr {
		pfn, err := a.mm.pm.AllocPageAt(dataPageSite, gfp|mmu.GFPHighmem|mmu.GFPNoWarn)
		if err != nil {
			allocErr = err
			break
		}
		area.Pages = append(area.Pages, pfn)
	}
	area.NrPages = len(area.Pages)
	a.nrPages += uint64(area.NrPages)
	if allocErr != nil {
		a.warnf("vmalloc error: size %d, failed to allocate pages", uint64(area.NrPages)<<PageShift)
		_ = a.Vfree(area.Addr)
		return fmt.Errorf("vmalloc: %d of %d pages: %w", area.NrPages, nr, allocErr)
	}
	if err := a.vmapPagesRange(area.Addr, area.Addr+size, prot, area.Pages); err != nil {
		a.warnf("vmalloc error: size %d, failed to map pages", size)
		_ = a.Vfree(area.Addr)
		return fmt.Errorf("vmalloc: %w", err)
	}
	if a.tr.On(trace.VMap) {
		a.tr.Emit(trace.Event{Kind: trace.VMap, Who: "kernel", Addr: area.Addr, Len: size, Val: uint64(nr), Text: "vmalloc " + area.Caller})
	}
	return nil
}

// pagesArrayFailed undoes the reservation when the pages[] array cannot be
// allocated.
func (a *Allocator) pagesArrayFailed(area *VMStruct, arraySize uint64, err error) error {
	a.warnf("vmalloc error: size %d, failed to allocated page array size %d", area.AreaSize(), arraySize)
	_ = a.FreeVMArea(area)
	return errno.Errorf(errno.ENOMEM, "vmalloc: pages array of %#x bytes: %v", arraySize, err)
}

// Vfree releases memory from Vmalloc (or a VM_MAP_PUT_PAGES vmap): it
// removes the area (PTEs cleared, range freed lazily), drops the page
// references, frees the pages[] array and the vm_struct. Address 0 is a
// no-op; an address that is not a live area is refused with a WARN and
// EINVAL. Models vfree.
func (a *Allocator) Vfree(addr uint64) error {
	if addr == 0 {
		return nil
	}
	vm := a.RemoveVMArea(addr)
	if vm == nil {
		a.warnf("Trying to vfree() nonexistent vm area (%#x)", addr)
		return errno.Errorf(errno.EINVAL, "vfree: no area at %#x", addr)
	}
	if vm.Flags&VMFlushResetPerms != 0 {
		// vm_reset_perms: the direct map is not modelled; what remains is
		// flushing the area's stale translations now.
		a.purgeLazy(ULongMax, 0, false)
	}
	if a.mm != nil {
		for _, pfn := range vm.Pages[:vm.NrPages] {
			if err := a.mm.pm.PutPage(pfn); err != nil {
				return fmt.Errorf("vfree %#x: %w", addr, err)
			}
		}
	}
	if vm.Flags&VMMapPutPages == 0 {
		a.nrPages -= uint64(vm.NrPages)
	}
	if vm.pagesArea != nil {
		return a.Vfree(vm.pagesArea.Addr)
	}
	return nil
}

// VmallocPages returns nr_vmalloc_pages: frames held by vmalloc areas.
func (a *Allocator) VmallocPages() uint64 { return a.nrPages }

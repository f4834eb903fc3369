package vmalloc

import (
	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/internal/trace"
)

// RemoveVMArea unlinks the area containing addr, clears its page-table
// entries and frees its address range lazily; it returns the area's
// vm_struct, whose pages the caller still owns. An address that is not page
// aligned is refused with a WARN; any page-aligned address inside the
// area, the guard page included, removes the whole area. Models
// remove_vm_area.
func (a *Allocator) RemoveVMArea(addr uint64) *VMStruct {
	if !pageAligned(addr) {
		a.warnf("Trying to vfree() bad address (%#x)", addr)
		return nil
	}
	va := a.findVA(addr, true)
	if va == nil || va.vm == nil {
		return nil
	}
	return a.removeVA(va)
}

// removeVA finishes remove_vm_area for the busy area va, already unlinked
// from its tree: the trace, the vm_struct's binding, the unmap and the
// lazy free. It returns the area's vm_struct.
func (a *Allocator) removeVA(va *vmapArea) *VMStruct {
	vm := va.vm
	if a.tr.On(trace.VMap) {
		a.tr.Emit(trace.Event{Kind: trace.VMap, Who: "kernel", Addr: va.start, Len: va.size(), Text: "remove_vm_area " + vm.Flags.String()})
	}
	vm.va = nil
	a.freeUnmap(va)
	return vm
}

// freeUnmap clears the area's page-table entries and frees it lazily; the
// TLB flush waits for the purge (free_unmap_vmap_area).
func (a *Allocator) freeUnmap(va *vmapArea) {
	a.vunmapRangeNoflush(va.start, va.end)
	a.freeLazy(va)
}

// FreeVMArea removes area and releases its vm_struct; the pages mapped in
// it are not freed (for a VM_SPARSE area that is the caller's job). Where
// the kernel would BUG because the address leads to another area, it
// returns EINVAL. Models free_vm_area.
//
// The kernel finds the area again by area->addr; the model first tries
// the busy area the vm_struct was bound to at allocation, which is the
// one that search would find whenever it is still bound to area, still
// contains area.Addr (busy areas never overlap) and the address is page
// aligned. That skips a search of the busy tree, the larger part of what a
// free costs beyond the allocator's own work. Anything else takes the
// kernel's path.
func (a *Allocator) FreeVMArea(area *VMStruct) error {
	if area == nil {
		return errno.Errorf(errno.EINVAL, "free_vm_area: nil area")
	}
	if va := area.va; va != nil && va.vm == area && va.start <= area.Addr && area.Addr < va.end && pageAligned(area.Addr) {
		unlinkVA(va, &a.addrToNode(va.start).busy)
		a.removeVA(va)
		return nil
	}
	if got := a.RemoveVMArea(area.Addr); got != area {
		return errno.Errorf(errno.EINVAL, "free_vm_area: kernel BUG: %#x is not the area's address", area.Addr)
	}
	return nil
}

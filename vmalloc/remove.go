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
	vm := va.vm
	if a.tr.On(trace.VMap) {
		a.tr.Emit(trace.Event{Kind: trace.VMap, Who: "kernel", Addr: va.start, Len: va.size(), Text: "remove_vm_area " + vm.Flags.String()})
	}
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
func (a *Allocator) FreeVMArea(area *VMStruct) error {
	if area == nil {
		return errno.Errorf(errno.EINVAL, "free_vm_area: nil area")
	}
	if got := a.RemoveVMArea(area.Addr); got != area {
		return errno.Errorf(errno.EINVAL, "free_vm_area: kernel BUG: %#x is not the area's address", area.Addr)
	}
	return nil
}

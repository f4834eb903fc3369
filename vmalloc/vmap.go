package vmalloc

import (
	"fmt"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/mmu"
)

// VMap maps the given frames into a fresh area, contiguously, with prot
// plus NX. VM_FLUSH_RESET_PERMS is refused and VM_NO_GUARD dropped (each
// with a WARN: a missing top guard would expose the next area). With
// VM_MAP_PUT_PAGES the area takes over the pages and their references, and
// Vfree drops them; otherwise Vunmap leaves them to the caller. Models
// vmap.
func (a *Allocator) VMap(pages []mmu.PFN, flags VMFlags, prot mmu.PTE) (uint64, error) {
	if a.mm == nil {
		return 0, errNoPageTable
	}
	if flags&VMFlushResetPerms != 0 {
		a.warnf("vmap: VM_FLUSH_RESET_PERMS")
		return 0, errno.Errorf(errno.EINVAL, "vmap: VM_FLUSH_RESET_PERMS")
	}
	if flags&VMNoGuard != 0 {
		a.warnf("vmap: VM_NO_GUARD")
		flags &^= VMNoGuard
	}
	count := uint64(len(pages))
	if count > a.totalRAMPages() {
		return 0, errno.Errorf(errno.E2BIG, "vmap: %d pages exceed RAM", count)
	}
	size := count << PageShift
	area, err := a.GetVMAreaCaller(size, flags, "vmap")
	if err != nil {
		return 0, fmt.Errorf("vmap: %w", err)
	}
	if err := a.vmapPagesRange(area.Addr, area.Addr+size, prot|mmu.PageNX, pages); err != nil {
		_ = a.Vunmap(area.Addr)
		return 0, fmt.Errorf("vmap: %w", err)
	}
	if flags&VMMapPutPages != 0 {
		area.Pages, area.NrPages = pages, len(pages)
	}
	return area.Addr, nil
}

// Vunmap removes an area made by VMap, clearing its PTEs; the pages stay
// with the caller. Models vunmap.
func (a *Allocator) Vunmap(addr uint64) error {
	if addr == 0 {
		return nil
	}
	if a.RemoveVMArea(addr) == nil {
		a.warnf("Trying to vunmap() nonexistent vm area (%#x)", addr)
		return errno.Errorf(errno.EINVAL, "vunmap: no area at %#x", addr)
	}
	return nil
}

package vmalloc

// Site names an allocation that fault injection can make fail.
type Site uint8

// The allocation sites of this layer.
const (
	SiteVmapArea   Site = iota // a vmap_area descriptor (kmem_cache_alloc of vmap_area_cachep)
	SiteVMStruct               // a vm_struct (kzalloc in __get_vm_area_node)
	SitePagesArray             // a small pages[] array of a vmalloc area (kmalloc)
	numSites
)

var siteNames = [numSites]string{
	SiteVmapArea: "vmap_area", SiteVMStruct: "vm_struct", SitePagesArray: "pages_array",
}

// String returns the site's name, e.g. "vmap_area".
func (s Site) String() string {
	if s < numSites {
		return siteNames[s]
	}
	return "site?"
}

// Injector decides whether a slab allocation of this layer fails. The
// simulator's fault injection implements it; a nil Injector never fails
// anything. Frames (data pages, page-table pages, large pages[] arrays,
// which are themselves vmalloc'ed) come from mmu.PhysMem, whose FailHook
// fails them: data pages are requested at site "vmalloc", page tables at
// "pmd_alloc", "pte_alloc" and so on.
type Injector interface {
	Fail(site Site) bool
}

// failAt reports whether inj makes the allocation at site fail.
func failAt(inj Injector, site Site) bool { return inj != nil && inj.Fail(site) }

// vaCache is the vmap_area kmem_cache: released descriptors are kept on a
// free list and handed out again, so steady-state allocation does not touch
// the Go heap. inUse counts descriptors handed out and not released, which
// the invariant check compares with the areas the allocator holds.
//
// Allocating them a slab at a time (64 to an array) was tried: the
// collector then marks one object per slab, which saved about 300
// instructions per get_vm_area + free_vm_area at 10 k live areas, but the
// tree walks took six more L1 misses per operation and the time did not
// change; one descriptor per allocation is simpler.
type vaCache struct {
	free  *vmapArea // singly linked through next; every one cleared
	inUse int
}

// alloc returns a cleared descriptor, or nil when injection fails it.
func (c *vaCache) alloc(inj Injector, site Site) *vmapArea {
	if failAt(inj, site) {
		return nil
	}
	va := c.free
	if va != nil {
		c.free = va.next // release left everything else cleared
	} else {
		va = new(vmapArea)
	}
	va.prev, va.next = va, va
	c.inUse++
	return va
}

// release returns va to the cache (kmem_cache_free).
func (c *vaCache) release(va *vmapArea) {
	*va = vmapArea{next: c.free}
	c.free = va
	c.inUse--
}

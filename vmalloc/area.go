package vmalloc

import "github.com/arenasim/arenasim/mmu"

// vmapArea is struct vmap_area (mm/vmalloc.c): one range of kernel virtual
// addresses [start, end) that is free, busy, lazily freed or pooled. The same
// descriptor moves between those sets, linked into one red-black tree and
// one address-ordered list at a time, exactly like the kernel's rb_node and
// list_head that it embeds.
type vmapArea struct {
	start, end uint64 // va_start, va_end (exclusive)

	// rb_node: children (left, right) and parent; the colour is below.
	// start, end and the children come first: the 32 bytes every search
	// step reads then share one cache line more often.
	child  [2]*vmapArea
	parent *vmapArea

	// subtreeMax is subtree_max_size: the largest block size in this
	// node's subtree, meaningful only in the free tree.
	subtreeMax uint64

	// list_head: neighbours in the address-ordered list of the set the
	// area belongs to (or of a pool or a purge list).
	prev, next *vmapArea

	vm    *VMStruct // the caller's area when busy; nil otherwise
	flags uint32    // VMAP_RAM/VMAP_BLOCK in the low byte, node id + 1 above
	red   bool      // the rb_node colour, here to keep the struct at 80 bytes
}

// Child indices of a tree node.
const (
	left  = 0
	right = 1
)

// size is va_size.
func (va *vmapArea) size() uint64 { return va.end - va.start }

// The low byte of vmap_area.flags (mm/vmalloc.c): areas made by vm_map_ram.
const (
	vmapRAM   = 0x1 // VMAP_RAM
	vmapBlock = 0x2 // VMAP_BLOCK
)

// VMStruct is struct vm_struct (include/linux/vmalloc.h): the area a caller
// of get_vm_area, vmalloc or vmap holds. Size includes the guard page unless
// VM_NO_GUARD is set.
type VMStruct struct {
	Addr          uint64
	Size          uint64
	va            *vmapArea // the busy area bound to this vm_struct, nil once removed; next to Addr, which FreeVMArea reads with it
	Flags         VMFlags
	Pages         []mmu.PFN // frames backing a VM_ALLOC or VM_MAP_PUT_PAGES area
	NrPages       int       // nr_pages
	PhysAddr      uint64    // phys_addr, for ioremap-style areas
	Caller        string    // the caller, printed like %pS in /proc/vmallocinfo
	RequestedSize uint64    // requested_size: the size asked for, before rounding
	pagesArea     *VMStruct // the vmalloc'ed pages array of a large vmalloc, if any
}

// AreaSize returns the usable size, without the guard page. Models
// get_vm_area_size (include/linux/vmalloc.h).
func (vm *VMStruct) AreaSize() uint64 {
	if vm.Flags&VMNoGuard == 0 {
		return vm.Size - PageSize
	}
	return vm.Size
}

package vmalloc

// VA describes one vmap area: [Start, End) including any guard page, and
// the caller's vm_struct (nil for an area without one).
type VA struct {
	Start, End uint64
	VM         *VMStruct
}

// findVA finds the busy area containing addr: first in the node owning
// addr's zone, then in the preceding nodes, since an area is filed under
// the node of its start and may span several zones (find_vmap_area).
func (a *Allocator) findVA(addr uint64, unlink bool) *vmapArea {
	if !a.initialized {
		return nil
	}
	n := len(a.nodes)
	i := a.addrToNodeID(addr)
	j := i
	for {
		vn := &a.nodes[i]
		if va := vn.busy.tree.lookup(addr); va != nil {
			if unlink {
				unlinkVA(va, &vn.busy)
			}
			return va
		}
		if i = (i + n - 1) % n; i == j {
			return nil
		}
	}
}

// FindVmapArea returns the busy area containing addr; the guard page
// belongs to its area. Models find_vmap_area.
func (a *Allocator) FindVmapArea(addr uint64) (VA, bool) {
	va := a.findVA(addr, false)
	if va == nil {
		return VA{}, false
	}
	return VA{Start: va.start, End: va.end, VM: va.vm}, true
}

// FindVMArea returns the vm_struct of the area containing addr, or nil.
// Models find_vm_area.
func (a *Allocator) FindVMArea(addr uint64) *VMStruct {
	if va := a.findVA(addr, false); va != nil {
		return va.vm
	}
	return nil
}

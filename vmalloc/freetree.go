package vmalloc

import "github.com/arenasim/arenasim/internal/errno"

// linkVA links va into r at the place findLinks returned, keeping the list
// in address order (__link_va). For an augmented tree the caller
// propagates subtreeMax afterwards.
func linkVA(va *vmapArea, r *rbList, parent *vmapArea, at **vmapArea) {
	pos := &r.list.head
	if parent != nil {
		pos = parent
		if at != &parent.child[right] {
			pos = parent.prev
		}
	}
	r.tree.insert(va, parent, at)
	insertAfter(va, pos)
}

// unlinkVA removes va from r's tree and list (__unlink_va).
func unlinkVA(va *vmapArea, r *rbList) {
	r.tree.erase(va)
	unlinkList(va)
}

// insertVA links va into r, from the root or below a given node, and
// reports false (the kernel's WARN) if it overlaps an area already there
// (insert_vmap_area / insert_vmap_area_augment).
func insertVA(va *vmapArea, r *rbList, from *vmapArea) bool {
	parent, at, ok := r.tree.findLinks(va, from)
	if !ok {
		return false
	}
	linkVA(va, r, parent, at)
	r.tree.propagate(va, nil)
	return true
}

// mergeOrAdd puts the range of va back into r, coalescing it with a free
// neighbour that ends where va starts or starts where va ends, so free
// blocks stay maximal. va's descriptor is released when it merges. It
// returns the block now holding the range, or nil when va overlaps
// something in r (a kernel WARN: the range is then dropped).
// Models __merge_or_add_vmap_area and its _augment variant.
func (a *Allocator) mergeOrAdd(va *vmapArea, r *rbList) *vmapArea {
	parent, at, ok := r.tree.findLinks(va, nil)
	if !ok {
		a.warnf("vmalloc bug: 0x%x-0x%x overlaps with a free block", va.start, va.end)
		return nil
	}
	merged := false
	if parent != nil {
		// next is the list element va would precede; it may be the head.
		next := parent
		if at == &parent.child[right] {
			next = parent.next
		}
		if next != &r.list.head && next.start == va.end {
			next.start = va.start
			a.cache.release(va)
			va = next
			merged = true
		}
		if prev := next.prev; prev != &r.list.head && prev.end == va.start {
			// When both sides merge, the upper block leaves the tree
			// before the lower one grows, so rotations during the
			// unlink see consistent subtree values.
			if merged {
				unlinkVA(va, r)
			}
			prev.end = va.end
			a.cache.release(va)
			va = prev
			merged = true
		}
	}
	if !merged {
		linkVA(va, r, parent, at)
	}
	r.tree.propagate(va, nil)
	return va
}

// isWithinThisVA reports whether an aligned request of size bytes at or
// above vstart fits in va, with wrap-around treated as no fit
// (is_within_this_va).
func isWithinThisVA(va *vmapArea, size, align, vstart uint64) bool {
	nva := alignUp(max(va.start, vstart), align)
	if nva+size < nva || nva < vstart {
		return false
	}
	return nva+size <= va.end
}

// findLowestMatch returns the lowest-addressed free block that can hold the
// aligned request at or above vstart, in O(log n) using subtreeMax
// (find_vmap_lowest_match). With adjust, subtrees are entered only if they
// hold a block of size + align - 1 bytes, which always fits whatever its
// alignment; blocks on the search path are still tested exactly.
func (a *Allocator) findLowestMatch(size, align, vstart uint64, adjust bool) *vmapArea {
	length := size
	if adjust {
		length = size + align - 1
	}
	node := a.free.tree.root
	for node != nil {
		if subtreeMaxOf(node.child[left]) >= length && vstart < node.start {
			node = node.child[left]
			continue
		}
		if isWithinThisVA(node, size, align, vstart) {
			return node
		}
		if subtreeMaxOf(node.child[right]) >= length {
			node = node.child[right]
			continue
		}
		// Nothing below fits: climb to the first ancestor that fits
		// itself or whose right subtree may. Moving vstart past that
		// ancestor keeps the walk from re-entering subtrees it has
		// already searched.
		for node = node.parent; node != nil; node = node.parent {
			if isWithinThisVA(node, size, align, vstart) {
				return node
			}
			if subtreeMaxOf(node.child[right]) >= length && vstart <= node.start {
				vstart = node.start + 1
				node = node.child[right]
				break
			}
		}
	}
	return nil
}

// fitType classifies how a request sits in a free block (enum fit_type).
type fitType uint8

const (
	nothingFit fitType = iota // NOTHING_FIT
	flFit                     // FL_FIT_TYPE: the whole block
	leFit                     // LE_FIT_TYPE: its left edge
	reFit                     // RE_FIT_TYPE: its right edge
	neFit                     // NE_FIT_TYPE: the middle, leaving two pieces
)

// classifyFit is classify_va_fit_type.
func classifyFit(va *vmapArea, nva, size uint64) fitType {
	if nva < va.start || nva+size > va.end {
		return nothingFit
	}
	switch {
	case va.start == nva && va.end == nva+size:
		return flFit
	case va.start == nva:
		return leFit
	case va.end == nva+size:
		return reFit
	}
	return neFit
}

// clip carves [nva, nva+size) out of the free block va (va_clip). A middle
// cut needs a second descriptor for the left piece: the current CPU's
// preloaded one, else a non-blocking allocation, whose failure is ENOMEM.
func (a *Allocator) clip(va *vmapArea, nva, size uint64) error {
	var lva *vmapArea
	switch classifyFit(va, nva, size) {
	case flFit:
		unlinkVA(va, &a.free)
		a.cache.release(va)
		return nil
	case leFit:
		va.start += size
	case reFit:
		va.end = nva
	case neFit:
		lva = a.preload[a.cpu]
		a.preload[a.cpu] = nil
		if lva == nil {
			if lva = a.cache.alloc(a.inject, SiteVmapArea); lva == nil {
				return errno.Errorf(errno.ENOMEM, "vmalloc: no vmap_area for a split")
			}
		}
		lva.start, lva.end = va.start, nva
		va.start = nva + size
	default:
		return errno.Errorf(errno.EINVAL, "vmalloc: %#x+%#x outside free block %#x-%#x", nva, size, va.start, va.end)
	}
	a.free.tree.propagate(va, nil)
	if lva != nil {
		insertVA(lva, &a.free, va)
	}
	return nil
}

// vaAlloc takes the request out of the chosen block, failing with ERANGE
// when its aligned start would end beyond vend: a lower block would have
// been found first, so nothing fits (va_alloc).
func (a *Allocator) vaAlloc(va *vmapArea, size, align, vstart, vend uint64) (uint64, error) {
	nva := alignUp(max(va.start, vstart), align)
	if nva+size > vend {
		return 0, errno.ERANGE
	}
	if err := a.clip(va, nva, size); err != nil {
		a.warnf("va_clip: %v", err) // WARN_ON_ONCE, even for ENOMEM
		return 0, err
	}
	return nva, nil
}

// allocFromFree searches the free tree and carves the request out
// (__alloc_vmap_area). The search length is widened by the alignment only
// when align exceeds a page and the window is not exactly the request.
func (a *Allocator) allocFromFree(size, align, vstart, vend uint64) (uint64, error) {
	adjust := !(align <= PageSize || vend-vstart == size)
	va := a.findLowestMatch(size, align, vstart, adjust)
	if va == nil {
		return 0, errno.ENOENT
	}
	return a.vaAlloc(va, size, align, vstart, vend)
}

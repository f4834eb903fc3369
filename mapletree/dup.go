package mapletree

import (
	"unsafe"

	"github.com/arenasim/arenasim/internal/errno"
)

// Dup models mtree_dup: copy t into dst, which must be empty and have the
// same flags (height aside), node for node (the fork path of dup_mmap). It
// fails with EINVAL when dst does not qualify and with ENOMEM when a node
// cannot be allocated (dst is then left empty).
func (t *Tree) Dup(dst *Tree) error {
	if t == dst {
		return errno.Errorf(errno.EINVAL, "mapletree: dup: source and destination are the same tree")
	}
	dst.mu.Lock()
	defer dst.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dupBuild(dst)
}

// attr models mt_attr: the flags without the height.
func (t *Tree) attr() Flags { return t.Flags() &^ FlagHeightMask }

// dupBuild models mas_dup_build: a depth-first, pre-order copy in which
// every internal node gets all its children allocated when it is copied
// (mas_dup_alloc), so an allocation failure stops the copy cleanly.
func (t *Tree) dupBuild(dst *Tree) error {
	if t.attr() != dst.attr() || !dst.Empty() {
		return errno.Errorf(errno.EINVAL, "mapletree: dup: destination not empty or flags %v != %v", dst.attr(), t.attr())
	}
	root, w := t.loadRoot()
	if root == nil {
		dst.flags.Store(t.flags.Load())
		if !w.isNull() {
			dst.publishRootEntry(w)
		}
		return nil
	}
	nr := dst.newNode(root.typ)
	if nr == nil {
		return errno.ENOMEM
	}
	if !dst.dupNode(root, nr, maxIndex) {
		return errno.ENOMEM
	}
	dst.setRootParent(nr)
	dst.flags.Store(t.flags.Load())
	dst.publishRoot(nr)
	return nil
}

// dupNode copies src (whose range ends at max) into dst, already allocated,
// and for internal nodes allocates and copies the children (mas_copy_node
// and mas_dup_alloc).
func (t *Tree) dupNode(src, dst *node, max uint64) bool {
	parent := dst.parent
	*dst = *src
	dst.parent = parent
	dst.seq = 0
	if src.typ.isLeaf() {
		return true
	}
	end := src.dataEnd(max)
	count := end + 1
	// Allocate every child first, as mas_dup_alloc does.
	for i := uint8(0); i < count; i++ {
		c := src.child(i)
		nc := t.newNode(c.typ)
		if nc == nil {
			for j := uint8(0); j < i; j++ {
				dst.slots[j].data = nil
			}
			return false
		}
		nc.setParent(dst, i)
		dst.slots[i].data = unsafe.Pointer(nc)
	}
	for i := uint8(0); i < count; i++ {
		if !t.dupNode(src.child(i), dst.child(i), src.safePivot(i, max)) {
			return false
		}
	}
	return true
}

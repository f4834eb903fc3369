package mapletree

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Flags are a tree's ma_flags.
type Flags uint32

// Tree flags (include/linux/maple_tree.h). The lock-type bits are kept so
// that Flags prints and compares like the kernel's, but a Go tree always
// uses its own mutex.
const (
	FlagAllocRange   Flags = 0x01  // MT_FLAGS_ALLOC_RANGE: track gaps (arange64 internal nodes)
	FlagUseRCU       Flags = 0x02  // MT_FLAGS_USE_RCU: lock-free readers may run beside the writer
	FlagHeightMask   Flags = 0x7C  // MT_FLAGS_HEIGHT_MASK
	FlagLockIRQ      Flags = 0x100 // MT_FLAGS_LOCK_IRQ
	FlagLockBH       Flags = 0x200 // MT_FLAGS_LOCK_BH
	FlagLockExtern   Flags = 0x300 // MT_FLAGS_LOCK_EXTERN
	FlagAllocWrapped Flags = 0x800 // MT_FLAGS_ALLOC_WRAPPED: AllocCyclic wrapped
	flagsHeightShift       = 2     // MT_FLAGS_HEIGHT_OFFSET
)

// String prints the flags by their kernel names.
func (f Flags) String() string {
	var parts []string
	if f&FlagAllocRange != 0 {
		parts = append(parts, "ALLOC_RANGE")
	}
	if f&FlagUseRCU != 0 {
		parts = append(parts, "USE_RCU")
	}
	switch f & FlagLockExtern {
	case FlagLockIRQ:
		parts = append(parts, "LOCK_IRQ")
	case FlagLockBH:
		parts = append(parts, "LOCK_BH")
	case FlagLockExtern:
		parts = append(parts, "LOCK_EXTERN")
	}
	if f&FlagAllocWrapped != 0 {
		parts = append(parts, "ALLOC_WRAPPED")
	}
	if h := (f & FlagHeightMask) >> flagsHeightShift; h != 0 {
		parts = append(parts, "height="+itoa(uint64(h)))
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "|")
}

// maxCachedNodes bounds the per-tree cache of freed nodes (the slab's
// per-cpu cache in the kernel). Only nodes freed outside RCU mode enter it.
const maxCachedNodes = 64

// Tree is struct maple_tree: a map from ranges of uint64 indices to entries.
//
// Writers are serialised by the tree's mutex, which the Tree methods take
// themselves (mtree_*); State users that may race with other writers hold it
// with Lock/Unlock, as kernel code holds mtree_lock around mas_* calls.
// Readers (Load, Find, ForEach, Next, Prev and a State used only to read)
// take no lock: in RCU mode (FlagUseRCU) they may run concurrently with one
// writer, as with rcu_read_lock in the kernel. The Go garbage collector
// plays the role of call_rcu for replaced nodes.
//
// A Tree must not be copied after first use.
type Tree struct {
	mu    sync.Mutex
	flags atomic.Uint32

	// The root is ma_root: nil, a node, or a bare entry at index 0. The
	// node pointer is one word; the bare entry is a word pair guarded by
	// rootSeq, which is odd while the root changes shape.
	rootSeq  atomic.Uint32
	rootNode unsafe.Pointer // *node
	rootTyp  unsafe.Pointer
	rootData unsafe.Pointer
	// rootMark is what the root node's parent word points at (the kernel
	// stores the tree pointer with bit 0 set).
	rootMark uint8

	cache      *node // freed nodes chained through slot[0]
	cacheCount int

	allocFail func() bool
	// wmas is the State the Tree's write methods use under the lock.
	wmas State
	// preallocMisses counts nodes taken beyond the preallocated count; the
	// kernel would crash there, the tests assert it stays 0.
	preallocMisses int
}

// New returns an empty tree with the given flags (mt_init_flags). Only the
// non-height bits are kept.
func New(flags Flags) *Tree {
	t := &Tree{}
	t.flags.Store(uint32(flags &^ FlagHeightMask))
	return t
}

// Flags returns the tree's ma_flags, height bits included.
func (t *Tree) Flags() Flags { return Flags(t.flags.Load()) }

// Height models mt_height: 0 for an empty tree or a bare root entry, 1 for a
// single leaf, one more per level above.
func (t *Tree) Height() int {
	return int((t.flags.Load() & uint32(FlagHeightMask)) >> flagsHeightShift)
}

// setHeight models mt_set_height.
func (t *Tree) setHeight(h int) {
	if h > MapleHeightMax {
		h = MapleHeightMax
	}
	f := t.flags.Load() &^ uint32(FlagHeightMask)
	t.flags.Store(f | uint32(h)<<flagsHeightShift)
}

func (t *Tree) setFlag(f Flags, on bool) {
	v := t.flags.Load()
	if on {
		v |= uint32(f)
	} else {
		v &^= uint32(f)
	}
	t.flags.Store(v)
}

// isAlloc models mt_is_alloc.
func (t *Tree) isAlloc() bool { return t.flags.Load()&uint32(FlagAllocRange) != 0 }

// InRCU models mt_in_rcu.
func (t *Tree) InRCU() bool { return t.flags.Load()&uint32(FlagUseRCU) != 0 }

// SetRCU switches RCU mode on or off (mt_set_in_rcu / mt_clear_in_rcu).
// Readers may only run beside a writer while RCU mode is on.
func (t *Tree) SetRCU(on bool) {
	t.mu.Lock()
	t.setFlag(FlagUseRCU, on)
	t.mu.Unlock()
}

// Lock takes the tree's writer lock (mtree_lock). The Tree methods lock for
// themselves; hold it around State writes that could race with other writers.
func (t *Tree) Lock() { t.mu.Lock() }

// Unlock releases the writer lock (mtree_unlock).
func (t *Tree) Unlock() { t.mu.Unlock() }

// Empty models mtree_empty: the root pointer is NULL.
func (t *Tree) Empty() bool {
	n, w := t.loadRoot()
	return n == nil && w.isNull()
}

// SetNodeAllocFailure installs fail, consulted before every node allocation;
// when it returns true the allocation fails and the operation returns
// ENOMEM with the tree unchanged (the userspace harness's
// mt_set_non_kernel). A nil fail restores normal allocation.
func (t *Tree) SetNodeAllocFailure(fail func() bool) {
	t.mu.Lock()
	t.allocFail = fail
	t.mu.Unlock()
}

// rootMarkPtr is the parent word of the root node.
func (t *Tree) rootMarkPtr() unsafe.Pointer { return unsafe.Pointer(&t.rootMark) }

// isRoot models ma_is_root for a node of this tree.
func (t *Tree) isRoot(n *node) bool {
	return atomic.LoadPointer(&n.parent) == unsafe.Pointer(&t.rootMark)
}

// setRootParent gives n the root's parent word (mas_tree_parent).
func (t *Tree) setRootParent(n *node) {
	atomic.StorePointer(&n.parent, unsafe.Pointer(&t.rootMark))
}

// parentSlot models mte_parent_slot: 0 for the root.
func (t *Tree) parentSlot(n *node) uint8 {
	p := atomic.LoadPointer(&n.parent)
	if p == unsafe.Pointer(&t.rootMark) {
		return 0
	}
	return parentSlotOf(p)
}

// loadRoot models mas_root for any context: the root node, or the bare
// entry (NULL when the tree is empty).
func (t *Tree) loadRoot() (n *node, w eword) {
	// The common case, a root node, is kept small enough to inline.
	if n = (*node)(atomic.LoadPointer(&t.rootNode)); n == nil {
		n, w = t.loadRootEntry()
	}
	return n, w
}

// loadRootEntry is loadRoot's slow path: the root is (or was, a moment ago)
// a bare entry or NULL.
func (t *Tree) loadRootEntry() (*node, eword) {
	for {
		if n := (*node)(atomic.LoadPointer(&t.rootNode)); n != nil {
			return n, eword{}
		}
		s := t.rootSeq.Load()
		if s&1 != 0 {
			runtime.Gosched()
			continue
		}
		if n := (*node)(atomic.LoadPointer(&t.rootNode)); n != nil {
			return n, eword{}
		}
		w := loadEword(&t.rootTyp, &t.rootData)
		if t.rootSeq.Load() == s {
			return nil, w
		}
	}
}

// publishRoot makes n the root node (rcu_assign_pointer(mt->ma_root, ...)).
func (t *Tree) publishRoot(n *node) {
	if t.rootTyp == nil {
		atomic.StorePointer(&t.rootNode, unsafe.Pointer(n))
		return
	}
	t.rootSeq.Add(1)
	atomic.StorePointer(&t.rootNode, unsafe.Pointer(n))
	atomic.StorePointer(&t.rootTyp, nil)
	atomic.StorePointer(&t.rootData, nil)
	t.rootSeq.Add(1)
}

// publishRootEntry makes w the bare root entry (or empties the tree).
func (t *Tree) publishRootEntry(w eword) {
	t.rootSeq.Add(1)
	atomic.StorePointer(&t.rootNode, nil)
	atomic.StorePointer(&t.rootTyp, w.typ)
	atomic.StorePointer(&t.rootData, w.data)
	t.rootSeq.Add(1)
}

// newNode returns a zeroed node of type typ from the cache or the heap, or
// nil when the allocation-failure hook says so.
func (t *Tree) newNode(typ nodeType) *node {
	n := t.allocNode()
	if n != nil {
		n.reset(typ)
	}
	return n
}

// allocNode models mt_alloc_one: a node from the cache or the heap, not yet
// cleared (a preallocated node is cleared when it is popped, as
// mas_pop_node clears it), or nil when the allocation-failure hook says so.
func (t *Tree) allocNode() *node {
	if t.allocFail != nil && t.allocFail() {
		return nil
	}
	n := t.cache
	if n == nil {
		return new(node)
	}
	t.cache = (*node)(n.slots[0].data)
	t.cacheCount--
	return n
}

// freeNode returns a node that no reader can reach to the cache
// (kmem_cache_free outside RCU mode). The node keeps its dead mark until it
// is reused; like the kernel's allocator, the cache links through slot 0.
func (t *Tree) freeNode(n *node) {
	if t.cacheCount >= maxCachedNodes {
		return
	}
	n.slots[0].typ = nil
	n.slots[0].data = unsafe.Pointer(t.cache)
	t.cache = n
	t.cacheCount++
}

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

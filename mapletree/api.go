package mapletree

import (
	"github.com/arenasim/arenasim/internal/errno"
)

// store is mas_store_gfp at the word level: preallocate, then write.
func (mas *State) store(entry eword) error {
	wr := newWrState(mas, entry)
	wr.preallocate()
	if mas.isErr() {
		err := mas.err
		mas.Destroy()
		return err
	}
	wr.storeEntry()
	mas.Destroy()
	return nil
}

// Store models mas_store_gfp: write entry over [Index, Last]. A nil entry
// erases (part of) any ranges there. It fails with EINVAL when Index >
// Last and with ENOMEM when a node cannot be allocated (the tree is then
// unchanged). Hold the tree's lock if other goroutines write.
func (mas *State) Store(entry any) error {
	if mas.index > mas.last {
		mas.setErr(errno.EINVAL)
		return errno.Errorf(errno.EINVAL, "mapletree: store: index %#x > last %#x", mas.index, mas.last)
	}
	return mas.store(pack(entry))
}

// Erase models mas_erase: find the range holding Index, erase all of it,
// set [Index, Last] to it and return the entry that was there (nil if
// none). If a node cannot be allocated the entry stays and Err reports
// ENOMEM.
func (mas *State) Erase() any {
	if !mas.isActive() || !mas.isStart() {
		mas.status = StatusStart
	}
	w := mas.stateWalk()
	if w.isNull() {
		return nil
	}
	// Walk again from the root: a NULL over the last slot of a leaf
	// must be seen as spanning.
	mas.Reset()
	wr := newWrState(mas, eword{})
	wr.preallocate()
	if !mas.isErr() {
		wr.storeEntry()
	}
	mas.Destroy()
	return w.unpack()
}

// Insert models mas_insert (through mtree_insert_range's use of it): store
// entry over [Index, Last] only if every index there is empty (ZeroEntry
// counts as occupied); EEXIST otherwise.
func (mas *State) Insert(entry any) error {
	mas.insert(pack(entry))
	err := mas.Err()
	mas.Destroy()
	return err
}

// storeRangeOK reports whether a store of entry over [first, last] may
// proceed: not a reserved entry, not an empty range (small enough to
// inline; checkStoreEntry builds the error).
func storeRangeOK(first, last uint64, entry any) bool {
	return first <= last && !isAdvanced(entry)
}

// checkStoreEntry is the EINVAL for a store that storeRangeOK refused.
func checkStoreEntry(op string, first, last uint64, entry any) error {
	if isAdvanced(entry) {
		return errno.Errorf(errno.EINVAL, "mapletree: %s: reserved entry %v", op, entry)
	}
	return errno.Errorf(errno.EINVAL, "mapletree: %s: first %#x > last %#x", op, first, last)
}

// writeState returns the tree's own State, reset to [first, last], for the
// Tree methods that write; they hold the lock, so one State serves them all
// and a write allocates no State.
func (t *Tree) writeState(first, last uint64) *State {
	mas := &t.wmas
	if mas.alloc != nil {
		mas.destroy()
	}
	// The fields NewState sets, one by one: cheaper than a whole-struct
	// assignment, which pays write barriers for every pointer field.
	mas.tree = t
	mas.index, mas.last = first, last
	mas.node = nil
	mas.min, mas.max = 0, maxIndex
	mas.status = StatusStart
	mas.depth, mas.offset, mas.flags, mas.end = 0, 0, 0, 0
	mas.storeType = wrInvalid
	mas.err = 0
	return mas
}

// StoreRange models mtree_store_range: write entry over [first, last],
// replacing whatever was there; a nil entry erases. It fails with EINVAL
// for a reserved entry (Internal values up to RetryEntry) or first > last,
// and with ENOMEM when a node cannot be allocated.
func (t *Tree) StoreRange(first, last uint64, entry any) error {
	if !storeRangeOK(first, last, entry) {
		return checkStoreEntry("store", first, last, entry)
	}
	t.mu.Lock()
	mas := t.writeState(first, last)
	err := mas.store(pack(entry))
	t.mu.Unlock()
	return err
}

// Store models mtree_store: StoreRange of one index.
func (t *Tree) Store(index uint64, entry any) error { return t.StoreRange(index, index, entry) }

// InsertRange models mtree_insert_range: store entry over [first, last]
// only if every index there is empty. It fails with EEXIST if any index is
// occupied (ZeroEntry counts), EINVAL for a reserved entry or first > last,
// ENOMEM when a node cannot be allocated. Inserting nil into an empty range
// succeeds and changes nothing.
func (t *Tree) InsertRange(first, last uint64, entry any) error {
	if !storeRangeOK(first, last, entry) {
		return checkStoreEntry("insert", first, last, entry)
	}
	t.mu.Lock()
	mas := t.writeState(first, last)
	mas.insert(pack(entry))
	err := mas.Err()
	mas.Destroy()
	t.mu.Unlock()
	return err
}

// Insert models mtree_insert: InsertRange of one index.
func (t *Tree) Insert(index uint64, entry any) error { return t.InsertRange(index, index, entry) }

// Erase models mtree_erase: remove the whole range holding index and return
// its entry (ZeroEntry included), or nil if index is empty.
func (t *Tree) Erase(index uint64) any {
	t.mu.Lock()
	mas := t.writeState(index, index)
	e := mas.Erase()
	t.mu.Unlock()
	return e
}

func (t *Tree) checkAlloc(op string, entry any) error {
	if !t.isAlloc() {
		return errno.Errorf(errno.EINVAL, "mapletree: %s: tree lacks MT_FLAGS_ALLOC_RANGE", op)
	}
	if isReserved(entry) {
		return errno.Errorf(errno.EINVAL, "mapletree: %s: reserved entry %v", op, entry)
	}
	return nil
}

// AllocRange models mtree_alloc_range: store entry over the lowest range of
// size empty indices inside [min, max] and return its start. It fails with
// EINVAL (tree without FlagAllocRange, reserved entry, size 0, min > max,
// window smaller than size), EBUSY (nothing fits) or ENOMEM.
func (t *Tree) AllocRange(entry any, size, min, max uint64) (uint64, error) {
	return t.allocRange("alloc_range", entry, size, min, max, (*State).EmptyArea)
}

// AllocRRange models mtree_alloc_rrange: like AllocRange but the highest
// fitting range.
func (t *Tree) AllocRRange(entry any, size, min, max uint64) (uint64, error) {
	return t.allocRange("alloc_rrange", entry, size, min, max, (*State).EmptyAreaRev)
}

func (t *Tree) allocRange(op string, entry any, size, min, max uint64,
	search func(*State, uint64, uint64, uint64) error) (uint64, error) {
	if err := t.checkAlloc(op, entry); err != nil {
		return 0, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	mas := t.writeState(0, 0)
	defer mas.Destroy()
	if err := search(mas, min, max, size); err != nil {
		return 0, err
	}
	mas.insert(pack(entry))
	if err := mas.Err(); err != nil {
		return 0, err
	}
	return mas.index, nil
}

// AllocCyclic models mtree_alloc_cyclic: store entry at the first free
// index at or after *next inside [lo, hi], wrapping to lo when nothing is
// free above; *next becomes the index after the one returned. wrapped
// reports a wrap (the kernel's return value 1), also when *next itself
// wrapped past ULONG_MAX on the previous call. Errors: EINVAL, EBUSY,
// ENOMEM.
func (t *Tree) AllocCyclic(entry any, lo, hi uint64, next *uint64) (start uint64, wrapped bool, err error) {
	if err := t.checkAlloc("alloc_cyclic", entry); err != nil {
		return 0, false, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	mas := t.writeState(0, 0)
	defer mas.Destroy()
	return mas.allocCyclic(entry, lo, hi, next)
}

// allocCyclic models mas_alloc_cyclic.
func (mas *State) allocCyclic(entry any, lo, hi uint64, next *uint64) (uint64, bool, error) {
	t := mas.tree
	min := lo
	lo = max(min, *next)
	wrapped := false
	err := mas.EmptyArea(lo, hi, 1)
	if err == nil && t.Flags()&FlagAllocWrapped != 0 {
		t.setFlag(FlagAllocWrapped, false)
		wrapped = true
	}
	if err != nil && lo > min {
		mas.Reset()
		err = mas.EmptyArea(min, hi, 1)
		if err == nil {
			wrapped = true
		}
	}
	if err != nil {
		return 0, false, err
	}
	mas.insert(pack(entry))
	if err := mas.Err(); err != nil {
		return 0, false, err
	}
	start := mas.index
	*next = start + 1
	if *next == 0 {
		t.setFlag(FlagAllocWrapped, true)
	}
	return start, wrapped, nil
}

// EmptyArea models mas_empty_area on a fresh State under the tree's lock:
// the lowest range of size empty indices inside [min, max]. Gaps are only
// tracked in allocation trees: on a plain tree taller than one leaf the
// kernel's walk cannot descend and reports EBUSY.
func (t *Tree) EmptyArea(min, max, size uint64) (first, last uint64, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mas := t.writeState(0, 0)
	if err := mas.EmptyArea(min, max, size); err != nil {
		return 0, 0, err
	}
	return mas.index, mas.last, nil
}

// EmptyAreaRev models mas_empty_area_rev on a fresh State under the tree's
// lock: the highest range of size empty indices inside [min, max].
func (t *Tree) EmptyAreaRev(min, max, size uint64) (first, last uint64, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mas := t.writeState(0, 0)
	if err := mas.EmptyAreaRev(min, max, size); err != nil {
		return 0, 0, err
	}
	return mas.index, mas.last, nil
}

// Destroy models mtree_destroy: drop every entry and node. The tree keeps
// its flags but its height becomes 0.
func (t *Tree) Destroy() {
	t.mu.Lock()
	defer t.mu.Unlock()
	root, _ := t.loadRoot()
	t.publishRootEntry(eword{})
	if root != nil {
		t.destroySubtree(root)
	}
	t.flags.Store(t.flags.Load() &^ uint32(FlagHeightMask))
}

// Preallocate models mas_preallocate: decide how entry will be written over
// [Index, Last] and allocate every node that write can need, so that
// StorePrealloc cannot fail. The VMA code pairs the two to write under a
// lock it must not drop. On ENOMEM the State is reset and holds no nodes.
func (mas *State) Preallocate(entry any) error {
	wr := newWrState(mas, pack(entry))
	wr.preallocSetup()
	mas.storeType = wr.storeType()
	if req := wr.preallocCalc(); req != 0 {
		mas.flags &^= maStatePrealloc
		mas.nodeCount(req)
		if mas.isErr() {
			err := mas.err
			mas.Destroy()
			mas.Reset()
			return err
		}
	}
	mas.flags |= maStatePrealloc
	return nil
}

// StorePrealloc models mas_store_prealloc: perform the write Preallocate
// prepared (same State, same range, same entry, tree unchanged since), then
// release any nodes left over.
func (mas *State) StorePrealloc(entry any) {
	wr := newWrState(mas, pack(entry))
	if mas.storeType == wrStoreRoot {
		wr.preallocSetup()
	} else {
		wr.walkDescend()
		if mas.storeType != wrSpanningStore {
			wr.content = wr.slotContent(mas.offset)
			wr.endPivot()
		}
	}
	wr.storeEntry()
	mas.Destroy()
}

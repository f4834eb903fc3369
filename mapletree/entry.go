package mapletree

import (
	"sync/atomic"
	"unsafe"
)

// Internal is an entry in the kernel's "internal" encoding (xa_mk_internal:
// the value shifted left by two with the low bits 10). The kernel keeps such
// values for itself: Internal(v) with v <= 256 ("advanced" entries, up to
// XA_RETRY_ENTRY) is refused by Store, StoreRange, Insert and InsertRange,
// and every v < 1024 (an encoded value below MAPLE_RESERVED_RANGE) is
// refused by AllocRange and AllocRRange. ZeroEntry is Internal(257).
//
// Any other Go value may be stored; a nil interface is the kernel's NULL.
type Internal uint64

// Internal entries the kernel names (include/linux/xarray.h).
const (
	// RetryEntry is XA_RETRY_ENTRY, the largest "advanced" entry.
	RetryEntry Internal = 256
	// ZeroEntry is XA_ZERO_ENTRY: it occupies its range (inserts over it
	// fail with EEXIST, gap searches skip it) but Load, Find and ForEach
	// report it as empty. The State iterators do return it.
	ZeroEntry Internal = 257
)

// mapleReservedRange is MAPLE_RESERVED_RANGE: encoded internal values below
// it are reserved for the tree itself.
const mapleReservedRange = 4096

// Encoded returns the machine word the kernel would store: (v << 2) | 2.
func (v Internal) Encoded() uint64 { return uint64(v)<<2 | 2 }

// isAdvanced models xa_is_advanced: an internal entry no larger than
// XA_RETRY_ENTRY.
func isAdvanced(e any) bool {
	v, ok := e.(Internal)
	return ok && v <= RetryEntry
}

// isReserved models mt_is_reserved: an internal entry whose encoded value is
// below MAPLE_RESERVED_RANGE.
func isReserved(e any) bool {
	v, ok := e.(Internal)
	return ok && v.Encoded() < mapleReservedRange
}

// isInternal reports whether e has the kernel's internal bit pattern (low
// bits 10), which cannot live in the root pointer (mas_store_root).
func isInternal(e any) bool {
	_, ok := e.(Internal)
	return ok
}

// isZero models xa_is_zero.
func isZero(e any) bool {
	v, ok := e.(Internal)
	return ok && v == ZeroEntry
}

// eword is an entry split into the two machine words of a Go interface value:
// its type word and its data word.
//
// The kernel publishes a slot with one pointer store (rcu_assign_pointer).
// A Go interface is two words and Go has no two-word atomic store, so a leaf
// keeps the two words in parallel arrays, readers load each word atomically,
// and a per-node sequence count (node.seq) lets a lock-free reader notice a
// pair torn by a concurrent in-place store and retry. The representation
// keeps loads allocation-free: rebuilding the interface copies two words.
//
// Its layout is the runtime's layout of an empty interface (type word,
// then data word), so pack and unpack are plain two-word copies.
type eword struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// pack splits e into its words.
func pack(e any) eword {
	return *(*eword)(unsafe.Pointer(&e))
}

// unpack rebuilds the interface value from its words.
func (w eword) unpack() any {
	return *(*any)(unsafe.Pointer(&w))
}

// isNull reports the kernel's NULL: a nil interface has no type word.
func (w eword) isNull() bool { return w.typ == nil }

// loadEword reads a slot pair with atomic loads (one word at a time; the
// caller validates the pair with the node's sequence count).
func loadEword(typ, data *unsafe.Pointer) eword {
	return eword{typ: atomic.LoadPointer(typ), data: atomic.LoadPointer(data)}
}

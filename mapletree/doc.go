// Package mapletree is a port of the Linux kernel's maple tree
// (lib/maple_tree.c and include/linux/maple_tree.h, Linux 6.16): an
// RCU-safe B-tree that maps ranges of uint64 indices to entries. The BPF
// arena keeps its allocated page offsets in one and a process keeps its
// VMAs in one.
//
// The port keeps the kernel's data layout and algorithms so that trees have
// the kernel's shape: 16-slot leaves and range64 internal nodes with 15
// pivots, 10-slot arange64 internal nodes with gap tracking in allocation
// trees (FlagAllocRange), node metadata, the leaf rules (no two adjacent
// NULL slots; only the right-most leaf may end in NULL), and every write
// path chosen as mas_wr_store_type chooses it: exact fit, append, slot
// store, node store, new root, split (with push left/right and the kernel's
// split points), spanning store and rebalance. Heights, node counts and node
// boundaries match the kernel's; the tests replay the kernel's own traces
// and tables.
//
// Entries are any Go value; a nil interface is NULL (empty). Internal
// holds the kernel's reserved "internal" entries: ZeroEntry
// (XA_ZERO_ENTRY) occupies its range but Load reports it empty, and the
// small internal values the kernel refuses are refused with EINVAL. Errors
// are Linux errno values (internal/errno).
//
// The Tree methods mirror the mtree_* API (Load, Store, StoreRange, Insert,
// InsertRange, Erase, AllocRange, AllocRRange, AllocCyclic, Find, FindAfter,
// ForEach, Next, Prev, Dup, Destroy, Validate, Dump); State is struct
// ma_state, the cursor of the mas_* API (Walk, Find, FindRev, Next, Prev
// and their *Range forms, Store, Erase, Insert, Preallocate with
// StorePrealloc, ExpectedEntries with Destroy, EmptyArea, EmptyAreaRev,
// Pause, Reset).
//
// Concurrency follows the kernel's RCU mode: writers are serialised by the
// tree's mutex; with FlagUseRCU (SetRCU) readers take no lock and may run
// beside the writer. Writers build new nodes and publish each with one
// atomic store, mark replaced nodes dead so that a reader standing in one
// walks again, and leave freeing to the garbage collector (call_rcu's
// role). Loads allocate nothing.
//
// Where the port departs from the C, and why:
//
//   - Entries are Go interface values (two words). A leaf keeps both words
//     of a slot side by side and a per-leaf sequence count lets lock-free
//     readers discard a pair torn by an in-place RCU store; the kernel
//     publishes one word.
//   - A node's parent word points at a byte inside the parent (links[s] ==
//     s), so parent and slot are still read in one atomic load; the kernel
//     tags the low bits of the parent pointer instead.
//   - Metadata has its own bytes rather than overlaying slot 15; it is read
//     and written under the kernel's rules, so the data end is the same.
//   - The big node keeps gaps apart from slots (the kernel overlays them
//     where they never collide), with one spare element per array.
//   - Nodes come from the Go heap and a small per-tree cache, but every
//     write still preallocates what mas_prealloc_calc asks for before it
//     changes anything, so SetNodeAllocFailure can make a write fail with
//     ENOMEM and leave the tree untouched.
//   - Dense nodes are not built (6.16's write paths never build them).
//   - Two kernel slips are not copied: mas_extend_spanning_null passes
//     mas_safe_pivot's arguments swapped in a branch that cannot run, and
//     mas_destroy_rebalance in RCU mode would replace the old parent with
//     itself; the intended code is used. Two real kernel behaviours are
//     kept and pinned by tests: mas_rev_awalk's wrap at ULONG_MAX and a
//     NULL insert that takes the new-root path.
//   - The lock-type flags are kept for their values; the tree always uses
//     its own mutex. There is no lockdep and there are no tracepoints.
package mapletree

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
// ma_state, the cursor of the mas_* API (Walk, Find, FindRev, Next, Prev,
// Store, Erase, EmptyArea, EmptyAreaRev, Pause, Reset).
//
// Concurrency follows the kernel's RCU mode: writers are serialised by the
// tree's mutex; with FlagUseRCU (SetRCU) readers take no lock and may run
// beside the writer. Writers build new nodes and publish each with one
// atomic store, mark replaced nodes dead so that a reader standing in one
// walks again, and leave freeing to the garbage collector (call_rcu's
// role). Loads allocate nothing.
package mapletree

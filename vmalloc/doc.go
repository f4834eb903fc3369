// Package vmalloc models the Linux kernel's vmap-area allocator
// (mm/vmalloc.c) on x86-64: the allocator that hands out ranges of the
// kernel's vmalloc window, such as the 4 GiB + 64 KiB window of a BPF arena.
//
// The model keeps the kernel's data structures and algorithms:
//
//   - Free address space is one red-black tree of maximal free blocks,
//     augmented with the largest block size in each subtree, searched for the
//     lowest block that fits an aligned request in O(log n)
//     (find_vmap_lowest_match). The tree follows lib/rbtree.c case for case,
//     so its shape, and the search's answer, match the kernel's.
//   - Like the kernel, the free space starts as [1, ULONG_MAX); each request
//     brings its own [vstart, vend]. VMALLOC_END is inclusive, so the last
//     page of the window can never be allocated.
//   - Busy and lazily freed areas live in per-node trees keyed by address;
//     with more than one node, purged areas of up to 256 pages wait in
//     per-node pools for the next request of the same size.
//   - Every area but VM_NO_GUARD ones gets a trailing guard page, inside the
//     area for lookups (FindVmapArea of the guard finds the area).
//   - Freed areas are lazy: unmapped but not reusable until a purge, which
//     does one TLB flush for all of them. The kernel purges from a work
//     item; the model purges at once, deterministically, when the lazy pages
//     exceed LazyMaxPages, when a search fails, and on VMUnmapAliases.
//
// Given the kernel page table (Config.PageTable, an mmu.PageTable in
// simulated RAM), New preallocates the tables one level below the root over
// the vmalloc range, as x86 does at boot, so mappings only ever add the
// lower levels and kernel tables are never freed. The mapping side then
// follows mm/vmalloc.c too: Vmalloc and Vfree (frames plus mapping, with a
// vmalloc'ed pages array for large areas), VMap and Vunmap,
// AreaMapPages/AreaUnmapPages for VM_SPARSE areas such as the BPF arena's
// (check_sparse_vm_area's order and errors, ENOMEM for any failure during
// the walk, no rollback), and VmallocToPage. Purges flush the TLB
// (Config.TLB) page by page, or completely beyond 33 pages, as x86's
// flush_tlb_kernel_range does.
//
// The entry points mirror the kernel's: GetVMArea (get_vm_area),
// GetVMAreaNode (__get_vm_area_node, aligned and ranged), FindVmapArea,
// FindVMArea, RemoveVMArea, FreeVMArea, VMUnmapAliases, and WriteInfo for a
// /proc/vmallocinfo listing. Where the kernel returns NULL, the Go function
// returns nil (or 0) and an errno error saying why. Fault injection can fail
// every allocation the kernel could fail: slab objects through Injector,
// frames (data pages, page tables) through mmu.PhysMem's fail hook; every
// error path leaves the allocator and the page table consistent, and Check
// verifies every invariant after any sequence of calls.
//
// Not modelled: early boot areas (vm_area_register_early), the per-CPU
// vmap blocks of vm_map_ram, huge vmalloc mappings, KASAN and KMSAN, purge
// notifiers. An Allocator is not safe for concurrent use; the machine
// serialises calls, as the kernel's locks would.
package vmalloc

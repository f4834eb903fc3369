// Package mmu models the memory-management hardware of an x86-64 machine
// and the kernel's lowest layer over it: physical memory, page tables,
// address translation with its faults, and the TLB.
//
// PhysMem is simulated RAM in 4 KiB frames, sparse so that a machine of
// 64 GiB costs only what is touched, with a Page descriptor per frame
// (refcount, mapcount, flags) and a frame allocator whose failures can be
// injected (FailHook, FailNth) and which zeroes on __GFP_ZERO.
//
// PTE is a paging-structure entry with the real bit layout and Linux's
// names and composite values (PageKernel is __PAGE_KERNEL,
// PageTableBits is _PAGE_TABLE, ...). A PageTable is a tree of such
// entries in frames of PhysMem, 4-level or 5-level (LA57), with 2 MiB and
// 1 GiB leaves; Map, MapPages, Unmap, Protect, Lookup, Leaves and
// Preallocate are small visitors driven by one range walker. A process
// page table shares the kernel half with the kernel's, as in Linux.
//
// An AddressSpace is what one CPU sees through a page table: registers
// (CR0.WP, CR3, CR4.PGE/PCIDE/SMEP/SMAP/PKE/PKS/LA57, EFER.NXE,
// RFLAGS.AC, PKRU, PKRS), a TLB, and loads and stores of 1, 2, 4 or 8
// bytes or byte slices at virtual addresses. Translation follows the
// hardware's check order exactly: #GP(0) for a non-canonical address, then
// a walk that checks present and reserved bits level by level and sets A,
// then the access rights, then A and D on the leaf. A refused access
// returns a Fault with the #PF error code (P, W, U, RSVD, I/D, PK) and CR2,
// an outcome rather than a Go error. Walk shows a translation step by step
// for teaching.
//
// The TLB caches successful translations with their permissions and is
// never told about page-table changes: software must Invlpg, InvlpgRange,
// FlushAll or LoadCR3, and until it does, stale entries are used, as on
// hardware. StaleTLBEntries reports them.
//
// There is no paging-structure cache: every TLB miss reads and checks the
// entries of all levels from simulated memory. What the simulator does
// remember, per table frame, is where in host memory the frames its
// entries name live (tableShadow), checked against the entry's value on
// every use, so that a level of the walk costs one load.
//
// Nothing here knows about Linux objects (mm_struct, VMAs, vmalloc areas);
// the packages above build those on this one. Values are not safe for
// concurrent use: the machine serialises them.
package mmu

package mmu

import (
	"fmt"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/internal/trace"
)

// PageTableConfig configures a PageTable. Zero fields take the defaults.
type PageTableConfig struct {
	// Mode is the number of levels; default FourLevel. A process table
	// takes the kernel table's mode.
	Mode PagingMode
	// FreeEmptyTables makes Unmap free the tables it leaves empty, as a
	// process's munmap eventually does through free_pgtables. Off, tables
	// stay once allocated, as the kernel's do: vmalloc never frees the
	// page tables of its range. Root-level entries of the kernel half are
	// never freed, since every process table shares what they point to.
	FreeEmptyTables bool
	// Name is the actor in trace events: "kernel", "pid 1", ...
	Name string
	// Tracer receives pte_set and pte_clear events; nil traces nothing.
	Tracer *trace.Tracer
}

// PageTable is a tree of paging structures in simulated physical memory,
// rooted at the frame CR3 points to. Each table is a frame of 512 PTEs;
// tables are allocated from PhysMem (page type "table") as mappings need
// them.
//
// A process page table shares the kernel half (root entries 256-511) with
// the kernel page table: it holds copies of the kernel root's entries, so
// both walk the same lower tables, as pgd_alloc arranges in Linux. Changes
// to kernel mappings are therefore made through the kernel table, and
// reach every process as long as they happen below the root level; that is
// why x86 preallocates the vmalloc range's second-level tables at boot
// (Preallocate).
//
// A PageTable is not safe for concurrent use.
type PageTable struct {
	pm        *PhysMem
	mode      PagingMode
	root      PFN
	kernel    *PageTable // the table whose kernel half a process table shares
	freeEmpty bool
	tables    [LevelPML5 + 1]int // tables owned, by level
	name      string
	tr        *trace.Tracer
	scratch   visitors // reused by Map, Unmap, Lookup and AllocTables
}

// NewPageTable allocates an empty root and returns a page table over it:
// the kernel's own (swapper_pg_dir) or any standalone one.
func NewPageTable(pm *PhysMem, cfg PageTableConfig) (*PageTable, error) {
	if cfg.Mode == 0 {
		cfg.Mode = FourLevel
	}
	if !cfg.Mode.Valid() {
		return nil, errno.Errorf(errno.EINVAL, "mmu: paging mode %d: want 4 or 5 levels", cfg.Mode)
	}
	pt := &PageTable{pm: pm, mode: cfg.Mode, freeEmpty: cfg.FreeEmptyTables, name: cfg.Name, tr: cfg.Tracer}
	root, err := pt.allocTable(cfg.Mode.Top(), 0)
	if err != nil {
		return nil, err
	}
	pt.root = root
	return pt, nil
}

// NewProcessPageTable returns a process page table whose kernel half is
// shared with kernel: a fresh root whose entries 256-511 are copies of
// kernel's. It models pgd_alloc and pgd_ctor (arch/x86/mm/pgtable.c);
// cfg.Mode is ignored.
func NewProcessPageTable(kernel *PageTable, cfg PageTableConfig) (*PageTable, error) {
	pt := &PageTable{pm: kernel.pm, mode: kernel.mode, kernel: kernel, freeEmpty: cfg.FreeEmptyTables, name: cfg.Name, tr: cfg.Tracer}
	root, err := pt.allocTable(pt.mode.Top(), 0)
	if err != nil {
		return nil, err
	}
	pt.root = root
	src, dst := kernel.pm.frame(kernel.root), pt.pm.frame(root)
	copy(dst[PageSize/2:], src[PageSize/2:])
	return pt, nil
}

// Mode returns the paging mode.
func (pt *PageTable) Mode() PagingMode { return pt.mode }

// Root returns the root table's frame; its address is what CR3 holds.
func (pt *PageTable) Root() PFN { return pt.root }

// PhysMem returns the memory the tables live in.
func (pt *PageTable) PhysMem() *PhysMem { return pt.pm }

// FreeEmptyTables reports whether Unmap frees the tables it leaves empty
// (PageTableConfig.FreeEmptyTables).
func (pt *PageTable) FreeEmptyTables() bool { return pt.freeEmpty }

// Kernel returns the kernel table a process table shares its upper half
// with, or nil.
func (pt *PageTable) Kernel() *PageTable { return pt.kernel }

// Tables returns how many tables of level l this page table owns (shared
// kernel tables belong to the kernel table).
func (pt *PageTable) Tables(l Level) int {
	if l > LevelPML5 {
		return 0
	}
	return pt.tables[l]
}

// TableFrames returns the number of frames holding this page table's
// tables, the root included.
func (pt *PageTable) TableFrames() int {
	n := 0
	for _, c := range pt.tables {
		n += c
	}
	return n
}

// tableSites names the allocation of a new table of each level.
var tableSites = [...]string{LevelPT: "pte_alloc", LevelPD: "pmd_alloc", LevelPDPT: "pud_alloc", LevelPML4: "p4d_alloc", LevelPML5: "pgd_alloc"}

// allocTable allocates a zeroed table of level l for the range at va, with
// GFP_PGTABLE_KERNEL for the kernel's tables and GFP_PGTABLE_USER for a
// process's (asm-generic/pgalloc.h).
func (pt *PageTable) allocTable(l Level, va uint64) (PFN, error) {
	gfp := GFPPGTableKernel
	if pt.kernel != nil {
		gfp = GFPPGTableUser
	}
	site := tableSites[l]
	if l == pt.mode.Top() {
		site = "pgd_alloc"
	}
	pfn, err := pt.pm.AllocPageAt(site, gfp)
	if err != nil {
		return 0, fmt.Errorf("%w, for the %s table of 0x%x", err, l, va)
	}
	pt.pm.setTable(pfn, true)
	pt.tables[l]++
	return pfn, nil
}

func (pt *PageTable) freeTable(pfn PFN, l Level) {
	pt.pm.setTable(pfn, false)
	// The frame was allocated here with one reference, so this cannot fail.
	_ = pt.pm.PutPage(pfn)
	pt.tables[l]--
}

// set writes v into the entry at r (for the range at va) and traces it.
func (pt *PageTable) set(r entryRef, va uint64, l Level, v PTE) {
	r.store(v)
	if pt.tr.On(trace.PTESet) {
		pt.tr.Emit(trace.Event{Kind: trace.PTESet, Who: pt.name, Addr: va, Val: uint64(v),
			Text: fmt.Sprintf("%s[%d] @0x%x %s", l, r.idx, r.pa, v.FlagsAt(l))})
	}
}

// clear zeroes the entry at r and traces the old value.
func (pt *PageTable) clear(r entryRef, va uint64, l Level) {
	old := r.load()
	r.store(0)
	if pt.tr.On(trace.PTEClear) {
		pt.tr.Emit(trace.Event{Kind: trace.PTEClear, Who: pt.name, Addr: va, Val: uint64(old),
			Text: fmt.Sprintf("%s[%d] @0x%x was %s", l, r.idx, r.pa, old.FlagsAt(l))})
	}
}

// checkRange validates [va, va+size) for an operation and returns its last
// byte: page-aligned, not empty, not wrapping, canonical, in one half, and
// for changes through a process table, not in the shared kernel half.
func (pt *PageTable) checkRange(op string, va, size uint64, change bool) (uint64, error) {
	last := va + size - 1
	switch {
	case va&pageOffsetMask != 0 || size&pageOffsetMask != 0:
		return 0, errno.Errorf(errno.EINVAL, "mmu: %s 0x%x+0x%x: not page-aligned", op, va, size)
	case size == 0:
		return 0, errno.Errorf(errno.EINVAL, "mmu: %s 0x%x: empty range", op, va)
	case last < va:
		return 0, errno.Errorf(errno.EINVAL, "mmu: %s 0x%x+0x%x: wraps around", op, va, size)
	case !pt.mode.Canonical(va) || !pt.mode.Canonical(last) || kernelHalf(va) != kernelHalf(last):
		return 0, errno.Errorf(errno.EINVAL, "mmu: %s 0x%x+0x%x: not canonical or crosses the hole", op, va, size)
	case change && pt.kernel != nil && kernelHalf(va):
		return 0, errno.Errorf(errno.EINVAL, "mmu: %s 0x%x: the kernel half is shared; change it through the kernel page table", op, va)
	}
	return last, nil
}

// Free releases every table this page table owns, the root last; shared
// kernel tables stay. Leaf frames are not touched: unmapping them first is
// the caller's business. The page table must not be used afterwards. It
// models free_pgtables and pgd_free for a process, or a teardown.
func (pt *PageTable) Free() {
	pt.freeLevel(pt.root, pt.mode.Top())
}

func (pt *PageTable) freeLevel(table PFN, l Level) {
	if t := pt.pm.peek(table); t != nil && l > LevelPT {
		n := PtrsPerTable
		if l == pt.mode.Top() && pt.kernel != nil {
			n /= 2 // the kernel half belongs to the kernel table
		}
		for i := range n {
			e := entryRef{table: t, idx: i}.load()
			if e.Present() && !e.IsLeaf(l) {
				pt.freeLevel(e.PFN(), l-1)
			}
		}
	}
	pt.freeTable(table, l)
}

// String summarises the table: "kernel: 4-level, root pfn 0x100, 3 tables".
func (pt *PageTable) String() string {
	return fmt.Sprintf("%s: %v, root %v, %d tables", pt.name, pt.mode, pt.root, pt.TableFrames())
}

package vmalloc

import (
	"math/bits"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/internal/trace"
	"github.com/arenasim/arenasim/mmu"
)

// IoremapMaxOrder is IOREMAP_MAX_ORDER on x86-64: ioremap areas are
// aligned to at most 2^19 bytes (128 pages).
const IoremapMaxOrder = 7 + PageShift

// Config describes the machine the allocator serves.
type Config struct {
	// PageTable is the kernel page table (init_mm) that vmalloc maps
	// into; New preallocates its vmalloc range, and refuses (EINVAL) a
	// table that frees empty tables, since vmalloc's never are. Without
	// one the allocator only hands out addresses, and mapping calls fail
	// with EINVAL.
	PageTable *mmu.PageTable
	// TLB is flushed when lazily freed ranges are purged and when sparse
	// pages are unmapped; nil when no CPU caches translations.
	TLB TLBFlusher
	// PTI drops the global bit from PAGE_KERNEL, as page-table isolation
	// does (__default_kernel_pte_mask).
	PTI bool
	// Levels is the paging depth, 4 or 5; default the page table's, or 4.
	Levels int
	// VmallocBase is vmalloc_base; 0 means the unrandomised
	// VMALLOC_START of the paging depth.
	VmallocBase uint64
	// CPUs is the number of online CPUs, which sets lazy_max_pages
	// (default 2).
	CPUs int
	// Nodes is nr_vmap_nodes (default 1, the setting of the reference
	// test cases). A booted kernel uses clamp(possible CPUs, 1, 128);
	// with more than one node, purged areas of up to 256 pages go to
	// per-node pools and are reused by the same node.
	Nodes int
	// Inject, if set, makes chosen allocations fail.
	Inject Injector
	// Tracer receives vmap events; nil traces nothing.
	Tracer *trace.Tracer
}

// Allocator is the kernel's vmap-area allocator (mm/vmalloc.c). Free
// address space lives in one red-black tree augmented with the largest
// free block of each subtree; busy and lazily freed areas live in per-node
// trees keyed by address. Like the kernel, the free space starts as
// [1, ULONG_MAX) and the vmalloc window is enforced by each request's
// [vstart, vend].
//
// The zero Allocator is not initialised: allocations fail with EBUSY and
// lookups find nothing, as before vmalloc_init.
type Allocator struct {
	layout      Layout
	cpus        int
	cpu         int // the CPU the simulated caller runs on
	initialized bool

	free      rbList // free_vmap_area_root and free_vmap_area_list
	nodes     []vmapNode
	zoneShift uint        // log2 of vmap_zone_size
	preload   []*vmapArea // ne_fit_preload_node, per CPU
	lazyNr    uint64      // vmap_lazy_nr, in pages
	cache     vaCache
	mm        *kernelMM // nil without a kernel page table
	nrPages   uint64    // nr_vmalloc_pages

	inject Injector
	tr     *trace.Tracer
	stats  Stats
	warn   string

	// scratch lists and tree reused by purges, so they allocate nothing
	decay      rbList
	scratch    areaList
	local      areaList
	purgeNodes []bool
}

// Stats counts what the allocator did, for tests and the teaching tools.
type Stats struct {
	Purges         int    // lazy purges run (__purge_vmap_area_lazy calls)
	PurgedAreas    int    // lazy areas they released
	TLBFlushes     int    // flush_tlb_kernel_range calls made by purges
	LastFlushStart uint64 // range of the latest purge flush
	LastFlushEnd   uint64
	Warnings       int // kernel WARNs hit
}

// New returns an initialised allocator (vmalloc_init with no early areas).
func New(cfg Config) (*Allocator, error) {
	if cfg.Levels == 0 {
		cfg.Levels = 4
		if cfg.PageTable != nil {
			cfg.Levels = int(cfg.PageTable.Mode())
		}
	}
	layout, err := NewLayout(cfg.Levels, cfg.VmallocBase)
	if err != nil {
		return nil, err
	}
	if cfg.CPUs == 0 {
		cfg.CPUs = 2
	}
	if cfg.Nodes == 0 {
		cfg.Nodes = 1
	}
	if cfg.CPUs < 1 || cfg.CPUs > 8192 {
		return nil, errno.Errorf(errno.EINVAL, "vmalloc: %d CPUs", cfg.CPUs)
	}
	if cfg.Nodes < 1 || cfg.Nodes > MaxVmapNodes {
		return nil, errno.Errorf(errno.EINVAL, "vmalloc: %d vmap nodes (want 1..%d)", cfg.Nodes, MaxVmapNodes)
	}
	a := &Allocator{
		layout: layout, cpus: cfg.CPUs, inject: cfg.Inject, tr: cfg.Tracer,
		nodes:      make([]vmapNode, cfg.Nodes),
		preload:    make([]*vmapArea, cfg.CPUs),
		purgeNodes: make([]bool, cfg.Nodes),
	}
	if cfg.Nodes > 1 {
		a.zoneShift = uint(bits.TrailingZeros64(VmapZonePages * PageSize))
	}
	for i := range a.nodes {
		a.nodes[i].init()
	}
	if cfg.PageTable != nil {
		if err := a.initKernelMM(cfg); err != nil {
			return nil, err
		}
	}
	a.free.init(true)
	a.decay.init(false)
	a.scratch.init()
	a.local.init()
	// vmap_init_free_space: with no early areas the whole KVA space
	// [1, ULONG_MAX) is one free block. Boot allocations do not fail.
	va := a.cache.alloc(nil, SiteVmapArea)
	va.start, va.end = 1, ULongMax
	insertVA(va, &a.free, nil)
	a.initialized = true
	return a, nil
}

// Layout returns the address-space layout the allocator serves.
func (a *Allocator) Layout() Layout { return a.layout }

// Stats returns the counters.
func (a *Allocator) Stats() Stats { return a.stats }

// LastWarning returns the text of the latest kernel WARN, or "".
func (a *Allocator) LastWarning() string { return a.warn }

// SetCPU makes later calls run on the given CPU, which picks the vmap node
// and the preloaded split descriptor.
func (a *Allocator) SetCPU(cpu int) error {
	if cpu < 0 || cpu >= a.cpus {
		return errno.Errorf(errno.EINVAL, "vmalloc: cpu %d of %d", cpu, a.cpus)
	}
	a.cpu = cpu
	return nil
}

// LazyMaxPages is lazy_max_pages: fls(online CPUs) * 32 MiB of pages. Once
// more lazily freed pages than this accumulate, they are purged.
func (a *Allocator) LazyMaxPages() uint64 {
	return uint64(bits.Len(uint(a.cpus))) * (32 << 20 / PageSize)
}

// LazyPages returns vmap_lazy_nr: pages freed but not yet purged.
func (a *Allocator) LazyPages() uint64 { return a.lazyNr }

// preloadThisCPU fills the current CPU's spare split descriptor if it is
// empty; failure is silent, the split then tries a non-blocking allocation
// (preload_this_cpu_lock).
func (a *Allocator) preloadThisCPU() {
	if a.preload[a.cpu] == nil {
		a.preload[a.cpu] = a.cache.alloc(a.inject, SiteVmapArea)
	}
}

// allocVmapArea reserves size bytes aligned to align within [vstart, vend]
// and records the area as busy, bound to vm if given. Errors: EINVAL for a
// zero or unaligned size or a bad alignment, EBUSY before initialisation
// or when no space is left even after a purge, ENOMEM when the descriptor
// cannot be allocated. Models alloc_vmap_area.
func (a *Allocator) allocVmapArea(size, align, vstart, vend uint64, vaFlags uint32, vm *VMStruct) (*vmapArea, error) {
	if size == 0 || !pageAligned(size) || !isPowerOf2(align) {
		return nil, errno.Errorf(errno.EINVAL, "alloc_vmap_area: size %#x align %#x", size, align)
	}
	if !a.initialized {
		return nil, errno.Errorf(errno.EBUSY, "alloc_vmap_area: vmalloc not initialised")
	}
	var addr uint64
	var err error = errno.EINVAL // no address yet
	va, vnID := a.nodeAlloc(size, align, vstart, vend)
	if va != nil {
		addr, err = va.start, nil
	} else if va = a.cache.alloc(a.inject, SiteVmapArea); va == nil {
		return nil, errno.Errorf(errno.ENOMEM, "alloc_vmap_area: no vmap_area")
	}
	for purged := false; ; purged = true {
		if err != nil {
			a.preloadThisCPU()
			addr, err = a.allocFromFree(size, align, vstart, vend)
		}
		if err == nil || purged {
			break
		}
		// overflow: release everything lazily freed and retry once.
		// (No purge notifiers are registered in the model.)
		a.purgeLazy(ULongMax, 0, true)
	}
	if err != nil {
		a.warnf("vmalloc_node_range for size %d failed: Address range restricted to %#x - %#x", size, vstart, vend)
		a.cache.release(va)
		return nil, errno.Errorf(errno.EBUSY, "alloc_vmap_area: %#x bytes in %#x-%#x: %v", size, vstart, vend, errno.Of(err))
	}
	va.start, va.end = addr, addr+size
	va.vm = nil
	va.flags = vaFlags | vnID
	if vm != nil {
		vm.Addr, vm.Size = va.start, va.size()
		va.vm = vm
	}
	if insertVA(va, &a.addrToNode(va.start).busy, nil) && vm != nil {
		vm.va = va // only an area really in the busy tree may be freed through it
	}
	if a.tr.On(trace.VMap) {
		a.tr.Emit(trace.Event{Kind: trace.VMap, Who: "kernel", Addr: va.start, Len: size, Text: "alloc_vmap_area"})
	}
	return va, nil
}

// GetVMAreaNode reserves an area of size bytes (rounded up to 1<<shift)
// aligned to align within [start, end], plus a guard page unless flags
// has VM_NO_GUARD; VM_IOREMAP areas are aligned to their size, up to
// IoremapMaxOrder. The kernel returns NULL on every failure; the error
// here says why: EINVAL for a zero (or wrapped) size, ENOMEM when the
// vm_struct cannot be allocated, else the alloc_vmap_area error.
// Models __get_vm_area_node.
func (a *Allocator) GetVMAreaNode(size, align uint64, shift uint, flags VMFlags, start, end uint64, caller string) (*VMStruct, error) {
	requested := size
	if shift >= 64 {
		return nil, errno.Errorf(errno.EINVAL, "get_vm_area: shift %d", shift)
	}
	size = alignUp(size, 1<<shift)
	if size == 0 {
		return nil, errno.Errorf(errno.EINVAL, "get_vm_area: size %#x rounds to 0", requested)
	}
	if flags&VMIoremap != 0 {
		order := uint(bits.Len64(size - 1)) // get_count_order_long
		align = 1 << min(max(order, PageShift), IoremapMaxOrder)
	}
	if failAt(a.inject, SiteVMStruct) {
		return nil, errno.Errorf(errno.ENOMEM, "get_vm_area: no vm_struct")
	}
	area := &VMStruct{Flags: flags, Caller: caller, RequestedSize: requested}
	if flags&VMNoGuard == 0 {
		size += PageSize
	}
	if _, err := a.allocVmapArea(size, align, start, end, 0, area); err != nil {
		return nil, err
	}
	return area, nil
}

// GetVMArea reserves size bytes (plus a guard page unless VM_NO_GUARD)
// anywhere in the vmalloc window, page aligned. Models get_vm_area.
func (a *Allocator) GetVMArea(size uint64, flags VMFlags) (*VMStruct, error) {
	return a.GetVMAreaCaller(size, flags, "")
}

// GetVMAreaCaller is GetVMArea recording who asked, as /proc/vmallocinfo
// shows it. Models get_vm_area_caller.
func (a *Allocator) GetVMAreaCaller(size uint64, flags VMFlags, caller string) (*VMStruct, error) {
	return a.GetVMAreaNode(size, 1, PageShift, flags, a.layout.VmallocStart, a.layout.VmallocEnd, caller)
}

// GetVMAreaRange reserves size bytes within [start, end]. Models
// __get_vm_area_caller.
func (a *Allocator) GetVMAreaRange(size uint64, flags VMFlags, start, end uint64, caller string) (*VMStruct, error) {
	return a.GetVMAreaNode(size, 1, PageShift, flags, start, end, caller)
}

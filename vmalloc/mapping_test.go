package vmalloc

import (
	"strings"
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/mmu"
	"github.com/stretchr/testify/require"
)

// The VM_SPARSE and page-table cases of spec/mmu-vmalloc.md section 7.2.

const arenaWindow = 4*gib + 64*kib // KERN_VM_SZ

func TestBootPreallocation(t *testing.T) {
	m4 := newMachine(t, Config{}, 0)
	require.Equal(t, 64, m4.pt.Tables(mmu.LevelPDPT), "one pud table per PML4 slot of the 32 TiB window")
	require.Zero(t, m4.pt.Tables(mmu.LevelPD))
	m5 := newMachine(t, Config{Levels: 5}, 0)
	require.Equal(t, 50, m5.pt.Tables(mmu.LevelPML4), "one p4d table per PML5 slot of the 12.5 PiB window")
	require.Zero(t, m5.pt.Tables(mmu.LevelPDPT))
}

func TestSpec32SparseFlagChecks(t *testing.T) {
	m := newMachine(t, Config{CPUs: 4}, 0)
	pages := m.frames(t, 1)
	cases := []struct {
		flags VMFlags
		warn  string
	}{
		{VMUsermap, "is not VM_SPARSE"},
		{VMSparse | VMFlushResetPerms | VMNoGuard, "VM_FLUSH_RESET_PERMS"}, // checked first
		{VMSparse | VMNoGuard, "VM_NO_GUARD"},
		{VMNoGuard, "VM_NO_GUARD"}, // before VM_SPARSE
		{VMFlushResetPerms, "VM_FLUSH_RESET_PERMS"},
	}
	for _, c := range cases {
		area := mustArea(t, m.a, 4*PageSize, c.flags)
		err := m.a.AreaMapPages(area, area.Addr, area.Addr+PageSize, pages)
		require.ErrorIs(t, err, errno.EINVAL, "%v", c.flags)
		require.Contains(t, m.a.LastWarning(), c.warn, "%v", c.flags)
		require.Zero(t, m.pte(area.Addr))
	}
}

func TestSpec33SparseRangeChecks(t *testing.T) {
	m := newMachine(t, Config{CPUs: 4}, 8*gib)
	pages := m.frames(t, 1)
	area := mustArea(t, m.a, arenaWindow, VMSparse|VMUsermap)
	cases := []struct {
		name       string
		start, end uint64
		want       errno.Errno
	}{
		{"guard included", area.Addr, area.Addr + area.AreaSize() + PageSize, errno.ERANGE},
		{"page below", area.Addr - PageSize, area.Addr, errno.ERANGE},
		{"end before start", area.Addr + 2*PageSize, area.Addr + PageSize, errno.E2BIG},
		{"more pages than RAM, also out of range", area.Addr, area.Addr + 8*gib + 5*tib, errno.E2BIG},
		{"whole window", area.Addr, area.Addr + area.AreaSize(), 0},
	}
	warns := m.a.Stats().Warnings
	for _, c := range cases {
		err := m.a.checkSparse(area, c.start, c.end)
		if c.want == 0 {
			require.NoError(t, err, c.name)
			continue
		}
		require.ErrorIs(t, err, c.want, c.name)
		require.ErrorIs(t, m.a.AreaMapPages(area, c.start, c.end, pages), c.want, c.name)
	}
	require.Equal(t, warns, m.a.Stats().Warnings, "range errors do not WARN")
	for leaf := range m.pt.Leaves(area.Addr, area.Addr+area.Size) {
		t.Fatalf("refused calls mapped %v at %#x", leaf.Entry, leaf.VA)
	}
}

func TestSpec34MapPage(t *testing.T) {
	for _, pti := range []bool{false, true} {
		m := newMachine(t, Config{CPUs: 4, PTI: pti}, 0)
		area := mustArea(t, m.a, arenaWindow, VMSparse|VMUsermap)
		kstart := area.Addr + 32*kib
		p := m.frames(t, 1)
		require.NoError(t, m.a.AreaMapPages(area, kstart, kstart+PageSize, p))
		want := mmu.PTE(p[0].Addr() | 0x8000000000000163)
		if pti {
			want = mmu.PTE(p[0].Addr() | 0x8000000000000063)
		}
		require.Equal(t, want, m.pte(kstart), "PTI %v", pti)
		got, ok := m.a.VmallocToPage(kstart)
		require.True(t, ok)
		require.Equal(t, p[0], got)
		_, ok = m.a.VmallocToPage(kstart + PageSize)
		require.False(t, ok)
		require.Equal(t, int32(1), m.refcount(t, p[0]), "mapping takes no reference")
	}
}

func TestSpec35MapTwice(t *testing.T) {
	m := newMachine(t, Config{CPUs: 4}, 0)
	area := mustArea(t, m.a, 16*PageSize, VMSparse)
	p := m.frames(t, 2)
	require.NoError(t, m.a.AreaMapPages(area, area.Addr, area.Addr+PageSize, p[:1]))
	warns := m.a.Stats().Warnings
	err := m.a.AreaMapPages(area, area.Addr, area.Addr+PageSize, p[1:])
	require.ErrorIs(t, err, errno.ENOMEM, "EBUSY becomes ENOMEM")
	require.Equal(t, warns+1, m.a.Stats().Warnings)
	got, _ := m.a.VmallocToPage(area.Addr)
	require.Equal(t, p[0], got, "the first mapping is intact")
}

func TestSpec36NullPageNoRollback(t *testing.T) {
	m := newMachine(t, Config{CPUs: 4}, 0)
	area := mustArea(t, m.a, 16*PageSize, VMSparse)
	p := m.frames(t, 3)
	p[1] = NullPage
	err := m.a.AreaMapPages(area, area.Addr, area.Addr+3*PageSize, p)
	require.ErrorIs(t, err, errno.ENOMEM)
	require.Contains(t, m.a.LastWarning(), "NULL page 1")
	got, ok := m.a.VmallocToPage(area.Addr)
	require.True(t, ok)
	require.Equal(t, p[0], got, "page 0 stays mapped")
	for i := uint64(1); i < 3; i++ {
		require.Zero(t, m.pte(area.Addr+i*PageSize), "page %d", i)
	}
	// An invalid frame is EINVAL inside, ENOMEM outside; fewer pages than
	// the range are NULL pages.
	err = m.a.AreaMapPages(area, area.Addr+4*PageSize, area.Addr+5*PageSize, []mmu.PFN{mmu.PFN(m.pm.Frames())})
	require.ErrorIs(t, err, errno.ENOMEM)
	require.Contains(t, m.a.LastWarning(), "not a valid pfn")
	err = m.a.AreaMapPages(area, area.Addr+6*PageSize, area.Addr+8*PageSize, p[2:])
	require.ErrorIs(t, err, errno.ENOMEM)
	got, _ = m.a.VmallocToPage(area.Addr + 6*PageSize)
	require.Equal(t, p[2], got)
}

func TestSpec37UnmapPages(t *testing.T) {
	m := newMachine(t, Config{CPUs: 4}, 0)
	area := mustArea(t, m.a, arenaWindow, VMSparse|VMUsermap)
	kstart := area.Addr + 32*kib
	flushes := m.a.Stats().TLBFlushes
	m.a.AreaUnmapPages(area, kstart, kstart+8*PageSize) // nothing mapped
	require.Equal(t, flushes+1, m.a.Stats().TLBFlushes, "the range is still flushed")

	p := m.frames(t, 2)
	require.NoError(t, m.a.AreaMapPages(area, kstart, kstart+2*PageSize, p))
	m.a.AreaUnmapPages(area, kstart, area.Addr+area.AreaSize()+PageSize) // out of range
	require.Equal(t, flushes+1, m.a.Stats().TLBFlushes)
	_, ok := m.a.VmallocToPage(kstart)
	require.True(t, ok, "a refused unmap unmaps nothing")

	m.a.AreaUnmapPages(area, kstart+PageSize, kstart+2*PageSize)
	_, ok = m.a.VmallocToPage(kstart + PageSize)
	require.False(t, ok)
	_, ok = m.a.VmallocToPage(kstart)
	require.True(t, ok)
	require.Equal(t, int32(1), m.refcount(t, p[1]), "unmapping drops no reference")
}

func TestSpec38PageTableAllocation(t *testing.T) {
	m := newMachine(t, Config{CPUs: 4}, 0)
	area := mustArea(t, m.a, arenaWindow, VMSparse|VMUsermap)
	require.Zero(t, area.Addr%gib, "a fresh 1 GiB region")
	count := func() [2]int { return [2]int{m.pt.Tables(mmu.LevelPD), m.pt.Tables(mmu.LevelPT)} }
	p := m.frames(t, 3)
	kstart := area.Addr + 32*kib
	base := count()
	require.NoError(t, m.a.AreaMapPages(area, kstart, kstart+PageSize, p[:1]))
	require.Equal(t, [2]int{base[0] + 1, base[1] + 1}, count(), "first page: a pmd and a pte table")
	require.NoError(t, m.a.AreaMapPages(area, kstart+2*mib, kstart+2*mib+PageSize, p[1:2]))
	require.Equal(t, [2]int{base[0] + 1, base[1] + 2}, count(), "next 2 MiB: a pte table")
	require.NoError(t, m.a.AreaMapPages(area, kstart+PageSize, kstart+2*PageSize, p[2:]))
	require.Equal(t, [2]int{base[0] + 1, base[1] + 2}, count(), "same 2 MiB: nothing")
	m.a.AreaUnmapPages(area, kstart, kstart+4*mib)
	require.Equal(t, [2]int{base[0] + 1, base[1] + 2}, count(), "unmapping frees no table")
	require.NoError(t, m.a.FreeVMArea(area))
	require.Equal(t, [2]int{base[0] + 1, base[1] + 2}, count(), "nor does freeing the area")
}

func TestSpec39GuardFault(t *testing.T) {
	m := newMachine(t, Config{CPUs: 4}, 0)
	area := mustArea(t, m.a, 4*PageSize, VMSparse)
	p := m.frames(t, 4)
	require.NoError(t, m.a.AreaMapPages(area, area.Addr, area.Addr+4*PageSize, p))
	_, f := m.read(area.Addr + 4*PageSize - 1)
	require.False(t, f.Faulted())
	guard := area.Addr + area.AreaSize()
	_, f = m.read(guard)
	require.Equal(t, mmu.VecPF, f.Vector)
	require.Equal(t, mmu.ErrorCode(0), f.Code, "supervisor read, not present")
	require.Equal(t, guard, f.Addr)
	require.Same(t, area, m.a.FindVMArea(guard))
}

func TestSpec43FreeArenaWindow(t *testing.T) {
	m := newMachine(t, Config{CPUs: 4}, 0)
	area := mustArea(t, m.a, arenaWindow, VMSparse|VMUsermap)
	kstart := area.Addr + 32*kib
	p := m.frames(t, 2)
	require.NoError(t, m.a.AreaMapPages(area, kstart, kstart+PageSize, p[:1]))
	require.NoError(t, m.a.AreaMapPages(area, kstart+3*gib, kstart+3*gib+PageSize, p[1:]))
	_, f := m.read(kstart) // cache the translation
	require.False(t, f.Faulted())
	require.NoError(t, m.a.FreeVMArea(area))
	for leaf := range m.pt.Leaves(area.Addr, area.Addr+area.Size) {
		t.Fatalf("PTE %v left at %#x", leaf.Entry, leaf.VA)
	}
	for _, pfn := range p {
		require.Equal(t, int32(1), m.refcount(t, pfn), "pages are the caller's to free")
	}
	// The window alone exceeds lazy_max_pages, so the purge, with its
	// full TLB flush, ran at once.
	require.Equal(t, 1, m.a.Stats().Purges)
	_, f = m.read(kstart)
	require.Equal(t, mmu.VecPF, f.Vector, "no stale translation survives the purge")
}

// A freed vmalloc range keeps its stale TLB entries until the purge: the
// kernel flushes lazily, and so does the model.
func TestLazyTLBFlush(t *testing.T) {
	m := newMachine(t, Config{CPUs: 4}, 0)
	addr, err := m.a.Vmalloc(PageSize)
	require.NoError(t, err)
	require.False(t, m.write(addr, 0x5a).Faulted())
	require.NoError(t, m.a.Vfree(addr))
	require.Zero(t, m.pte(addr), "the PTE is gone")
	v, f := m.read(addr)
	require.False(t, f.Faulted(), "but the TLB still translates the freed page")
	require.Equal(t, byte(0x5a), v)
	m.a.VMUnmapAliases()
	require.Equal(t, [2]uint64{addr, addr + 2*PageSize}, [2]uint64{m.a.Stats().LastFlushStart, m.a.Stats().LastFlushEnd})
	_, f = m.read(addr)
	require.Equal(t, mmu.VecPF, f.Vector)

	// vm_area_unmap_pages flushes at once.
	area := mustArea(t, m.a, 4*PageSize, VMSparse)
	p := m.frames(t, 1)
	require.NoError(t, m.a.AreaMapPages(area, area.Addr, area.Addr+PageSize, p))
	_, f = m.read(area.Addr)
	require.False(t, f.Faulted())
	m.a.AreaUnmapPages(area, area.Addr, area.Addr+PageSize)
	_, f = m.read(area.Addr)
	require.Equal(t, mmu.VecPF, f.Vector)
}

func TestVmallocAndVfree(t *testing.T) {
	m := newMachine(t, Config{CPUs: 4}, 0)
	inUse := m.pm.InUse()
	addr, err := m.a.Vmalloc(3*PageSize - 100)
	require.NoError(t, err)
	vm := m.a.FindVMArea(addr)
	require.Equal(t, VMAlloc, vm.Flags, "VM_UNINITIALIZED is cleared")
	require.Equal(t, 3, vm.NrPages)
	require.Equal(t, uint64(3), m.a.VmallocPages())
	for i, pfn := range vm.Pages {
		require.Equal(t, mmu.NewPTE(pfn, mmu.PageKernel), m.pte(addr+uint64(i)*PageSize))
	}
	require.Zero(t, m.pte(addr+3*PageSize), "guard")
	for i := uint64(0); i < 3*PageSize; i += 1000 {
		require.False(t, m.write(addr+i, byte(i)).Faulted())
	}
	require.Equal(t, "0xffffc90000000000-0xffffc90000004000   16384 vmalloc pages=3 vmalloc N0=3\n", m.a.Info())
	require.NoError(t, m.a.Vfree(addr+PageSize), "an interior page frees the area")
	require.Equal(t, inUse+2, m.pm.InUse(), "every frame went back; the new pmd and pte tables stay")
	require.Zero(t, m.a.VmallocPages())
	require.ErrorIs(t, m.a.Vfree(addr), errno.EINVAL)
	require.Contains(t, m.a.LastWarning(), "Trying to vfree() nonexistent vm area")
	require.NoError(t, m.a.Vfree(0))
}

func TestVmallocLargePagesArray(t *testing.T) {
	m := newMachine(t, Config{CPUs: 4}, 0)
	// 513 pages need a 4104-byte pages[] array: more than a page, so it
	// is vmalloc'ed itself, right after the big area.
	addr, err := m.a.Vmalloc(513 * PageSize)
	require.NoError(t, err)
	require.Equal(t, start4, addr)
	info := strings.Split(strings.TrimSpace(m.a.Info()), "\n")
	require.Equal(t, []string{
		"0xffffc90000000000-0xffffc90000202000 2105344 vmalloc pages=513 vmalloc vpages N0=513",
		"0xffffc90000202000-0xffffc90000205000   12288 vmalloc pages=2 vmalloc N0=2",
	}, info)
	require.Equal(t, uint64(515), m.a.VmallocPages())
	require.NoError(t, m.a.Vfree(addr))
	require.Zero(t, m.a.VmallocPages())
	require.Equal(t, "0xffffc90000000000-0xffffc90000202000 2105344 unpurged vm_area\n"+
		"0xffffc90000202000-0xffffc90000205000   12288 unpurged vm_area\n", m.a.Info())
}

func TestVzallocZeroes(t *testing.T) {
	m := newMachine(t, Config{CPUs: 4}, 0)
	addr, err := m.a.Vmalloc(PageSize)
	require.NoError(t, err)
	require.False(t, m.write(addr+7, 0xee).Faulted())
	require.NoError(t, m.a.Vfree(addr))
	m.a.VMUnmapAliases()
	// The frame comes back first; vmalloc does not clear it, vzalloc does.
	again, err := m.a.Vmalloc(PageSize)
	require.NoError(t, err)
	v, _ := m.read(again + 7)
	require.Equal(t, byte(0xee), v, "vmalloc memory is not initialised")
	require.NoError(t, m.a.Vfree(again))
	m.a.VMUnmapAliases()
	z, err := m.a.Vzalloc(PageSize)
	require.NoError(t, err)
	v, _ = m.read(z + 7)
	require.Zero(t, v)
}

func TestVMap(t *testing.T) {
	m := newMachine(t, Config{CPUs: 4}, 0)
	p := m.frames(t, 3)
	addr, err := m.a.VMap(p, VMMap|VMNoGuard, mmu.PageKernelExec)
	require.NoError(t, err)
	require.Contains(t, m.a.LastWarning(), "VM_NO_GUARD")
	vm := m.a.FindVMArea(addr)
	require.Equal(t, VMMap, vm.Flags, "the guard is put back")
	require.Equal(t, uint64(4*PageSize), vm.Size)
	for i, pfn := range p {
		e := m.pte(addr + uint64(i)*PageSize)
		require.Equal(t, pfn, e.PFN())
		require.True(t, e.NX(), "vmap adds NX")
	}
	require.NoError(t, m.a.Vunmap(addr))
	for _, pfn := range p {
		require.Equal(t, int32(1), m.refcount(t, pfn), "vunmap leaves the pages")
	}
	require.ErrorIs(t, m.a.Vunmap(addr), errno.EINVAL)

	_, err = m.a.VMap(p, VMMap|VMFlushResetPerms, mmu.PageKernel)
	require.ErrorIs(t, err, errno.EINVAL)

	// A NULL page fails the mapping; the area goes again.
	bad := []mmu.PFN{p[0], NullPage}
	_, err = m.a.VMap(bad, VMMap, mmu.PageKernel)
	require.ErrorIs(t, err, errno.ENOMEM)

	// VM_MAP_PUT_PAGES hands the references to the area.
	inUse := m.pm.InUse()
	addr, err = m.a.VMap(p, VMMap|VMMapPutPages, mmu.PageKernel)
	require.NoError(t, err)
	require.NoError(t, m.a.Vfree(addr))
	require.Equal(t, inUse-3, m.pm.InUse())
}

// TestMapAllocatesTablesFirst: vmap_pages_pte_range allocates the page
// table of a 2 MiB range before it looks at a page, so a NULL or invalid
// page first in a fresh range still leaves the range with its tables; the
// next 2 MiB range, never reached, gets none; and a failed table
// allocation is ENOMEM without a WARN.
func TestMapAllocatesTablesFirst(t *testing.T) {
	m := newMachine(t, Config{CPUs: 4}, 0)
	area := mustArea(t, m.a, arenaWindow, VMSparse|VMUsermap)
	require.Zero(t, area.Addr%gib, "a fresh 1 GiB region")
	count := func() [2]int { return [2]int{m.pt.Tables(mmu.LevelPD), m.pt.Tables(mmu.LevelPT)} }
	pdeOf := func(va uint64) mmu.PTE {
		t.Helper()
		r := m.as.Walk(va, mmu.Read)
		for _, s := range r.Steps() {
			if s.Level == mmu.LevelPD {
				return s.Entry
			}
		}
		return 0
	}
	p := m.frames(t, 1)
	base := count()

	// A NULL page first in a fresh 2 MiB range, the range running on into
	// the next one.
	start := area.Addr + 2*mib - PageSize
	warns := m.a.Stats().Warnings
	err := m.a.AreaMapPages(area, start, start+2*PageSize, []mmu.PFN{NullPage, p[0]})
	require.ErrorIs(t, err, errno.ENOMEM)
	require.Equal(t, warns+1, m.a.Stats().Warnings)
	require.Contains(t, m.a.LastWarning(), "NULL page 0")
	require.Equal(t, [2]int{base[0] + 1, base[1] + 1}, count(), "the pmd table and the first range's pte table")
	require.True(t, pdeOf(start).Present(), "the failing page's range has its page table")
	require.False(t, pdeOf(start+PageSize).Present(), "the next range was never reached")
	require.Zero(t, m.pte(start))

	// An invalid frame first in another fresh range: the same.
	start = area.Addr + 8*mib
	err = m.a.AreaMapPages(area, start, start+PageSize, []mmu.PFN{mmu.PFN(m.pm.Frames())})
	require.ErrorIs(t, err, errno.ENOMEM)
	require.Contains(t, m.a.LastWarning(), "not a valid pfn")
	require.Equal(t, [2]int{base[0] + 1, base[1] + 2}, count())
	require.True(t, pdeOf(start).Present())

	// The page-table allocation itself fails: ENOMEM, no WARN, nothing.
	start = area.Addr + 16*mib
	warns = m.a.Stats().Warnings
	m.pm.SetFailHook(func(r mmu.AllocRequest) bool { return r.Site == "pte_alloc" })
	err = m.a.AreaMapPages(area, start, start+PageSize, p)
	m.pm.SetFailHook(nil)
	require.ErrorIs(t, err, errno.ENOMEM)
	require.Equal(t, warns, m.a.Stats().Warnings, "a failed table allocation does not WARN")
	require.Equal(t, [2]int{base[0] + 1, base[1] + 2}, count())
	require.Zero(t, m.pte(start))
}

// TestNewRefusesFreeingPageTable: vmalloc's tables are never freed, so a
// kernel page table set up to free empty tables is refused.
func TestNewRefusesFreeingPageTable(t *testing.T) {
	pm, err := mmu.NewPhysMem(mmu.PhysMemConfig{Size: 256 * mib})
	require.NoError(t, err)
	pt, err := mmu.NewPageTable(pm, mmu.PageTableConfig{FreeEmptyTables: true})
	require.NoError(t, err)
	require.True(t, pt.FreeEmptyTables())
	_, err = New(Config{PageTable: pt})
	require.ErrorIs(t, err, errno.EINVAL)
	require.Contains(t, err.Error(), "must not free empty tables")
	require.Equal(t, 1, pt.TableFrames(), "nothing preallocated")

	pt, err = mmu.NewPageTable(pm, mmu.PageTableConfig{})
	require.NoError(t, err)
	require.False(t, pt.FreeEmptyTables())
	_, err = New(Config{PageTable: pt})
	require.NoError(t, err)
}

// TestMappingNoAllocations: the arena's per-page calls allocate nothing
// once the page tables of the range exist.
func TestMappingNoAllocations(t *testing.T) {
	m := newMachine(t, Config{CPUs: 4}, 0)
	area := mustArea(t, m.a, arenaWindow, VMSparse|VMUsermap)
	kstart := area.Addr + 32*kib
	p := m.frames(t, 1)
	require.NoError(t, m.a.AreaMapPages(area, kstart, kstart+PageSize, p))
	m.a.AreaUnmapPages(area, kstart, kstart+PageSize)
	var err error
	var got mmu.PFN
	allocs := testing.AllocsPerRun(50, func() { // no require inside: boxing its arguments allocates
		err = m.a.AreaMapPages(area, kstart, kstart+PageSize, p)
		got, _ = m.a.VmallocToPage(kstart + 8)
		m.a.AreaUnmapPages(area, kstart, kstart+PageSize)
	})
	require.NoError(t, err)
	require.Equal(t, p[0], got)
	require.Zero(t, allocs)
}

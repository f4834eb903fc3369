package mmu

import (
	"errors"
	"slices"
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/internal/trace"
	"github.com/stretchr/testify/require"
)

// leafView is a leaf as the tests compare it.
type leafView struct {
	VA, PA uint64
	Level  Level
	Prot   PTE
}

func leaves(pt *PageTable, start, end uint64) []leafView {
	var out []leafView
	for l := range pt.Leaves(start, end) {
		prot := l.Entry & protMask
		if l.Level > LevelPT {
			prot = l.Entry &^ PTE(l.Entry.LeafAddr(l.Level))
		}
		out = append(out, leafView{VA: l.VA, PA: l.Entry.LeafAddr(l.Level), Level: l.Level, Prot: prot})
	}
	return out
}

// The next tests port gVisor's pkg/ring0/pagetables tests to this API.

func TestMapUnmap(t *testing.T) {
	f := newFixture(t, FourLevel)
	require.NoError(t, f.pt.Map(0x400000, PageSize, 0x7000, PageShared))
	l, ok := f.pt.Lookup(0x400123)
	require.True(t, ok)
	require.Equal(t, uint64(0x7123), l.PhysAddr(0x400123))
	var gone []Leaf
	require.NoError(t, f.pt.Unmap(0x400000, PageSize, func(l Leaf) { gone = append(gone, l) }))
	require.Len(t, gone, 1)
	require.Equal(t, uint64(0x400000), gone[0].VA)
	require.Equal(t, NewPTE(7, PageShared), gone[0].Entry)
	_, ok = f.pt.Lookup(0x400123)
	require.False(t, ok)
	require.Empty(t, leaves(f.pt, 0, 0))
}

func TestReadOnlyReadWrite(t *testing.T) {
	f := newFixture(t, FourLevel)
	require.NoError(t, f.pt.Map(0x400000, PageSize, 0x7000, PageReadonly))
	require.NoError(t, f.pt.Map(0x500000, PageSize, 0x8000, PageShared))
	require.Equal(t, []leafView{
		{0x400000, 0x7000, LevelPT, PageReadonly},
		{0x500000, 0x8000, LevelPT, PageShared},
	}, leaves(f.pt, 0, 0))
}

func TestSerialSpanningSparse(t *testing.T) {
	f := newFixture(t, FourLevel)
	require.NoError(t, f.pt.Map(0x400000, 2*PageSize, 0x7000, PageShared))                // serial
	require.NoError(t, f.pt.Map(0x7f0000000000-PageSize, 2*PageSize, 0x9000, PageShared)) // across a PML4 boundary
	require.NoError(t, f.pt.Map(0x7fffffffe000, PageSize, 0xb000, PageShared))            // sparse: the last user page
	require.NoError(t, f.pt.Map(0xfffffffffffff000, PageSize, 0xc000, PageKernel))        // the very last page
	require.Equal(t, []leafView{
		{0x400000, 0x7000, LevelPT, PageShared},
		{0x401000, 0x8000, LevelPT, PageShared},
		{0x7f0000000000 - PageSize, 0x9000, LevelPT, PageShared},
		{0x7f0000000000, 0xa000, LevelPT, PageShared},
		{0x7fffffffe000, 0xb000, LevelPT, PageShared},
	}, leaves(f.pt, 0, 0))
	require.Equal(t, []leafView{{0xfffffffffffff000, 0xc000, LevelPT, PageKernel}}, leaves(f.pt, 0xffff800000000000, 0))
	require.Equal(t, 253, LevelPML4.Index(0x7f0000000000-PageSize))
	require.Equal(t, 254, LevelPML4.Index(0x7f0000000000))
}

func TestHugeAnd4K(t *testing.T) {
	f := newFixture(t, FourLevel)
	require.NoError(t, f.pt.MapHuge(0x400000, PMDSize, 0x600000, PageShared|PagePAT))
	require.NoError(t, f.pt.MapHuge(0x40000000, PUDSize, 0x80000000, PageShared))
	require.NoError(t, f.pt.MapHuge(0x600000, 3*PageSize, 0x7000, PageShared)) // not aligned for 2 MiB: 4 KiB leaves
	require.Equal(t, []leafView{
		{0x400000, 0x600000, LevelPD, PageShared | PagePSE | PagePATLarge},
		{0x600000, 0x7000, LevelPT, PageShared},
		{0x601000, 0x8000, LevelPT, PageShared},
		{0x602000, 0x9000, LevelPT, PageShared},
		{0x40000000, 0x80000000, LevelPDPT, PageShared | PagePSE},
	}, leaves(f.pt, 0, 0))
	// 2 MiB-aligned VA but a misaligned PA: 512 small leaves.
	require.NoError(t, f.pt.MapHuge(0x800000, PMDSize, 0x1000, PageShared))
	require.Len(t, leaves(f.pt, 0x800000, 0xa00000), 512)
}

func TestSplitLargePages(t *testing.T) {
	for _, c := range []struct {
		name string
		size uint64
		va   uint64
		pa   uint64
	}{
		{"2M", PMDSize, 0x400000, 0x600000},
		{"1G", PUDSize, 0x40000000, 0x80000000},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, FourLevel)
			require.NoError(t, f.pt.MapHuge(c.va, c.size, c.pa, PageShared|PagePAT))
			tables := f.pt.TableFrames()
			require.NoError(t, f.pt.Unmap(c.va+PageSize, c.size-2*PageSize, nil))
			require.Equal(t, []leafView{
				{c.va, c.pa, LevelPT, PageShared | PagePAT},
				{c.va + c.size - PageSize, c.pa + c.size - PageSize, LevelPT, PageShared | PagePAT},
			}, leaves(f.pt, 0, 0))
			want := 1
			if c.size == PUDSize {
				want = 3 // one PD from the 1 GiB split, then two PTs
			}
			require.Equal(t, tables+want, f.pt.TableFrames())
		})
	}
}

func TestMapRefusesUsedSlots(t *testing.T) {
	f := newFixture(t, FourLevel)
	require.NoError(t, f.pt.Map(0x400000, PageSize, 0x7000, PageShared))
	err := f.pt.Map(0x3ff000, 3*PageSize, 0x9000, PageShared)
	require.ErrorIs(t, err, errno.EBUSY)
	// No rollback: the page before the collision stays mapped.
	require.Equal(t, []leafView{
		{0x3ff000, 0x9000, LevelPT, PageShared},
		{0x400000, 0x7000, LevelPT, PageShared},
	}, leaves(f.pt, 0, 0))
	require.NoError(t, f.pt.MapHuge(0x40000000, PMDSize, 0x200000, PageShared))
	require.ErrorIs(t, f.pt.Map(0x40001000, PageSize, 0x9000, PageShared), errno.EBUSY)
	// A non-present but non-zero entry (a PROT_NONE marker) is also in use.
	require.NoError(t, f.pt.Protect(0x400000, PageSize, PageNone))
	require.ErrorIs(t, f.pt.MapPage(0x400000, 9, PageShared), errno.EBUSY)
}

func TestArgumentChecks(t *testing.T) {
	f := newFixture(t, FourLevel)
	for _, c := range []struct {
		name string
		err  error
	}{
		{"unaligned va", f.pt.Map(0x400001, PageSize, 0, PageShared)},
		{"unaligned size", f.pt.Map(0x400000, 10, 0, PageShared)},
		{"empty", f.pt.Map(0x400000, 0, 0, PageShared)},
		{"wraps", f.pt.Map(0xfffffffffffff000, 2*PageSize, 0, PageKernel)},
		{"non-canonical", f.pt.Map(0x0000800000000000, PageSize, 0, PageShared)},
		{"crosses the hole", f.pt.Map(0x00007ffffffff000, 1<<48, 0, PageShared)},
		{"prot with address bits", f.pt.Map(0x400000, PageSize, 0, PageShared|0x5000)},
		{"unaligned pa", f.pt.Map(0x400000, PageSize, 0x123, PageShared)},
		{"pa too high", f.pt.Map(0x400000, 2*PageSize, 0x000ffffffffff000, PageShared)},
		{"unmap unaligned", f.pt.Unmap(0x400800, PageSize, nil)},
		{"protect with address bits", f.pt.Protect(0x400000, PageSize, PageShared|0x5000)},
	} {
		require.ErrorIs(t, c.err, errno.EINVAL, c.name)
	}
	_, err := NewPageTable(f.pm, PageTableConfig{Mode: 3})
	require.ErrorIs(t, err, errno.EINVAL)
	require.Empty(t, leaves(f.pt, 0, 0), "failed calls map nothing")
}

// TestTableAllocation is spec 7.2 case 38 on the MMU side: with the
// second level preallocated, the first page in a fresh 1 GiB region costs
// a PD and a PT, a page in the next 2 MiB one more PT, a page in the same
// 2 MiB nothing, and unmapping frees nothing.
func TestTableAllocation(t *testing.T) {
	f := newFixture(t, FourLevel)
	const start, end = 0xffffc90000000000, 0xffffe90000000000 // the vmalloc range: PML4 402..465
	require.NoError(t, f.pt.Preallocate(start, end))
	require.Equal(t, 64, f.pt.Tables(LevelPDPT))
	counts := func() [3]int { return [3]int{f.pt.Tables(LevelPDPT), f.pt.Tables(LevelPD), f.pt.Tables(LevelPT)} }
	base := uint64(0xffffc90040000000)
	require.NoError(t, f.pt.MapPage(base, 5, PageKernel))
	require.Equal(t, [3]int{64, 1, 1}, counts())
	require.NoError(t, f.pt.MapPage(base+PMDSize, 6, PageKernel))
	require.Equal(t, [3]int{64, 1, 2}, counts())
	require.NoError(t, f.pt.MapPage(base+PMDSize+PageSize, 7, PageKernel))
	require.Equal(t, [3]int{64, 1, 2}, counts())
	require.NoError(t, f.pt.Unmap(base, PUDSize, nil))
	require.Equal(t, [3]int{64, 1, 2}, counts())
	require.Empty(t, leaves(f.pt, start, end))
	// Preallocating again allocates nothing.
	require.NoError(t, f.pt.Preallocate(start, end))
	require.Equal(t, [3]int{64, 1, 2}, counts())

	// AllocTables down to the PTE level: one more PD and PT, no leaf.
	require.NoError(t, f.pt.AllocTables(base+PUDSize, base+PUDSize+PageSize, LevelPT))
	require.Equal(t, [3]int{64, 2, 3}, counts())
	require.Empty(t, leaves(f.pt, start, end))
	require.ErrorIs(t, f.pt.AllocTables(base, base+PageSize, LevelPML4), errno.EINVAL)

	f5 := newFixture(t, FiveLevel)
	require.NoError(t, f5.pt.Preallocate(0xffa0000000000000, 0xffd2000000000000)) // 5-level vmalloc: PML5 416..465
	require.Equal(t, 50, f5.pt.Tables(LevelPML4))
	require.Equal(t, 0, f5.pt.Tables(LevelPDPT))
}

// TestFreeEmptyTables: under the policy, unmapping everything returns the
// tables to the allocator; without it, they stay.
func TestFreeEmptyTables(t *testing.T) {
	for _, free := range []bool{false, true} {
		pm, err := NewPhysMem(PhysMemConfig{})
		require.NoError(t, err)
		pt, err := NewPageTable(pm, PageTableConfig{FreeEmptyTables: free})
		require.NoError(t, err)
		require.Equal(t, free, pt.FreeEmptyTables())
		require.NoError(t, pt.Map(0x7f0000000000-PMDSize, 2*PMDSize, 0x200000, PageShared))
		require.NoError(t, pt.MapHuge(0x40000000, PUDSize, 0x40000000, PageShared))
		// The root, a PDPT+PD+PT under each of PML4 253 and 254, a PDPT for the 1 GiB leaf.
		require.Equal(t, 1+3+3+1, pt.TableFrames())
		// Unmapping the first 2 MiB empties the whole PML4 253 subtree.
		require.NoError(t, pt.Unmap(0x7f0000000000-PMDSize, PMDSize, nil))
		if free {
			require.Equal(t, 1+3+1, pt.TableFrames())
		}
		require.NoError(t, pt.Unmap(0, 1<<47, nil))
		if free {
			require.Equal(t, 1, pt.TableFrames())
			require.Equal(t, uint64(1), pm.InUse())
		} else {
			require.Equal(t, 8, pt.TableFrames())
		}
		pt.Free()
		require.Equal(t, uint64(0), pm.InUse())
	}
}

// TestProcessPageTable: a process shares the kernel half; kernel mappings
// made below the (preallocated) second level reach it, the half cannot be
// changed through it, and freeing it leaves the kernel's tables alone.
func TestProcessPageTable(t *testing.T) {
	f := newFixture(t, FourLevel)
	const vmallocStart, vmallocEnd = 0xffffc90000000000, 0xffffe90000000000
	require.NoError(t, f.pt.Preallocate(vmallocStart, vmallocEnd))
	kernelTables := f.pm.InUse()
	proc, err := NewProcessPageTable(f.pt, PageTableConfig{FreeEmptyTables: true, Name: "pid 1"})
	require.NoError(t, err)
	require.Equal(t, f.pt, proc.Kernel())
	pas, err := NewAddressSpace(proc, AddressSpaceConfig{Name: "pid 1"})
	require.NoError(t, err)

	// Mapped after the process was created, below the shared level.
	data := f.mapPage(t, kpg, PageKernel)
	require.False(t, f.as.Store(kva, 8, 0x1122334455667788, Read).Faulted())
	v, flt := pas.Load(kva, 8, Read)
	require.False(t, flt.Faulted())
	require.Equal(t, uint64(0x1122334455667788), v)
	_, flt = pas.Load(kva, 8, User)
	require.Equal(t, ErrorCode(0x5), flt.Code, "user access to a kernel page")

	// A root entry the kernel adds later is not seen: that is why x86
	// preallocates the vmalloc range.
	require.NoError(t, f.pt.MapPage(0xffff888000000000, data, PageKernel))
	_, flt = pas.Load(0xffff888000000000, 8, Read)
	require.Equal(t, CauseNotPresent, flt.Cause)
	require.Equal(t, LevelPML4, flt.Level)

	require.ErrorIs(t, proc.MapPage(kpg+PageSize, data, PageKernel), errno.EINVAL)
	require.ErrorIs(t, proc.Unmap(kpg, PageSize, nil), errno.EINVAL)
	_, ok := proc.Lookup(kva)
	require.True(t, ok, "reading the shared half is fine")

	require.NoError(t, proc.MapPage(upg, data, PageShared))
	require.Equal(t, 4, proc.TableFrames())
	page, _ := f.pm.Page(proc.Root())
	require.Equal(t, PGTable, page.Flags)
	proc.Free()
	require.Equal(t, kernelTables+uint64(f.pt.TableFrames()-64-1)+1, f.pm.InUse(), "kernel tables and the data frame remain")
	_, ok = f.pt.Lookup(kva)
	require.True(t, ok)
}

func TestProtect(t *testing.T) {
	f := newFixture(t, FourLevel)
	require.NoError(t, f.pt.Map(0x400000, 2*PageSize, 0x7000, PageShared|PagePCD))
	require.False(t, f.as.Store(0x400000, 8, 1, User).Faulted()) // sets D on the first
	require.NoError(t, f.pt.Protect(0x400000, 2*PageSize, PageReadonly))
	l, _ := f.pt.Lookup(0x400000)
	require.Equal(t, NewPTE(7, PageReadonly|PageDirty|PagePCD), l.Entry, "frame, A, D and PCD kept")
	require.NoError(t, f.pt.Protect(0x400000, 2*PageSize, PageNone))
	l, ok := f.pt.Lookup(0x401000)
	require.False(t, ok)
	require.Equal(t, NewPTE(8, PageNone|PagePCD), l.Entry)
	require.NoError(t, f.pt.Protect(0x400000, 2*PageSize, PageShared))
	l, ok = f.pt.Lookup(0x401000)
	require.True(t, ok, "PROT_NONE entries count as present for protect")
	require.Equal(t, NewPTE(8, PageShared|PagePCD), l.Entry)

	// A 2 MiB leaf protected in part is split.
	require.NoError(t, f.pt.MapHuge(0x40000000, PMDSize, 0x200000, PageShared))
	require.NoError(t, f.pt.Protect(0x40001000, PageSize, PageReadonly))
	got := leaves(f.pt, 0x40000000, 0x40003000)
	require.Equal(t, []leafView{
		{0x40000000, 0x200000, LevelPT, PageShared},
		{0x40001000, 0x201000, LevelPT, PageReadonly},
		{0x40002000, 0x202000, LevelPT, PageShared},
	}, got)
	// A whole large leaf keeps PS.
	require.NoError(t, f.pt.MapHuge(0x40200000, PMDSize, 0x400000, PageShared))
	require.NoError(t, f.pt.Protect(0x40200000, PMDSize, PageReadonly))
	l, _ = f.pt.Lookup(0x40200000)
	require.Equal(t, PTE(0x400000)|PageReadonly|PagePSE, l.Entry)
}

// TestMapAllocationFailures injects ENOMEM at every table allocation of a
// mapping that needs four tables: each failure leaves what was mapped
// before it, no leaked or half-made table, and a retry completes the job.
func TestMapAllocationFailures(t *testing.T) {
	const va, size = 0x7f0000000000 - PMDSize, 2 * PMDSize // two PMDs' worth across a PML4 boundary
	for n := uint64(1); ; n++ {
		f := newFixture(t, FourLevel)
		var sites []string
		f.pm.SetFailHook(func(r AllocRequest) bool {
			sites = append(sites, r.Site)
			return uint64(len(sites)) == n
		})
		err := f.pt.Map(va, size, 0x200000, PageShared)
		if n > 6 {
			require.NoError(t, err)
			require.Equal(t, []string{"pud_alloc", "pmd_alloc", "pte_alloc", "pud_alloc", "pmd_alloc", "pte_alloc"}, sites)
			break
		}
		require.ErrorIs(t, err, errno.ENOMEM, "failure %d", n)
		mapped := len(leaves(f.pt, 0, 0))
		want := 0
		if n > 3 {
			want = 512 // the first PMD's worth was mapped before the failure
		}
		require.Equal(t, want, mapped, "failure %d", n)
		tables := 0
		for pfn, p := range f.pm.AllocatedFrames() {
			if p.Flags&PGTable != 0 {
				tables++
			} else {
				t.Fatalf("frame %v is not a table", pfn)
			}
		}
		require.Equal(t, f.pt.TableFrames(), tables)
		f.pm.SetFailHook(nil)
		require.NoError(t, f.pt.Unmap(va, size, nil))
		require.NoError(t, f.pt.Map(va, size, 0x200000, PageShared), "retry after failure %d", n)
		require.Len(t, leaves(f.pt, 0, 0), 1024)
	}
}

func TestUnmapSplitFailure(t *testing.T) {
	f := newFixture(t, FourLevel)
	require.NoError(t, f.pt.MapHuge(0x400000, PMDSize, 0x600000, PageShared))
	f.pm.SetFailHook(FailNth(1))
	err := f.pt.Unmap(0x401000, PageSize, nil)
	require.ErrorIs(t, err, errno.ENOMEM)
	require.Equal(t, []leafView{{0x400000, 0x600000, LevelPD, PageShared | PagePSE}}, leaves(f.pt, 0, 0))
}

func TestPageTableTrace(t *testing.T) {
	pm, err := NewPhysMem(PhysMemConfig{})
	require.NoError(t, err)
	var rec trace.Recorder
	pt, err := NewPageTable(pm, PageTableConfig{Name: "kernel", Tracer: trace.New(&rec, trace.Of(trace.PTESet, trace.PTEClear))})
	require.NoError(t, err)
	require.NoError(t, pt.MapPage(kpg, 0x1234, PageKernel))
	require.NoError(t, pt.Unmap(kpg, PageSize, nil))
	require.Equal(t, []string{
		"#1 pte_set kernel addr=0xffffc90000201000 val=0x101067 PML4[402] @0x100c90 P|RW|US|A|D",
		"#2 pte_set kernel addr=0xffffc90000201000 val=0x102067 PDPT[0] @0x101000 P|RW|US|A|D",
		"#3 pte_set kernel addr=0xffffc90000201000 val=0x103067 PD[1] @0x102008 P|RW|US|A|D",
		"#4 pte_set kernel addr=0xffffc90000201000 val=0x8000000001234163 PT[1] @0x103008 P|RW|A|D|G|NX",
		"#5 pte_clear kernel addr=0xffffc90000201000 val=0x8000000001234163 PT[1] @0x103008 was P|RW|A|D|G|NX",
	}, eventLines(&rec))
}

func TestLeavesBounds(t *testing.T) {
	f := newFixture(t, FourLevel)
	require.NoError(t, f.pt.MapHuge(0x400000, PMDSize, 0x600000, PageShared))
	require.NoError(t, f.pt.Map(0x800000, 4*PageSize, 0x9000, PageShared))
	var vas []uint64
	for l := range f.pt.Leaves(0x401000, 0x802000) {
		vas = append(vas, l.VA)
	}
	require.Equal(t, []uint64{0x400000, 0x800000, 0x801000}, vas, "a large leaf overlapping the start counts")
	// Stopping early works.
	for range f.pt.Leaves(0, 0) {
		break
	}
	require.Empty(t, slices.Collect(f.pt.Leaves(0x0000800000000000, 0)), "non-canonical start yields nothing")
	require.True(t, errors.Is(f.pt.Preallocate(0x1000, 0x1000), errno.EINVAL))
}

// TestFreeEmptyKeepsSharedTables: even under the FreeEmptyTables policy
// the kernel keeps the tables its root's kernel half points to, since
// every process table shares them; a mapping made after an unmap still
// reaches the process.
func TestFreeEmptyKeepsSharedTables(t *testing.T) {
	pm, err := NewPhysMem(PhysMemConfig{})
	require.NoError(t, err)
	kernel, err := NewPageTable(pm, PageTableConfig{FreeEmptyTables: true})
	require.NoError(t, err)
	require.NoError(t, kernel.Preallocate(kpg, kpg+PageSize))
	proc, err := NewProcessPageTable(kernel, PageTableConfig{})
	require.NoError(t, err)
	pas, err := NewAddressSpace(proc, AddressSpaceConfig{})
	require.NoError(t, err)

	require.NoError(t, kernel.MapPage(kpg, 0x5000>>PageShift, PageKernel))
	require.NoError(t, kernel.Unmap(kpg, PageSize, nil))
	require.Equal(t, [3]int{1, 0, 0}, [3]int{kernel.Tables(LevelPDPT), kernel.Tables(LevelPD), kernel.Tables(LevelPT)},
		"the PD and PT went, the shared PDPT stayed")
	require.NoError(t, kernel.MapPage(kpg, 0x6000>>PageShift, PageKernel))
	pa, flt := pas.Translate(kva, Read)
	require.False(t, flt.Faulted(), "%v", flt)
	require.Equal(t, uint64(0x6234), pa)
}

// TestPageTableNoAllocations: the per-page operations the vmalloc and
// arena layers run on every page allocate nothing once the tables exist.
func TestPageTableNoAllocations(t *testing.T) {
	f := newFixture(t, FourLevel)
	pfn := f.frame(t)
	pfns := []PFN{pfn, pfn, pfn, pfn}
	f.mapPage(t, kpg, PageKernel)
	for _, c := range []struct {
		name string
		op   func()
	}{
		{"MapPage and Unmap", func() {
			require.NoError(t, f.pt.MapPage(kpg+PageSize, pfn, PageKernel))
			require.NoError(t, f.pt.Unmap(kpg+PageSize, PageSize, nil))
		}},
		{"MapPages and Unmap", func() {
			require.NoError(t, f.pt.MapPages(kpg+PageSize, pfns, PageKernel))
			require.NoError(t, f.pt.Unmap(kpg+PageSize, 4*PageSize, nil))
		}},
		{"Lookup, mapped", func() {
			_, ok := f.pt.Lookup(kva)
			require.True(t, ok)
		}},
		{"Lookup, not mapped", func() {
			_, ok := f.pt.Lookup(kva + PageSize)
			require.False(t, ok)
		}},
		{"AllocTables", func() { require.NoError(t, f.pt.AllocTables(kpg, kpg+PMDSize, LevelPT)) }},
	} {
		require.Zero(t, testing.AllocsPerRun(50, c.op), c.name)
	}
}

// TestUnmapCallbackReenters: the callback of Unmap may use the page table
// again (the operations share scratch visitors, so the nested ones must
// get their own).
func TestUnmapCallbackReenters(t *testing.T) {
	f := newFixture(t, FourLevel)
	a, b := f.mapPage(t, kpg, PageKernel), f.mapPage(t, kpg+PageSize, PageKernel)
	var seen []PFN
	require.NoError(t, f.pt.Unmap(kpg, 2*PageSize, func(l Leaf) {
		seen = append(seen, l.Entry.PFN())
		// Move each page up by 2 MiB while the outer unmap runs.
		require.NoError(t, f.pt.MapPage(l.VA+PMDSize, l.Entry.PFN(), PageKernel))
		got, ok := f.pt.Lookup(l.VA + PMDSize)
		require.True(t, ok)
		require.Equal(t, l.Entry.PFN(), got.Entry.PFN())
	}))
	require.Equal(t, []PFN{a, b}, seen)
	for i, pfn := range []PFN{a, b} {
		va := kpg + uint64(i)*PageSize
		_, ok := f.pt.Lookup(va)
		require.False(t, ok, "%#x unmapped", va)
		got, ok := f.pt.Lookup(va + PMDSize)
		require.True(t, ok)
		require.Equal(t, pfn, got.Entry.PFN())
	}
}

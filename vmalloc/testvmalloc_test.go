package vmalloc

import (
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/arenasim/arenasim/mmu"
	"github.com/stretchr/testify/require"
)

// The tests of lib/test_vmalloc.c, run on one CPU with smaller loop counts.
// Each allocation is written to through the kernel address space, as the
// module does, and the invariants are checked at the end of every test
// (newAlloc's cleanup) and every few hundred steps.

const testLoops = 2000

// touch writes one byte at addr and fails the test if that faults.
func touch(t testing.TB, m *machine, addr uint64) {
	t.Helper()
	if f := m.write(addr, 1); f.Faulted() {
		t.Fatalf("write to %#x: %v", addr, f)
	}
}

func vmallocOK(t testing.TB, m *machine, size uint64) uint64 {
	t.Helper()
	addr, err := m.a.Vmalloc(size)
	require.NoError(t, err)
	return addr
}

// fix_size_alloc_test: vmalloc one page, write, vfree, in a loop.
func TestFixSizeAlloc(t *testing.T) {
	m := newMachine(t, Config{CPUs: 1}, 0)
	inUse := m.pm.InUse()
	first := uint64(0)
	for i := 0; i < testLoops; i++ {
		addr := vmallocOK(t, m, PageSize)
		if i == 0 {
			first = addr
		}
		touch(t, m, addr)
		require.NoError(t, m.a.Vfree(addr))
	}
	// 2000 frees of 2 pages each stay under lazy_max_pages (8192 with one
	// CPU): every area got a fresh address.
	require.Zero(t, m.a.Stats().Purges)
	require.Equal(t, uint64(2*testLoops), m.a.LazyPages())
	m.a.VMUnmapAliases()
	require.Equal(t, first, vmallocOK(t, m, PageSize), "after the purge the lowest range comes back")
	require.LessOrEqual(t, m.pm.InUse(), inUse+1+8+3, "only page tables and the live page remain")
}

// full_fit_alloc_test: fls(cpus) * 32 MiB worth of one-page pairs, one of
// each pair freed, then one-page requests must fill the exact holes
// (FL_FIT), the lowest first, without splitting a block.
func TestFullFitAlloc(t *testing.T) {
	m := newMachine(t, Config{CPUs: 1}, 0)
	junk := bits.Len(1) * (32 << 20 / PageSize) // 8192 with one CPU
	keep := make([]uint64, junk)
	drop := make([]uint64, junk)
	for i := range junk {
		keep[i] = vmallocOK(t, m, PageSize)
		drop[i] = vmallocOK(t, m, PageSize)
	}
	for _, addr := range drop {
		require.NoError(t, m.a.Vfree(addr))
	}
	require.Equal(t, 1, m.a.Stats().Purges, "16384 lazy pages pass lazy_max_pages once")
	m.a.VMUnmapAliases() // and the last 4095 holes
	require.NoError(t, m.a.Check())
	blocks := countFree(m.a)
	for i := 0; i < testLoops/4; i++ {
		addr := vmallocOK(t, m, PageSize)
		require.Equal(t, drop[0], addr, "loop %d takes the lowest hole", i)
		require.Equal(t, blocks-1, countFree(m.a), "a full fit takes the whole block")
		touch(t, m, addr)
		require.NoError(t, m.a.Vfree(addr))
		m.a.VMUnmapAliases() // give the hole back, so the next request fits it again
		require.Equal(t, blocks, countFree(m.a), "the purge puts the same block back")
	}
	for i := 0; i < testLoops; i++ {
		addr := vmallocOK(t, m, PageSize)
		require.Equal(t, drop[i], addr, "without frees, hole after hole")
		touch(t, m, addr)
	}
	require.Equal(t, blocks-testLoops, countFree(m.a), "each request consumed one whole hole")
}

// long_busy_list_alloc_test: 15000 live one-page areas, then a loop of a
// 100-page and a one-page vmalloc, written and freed.
func TestLongBusyListAlloc(t *testing.T) {
	m := newMachine(t, Config{CPUs: 1}, 0)
	const live = 15000
	for range live {
		vmallocOK(t, m, PageSize)
	}
	top := start4 + live*2*PageSize
	for i := 0; i < testLoops/4; i++ {
		p1 := vmallocOK(t, m, 100*PageSize)
		p2 := vmallocOK(t, m, PageSize)
		require.GreaterOrEqual(t, p1, top, "no hole below the live areas")
		touch(t, m, p1)
		touch(t, m, p2)
		require.NoError(t, m.a.Vfree(p1))
		require.NoError(t, m.a.Vfree(p2))
	}
	require.Positive(t, m.a.Stats().Purges, "the lazy pages passed the threshold")
}

// random_size_alloc_test: 1..100 random pages, written and freed.
func TestRandomSizeAlloc(t *testing.T) {
	m := newMachine(t, Config{CPUs: 1}, 0)
	r := rand.New(rand.NewPCG(8, 8))
	for i := 0; i < testLoops; i++ {
		n := 1 + r.Uint64N(100)
		addr := vmallocOK(t, m, n*PageSize)
		touch(t, m, addr)
		touch(t, m, addr+n*PageSize-1)
		require.NoError(t, m.a.Vfree(addr))
		if i%500 == 0 {
			require.NoError(t, m.a.Check())
		}
	}
}

// fix_align_alloc_test: 5 pages aligned to THREAD_ALIGN << 1 (x86-64
// THREAD_SIZE is 16 KiB without KASAN, so 32 KiB).
func TestFixAlignAlloc(t *testing.T) {
	m := newMachine(t, Config{CPUs: 1}, 0)
	const align = 16 * kib << 1
	for i := 0; i < testLoops/2; i++ {
		addr, err := m.a.VmallocNode(5*PageSize, align, mmu.GFPKernel|mmu.GFPZero, "fix_align_alloc_test")
		require.NoError(t, err)
		require.Zero(t, addr%align)
		touch(t, m, addr)
		require.NoError(t, m.a.Vfree(addr))
	}
}

// random_size_align_alloc_test: alignment 1 << (r % 23), 1..10 pages.
func TestRandomSizeAlignAlloc(t *testing.T) {
	m := newMachine(t, Config{CPUs: 1}, 0)
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < testLoops/2; i++ {
		align := uint64(1) << (r.Uint32() % 23)
		size := (1 + r.Uint64N(10)) * PageSize
		addr, err := m.a.VmallocNode(size, align, mmu.GFPKernel|mmu.GFPZero, "random_size_align_alloc_test")
		require.NoError(t, err)
		require.Zero(t, addr%align, "align %#x", align)
		touch(t, m, addr)
		require.NoError(t, m.a.Vfree(addr))
	}
}

// align_shift_alloc_test: one page aligned to 1 << i for i = 0..63, which
// the module expects to fail at some point. In the 32 TiB 4-level window
// the last alignment with a multiple inside is 1 << 45 (0xffffe00000000000).
func TestAlignShiftAlloc(t *testing.T) {
	m := newMachine(t, Config{CPUs: 1}, 0)
	failed := -1
	for i := 0; i < 64; i++ {
		align := uint64(1) << i
		addr, err := m.a.VmallocNode(PageSize, align, mmu.GFPKernel|mmu.GFPZero, "align_shift_alloc_test")
		if err != nil {
			failed = i
			break
		}
		require.Zero(t, addr%align)
		touch(t, m, addr)
		require.NoError(t, m.a.Vfree(addr))
	}
	require.Equal(t, 46, failed)
}

// Fragmentation: every other one-page area freed leaves 2-page holes; a
// one-page request (2 pages with its guard) fits each hole exactly, a
// two-page one fits none and goes above them all.
func TestFragmentation(t *testing.T) {
	m := newMachine(t, Config{CPUs: 1}, 0)
	const n = 1000
	addrs := make([]uint64, n)
	for i := range addrs {
		addrs[i] = vmallocOK(t, m, PageSize)
	}
	for i := 0; i < n; i += 2 {
		require.NoError(t, m.a.Vfree(addrs[i]))
	}
	m.a.VMUnmapAliases()
	top := addrs[n-1] + 2*PageSize
	big := vmallocOK(t, m, 2*PageSize)
	require.Equal(t, top, big, "no 3-page hole below")
	for i := 0; i < n; i += 2 {
		require.Equal(t, addrs[i], vmallocOK(t, m, PageSize), "hole %d", i)
	}
	require.Equal(t, [][2]uint64{{big + 3*PageSize, ULongMax}}, freeIn(m.a, start4, ULongMax), "the holes are all used")
}

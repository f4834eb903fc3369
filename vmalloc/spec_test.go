package vmalloc

import (
	"strings"
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/stretchr/testify/require"
)

// The vmalloc cases of spec/mmu-vmalloc.md section 7.2 that concern the
// address allocator. 4-level, no KASLR, one node, 4 online CPUs unless a
// case says otherwise. Page-table cases live in the mapping tests.

func TestSpec22ArenaWindow(t *testing.T) {
	a := newAlloc(t, Config{CPUs: 4})
	vm := mustArea(t, a, 4*gib+64*kib, VMSparse|VMUsermap)
	require.Equal(t, start4, vm.Addr)
	require.Equal(t, uint64(0x100011000), vm.Size)
	require.Equal(t, uint64(0x100010000), vm.AreaSize())
	got, ok := a.FindVmapArea(vm.Addr)
	require.True(t, ok)
	require.Equal(t, VA{Start: 0xffffc90000000000, End: 0xffffc90100011000, VM: vm}, got)

	b := newAlloc(t, Config{CPUs: 4})
	ng := mustArea(t, b, 4*gib+64*kib, VMSparse|VMUsermap|VMNoGuard)
	require.Equal(t, start4, ng.Addr)
	require.Equal(t, uint64(0x100010000), ng.Size)
	require.Equal(t, uint64(0x100010000), ng.AreaSize())
}

func TestSpec23ConsecutiveAreas(t *testing.T) {
	a := newAlloc(t, Config{CPUs: 4})
	x := mustArea(t, a, PageSize, VMSparse)
	y := mustArea(t, a, PageSize, VMSparse)
	require.Equal(t, start4, x.Addr)
	require.Equal(t, start4+0x2000, y.Addr)
	require.Equal(t, uint64(0x2000), x.Size)
}

func TestSpec24SizeRounding(t *testing.T) {
	a := newAlloc(t, Config{CPUs: 4})
	vm := mustArea(t, a, 1, 0)
	require.Equal(t, uint64(0x2000), vm.Size)
	require.Equal(t, uint64(1), vm.RequestedSize)

	for _, size := range []uint64{0, ULongMax} {
		vm, err := a.GetVMArea(size, 0)
		require.Nil(t, vm, "size %#x", size)
		require.ErrorIs(t, err, errno.EINVAL, "size %#x", size)
	}
	// ALIGN keeps 2^64-4096, but adding the guard wraps to 0.
	vm, err := a.GetVMArea(ULongMax-PageSize+1, 0)
	require.Nil(t, vm)
	require.ErrorIs(t, err, errno.EINVAL)
}

func TestSpec25AllocVmapAreaErrors(t *testing.T) {
	a := newAlloc(t, Config{CPUs: 4})
	cases := []struct {
		name        string
		size, align uint64
		want        errno.Errno
	}{
		{"size not a page multiple", 0x1800, 1, errno.EINVAL},
		{"zero size", 0, 1, errno.EINVAL},
		{"align 3", 0x1000, 3, errno.EINVAL},
		{"align 0", 0x1000, 0, errno.EINVAL},
	}
	for _, c := range cases {
		_, err := a.allocVmapArea(c.size, c.align, start4, end4, 0, nil)
		require.ErrorIs(t, err, c.want, c.name)
	}
	var before Allocator // vmalloc_init has not run
	_, err := before.allocVmapArea(PageSize, 1, start4, end4, 0, nil)
	require.ErrorIs(t, err, errno.EBUSY)
	vm, err := before.GetVMArea(PageSize, 0)
	require.Nil(t, vm)
	require.ErrorIs(t, err, errno.EBUSY)
	require.Nil(t, before.FindVMArea(start4))
	require.Nil(t, before.RemoveVMArea(start4))
	require.NoError(t, before.Check())
	_, err = before.allocVmapArea(0x1800, 1, start4, end4, 0, nil)
	require.ErrorIs(t, err, errno.EINVAL, "EINVAL is checked before EBUSY")
}

func TestSpec26Exhaustion(t *testing.T) {
	for _, c := range []struct {
		name string
		size uint64
		ok   bool
	}{
		{"33 TiB", 33 * tib, false},
		// size + guard = 32 TiB cannot end at or below VMALLOC_END,
		// which is one byte short of the window's end.
		{"32 TiB - 4 KiB", 32*tib - 4*kib, false},
		{"32 TiB - 8 KiB", 32*tib - 8*kib, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newAlloc(t, Config{CPUs: 4})
			vm, err := a.GetVMArea(c.size, 0)
			if c.ok {
				require.NoError(t, err)
				require.Equal(t, start4, vm.Addr)
				require.Equal(t, 32*tib-4*kib, vm.Size)
				require.Equal(t, 0, a.Stats().Purges)
				return
			}
			require.Nil(t, vm)
			require.ErrorIs(t, err, errno.EBUSY)
			require.Equal(t, 1, a.Stats().Purges, "a failed search purges once, then gives up")
			require.Contains(t, a.LastWarning(), "vmalloc_node_range for size")
			require.Contains(t, a.LastWarning(), "Address range restricted to 0xffffc90000000000 - 0xffffe8ffffffffff")
			require.Equal(t, [][2]uint64{{1, ULongMax}}, freeRanges(a), "a failed request leaves the free space untouched")
		})
	}
}

func TestSpec26LastPageNeverAllocatable(t *testing.T) {
	a := newAlloc(t, Config{CPUs: 4})
	// Fill the window but its last page, then ask for one guardless page.
	mustArea(t, a, 32*tib-8*kib, 0)
	vm, err := a.GetVMArea(PageSize, VMNoGuard)
	require.Nil(t, vm)
	require.ErrorIs(t, err, errno.EBUSY)
	require.Equal(t, [][2]uint64{{end4 + 1 - PageSize, ULongMax}}, freeIn(a, start4, ULongMax),
		"the window's last page stays free for good")
	// A window ending exactly at the page's end would take it.
	vm, err = a.GetVMAreaRange(PageSize, VMNoGuard, start4, end4+1, "")
	require.NoError(t, err)
	require.Equal(t, end4+1-PageSize, vm.Addr)
}

func TestSpec26FiveLevel(t *testing.T) {
	a := newAlloc(t, Config{Levels: 5, CPUs: 4})
	l := a.Layout()
	require.Equal(t, uint64(0xffa0000000000000), l.VmallocStart)
	require.Equal(t, uint64(0xffd1ffffffffffff), l.VmallocEnd)
	vm := mustArea(t, a, 12800*tib-8*kib, 0)
	require.Equal(t, l.VmallocStart, vm.Addr)
	_, err := a.GetVMArea(PageSize, VMNoGuard)
	require.ErrorIs(t, err, errno.EBUSY)
}

func TestSpec27Alignment(t *testing.T) {
	a := newAlloc(t, Config{CPUs: 4})
	mustArea(t, a, PageSize, 0) // so that the next 1 MiB boundary is not VMALLOC_START
	vm, err := a.GetVMAreaNode(PageSize, mib, PageShift, VMAlloc, start4, end4, "")
	require.NoError(t, err)
	require.Zero(t, vm.Addr%mib)
	require.Equal(t, start4+mib, vm.Addr)
	require.Equal(t, uint64(0x2000), vm.Size)
	checkOK(t, a)

	// An exact 2 MiB window: the search length is not widened, so an
	// isolated free block of exactly that size is still found.
	s := start4 + 64*mib
	lo, err := a.GetVMAreaRange(s-start4-mib-0x2000, VMNoGuard, start4+mib+0x2000, s, "")
	require.NoError(t, err)
	require.Equal(t, s, lo.Addr+lo.Size)
	hi, err := a.GetVMAreaRange(PageSize, VMNoGuard, s+2*mib, end4, "")
	require.NoError(t, err)
	require.Equal(t, s+2*mib, hi.Addr)
	require.Equal(t, [][2]uint64{{s, s + 2*mib}}, freeIn(a, s-PageSize, s+2*mib+PageSize))
	vm, err = a.GetVMAreaNode(2*mib-PageSize, 2*mib, PageShift, 0, s, s+2*mib, "")
	require.NoError(t, err)
	require.Equal(t, s, vm.Addr)
	require.Equal(t, 2*mib, vm.Size)
}

func TestSpec28LowestMatchWithHoles(t *testing.T) {
	a := newAlloc(t, Config{CPUs: 4})
	mustArea(t, a, PageSize, 0)        // [S, S+0x2000)
	h := mustArea(t, a, 2*PageSize, 0) // [S+0x2000, S+0x5000): the hole to be
	mustArea(t, a, PageSize, 0)        // [S+0x5000, S+0x7000)
	require.NoError(t, a.FreeVMArea(h))
	a.VMUnmapAliases()
	A, B := start4+0x2000, start4+0x7000
	require.Equal(t, [][2]uint64{{A, A + 0x3000}, {B, ULongMax}}, freeIn(a, start4, ULongMax))

	big := mustArea(t, a, 3*PageSize, 0) // 0x4000 bytes do not fit in the hole
	require.Equal(t, B, big.Addr)
	x := mustArea(t, a, PageSize, 0) // 0x2000: the hole's left edge
	require.Equal(t, A, x.Addr)
	require.Equal(t, [2]uint64{A + 0x2000, A + 0x3000}, freeIn(a, start4, ULongMax)[0])
	y, err := a.GetVMAreaRange(0, 0, 0, 0, "")
	require.Nil(t, y)
	require.Error(t, err)
	y, err = a.GetVMAreaRange(PageSize, 0, A+0x3000, end4, "") // vstart above the hole
	require.NoError(t, err)
	require.Equal(t, B+0x4000, y.Addr)
}

func TestSpec29LazyReuse(t *testing.T) {
	a := newAlloc(t, Config{CPUs: 4})
	require.Equal(t, uint64(24576), a.LazyMaxPages())
	x := mustArea(t, a, PageSize, 0)
	require.NoError(t, a.FreeVMArea(x))
	require.Equal(t, uint64(2), a.LazyPages())
	y := mustArea(t, a, PageSize, 0)
	require.Greater(t, y.Addr, x.Addr, "a lazy range is not free")
	require.NoError(t, a.FreeVMArea(y))
	a.VMUnmapAliases()
	require.Zero(t, a.LazyPages())
	z := mustArea(t, a, PageSize, 0)
	require.Equal(t, x.Addr, z.Addr, "after the purge the range is reused")
}

func TestSpec29ThresholdPurge(t *testing.T) {
	a := newAlloc(t, Config{CPUs: 4})
	// 24576 lazy pages are allowed; the purge runs once more are lazy.
	const n = 24576 / 2048
	var areas []*VMStruct
	for i := 0; i <= n; i++ {
		areas = append(areas, mustArea(t, a, 2047*PageSize, 0)) // 2048 pages with the guard
	}
	for i := 0; i < n; i++ {
		require.NoError(t, a.FreeVMArea(areas[i]))
	}
	require.Equal(t, uint64(24576), a.LazyPages())
	require.Zero(t, a.Stats().Purges, "exactly lazy_max_pages does not purge")
	require.NoError(t, a.FreeVMArea(areas[n]))
	require.Equal(t, 1, a.Stats().Purges)
	require.Zero(t, a.LazyPages())
	require.Equal(t, n+1, a.Stats().PurgedAreas)
	require.Equal(t, 1, a.Stats().TLBFlushes)
	require.Equal(t, start4, a.Stats().LastFlushStart)
	require.Equal(t, start4+uint64(n+1)*2048*PageSize, a.Stats().LastFlushEnd)
	require.Equal(t, [][2]uint64{{1, ULongMax}}, freeRanges(a))
}

func TestSpec30FailureDrivenPurge(t *testing.T) {
	a := newAlloc(t, Config{CPUs: 4})
	full := mustArea(t, a, 32*tib-8*kib, 0)
	require.NoError(t, a.FreeVMArea(full))
	again := mustArea(t, a, 32*tib-8*kib, 0)
	require.Equal(t, full.Addr, again.Addr)
	require.Equal(t, 1, a.Stats().Purges)
	require.Equal(t, 1, a.Stats().PurgedAreas)

	// The same in a small ranged window, area by area.
	b := newAlloc(t, Config{CPUs: 4})
	lo, hi := start4, start4+16*PageSize
	var got []*VMStruct
	for {
		vm, err := b.GetVMAreaRange(PageSize, 0, lo, hi, "")
		if err != nil {
			require.ErrorIs(t, err, errno.EBUSY)
			break
		}
		got = append(got, vm)
	}
	require.Len(t, got, 8)
	require.NoError(t, b.FreeVMArea(got[3]))
	vm, err := b.GetVMAreaRange(PageSize, 0, lo, hi, "")
	require.NoError(t, err)
	require.Equal(t, got[3].Addr, vm.Addr)
}

func TestSpec31Merge(t *testing.T) {
	a := newAlloc(t, Config{CPUs: 4})
	require.Len(t, freeRanges(a), 1)
	x := mustArea(t, a, PageSize, 0)
	y := mustArea(t, a, 5*PageSize, 0)
	z := mustArea(t, a, 2*PageSize, 0)
	require.Equal(t, x.Addr+x.Size, y.Addr)
	require.Equal(t, y.Addr+y.Size, z.Addr)
	require.Len(t, freeRanges(a), 2, "the first allocation splits [1, ULONG_MAX) in two")
	for _, vm := range []*VMStruct{y, x, z} {
		require.NoError(t, a.FreeVMArea(vm))
	}
	a.VMUnmapAliases()
	require.Equal(t, [][2]uint64{{1, ULongMax}}, freeRanges(a))
	require.Equal(t, 1, a.cache.inUse-countPreloaded(a), "merged descriptors went back to the cache")
}

func countPreloaded(a *Allocator) int {
	n := 0
	for _, p := range a.preload {
		if p != nil {
			n++
		}
	}
	return n
}

func TestSpec39GuardBelongsToArea(t *testing.T) {
	a := newAlloc(t, Config{CPUs: 4})
	vm := mustArea(t, a, 4*gib+64*kib, VMSparse|VMUsermap)
	guard := vm.Addr + vm.AreaSize()
	got, ok := a.FindVmapArea(guard)
	require.True(t, ok)
	require.Same(t, vm, got.VM)
	require.Same(t, vm, a.FindVMArea(guard+PageSize-1))
	require.Nil(t, a.FindVMArea(vm.Addr+vm.Size))
	require.Nil(t, a.FindVMArea(vm.Addr-1))
}

func TestSpec40IsVmallocAddr(t *testing.T) {
	l := Layout4
	require.True(t, l.IsVmallocAddr(0xffffc90000000000))
	require.False(t, l.IsVmallocAddr(0xffffe8ffffffffff), "VMALLOC_END itself is outside")
	require.True(t, l.IsVmallocAddr(0xffffe8fffffffffe))
	require.False(t, l.IsVmallocAddr(0xffffc8ffffffffff))
	require.True(t, Layout5.IsVmallocAddr(0xffa0000000000000))
	require.False(t, Layout5.IsVmallocAddr(0xffd1ffffffffffff))
}

func TestSpec41RemoveVMArea(t *testing.T) {
	a := newAlloc(t, Config{CPUs: 4})
	vm := mustArea(t, a, 4*PageSize, VMMap)
	require.Nil(t, a.RemoveVMArea(vm.Addr+0x123))
	require.True(t, strings.HasPrefix(a.LastWarning(), "Trying to vfree() bad address"), a.LastWarning())
	require.Same(t, vm, a.FindVMArea(vm.Addr), "a refused removal leaves the area")

	require.Same(t, vm, a.RemoveVMArea(vm.Addr+PageSize), "an interior page removes the whole area")
	require.Nil(t, a.FindVMArea(vm.Addr))
	require.Equal(t, uint64(5), a.LazyPages())
	require.Nil(t, a.RemoveVMArea(vm.Addr), "already gone")
	require.Error(t, a.FreeVMArea(vm))
}

func TestSpec42NodePools(t *testing.T) {
	a := newAlloc(t, Config{CPUs: 8, Nodes: 8})
	require.NoError(t, a.SetCPU(3))
	x := mustArea(t, a, PageSize, VMAlloc)
	require.NoError(t, a.FreeVMArea(x))
	a.VMUnmapAliases()
	pool := &a.nodes[3].pool[1]
	require.Equal(t, 1, pool.len, "the purged area waits in bucket 1 of node 3")
	require.Equal(t, x.Addr, pool.list.first().start)
	before := freeRanges(a)

	// Another CPU's node has an empty pool: the free tree serves it.
	require.NoError(t, a.SetCPU(4))
	other := mustArea(t, a, PageSize, VMAlloc)
	require.NotEqual(t, x.Addr, other.Addr)
	// CPU 11 would map to node 3 too; CPU 3 again takes the pooled area
	// without touching the free tree.
	require.NoError(t, a.SetCPU(3))
	before = freeRanges(a)
	y := mustArea(t, a, PageSize, VMAlloc)
	require.Equal(t, x.Addr, y.Addr)
	require.Equal(t, before, freeRanges(a))
	require.Zero(t, pool.len)
}

func TestSpec42PoolDecay(t *testing.T) {
	a := newAlloc(t, Config{CPUs: 8, Nodes: 8})
	var areas []*VMStruct
	for i := 0; i < 9; i++ {
		areas = append(areas, mustArea(t, a, PageSize, 0))
	}
	// Keep a busy area between pooled ones so decay has nothing to merge.
	for i := 0; i < 9; i += 2 {
		require.NoError(t, a.FreeVMArea(areas[i]))
	}
	a.VMUnmapAliases()
	pool := &a.nodes[0].pool[1]
	require.Equal(t, 5, pool.len)
	a.VMUnmapAliases() // a normal purge decays floor(5/4) = 1
	require.Equal(t, 4, pool.len)
	a.VMUnmapAliases()
	require.Equal(t, 3, pool.len)
	a.VMUnmapAliases() // floor(3/4) = 0
	require.Equal(t, 3, pool.len)
	a.purgeLazy(ULongMax, 0, true) // a failure-driven purge takes all
	require.Zero(t, pool.len)
}

func TestSpec43FreeVMAreaIsLazy(t *testing.T) {
	a := newAlloc(t, Config{CPUs: 4})
	small := mustArea(t, a, 16*PageSize, VMSparse|VMUsermap)
	require.NoError(t, a.FreeVMArea(small))
	require.Equal(t, uint64(17), a.LazyPages())
	next := mustArea(t, a, 16*PageSize, VMSparse|VMUsermap)
	require.GreaterOrEqual(t, next.Addr, small.Addr+small.Size, "no overlap with the lazy range")
	require.Zero(t, a.Stats().Purges)

	// An arena's window alone is 0x100011 pages, far above
	// lazy_max_pages: the model's deterministic rule purges as soon as
	// it is freed (the kernel schedules that purge as work), with one
	// flush covering every lazy range.
	arena := mustArea(t, a, 4*gib+64*kib, VMSparse|VMUsermap)
	require.NoError(t, a.FreeVMArea(arena))
	require.Zero(t, a.LazyPages())
	require.Equal(t, 1, a.Stats().Purges)
	require.Equal(t, small.Addr, a.Stats().LastFlushStart)
	require.Equal(t, arena.Addr+arena.Size, a.Stats().LastFlushEnd)
	again := mustArea(t, a, 4*gib+64*kib, VMSparse|VMUsermap)
	require.Equal(t, arena.Addr, again.Addr, "the purged range is reused; the hole below is too small")
}

// TestFreeVMAreaFindsItsArea: free_vm_area finds the area again by
// area->addr; the model goes straight to the busy area bound to the
// vm_struct when that is the one the search would find, and must end in
// the same state as the search in every case, including the kernel-BUG
// ones of a stale or altered vm_struct.
func TestFreeVMAreaFindsItsArea(t *testing.T) {
	for _, nodes := range []int{1, 4} {
		// The same calls, freeing through FreeVMArea and through
		// RemoveVMArea of the address, give the same allocator.
		a, b := newAlloc(t, Config{CPUs: 4, Nodes: nodes}), newAlloc(t, Config{CPUs: 4, Nodes: nodes})
		var xs, ys []*VMStruct
		for i := range 40 {
			xs = append(xs, mustArea(t, a, uint64(1+i%5)*PageSize, VMMap))
			ys = append(ys, mustArea(t, b, uint64(1+i%5)*PageSize, VMMap))
		}
		for _, i := range []int{3, 17, 4, 39, 0, 22} {
			require.NoError(t, a.FreeVMArea(xs[i]))
			require.Same(t, ys[i], b.RemoveVMArea(ys[i].Addr))
			require.Nil(t, xs[i].va, "the vm_struct is unbound")
		}
		require.Equal(t, freeRanges(b), freeRanges(a), "nodes %d", nodes)
		require.Equal(t, b.LazyPages(), a.LazyPages())
		for i := range xs {
			require.Equal(t, b.FindVMArea(ys[i].Addr) != nil, a.FindVMArea(xs[i].Addr) != nil, "area %d", i)
		}
		require.NoError(t, a.Check())
	}

	a := newAlloc(t, Config{CPUs: 4})
	// A vm_struct already removed, its range reused: the kernel BUGs after
	// removing the new owner of the address, and so does the model.
	x := mustArea(t, a, 2*PageSize, VMMap)
	require.Same(t, x, a.RemoveVMArea(x.Addr))
	a.VMUnmapAliases()
	y := mustArea(t, a, 2*PageSize, VMMap)
	require.Equal(t, x.Addr, y.Addr, "lowest fit reuses the range")
	require.ErrorIs(t, a.FreeVMArea(x), errno.EINVAL)
	require.Nil(t, a.FindVMArea(y.Addr), "the area at x's old address went")

	// A caller that moved Addr inside its own area frees it; one that
	// moved it into another area removes that one and gets EINVAL.
	p := mustArea(t, a, 4*PageSize, VMMap)
	q := mustArea(t, a, 4*PageSize, VMMap)
	p.Addr += PageSize
	require.NoError(t, a.FreeVMArea(p))
	require.Nil(t, a.FindVMArea(p.Addr))
	r := mustArea(t, a, 4*PageSize, VMMap)
	r.Addr = q.Addr
	require.ErrorIs(t, a.FreeVMArea(r), errno.EINVAL)
	require.Nil(t, a.FindVMArea(q.Addr), "q went instead")
	require.Same(t, r, a.FindVMArea(r.va.start), "r stays")
	r.Addr = r.va.start // mend it, for the invariant check
	require.NoError(t, a.Check())
}

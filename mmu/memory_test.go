package mmu

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoadStoreSizes(t *testing.T) {
	f := newFixture(t, FourLevel)
	pfn := f.mapPage(t, kpg, PageKernel)
	require.False(t, f.as.Store(kva, 8, 0x8877665544332211, Read).Faulted())
	for _, c := range []struct {
		size int
		want uint64
	}{{1, 0x11}, {2, 0x2211}, {3, 0x332211}, {4, 0x44332211}, {7, 0x77665544332211}, {8, 0x8877665544332211}} {
		v, flt := f.as.Load(kva, c.size, Read)
		require.False(t, flt.Faulted())
		require.Equal(t, c.want, v, "size %d", c.size)
	}
	require.False(t, f.as.Store(kva+1, 2, 0xbbaa, Read).Faulted())
	require.False(t, f.as.Store(kva+4, 3, 0xffeedd, Read).Faulted())
	require.Equal(t, uint64(0x88ffeedd44bbaa11), f.pm.ReadPhys64(pfn.Addr()+0x234), "little-endian, in the mapped frame")
	require.Panics(t, func() { f.as.Load(kva, 0, Read) })
	require.Panics(t, func() { f.as.Store(kva, 9, 0, Read) })
}

// TestPageCrossing: an access spanning two pages needs both; a fault on
// either stops it before any byte moves.
func TestPageCrossing(t *testing.T) {
	f := newFixture(t, FourLevel)
	p1 := f.mapPage(t, kpg, PageKernel&^PageDirty)
	va := uint64(kpg + PageSize - 3)
	flt := f.as.Store(va, 8, 0x8877665544332211, Read)
	requireFault(t, f.as, kpg+PageSize, flt, pfCode(0x2))
	require.Equal(t, uint64(0), f.pm.ReadPhys64(p1.Addr()+PageSize-8), "nothing written to the first page")
	require.True(t, f.entry(t, kpg, LevelPT).Dirty(), "the first page was translated for writing, as hardware may")

	p2 := f.mapPage(t, kpg+PageSize, PageKernelRO)
	flt = f.as.Store(va, 8, 0x8877665544332211, Read)
	requireFault(t, f.as, kpg+PageSize, flt, pfCode(0x3))
	require.NoError(t, f.pt.Protect(kpg+PageSize, PageSize, PageKernel))
	f.as.Invlpg(kpg + PageSize)
	require.False(t, f.as.Store(va, 8, 0x8877665544332211, Read).Faulted())
	b := make([]byte, 8)
	f.pm.ReadPhys(p1.Addr()+PageSize-3, b[:3])
	f.pm.ReadPhys(p2.Addr(), b[3:])
	require.Equal(t, []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}, b)
	v, flt := f.as.Load(va, 8, Read)
	require.False(t, flt.Faulted())
	require.Equal(t, uint64(0x8877665544332211), v)

	// Into the non-canonical hole: #GP on the second part.
	f.mapPage(t, 0x00007ffffffff000, PageShared)
	_, flt = f.as.Load(0x00007ffffffffffc, 8, User)
	require.Equal(t, Fault{Vector: VecGP, Addr: 0x0000800000000000, Cause: CauseNonCanonical}, flt)
}

func TestByteSlices(t *testing.T) {
	f := newFixture(t, FourLevel)
	for i := range uint64(3) {
		f.mapPage(t, upg+i*PageSize, PageShared)
	}
	data := bytes.Repeat([]byte("arenasim"), 1000) // 8000 bytes over three pages
	require.False(t, f.as.WriteBytes(upg+100, data, User).Faulted())
	got := make([]byte, len(data))
	require.False(t, f.as.ReadBytes(upg+100, got, User).Faulted())
	require.Equal(t, data, got)
	require.False(t, f.as.ReadBytes(upg, nil, User).Faulted())

	// A fault in the middle page stops the whole write.
	require.NoError(t, f.pt.Protect(upg+PageSize, PageSize, PageReadonly))
	f.as.FlushAll()
	flt := f.as.WriteBytes(upg+100, bytes.Repeat([]byte{0}, len(data)), User)
	requireFault(t, f.as, upg+PageSize, flt, pfCode(0x7))
	require.False(t, f.as.ReadBytes(upg+100, got, User).Faulted())
	require.Equal(t, data, got)
}

// TestMemoryBeyondRAM: a mapping of physical addresses above RAM reads all
// ones and drops writes, and is never cached.
func TestMemoryBeyondRAM(t *testing.T) {
	f := newFixture(t, FourLevel)
	require.NoError(t, f.pt.Map(kpg, PageSize, 1<<40, PageKernel))
	v, flt := f.as.Load(kva, 8, Read)
	require.False(t, flt.Faulted())
	require.Equal(t, ^uint64(0), v)
	require.False(t, f.as.Store(kva, 4, 0, Read).Faulted())
	v, _ = f.as.Load(kva, 4, Read)
	require.Equal(t, uint64(0xffffffff), v)
	pa, _ := f.as.Translate(kva, Read)
	require.Equal(t, uint64(1<<40|0x234), pa)
	require.Equal(t, uint64(0), f.as.TLB().Stats().Fills)
}

func TestFetch(t *testing.T) {
	f := newFixture(t, FourLevel)
	f.mapPage(t, kpg, PageKernelExec)
	f.mapPage(t, kpg+PageSize, PageKernel)
	require.False(t, f.as.Store(kva, 4, 0xc3, Read).Faulted())
	v, flt := f.as.Load(kva, 1, Fetch)
	require.False(t, flt.Faulted())
	require.Equal(t, uint64(0xc3), v)
	_, flt = f.as.Load(kva+PageSize, 1, Fetch)
	require.Equal(t, ErrorCode(0x11), flt.Code)
	// Store ignores a Fetch bit; Load ignores a Write bit.
	require.False(t, f.as.Store(kva+PageSize, 1, 1, Fetch).Faulted())
	_, flt = f.as.Load(kva+PageSize, 1, Write)
	require.False(t, flt.Faulted())
}

// TestNoAllocations: accesses allocate nothing in steady state, hits or
// misses.
func TestNoAllocations(t *testing.T) {
	f := newFixture(t, FourLevel)
	f.mapPage(t, kpg, PageKernel)
	f.mapPage(t, kpg+PageSize, PageKernel)
	require.Zero(t, testing.AllocsPerRun(100, func() {
		f.as.Load(kva, 8, Read)
		f.as.Store(kva, 8, 1, Read)
	}), "TLB hits")
	require.Zero(t, testing.AllocsPerRun(100, func() {
		f.as.Invlpg(kva)
		f.as.Load(kva, 8, Read)
	}), "TLB misses")
	require.Zero(t, testing.AllocsPerRun(100, func() {
		f.as.Load(kpg+PageSize-4, 8, Read)
		f.as.Load(kva+2*PageSize, 8, Read) // a #PF
		f.as.Load(0x0000800000000000, 8, Read)
	}), "crossing and faulting accesses")
}

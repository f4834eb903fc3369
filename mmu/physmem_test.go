package mmu

import (
	"bytes"
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/internal/trace"
	"github.com/stretchr/testify/require"
)

func TestPhysMemConfig(t *testing.T) {
	pm, err := NewPhysMem(PhysMemConfig{})
	require.NoError(t, err)
	require.Equal(t, uint64(64<<30), pm.Size())
	require.Equal(t, uint64(16<<20), pm.Frames())
	for _, cfg := range []PhysMemConfig{
		{Size: 4097},
		{Size: 1<<52 + PageSize},
		{Size: 1 << 20, ReservedLow: 1 << 20},
	} {
		_, err := NewPhysMem(cfg)
		require.ErrorIs(t, err, errno.EINVAL, "%+v", cfg)
	}
}

func TestAllocOrderAndReuse(t *testing.T) {
	pm, err := NewPhysMem(PhysMemConfig{Size: 8 << 20})
	require.NoError(t, err)
	p, ok := pm.Page(0)
	require.True(t, ok)
	require.Equal(t, PGReserved, p.Flags)
	p, _ = pm.Page(0xff)
	require.Equal(t, PGReserved, p.Flags, "the first megabyte is reserved")
	p, _ = pm.Page(0x100)
	require.Equal(t, PGBuddy, p.Flags)
	_, ok = pm.Page(PFN(pm.Frames()))
	require.False(t, ok)

	a, err := pm.AllocPage(GFPKernel)
	require.NoError(t, err)
	b, err := pm.AllocPage(GFPKernel)
	require.NoError(t, err)
	require.Equal(t, []PFN{0x100, 0x101}, []PFN{a, b}, "lowest first")
	p, _ = pm.Page(a)
	require.Equal(t, Page{Refcount: 1}, p)
	require.Equal(t, uint64(2), pm.InUse())

	pm.WritePhys(a.Addr()+10, []byte("secret"))
	require.NoError(t, pm.PutPage(a))
	p, _ = pm.Page(a)
	require.Equal(t, Page{Flags: PGBuddy}, p)
	c, err := pm.AllocPage(GFPKernel)
	require.NoError(t, err)
	require.Equal(t, a, c, "the most recently freed frame comes back first")
	got := make([]byte, 6)
	pm.ReadPhys(c.Addr()+10, got)
	require.Equal(t, "secret", string(got), "without __GFP_ZERO the old contents stay")
	require.NoError(t, pm.PutPage(c))
	c, err = pm.AllocPage(GFPKernel | GFPZero)
	require.NoError(t, err)
	pm.ReadPhys(c.Addr()+10, got)
	require.Equal(t, make([]byte, 6), got, "__GFP_ZERO clears a reused frame")
}

func TestRefcounts(t *testing.T) {
	pm, err := NewPhysMem(PhysMemConfig{})
	require.NoError(t, err)
	a, err := pm.AllocPage(GFPKernel)
	require.NoError(t, err)
	require.NoError(t, pm.GetPage(a))
	require.NoError(t, pm.IncMapcount(a))
	p, _ := pm.Page(a)
	require.Equal(t, Page{Refcount: 2, Mapcount: 1}, p)
	require.Equal(t, "refcount:2 mapcount:1 flags:0", p.String())
	require.NoError(t, pm.PutPage(a))
	err = pm.PutPage(a)
	require.ErrorIs(t, err, errno.EINVAL, "freeing a mapped page is a bad page state")
	require.Contains(t, err.Error(), "bad page state")
	require.NoError(t, pm.DecMapcount(a))
	require.ErrorIs(t, pm.DecMapcount(a), errno.EINVAL)
	require.NoError(t, pm.PutPage(a))
	require.Equal(t, uint64(0), pm.InUse())
	for _, err := range []error{pm.PutPage(a), pm.GetPage(a), pm.IncMapcount(a), pm.PutPage(0), pm.GetPage(PFN(pm.Frames()))} {
		require.ErrorIs(t, err, errno.EINVAL)
	}
}

func TestFailHooks(t *testing.T) {
	var rec trace.Recorder
	pm, err := NewPhysMem(PhysMemConfig{Size: 1<<20 + 3*PageSize, Tracer: trace.New(&rec, trace.Of(trace.Alloc))})
	require.NoError(t, err)
	var seen []AllocRequest
	pm.SetFailHook(func(r AllocRequest) bool {
		seen = append(seen, r)
		return r.Site == "pte_alloc"
	})
	_, err = pm.AllocPageAt("pte_alloc", GFPPGTableKernel)
	require.ErrorIs(t, err, errno.ENOMEM)
	_, err = pm.AllocPageAt("pte_alloc", GFPPGTableKernel|GFPNoFail)
	require.NoError(t, err, "__GFP_NOFAIL is never failed by injection")
	_, err = pm.AllocPage(GFPKernel)
	require.NoError(t, err)
	require.Equal(t, []AllocRequest{{1, "pte_alloc", GFPPGTableKernel}, {3, "alloc_page", GFPKernel}}, seen)

	pm.SetFailHook(FailNth(2))
	_, err = pm.AllocPage(GFPKernel)
	require.NoError(t, err)
	_, err = pm.AllocPage(GFPKernel)
	require.ErrorIs(t, err, errno.ENOMEM, "the second is injected")
	pm.SetFailHook(nil)
	_, err = pm.AllocPage(GFPKernel)
	require.ErrorIs(t, err, errno.ENOMEM, "RAM exhausted")
	require.Contains(t, err.Error(), "all 3 frames in use")

	require.Equal(t, []string{
		"#1 alloc pte_alloc(GFP_KERNEL|__GFP_ZERO) failed (injected)",
		"#2 alloc addr=0x100000 pte_alloc(GFP_KERNEL|__GFP_ZERO|__GFP_NOFAIL) -> pfn 0x100",
		"#3 alloc addr=0x101000 alloc_page(GFP_KERNEL) -> pfn 0x101",
		"#4 alloc addr=0x102000 alloc_page(GFP_KERNEL) -> pfn 0x102",
		"#5 alloc alloc_page(GFP_KERNEL) failed (injected)",
		"#6 alloc alloc_page(GFP_KERNEL) failed: out of memory",
	}, eventLines(&rec))
}

// TestSparse: a 64 GiB machine costs host memory only where frames are
// written; reads of untouched RAM give zeros and beyond RAM all ones.
func TestSparse(t *testing.T) {
	pm, err := NewPhysMem(PhysMemConfig{})
	require.NoError(t, err)
	for i := range 1000 {
		_, err := pm.AllocPage(GFPKernel | GFPZero)
		require.NoError(t, err, "%d", i)
	}
	require.Equal(t, uint64(0), pm.Resident(), "allocation alone costs nothing")
	pm.WritePhys64(60<<30+8, 0xdeadbeef)
	require.Equal(t, uint64(1), pm.Resident())
	require.Equal(t, uint64(0xdeadbeef), pm.ReadPhys64(60<<30+8))
	require.Equal(t, uint64(0), pm.ReadPhys64(30<<30))
	require.Equal(t, ^uint64(0), pm.ReadPhys64(pm.Size()))
	pm.WritePhys64(pm.Size()+8, 1)
	require.Equal(t, ^uint64(0), pm.ReadPhys64(pm.Size()+8), "writes beyond RAM are dropped")
	// A read straddling the end of RAM and unaligned access.
	buf := make([]byte, 16)
	pm.WritePhys(pm.Size()-8, bytes.Repeat([]byte{7}, 8))
	pm.ReadPhys(pm.Size()-8, buf)
	require.Equal(t, append(bytes.Repeat([]byte{7}, 8), bytes.Repeat([]byte{0xff}, 8)...), buf)
	pm.WritePhys64(2<<20+PageSize-3, 0x0102030405060708)
	require.Equal(t, uint64(0x0102030405060708), pm.ReadPhys64(2<<20+PageSize-3))
	require.Equal(t, "65536 MiB RAM, 1000 frames in use, 4 resident", pm.String())
}

// TestAllocNoGarbage: with tracing off, allocating and freeing frames
// allocates nothing on the host once the frames' chunk exists.
func TestAllocNoGarbage(t *testing.T) {
	pm, err := NewPhysMem(PhysMemConfig{})
	require.NoError(t, err)
	pfn, err := pm.AllocPage(GFPKernel)
	require.NoError(t, err)
	require.NoError(t, pm.PutPage(pfn))
	require.Zero(t, testing.AllocsPerRun(100, func() {
		p, _ := pm.AllocPage(GFPKernel | GFPZero)
		_ = pm.PutPage(p)
	}))
}

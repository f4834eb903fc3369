package vmalloc

import (
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/mmu"
	"github.com/stretchr/testify/require"
)

// mmScenario exercises every frame allocation of the mapping side: data
// pages and a vmalloc'ed pages[] array (Vmalloc), page tables in two 1 GiB
// regions (AreaMapPages), a vmap, then frees everything. It checks the
// invariants after each step and returns the sites that failed.
func mmScenario(t *testing.T, m *machine) []string {
	var failed []string
	step := func(what string, err error) bool {
		t.Helper()
		require.NoError(t, m.a.Check(), "after %s", what)
		if err != nil {
			require.ErrorIs(t, err, errno.ENOMEM, what)
			failed = append(failed, what)
			return false
		}
		return true
	}
	small, err := m.a.Vmalloc(3 * PageSize)
	step("vmalloc 3 pages", err)
	big, err := m.a.Vmalloc(520 * PageSize)
	step("vmalloc 520 pages", err)
	area := mustArea(t, m.a, arenaWindow, VMSparse|VMUsermap)
	kstart := area.Addr + 32*kib
	var pages []mmu.PFN
	for range 4 {
		pfn, err := m.pm.AllocPage(mmu.GFPKernel | mmu.GFPZero)
		if step("test page", err) {
			pages = append(pages, pfn)
		}
	}
	if len(pages) == 4 {
		step("map 4 pages", m.a.AreaMapPages(area, kstart, kstart+4*PageSize, pages))
		step("map in the next 1 GiB", m.a.AreaMapPages(area, kstart+gib, kstart+gib+PageSize, pages[:1]))
	}
	var vmapped uint64
	if len(pages) >= 2 {
		vmapped, err = m.a.VMap(pages[:2], VMMap, mmu.PageKernel)
		step("vmap", err)
	}
	require.NoError(t, m.a.Vfree(small))
	require.NoError(t, m.a.Vfree(big))
	require.NoError(t, m.a.Vunmap(vmapped))
	m.a.AreaUnmapPages(area, area.Addr, area.Addr+area.AreaSize())
	require.NoError(t, m.a.FreeVMArea(area))
	for _, pfn := range pages {
		require.NoError(t, m.pm.PutPage(pfn))
	}
	m.a.VMUnmapAliases()
	require.NoError(t, m.a.Check())
	require.Equal(t, uint64(m.pt.TableFrames()), m.pm.InUse(), "every frame but the page tables is free again")
	require.Zero(t, m.a.VmallocPages())
	return failed
}

// TestInjectFrames fails the frame allocations of mmScenario one at a
// time: every page-table allocation, and the first, second and last of
// each run of data-page allocations (the ones between take the same path).
func TestInjectFrames(t *testing.T) {
	var seq []string
	m := newMachine(t, Config{CPUs: 2}, 0)
	m.pm.SetFailHook(func(r mmu.AllocRequest) bool { seq = append(seq, r.Site); return false })
	require.Empty(t, mmScenario(t, m))
	count := map[string]int{}
	for _, s := range seq {
		count[s]++
	}
	require.Equal(t, 3+520+2, count[dataPageSite], "data pages, the nested array's two included")
	require.Positive(t, count["pte_alloc"])
	require.Positive(t, count["pmd_alloc"])

	tried := 0
	for i := range seq {
		inRun := i >= 2 && seq[i-1] == seq[i] && seq[i-2] == seq[i]
		if inRun && i+1 < len(seq) && seq[i+1] == seq[i] {
			continue
		}
		n := uint64(i + 1)
		var site string
		hook := mmu.FailNth(n)
		m := newMachine(t, Config{CPUs: 2}, 0)
		m.pm.SetFailHook(func(r mmu.AllocRequest) bool {
			if hook(r) {
				site = r.Site
				return true
			}
			return false
		})
		require.Len(t, mmScenario(t, m), 1, "allocation %d (%s) fails exactly one step", n, site)
		tried++
	}
	require.Greater(t, tried, 10)
}

// TestInjectPagesArray fails the kmalloc of a small pages[] array.
func TestInjectPagesArray(t *testing.T) {
	inj := &failCalls{fail: map[Site][]int{SitePagesArray: {0}}}
	m := newMachine(t, Config{CPUs: 2, Inject: inj}, 0)
	inUse := m.pm.InUse()
	_, err := m.a.Vmalloc(2 * PageSize)
	require.ErrorIs(t, err, errno.ENOMEM)
	require.Contains(t, m.a.LastWarning(), "failed to allocated page array")
	require.Equal(t, inUse, m.pm.InUse(), "no frame was taken")
	require.Equal(t, uint64(3), m.a.LazyPages(), "the area is freed lazily")
	addr, err := m.a.Vmalloc(2 * PageSize)
	require.NoError(t, err)
	require.Equal(t, start4+3*PageSize, addr)
}

package vmalloc

import (
	"slices"
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/stretchr/testify/require"
)

// failCalls fails the listed calls (counted from 0) at each site and
// counts every call.
type failCalls struct {
	fail  map[Site][]int
	calls [numSites]int
}

func (f *failCalls) Fail(site Site) bool {
	n := f.calls[site]
	f.calls[site]++
	return slices.Contains(f.fail[site], n)
}

// TestInjectAreaAllocation fails the allocations of a get_vm_area on a
// fresh allocator. That first request splits [1, ULONG_MAX) in the middle,
// so it needs the area's descriptor (call 0), the CPU's preloaded spare
// (call 1) and, if the preload failed, a non-blocking one for the split.
func TestInjectAreaAllocation(t *testing.T) {
	cases := []struct {
		name    string
		fail    map[Site][]int
		want    errno.Errno // 0: success
		purges  int
		calls   int // vmap_area allocations attempted
		preload bool
		warns   int
	}{
		{"none", nil, 0, 0, 2, false, 0},
		{"vm_struct", map[Site][]int{SiteVMStruct: {0}}, errno.ENOMEM, 0, 0, false, 0},
		{"descriptor", map[Site][]int{SiteVmapArea: {0}}, errno.ENOMEM, 0, 1, false, 0},
		{"preload only", map[Site][]int{SiteVmapArea: {1}}, 0, 0, 3, false, 0},
		// The split fails: WARN, purge, retry with a fresh preload.
		{"preload and split", map[Site][]int{SiteVmapArea: {1, 2}}, 0, 1, 4, false, 1},
		{"every retry", map[Site][]int{SiteVmapArea: {1, 2, 3, 4}}, errno.EBUSY, 1, 5, false, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inj := &failCalls{fail: c.fail}
			a := newAlloc(t, Config{CPUs: 4, Inject: inj})
			vm, err := a.GetVMArea(PageSize, 0)
			require.Equal(t, c.calls, inj.calls[SiteVmapArea], "vmap_area allocations")
			require.Equal(t, c.purges, a.Stats().Purges)
			require.Equal(t, c.warns, a.Stats().Warnings, a.LastWarning())
			checkOK(t, a)
			if c.want != 0 {
				require.Nil(t, vm)
				require.ErrorIs(t, err, c.want)
				require.Equal(t, [][2]uint64{{1, ULongMax}}, freeRanges(a), "a failure changes no address space")
				return
			}
			require.NoError(t, err)
			require.Equal(t, start4, vm.Addr)
			require.Equal(t, c.preload, a.preload[0] != nil)
		})
	}
}

// TestInjectEveryCall fails each single allocation in turn during a mixed
// sequence and checks that every call either succeeds or fails with a
// kernel errno, and that the invariants hold throughout.
func TestInjectEveryCall(t *testing.T) {
	run := func(inj Injector) (int, int) {
		a := newAlloc(t, Config{CPUs: 2, Nodes: 2, Inject: inj})
		var live []*VMStruct
		ok, failed := 0, 0
		for i := 0; i < 40; i++ {
			_ = a.SetCPU(i % 2)
			switch {
			case i%5 == 4 && len(live) > 0:
				require.NoError(t, a.FreeVMArea(live[0]))
				live = live[1:]
			case i%7 == 6:
				a.VMUnmapAliases()
			default:
				align := uint64(1) << (12 + i%3*4)
				vm, err := a.GetVMAreaNode(uint64(1+i%4)*PageSize, align, PageShift, 0, start4, end4, "")
				if err != nil {
					require.Contains(t, []errno.Errno{errno.ENOMEM, errno.EBUSY}, errno.Of(err), "%v", err)
					failed++
				} else {
					live = append(live, vm)
					ok++
				}
			}
			require.NoError(t, a.Check(), "step %d", i)
		}
		return ok, failed
	}
	count := &failCalls{}
	okAll, _ := run(count)
	for site := Site(0); site < numSites; site++ {
		for n := 0; n < count.calls[site]; n++ {
			_, failed := run(&failCalls{fail: map[Site][]int{site: {n}}})
			require.LessOrEqual(t, failed, 1, "one failed allocation fails at most one request")
		}
	}
	require.Positive(t, okAll)
}

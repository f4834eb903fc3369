package vmalloc

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	kib = uint64(1) << 10
	mib = uint64(1) << 20
	gib = uint64(1) << 30
	tib = uint64(1) << 40

	start4 = uint64(VmallocBaseL4)
	end4   = uint64(VmallocBaseL4 + VmallocSizeTBL4<<40 - 1)
)

// newAlloc returns a checked allocator; the invariant check runs again
// when the test ends.
func newAlloc(t testing.TB, cfg Config) *Allocator {
	t.Helper()
	a, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := a.Check(); err != nil {
			t.Errorf("invariants at end of test: %v", err)
		}
	})
	return a
}

// mustArea reserves an area and fails the test on error.
func mustArea(t testing.TB, a *Allocator, size uint64, flags VMFlags) *VMStruct {
	t.Helper()
	vm, err := a.GetVMArea(size, flags)
	require.NoError(t, err)
	require.NotNil(t, vm)
	return vm
}

// freeRanges lists the free blocks in address order.
func freeRanges(a *Allocator) [][2]uint64 {
	var out [][2]uint64
	for va := a.free.list.first(); va != nil; va = a.free.list.after(va) {
		out = append(out, [2]uint64{va.start, va.end})
	}
	return out
}

// freeIn lists the free blocks that intersect [lo, hi).
func freeIn(a *Allocator, lo, hi uint64) [][2]uint64 {
	var out [][2]uint64
	for _, r := range freeRanges(a) {
		if r[1] > lo && r[0] < hi {
			out = append(out, r)
		}
	}
	return out
}

func checkOK(t testing.TB, a *Allocator) {
	t.Helper()
	require.NoError(t, a.Check())
}

package vmalloc

import (
	"testing"

	"github.com/arenasim/arenasim/mmu"
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

// countFree counts the free blocks.
func countFree(a *Allocator) int {
	n := 0
	for va := a.free.list.first(); va != nil; va = a.free.list.after(va) {
		n++
	}
	return n
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

// machine is a kernel page table over simulated RAM, one CPU's address
// space on it (whose TLB the allocator flushes), and the allocator.
type machine struct {
	pm *mmu.PhysMem
	pt *mmu.PageTable
	as *mmu.AddressSpace
	a  *Allocator
}

// newMachine builds a machine with 256 MiB of RAM unless memSize says
// otherwise; cfg gets the page table and TLB filled in. The invariants are
// checked when the test ends.
func newMachine(t testing.TB, cfg Config, memSize uint64) *machine {
	t.Helper()
	m := buildMachine(t, cfg, memSize)
	t.Cleanup(func() {
		if err := m.a.Check(); err != nil {
			t.Errorf("invariants at end of test: %v", err)
		}
	})
	return m
}

// buildMachine is newMachine without the final check.
func buildMachine(t testing.TB, cfg Config, memSize uint64) *machine {
	t.Helper()
	if memSize == 0 {
		memSize = 256 * mib
	}
	mode := mmu.FourLevel
	if cfg.Levels == 5 {
		mode = mmu.FiveLevel
	}
	pm, err := mmu.NewPhysMem(mmu.PhysMemConfig{Size: memSize})
	require.NoError(t, err)
	pt, err := mmu.NewPageTable(pm, mmu.PageTableConfig{Mode: mode, Name: "kernel"})
	require.NoError(t, err)
	as, err := mmu.NewAddressSpace(pt, mmu.AddressSpaceConfig{Name: "cpu0"})
	require.NoError(t, err)
	cfg.PageTable, cfg.TLB = pt, as
	a, err := New(cfg)
	require.NoError(t, err)
	return &machine{pm: pm, pt: pt, as: as, a: a}
}

// frames allocates n frames for mapping tests.
func (m *machine) frames(t testing.TB, n int) []mmu.PFN {
	t.Helper()
	out := make([]mmu.PFN, n)
	for i := range out {
		pfn, err := m.pm.AllocPage(mmu.GFPKernel | mmu.GFPZero)
		require.NoError(t, err)
		out[i] = pfn
	}
	return out
}

// pte returns the kernel PTE at va (0 when there is none).
func (m *machine) pte(va uint64) mmu.PTE {
	leaf, _ := m.pt.Lookup(va)
	return leaf.Entry
}

// refcount returns a frame's reference count.
func (m *machine) refcount(t testing.TB, pfn mmu.PFN) int32 {
	t.Helper()
	p, ok := m.pm.Page(pfn)
	require.True(t, ok)
	return p.Refcount
}

// write stores one byte as the kernel and reports the fault, if any.
func (m *machine) write(va uint64, v byte) mmu.Fault {
	return m.as.Store(va, 1, uint64(v), mmu.Write)
}

// read loads one byte as the kernel.
func (m *machine) read(va uint64) (byte, mmu.Fault) {
	v, f := m.as.Load(va, 1, mmu.Read)
	return byte(v), f
}

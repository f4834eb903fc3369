package mmu

import (
	"testing"

	"github.com/arenasim/arenasim/internal/trace"

	"github.com/stretchr/testify/require"
)

// fixture is a machine with the spec's assumptions: 4-level paging (or
// 5-level), MAXPHYADDR 46, NXE, WP, SMEP, SMAP, AC clear.
type fixture struct {
	pm  *PhysMem
	pt  *PageTable
	as  *AddressSpace
	cfg AddressSpaceConfig
}

func newFixture(t testing.TB, mode PagingMode) *fixture {
	t.Helper()
	pm, err := NewPhysMem(PhysMemConfig{})
	require.NoError(t, err)
	pt, err := NewPageTable(pm, PageTableConfig{Mode: mode, Name: "kernel"})
	require.NoError(t, err)
	as, err := NewAddressSpace(pt, AddressSpaceConfig{Name: "cpu0"})
	require.NoError(t, err)
	return &fixture{pm: pm, pt: pt, as: as}
}

// frame allocates a data frame.
func (f *fixture) frame(t testing.TB) PFN {
	t.Helper()
	pfn, err := f.pm.AllocPage(GFPKernel | GFPZero)
	require.NoError(t, err)
	return pfn
}

// mapPage maps a fresh frame at va with prot and returns the frame.
func (f *fixture) mapPage(t testing.TB, va uint64, prot PTE) PFN {
	t.Helper()
	pfn := f.frame(t)
	require.NoError(t, f.pt.MapPage(va, pfn, prot))
	return pfn
}

// entryAddr returns where va's entry of level l lives; the tables above it
// must be present.
func (f *fixture) entryAddr(t testing.TB, va uint64, l Level) uint64 {
	t.Helper()
	r := f.as.Walk(va, Read)
	for _, s := range r.Steps() {
		if s.Level == l {
			return s.EntryAddr
		}
	}
	t.Fatalf("walk of 0x%x does not reach %v:\n%v", va, l, &r)
	return 0
}

// entry reads va's entry of level l.
func (f *fixture) entry(t testing.TB, va uint64, l Level) PTE {
	t.Helper()
	return PTE(f.pm.ReadPhys64(f.entryAddr(t, va, l)))
}

// patch rewrites va's entry of level l behind the page table's back, as a
// test or a buggy kernel would.
func (f *fixture) patch(t testing.TB, va uint64, l Level, fn func(PTE) PTE) {
	t.Helper()
	ea := f.entryAddr(t, va, l)
	f.pm.WritePhys64(ea, uint64(fn(PTE(f.pm.ReadPhys64(ea)))))
}

// tableSnapshot copies every allocated frame, to prove that an access
// changed nothing.
func (f *fixture) tableSnapshot() map[PFN][PageSize]byte {
	snap := map[PFN][PageSize]byte{}
	for pfn := range f.pm.AllocatedFrames() {
		var b [PageSize]byte
		f.pm.ReadPhys(pfn.Addr(), b[:])
		snap[pfn] = b
	}
	return snap
}

func pfCode(code ErrorCode) Fault { return Fault{Vector: VecPF, Code: code} }

// requireFault checks vector and code (and CR2 for a #PF).
func requireFault(t testing.TB, as *AddressSpace, va uint64, got Fault, want Fault) {
	t.Helper()
	require.Equal(t, want.Vector, got.Vector, "vector for 0x%x: %v", va, got)
	require.Equal(t, want.Code, got.Code, "error code for 0x%x: %v", va, got)
	if want.Vector == VecPF {
		require.Equal(t, va, got.Addr, "fault address")
		require.Equal(t, va, as.Regs().CR2, "CR2")
	}
}

// eventLines returns the recorded events in their text form.
func eventLines(rec *trace.Recorder) []string {
	var lines []string
	for _, e := range rec.Events {
		lines = append(lines, e.String())
	}
	return lines
}

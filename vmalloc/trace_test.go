package vmalloc

import (
	"testing"

	"github.com/arenasim/arenasim/internal/trace"
	"github.com/stretchr/testify/require"
)

// TestTraceStory records the events of an arena window's life.
func TestTraceStory(t *testing.T) {
	rec := &trace.Recorder{}
	m := newMachine(t, Config{CPUs: 2, Tracer: trace.New(rec, trace.Of(trace.VMap, trace.TLBFlush))}, 0)
	area := mustArea(t, m.a, 16*PageSize, VMSparse|VMUsermap)
	p := m.frames(t, 2)
	require.NoError(t, m.a.AreaMapPages(area, area.Addr, area.Addr+2*PageSize, p))
	m.a.AreaUnmapPages(area, area.Addr, area.Addr+2*PageSize)
	require.NoError(t, m.a.FreeVMArea(area))
	m.a.VMUnmapAliases()
	var got []string
	for _, e := range rec.Events {
		got = append(got, e.String())
	}
	require.Equal(t, []string{
		"#1 vmap kernel addr=0xffffc90000000000 len=0x11000 alloc_vmap_area",
		"#2 vmap kernel addr=0xffffc90000000000 len=0x2000 vm_area_map_pages",
		"#3 vmap kernel addr=0xffffc90000000000 len=0x2000 vm_area_unmap_pages",
		"#4 tlb_flush kernel addr=0xffffc90000000000 len=0x2000 flush_tlb_kernel_range",
		"#5 vmap kernel addr=0xffffc90000000000 len=0x11000 remove_vm_area VM_USERMAP|VM_SPARSE",
		"#6 vmap kernel addr=0xffffc90000000000 val=0x11 len=0x11000 free lazy",
		"#7 tlb_flush kernel addr=0xffffc90000000000 len=0x11000 flush_tlb_kernel_range",
		"#8 vmap kernel addr=0xffffc90000000000 val=0x1 len=0x11000 purge",
	}, got)
}

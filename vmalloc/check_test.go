package vmalloc

import (
	"testing"

	"github.com/arenasim/arenasim/mmu"
	"github.com/stretchr/testify/require"
)

// TestCheckDetects breaks one invariant at a time behind the allocator's
// back and expects Check to say so.
func TestCheckDetects(t *testing.T) {
	cases := []struct {
		name    string
		corrupt func(t *testing.T, m *machine, vm *VMStruct, sparse *VMStruct)
		want    string
	}{
		{"stray PTE in a lazy range", func(t *testing.T, m *machine, vm, sparse *VMStruct) {
			addr := vm.Addr
			require.NoError(t, m.a.Vfree(addr))
			require.NoError(t, m.pt.MapPage(addr, m.frames(t, 1)[0], mmu.PageKernel))
		}, "stray PTE"},
		{"mapped guard page", func(t *testing.T, m *machine, vm, sparse *VMStruct) {
			require.NoError(t, m.pt.MapPage(sparse.Addr+sparse.AreaSize(), m.frames(t, 1)[0], mmu.PageKernel))
		}, "stray PTE"},
		{"vmalloc page unmapped", func(t *testing.T, m *machine, vm, sparse *VMStruct) {
			require.NoError(t, m.pt.Unmap(vm.Addr+PageSize, PageSize, nil))
		}, "2 of its 3 pages mapped"},
		{"wrong subtree max", func(t *testing.T, m *machine, vm, sparse *VMStruct) {
			m.a.free.tree.root.subtreeMax--
		}, "subtree max"},
		{"lazy count", func(t *testing.T, m *machine, vm, sparse *VMStruct) {
			m.a.lazyNr++
		}, "vmap_lazy_nr"},
		{"leaked descriptor", func(t *testing.T, m *machine, vm, sparse *VMStruct) {
			m.a.cache.inUse++
		}, "descriptors"},
		{"busy area grown into free space", func(t *testing.T, m *machine, vm, sparse *VMStruct) {
			va := m.a.findVA(sparse.Addr, false)
			va.end += PageSize
			sparse.Size += PageSize
		}, "overlaps"},
		{"range lost", func(t *testing.T, m *machine, vm, sparse *VMStruct) {
			m.a.findVA(sparse.Addr, true) // unlinked from busy, put nowhere
			m.a.cache.inUse--
		}, "neither free, busy"},
		{"red root", func(t *testing.T, m *machine, vm, sparse *VMStruct) {
			m.a.free.tree.root.red = true
		}, "root is red"},
		{"vm_struct out of step", func(t *testing.T, m *machine, vm, sparse *VMStruct) {
			vm.Size -= PageSize
		}, "has vm_struct"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := buildMachine(t, Config{CPUs: 2}, 0)
			addr, err := m.a.Vmalloc(3 * PageSize)
			require.NoError(t, err)
			sparse := mustArea(t, m.a, 8*PageSize, VMSparse)
			require.NoError(t, m.a.AreaMapPages(sparse, sparse.Addr, sparse.Addr+PageSize, m.frames(t, 1)))
			require.NoError(t, m.a.Check())
			c.corrupt(t, m, m.a.FindVMArea(addr), sparse)
			err = m.a.Check()
			require.ErrorContains(t, err, c.want)
		})
	}
}

package vmalloc_test

import (
	"fmt"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/mmu"
	"github.com/arenasim/arenasim/vmalloc"
)

// The BPF arena reserves its kernel window with get_vm_area(4 GiB + 64 KiB,
// VM_SPARSE|VM_USERMAP); the guard page makes the area 0x100011000 bytes.
func ExampleAllocator_GetVMArea() {
	a, err := vmalloc.New(vmalloc.Config{})
	if err != nil {
		panic(err)
	}
	area, err := a.GetVMAreaCaller(4<<30+64<<10, vmalloc.VMSparse|vmalloc.VMUsermap, "arena_map_alloc")
	if err != nil {
		panic(err)
	}
	fmt.Printf("addr %#x size %#x usable %#x flags %v\n", area.Addr, area.Size, area.AreaSize(), area.Flags)
	fmt.Print(a.Info())
	// Output:
	// addr 0xffffc90000000000 size 0x100011000 usable 0x100010000 flags VM_USERMAP|VM_SPARSE
	// 0xffffc90000000000-0xffffc90100011000 4295036928 arena_map_alloc sparse user
}

// A freed area stays lazy, neither busy nor free, until a purge flushes the
// TLB for it; only then is its range handed out again.
func ExampleAllocator_VMUnmapAliases() {
	a, _ := vmalloc.New(vmalloc.Config{})
	x, _ := a.GetVMArea(vmalloc.PageSize, 0)
	_ = a.FreeVMArea(x)
	y, _ := a.GetVMArea(vmalloc.PageSize, 0)
	fmt.Print(a.Info())
	a.VMUnmapAliases()
	z, _ := a.GetVMArea(vmalloc.PageSize, 0)
	fmt.Printf("x %#x, y %#x, after the purge %#x\n", x.Addr, y.Addr, z.Addr)
	// Output:
	// 0xffffc90000002000-0xffffc90000004000    8192
	// 0xffffc90000000000-0xffffc90000002000    8192 unpurged vm_area
	// x 0xffffc90000000000, y 0xffffc90000002000, after the purge 0xffffc90000000000
}

func ExampleVMFlags_String() {
	f := vmalloc.VMSparse | vmalloc.VMUsermap
	fmt.Println(f, "/", f.InfoWords())
	// Output: VM_USERMAP|VM_SPARSE / sparse user
}

// The arena's life in the kernel window: reserve it, map a page, find it
// again, unmap it, free the window.
func ExampleAllocator_AreaMapPages() {
	pm, _ := mmu.NewPhysMem(mmu.PhysMemConfig{Size: 1 << 30})
	pt, _ := mmu.NewPageTable(pm, mmu.PageTableConfig{Name: "kernel"})
	a, err := vmalloc.New(vmalloc.Config{PageTable: pt})
	if err != nil {
		panic(err)
	}
	area, _ := a.GetVMArea(4<<30+64<<10, vmalloc.VMSparse|vmalloc.VMUsermap)
	kstart := area.Addr + 32<<10 // the arena's kern_vm_start
	page, _ := pm.AllocPage(mmu.GFPKernel | mmu.GFPZero)
	if err := a.AreaMapPages(area, kstart, kstart+vmalloc.PageSize, []mmu.PFN{page}); err != nil {
		panic(err)
	}
	leaf, _ := pt.Lookup(kstart)
	got, _ := a.VmallocToPage(kstart)
	fmt.Printf("%#x maps %v: %v\n", kstart, got == page, leaf.Entry.Flags())
	err = a.AreaMapPages(area, kstart, kstart+vmalloc.PageSize, []mmu.PFN{page})
	fmt.Println("again:", errno.Of(err).Name())
	a.AreaUnmapPages(area, kstart, kstart+vmalloc.PageSize)
	_, mapped := a.VmallocToPage(kstart)
	fmt.Println("after unmap:", mapped, "tables kept:", pt.Tables(mmu.LevelPT))
	fmt.Println(a.FreeVMArea(area))
	// Output:
	// 0xffffc90000008000 maps true: P|RW|A|D|G|NX
	// again: ENOMEM
	// after unmap: false tables kept: 1
	// <nil>
}

// vmalloc takes frames and maps them; the listing shows the pages.
func ExampleAllocator_Vmalloc() {
	pm, _ := mmu.NewPhysMem(mmu.PhysMemConfig{Size: 1 << 30})
	pt, _ := mmu.NewPageTable(pm, mmu.PageTableConfig{Name: "kernel"})
	a, _ := vmalloc.New(vmalloc.Config{PageTable: pt})
	addr, err := a.Vmalloc(10000)
	if err != nil {
		panic(err)
	}
	fmt.Print(a.Info())
	fmt.Println(a.Vfree(addr), a.VmallocPages())
	// Output:
	// 0xffffc90000000000-0xffffc90000004000   16384 vmalloc pages=3 vmalloc N0=3
	// <nil> 0
}

package vmalloc_test

import (
	"fmt"

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

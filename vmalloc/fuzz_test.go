package vmalloc

import (
	"slices"
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/mmu"
)

// oneShot fails the next allocation at one slab site, once.
type oneShot struct {
	armed bool
	site  Site
}

func (o *oneShot) Fail(site Site) bool {
	if o.armed && site == o.site {
		o.armed = false
		return true
	}
	return false
}

var fuzzFlags = []VMFlags{0, VMAlloc, VMMap, VMSparse | VMUsermap, VMNoGuard, VMIoremap, VMSparse, VMSparse | VMNoGuard}

// FuzzVmalloc runs byte-coded operation sequences on a machine with 8 MiB
// of RAM and 1 to 4 vmap nodes: reserve and remove areas (by interior or
// misaligned address), purge, switch CPU, look up, vmalloc and vfree, vmap,
// map and unmap pages of sparse areas, and inject a failure into the next
// slab or frame allocation. After each operation the invariants must hold
// (free/busy/lazy cover the space, page tables match the areas, no stray
// PTE) and every live area must still be where it was; at the end, with
// everything freed, only page tables and the test's own frames remain.
func FuzzVmalloc(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 0, 0, 5, 1, 0, 2, 0, 0, 0, 4, 0, 0, 0})
	f.Add([]byte{3, 0, 3, 0x31, 1, 1, 0, 0, 2, 2, 0, 0, 0, 5, 3, 0, 0})
	f.Add([]byte{1, 0, 2, 3, 0, 10, 0, 0, 4, 10, 0, 3, 0, 8, 5, 0, 0, 11, 0, 0, 8, 9, 0, 0, 0})
	f.Fuzz(fuzzVmalloc)
}

// fuzzVmalloc runs one FuzzVmalloc input.
func fuzzVmalloc(t *testing.T, data []byte) {
	if len(data) == 0 {
		return
	}
	inj := &oneShot{}
	m := newMachine(t, Config{CPUs: 4, Nodes: 1 + int(data[0]&3), Inject: inj}, 8*mib)
	a := m.a
	failFrame := false
	m.pm.SetFailHook(func(mmu.AllocRequest) bool {
		f := failFrame
		failFrame = false
		return f
	})
	own := m.frames(t, 8) // frames the test maps into sparse areas and vmaps
	var live []*VMStruct  // areas from get_vm_area
	var vmallocs []uint64 // addresses from vmalloc and vmap
	okErr := func(step int, what string, err error) {
		if e := errno.Of(err); err != nil && e != errno.ENOMEM && e != errno.EBUSY && e != errno.EINVAL && e != errno.ERANGE && e != errno.E2BIG {
			t.Fatalf("step %d: %s: unexpected error %v", step, what, err)
		}
	}
	data = data[1:]
	for step := 0; len(data) >= 4 && step < 200; step++ {
		op, b1, b2, b3 := data[0]%12, data[1], data[2], data[3]
		data = data[4:]
		switch op {
		case 0, 1:
			pages := uint64(1 + b1%16)
			if b1 >= 240 {
				pages = uint64(b1-239) * 1024
			}
			w := modelWindows[int(b3)%len(modelWindows)]
			align := uint64(1)
			if s := b2 >> 4; s != 0 {
				align = 1 << (10 + s)
			}
			flags := fuzzFlags[int(b2&15)%len(fuzzFlags)]
			vm, err := a.GetVMAreaNode(pages*PageSize, align, PageShift, flags, w.lo, w.hi, "fuzz")
			if err != nil {
				okErr(step, "get_vm_area", err)
				continue
			}
			if flags&VMIoremap != 0 { // aligned to the size's order instead
				for align = PageSize; align < pages*PageSize && align < 1<<IoremapMaxOrder; align <<= 1 {
				}
			}
			if vm.Addr < w.lo || vm.Addr+vm.Size-1 > w.hi || vm.Addr%align != 0 {
				t.Fatalf("step %d: area %#x+%#x outside %#x-%#x or not aligned to %#x", step, vm.Addr, vm.Size, w.lo, w.hi, align)
			}
			live = append(live, vm)
		case 2, 3:
			if len(live) == 0 {
				continue
			}
			i := int(b1) % len(live)
			vm := live[i]
			addr := vm.Addr + uint64(b2)%(vm.Size/PageSize)*PageSize
			if op == 3 && b3&1 != 0 {
				addr++ // misaligned: refused, the area stays
			}
			got := a.RemoveVMArea(addr)
			if addr%PageSize != 0 {
				if got != nil {
					t.Fatalf("step %d: misaligned %#x removed an area", step, addr)
				}
				continue
			}
			if got != vm {
				t.Fatalf("step %d: RemoveVMArea(%#x) = %p, want %p", step, addr, got, vm)
			}
			live = slices.Delete(live, i, i+1)
		case 4:
			if b1&1 == 0 {
				a.VMUnmapAliases()
			} else {
				a.purgeLazy(ULongMax, 0, true)
			}
		case 5:
			if err := a.SetCPU(int(b1) % 4); err != nil {
				t.Fatal(err)
			}
		case 6:
			addr := modelWindows[int(b3)%len(modelWindows)].lo + (uint64(b1)<<8|uint64(b2))*PageSize/4
			got, ok := a.FindVmapArea(addr)
			var want *VMStruct
			for _, vm := range live {
				if addr >= vm.Addr && addr < vm.Addr+vm.Size {
					want = vm
				}
			}
			if want != nil && (!ok || got.VM != want) {
				t.Fatalf("step %d: FindVmapArea(%#x) = %+v %v, want %p", step, addr, got, ok, want)
			}
		case 7:
			if b1&1 == 0 {
				inj.armed, inj.site = true, Site(b2)%numSites
			} else {
				failFrame = true
			}
		case 8:
			n := uint64(1+b1%24) * PageSize
			if b1 >= 250 {
				n = uint64(b1-249) * 600 * PageSize // beyond the 8 MiB of RAM from the third on
			}
			addr, err := a.Vmalloc(n - uint64(b2%8))
			if err != nil {
				okErr(step, "vmalloc", err)
				continue
			}
			vmallocs = append(vmallocs, addr)
		case 9:
			if len(vmallocs) == 0 {
				continue
			}
			i := int(b1) % len(vmallocs)
			if err := a.Vfree(vmallocs[i]); err != nil {
				t.Fatalf("step %d: vfree %#x: %v", step, vmallocs[i], err)
			}
			vmallocs = slices.Delete(vmallocs, i, i+1)
		case 10, 11:
			if len(live) == 0 {
				continue
			}
			vm := live[int(b1)%len(live)]
			start := vm.Addr + uint64(b2%32)*PageSize - uint64(b3>>7)*PageSize
			end := start + uint64(1+b3&3)*PageSize
			if op == 11 {
				a.AreaUnmapPages(vm, start, end)
				continue
			}
			pages := slices.Clone(own[b3&3 : 4+b3&3])
			if b3&0x40 != 0 {
				pages[1] = NullPage
			}
			okErr(step, "vm_area_map_pages", a.AreaMapPages(vm, start, end, pages))
		}
		if err := a.Check(); err != nil {
			t.Fatalf("step %d (op %d): %v", step, op, err)
		}
		for _, vm := range live {
			if a.FindVMArea(vm.Addr) != vm {
				t.Fatalf("step %d: live area %#x lost", step, vm.Addr)
			}
		}
	}
	failFrame, inj.armed = false, false
	for _, addr := range vmallocs {
		if err := a.Vfree(addr); err != nil {
			t.Fatal(err)
		}
	}
	for _, vm := range live {
		if err := a.FreeVMArea(vm); err != nil {
			t.Fatal(err)
		}
	}
	a.VMUnmapAliases()
	if err := a.Check(); err != nil {
		t.Fatal(err)
	}
	if got, want := m.pm.InUse(), uint64(m.pt.TableFrames()+len(own)); got != want {
		t.Fatalf("%d frames in use after freeing everything, want %d (page tables and the test's)", got, want)
	}
}

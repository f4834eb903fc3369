package vmalloc

import (
	"testing"
)

// oneShot fails the next allocation at one site, once.
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

var fuzzFlags = []VMFlags{0, VMAlloc, VMMap, VMSparse | VMUsermap, VMNoGuard, VMIoremap}

// FuzzVmalloc runs byte-coded operation sequences (reserve, free, remove
// by interior or misaligned address, purge, switch CPU, look up, inject a
// failure) against an allocator with 1 to 4 nodes, and checks after each
// operation that the invariants hold and every live area is where it was.
func FuzzVmalloc(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 0, 0, 5, 1, 0, 2, 0, 0, 0, 4, 0, 0, 0})
	f.Add([]byte{3, 0, 3, 0x31, 1, 1, 0, 0, 2, 2, 0, 0, 0, 5, 3, 0, 0})
	f.Fuzz(fuzzVmalloc)
}

// fuzzVmalloc runs one FuzzVmalloc input.
func fuzzVmalloc(t *testing.T, data []byte) {
	if len(data) == 0 {
		return
	}
	inj := &oneShot{}
	a, err := New(Config{CPUs: 4, Nodes: 1 + int(data[0]&3), Inject: inj})
	if err != nil {
		t.Fatal(err)
	}
	var live []*VMStruct
	data = data[1:]
	for step := 0; len(data) >= 4 && step < 200; step++ {
		op, b1, b2, b3 := data[0]%8, data[1], data[2], data[3]
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
			live = append(live[:i], live[i+1:]...)
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
			if ok != (want != nil) || (ok && got.VM != want) {
				t.Fatalf("step %d: FindVmapArea(%#x) = %+v %v, want %p", step, addr, got, ok, want)
			}
		case 7:
			inj.armed, inj.site = true, Site(b1)%numSites
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
}

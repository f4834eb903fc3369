package vmalloc

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the process's user plus system CPU time. On a loaded
// machine the benchmark's wall-clock ns/op includes time spent waiting for
// a core; CPU time per operation does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measured runs the timed loop and reports cpu-ns/op beside ns/op.
func measured(b *testing.B, loop func()) {
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	loop()
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
}

// listAlloc is the baseline: a naive first-fit allocator over an
// address-sorted linked list of busy areas, the shape of the kernel's
// allocator before the 2019 augmented-tree rewrite. Allocation walks the
// list from the bottom to the first gap that fits: O(n) in live areas.
// Freeing is immediate, and finds its node in O(1) through a map.
type listAlloc struct {
	head       *listNode
	byAddr     map[uint64]*listNode
	spare      *listNode
	vstart     uint64
	vend       uint64 // exclusive
	walkLength int
}

type listNode struct {
	start, end uint64
	prev, next *listNode
}

func newListAlloc(vstart, vend uint64) *listAlloc {
	return &listAlloc{byAddr: map[uint64]*listNode{}, vstart: vstart, vend: vend}
}

func (l *listAlloc) alloc(size uint64) (uint64, bool) {
	addr := l.vstart
	var prev *listNode
	for n := l.head; n != nil; n = n.next {
		if addr+size <= n.start {
			break
		}
		addr, prev = n.end, n
	}
	if addr+size > l.vend {
		return 0, false
	}
	n := l.spare
	if n != nil {
		l.spare = n.next
	} else {
		n = new(listNode)
	}
	*n = listNode{start: addr, end: addr + size, prev: prev}
	if prev == nil {
		n.next, l.head = l.head, n
	} else {
		n.next, prev.next = prev.next, n
	}
	if n.next != nil {
		n.next.prev = n
	}
	l.byAddr[addr] = n
	return addr, true
}

func (l *listAlloc) free(addr uint64) {
	n := l.byAddr[addr]
	delete(l.byAddr, addr)
	if n.prev == nil {
		l.head = n.next
	} else {
		n.prev.next = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	}
	n.next, l.spare = l.spare, n
}

// workload is the alloc+free mix: live areas of 1..16 pages plus a guard
// page; each operation frees a random live area and reserves a new one.
type workload struct {
	sizes   []uint64 // bytes, guard included
	victims []int
}

func newWorkload(live int) workload {
	r := rand.New(rand.NewPCG(1, uint64(live)))
	w := workload{sizes: make([]uint64, 1<<16), victims: make([]int, 1<<16)}
	for i := range w.sizes {
		w.sizes[i] = (1 + r.Uint64N(16) + 1) * PageSize
		w.victims[i] = r.IntN(live)
	}
	return w
}

var liveCounts = []int{1000, 10000, 100000}

// BenchmarkAllocFree measures one free plus one reservation with 1 k, 10 k
// and 100 k live areas of random sizes: through get_vm_area/free_vm_area,
// through the allocator core (alloc_vmap_area and the lazy free) alone,
// and with the first-fit list baseline.
func BenchmarkAllocFree(b *testing.B) {
	for _, live := range liveCounts {
		w := newWorkload(live)
		b.Run(fmt.Sprintf("get_vm_area/live=%d", live), func(b *testing.B) {
			a, _ := New(Config{})
			areas := make([]*VMStruct, live)
			for i := range areas {
				areas[i], _ = a.GetVMArea(w.sizes[i&0xffff]-PageSize, 0)
			}
			measured(b, func() {
				for i := 0; i < b.N; i++ {
					k := i & 0xffff
					v := w.victims[k]
					if err := a.FreeVMArea(areas[v]); err != nil {
						b.Fatal(err)
					}
					vm, err := a.GetVMArea(w.sizes[k]-PageSize, 0)
					if err != nil {
						b.Fatal(err)
					}
					areas[v] = vm
				}
			})
		})
		b.Run(fmt.Sprintf("core/live=%d", live), func(b *testing.B) {
			a, _ := New(Config{})
			l := a.layout
			addrs := make([]uint64, live)
			for i := range addrs {
				va, _ := a.allocVmapArea(w.sizes[i&0xffff], 1, l.VmallocStart, l.VmallocEnd, 0, nil)
				addrs[i] = va.start
			}
			measured(b, func() {
				for i := 0; i < b.N; i++ {
					k := i & 0xffff
					v := w.victims[k]
					a.freeUnmap(a.findVA(addrs[v], true))
					va, err := a.allocVmapArea(w.sizes[k], 1, l.VmallocStart, l.VmallocEnd, 0, nil)
					if err != nil {
						b.Fatal(err)
					}
					addrs[v] = va.start
				}
			})
		})
		b.Run(fmt.Sprintf("list/live=%d", live), func(b *testing.B) {
			l := newListAlloc(Layout4.VmallocStart, Layout4.VmallocEnd)
			addrs := make([]uint64, live)
			// The first live areas sit back to back, where first fit puts
			// them; build them directly instead of in O(n^2).
			var last *listNode
			at := l.vstart
			for i := range addrs {
				n := &listNode{start: at, end: at + w.sizes[i&0xffff], prev: last}
				if last == nil {
					l.head = n
				} else {
					last.next = n
				}
				l.byAddr[at] = n
				addrs[i], at, last = at, n.end, n
			}
			measured(b, func() {
				for i := 0; i < b.N; i++ {
					k := i & 0xffff
					v := w.victims[k]
					l.free(addrs[v])
					addr, ok := l.alloc(w.sizes[k])
					if !ok {
						b.Fatal("list allocator full")
					}
					addrs[v] = addr
				}
			})
		})
	}
}

// BenchmarkFindVmapArea measures a lookup by interior address with 10 k
// live areas.
func BenchmarkFindVmapArea(b *testing.B) {
	w := newWorkload(10000)
	a, _ := New(Config{})
	areas := make([]*VMStruct, 10000)
	for i := range areas {
		areas[i], _ = a.GetVMArea(w.sizes[i]-PageSize, 0)
	}
	measured(b, func() {
		for i := 0; i < b.N; i++ {
			vm := areas[w.victims[i&0xffff]]
			if a.FindVMArea(vm.Addr+PageSize) != vm {
				b.Fatal("lost")
			}
		}
	})
}

// TestListAllocBaseline keeps the baseline honest: same first-fit answers
// as the allocator on a fresh window without lazy frees.
func TestListAllocBaseline(t *testing.T) {
	a := newAlloc(t, Config{})
	l := newListAlloc(start4, end4)
	var addrs []uint64
	for i := 1; i <= 20; i++ {
		size := uint64(i%5+1) * PageSize
		got, ok := l.alloc(size)
		va, err := a.allocVmapArea(size, 1, start4, end4, 0, nil)
		if !ok || err != nil || got != va.start {
			t.Fatalf("alloc %d: list %#x %v, allocator %+v %v", i, got, ok, va, err)
		}
		addrs = append(addrs, got)
	}
	for _, i := range []int{3, 4, 9} {
		l.free(addrs[i])
		a.freeUnmap(a.findVA(addrs[i], true))
	}
	a.VMUnmapAliases()
	for _, size := range []uint64{2 * PageSize, 5 * PageSize, PageSize} {
		got, _ := l.alloc(size)
		va, _ := a.allocVmapArea(size, 1, start4, end4, 0, nil)
		if got != va.start {
			t.Fatalf("size %#x: list %#x, allocator %#x", size, got, va.start)
		}
	}
}

// BenchmarkAreaMapUnmap maps one page into a sparse arena-sized window and
// unmaps it again (with its single-page TLB flush), at a new 4 KiB slot
// each time over 64 MiB, as bpf_arena_alloc_pages and free do.
func BenchmarkAreaMapUnmap(b *testing.B) {
	m := buildMachine(b, Config{}, 0)
	area, err := m.a.GetVMArea(4<<30+64<<10, VMSparse|VMUsermap)
	if err != nil {
		b.Fatal(err)
	}
	page := m.frames(b, 1)
	kstart := area.Addr + 32<<10
	measured(b, func() {
		for i := 0; i < b.N; i++ {
			va := kstart + uint64(i&0x3fff)*PageSize
			if err := m.a.AreaMapPages(area, va, va+PageSize, page); err != nil {
				b.Fatal(err)
			}
			m.a.AreaUnmapPages(area, va, va+PageSize)
		}
	})
}

// BenchmarkVmallocToPage looks up mapped pages of a sparse window.
func BenchmarkVmallocToPage(b *testing.B) {
	m := buildMachine(b, Config{}, 0)
	area, _ := m.a.GetVMArea(64<<20, VMSparse)
	pages := m.frames(b, 1024)
	if err := m.a.AreaMapPages(area, area.Addr, area.Addr+1024*PageSize, pages); err != nil {
		b.Fatal(err)
	}
	measured(b, func() {
		for i := 0; i < b.N; i++ {
			k := i & 1023
			if pfn, ok := m.a.VmallocToPage(area.Addr + uint64(k)*PageSize + 8); !ok || pfn != pages[k] {
				b.Fatal("lost page")
			}
		}
	})
}

// BenchmarkVmallocVfree allocates, maps, frees four pages.
func BenchmarkVmallocVfree(b *testing.B) {
	m := buildMachine(b, Config{}, 0)
	measured(b, func() {
		for i := 0; i < b.N; i++ {
			addr, err := m.a.Vmalloc(4 * PageSize)
			if err != nil {
				b.Fatal(err)
			}
			if err := m.a.Vfree(addr); err != nil {
				b.Fatal(err)
			}
		}
	})
}

package vmalloc

import (
	"slices"
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
	"pgregory.net/rapid"
)

// window is a [vstart, vend] range requests are drawn from: the whole
// vmalloc window (where the last page is unreachable) or small windows
// where space runs out and failure-driven purges happen.
type window struct{ lo, hi uint64 }

var modelWindows = []window{
	{start4, end4},
	{start4 + tib, start4 + tib + 64*PageSize},
	{start4 + 2*tib + 3*PageSize, start4 + 2*tib + 3*PageSize + 40*PageSize - 1},
}

// TestModelAllocator drives the allocator and refIntervals with the same
// random requests and frees: every address must equal the reference's
// lowest fit (or, when alignment widens the search, fit between the lowest
// fit and the lowest block of the widened length), the lazy accounting and
// purges must agree, lookups must agree, and the invariants must hold
// after every step.
func TestModelAllocator(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, err := New(Config{CPUs: 1})
		if err != nil {
			t.Fatal(err)
		}
		ref := newRef(a.LazyMaxPages())
		areas := map[uint64]*VMStruct{}
		var starts []uint64 // busy starts in insertion order, for drawing

		alloc := func(t *rapid.T, size, align uint64, flags VMFlags, w window) {
			total := alignUp(size, PageSize)
			if flags&VMIoremap != 0 { // aligned to its size's order, 2^12..2^19
				align = PageSize
				for align < total && align < 1<<IoremapMaxOrder {
					align <<= 1
				}
			}
			if flags&VMNoGuard == 0 {
				total += PageSize
			}
			purgesBefore := a.Stats().Purges
			vm, err := a.GetVMAreaNode(size, align, PageShift, flags, w.lo, w.hi, "")
			adjust := align > PageSize && w.hi-w.lo != total
			if !adjust {
				want, ok := ref.search(total, align, w.lo, w.hi)
				if !ok {
					ref.purge()
					want, ok = ref.search(total, align, w.lo, w.hi)
				}
				if !ok {
					if err == nil || errno.Of(err) != errno.EBUSY {
						t.Fatalf("alloc %#x align %#x in %#x-%#x: got %v, reference has no room", total, align, w.lo, w.hi, err)
					}
				} else if err != nil || vm.Addr != want {
					t.Fatalf("alloc %#x align %#x in %#x-%#x: got %+v %v, want %#x", total, align, w.lo, w.hi, vm, err, want)
				}
			} else {
				// Widened search: first try, then a purge, then again.
				if a.Stats().Purges > purgesBefore {
					ref.purge()
				}
				if err == nil {
					checkWidened(t, ref, vm.Addr, total, align, w)
				}
			}
			if got := a.Stats().Purges - purgesBefore; got != ref.purges-purgesBefore {
				t.Fatalf("purges: allocator ran %d, reference %d", got, ref.purges-purgesBefore)
			}
			if err != nil {
				return
			}
			if vm.Size != total || vm.Addr%align != 0 || vm.Addr < w.lo || vm.Addr+vm.Size > w.hi {
				t.Fatalf("area %#x+%#x breaks the request %#x align %#x in %#x-%#x", vm.Addr, vm.Size, total, align, w.lo, w.hi)
			}
			if err := ref.take(vm.Addr, vm.Addr+vm.Size); err != nil {
				t.Fatal(err)
			}
			areas[vm.Addr] = vm
			starts = append(starts, vm.Addr)
		}

		t.Repeat(map[string]func(*rapid.T){
			"alloc": func(t *rapid.T) {
				size := rapid.Uint64Range(1, 12*PageSize).Draw(t, "size")
				flags := rapid.SampledFrom([]VMFlags{0, VMAlloc, VMSparse | VMUsermap, VMNoGuard, VMIoremap}).Draw(t, "flags")
				w := modelWindows[rapid.IntRange(0, len(modelWindows)-1).Draw(t, "window")]
				alloc(t, size, 1, flags, w)
			},
			"allocAligned": func(t *rapid.T) {
				size := rapid.Uint64Range(1, 8).Draw(t, "pages") * PageSize
				align := uint64(1) << rapid.IntRange(12, 22).Draw(t, "alignShift")
				w := modelWindows[rapid.IntRange(0, len(modelWindows)-1).Draw(t, "window")]
				alloc(t, size, align, 0, w)
			},
			"allocBig": func(t *rapid.T) {
				size := rapid.Uint64Range(1500, 4000).Draw(t, "pages") * PageSize
				alloc(t, size, 1, VMAlloc, modelWindows[0])
			},
			"free": func(t *rapid.T) {
				if len(starts) == 0 {
					t.Skip("nothing busy")
				}
				i := rapid.IntRange(0, len(starts)-1).Draw(t, "victim")
				s := starts[i]
				vm := areas[s]
				// Any page of the area, the guard included, removes it.
				page := rapid.Uint64Range(0, vm.Size/PageSize-1).Draw(t, "page")
				purgesBefore := a.Stats().Purges
				if got := a.RemoveVMArea(s + page*PageSize); got != vm {
					t.Fatalf("RemoveVMArea(%#x) = %+v, want %+v", s+page*PageSize, got, vm)
				}
				ref.freeArea(s)
				if got := a.Stats().Purges - purgesBefore; got != ref.purges-purgesBefore {
					t.Fatalf("threshold purges: allocator %d, reference %d", got, ref.purges-purgesBefore)
				}
				delete(areas, s)
				starts = slices.Delete(starts, i, i+1)
			},
			"purge": func(t *rapid.T) {
				a.VMUnmapAliases()
				ref.purge()
			},
			"find": func(t *rapid.T) {
				var addr uint64
				if len(starts) > 0 && rapid.Bool().Draw(t, "nearBusy") {
					s := starts[rapid.IntRange(0, len(starts)-1).Draw(t, "area")]
					addr = s + areas[s].Size - 1 + rapid.Uint64Range(0, 2).Draw(t, "delta") - 1
				} else {
					w := modelWindows[rapid.IntRange(0, len(modelWindows)-1).Draw(t, "window")]
					addr = w.lo + rapid.Uint64Range(0, 64*PageSize).Draw(t, "offset")
				}
				got, ok := a.FindVmapArea(addr)
				want, wantOK := ref.find(addr)
				if ok != wantOK || (ok && got.Start != want) {
					t.Fatalf("FindVmapArea(%#x) = %+v %v, reference %#x %v", addr, got, ok, want, wantOK)
				}
			},
			"": func(t *rapid.T) {
				if err := a.Check(); err != nil {
					t.Fatal(err)
				}
				if got := freeRanges(a); !slices.Equal(got, ref.free) {
					t.Fatalf("free ranges differ:\n got %x\nwant %x", got, ref.free)
				}
				if a.LazyPages() != ref.lazyPages {
					t.Fatalf("lazy pages %d, reference %d", a.LazyPages(), ref.lazyPages)
				}
			},
		})
	})
}

// checkWidened checks an aligned request whose search length was widened
// by the alignment: the kernel's answer must fit, can be no lower than the
// lowest fit and no higher than the lowest block of the widened length.
func checkWidened(t *rapid.T, ref *refIntervals, addr, size, align uint64, w window) {
	lo := ref.lowest(size, align, w.lo)
	if lo < 0 {
		t.Fatalf("allocator found %#x, reference has no fitting block", addr)
	}
	lowFit, _ := refFits(ref.free[lo], size, align, w.lo)
	if addr < lowFit {
		t.Fatalf("widened search returned %#x below the lowest fit %#x", addr, lowFit)
	}
	length := size + align - 1
	for _, b := range ref.free {
		if b[0] >= w.lo && b[1]-b[0] >= length {
			if addr > b[0]+align {
				t.Fatalf("widened search returned %#x above block %#x-%#x of length %#x", addr, b[0], b[1], length)
			}
			break
		}
	}
}

// TestModelNodes runs random traffic on several vmap nodes and CPUs, with
// pools in play, and checks the invariants and non-overlap after each step.
func TestModelNodes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nodes := rapid.IntRange(2, 8).Draw(t, "nodes")
		a, err := New(Config{CPUs: 8, Nodes: nodes})
		if err != nil {
			t.Fatal(err)
		}
		var live []*VMStruct
		t.Repeat(map[string]func(*rapid.T){
			"cpu": func(t *rapid.T) {
				if err := a.SetCPU(rapid.IntRange(0, 7).Draw(t, "cpu")); err != nil {
					t.Fatal(err)
				}
			},
			"alloc": func(t *rapid.T) {
				size := rapid.Uint64Range(1, 6).Draw(t, "pages") * PageSize
				align := uint64(1) << rapid.IntRange(0, 15).Draw(t, "alignShift")
				vm, err := a.GetVMAreaNode(size, align, PageShift, 0, start4, end4, "")
				if err != nil {
					t.Fatal(err)
				}
				if vm.Addr%align != 0 {
					t.Fatalf("%#x not aligned to %#x", vm.Addr, align)
				}
				for _, o := range live {
					if vm.Addr < o.Addr+o.Size && o.Addr < vm.Addr+vm.Size {
						t.Fatalf("%#x+%#x overlaps %#x+%#x", vm.Addr, vm.Size, o.Addr, o.Size)
					}
				}
				live = append(live, vm)
			},
			"free": func(t *rapid.T) {
				if len(live) == 0 {
					t.Skip("nothing busy")
				}
				i := rapid.IntRange(0, len(live)-1).Draw(t, "victim")
				if err := a.FreeVMArea(live[i]); err != nil {
					t.Fatal(err)
				}
				live = slices.Delete(live, i, i+1)
			},
			"purge": func(t *rapid.T) {
				if rapid.Bool().Draw(t, "full") {
					a.purgeLazy(ULongMax, 0, true)
				} else {
					a.VMUnmapAliases()
				}
			},
			"": func(t *rapid.T) {
				if err := a.Check(); err != nil {
					t.Fatal(err)
				}
			},
		})
	})
}

package mapletree

import (
	"errors"
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
)

// TestKernelSmallChecks ports the short checks of lib/test_maple_tree.c
// that build a shape and must leave a valid tree: check_deficient_node,
// check_node_overwrite, check_spanning_relatives, check_bnode_min_spanning.
func TestKernelSmallChecks(t *testing.T) {
	t.Run("deficient_node", func(t *testing.T) {
		k := newKtree(t, FlagAllocRange)
		for _, r := range [][2]uint64{{0, 10}, {20, 39}, {10, 12}} {
			for c := r[0]; c < r[1]; c++ {
				k.storeRange(c, c, c, 0)
			}
		}
	})
	t.Run("node_overwrite", func(t *testing.T) {
		k := newKtree(t, FlagAllocRange)
		for i := uint64(0); i < 4000; i++ {
			if err := k.tr.StoreRange(i*100, i*100+50, i*100); err != nil {
				t.Fatal(err)
			}
			k.ref.store(i*100, i*100+50, i*100)
		}
		k.storeRange(319951, 367950, nil, 0)
	})
	t.Run("spanning_relatives", func(t *testing.T) {
		k := newKtree(t, FlagAllocRange)
		for i := uint64(0); i <= 1000; i++ {
			k.tr.StoreRange(i*10, i*10+5, i)
			k.ref.store(i*10, i*10+5, i)
		}
		k.storeRange(9365, 9955, nil, 0)
	})
	t.Run("bnode_min_spanning", func(t *testing.T) {
		k := newKtree(t, FlagAllocRange)
		mas := k.tr.NewState(0, 0)
		for i := 50; i >= 0; i-- {
			first := uint64(i) * 10
			mas.SetRange(first, first+9)
			mas.Store("bnode")
			k.ref.store(first, first+9, "bnode")
		}
		mas.SetRange(240, 509)
		mas.Store(nil)
		k.ref.store(240, 509, nil)
		k.verify("bnode_min_spanning")
	})
}

// TestEmptyAreaFill ports check_empty_area_fill: 25,000 first-fit
// allocations of growing sizes until the window is full, then a search in
// a tree of height 4 that must find the gap after an erase.
func TestEmptyAreaFill(t *testing.T) {
	const max = 0x25D78000
	tr := New(FlagAllocRange)
	mas := tr.NewState(0, 0)
	for shift := 12; shift <= 16; shift++ {
		size := uint64(1) << shift
		for loop := 0; loop < 5000; loop++ {
			mas.Set(0)
			if err := mas.EmptyArea(0, max, size); err != nil {
				t.Fatalf("size %#x, loop %d: %v", size, loop, err)
			}
			if mas.Last() != mas.Index()+size-1 {
				t.Fatalf("size %#x: window [%d, %d]", size, mas.Index(), mas.Last())
			}
			if err := mas.Store(size); err != nil {
				t.Fatal(err)
			}
			mas.Reset()
		}
	}
	if err := mas.EmptyArea(0, max, 0x1000); !errors.Is(err, errno.EBUSY) {
		t.Fatalf("full window: %v, want EBUSY", err)
	}
	for i := uint64(629440511); i <= 629440800; i += 6 {
		tr.StoreRange(i, i+5, i)
	}
	tr.Erase(631668735)
	tr.Erase(629506047)
	mas.Reset()
	if err := mas.EmptyArea(629506048, 690000000, 0x5000); err != nil {
		t.Fatalf("search after the erased gap: %v", err)
	}
	if err := tr.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestNextPrevEntry ports check_next_entry, check_prev_entry and
// check_rev_find.
func TestNextPrevEntry(t *testing.T) {
	k := newKtree(t, 0)
	k.seq(30)
	mas := k.tr.NewState(0, 0)
	if e := mas.Walk(); e != uint64(0) {
		t.Fatalf("walk(0) = %v", e)
	}
	for i := uint64(1); i <= 31; i++ {
		e := mas.Next(30)
		if (i > 30 && e != nil) || (i <= 30 && e != i) {
			t.Fatalf("next #%d = %v", i, e)
		}
	}
	mas = k.tr.NewState(16, 16)
	if e := mas.Find(maxIndex); e != uint64(16) {
		t.Fatalf("find(16) = %v", e)
	}
	if e := mas.Prev(0); e != uint64(15) {
		t.Fatalf("prev = %v", e)
	}

	a := New(FlagAllocRange)
	for i := uint64(0); i <= 16; i++ {
		a.StoreRange(i*10, i*10+5, i)
	}
	mas = a.NewState(20, 20)
	if e := mas.Walk(); e != uint64(2) {
		t.Fatal(e)
	}
	if e := mas.Prev(19); e != nil {
		t.Fatalf("prev(19) from 20 = %v", e)
	}
	mas.Set(80)
	if e := mas.Walk(); e != uint64(8) {
		t.Fatal(e)
	}
	if e := mas.Prev(76); e != nil {
		t.Fatalf("prev(76) from 80 = %v", e)
	}

	r := New(0)
	for i := uint64(0); i <= 200; i++ {
		r.StoreRange(i*10, i*10+5, i)
	}
	mas = r.NewState(1000, 1000)
	for _, c := range []struct {
		set  int64 // -1: keep going
		min  uint64
		want any
	}{
		{1000, 1000, uint64(100)}, {-1, 1000, nil},
		{999, 997, nil},
		{1000, 900, uint64(100)}, {-1, 900, uint64(99)},
		{20, 0, uint64(2)}, {-1, 0, uint64(1)}, {-1, 0, uint64(0)}, {-1, 0, nil},
	} {
		if c.set >= 0 {
			mas.Set(uint64(c.set))
		}
		if e := mas.FindRev(c.min); e != c.want {
			t.Fatalf("find_rev(%d) after set %d = %v, want %v", c.min, c.set, e, c.want)
		}
	}
}

// TestPrealloc ports check_prealloc: the node counts mas_preallocate asks
// for per store type, and that the prepared store then needs nothing more.
func TestPrealloc(t *testing.T) {
	tr := New(FlagAllocRange)
	for i := uint64(0); i <= 100; i++ {
		tr.StoreRange(i*10, i*10+5, i)
	}
	ptr := "prealloc"
	vacant := func(mas *State) int {
		// get_vacant_height: a fresh write walk for the same range.
		m := tr.NewState(mas.index, mas.last)
		wr := newWrState(&m, pack(ptr))
		wr.preallocSetup()
		wr.walk()
		return int(wr.vacantHeight)
	}
	mas := tr.NewState(470, 500) // spanning store
	for round := 0; round < 3; round++ {
		if err := mas.Preallocate(ptr); err != nil {
			t.Fatal(err)
		}
		if got, want := mas.allocated(), 1+(tr.Height()-vacant(&mas))*3; got != want {
			t.Fatalf("spanning store: %d nodes, want %d", got, want)
		}
		mas.Destroy()
		if mas.allocated() != 0 {
			t.Fatal("Destroy kept nodes")
		}
	}
	if err := mas.Preallocate(ptr); err != nil {
		t.Fatal(err)
	}
	mas.StorePrealloc(ptr)
	if mas.allocated() != 0 || tr.Load(480) != ptr {
		t.Fatalf("store_prealloc: %d nodes left, load %v", mas.allocated(), tr.Load(480))
	}
	// Slot stores need no nodes.
	for _, r := range [][2]uint64{{6, 9}, {6, 10}} {
		mas.SetRange(r[0], r[1])
		if err := mas.Preallocate(ptr); err != nil || mas.allocated() != 0 {
			t.Fatalf("slot store [%d, %d]: %v, %d nodes", r[0], r[1], err, mas.allocated())
		}
		mas.StorePrealloc(ptr)
	}
	// A split.
	mas.SetRange(54, 54)
	if err := mas.Preallocate(ptr); err != nil {
		t.Fatal(err)
	}
	if got, want := mas.allocated(), 1+(tr.Height()-vacant(&mas))*2; got != want {
		t.Fatalf("split: %d nodes, want %d", got, want)
	}
	mas.StorePrealloc(ptr)
	if mas.allocated() != 0 {
		t.Fatal("nodes left after the split")
	}
	// A spanning store without memory fails and holds nothing.
	n := 0
	tr.SetNodeAllocFailure(func() bool { n++; return n > 1 })
	mas.SetRange(1, 100)
	if err := mas.Preallocate(ptr); !errors.Is(err, errno.ENOMEM) || mas.allocated() != 0 {
		t.Fatalf("preallocate without memory: %v, %d nodes", err, mas.allocated())
	}
	tr.SetNodeAllocFailure(nil)
	// With memory: the root holds two entries, so the worst case of the
	// whole height is needed.
	mas.SetRange(1, 100)
	if err := mas.Preallocate(ptr); err != nil {
		t.Fatal(err)
	}
	if got, want := mas.allocated(), tr.Height()*3+1; got != want {
		t.Fatalf("spanning store near the root: %d nodes, want %d", got, want)
	}
	mas.StorePrealloc(ptr)
	if mas.allocated() != 0 || tr.preallocMisses != 0 {
		t.Fatalf("%d nodes left, %d misses", mas.allocated(), tr.preallocMisses)
	}
	if err := tr.Validate(); err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= 100; i++ {
		if tr.Load(i) != ptr {
			t.Fatalf("load(%d) = %v", i, tr.Load(i))
		}
	}
}

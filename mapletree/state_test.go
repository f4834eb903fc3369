package mapletree

import (
	"errors"
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
)

// TestStateRanges steps through empty and full ranges with the *_range
// variants of mas_next, mas_prev and mas_find.
func TestStateRanges(t *testing.T) {
	tr := New(0)
	tr.StoreRange(10, 14, "a")
	tr.StoreRange(20, 24, "b")
	mas := tr.NewState(12, 12)
	want := func(e any, first, last uint64) {
		t.Helper()
		if mas.Index() != first || mas.Last() != last {
			t.Fatalf("at [%d, %d], want [%d, %d] (%v)", mas.Index(), mas.Last(), first, last, e)
		}
	}
	if e := mas.Walk(); e != "a" {
		t.Fatal(e)
	}
	e := mas.NextRange(maxIndex)
	want(e, 15, 19)
	if e != nil {
		t.Fatalf("next range = %v", e)
	}
	if e = mas.NextRange(maxIndex); e != "b" {
		t.Fatalf("next range = %v", e)
	}
	want(e, 20, 24)
	if e = mas.PrevRange(0); e != nil {
		t.Fatalf("prev range = %v", e)
	}
	want(e, 15, 19)
	if e = mas.PrevRange(0); e != "a" {
		t.Fatalf("prev range = %v", e)
	}
	want(e, 10, 14)

	mas = tr.NewState(0, 0)
	var got []any
	for e := mas.FindRange(100); ; e = mas.FindRange(100) {
		got = append(got, e)
		if mas.Last() >= 100 {
			break
		}
	}
	if len(got) != 4 || got[0] != "a" || got[1] != nil || got[2] != "b" || got[3] != nil {
		t.Fatalf("find_range saw %v", got)
	}
	mas = tr.NewState(100, 100)
	got = got[:0]
	for e := mas.FindRangeRev(0); e != nil || mas.Index() > 0; e = mas.FindRangeRev(0) {
		got = append(got, e)
		if len(got) > 10 {
			break
		}
	}
	if len(got) < 3 || got[0] != "b" || got[1] != nil || got[2] != "a" {
		t.Fatalf("find_range_rev saw %v", got)
	}
}

// TestPause iterates with a pause after every entry, as a caller that
// drops the lock does; every entry is still seen once, even when the tree
// changes between steps.
func TestPause(t *testing.T) {
	tr := New(FlagAllocRange)
	for i := uint64(0); i < 300; i++ {
		tr.StoreRange(i*4, i*4+1, i)
	}
	mas := tr.NewState(0, 0)
	n := uint64(0)
	for e := mas.Find(maxIndex); e != nil; e = mas.Find(maxIndex) {
		if e != n {
			t.Fatalf("entry %v, want %d", e, n)
		}
		n++
		mas.Pause()
		if mas.Status() != StatusPause {
			t.Fatal(mas.Status())
		}
		// Change the tree behind the paused State.
		tr.Lock()
		other := tr.NewState(n*4+2, n*4+3)
		other.Store(nil)
		tr.Unlock()
	}
	if n != 300 {
		t.Fatalf("saw %d entries", n)
	}
	idx := uint64(0)
	count := 0
	for e := tr.Find(&idx, maxIndex); e != nil; e = tr.FindAfter(&idx, maxIndex) {
		count++
	}
	if count != 300 {
		t.Fatalf("mt_find/mt_find_after saw %d", count)
	}
}

// TestStateInsertAndStore covers the State write calls.
func TestStateInsertAndStore(t *testing.T) {
	tr := New(0)
	mas := tr.NewState(5, 9)
	if err := mas.Insert("x"); err != nil {
		t.Fatal(err)
	}
	mas.SetRange(7, 12)
	if err := mas.Insert("y"); !errors.Is(err, errno.EEXIST) || mas.Status() != StatusError {
		t.Fatalf("insert over x: %v %v", err, mas.Status())
	}
	mas.SetRange(9, 3)
	if err := mas.Store("z"); !errors.Is(err, errno.EINVAL) {
		t.Fatalf("store of a reversed range: %v", err)
	}
	mas.Set(7)
	// The erased range grows over the NULLs around it (here: everything).
	if e := mas.Erase(); e != "x" || mas.Index() > 5 || mas.Last() < 9 {
		t.Fatalf("erase = %v [%d, %d]", e, mas.Index(), mas.Last())
	}
	if !tr.Empty() && tr.Load(5) != nil {
		t.Fatal("erase left the entry")
	}
}

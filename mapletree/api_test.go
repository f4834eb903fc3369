package mapletree

import (
	"errors"
	"strings"
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
)

func TestArgumentErrors(t *testing.T) {
	tr := New(0)
	for _, c := range []struct {
		name string
		err  error
		want errno.Errno
	}{
		{"insert first > last", tr.InsertRange(26, 1, uint64(1)), errno.EINVAL},
		{"store first > last", tr.StoreRange(1, 0, uint64(1)), errno.EINVAL},
		{"store XA_RETRY_ENTRY", tr.Store(3, RetryEntry), errno.EINVAL},
		{"store internal 0", tr.Store(3, Internal(0)), errno.EINVAL},
		{"insert internal 1", tr.Insert(3, Internal(1)), errno.EINVAL},
		{"alloc on a plain tree", func() error { _, err := tr.AllocRange(uint64(1), 1, 0, 10); return err }(), errno.EINVAL},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
	if !tr.Empty() {
		t.Fatalf("failed calls changed the tree:\n%s", tr)
	}
	// XA_ZERO_ENTRY is not an advanced entry: it may be inserted.
	if err := tr.Insert(64, ZeroEntry); err != nil {
		t.Fatalf("insert ZeroEntry: %v", err)
	}
	a := New(FlagAllocRange)
	for _, c := range []struct {
		name       string
		e          any
		size, a, b uint64
		want       errno.Errno
	}{
		{"reserved entry", Internal(1023), 1, 0, 10, errno.EINVAL},
		{"ZeroEntry is reserved for alloc", ZeroEntry, 1, 0, 10, errno.EINVAL},
		{"size 0", uint64(1), 0, 0, 10, errno.EINVAL},
		{"min > max", uint64(1), 1, 10, 0, errno.EINVAL},
		{"window smaller than size", uint64(1), 10, 0, 8, errno.EINVAL},
	} {
		if _, err := a.AllocRange(c.e, c.size, c.a, c.b); !errors.Is(err, c.want) {
			t.Errorf("alloc_range %s: %v, want %v", c.name, err, c.want)
		}
		if _, err := a.AllocRRange(c.e, c.size, c.a, c.b); !errors.Is(err, c.want) {
			t.Errorf("alloc_rrange %s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := a.AllocRange(Internal(1024), 1, 0, 10); err != nil {
		t.Errorf("Internal(1024) is not reserved: %v", err)
	}
}

// TestZeroEntry follows check_find's use of XA_ZERO_ENTRY.
func TestZeroEntry(t *testing.T) {
	tr := New(0)
	for i := uint64(0); i < 10; i++ {
		v := uint64(1) << (2 * i)
		if v == 64 {
			continue
		}
		tr.Insert(v, v)
	}
	if err := tr.Insert(64, ZeroEntry); err != nil {
		t.Fatal(err)
	}
	if e := tr.Load(64); e != nil {
		t.Fatalf("load(64) = %v, want nil", e)
	}
	if err := tr.Insert(64, uint64(64)); !errors.Is(err, errno.EEXIST) {
		t.Fatalf("insert over ZeroEntry: %v", err)
	}
	mas := tr.NewState(0, 0)
	sawZero := false
	for e := mas.Find(300); e != nil; e = mas.Find(300) {
		if e == ZeroEntry {
			sawZero = mas.Index() == 64
		}
	}
	if !sawZero {
		t.Fatal("mas_find skipped ZeroEntry")
	}
	tr.ForEach(0, 300, func(a, b uint64, e any) bool {
		if isZero(e) {
			t.Fatal("mt_for_each returned ZeroEntry")
		}
		return true
	})
	idx := uint64(17)
	if e := tr.Find(&idx, 512); e != uint64(256) {
		t.Fatalf("mt_find(17, 512) = %v", e)
	}
	idx = 17
	if e := tr.Find(&idx, 20); e != nil {
		t.Fatalf("mt_find(17, 20) = %v", e)
	}
	if e := tr.Erase(64); e != ZeroEntry {
		t.Fatalf("erase(64) = %v, want ZeroEntry", e)
	}
}

// TestStoreNullAndRoot follows check_store_null and check_root_expand.
func TestStoreNullAndRoot(t *testing.T) {
	tr := New(FlagAllocRange)
	mas := tr.NewState(0, maxIndex)
	mas.Store(nil)
	mas.SetRange(3, 10)
	mas.Store(nil)
	if !tr.Empty() {
		t.Fatal("NULL stores filled an empty tree")
	}
	tr.Store(0, "p")
	for _, c := range []struct {
		first, last uint64
		empty       bool
	}{{2, 5, false}, {0, 5, true}} {
		if c.empty {
			mas.SetRange(c.first, c.last)
			mas.Store(nil)
		} else {
			mas.SetRange(c.first, c.last)
			mas.Store(nil)
		}
		if tr.Empty() != c.empty {
			t.Fatalf("NULL [%d, %d]: empty %v", c.first, c.last, tr.Empty())
		}
	}
	tr.StoreRange(1, 3, "q")
	mas.SetRange(0, maxIndex)
	mas.Store(nil)
	if !tr.Empty() || tr.Height() != 0 {
		t.Fatal("NULL over everything left a tree")
	}

	// check_root_expand.
	mas = tr.NewState(3, 3)
	if e := mas.Walk(); e != nil || mas.Index() != 0 || mas.Last() != maxIndex {
		t.Fatalf("walk on empty = %v [%d, %d]", e, mas.Index(), mas.Last())
	}
	tr.Store(1, "p")
	for i, want := range []any{nil, "p", nil} {
		mas.Set(uint64(i))
		if e := mas.Walk(); e != want {
			t.Fatalf("walk(%d) = %v", i, e)
		}
	}
	plain := New(0)
	plain.Store(0, "p")
	if plain.Height() != 0 {
		t.Fatal("an entry at 0 should live in the root")
	}
	mas = plain.NewState(5, 5)
	if e := mas.Walk(); e != nil || mas.Index() != 1 || mas.Last() != maxIndex {
		t.Fatalf("walk(5) = %v [%d, %d]", e, mas.Index(), mas.Last())
	}
	mas.SetRange(0, 100)
	if e := mas.Walk(); e != "p" || mas.Last() != 0 {
		t.Fatalf("walk([0, 100]) = %v, last %d", e, mas.Last())
	}
	// An internal entry at 0 cannot live in the root pointer.
	in := New(0)
	in.Store(0, Internal(5000))
	if in.Height() != 1 || in.Load(0) != Internal(5000) {
		t.Fatalf("internal entry at 0: height %d, load %v", in.Height(), in.Load(0))
	}
}

// TestRootStateTable follows the root-entry part of check_state_handling.
func TestRootStateTable(t *testing.T) {
	tr := New(0)
	tr.Store(0, "ptr")
	mas := tr.NewState(0, 0)
	if e := mas.Prev(0); e != nil || mas.Status() != StatusUnderflow {
		t.Fatalf("prev from 0 = %v %v", e, mas.Status())
	}
	mas.Set(10)
	if e := mas.Prev(0); e != "ptr" || mas.Index() != 0 || mas.Last() != 0 || mas.Status() != StatusRoot {
		t.Fatalf("prev from 10 = %v [%d, %d] %v", e, mas.Index(), mas.Last(), mas.Status())
	}
	for _, start := range []uint64{0, 10} {
		mas.Set(start)
		if e := mas.Next(maxIndex); e != nil || mas.Index() != 1 || mas.Last() != maxIndex || mas.Status() != StatusNone {
			t.Fatalf("next from %d = %v [%d, %d] %v", start, e, mas.Index(), mas.Last(), mas.Status())
		}
	}
	mas.Set(0)
	if e := mas.Find(maxIndex); e != "ptr" || mas.Last() != 0 || mas.Status() != StatusRoot {
		t.Fatalf("find = %v %v", e, mas.Status())
	}
	for i := 0; i < 2; i++ {
		if e := mas.Find(maxIndex); e != nil || mas.Index() != 1 || mas.Last() != maxIndex || mas.Status() != StatusNone {
			t.Fatalf("find again = %v [%d, %d] %v", e, mas.Index(), mas.Last(), mas.Status())
		}
	}
	mas.Set(10)
	if e := mas.Find(maxIndex); e != nil || mas.Status() != StatusNone {
		t.Fatalf("find from 10 = %v %v", e, mas.Status())
	}
	if e := mas.FindRev(0); e != "ptr" || mas.Index() != 0 || mas.Status() != StatusRoot {
		t.Fatalf("find_rev = %v %v", e, mas.Status())
	}
	// find_rev: start -> root, root -> none, none -> none.
	mas.Set(0)
	for i, want := range []struct {
		e  any
		st Status
	}{{"ptr", StatusRoot}, {nil, StatusNone}, {nil, StatusNone}} {
		if e := mas.FindRev(0); e != want.e || mas.Index() != 0 || mas.Last() != 0 || mas.Status() != want.st {
			t.Fatalf("find_rev #%d = %v [%d, %d] %v", i, e, mas.Index(), mas.Last(), mas.Status())
		}
	}
	// The walks of check_state_handling on a root entry.
	walk := func(what string, want any, first, last uint64, st Status) {
		t.Helper()
		if e := mas.Walk(); e != want || mas.Index() != first || mas.Last() != last || mas.Status() != st {
			t.Fatalf("walk %s = %v [%d, %d] %v", what, e, mas.Index(), mas.Last(), mas.Status())
		}
	}
	mas.Set(10)
	walk("start -> none", nil, 1, maxIndex, StatusNone)
	mas.Set(10)
	mas.Pause()
	walk("pause -> none", nil, 1, maxIndex, StatusNone)
	mas.index, mas.last = 10, 10
	walk("none -> none", nil, 1, maxIndex, StatusNone)
	walk("none -> none again", nil, 1, maxIndex, StatusNone)
	mas.Set(0)
	walk("start -> root", "ptr", 0, 0, StatusRoot)
	mas.Set(0)
	mas.Pause()
	walk("pause -> root", "ptr", 0, 0, StatusRoot)
	mas.status = StatusNone
	walk("none -> root", "ptr", 0, 0, StatusRoot)
	walk("root -> root", "ptr", 0, 0, StatusRoot)
	mas.Set(10)
	walk("root -> none", nil, 1, maxIndex, StatusNone)
	mas.index, mas.last = 0, 0
	walk("none -> root", "ptr", 0, 0, StatusRoot)
}

// TestNoMem follows check_nomem: no node can be allocated.
func TestNoMem(t *testing.T) {
	tr := New(0)
	tr.SetNodeAllocFailure(func() bool { return true })
	if err := tr.Insert(1, "x"); !errors.Is(err, errno.ENOMEM) {
		t.Fatalf("insert(1): %v, want ENOMEM", err)
	}
	if err := tr.Insert(0, "x"); err != nil {
		t.Fatalf("insert(0) needs no node: %v", err)
	}
	// A tree with nodes keeps its contents when a split cannot allocate.
	big := New(FlagAllocRange)
	for i := uint64(0); i < 100; i++ {
		big.Insert(i*2, i)
	}
	n := 0
	big.SetNodeAllocFailure(func() bool { n++; return true })
	before := big.String()
	for i := uint64(0); i < 100; i++ {
		err := big.Insert(1000+i, i)
		if err != nil && !errors.Is(err, errno.ENOMEM) {
			t.Fatal(err)
		}
		if err != nil && big.String() != before {
			t.Fatal("a failed insert changed the tree")
		}
		before = big.String()
	}
	if n == 0 {
		t.Fatal("no allocation was attempted")
	}
	if err := big.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestAllocCyclic follows alloc_cyclic_testing.
func TestAllocCyclic(t *testing.T) {
	tr := New(FlagAllocRange)
	var next uint64
	for i := uint64(0); i < 100; i++ {
		got, wrapped, err := tr.AllocCyclic(i, 2, maxIndex, &next)
		if err != nil || wrapped || got != i+2 || next != i+3 {
			t.Fatalf("#%d: %d %v %v next %d", i, got, wrapped, err, next)
		}
	}
	tr = New(FlagAllocRange)
	next = 0
	for i := uint64(0); i < 1023; i++ {
		if _, _, err := tr.AllocCyclic(i, 2, 1024, &next); err != nil {
			t.Fatal(err)
		}
	}
	tr.Erase(123)
	if got, _, err := tr.AllocCyclic(uint64(1), 2, 1024, &next); err != nil || got != 123 || next != 124 {
		t.Fatalf("after erasing 123: %d %v next %d", got, err, next)
	}
	tr.Erase(100)
	if got, _, err := tr.AllocCyclic(uint64(1), 2, 1024, &next); err != nil || got != 100 || next != 101 {
		t.Fatalf("after erasing 100: %d %v next %d", got, err, next)
	}
	if _, _, err := tr.AllocCyclic(uint64(1), 2, 1024, &next); !errors.Is(err, errno.EBUSY) {
		t.Fatalf("full range: %v", err)
	}
	tr = New(FlagAllocRange)
	next = maxIndex - 1
	for i, want := range []bool{false, false, true} {
		if _, wrapped, err := tr.AllocCyclic(uint64(1), 0, maxIndex, &next); err != nil || wrapped != want {
			t.Fatalf("overflow #%d: wrapped %v err %v", i, wrapped, err)
		}
	}
}

// TestIterationWhileStoring follows check_iteration.
func TestIterationWhileStoring(t *testing.T) {
	tr := New(FlagAllocRange)
	for i := uint64(0); i <= 125; i++ {
		tr.StoreRange(i*10, i*10+9, i)
	}
	mas := tr.NewState(0, 0)
	for e := mas.Find(925); e != nil; e = mas.Find(925) {
		if e == uint64(92) {
			mas.SetRange(925, 929)
			if err := mas.Store(e); err != nil {
				t.Fatal(err)
			}
		}
	}
	if e := mas.Find(maxIndex); e != uint64(93) {
		t.Fatalf("after overwriting the end: %v", e)
	}
	mas.Set(0)
	for e := mas.Find(785); e != nil; e = mas.Find(785) {
		if e == uint64(78) {
			mas.SetRange(780, 785)
			mas.Store(e)
		}
	}
	if e := mas.Find(maxIndex); e != uint64(78) || mas.Index() != 786 {
		t.Fatalf("after overwriting the start: %v [%d, %d]", e, mas.Index(), mas.Last())
	}
	mas.Set(0)
	for e := mas.Find(765); e != nil; e = mas.Find(765) {
		if e == uint64(76) {
			mas.SetRange(760, 765)
			mas.Store(e)
		}
	}
	if e := mas.Find(maxIndex); e != uint64(76) {
		t.Fatalf("after splitting a range: %v [%d, %d]", e, mas.Index(), mas.Last())
	}
	if err := tr.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestLowerBoundNotEmpty follows check_lb_not_empty.
func TestLowerBoundNotEmpty(t *testing.T) {
	tr := New(0)
	var done []uint64
	for i := uint64(4000000000); i > 4096; i /= 2 {
		tr.Insert(i, i)
		done = append(done, i)
		for _, j := range done {
			if tr.Load(j-1) != nil || tr.Load(j) != j || tr.Load(j+1) != nil {
				t.Fatalf("around %d after inserting %d", j, i)
			}
		}
	}
}

// TestEmptyAreaRevTopQuirk pins down a kernel behaviour the port keeps:
// mas_rev_awalk's "size <= last - min + 1" wraps to 0 for a slot starting
// at index 0 when the window ends at ULONG_MAX, so the reverse search
// misses that slot and fails with EBUSY.
func TestEmptyAreaRevTopQuirk(t *testing.T) {
	tr := New(FlagAllocRange)
	tr.Store(maxIndex, "top")
	if _, _, err := tr.EmptyAreaRev(0, maxIndex, 1); !errors.Is(err, errno.EBUSY) {
		t.Fatalf("empty_area_rev(0, ULONG_MAX, 1): %v, the kernel gives EBUSY", err)
	}
	if f, _, err := tr.EmptyAreaRev(0, maxIndex-1, 1); err != nil || f != maxIndex-1 {
		t.Fatalf("empty_area_rev(0, ULONG_MAX-1, 1) = %d, %v", f, err)
	}
}

// TestInsertNullOverEntry pins down mas_insert with a NULL entry: the NULL
// grows over its NULL neighbours, and when that covers every index the
// store becomes a new root, which skips the EEXIST check and empties the
// tree.
func TestInsertNullOverEntry(t *testing.T) {
	tr := New(0)
	tr.Store(5, "x")
	tr.Store(7, "y")
	if err := tr.Insert(5, nil); !errors.Is(err, errno.EEXIST) {
		t.Fatalf("NULL over an entry with a neighbour: %v", err)
	}
	tr.Erase(7)
	if err := tr.Insert(5, nil); err != nil || !tr.Empty() {
		t.Fatalf("NULL over the only entry: %v, empty %v", err, tr.Empty())
	}
}

func TestDupAndDestroy(t *testing.T) {
	src := New(FlagAllocRange)
	for i := uint64(0); i < 500; i++ {
		src.StoreRange(i*4, i*4+2, i)
	}
	if err := src.Dup(New(0)); !errors.Is(err, errno.EINVAL) {
		t.Fatalf("dup into other flags: %v", err)
	}
	nonEmpty := New(FlagAllocRange)
	nonEmpty.Store(1, "x")
	if err := src.Dup(nonEmpty); !errors.Is(err, errno.EINVAL) {
		t.Fatalf("dup into a non-empty tree: %v", err)
	}
	dst := New(FlagAllocRange)
	if err := src.Dup(dst); err != nil {
		t.Fatal(err)
	}
	if dst.String() == src.String() {
		t.Fatal("dup shares nodes with its source")
	}
	if d := treesSameShape(src, dst); d != "" || dst.Validate() != nil {
		t.Fatalf("dup is not a node-for-node copy: %s", d)
	}
	src.Store(5, "changed")
	if dst.Load(5) != uint64(1) {
		t.Fatal("writing the source changed the copy")
	}
	failing := New(FlagAllocRange)
	n := 0
	failing.SetNodeAllocFailure(func() bool { n++; return n > 5 })
	if err := src.Dup(failing); !errors.Is(err, errno.ENOMEM) || !failing.Empty() {
		t.Fatalf("dup without memory: %v, empty %v", err, failing.Empty())
	}
	src.Destroy()
	if !src.Empty() || src.Height() != 0 || src.Flags() != FlagAllocRange {
		t.Fatalf("destroy: empty %v height %d flags %v", src.Empty(), src.Height(), src.Flags())
	}
}

// TestValidateCatches makes sure Validate reports broken trees.
func TestValidateCatches(t *testing.T) {
	build := func() *Tree {
		tr := New(FlagAllocRange)
		for i := uint64(0); i < 300; i++ {
			tr.StoreRange(i*10, i*10+5, i)
		}
		return tr
	}
	leaf := func(tr *Tree) *node {
		n, _ := tr.loadRoot()
		for !n.typ.isLeaf() {
			n = n.child(1)
		}
		return n
	}
	for name, corrupt := range map[string]func(*Tree){
		"pivot order": func(tr *Tree) { l := leaf(tr); l.pivot[2], l.pivot[3] = l.pivot[3], l.pivot[2] },
		"adjacent NULLs": func(tr *Tree) {
			l := leaf(tr)
			l.clearSlot(2)
			l.clearSlot(3)
		},
		"gap":    func(tr *Tree) { r, _ := tr.loadRoot(); r.gap[0]++ },
		"parent": func(tr *Tree) { r, _ := tr.loadRoot(); r.child(1).setParent(r, 2) },
		"height": func(tr *Tree) { tr.setHeight(tr.Height() + 1) },
		"dead":   func(tr *Tree) { leaf(tr).setDead() },
	} {
		tr := build()
		if err := tr.Validate(); err != nil {
			t.Fatal(err)
		}
		corrupt(tr)
		if err := tr.Validate(); err == nil {
			t.Errorf("%s: Validate found nothing", name)
		}
	}
}

func TestDumpFormat(t *testing.T) {
	tr := New(0)
	if s := tr.String(); !strings.Contains(s, "height 0 root (nil)") || !strings.Contains(s, "(empty)") {
		t.Fatalf("empty dump:\n%s", s)
	}
	tr.Store(0, uint64(7))
	if s := tr.String(); !strings.Contains(s, "0: value 7 (0x7) [0xf]") {
		t.Fatalf("root entry dump:\n%s", s)
	}
	tr.StoreRange(16, 31, uint64(16))
	tr.Store(40, ZeroEntry)
	var b strings.Builder
	tr.Dump(&b, DumpDec)
	for _, want := range []string{"flags 4, height 1", "0-18446744073709551615: node ", "depth 0 type 1",
		"  16-31: value 16 (0x10) [0x21]", "  40: zero (257)", "  41-18446744073709551615: (nil)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("dec dump lacks %q:\n%s", want, b.String())
		}
	}
	if s := tr.String(); !strings.Contains(s, "  10-1f: value 16") || !strings.Contains(s, "0-ffffffffffffffff: node") {
		t.Errorf("hex dump:\n%s", s)
	}
}

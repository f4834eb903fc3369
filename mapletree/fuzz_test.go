package mapletree

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/arenasim/arenasim/internal/errno"
)

// fuzzOps decodes fuzz bytes into operations.
type fuzzOps struct {
	b []byte
}

func (f *fuzzOps) byte() byte {
	if len(f.b) == 0 {
		return 0
	}
	c := f.b[0]
	f.b = f.b[1:]
	return c
}

// index decodes two bytes: a small index, or one near ULONG_MAX when the
// top bit is set.
func (f *fuzzOps) index() uint64 {
	hi, lo := f.byte(), f.byte()
	v := uint64(hi&0x7f)<<8 | uint64(lo)
	if hi&0x80 != 0 {
		return maxIndex - uint64(lo)
	}
	return v
}

func (f *fuzzOps) rangeOf() (uint64, uint64) {
	a := f.index()
	n := uint64(f.byte())
	if n >= 0xf0 {
		n = (n - 0xf0) * 1000
	}
	b := a + n
	if b < a {
		b = maxIndex
	}
	return a, b
}

// FuzzMapleTree turns bytes into a sequence of tree operations (stores,
// NULL stores, inserts, erases, loads and walks, gap searches and
// allocations, iteration, RCU toggles and Dup), checking each answer
// against the sorted-interval model and running Validate after each one.
// A panic or a broken invariant is a failure.
func FuzzMapleTree(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 5, 0, 0, 10, 3, 0, 0, 4, 0, 3})
	f.Add([]byte{0, 0x80, 1, 0x10, 2, 0, 200, 0xff, 3, 0, 201})
	f.Fuzz(func(t *testing.T, data []byte) {
		tm := time.AfterFunc(20*time.Second, func() { panic(fmt.Sprintf("FuzzMapleTree: input runs over 20s: %q", data)) })
		defer tm.Stop()
		ops := &fuzzOps{b: data}
		flags := Flags(ops.byte() & 1)
		tr := New(flags)
		ref := &refIntervals{}
		gen := 0
		for step := 0; len(ops.b) > 0 && step < 400; step++ {
			op := ops.byte() % 10
			gen++
			val := any(fmt.Sprintf("v%d", gen))
			switch op {
			case 0, 1: // store a range
				a, b := ops.rangeOf()
				if op == 1 {
					val = nil
				}
				if err := tr.StoreRange(a, b, val); err != nil {
					t.Fatalf("step %d: store [%d, %d]: %v", step, a, b, err)
				}
				ref.store(a, b, val)
			case 2: // insert a range
				a, b := ops.rangeOf()
				err := tr.InsertRange(a, b, val)
				want := ref.insert(a, b, val)
				if (err == nil) != (want == nil) || (err != nil && !errors.Is(err, want)) {
					t.Fatalf("step %d: insert [%d, %d]: %v, model %v", step, a, b, err, want)
				}
			case 3: // erase
				i := ops.index()
				if got, want := tr.Erase(i), ref.erase(i); got != want {
					t.Fatalf("step %d: erase %d = %v, model %v", step, i, got, want)
				}
			case 4: // load and walk
				i := ops.index()
				want := ref.load(i)
				mas := tr.NewState(i, i)
				if got := mas.Walk(); got != want {
					t.Fatalf("step %d: walk %d = %v, model %v", step, i, got, want)
				}
				if isZero(want) {
					want = nil
				}
				if got := tr.Load(i); got != want {
					t.Fatalf("step %d: load %d = %v, model %v", step, i, got, want)
				}
			case 5: // allocate (lowest or highest fit)
				min, max := ops.rangeOf()
				size := uint64(ops.byte()%32) + 1
				rev := ops.byte()&1 == 1
				var start uint64
				var err error
				var want uint64
				var wantErr error
				if rev {
					start, err = tr.AllocRRange(val, size, min, max)
					want, wantErr = ref.emptyAreaRev(min, max, size)
				} else {
					start, err = tr.AllocRange(val, size, min, max)
					want, wantErr = ref.emptyArea(min, max, size)
				}
				switch {
				case flags&FlagAllocRange == 0:
					if !errors.Is(err, errno.EINVAL) {
						t.Fatalf("step %d: alloc on a plain tree: %v", step, err)
					}
				case rev && revWholeSpaceQuirk(min, max, err, wantErr):
				case errno.Of(err) != errno.Of(wantErr):
					t.Fatalf("step %d: alloc rev=%v [%d, %d] size %d: %v, model %v", step, rev, min, max, size, err, wantErr)
				case err == nil && start != want:
					t.Fatalf("step %d: alloc rev=%v [%d, %d] size %d = %d, model %d", step, rev, min, max, size, start, want)
				case err == nil:
					ref.store(start, start+size-1, val)
				}
			case 6: // iterate both ways
				mas := tr.NewState(0, 0)
				n := 0
				for e := mas.Find(maxIndex); e != nil; e = mas.Find(maxIndex) {
					if n >= len(ref.iv) || e != ref.iv[n].val || mas.Index() != ref.iv[n].first || mas.Last() != ref.iv[n].last {
						t.Fatalf("step %d: mas_find #%d = %v [%d, %d]", step, n, e, mas.Index(), mas.Last())
					}
					n++
				}
				if n != len(ref.iv) {
					t.Fatalf("step %d: mas_find saw %d of %d", step, n, len(ref.iv))
				}
				mas = tr.NewState(maxIndex, maxIndex)
				for e := mas.FindRev(0); e != nil; e = mas.FindRev(0) {
					n--
					if n < 0 || e != ref.iv[n].val {
						t.Fatalf("step %d: mas_find_rev = %v at %d", step, e, n)
					}
				}
				if n != 0 {
					t.Fatalf("step %d: mas_find_rev missed %d entries", step, n)
				}
			case 7: // mt_find from an index
				i := ops.index()
				idx := i
				got := tr.Find(&idx, maxIndex)
				var want any
				for _, iv := range ref.entries() {
					if iv.last >= i {
						want = iv.val
						break
					}
				}
				if got != want {
					t.Fatalf("step %d: mt_find(%d) = %v, model %v", step, i, got, want)
				}
			case 8: // RCU on or off
				tr.SetRCU(!tr.InRCU())
			case 9: // continue on a duplicate
				d := New(tr.attr())
				if err := tr.Dup(d); err != nil {
					t.Fatalf("step %d: dup: %v", step, err)
				}
				tr = d
			}
			if err := tr.Validate(); err != nil {
				t.Fatalf("step %d (op %d): %v\n%s", step, op, err, tr)
			}
			if tr.preallocMisses != 0 {
				t.Fatalf("step %d: %d nodes taken beyond the preallocation", step, tr.preallocMisses)
			}
		}
		if d := diffContents(tr, ref); d != "" {
			t.Fatalf("tree differs from the model:\n%s", d)
		}
	})
}

package mapletree

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// span is the entry the writer stores: it names the range it was written
// over, so a reader can tell a right answer from a torn one.
type span struct{ first, last uint64 }

// TestConcurrentReaders runs one writer against lock-free readers on an RCU
// tree, as check_rcu_threaded does. The writer keeps storing, overwriting,
// punching and erasing ranges (every write path: slot and node stores,
// splits, spanning stores, rebalances); readers Load, Walk, Find, iterate
// and step back and forth. An entry a reader sees at index i must cover i,
// and an iteration must report ranges inside their entries, always
// moving forward: a reader never sees a half-built node or a torn slot. CI runs this
// under the race detector.
func TestConcurrentReaders(t *testing.T) {
	const keys = 4000
	tr := New(FlagAllocRange)
	tr.SetRCU(true)
	for i := uint64(0); i < keys; i += 10 {
		tr.StoreRange(i, i+5, &span{i, i + 5})
	}
	writes := 20000
	if testing.Short() {
		writes = 4000
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	fail := func(s string) {
		select {
		case errs <- s:
		default:
		}
		stop.Store(true)
	}
	covers := func(e any, i uint64) bool {
		s, ok := e.(*span)
		return ok && s.first <= i && i <= s.last
	}
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 7))
			for !stop.Load() {
				i := rng.Uint64N(keys + 100)
				if e := tr.Load(i); e != nil && !covers(e, i) {
					fail("load: entry does not cover its index")
					return
				}
				mas := tr.NewState(i, i)
				if e := mas.Walk(); e != nil && (!covers(e, mas.Index()) || !covers(e, mas.Last())) {
					fail("walk: range outside its entry")
					return
				}
				if e := mas.Next(maxIndex); e != nil && !covers(e, mas.Index()) {
					fail("next: range outside its entry")
					return
				}
				if e := mas.Prev(0); e != nil && !covers(e, mas.Last()) {
					fail("prev: range outside its entry")
					return
				}
				idx := i
				if e := tr.Find(&idx, maxIndex); e != nil && !covers(e, idx-1) {
					fail("mt_find: entry does not end at the new index")
					return
				}
				if rng.IntN(50) == 0 {
					var prev uint64
					first := true
					tr.ForEach(0, maxIndex, func(a, b uint64, e any) bool {
						// Each step walks from the root, so a range may
						// start before the last one ended (the writer
						// moved it) but must end after it.
						if !covers(e, a) || !covers(e, b) || (!first && b <= prev) {
							fail("mt_for_each: bad range or order")
							return false
						}
						prev, first = b, false
						return true
					})
				}
			}
		}(uint64(r))
	}
	rng := rand.New(rand.NewPCG(42, 42))
	for n := 0; n < writes && !stop.Load(); n++ {
		a := rng.Uint64N(keys)
		switch rng.IntN(6) {
		case 0, 1:
			b := a + rng.Uint64N(8)
			tr.StoreRange(a, b, &span{a, b})
		case 2:
			b := a + rng.Uint64N(300)
			tr.StoreRange(a, b, &span{a, b})
		case 3:
			tr.StoreRange(a, a+rng.Uint64N(200), nil)
		case 4:
			tr.Erase(a)
		case 5:
			if s, err := tr.AllocRange(nil, 1+rng.Uint64N(4), a, a+500); err == nil {
				tr.Erase(s)
			}
			b := a + 3
			tr.InsertRange(a, b, &span{a, b})
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if err := tr.Validate(); err != nil {
		t.Fatal(err)
	}
}

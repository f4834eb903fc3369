package vmalloc

import (
	"fmt"
	"slices"
)

// refIntervals is the reference model of the vmap-area allocator: free space
// as a sorted slice of maximal intervals over [1, ULONG_MAX), busy areas in
// a map, lazily freed ranges in a slice. It answers every request by a
// linear scan for the lowest block that fits, which is what the kernel's
// tree search must find. Slow and obviously correct.
type refIntervals struct {
	free      [][2]uint64
	busy      map[uint64]uint64 // start -> end
	lazy      [][2]uint64
	lazyPages uint64
	lazyMax   uint64
	purges    int
}

func newRef(lazyMax uint64) *refIntervals {
	return &refIntervals{free: [][2]uint64{{1, ULongMax}}, busy: map[uint64]uint64{}, lazyMax: lazyMax}
}

// fits is is_within_this_va restated.
func refFits(b [2]uint64, size, align, vstart uint64) (uint64, bool) {
	nva := alignUp(max(b[0], vstart), align)
	if nva+size < nva || nva < vstart || nva+size > b[1] {
		return 0, false
	}
	return nva, true
}

// lowest returns the index of the lowest block that fits, or -1.
func (r *refIntervals) lowest(size, align, vstart uint64) int {
	for i, b := range r.free {
		if _, ok := refFits(b, size, align, vstart); ok {
			return i
		}
	}
	return -1
}

// search is one search as the kernel does it without a widened length:
// the lowest fit, which fails if it ends beyond vend.
func (r *refIntervals) search(size, align, vstart, vend uint64) (uint64, bool) {
	i := r.lowest(size, align, vstart)
	if i < 0 {
		return 0, false
	}
	nva, _ := refFits(r.free[i], size, align, vstart)
	if nva+size > vend {
		return 0, false
	}
	return nva, true
}

// take marks [s, e) busy; it must lie inside one free block.
func (r *refIntervals) take(s, e uint64) error {
	for i, b := range r.free {
		if s >= b[0] && e <= b[1] {
			var repl [][2]uint64
			if b[0] < s {
				repl = append(repl, [2]uint64{b[0], s})
			}
			if e < b[1] {
				repl = append(repl, [2]uint64{e, b[1]})
			}
			r.free = slices.Replace(r.free, i, i+1, repl...)
			r.busy[s] = e
			return nil
		}
	}
	return fmt.Errorf("ref: %#x-%#x is not free", s, e)
}

// release returns [s, e) to the free set, merging neighbours.
func (r *refIntervals) release(s, e uint64) {
	i, _ := slices.BinarySearchFunc(r.free, s, func(b [2]uint64, x uint64) int {
		switch {
		case b[0] < x:
			return -1
		case b[0] > x:
			return 1
		}
		return 0
	})
	r.free = slices.Insert(r.free, i, [2]uint64{s, e})
	if i+1 < len(r.free) && r.free[i][1] == r.free[i+1][0] {
		r.free[i][1] = r.free[i+1][1]
		r.free = slices.Delete(r.free, i+1, i+2)
	}
	if i > 0 && r.free[i-1][1] == r.free[i][0] {
		r.free[i-1][1] = r.free[i][1]
		r.free = slices.Delete(r.free, i, i+1)
	}
}

// purge releases every lazy range.
func (r *refIntervals) purge() {
	r.purges++
	for _, l := range r.lazy {
		r.release(l[0], l[1])
	}
	r.lazy, r.lazyPages = nil, 0
}

// free makes a busy area lazy and purges past the threshold.
func (r *refIntervals) freeArea(s uint64) {
	e := r.busy[s]
	delete(r.busy, s)
	r.lazy = append(r.lazy, [2]uint64{s, e})
	r.lazyPages += (e - s) / PageSize
	if r.lazyPages > r.lazyMax {
		r.purge()
	}
}

// find returns the busy area containing addr.
func (r *refIntervals) find(addr uint64) (uint64, bool) {
	for s, e := range r.busy {
		if addr >= s && addr < e {
			return s, true
		}
	}
	return 0, false
}

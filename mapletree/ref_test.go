package mapletree

import (
	"fmt"
	"sort"
	"strings"

	"github.com/arenasim/arenasim/internal/errno"
)

// refInterval is one stored range of the reference model.
type refInterval struct {
	first, last uint64
	val         any
}

// refIntervals is the obviously correct model of a maple tree's contents:
// a sorted list of disjoint ranges, each with its entry. It is slow and
// simple on purpose; the tests compare the tree with it after every step.
type refIntervals struct {
	iv []refInterval
}

// find returns the position of the interval holding index, or -1.
func (r *refIntervals) find(index uint64) int {
	i := sort.Search(len(r.iv), func(i int) bool { return r.iv[i].last >= index })
	if i < len(r.iv) && r.iv[i].first <= index {
		return i
	}
	return -1
}

// load returns the entry at index (ZeroEntry included).
func (r *refIntervals) load(index uint64) any {
	if i := r.find(index); i >= 0 {
		return r.iv[i].val
	}
	return nil
}

// store writes val over [first, last]; nil punches a hole.
func (r *refIntervals) store(first, last uint64, val any) {
	var out []refInterval
	for _, iv := range r.iv {
		if iv.last < first || iv.first > last {
			out = append(out, iv)
			continue
		}
		if iv.first < first {
			out = append(out, refInterval{iv.first, first - 1, iv.val})
		}
		if iv.last > last {
			out = append(out, refInterval{last + 1, iv.last, iv.val})
		}
	}
	if val != nil {
		out = append(out, refInterval{first, last, val})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].first < out[j].first })
	r.iv = out
}

// occupied reports whether any index of [first, last] holds an entry.
func (r *refIntervals) occupied(first, last uint64) bool {
	for _, iv := range r.iv {
		if iv.last >= first && iv.first <= last {
			return true
		}
	}
	return false
}

// insert models mtree_insert_range.
func (r *refIntervals) insert(first, last uint64, val any) error {
	if r.occupied(first, last) {
		return errno.EEXIST
	}
	if val != nil {
		r.store(first, last, val)
	}
	return nil
}

// erase models mtree_erase.
func (r *refIntervals) erase(index uint64) any {
	i := r.find(index)
	if i < 0 {
		return nil
	}
	v := r.iv[i].val
	r.iv = append(r.iv[:i:i], r.iv[i+1:]...)
	return v
}

// holes lists the empty ranges of [0, ULONG_MAX] in order.
func (r *refIntervals) holes() [][2]uint64 {
	var h [][2]uint64
	next := uint64(0)
	done := false
	for _, iv := range r.iv {
		if iv.first > next {
			h = append(h, [2]uint64{next, iv.first - 1})
		}
		if iv.last == maxIndex {
			done = true
			break
		}
		next = iv.last + 1
	}
	if !done {
		h = append(h, [2]uint64{next, maxIndex})
	}
	return h
}

// emptyArea models mas_empty_area: the lowest size-long empty window in
// [min, max] (EBUSY if none; argument errors as the kernel's).
func (r *refIntervals) emptyArea(min, max, size uint64) (uint64, error) {
	if min > max || size == 0 || max-min < size-1 {
		return 0, errno.EINVAL
	}
	for _, h := range r.holes() {
		lo, hi := maxU64(h[0], min), minU64(h[1], max)
		if lo > hi || hi-lo < size-1 {
			continue
		}
		return lo, nil
	}
	return 0, errno.EBUSY
}

// emptyAreaRev models mas_empty_area_rev: the highest window.
func (r *refIntervals) emptyAreaRev(min, max, size uint64) (uint64, error) {
	if min > max || size == 0 || max-min < size-1 {
		return 0, errno.EINVAL
	}
	hs := r.holes()
	for i := len(hs) - 1; i >= 0; i-- {
		lo, hi := maxU64(hs[i][0], min), minU64(hs[i][1], max)
		if lo > hi || hi-lo < size-1 {
			continue
		}
		return hi - size + 1, nil
	}
	return 0, errno.EBUSY
}

// entries returns the intervals holding real entries (ZeroEntry skipped),
// as mt_for_each reports them.
func (r *refIntervals) entries() []refInterval {
	var out []refInterval
	for _, iv := range r.iv {
		if !isZero(iv.val) {
			out = append(out, iv)
		}
	}
	return out
}

// countEntries counts the intervals mt_for_each reports.
func (r *refIntervals) countEntries() int {
	n := 0
	for _, iv := range r.iv {
		if !isZero(iv.val) {
			n++
		}
	}
	return n
}

// treeIntervals lists the tree's contents through ForEach.
func treeIntervals(t *Tree) []refInterval {
	var out []refInterval
	t.ForEach(0, maxIndex, func(first, last uint64, e any) bool {
		out = append(out, refInterval{first, last, e})
		return true
	})
	return out
}

// diffContents compares the tree with the model and describes the first
// differences ("" when equal).
func diffContents(t *Tree, r *refIntervals) string {
	got := treeIntervals(t)
	want := r.entries()
	var b strings.Builder
	n := max(len(got), len(want))
	for i := 0; i < n && b.Len() < 2000; i++ {
		var g, w string
		if i < len(got) {
			g = fmt.Sprintf("[%d,%d]=%v", got[i].first, got[i].last, got[i].val)
		}
		if i < len(want) {
			w = fmt.Sprintf("[%d,%d]=%v", want[i].first, want[i].last, want[i].val)
		}
		if g != w {
			fmt.Fprintf(&b, "  #%d tree %s, model %s\n", i, g, w)
		}
	}
	return b.String()
}

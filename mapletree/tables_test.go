package mapletree

import (
	"strings"
	"testing"
)

// mtreeAllocMax is MTREE_ALLOC_MAX in lib/test_maple_tree.c: the layout
// tests reserve [2^49, ULONG_MAX] with ZeroEntry.
const mtreeAllocMax = 0x2000000000000

// allocLayout builds the tree of alloc_range_layout.txt.
func allocLayout(t *testing.T) *ktree {
	k := newKtree(t, FlagAllocRange)
	k.storeRange(mtreeAllocMax, maxIndex, ZeroEntry, 0)
	for _, l := range readData(t, mapleData(t, "alloc_range_layout.txt")) {
		first, last := u64(t, l, l.fields[0]), u64(t, l, l.fields[1])
		k.insertRange(first, last, first, 0)
	}
	return k
}

// TestAllocRange asserts check_alloc_range: the holes found by
// mas_empty_area, then every mtree_alloc_range request in order.
func TestAllocRange(t *testing.T) {
	k := allocLayout(t)
	for _, l := range readData(t, mapleData(t, "alloc_range_holes.txt")) {
		min, max, size, want := u64(t, l, l.fields[0]), u64(t, l, l.fields[1]), u64(t, l, l.fields[2]), u64(t, l, l.fields[3])
		mas := k.tr.NewState(0, 0)
		if err := mas.EmptyArea(min, max, size); err != nil {
			t.Fatalf("%s: empty_area: %v", l.where(), err)
		}
		if mas.Index() != want || mas.Last() != want+size-1 {
			t.Fatalf("%s: empty_area = [%d, %d], want index %d", l.where(), mas.Index(), mas.Last(), want)
		}
	}
	for _, l := range readData(t, mapleData(t, "alloc_range_requests.txt")) {
		min, max, size := u64(t, l, l.fields[0]), u64(t, l, l.fields[1]), u64(t, l, l.fields[2])
		want, wantRet := u64(t, l, l.fields[3]), int(i64(t, l, l.fields[4]))
		start, err := k.tr.AllocRange(min, size, min, max)
		wantErr(t, l.where()+": alloc_range", err, wantRet)
		if err != nil {
			continue
		}
		if start != want {
			t.Fatalf("%s: alloc_range = %d, want %d", l.where(), start, want)
		}
		k.ref.store(start, start+size-1, min)
		k.verify(l.where())
	}
}

// TestAllocRevRange asserts check_alloc_rev_range, including the final
// request after two erases.
func TestAllocRevRange(t *testing.T) {
	k := allocLayout(t)
	for _, l := range readData(t, mapleData(t, "alloc_rev_range_holes.txt")) {
		min, max, size, want := u64(t, l, l.fields[0]), u64(t, l, l.fields[1]), u64(t, l, l.fields[2]), u64(t, l, l.fields[3])
		mas := k.tr.NewState(0, 0)
		if err := mas.EmptyAreaRev(min, max, size); err != nil {
			t.Fatalf("%s: empty_area_rev: %v", l.where(), err)
		}
		if mas.Last()+1 != max || mas.Index() != want {
			t.Fatalf("%s: empty_area_rev = [%d, %d], want index %d last %d", l.where(), mas.Index(), mas.Last(), want, max-1)
		}
	}
	reqs := readData(t, mapleData(t, "alloc_rev_range_requests.txt"))
	for i, l := range reqs {
		if i == len(reqs)-1 {
			// The extra check: erase two pages first.
			k.erase(34148798727)
			k.erase(34148798725)
		}
		min, max, size := u64(t, l, l.fields[0]), u64(t, l, l.fields[1]), u64(t, l, l.fields[2])
		want, wantRet := u64(t, l, l.fields[3]), int(i64(t, l, l.fields[4]))
		start, err := k.tr.AllocRRange(min, size, min, max)
		wantErr(t, l.where()+": alloc_rrange", err, wantRet)
		if err != nil {
			continue
		}
		if start != want {
			t.Fatalf("%s: alloc_rrange = %d, want %d", l.where(), start, want)
		}
		k.ref.store(start, start+size-1, min)
		k.verify(l.where())
	}
}

// TestEmptyAreaWindow asserts check_empty_area_window.
func TestEmptyAreaWindow(t *testing.T) {
	k := newKtree(t, FlagAllocRange)
	for i := uint64(1); i <= 20; i++ {
		k.storeRange(i*10, i*10+9, i, 0)
	}
	k.storeRange(160, 169, nil, 0)
	for _, l := range readData(t, mapleData(t, "empty_area_window.txt")) {
		f := l.fields
		min, max, size := u64(t, l, f[1]), u64(t, l, f[2]), u64(t, l, f[3])
		mas := k.tr.NewState(0, 0)
		var err error
		var refIndex uint64
		var refErr error
		if f[0] == "rev" {
			err = mas.EmptyAreaRev(min, max, size)
			refIndex, refErr = k.ref.emptyAreaRev(min, max, size)
		} else {
			err = mas.EmptyArea(min, max, size)
			refIndex, refErr = k.ref.emptyArea(min, max, size)
		}
		if f[4] == "-" {
			// Called but not asserted by the kernel: the model's answer.
			if err != nil || refErr != nil || mas.Index() != refIndex {
				t.Fatalf("%s: got [%d,%d] %v, model %d %v", l.where(), mas.Index(), mas.Last(), err, refIndex, refErr)
			}
			if b := strings.Join(f[5:], " "); !strings.Contains(b, "model: 0 "+f[0]) && !strings.Contains(b, u64s(refIndex)) {
				t.Fatalf("%s: model answer %d not in %q", l.where(), refIndex, b)
			}
			continue
		}
		wantErr(t, l.where(), err, int(i64(t, l, f[4])))
		if err != nil {
			continue
		}
		if mas.Index() != u64(t, l, f[5]) || mas.Last() != u64(t, l, f[6]) {
			t.Fatalf("%s: got [%d, %d], want [%s, %s]", l.where(), mas.Index(), mas.Last(), f[5], f[6])
		}
		if mas.Index() != refIndex {
			t.Fatalf("%s: model says %d", l.where(), refIndex)
		}
	}
}

func u64s(v uint64) string { return itoa(v) }

// TestSeedBasicSet asserts the opening of maple_tree_seed with set[].
func TestSeedBasicSet(t *testing.T) {
	var set []uint64
	for _, l := range readData(t, mapleData(t, "seed_basic_set.txt")) {
		set = append(set, u64(t, l, l.fields[1]))
	}
	if len(set) != 12 {
		t.Fatalf("seed_basic_set.txt: %d values", len(set))
	}
	type ptr struct{ name string }
	P, T := &ptr{"P"}, &ptr{"T"}
	k := newKtree(t, 0)
	k.load(set[0], nil)
	k.insert(set[9], T)
	k.load(set[9], T)
	k.load(set[0], nil)
	k.insert(set[10], P)
	k.load(set[9], T)
	k.load(set[11], nil)
	k.load(set[10], P)

	k.reset(0)
	k.insert(set[0], T)
	k.insertRange(set[0], set[0], T, -17)
	k.load(set[0], T)
	k.load(set[1], nil)
	k.insert(set[1], P)
	k.load(set[1], P)
	k.insert(set[6], P)
	k.insert(set[7], T)
	k.load(set[0], T)
	k.load(set[1], P)
	k.load(set[6], P)
	k.load(set[7], T)

	k.reset(0)
	k.insert(set[5], P)
	k.insert(set[7], T)
	k.insert(set[6], P)
	k.load(set[5], P)
	k.load(set[6], P)
	k.load(set[7], T)

	k.reset(0)
	want := []*ptr{P, T, P, T, P, T, P, T, P, T}
	for i := 0; i < 10; i++ {
		k.insert(set[i], want[i])
		for j := 0; j <= i; j++ {
			k.load(set[j], want[j])
		}
	}
}

// TestCheckRangesTable asserts the r[] rows of check_ranges_r.txt and the
// rest of check_ranges, heights included.
func TestCheckRangesTable(t *testing.T) {
	rows := readData(t, mapleData(t, "check_ranges_r.txt"))
	r := make([][2]uint64, 0, len(rows))
	for _, l := range rows {
		r = append(r, [2]uint64{u64(t, l, l.fields[1]), u64(t, l, l.fields[2])})
	}
	k := newKtree(t, 0)
	k.insertRange(r[0][0], r[0][1], r[0][0], 0)
	k.insertRange(r[1][0], r[1][1], r[1][0], 0)
	k.insertRange(r[2][0], r[2][1], r[2][0], -17)
	if k.tr.Height() == 0 {
		t.Fatal("height 0")
	}
	k.storeRange(r[2][0], r[2][1], r[2][0], 0)
	k.storeRange(r[3][0], r[3][1], r[3][0], 0)
	k.storeRange(r[4][0], r[4][1], r[4][0], 0)
	k.reset(0)
	if k.tr.Height() != 0 {
		t.Fatal("destroyed tree has a height")
	}

	k.seq(50)
	k.storeRange(5, 47, uint64(47), 0)
	k.reset(0)
	k.seq(100)
	k.storeRange(r[5][0], r[5][1], r[5][0], 0)
	k.reset(0)
	k.seq(200)
	k.storeRange(r[5][0], r[5][1], r[5][0], 0)
	k.reset(0)
	k.seq(30)
	k.storeRange(6, 18, uint64(6), 0)
	k.reset(0)

	k.seq(400)
	k.storeRange(r[6][0], r[6][1], r[6][0], 0)
	for _, i := range []uint64{140, 141, 142, 143, 130, 131, 132, 133, 134, 135} {
		k.erase(i)
	}
	k.load(r[6][0], r[6][0])
	k.load(r[6][1], r[6][0])
	k.load(r[6][1]-1, r[6][0])
	k.load(r[6][1]+1, r[6][1]+1)
	k.load(135, nil)
	k.load(140, nil)
	k.reset(0)

	k.seq(400)
	k.storeRange(353, 361, uint64(353), 0)
	k.storeRange(347, 352, uint64(347), 0)
	k.load(346, uint64(346))
	k.load(362, uint64(362))
	k.reset(0)

	k.seq(400)
	k.storeRange(352, 364, nil, 0)
	k.storeRange(351, 363, uint64(352), 0)
	k.load(350, uint64(350))
	k.load(364, nil)
	k.load(365, uint64(365))
	k.reset(0)

	k.seq(400)
	k.storeRange(352, 364, nil, 0)
	k.storeRange(351, 364, uint64(352), 0)
	k.load(350, uint64(350))
	k.load(365, uint64(365))
	k.reset(0)

	k.seq(400)
	k.storeRange(362, 367, uint64(362), 0)
	k.storeRange(353, 361, uint64(353), 0)
	k.reset(0)

	for i := uint64(0); i <= 500; i++ {
		k.storeRange(i*5, (i+1)*5, i*5, 0)
	}
	k.storeRange(2400, 2400, uint64(2400), 0)
	k.storeRange(2411, 2411, uint64(2411), 0)
	k.storeRange(2412, 2412, uint64(2412), 0)
	k.storeRange(2396, 2400, uint64(4052020), 0)
	k.storeRange(2402, 2402, uint64(2402), 0)
	k.reset(0)

	for i := uint64(0); i <= 500; i++ {
		k.storeRange(i*5, (i+1)*5, i*5, 0)
	}
	k.storeRange(2422, 2422, uint64(2422), 0)
	k.storeRange(2424, 2424, uint64(2424), 0)
	k.storeRange(2425, 2425, uint64(2), 0)
	k.storeRange(2460, 2470, nil, 0)
	k.storeRange(2435, 2460, uint64(2435), 0)
	k.storeRange(2461, 2470, uint64(2461), 0)

	k.reset(FlagAllocRange)
	var val, val2 uint64
	for i := uint64(0); i <= 500; i++ {
		val = i*5 + 1
		val2 = val + 4
		k.storeRange(val, val2, val, 0)
	}
	for i := 0; i < 10; i++ {
		val = val2 + 5
		val2 = val + 4
		k.storeRange(val, val2, val, 0)
	}
	val = val2
	for i := 0; i < 10; i++ {
		val += 5
		k.storeRange(val, maxIndex, val, 0)
	}
	for i := uint64(10); i < 30; i += 2 {
		val = i*5 + 1
		k.storeRange(val, val+5, val, 0)
	}
	for i := uint64(50); i < 70; i += 2 {
		val2 = i * 5
		val = val2 - 5
		k.storeRange(val, val2, val, 0)
	}
	// Expand a range, partly overwriting its neighbours (slot store),
	// then the same in RCU mode.
	for i := uint64(100); i < 130; i += 3 {
		k.storeRange(i*5-5, i*5+1, i*5-5, 0)
	}
	k.tr.SetRCU(true)
	for i := uint64(150); i < 180; i += 3 {
		k.storeRange(i*5-5, i*5+1, i*5-5, 0)
	}

	k.reset(FlagAllocRange)
	for i := uint64(0); i <= 50; i++ {
		k.storeRange(i*10, (i+1)*10, i*10, 0)
	}
	k.storeRange(161, 161, uint64(161), 0)
	k.storeRange(162, 162, uint64(162), 0)
	k.storeRange(163, 163, uint64(163), 0)
	k.storeRange(240, 249, nil, 0)
	for _, i := range []uint64{200, 210, 220, 230} {
		k.erase(i)
	}

	k.reset(FlagAllocRange)
	for i := uint64(0); i <= 500; i++ {
		k.storeRange(i*10, (i+1)*10, i*10, 0)
	}
	k.storeRange(4600, 4959, uint64(1), 0)

	k.reset(FlagAllocRange)
	for i := uint64(0); i <= 500; i++ {
		k.storeRange(i*10, (i+1)*10, i*10, 0)
	}
	for _, i := range []uint64{4811, 4812, 4861, 4862} {
		k.storeRange(i, i, i, 0)
	}
	k.storeRange(4842, 4849, nil, 0)

	// Heights (structural_expectations.txt, check_ranges rows).
	k.reset(FlagAllocRange)
	for i := uint64(0); i <= 1300; i++ {
		k.storeRange(i*10, (i+1)*10, i*10, 0)
		if k.tr.Height() >= 4 {
			t.Fatalf("height %d after storing [%d, %d]", k.tr.Height(), i*10, (i+1)*10)
		}
	}
	for i := uint64(5); i < 215; i += 10 {
		k.storeRange(11450+i, 11450+i+1, nil, 0)
	}
	for i := uint64(5); i < 65; i += 10 {
		k.storeRange(11770+i, 11770+i+1, nil, 0)
	}
	if h := k.tr.Height(); h >= 4 {
		t.Fatalf("height %d after the NULL punches, want < 4", h)
	}
	for i := uint64(5); i < 45; i += 10 {
		k.storeRange(11700+i, 11700+i+1, nil, 0)
	}
	if h := k.tr.Height(); h < 4 {
		t.Fatalf("height %d after the NULL punches at 11700, want >= 4", h)
	}

	k.reset(FlagAllocRange)
	for i := uint64(0); i <= 1200; i++ {
		k.storeRange(i*10, (i+1)*10, i*10, 0)
		if k.tr.Height() >= 4 {
			t.Fatalf("height %d", k.tr.Height())
		}
	}
	for i := uint64(5); i < 455; i += 10 {
		k.storeRange(7800+i, 7800+i+1, nil, 0)
	}
	for i := uint64(1); i < 16; i++ {
		k.storeRange(8185+i, 8185+i+1, 8185+i, 0)
	}
	if h := k.tr.Height(); h >= 4 {
		t.Fatalf("height %d before storing 8184, want < 4", h)
	}
	k.storeRange(8184, 8184, uint64(8184), 0)
	if h := k.tr.Height(); h != 4 {
		t.Fatalf("height %d after storing 8184 (triple split), want 4", h)
	}
}

// TestGapCombining asserts check_gap_combining with gap_combining_seq.txt,
// including the "different leaf node" checks.
func TestGapCombining(t *testing.T) {
	seqs := map[string][]uint64{}
	for _, l := range readData(t, mapleData(t, "gap_combining_seq.txt")) {
		var v []uint64
		for _, f := range l.fields[1:] {
			v = append(v, u64(t, l, f))
		}
		seqs[l.fields[0]] = v
	}
	s := seqs["seq100_64"]
	k := newKtree(t, FlagAllocRange)
	index := s[0]
	k.seq(100)
	k.erase(s[2])
	k.load(s[2], nil)
	k.erase(s[1])
	k.load(s[1], nil)
	mas := k.tr.NewState(index, index)
	if e := mas.Find(maxIndex); e != index {
		t.Fatalf("find %d = %v", index, e)
	}
	mn1 := mas.node
	mas.Next(maxIndex)
	if e := mas.Next(maxIndex); e != index+4 {
		t.Fatalf("next = %v, want %d", e, index+4)
	}
	if mas.node == mn1 {
		t.Fatalf("value %d and %d share a leaf", index, index+4)
	}
	revIndex := func(min, max, size, want uint64) {
		t.Helper()
		m := k.tr.NewState(0, 0)
		if err := m.EmptyAreaRev(min, max, size); err != nil {
			t.Fatalf("empty_area_rev(%d, %d, %d): %v", min, max, size, err)
		}
		if m.Index() != want {
			t.Fatalf("empty_area_rev(%d, %d, %d) = %d, want %d", min, max, size, m.Index(), want)
		}
	}
	revIndex(s[3], s[4], s[5], index+1)
	k.erase(s[6])
	k.erase(s[7])
	k.erase(s[8])
	index = s[9]
	mas.SetRange(index, index)
	if e := mas.Find(maxIndex); e != index {
		t.Fatalf("find %d = %v", index, e)
	}
	mn1 = mas.node
	if e := mas.Next(maxIndex); e != index+4 {
		t.Fatalf("next = %v", e)
	}
	mas.Next(maxIndex)
	if mas.node == mn1 {
		t.Fatal("the entry after the gap is in the same node")
	}
	revIndex(s[10], s[11], s[12], s[6])
	k.storeRange(s[13], s[13], nil, 0)
	k.load(s[14], s[14])
	k.storeRange(s[14], s[14], nil, 0)
	k.load(s[13], nil)
	revIndex(s[16], s[15], s[17], s[13])
	k.storeRange(s[18], s[14], nil, 0)
	k.erase(s[15])
	revIndex(s[16], s[19], s[20], s[18])

	s = seqs["seq2000"]
	k.reset(FlagAllocRange)
	k.seq(2000)
	k.erase(s[0])
	k.erase(s[1])
	revIndex(s[2], s[3], s[4], s[1])

	s = seqs["seq400"]
	k.reset(FlagAllocRange)
	k.seq(400)
	k.storeRange(s[0], s[1], nil, 0)
	k.reset(FlagAllocRange)
	k.seq(400)
	for _, i := range []int{2, 3, 4, 5, 0, 6, 7, 8} {
		k.storeRange(s[i], s[9], s[i], 0)
	}
	k.storeRange(s[10], s[11], s[10], 0)
}

// TestNextPrevLevel2 asserts next_prev_test with next_prev_level2.txt and
// the other exact ranges of that test.
func TestNextPrevLevel2(t *testing.T) {
	var l2 []uint64
	for _, l := range readData(t, mapleData(t, "next_prev_level2.txt")) {
		if l.fields[0] == "level2_64" {
			for _, f := range l.fields[1:] {
				l2 = append(l2, u64(t, l, f))
			}
		}
	}
	k := newKtree(t, FlagAllocRange)
	for i := uint64(0); i <= 200; i++ {
		k.storeRange(i*10, i*10+5, i, 0)
	}
	tr := k.tr
	expect := func(mas *State, e any, want any, first, last uint64) {
		t.Helper()
		if e != want || mas.Index() != first || mas.Last() != last {
			t.Fatalf("got %v [%d, %d], want %v [%d, %d]", e, mas.Index(), mas.Last(), want, first, last)
		}
	}
	mas := tr.NewState(686, 686)
	if e := mas.Walk(); e != nil {
		t.Fatalf("walk(686) = %v", e)
	}
	expect(&mas, mas.Next(1000), uint64(69), 690, 695)
	expect(&mas, mas.Prev(0), uint64(68), 680, 685)
	expect(&mas, mas.Next(1000), uint64(69), 690, 695)
	expect(&mas, mas.Next(1000), uint64(70), 700, 705)

	mas.Set(70)
	expect(&mas, mas.Walk(), uint64(7), 70, 75)
	expect(&mas, mas.Next(maxIndex), uint64(8), 80, 85)
	expect(&mas, mas.Prev(70), uint64(7), 70, 75)

	// Level 2: cross two levels going forward.
	mas.Set(l2[0])
	if e := mas.Walk(); e != nil {
		t.Fatalf("walk(%d) = %v", l2[0], e)
	}
	expect(&mas, mas.Next(l2[1]), l2[2]/10, l2[2], l2[3])
	n := mas.node
	expect(&mas, mas.Next(l2[1]), l2[4]/10, l2[4], l2[5])
	if mas.node == n {
		t.Fatal("mas_next did not cross into another node")
	}
	expect(&mas, mas.Prev(0), l2[2]/10, l2[2], l2[3])

	mas.Set(2000)
	expect(&mas, mas.Walk(), uint64(200), 2000, 2005)
	if e := mas.Next(maxIndex); e != nil || mas.Index() != 2006 || mas.Last() != maxIndex {
		t.Fatalf("next past the end = %v [%d, %#x]", e, mas.Index(), mas.Last())
	}
	expect(&mas, mas.Prev(0), uint64(200), 2000, 2005)

	mas.Set(10)
	mas.Walk()
	expect(&mas, mas.Prev(0), uint64(0), 0, 5)
	if e := mas.Prev(0); e != nil || mas.Index() != 0 || mas.Last() != 5 || mas.Status() != StatusUnderflow {
		t.Fatalf("prev below 0 = %v [%d, %d] %v", e, mas.Index(), mas.Last(), mas.Status())
	}
	k.storeRange(0, 5, nil, 0)
	mas.Set(10)
	mas.Walk()
	if e := mas.Prev(0); e != nil || mas.Index() != 0 || mas.Last() != 9 {
		t.Fatalf("prev over NULL = %v [%d, %d]", e, mas.Index(), mas.Last())
	}

	plain := New(0)
	plain.Store(0, uint64(0))
	plain.Store(5, uint64(5))
	m := plain.NewState(5, 5)
	if e := m.Prev(4); e != nil {
		t.Fatalf("prev(4) from 5 = %v", e)
	}
}

// TestStructuralExpectations asserts the remaining rows of
// structural_expectations.txt.
func TestStructuralExpectations(t *testing.T) {
	t.Run("spanning_store_height", func(t *testing.T) {
		tr := New(FlagAllocRange)
		mas := tr.NewState(0, 0)
		for index := uint64(0); tr.Height() != 3; {
			if err := mas.Store(index); err != nil {
				t.Fatal(err)
			}
			index++
			mas.Set(index)
		}
		mas.SetRange(90, 140)
		if err := mas.Store(uint64(0)); err != nil {
			t.Fatal(err)
		}
		if h := tr.Height(); h != 2 {
			t.Fatalf("height %d after store_range(90, 140), want 2", h)
		}
		if err := tr.Validate(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("collapsing_rebalance", func(t *testing.T) {
		tr := New(FlagAllocRange)
		for i := uint64(0); tr.Height() < 6; i += 9 {
			if err := tr.StoreRange(i, i+10, i); err != nil {
				t.Fatal(err)
			}
		}
		mas := tr.NewState(maxIndex, maxIndex)
		for n := 0; ; n++ {
			mas.Erase()
			// Validating a large tree after every erase is slow; every
			// 500th and the small tree at the end are checked.
			if n%500 == 0 || tr.Height() < 3 {
				if err := tr.Validate(); err != nil {
					t.Fatalf("after %d erases: %v", n+1, err)
				}
			}
			if mas.Prev(0) == nil {
				break
			}
		}
		if !tr.Empty() {
			t.Fatalf("tree not empty:\n%s", tr)
		}
	})
	t.Run("null_expand", func(t *testing.T) {
		tr := New(FlagAllocRange)
		for i := uint64(0); i <= 100; i++ {
			tr.StoreRange(i*10, i*10+5, &i)
		}
		check := func(at, first, last uint64, delta int, nulls ...uint64) {
			t.Helper()
			mas := tr.NewState(at, at)
			mas.Walk()
			end := int(mas.dataEnd())
			mas.SetRange(first, last)
			if err := mas.Store(nil); err != nil {
				t.Fatal(err)
			}
			for _, i := range nulls {
				if e := tr.Load(i); e != nil {
					t.Fatalf("load(%d) = %v after NULL [%d, %d]", i, e, first, last)
				}
			}
			if got := int(mas.dataEnd()); got != end+delta {
				t.Fatalf("NULL [%d, %d]: data end %d, want %d", first, last, got, end+delta)
			}
			if err := tr.Validate(); err != nil {
				t.Fatal(err)
			}
		}
		check(959, 959, 963, 0, 963)
		check(880, 884, 887, 0, 884, 889)
		check(890, 900, 905, -2, 899, 900, 905, 906)
		check(800, 810, 825, -4, 809, 810, 825, 826)
	})
	t.Run("prealloc_spanning", func(t *testing.T) {
		tr := New(FlagAllocRange)
		for i := uint64(0); i <= 100; i++ {
			tr.StoreRange(i*10, i*10+5, i)
		}
		mas := tr.NewState(470, 500)
		wr := newWrState(&mas, pack("ptr"))
		wr.preallocate()
		if mas.storeType != wrSpanningStore {
			t.Fatalf("store type %v, want spanning_store", mas.storeType)
		}
		if got, want := mas.allocated(), 1+(tr.Height()-int(wr.vacantHeight))*3; got != want || got == 0 {
			t.Fatalf("allocated %d, want %d", got, want)
		}
		mas.Destroy()
		if mas.allocated() != 0 {
			t.Fatal("Destroy kept nodes")
		}
	})
	t.Run("measured_heights", func(t *testing.T) {
		if testing.Short() {
			t.Skip("a million inserts")
		}
		for _, c := range []struct {
			flags Flags
			h     int
		}{{0, 6}, {FlagAllocRange, 7}} {
			tr := New(c.flags)
			for i := uint64(0); i < 1000000; i++ {
				if err := tr.Insert(i, i&1); err != nil {
					t.Fatal(err)
				}
			}
			if h := tr.Height(); h != c.h {
				t.Fatalf("flags %v: height %d after 1e6 ascending inserts, want %d", c.flags, h, c.h)
			}
		}
	})
}

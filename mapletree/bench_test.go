package mapletree

import (
	"math/rand/v2"
	"testing"

	"github.com/google/btree"
)

// The first benchmarks are the kernel's own loops (BENCH_* in
// lib/test_maple_tree.c), with the same setups, all on allocation trees.
// Entries are boxed once, outside the loops, as xa_mk_value costs nothing
// in C.

// boxed returns n pre-boxed entries, value(i) at i.
func boxed(n int) []any {
	v := make([]any, n)
	for i := range v {
		v[i] = uint64(i)
	}
	return v
}

// benchTree2500 is the setup of bench_load, bench_walk and bench_awalk:
// [i, i+5] = value(i) for i = 0, 10, ..., 2490.
func benchTree2500(vals []any) *Tree {
	tr := New(FlagAllocRange)
	for i := 0; i < 2500; i += 10 {
		tr.StoreRange(uint64(i), uint64(i+5), vals[i])
	}
	return tr
}

// BenchmarkLoad models bench_load: mtree_load(1470).
func BenchmarkLoad(b *testing.B) {
	tr := benchTree2500(boxed(2500))
	b.ReportAllocs()
	defer cpuPerOp(b)()
	var e any
	for b.Loop() {
		e = tr.Load(1470)
	}
	if e != uint64(1470) {
		b.Fatal(e)
	}
}

// BenchmarkWalk models bench_walk: mas_walk(1470) then mas_reset.
func BenchmarkWalk(b *testing.B) {
	tr := benchTree2500(boxed(2500))
	mas := tr.NewState(1470, 1470)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	var e any
	for b.Loop() {
		e = mas.Walk()
		mas.Reset()
	}
	if e != uint64(1470) {
		b.Fatal(e)
	}
}

// BenchmarkNodeStore models bench_node_store: overwrite [o, o+15] with
// value(o), o stepping by 5 through 76..130, over [i, i+5] for i < 240.
func BenchmarkNodeStore(b *testing.B) {
	vals := boxed(240)
	tr := New(FlagAllocRange)
	for i := 0; i < 240; i += 10 {
		tr.StoreRange(uint64(i), uint64(i+5), vals[i])
	}
	overwrite := uint64(76)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		tr.StoreRange(overwrite, overwrite+15, vals[overwrite])
		overwrite += 5
		if overwrite >= 135 {
			overwrite = 76
		}
	}
}

// BenchmarkSlotStore models bench_slot_store: per op, NULL at 105 then
// value(105) over [100, 105] (two stores, as the kernel counts them).
func BenchmarkSlotStore(b *testing.B) {
	vals := boxed(1040)
	tr := New(FlagAllocRange)
	for i := 0; i < 1040; i += 10 {
		tr.StoreRange(uint64(i), uint64(i+5), vals[i])
	}
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		tr.StoreRange(105, 105, nil)
		tr.StoreRange(100, 105, vals[105])
	}
}

// BenchmarkAwalk models bench_awalk: mas_empty_area_rev(0, 2000, 10) with
// [1470, 1475] freed, then mas_reset.
func BenchmarkAwalk(b *testing.B) {
	tr := benchTree2500(boxed(2500))
	tr.StoreRange(1470, 1475, nil)
	mas := tr.NewState(1470, 1470)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		if err := mas.EmptyAreaRev(0, 2000, 10); err != nil {
			b.Fatal(err)
		}
		mas.Reset()
	}
	if mas.Index() != 1470 {
		b.Fatal(mas.Index())
	}
}

// BenchmarkForEach models bench_mt_for_each: mt_for_each over 500 entries
// ([i, i+4] = value(i), i = 0, 5, ..., 2495); one op is the whole loop.
func BenchmarkForEach(b *testing.B) {
	vals := boxed(2500)
	tr := New(FlagAllocRange)
	for i := 0; i < 2500; i += 5 {
		tr.StoreRange(uint64(i), uint64(i+4), vals[i])
	}
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		j := uint64(0)
		idx := uint64(0)
		for e := tr.Find(&idx, 2500); e != nil; e = tr.FindAfter(&idx, 2500) {
			if e != vals[j] {
				b.Fatal(e)
			}
			j += 5
		}
		if j != 2500 {
			b.Fatal(j)
		}
	}
}

const mi = 1 << 20

// BenchmarkInsertAscending inserts 0, 1, 2, ... (a fresh tree every 1 Mi
// inserts); one op is one mtree_insert.
func BenchmarkInsertAscending(b *testing.B) {
	vals := boxed(256)
	tr := New(FlagAllocRange)
	i := uint64(0)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		if err := tr.Insert(i, vals[i&255]); err != nil {
			b.Fatal(err)
		}
		i++
		if i == mi {
			b.StopTimer()
			tr = New(FlagAllocRange)
			i = 0
			b.StartTimer()
		}
	}
}

// miTree builds a 1 Mi entry allocation tree (value at every index).
func miTree(vals []any) *Tree {
	tr := New(FlagAllocRange)
	for i := uint64(0); i < mi; i++ {
		tr.Insert(i, vals[i&255])
	}
	return tr
}

// randomOrder returns 0..n-1 shuffled.
func randomOrder(n int) []uint64 {
	r := rand.New(rand.NewPCG(1, 2))
	p := make([]uint64, n)
	for i := range p {
		p[i] = uint64(i)
	}
	r.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}

// BenchmarkLoadRandom loads random indices of a 1 Mi entry tree.
func BenchmarkLoadRandom(b *testing.B) {
	tr := miTree(boxed(256))
	order := randomOrder(mi)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	i := 0
	for b.Loop() {
		if tr.Load(order[i&(mi-1)]) == nil {
			b.Fatal("missing")
		}
		i++
	}
}

// BenchmarkErase erases every entry of a 1 Mi entry tree in random order
// (rebuilding it, untimed, when empty); one op is one mtree_erase.
func BenchmarkErase(b *testing.B) {
	vals := boxed(256)
	tr := miTree(vals)
	order := randomOrder(mi)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	i := 0
	for b.Loop() {
		if tr.Erase(order[i]) == nil {
			b.Fatal("missing")
		}
		i++
		if i == mi {
			b.StopTimer()
			tr = miTree(vals)
			i = 0
			b.StartTimer()
		}
	}
}

// The same range operations on github.com/google/btree (degree 32),
// keyed by range start, as a baseline.

type btRange struct {
	first, last uint64
	val         any
}

func btLess(a, b btRange) bool { return a.first < b.first }

// btLoad finds the range holding index.
func btLoad(t *btree.BTreeG[btRange], index uint64) any {
	var found any
	t.DescendLessOrEqual(btRange{first: index}, func(r btRange) bool {
		if r.last >= index {
			found = r.val
		}
		return false
	})
	return found
}

func btTree2500(vals []any) *btree.BTreeG[btRange] {
	t := btree.NewG(32, btLess)
	for i := 0; i < 2500; i += 10 {
		t.ReplaceOrInsert(btRange{uint64(i), uint64(i + 5), vals[i]})
	}
	return t
}

func BenchmarkBtreeLoad(b *testing.B) {
	t := btTree2500(boxed(2500))
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		if btLoad(t, 1470) == nil {
			b.Fatal("missing")
		}
	}
}

func BenchmarkBtreeInsertAscending(b *testing.B) {
	vals := boxed(256)
	t := btree.NewG(32, btLess)
	i := uint64(0)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		t.ReplaceOrInsert(btRange{i, i, vals[i&255]})
		i++
		if i == mi {
			b.StopTimer()
			t = btree.NewG(32, btLess)
			i = 0
			b.StartTimer()
		}
	}
}

func btMi(vals []any) *btree.BTreeG[btRange] {
	t := btree.NewG(32, btLess)
	for i := uint64(0); i < mi; i++ {
		t.ReplaceOrInsert(btRange{i, i, vals[i&255]})
	}
	return t
}

func BenchmarkBtreeLoadRandom(b *testing.B) {
	t := btMi(boxed(256))
	order := randomOrder(mi)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	i := 0
	for b.Loop() {
		if btLoad(t, order[i&(mi-1)]) == nil {
			b.Fatal("missing")
		}
		i++
	}
}

func BenchmarkBtreeErase(b *testing.B) {
	vals := boxed(256)
	t := btMi(vals)
	order := randomOrder(mi)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	i := 0
	for b.Loop() {
		if _, ok := t.Delete(btRange{first: order[i]}); !ok {
			b.Fatal("missing")
		}
		i++
		if i == mi {
			b.StopTimer()
			t = btMi(vals)
			i = 0
			b.StartTimer()
		}
	}
}

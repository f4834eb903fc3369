package mapletree

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
)

// erase2Row is one row of the table in traces/README-traces.md.
type erase2Row struct {
	name    string
	file    string
	flags   Flags
	entries int
	height  int
}

// readErase2Table parses the erase2 table of README-traces.md.
func readErase2Table(t *testing.T) []erase2Row {
	t.Helper()
	b, err := os.ReadFile(mapleData(t, "traces/README-traces.md"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []erase2Row
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| set") {
			continue
		}
		c := strings.Split(line, "|")
		if len(c) < 10 {
			continue
		}
		f := func(i int) string { return strings.TrimSpace(c[i]) }
		if !strings.HasPrefix(f(2), "erase2_set") {
			continue
		}
		var flags Flags
		if f(4) == "ALLOC_RANGE" {
			flags = FlagAllocRange
		}
		entries, err1 := strconv.Atoi(f(6))
		height, err2 := strconv.Atoi(f(8))
		if err1 != nil || err2 != nil {
			t.Fatalf("README-traces.md: bad row %q", line)
		}
		rows = append(rows, erase2Row{name: f(1), file: f(2), flags: flags, entries: entries, height: height})
	}
	if len(rows) != 43 {
		t.Fatalf("README-traces.md: %d erase2 rows, want 43", len(rows))
	}
	return rows
}

// countForEach counts entries as mt_for_each does.
func countForEach(tr *Tree) int {
	n := 0
	tr.ForEach(0, maxIndex, func(uint64, uint64, any) bool { n++; return true })
	return n
}

// countFind counts entries as mas_for_each does, skipping ZeroEntry.
func countFind(tr *Tree) int {
	mas := tr.NewState(0, 0)
	n := 0
	for e := mas.Find(maxIndex); e != nil; e = mas.Find(maxIndex) {
		if !isZero(e) {
			n++
		}
	}
	return n
}

// replayErase2 replays one erase2 set as check_erase2_testset does and
// returns the tree with the model.
func replayErase2(t *testing.T, row erase2Row) (*Tree, *refIntervals) {
	tr := New(row.flags)
	ref := &refIntervals{}
	for _, l := range readData(t, mapleData(t, "traces/"+row.file)) {
		if len(l.fields) != 3 {
			t.Fatalf("%s: want OP start end", l.where())
		}
		a, b := u64(t, l, l.fields[1]), u64(t, l, l.fields[2])
		switch l.fields[0] {
		case "STORE":
			if err := tr.StoreRange(a, b, a); err != nil {
				t.Fatalf("%s: store: %v", l.where(), err)
			}
			ref.store(a, b, a)
		case "SNULL":
			if err := tr.StoreRange(a, b, nil); err != nil {
				t.Fatalf("%s: store NULL: %v", l.where(), err)
			}
			ref.store(a, b, nil)
		case "ERASE":
			if tr.Load(a) == nil {
				break
			}
			if got := tr.Erase(a); got != a {
				t.Fatalf("%s: erase returned %v, want %d", l.where(), got, a)
			}
			ref.erase(a)
		default:
			t.Fatalf("%s: unknown op %q", l.where(), l.fields[0])
		}
		if err := tr.Validate(); err != nil {
			t.Fatalf("%s: %v\n%s", l.where(), err, tr)
		}
		want := ref.countEntries()
		if want != 0 && tr.Height() == 0 {
			t.Fatalf("%s: %d entries but height 0", l.where(), want)
		}
		if got := countForEach(tr); got != want {
			t.Fatalf("%s: mt_for_each counts %d entries, model %d\n%s", l.where(), got, want, diffContents(tr, ref))
		}
		if l.line%64 == 0 {
			if d := diffContents(tr, ref); d != "" {
				t.Fatalf("%s: tree differs from the model:\n%s", l.where(), d)
			}
		}
		if got := countFind(tr); got != want {
			t.Fatalf("%s: mas_for_each counts %d entries, model %d", l.where(), got, want)
		}
		if tr.Load(0) != nil {
			t.Fatalf("%s: load(0) = %v", l.where(), tr.Load(0))
		}
	}
	if d := diffContents(tr, ref); d != "" {
		t.Fatalf("%s: tree differs from the model:\n%s", row.file, d)
	}
	return tr, ref
}

// erase2PostCheck runs the set-specific checks after the replay (the code
// that follows each check_erase2_testset call in maple.c).
func erase2PostCheck(t *testing.T, name string, tr *Tree) {
	revLast := func(min, max, size, want uint64) {
		t.Helper()
		mas := tr.NewState(0, 0)
		if err := mas.EmptyAreaRev(min, max, size); err != nil {
			t.Fatalf("%s: empty_area_rev(%d, %d, %#x): %v", name, min, max, size, err)
		}
		if mas.Last() != want {
			t.Fatalf("%s: empty_area_rev(%d, %d, %#x): last %d, want %d", name, min, max, size, mas.Last(), want)
		}
	}
	loadNil := func(i uint64) {
		t.Helper()
		if e := tr.Load(i); e != nil {
			t.Fatalf("%s: load(%d) = %v, want NULL", name, i, e)
		}
	}
	switch name {
	case "set2":
		i := uint64(140735933894656)
		if e := tr.Find(&i, 140735933906943); e != nil {
			t.Fatalf("set2: mt_find = %v, want NULL", e)
		}
	case "set4":
		mas := tr.NewState(0, 0)
		for e := mas.Find(maxIndex); e != nil; e = mas.Find(maxIndex) {
		}
	case "set11":
		revLast(12288, 140014592737280, 0x2000, 140014592573439)
	case "set12":
		if n := countFind(tr); n > 12 {
			t.Fatalf("set12: %d entries, want at most 12", n)
		}
	case "set13":
		tr.Erase(140373516443648)
		mas := tr.NewState(0, 0)
		_ = mas.EmptyAreaRev(0, 140373518663680, 4096) // must not crash
		if err := tr.Validate(); err != nil {
			t.Fatalf("set13: %v", err)
		}
	case "set16":
		revLast(4096, 139921865637888, 0x6000, 139921865547775)
	case "set17":
		revLast(4096, 139953197334528, 0x1000, 139953197322239)
	case "set18":
		revLast(4096, 140222972858368, 2215936, 140222968475647)
	case "set19":
		mas := tr.NewState(140656779083776, 140656779083776)
		if e := mas.Find(maxIndex); e != uint64(140656779083776) {
			t.Fatalf("set19: mas_find = %v", e)
		}
		if e := mas.Prev(0); e != uint64(140656766251008) {
			t.Fatalf("set19: mas_prev = %v", e)
		}
	case "set20":
		loadNil(94849009414144)
	case "set22":
		if tr.Load(140551363362816) == tr.Load(140551363420159) {
			t.Fatalf("set22: both loads return %v", tr.Load(140551363362816))
		}
	case "set26":
		revLast(4096, 140109042671616, 409600, 140109040959487)
	case "set27":
		loadNil(140415537422336)
	case "set28":
		mas := tr.NewState(0, 0)
		if err := mas.EmptyAreaRev(4096, 139918413357056, 2097152); err != nil {
			t.Fatalf("set28: %v", err)
		}
		if got := (mas.Last() + 1 - 2097152) &^ 2093056; got != 139918401601536 {
			t.Fatalf("set28: aligned start %d", got)
		}
	case "set33":
		revLast(4096, 140583656296448, 134217728, 140583003750399)
	case "set37", "set38":
		loadNil(94637033459712)
	case "set42":
		revLast(4096, 4052029440, 28672, 4041211903)
	}
}

// checkExpected compares the final contents with expected/<set>.final.txt.
func checkExpected(t *testing.T, row erase2Row, tr *Tree) {
	name := strings.TrimSuffix(row.file, ".txt") + ".final.txt"
	lines := readData(t, mapleData(t, filepath.Join("traces", "expected", name)))
	got := treeIntervals(tr)
	if len(got) != len(lines) || len(got) != row.entries {
		t.Fatalf("%s: %d entries, expected file has %d, table says %d", row.file, len(got), len(lines), row.entries)
	}
	for i, l := range lines {
		first, last, v := u64(t, l, l.fields[0]), u64(t, l, l.fields[1]), u64(t, l, l.fields[2])
		if g := got[i]; g.first != first || g.last != last || g.val != v {
			t.Fatalf("%s: entry [%d,%d]=%v, want [%d,%d]=%d", l.where(), g.first, g.last, g.val, first, last, v)
		}
	}
}

// rawEntryValue is the raw pointer value the fuzzer traces store.
type rawEntryValue uint64

func (v rawEntryValue) String() string { return fmt.Sprintf("%#x", uint64(v)) }

// replayFuzzer replays one check_fuzzer scenario on a fresh flags-0 tree,
// comparing every return with the trace.
func replayFuzzer(t *testing.T, file string) *Tree {
	tr := New(0)
	for _, l := range readData(t, mapleData(t, "traces/"+file)) {
		f := l.fields
		arrow := -1
		for i, s := range f {
			if s == "->" {
				arrow = i
			}
		}
		if arrow < 0 || arrow+1 >= len(f) {
			t.Fatalf("%s: no expected value", l.where())
		}
		want := f[arrow+1]
		switch f[0] {
		case "INSERT", "STORE":
			a, b, p := u64(t, l, f[1]), u64(t, l, f[2]), u64(t, l, f[3])
			var err error
			if f[0] == "INSERT" {
				err = tr.InsertRange(a, b, rawEntryValue(p))
			} else {
				err = tr.StoreRange(a, b, rawEntryValue(p))
			}
			if got := -int64(errno.Of(err)); got != i64(t, l, want) {
				t.Fatalf("%s: %s returned %d (%v), want %s", l.where(), f[0], got, err, want)
			}
		case "ERASE", "LOAD":
			i := u64(t, l, f[1])
			var e any
			if f[0] == "ERASE" {
				e = tr.Erase(i)
			} else {
				e = tr.Load(i)
			}
			if got := fuzzerValue(e); got != want {
				t.Fatalf("%s: %s returned %s, want %s", l.where(), f[0], got, want)
			}
		default:
			t.Fatalf("%s: unknown op %q", l.where(), f[0])
		}
		if err := tr.Validate(); err != nil {
			t.Fatalf("%s: %v\n%s", l.where(), err, tr)
		}
	}
	return tr
}

func fuzzerValue(e any) string {
	if e == nil {
		return "NULL"
	}
	if v, ok := e.(rawEntryValue); ok {
		return v.String()
	}
	return fmt.Sprint(e)
}

// rcuPointer stands for the two pointers of check_erase_testset.
type rcuPointer struct{ name string }

// replayRCUSet replays erase_testset_rcu.txt in RCU mode and checks the
// structural assertion after re-inserting 1000: the root node was replaced
// (RCU) and is still a single leaf.
func replayRCUSet(t *testing.T) *Tree {
	tr := New(0)
	tr.SetRCU(true)
	ptrs := map[string]*rcuPointer{"P0": {"P0"}, "P1": {"P1"}}
	var rootBefore5017 *node
	checked := false
	for _, l := range readData(t, mapleData(t, "traces/erase_testset_rcu.txt")) {
		f := l.fields
		i := u64(t, l, f[1])
		switch f[0] {
		case "INSERT":
			if i == 5017 {
				rootBefore5017, _ = tr.loadRoot()
			}
			if err := tr.Insert(i, ptrs[f[2]]); err != nil || f[4] != "0" {
				t.Fatalf("%s: insert: %v (want %s)", l.where(), err, f[4])
			}
			if i == 1000 && !checked {
				checked = true
				root, _ := tr.loadRoot()
				if root == rootBefore5017 {
					t.Fatalf("%s: RCU mode kept the root node %p", l.where(), root)
				}
				if root == nil || !root.typ.isLeaf() {
					t.Fatalf("%s: root is not a single leaf after inserting 1000:\n%s", l.where(), tr)
				}
			}
		case "LOAD", "ERASE":
			var e any
			if f[0] == "LOAD" {
				e = tr.Load(i)
			} else {
				e = tr.Erase(i)
			}
			want := f[3]
			got := "NULL"
			if p, ok := e.(*rcuPointer); ok {
				got = p.name
			} else if e != nil {
				got = fmt.Sprint(e)
			}
			if got != want {
				t.Fatalf("%s: %s %d = %s, want %s", l.where(), f[0], i, got, want)
			}
		default:
			t.Fatalf("%s: unknown op %q", l.where(), f[0])
		}
		if err := tr.Validate(); err != nil {
			t.Fatalf("%s: %v", l.where(), err)
		}
	}
	if !checked {
		t.Fatal("erase_testset_rcu.txt: never re-inserted 1000")
	}
	return tr
}

// TestTraces replays all 53 traces: 43 erase2 VMA sets (validated, counted
// and compared with the model after every op, post-checks, final contents
// and final height against the C run), 9 fuzzer scenarios (every return
// value) and the RCU erase set (every result, plus its structural check).
func TestTraces(t *testing.T) {
	identical, heights, total := 0, 0, 0
	for _, row := range readErase2Table(t) {
		total++
		ok := t.Run(row.name, func(t *testing.T) {
			tr, _ := replayErase2(t, row)
			checkExpected(t, row, tr)
			if tr.Height() != row.height {
				t.Errorf("%s: height %d, C measured %d", row.file, tr.Height(), row.height)
			}
			erase2PostCheck(t, row.name, tr)
			if tr.preallocMisses != 0 {
				t.Errorf("%s: %d nodes taken beyond the preallocation", row.file, tr.preallocMisses)
			}
		})
		if ok {
			identical++
			heights++
		}
	}
	for i := 1; i <= 9; i++ {
		total++
		file := fmt.Sprintf("fuzzer_%d.txt", i)
		if t.Run(strings.TrimSuffix(file, ".txt"), func(t *testing.T) {
			tr := replayFuzzer(t, file)
			if tr.preallocMisses != 0 {
				t.Errorf("%s: %d nodes taken beyond the preallocation", file, tr.preallocMisses)
			}
		}) {
			identical++
		}
	}
	total++
	if t.Run("erase_testset_rcu", func(t *testing.T) { replayRCUSet(t) }) {
		identical++
	}
	t.Logf("maple traces: %d/%d identical, heights %d/%d (C-measured heights exist for the 43 erase2 sets; the fuzzer and RCU sets assert returns and structure)",
		identical, total, heights, 43)
}

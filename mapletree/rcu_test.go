package mapletree

import "testing"

// TestRCUSimulated ports check_rcu_simulated: a reader State and a writer
// interleave in one goroutine on an RCU tree. After each write the reader
// must see the new value: an exact fit is published in place, larger
// writes replace nodes, and a reader standing in a replaced node meets it
// dead and walks again.
func TestRCUSimulated(t *testing.T) {
	const nr, target = 1000, 4320
	val := "dead"
	tr := New(FlagAllocRange)
	tr.SetRCU(true)
	writer := tr.NewState(0, 0)
	fill := func() {
		for i := uint64(0); i <= nr; i++ {
			writer.SetRange(i*10, i*10+5)
			if err := writer.Store(i); err != nil {
				t.Fatal(err)
			}
		}
	}
	fill()
	reader := tr.NewState(target, target)
	orig := uint64(target / 10)
	for _, c := range []struct {
		name        string
		first, last uint64
		after       any // what the reader's walk must see after the write
	}{
		{"one entry", target, target + 5, val},
		{"first half of the entry", target, target + 2, val},
		{"last half of the entry", target + 2, target + 5, orig},
		{"more than the entry", target - 5, target + 15, val},
		{"more than the node", target - 400, target + 400, val},
		{"the whole tree", 0, maxIndex, val},
	} {
		writer.SetRange(c.first, c.last)
		reader.Reset()
		if e := reader.Walk(); e != orig {
			t.Fatalf("%s: walk before = %v", c.name, e)
		}
		if err := writer.Store(val); err != nil {
			t.Fatal(err)
		}
		if e := reader.Walk(); e != c.after {
			t.Fatalf("%s: walk after = %v, want %v", c.name, e, c.after)
		}
		if c.first == 0 && c.last == maxIndex {
			break
		}
		writer.SetRange(c.first, c.last)
		if err := writer.Store(orig); err != nil {
			t.Fatal(err)
		}
		if err := tr.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	// Clear out the tree and build it again.
	writer.SetRange(0, maxIndex)
	writer.Store(nil)
	fill()

	// next: the reader steps back, the writer replaces the entry's leaf,
	// the reader steps forward into the new value.
	writer.SetRange(target, target+5)
	reader.SetRange(target, target)
	if e := reader.Walk(); e != orig {
		t.Fatalf("walk = %v", e)
	}
	reader.Prev(0)
	writer.Store(val)
	if e := reader.Next(maxIndex); e != val {
		t.Fatalf("next after the write = %v", e)
	}
	writer.SetRange(target, target+5)
	writer.Store(orig)

	// prev: the same the other way round.
	writer.SetRange(target, target+5)
	reader.SetRange(target, target)
	if e := reader.Walk(); e != orig {
		t.Fatalf("walk = %v", e)
	}
	reader.Next(maxIndex)
	writer.Store(val)
	if e := reader.Prev(0); e != val {
		t.Fatalf("prev after the write = %v", e)
	}
	if err := tr.Validate(); err != nil {
		t.Fatal(err)
	}

	// A node store replaces the reader's leaf: the reader finds it dead,
	// walks again to the end of its range and carries on from there.
	writer.SetRange(target, target+5)
	writer.Store(orig)
	reader.SetRange(target, target)
	reader.Walk()
	leaf := reader.node
	writer.SetRange(target+1, target+2)
	writer.Store(val)
	if !leaf.dead() {
		t.Fatal("an RCU node store kept the old leaf alive")
	}
	if e := reader.Next(maxIndex); e != orig+1 || reader.Index() != target+10 {
		t.Fatalf("next from a dead leaf = %v at %d", e, reader.Index())
	}
}

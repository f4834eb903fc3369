package mapletree

import (
	"strings"
	"testing"
)

// dfsPreorder is the test helper mas_dfs_preorder of maple.c: step to the
// next node in depth-first pre-order; ma_none after the last.
func (mas *State) dfsPreorder() {
	if mas.isStart() {
		mas.start()
		return
	}
	var slot uint8
	if mas.node.typ.isLeaf() && mas.isRootNode() {
		mas.status = StatusNone
		return
	}
	for {
		end := mas.dataEnd()
		if mas.node.typ.isLeaf() || slot > end {
			if mas.isRootNode() {
				mas.status = StatusNone
				return
			}
			slot = mas.tree.parentSlot(mas.node) + 1
			mas.ascend()
			continue
		}
		prev := mas.node
		next := prev.child(slot)
		if next == nil {
			if mas.tree.isRoot(prev) {
				mas.status = StatusNone
				return
			}
			slot = mas.tree.parentSlot(prev) + 1
			mas.ascend()
			continue
		}
		mas.node = next
		max := prev.safePivot(slot, mas.max)
		mas.min = prev.safeMin(slot, mas.min)
		mas.max = max
		return
	}
}

// subtreeMaxRange is maple.c's mas_subtree_max_range: the widest range
// found by mas_for_each up to mas.max.
func (mas *State) subtreeMaxRange() {
	limit := mas.max
	best := mas.tree.NewState(0, 0)
	for e := mas.Find(limit); e != nil; e = mas.Find(limit) {
		if mas.last-mas.index >= best.last-best.index {
			best = *mas
		}
	}
	*mas = best
}

// buildFullTree is maple.c's build_full_tree: split the widest range of
// the first node with room until the tree is full at the given height.
func buildFullTree(t *testing.T, flags Flags, height int) *Tree {
	tr := New(flags)
	tr.InsertRange(0, maxIndex, uint64(5))
	mas := tr.NewState(0, 0)
	for {
		mas.Set(0)
		if tr.Height() < height {
			mas.max = maxIndex
		} else {
			found := false
			for {
				mas.dfsPreorder()
				if mas.isNone() {
					break
				}
				if mas.dataEnd()+1 < mas.node.typ.slots() {
					mas.Set(mas.min)
					found = true
					break
				}
			}
			if !found {
				break
			}
		}
		mas.subtreeMaxRange()
		step := mas.last - mas.index
		if step < 1 {
			t.Fatal("build_full_tree: no range left to split")
		}
		mas.last = mas.index + step/2
		if err := mas.Store(uint64(5)); err != nil {
			t.Fatal(err)
		}
	}
	if tr.Height() != height {
		t.Fatalf("build_full_tree: height %d, want %d", tr.Height(), height)
	}
	return tr
}

// TestBulkRebalance follows check_bulk_rebalance: erasing from the right
// of a full tree in bulk mode never takes the rebalance path, and the
// rebalance on Destroy leaves a valid tree.
func TestBulkRebalance(t *testing.T) {
	tr := buildFullTree(t, 0, 2)
	if err := tr.Validate(); err != nil {
		t.Fatal(err)
	}
	mas := tr.NewState(maxIndex, maxIndex)
	for {
		if err := mas.ExpectedEntries(10); err != nil {
			t.Fatal(err)
		}
		mas.Erase()
		if mas.storeType == wrRebalance {
			t.Fatal("bulk erase took wr_rebalance")
		}
		if mas.Prev(0) == nil {
			break
		}
	}
	mas.Destroy()
	if err := tr.Validate(); err != nil {
		t.Fatal(err)
	}
}

// onlyShortLastLeaf reports whether every problem Validate found is a node
// on the right edge holding fewer than mt_min_slots: bulk mode packs nodes
// full from the left and mas_destroy only fixes up the last leaf when it is
// two short.
func onlyShortLastLeaf(err error) bool {
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.Contains(line, ", 18446744073709551615]: invalid size") {
			return false
		}
	}
	return true
}

// TestBulkLoad loads ascending entries in bulk mode (mas_expected_entries,
// as dup_mmap did before __mt_dup) and checks the tree and its contents.
func TestBulkLoad(t *testing.T) {
	for _, flags := range []Flags{0, FlagAllocRange} {
		for n := uint64(1); n <= 260; n += 1 + n/8 {
			tr := New(flags)
			mas := tr.NewState(0, 0)
			if err := mas.ExpectedEntries(n); err != nil {
				t.Fatal(err)
			}
			for i := uint64(0); i < n; i++ {
				mas.SetRange(i*10, i*10+5)
				wr := newWrState(&mas, pack(i))
				wr.preallocSetup()
				mas.storeType = wr.storeType()
				wr.storeEntry()
			}
			mas.Destroy()
			// The right edge may stay short, as in the kernel (whose
			// check_dup does not validate afterwards).
			if err := tr.Validate(); err != nil && !onlyShortLastLeaf(err) {
				t.Fatalf("flags %v, %d entries: %v\n%s", flags, n, err, tr)
			}
			if tr.preallocMisses != 0 {
				t.Fatalf("flags %v, %d entries: %d nodes beyond the preallocation", flags, n, tr.preallocMisses)
			}
			for i := uint64(0); i < n; i++ {
				if tr.Load(i*10+3) != i || tr.Load(i*10+7) != nil {
					t.Fatalf("flags %v, %d entries: entry %d", flags, n, i)
				}
			}
		}
	}
}

func TestExpectedEntriesTooMany(t *testing.T) {
	tr := New(0)
	mas := tr.NewState(0, 0)
	if err := mas.ExpectedEntries(1 << 62); err == nil {
		t.Fatal("a bulk load of 2^62 entries was accepted")
	}
	if mas.allocated() != 0 {
		t.Fatal("nodes kept after a refused bulk load")
	}
}

package mapletree

import "testing"

// countNodes counts the nodes of the subtree at n (range ending at max).
func countNodes(n *node, max uint64) int {
	c := 1
	if n.typ.isLeaf() {
		return c
	}
	end := n.dataEnd(max)
	for i := uint8(0); i <= end; i++ {
		c += countNodes(n.child(i), n.safePivot(i, max))
	}
	return c
}

func treeNodes(tr *Tree) int {
	r, _ := tr.loadRoot()
	if r == nil {
		return 0
	}
	return countNodes(r, maxIndex)
}

// checkSeq models check_seq: insert value(i) at i for i = 0..max.
func checkSeq(t *testing.T, tr *Tree, max uint64) {
	t.Helper()
	for i := uint64(0); i <= max; i++ {
		if err := tr.Insert(i, i); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
		if i >= 1 && tr.Height() == 0 {
			t.Fatalf("height 0 after inserting %d", i)
		}
	}
}

// TestDFSNodeCounts checks maple.c:check_dfs_preorder's counts: 1001
// ascending singletons make 73 nodes in a plain tree and 76 in an
// allocation tree; descending insertion also makes 76.
func TestDFSNodeCounts(t *testing.T) {
	plain := New(0)
	checkSeq(t, plain, 1000)
	alloc := New(FlagAllocRange)
	checkSeq(t, alloc, 1000)
	rev := New(FlagAllocRange)
	for i := uint64(1000); i >= 1; i-- {
		if err := rev.Insert(i, i); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name          string
		tr            *Tree
		nodes, height int
	}{{"flags 0", plain, 73, 3}, {"alloc", alloc, 76, 3}, {"alloc reverse", rev, 76, 3}} {
		if got := treeNodes(c.tr); got != c.nodes {
			t.Errorf("%s: %d nodes, want %d", c.name, got, c.nodes)
		}
		if got := c.tr.Height(); got != c.height {
			t.Errorf("%s: height %d, want %d", c.name, got, c.height)
		}
		if err := c.tr.Validate(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// sameShape models maple.c's compare_tree for a duplicate: both trees have
// the same nodes, node by node (type, pivots, metadata, gaps, leaf
// entries), but no node is shared.
func sameShape(a, b *node) string {
	if a == b {
		return "a node is shared"
	}
	if a.typ != b.typ || a.pivot != b.pivot || a.meta != b.meta || a.gap != b.gap {
		return "node contents differ"
	}
	for i := uint8(0); i < a.typ.slots(); i++ {
		if a.typ.isLeaf() {
			if a.slots[i] != b.slots[i] {
				return "leaf entries differ"
			}
			continue
		}
		ca, cb := a.child(i), b.child(i)
		if (ca == nil) != (cb == nil) {
			return "child slots differ"
		}
		if ca != nil {
			if d := sameShape(ca, cb); d != "" {
				return d
			}
		}
	}
	return ""
}

// treesSameShape compares the roots of two trees with sameShape.
func treesSameShape(a, b *Tree) string {
	ra, ea := a.loadRoot()
	rb, eb := b.loadRoot()
	if (ra == nil) != (rb == nil) || ea != eb || a.Flags() != b.Flags() {
		return "roots differ"
	}
	if ra == nil {
		return ""
	}
	return sameShape(ra, rb)
}

package mmu

import (
	"encoding/binary"

	"github.com/arenasim/arenasim/internal/errno"
)

// entryRef locates one entry inside a table frame.
type entryRef struct {
	table *[PageSize]byte
	idx   int
	pa    uint64 // physical address of the entry
}

func (r entryRef) load() PTE { return PTE(binary.LittleEndian.Uint64(r.table[r.idx*8:])) }

func (r entryRef) store(v PTE) { binary.LittleEndian.PutUint64(r.table[r.idx*8:], uint64(v)) }

// visitor is one page-table operation driven by walkRange (the shape of
// gVisor's pagetables walker). walkRange finds the entries; the visitor
// decides what happens to them. Visitors embed a walkPolicy for the
// questions the walker asks.
type visitor interface {
	// stopAt is the level whose entries are visited (LevelPT for most).
	stopAt() Level
	// allocates reports whether a missing table is allocated to descend.
	allocates() bool
	// splits reports whether a large leaf only partly inside the range is
	// broken into a table of smaller leaves before descending.
	splits() bool
	// clears reports whether the operation can leave tables empty (the
	// walk then frees them under the FreeEmptyTables policy).
	clears() bool
	// leafHere reports whether a missing entry at level lvl, wholly inside
	// the range, should be visited to place a large leaf there.
	leafHere(va uint64, lvl Level) bool
	// visit handles one entry covering [va, last]: every entry at stopAt
	// (but empty ones only for a visitor that allocates), a large leaf
	// above it, or a missing one leafHere chose.
	visit(va, last uint64, r entryRef, lvl Level) error
}

// walkPolicy answers the walker's questions for a visitor that embeds it.
type walkPolicy struct {
	stop                  Level
	alloc, split, empties bool
}

func (p walkPolicy) stopAt() Level               { return p.stop }
func (p walkPolicy) allocates() bool             { return p.alloc }
func (p walkPolicy) splits() bool                { return p.split }
func (p walkPolicy) clears() bool                { return p.empties }
func (p walkPolicy) leafHere(uint64, Level) bool { return false }

// walkRange runs v over [start, last] (inclusive, so the range may end at
// the top of the address space). The range lies in one canonical half.
func (pt *PageTable) walkRange(start, last uint64, v visitor) error {
	return pt.walkTable(pt.root, pt.mode.Top(), start, last, v)
}

func (pt *PageTable) walkTable(table PFN, lvl Level, start, last uint64, v visitor) error {
	t := pt.pm.frame(table)
	if t == nil {
		return errno.Errorf(errno.EFAULT, "mmu: %s table at %v is beyond RAM", lvl, table)
	}
	mask := lvl.Size() - 1
	skipNone := !v.allocates() // nothing to do at an empty entry
	for va := start; ; {
		entLast := va | mask
		segLast := min(entLast, last)
		idx := lvl.Index(va)
		r := entryRef{table: t, idx: idx, pa: table.Addr() + uint64(idx)*8}
		if !skipNone || !r.load().None() {
			if err := pt.walkEntry(r, lvl, va, segLast, va&mask == 0 && segLast == entLast, v); err != nil {
				return err
			}
		}
		if segLast == last {
			return nil
		}
		va = segLast + 1
	}
}

// walkEntry handles the entry r at level lvl for the part [va, last] of the
// range that it covers; whole says the part is all of the entry's span.
func (pt *PageTable) walkEntry(r entryRef, lvl Level, va, last uint64, whole bool, v visitor) error {
	if lvl == v.stopAt() {
		return v.visit(va, last, r, lvl)
	}
	e := r.load()
	switch {
	case lvl.CanBeLeaf() && e.Huge():
		// A large leaf, present or not (a PROT_NONE one has P clear), as
		// pmd_leaf sees it.
		if whole || !v.splits() {
			return v.visit(va, last, r, lvl)
		}
		if err := pt.split(r, lvl, va); err != nil {
			return err
		}
	case !e.Present():
		if whole && v.leafHere(va, lvl) {
			return v.visit(va, last, r, lvl)
		}
		if !v.allocates() {
			return nil
		}
		if !e.None() {
			return errno.Errorf(errno.EBUSY, "mmu: bad %s 0x%x for 0x%x", lvl.EntryName(), uint64(e), va)
		}
		child, err := pt.allocTable(lvl-1, va)
		if err != nil {
			return err
		}
		pt.set(r, va, lvl, NewPTE(child, PageTableBits))
	}
	child := r.load().PFN()
	if err := pt.walkTable(child, lvl-1, va, last, v); err != nil {
		return err
	}
	if pt.freeEmpty && v.clears() && !(lvl == pt.mode.Top() && kernelHalf(va)) && pt.tableEmpty(child) {
		pt.clear(r, va, lvl)
		pt.freeTable(child, lvl-1)
	}
	return nil
}

// split replaces the large leaf at r by a table of 512 leaves one level
// down that map the same memory with the same attributes (the PAT bit
// moves from bit 12 to bit 7 when the new leaves are 4 KiB PTEs).
func (pt *PageTable) split(r entryRef, lvl Level, va uint64) error {
	e := r.load()
	child, err := pt.allocTable(lvl-1, va)
	if err != nil {
		return err
	}
	flags := e & protMask
	if lvl-1 == LevelPT {
		flags &^= PagePSE
		if e&PagePATLarge != 0 {
			flags |= PagePAT
		}
	} else {
		flags |= e & PagePATLarge
	}
	t := pt.pm.frame(child)
	base, step := e.LeafAddr(lvl), (lvl - 1).Size()
	for i := range PtrsPerTable {
		entryRef{table: t, idx: i}.store(PTE(base+uint64(i)*step) | flags)
	}
	pt.set(r, va&^(lvl.Size()-1), lvl, NewPTE(child, PageTableBits))
	return nil
}

// tableEmpty reports whether every entry of the table is none.
func (pt *PageTable) tableEmpty(table PFN) bool {
	t := pt.pm.peek(table)
	if t == nil {
		return true
	}
	for i := 0; i < PageSize; i += 8 {
		if binary.LittleEndian.Uint64(t[i:]) != 0 {
			return false
		}
	}
	return true
}

package mmu

import (
	"fmt"
	"iter"
	"math/bits"

	"github.com/arenasim/arenasim/internal/errno"
)

// DefaultTLBEntries is the size of a TLB unless told otherwise, near the
// 1536 entries of a recent Intel second-level TLB.
const DefaultTLBEntries = 1024

// tlbPerm holds the permission bits a TLB entry caches.
type tlbPerm uint8

const (
	permUser   tlbPerm = 1 << 0 // US at every level
	permWrite  tlbPerm = 1 << 1 // RW at every level
	permExec   tlbPerm = 1 << 2 // no XD on the path
	permDirty  tlbPerm = 1 << 3 // D was set in the leaf when cached
	permGlobal tlbPerm = 1 << 4 // G in the leaf and CR4.PGE: survives CR3 loads
	permValid  tlbPerm = 1 << 5 // the entry holds a translation

	tlbPermCombos = 1 << 6
)

// tlbEntry caches one 4 KiB translation. A 2 MiB or 1 GiB page is cached
// in 4 KiB pieces (as CPUs may "fracture" large pages); level remembers the
// page size so that INVLPG anywhere in the large page drops every piece.
type tlbEntry struct {
	key   uint64          // page address | PCID
	data  *[PageSize]byte // the frame's bytes
	pfn   PFN             // the 4 KiB frame
	perm  tlbPerm
	level Level
	pkey  uint8
}

func (e *tlbEntry) valid() bool  { return e.perm&permValid != 0 }
func (e *tlbEntry) va() uint64   { return e.key &^ pageOffsetMask }
func (e *tlbEntry) pcid() uint64 { return e.key & pageOffsetMask }

// TLBStats counts TLB events.
type TLBStats struct {
	Misses  uint64 // accesses that had to walk the page tables
	Fills   uint64 // translations cached
	Dropped uint64 // valid entries invalidated by INVLPG, flushes or evictions
}

// TLB is a translation lookaside buffer: successful translations cached
// with their permissions, tagged with the PCID. It is direct-mapped on the
// page number. Like hardware it is never told about page-table changes:
// software must INVLPG or flush, and until it does, stale entries are used.
//
// Simplification: one direct-mapped level instead of the L1/L2 TLBs and
// the paging-structure caches. Which entry is evicted differs from any
// real CPU; every architectural guarantee (what must be flushed, what a
// flush removes, what survives a CR3 load) holds.
//
// Several address spaces may share one TLB, as processes share a CPU's;
// they must then have the same paging mode and switch with a CR3 load.
type TLB struct {
	entries []tlbEntry
	mask    uint64
	large   int        // valid entries that are pieces of a 2 MiB or 1 GiB page
	mode    PagingMode // of the address spaces using it; 0 until the first
	stats   TLBStats
}

// NewTLB returns an empty TLB of n entries, n a power of two (0 means
// DefaultTLBEntries).
func NewTLB(n int) (*TLB, error) {
	if n == 0 {
		n = DefaultTLBEntries
	}
	if n < 0 || bits.OnesCount(uint(n)) != 1 {
		return nil, errno.Errorf(errno.EINVAL, "mmu: TLB size %d is not a power of two", n)
	}
	return &TLB{entries: make([]tlbEntry, n), mask: uint64(n - 1)}, nil
}

// Len returns the number of entries.
func (t *TLB) Len() int { return len(t.entries) }

// Stats returns the event counts.
func (t *TLB) Stats() TLBStats { return t.stats }

func (t *TLB) slot(va uint64) *tlbEntry { return &t.entries[(va>>PageShift)&t.mask] }

// lookup returns the entry translating va for pcid (a global entry matches
// any PCID), or nil.
func (t *TLB) lookup(va, pcid uint64) *tlbEntry {
	e := t.slot(va)
	page := va &^ pageOffsetMask
	if e.valid() && (e.key == page|pcid || (e.perm&permGlobal != 0 && e.va() == page)) {
		return e
	}
	return nil
}

// fill caches the translation of the 4 KiB page holding va to frame pfn
// (whose bytes are data), found in a leaf of level lvl with the rights
// perm, evicting what was there.
func (t *TLB) fill(va, pcid uint64, pfn PFN, data *[PageSize]byte, leaf PTE, lvl Level, perm tlbPerm) {
	e := t.slot(va)
	if e.valid() {
		if e.level > LevelPT {
			t.large--
		}
		t.stats.Dropped++
	}
	e.key, e.data, e.pfn = va&^pageOffsetMask|pcid, data, pfn
	e.perm, e.level, e.pkey = perm|permValid, lvl, leaf.Key()
	if lvl > LevelPT {
		t.large++
	}
	t.stats.Fills++
}

// drop invalidates e.
func (t *TLB) drop(e *tlbEntry) {
	if !e.valid() {
		return
	}
	if e.level > LevelPT {
		t.large--
	}
	*e = tlbEntry{}
	t.stats.Dropped++
}

// invalidatePage does what INVLPG does to the TLB (SDM 4.10.4.1): it drops
// the entries for the page holding va that belong to pcid or are global,
// including every piece of a large page containing va.
func (t *TLB) invalidatePage(va, pcid uint64) {
	match := func(e *tlbEntry) bool {
		return e.valid() && (e.pcid() == pcid || e.perm&permGlobal != 0)
	}
	if e := t.slot(va); match(e) && e.va() == va&^pageOffsetMask {
		t.drop(e)
	}
	if t.large == 0 {
		return
	}
	for i := range t.entries {
		e := &t.entries[i]
		if e.level > LevelPT && match(e) {
			mask := e.level.Size() - 1
			if e.va()&^mask == va&^mask {
				t.drop(e)
			}
		}
	}
}

// invalidateRange is invalidatePage for every page in [start, last].
func (t *TLB) invalidateRange(start, last, pcid uint64) {
	pages := (last-start)>>PageShift + 1
	if pages <= uint64(len(t.entries)) && t.large == 0 {
		for va := start &^ pageOffsetMask; ; va += PageSize {
			t.invalidatePage(va, pcid)
			if va >= last&^pageOffsetMask {
				return
			}
		}
	}
	// Cheaper to look at every entry once.
	for i := range t.entries {
		e := &t.entries[i]
		if !e.valid() || (e.pcid() != pcid && e.perm&permGlobal == 0) {
			continue
		}
		mask := e.level.Size() - 1
		if lo, hi := e.va()&^mask, e.va()|mask; hi >= start && lo <= last {
			t.drop(e)
		}
	}
}

// flushPCID drops the entries of pcid, keeping global ones if keepGlobal.
func (t *TLB) flushPCID(pcid uint64, keepGlobal bool) {
	for i := range t.entries {
		e := &t.entries[i]
		if e.valid() && e.pcid() == pcid && !(keepGlobal && e.perm&permGlobal != 0) {
			t.drop(e)
		}
	}
}

// flushAll drops every entry, global ones included.
func (t *TLB) flushAll() {
	for i := range t.entries {
		t.drop(&t.entries[i])
	}
}

// TLBEntry is a readable copy of one cached translation.
type TLBEntry struct {
	VA       uint64 // the 4 KiB page
	PCID     uint16
	PFN      PFN   // the 4 KiB frame
	PageSize Level // level of the leaf it came from
	User     bool
	Writable bool
	Exec     bool
	Dirty    bool
	Global   bool
	Key      uint8
}

// String prints the entry: "0x7f0000001000 -> pfn 0x123 4 KiB US|RW|D pcid 0".
func (e TLBEntry) String() string {
	flags := bitString(boolBits(e.User, e.Writable, e.Exec, e.Dirty, e.Global),
		[]bitName{{1, "US"}, {2, "RW"}, {4, "X"}, {8, "D"}, {16, "G"}})
	return fmt.Sprintf("0x%x -> %v %s %s pcid %d", e.VA, e.PFN, sizeName(e.PageSize.Size()), flags, e.PCID)
}

func boolBits(bs ...bool) uint64 {
	var v uint64
	for i, b := range bs {
		if b {
			v |= 1 << i
		}
	}
	return v
}

// Entries yields the valid entries in slot order.
func (t *TLB) Entries() iter.Seq[TLBEntry] {
	return func(yield func(TLBEntry) bool) {
		for i := range t.entries {
			if e := &t.entries[i]; e.valid() && !yield(e.export()) {
				return
			}
		}
	}
}

func (e *tlbEntry) export() TLBEntry {
	return TLBEntry{
		VA: e.va(), PCID: uint16(e.pcid()), PFN: e.pfn, PageSize: e.level,
		User: e.perm&permUser != 0, Writable: e.perm&permWrite != 0, Exec: e.perm&permExec != 0,
		Dirty: e.perm&permDirty != 0, Global: e.perm&permGlobal != 0, Key: e.pkey,
	}
}

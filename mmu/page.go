package mmu

import "strconv"

// Page is the descriptor of one physical frame, the part of struct page
// that arenasim needs.
type Page struct {
	// Refcount is page_ref_count(): 1 after allocation, raised by
	// GetPage, and the frame returns to the allocator when PutPage drops
	// it to 0.
	Refcount int32
	// Mapcount is page_mapcount(): how many user page-table entries map
	// the frame (the kernel stores it biased by -1 in _mapcount).
	Mapcount int32
	// Flags holds the page flag and page type bits below.
	Flags PageFlags
}

// PageFlags are the page flags and page types arenasim tracks. PG_reserved
// is a page flag; buddy and table are page types (page_type) in the kernel.
type PageFlags uint8

// Page flag and page-type bits.
const (
	PGReserved PageFlags = 1 << iota // PG_reserved: never handed out
	PGBuddy                          // PageBuddy: free, owned by the allocator
	PGTable                          // PageTable: holds a page table (pagetable_*_ctor)
)

// String prints the set flags, e.g. "table"; none prints "0".
func (f PageFlags) String() string {
	return bitString(uint64(f), []bitName{{uint64(PGReserved), "reserved"}, {uint64(PGBuddy), "buddy"}, {uint64(PGTable), "table"}})
}

// String prints the descriptor the way dump_page does, in short:
// "refcount:1 mapcount:0 flags:table".
func (p Page) String() string {
	return "refcount:" + strconv.Itoa(int(p.Refcount)) + " mapcount:" + strconv.Itoa(int(p.Mapcount)) +
		" flags:" + p.Flags.String()
}

package vmalloc

// vunmapRangeNoflush clears the kernel PTEs of [start, end) without a TLB
// flush (vunmap_range_noflush). Placeholder until the page table lands.
func (a *Allocator) vunmapRangeNoflush(start, end uint64) {}

// checkPageTable verifies the kernel page table against the areas.
// Placeholder until the page table lands.
func (a *Allocator) checkPageTable() error { return nil }

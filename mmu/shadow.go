package mmu

// tableShadow is the simulator's memo for one frame that the walker has
// read as a page table: for each of its entries, the value seen there last
// and where the frame that value names lives in host memory (with that
// frame's own shadow when the entry leads to another table).
//
// It is not a paging-structure cache: the walker still reads every entry
// of every level from simulated memory and checks it. The memo replaces
// only the host-side search for the next frame's bytes (PhysMem's host
// cache or directory), and only while the entry still holds the value it
// was made for. Frames never lose their host memory, so a memo whose value
// matches cannot point at the wrong bytes, however the tables change.
type tableShadow [PtrsPerTable]shadowEntry

// shadowEntry is the memo for one entry. The zero value matches no present
// entry, so it is always refilled before use.
type shadowEntry struct {
	e     PTE             // the entry value this memo is for
	frame *[PageSize]byte // host memory of the frame e names
	table *tableShadow    // that frame's shadow, when e leads to a table
}

// shadow returns the shadow of frame pfn, creating it the first time; nil
// beyond RAM.
func (m *PhysMem) shadow(pfn PFN) *tableShadow {
	c := m.chunk(pfn, true)
	if c == nil {
		return nil
	}
	s := c.shadows[pfn&(chunkFrames-1)]
	if s == nil {
		s = new(tableShadow)
		c.shadows[pfn&(chunkFrames-1)] = s
	}
	return s
}

// remember fills se for the present entry e: the host memory of the frame
// e names and, if table is set, the frame's shadow. A frame without host
// memory (never written, so it reads as zeros) is not remembered, nor is
// anything beyond RAM: remember reports false and the walk takes the
// general path, as it does until the frame has bytes of its own.
func (m *PhysMem) remember(se *shadowEntry, e PTE, table bool) bool {
	pfn := e.PFN()
	f := m.peek(pfn)
	if f == nil {
		return false
	}
	se.e, se.frame, se.table = e, f, nil
	if table {
		se.table = m.shadow(pfn)
	}
	return true
}

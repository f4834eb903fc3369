package mmu

// visitors holds one visitor of each kind that the page-table operations
// reuse, so that mapping, unmapping and looking up pages allocate nothing
// in steady state (a visitor handed to walkRange as an interface would
// otherwise escape to the heap on every call). A call that re-enters the
// page table while they are in use (from an Unmap callback, say) gets
// fresh ones.
type visitors struct {
	busy    bool
	mapV    mapVisitor
	unmapV  unmapVisitor
	findV   findVisitor
	tablesV preallocVisitor
}

// take marks the scratch visitors in use and reports whether they were
// free; the caller that got true must call release when it is done.
func (pt *PageTable) take() bool {
	if pt.scratch.busy {
		return false
	}
	pt.scratch.busy = true
	return true
}

// release clears the scratch visitors (so that they keep no caller's
// slice or callback alive) and frees them for the next operation.
func (pt *PageTable) release() { pt.scratch = visitors{} }

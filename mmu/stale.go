package mmu

import (
	"fmt"
	"strings"
)

// StaleEntry is a TLB entry that no longer agrees with the page tables.
type StaleEntry struct {
	Entry TLBEntry
	Now   WalkResult // a dry walk of the entry's address now
	Why   []string   // what differs
}

// String prints the entry and what differs.
func (s StaleEntry) String() string {
	return fmt.Sprintf("stale TLB entry %v: %s", s.Entry, strings.Join(s.Why, ", "))
}

// StaleTLBEntries is a debug check: it compares every TLB entry this
// address space can use (its PCID's and the global ones) with a dry walk
// of the tables now, and reports those that translate to another frame,
// allow more than the tables do (US, RW, execute), claim D or G the leaf
// no longer has, or carry another protection key. An entry that allows
// less than the tables is not stale: using it costs a walk, not
// correctness. A correct kernel flushes so that the list stays empty.
func (as *AddressSpace) StaleTLBEntries() []StaleEntry {
	// Only the paging entries matter here, not SMAP or protection keys.
	probe := as.ctl
	probe.smap, probe.pke, probe.pks = false, false, false
	var out []StaleEntry
	for i := range as.tlb.entries {
		e := &as.tlb.entries[i]
		if !e.valid() || (e.pcid() != as.ctl.pcid && e.perm&permGlobal == 0) {
			continue
		}
		x := e.export()
		now := WalkResult{VA: x.VA, Access: Read, Mode: probe.mode, CR3: as.regs.CR3}
		pa, leaf, _, perm, f := walk(as.pm, &probe, x.VA, Read, &now, false)
		now.Fault = f.at(x.VA)
		var why []string
		if now.Fault.Faulted() {
			why = append(why, "no longer mapped: "+now.Fault.String())
		} else {
			if PhysPFN(pa) != x.PFN {
				why = append(why, fmt.Sprintf("tables map %v", PhysPFN(pa)))
			}
			if x.User && perm&permUser == 0 {
				why = append(why, "US cleared")
			}
			if x.Writable && perm&permWrite == 0 {
				why = append(why, "RW cleared")
			}
			if x.Exec && perm&permExec == 0 {
				why = append(why, "NX set")
			}
			if x.Dirty && !leaf.Dirty() {
				why = append(why, "D cleared")
			}
			if x.Global && !leaf.Global() {
				why = append(why, "G cleared")
			}
			if x.Key != leaf.Key() {
				why = append(why, fmt.Sprintf("key %d now %d", x.Key, leaf.Key()))
			}
		}
		if len(why) > 0 {
			out = append(out, StaleEntry{Entry: x, Now: now, Why: why})
		}
	}
	return out
}

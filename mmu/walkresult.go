package mmu

import (
	"fmt"
	"strconv"
	"strings"
)

// WalkStep is one paging entry a walk read.
type WalkStep struct {
	Level     Level
	Index     int    // the entry's index in its table (9 bits of the address)
	EntryAddr uint64 // physical address of the entry
	Entry     PTE    // the value read, before any A/D update
	SetA      bool   // the walk set A in this entry (a dry run: would set)
	SetD      bool   // the walk set D in this leaf (a dry run: would set)
}

// WalkResult is a page walk a teacher can read: each entry read, then the
// physical address or the fault and why.
type WalkResult struct {
	VA     uint64
	Access Access
	Mode   PagingMode
	CR3    uint64

	steps [5]WalkStep
	n     int

	// Fault is the outcome; Fault.Faulted() is false on success.
	Fault Fault
	// Reserved holds the offending bits of a reserved-bit fault.
	Reserved PTE
	// PA and PageSize describe a successful translation.
	PA, PageSize uint64
	// User, Writable and Executable are the effective rights of the
	// paging entries (US and RW ANDed over the levels, XD ORed), and Key
	// the leaf's protection key; set when the walk reached a leaf.
	User, Writable, Executable bool
	Key                        uint8
}

// Steps returns the entries read, root first.
func (r *WalkResult) Steps() []WalkStep { return r.steps[:r.n] }

func (r *WalkResult) addStep(l Level, idx int, ea uint64, e PTE) {
	r.steps[r.n] = WalkStep{Level: l, Index: idx, EntryAddr: ea, Entry: e}
	r.n++
}

// describe says what an entry leads to.
func (s WalkStep) describe() string {
	switch {
	case !s.Entry.Present():
		return "not present"
	case s.Entry.IsLeaf(s.Level):
		return fmt.Sprintf("%s page 0x%x", sizeName(s.Level.Size()), s.Entry.LeafAddr(s.Level))
	}
	return fmt.Sprintf("%s 0x%x", s.Level-1, s.Entry.Addr())
}

func sizeName(size uint64) string {
	switch size {
	case PUDSize:
		return "1 GiB"
	case PMDSize:
		return "2 MiB"
	}
	return "4 KiB"
}

// String prints the walk over several lines:
//
//	walk 0xffffc90000201234 supervisor read, 4-level, CR3 0x100000
//	  PML4[402] @0x100c90 = 0x0000000000101067 P|RW|US|A|D -> PDPT 0x101000
//	  ...
//	  PT[1]     @0x103008 = 0x8000000000201163 P|RW|A|D|G|NX -> 4 KiB page 0x201000
//	  => PA 0x201234
func (r *WalkResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "walk 0x%x %v, %v, CR3 0x%x\n", r.VA, r.Access, r.Mode, r.CR3)
	for _, s := range r.Steps() {
		name := fmt.Sprintf("%s[%d]", s.Level, s.Index)
		fmt.Fprintf(&b, "  %-9s @0x%x = 0x%016x %s -> %s", name, s.EntryAddr, uint64(s.Entry), s.Entry.FlagsAt(s.Level), s.describe())
		switch {
		case s.SetA && s.SetD:
			b.WriteString(" (sets A, D)")
		case s.SetA:
			b.WriteString(" (sets A)")
		case s.SetD:
			b.WriteString(" (sets D)")
		}
		b.WriteByte('\n')
	}
	b.WriteString("  => ")
	b.WriteString(r.outcome())
	return b.String()
}

func (r *WalkResult) outcome() string {
	if !r.Fault.Faulted() {
		return "PA 0x" + strconv.FormatUint(r.PA, 16)
	}
	s := r.Fault.String()
	if r.Fault.Cause == CauseReserved {
		s += fmt.Sprintf(" (bits 0x%x)", uint64(r.Reserved))
	}
	return s
}

// Short prints the walk on one line, for traces:
// "PML4[402]=0x101067 PDPT[0]=0x102067 PD[1]=0x103067 PT[1]=0x8000000000201163 => PA 0x201234".
func (r *WalkResult) Short() string {
	var b strings.Builder
	for _, s := range r.Steps() {
		fmt.Fprintf(&b, "%s[%d]=0x%x ", s.Level, s.Index, uint64(s.Entry))
	}
	b.WriteString("=> ")
	b.WriteString(r.outcome())
	return b.String()
}

package mmu

import (
	"strconv"
	"strings"
)

// PTE is one 64-bit paging-structure entry at any level, laid out as the
// hardware reads it (SDM Vol.3A 4.5; Linux names in arch/x86/include/asm/pgtable_types.h):
//
//	 63  62..59 58..52   51..M  M-1..12   11..9  8  7   6 5  4   3   2  1  0
//	+--+------+-------+-------+---------+------+-+-----+-+-+---+---+--+--+-+
//	|NX| PKEY | SW    | rsvd  | address | SW   |G|PS/ |D|A|PCD|PWT|US|RW|P|
//	|  |(leaf)|57,58  | (0)   | (frame) | 9-11 | |PAT | | |   |   |  |  | |
//	+--+------+-------+-------+---------+------+-+-----+-+-+---+---+--+--+-+
//
// Bit 7 is PS (page size) in PDEs and PDPTEs, making them 2 MiB or 1 GiB
// leaves, and PAT in a 4 KiB PTE; a large leaf keeps its PAT bit at 12, so
// its address starts at bit 21 or 30. D, G and PKEY matter only in leaves.
// M is MAXPHYADDR; bits 51..M are reserved, and so is NX when EFER.NXE=0.
type PTE uint64

// Entry bits (_PAGE_* in pgtable_types.h).
const (
	PagePresent  PTE = 1 << 0  // _PAGE_PRESENT
	PageRW       PTE = 1 << 1  // _PAGE_RW
	PageUser     PTE = 1 << 2  // _PAGE_USER
	PagePWT      PTE = 1 << 3  // _PAGE_PWT
	PagePCD      PTE = 1 << 4  // _PAGE_PCD
	PageAccessed PTE = 1 << 5  // _PAGE_ACCESSED
	PageDirty    PTE = 1 << 6  // _PAGE_DIRTY
	PagePSE      PTE = 1 << 7  // _PAGE_PSE: PDE/PDPTE maps a 2 MiB / 1 GiB page
	PagePAT      PTE = 1 << 7  // _PAGE_PAT: the same bit in a 4 KiB PTE
	PageGlobal   PTE = 1 << 8  // _PAGE_GLOBAL
	PageSoftW1   PTE = 1 << 9  // _PAGE_SOFTW1 (_PAGE_SPECIAL)
	PageSoftW2   PTE = 1 << 10 // _PAGE_SOFTW2 (_PAGE_UFFD_WP)
	PageSoftW3   PTE = 1 << 11 // _PAGE_SOFTW3 (_PAGE_SOFT_DIRTY)
	PagePATLarge PTE = 1 << 12 // _PAGE_PAT_LARGE: PAT in a 2 MiB / 1 GiB leaf
	PageSoftW4   PTE = 1 << 57 // _PAGE_SOFTW4
	PageSoftW5   PTE = 1 << 58 // _PAGE_SOFTW5 (_PAGE_SAVED_DIRTY in a leaf)
	PageNX       PTE = 1 << 63 // _PAGE_NX

	PageSpecial    = PageSoftW1            // _PAGE_SPECIAL
	PageUffdWP     = PageSoftW2            // _PAGE_UFFD_WP
	PageSoftDirty  = PageSoftW3            // _PAGE_SOFT_DIRTY
	PageSavedDirty = PageSoftW5            // _PAGE_SAVED_DIRTY
	PageProtNone   = PageGlobal            // _PAGE_PROTNONE: meaning of bit 8 when P=0
	PagePKeyMask   = PTE(0xf) << pkeyShift // _PAGE_PKEY_MASK (bits 62..59)

	pkeyShift = 59
)

// Address masks. Linux sizes them by __PHYSICAL_MASK_SHIFT (52); the
// hardware additionally reserves bits 51..MAXPHYADDR, which the walker checks.
const (
	PTEPFNMask  PTE = 0x000ffffffffff000 // PTE_PFN_MASK: bits 51..12
	pmdPageMask PTE = 0x000fffffffe00000 // address of a 2 MiB leaf: bits 51..21
	pudPageMask PTE = 0x000fffffc0000000 // address of a 1 GiB leaf: bits 51..30
	maxPhysBits     = 52                 // __PHYSICAL_MASK_SHIFT
	largeRsvd2M PTE = 0x00000000001fe000 // bits 20..13 of a 2 MiB leaf
	largeRsvd1G PTE = 0x000000003fffe000 // bits 29..13 of a 1 GiB leaf
)

// Linux's composite protections for x86-64. PAGE_KERNEL and friends are
// these values masked with __default_kernel_pte_mask (which drops G under
// PTI) and ORed with the encryption bit under SME/TDX; arenasim models
// neither, so the masked values equal these.
const (
	// KernPGTable is _KERNPG_TABLE: an intermediate entry without US, as the
	// boot-time direct-map code writes them.
	KernPGTable = PagePresent | PageRW | PageAccessed | PageDirty
	// PageTableBits is _PAGE_TABLE (renamed because PageTable is the type):
	// what pgd/p4d/pud/pmd_populate write for every table the generic mm
	// code allocates, kernel tables included; the leaf decides the rights.
	PageTableBits = PagePresent | PageRW | PageUser | PageAccessed | PageDirty

	PageKernel            = PagePresent | PageRW | PageAccessed | PageNX | PageDirty | PageGlobal // __PAGE_KERNEL
	PageKernelExec        = PagePresent | PageRW | PageAccessed | PageDirty | PageGlobal          // __PAGE_KERNEL_EXEC
	PageKernelRO          = PagePresent | PageAccessed | PageNX | PageGlobal                      // __PAGE_KERNEL_RO
	PageKernelROX         = PagePresent | PageAccessed | PageGlobal                               // __PAGE_KERNEL_ROX
	PageKernelLarge       = PageKernel | PagePSE                                                  // __PAGE_KERNEL_LARGE
	PageNone              = PageAccessed | PageProtNone                                           // PAGE_NONE
	PageShared            = PagePresent | PageRW | PageUser | PageAccessed | PageNX               // PAGE_SHARED
	PageSharedExec        = PagePresent | PageRW | PageUser | PageAccessed                        // PAGE_SHARED_EXEC
	PageCopy              = PagePresent | PageUser | PageAccessed | PageNX                        // PAGE_COPY
	PageReadonly          = PagePresent | PageUser | PageAccessed | PageNX                        // PAGE_READONLY
	PageReadonlyExec      = PagePresent | PageUser | PageAccessed                                 // PAGE_READONLY_EXEC
	pageDirtyBits         = PageDirty | PageSavedDirty                                            // _PAGE_DIRTY_BITS
	commonPageChgMask     = PTEPFNMask | PagePCD | PagePWT | PageSpecial | PageAccessed | pageDirtyBits | PageSoftDirty | PageSoftW4 | PageUffdWP
	PageChgMask           = commonPageChgMask | PagePAT                // _PAGE_CHG_MASK: bits pte_modify keeps
	HPageChgMask          = commonPageChgMask | PagePSE | PagePATLarge // _HPAGE_CHG_MASK: the same for large leaves
	protMask          PTE = ^PTEPFNMask                                // the non-address bits of an entry
)

// NewPTE returns the entry mapping frame pfn with protection prot (pfn_pte).
func NewPTE(pfn PFN, prot PTE) PTE { return PTE(pfn.Addr())&PTEPFNMask | prot&protMask }

// None reports whether the entry is all zero (pte_none): nothing mapped, no
// swap entry, no PROT_NONE marker.
func (e PTE) None() bool { return e == 0 }

// Present reports whether P is set.
func (e PTE) Present() bool { return e&PagePresent != 0 }

// Writable reports whether RW is set.
func (e PTE) Writable() bool { return e&PageRW != 0 }

// User reports whether US is set.
func (e PTE) User() bool { return e&PageUser != 0 }

// Accessed reports whether A is set.
func (e PTE) Accessed() bool { return e&PageAccessed != 0 }

// Dirty reports whether D is set.
func (e PTE) Dirty() bool { return e&PageDirty != 0 }

// Huge reports whether PS is set (meaningful in PDEs and PDPTEs only).
func (e PTE) Huge() bool { return e&PagePSE != 0 }

// Global reports whether G is set.
func (e PTE) Global() bool { return e&PageGlobal != 0 }

// NX reports whether the execute-disable bit is set.
func (e PTE) NX() bool { return e&PageNX != 0 }

// Key returns the protection key (bits 62..59).
func (e PTE) Key() uint8 { return uint8(e >> pkeyShift & 0xf) }

// Addr returns the address field, bits 51..12: the next table, or the frame
// of a 4 KiB leaf.
func (e PTE) Addr() uint64 { return uint64(e & PTEPFNMask) }

// PFN returns the frame the address field names.
func (e PTE) PFN() PFN { return PFN(e.Addr() >> PageShift) }

// LeafAddr returns the base of the page a leaf at level l maps: the address
// field cut to the page size (PAT_LARGE and the reserved low bits of a large
// leaf are not part of it).
func (e PTE) LeafAddr(l Level) uint64 {
	switch l {
	case LevelPD:
		return uint64(e & pmdPageMask)
	case LevelPDPT:
		return uint64(e & pudPageMask)
	}
	return e.Addr()
}

// IsLeaf reports whether a present entry at level l maps a page rather than
// pointing at a table.
func (e PTE) IsLeaf(l Level) bool {
	return l == LevelPT || (l.CanBeLeaf() && e.Huge())
}

// pteFlagNames lists the named bits in print order.
var pteFlagNames = [...]struct {
	bit  PTE
	name string
}{
	{PagePresent, "P"}, {PageRW, "RW"}, {PageUser, "US"}, {PagePWT, "PWT"}, {PagePCD, "PCD"},
	{PageAccessed, "A"}, {PageDirty, "D"}, {PagePSE, "PS"}, {PageGlobal, "G"},
	{PageSoftW1, "SW1"}, {PageSoftW2, "SW2"}, {PageSoftW3, "SW3"},
	{PageSoftW4, "SW4"}, {PageSoftW5, "SW5"},
}

// Flags prints the entry's flag bits the kernel way, "P|RW|US|A|D|NX", with
// bit 7 as PS; a protection key is printed as "PK=n". A zero entry prints
// "none".
func (e PTE) Flags() string { return e.flags(0) }

// FlagsAt prints the flags as they read at level l: bit 7 is PAT in a 4 KiB
// PTE, and bit 12 is PAT in a 2 MiB or 1 GiB leaf.
func (e PTE) FlagsAt(l Level) string { return e.flags(l) }

func (e PTE) flags(l Level) string {
	if e == 0 {
		return "none"
	}
	var b strings.Builder
	add := func(s string) {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString(s)
	}
	for _, f := range pteFlagNames {
		if e&f.bit == 0 {
			continue
		}
		switch {
		case f.bit == PagePSE && l == LevelPT:
			add("PAT")
		default:
			add(f.name)
		}
	}
	if l != LevelPT && l.CanBeLeaf() && e.Huge() && e&PagePATLarge != 0 {
		add("PAT")
	}
	if k := e.Key(); k != 0 {
		add("PK=" + strconv.Itoa(int(k)))
	}
	if e.NX() {
		add("NX")
	}
	if b.Len() == 0 {
		add("0")
	}
	return b.String()
}

// String prints the flags and, when the address field is not zero, the
// address: "P|RW|A|D|G|NX 0x201000".
func (e PTE) String() string {
	s := e.Flags()
	if a := e.Addr(); a != 0 {
		s += " 0x" + strconv.FormatUint(a, 16)
	}
	return s
}

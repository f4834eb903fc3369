package mmu

import "strconv"

// Page geometry of x86-64 with 4 KiB base pages (arch/x86/include/asm/page_types.h,
// pgtable_64_types.h).
const (
	PageShift    = 12
	PageSize     = 1 << PageShift // 4 KiB
	PMDShift     = 21
	PMDSize      = 1 << PMDShift // 2 MiB: one PD entry
	PUDShift     = 30
	PUDSize      = 1 << PUDShift // 1 GiB: one PDPT entry
	P4DShift     = 39
	PtrsPerTable = 512 // PTRS_PER_PTE, PTRS_PER_PMD, PTRS_PER_PUD, PTRS_PER_P4D, PTRS_PER_PGD

	pageOffsetMask = PageSize - 1
)

// Level names a paging level by the table it indexes, counting up from the
// leaf: level 1 holds PTEs, level 4 is the PML4, level 5 the PML5 of LA57.
// Linux calls them pte, pmd, pud, p4d and pgd; in 4-level paging the p4d is
// folded into the pgd.
type Level uint8

// The paging levels.
const (
	LevelPT   Level = 1 // page table: PTEs, 4 KiB each (Linux pte)
	LevelPD   Level = 2 // page directory: PDEs, 2 MiB each (Linux pmd)
	LevelPDPT Level = 3 // page-directory-pointer table: PDPTEs, 1 GiB each (Linux pud)
	LevelPML4 Level = 4 // PML4: 512 GiB each (Linux p4d, or pgd in 4-level)
	LevelPML5 Level = 5 // PML5 (LA57 only): 256 TiB each (Linux pgd)
)

var levelNames = [...]string{"L0", "PT", "PD", "PDPT", "PML4", "PML5"}

// String returns the Intel name of the table: "PT", "PD", "PDPT", "PML4", "PML5".
func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return "L" + strconv.Itoa(int(l))
}

// EntryName returns the Intel name of an entry at this level: "PTE", "PDE",
// "PDPTE", "PML4E", "PML5E".
func (l Level) EntryName() string {
	if l == LevelPT {
		return "PTE"
	}
	return l.String() + "E"
}

// LinuxName returns the kernel's name for this level under the given paging
// mode: pte, pmd, pud, then p4d and pgd (pgd alone in 4-level paging).
func (l Level) LinuxName(m PagingMode) string {
	switch {
	case l == LevelPT:
		return "pte"
	case l == LevelPD:
		return "pmd"
	case l == LevelPDPT:
		return "pud"
	case l == m.Top():
		return "pgd"
	case l == LevelPML4:
		return "p4d"
	}
	return l.String()
}

// Shift is the number of low virtual-address bits below this level's index.
func (l Level) Shift() uint { return PageShift + 9*(uint(l)-1) }

// Size is the number of bytes one entry of this level maps.
func (l Level) Size() uint64 { return 1 << l.Shift() }

// Index returns the 9-bit index of va's entry in a table of this level.
func (l Level) Index(va uint64) int { return int(va>>l.Shift()) & (PtrsPerTable - 1) }

// CanBeLeaf reports whether an entry of this level may map a page: PTEs
// always, PDEs and PDPTEs when PS is set (2 MiB and 1 GiB pages).
func (l Level) CanBeLeaf() bool { return l <= LevelPDPT }

// PagingMode is the number of paging levels: 4 (48-bit virtual addresses) or
// 5 (CR4.LA57, 57-bit virtual addresses).
type PagingMode uint8

// The two IA-32e paging modes.
const (
	FourLevel PagingMode = 4
	FiveLevel PagingMode = 5
)

func (m PagingMode) String() string { return strconv.Itoa(int(m)) + "-level" }

// Valid reports whether m is FourLevel or FiveLevel.
func (m PagingMode) Valid() bool { return m == FourLevel || m == FiveLevel }

// Top returns the level the root table (CR3) indexes.
func (m PagingMode) Top() Level { return Level(m) }

// VABits is the width of a virtual address: 48 or 57.
func (m PagingMode) VABits() uint { return 9*uint(m) + PageShift }

// Canonical reports whether va is canonical: bits 63 down to the top
// implemented bit (47 or 56) all equal (SDM Vol.1 3.3.7.1).
func (m PagingMode) Canonical(va uint64) bool {
	s := 64 - m.VABits()
	return uint64(int64(va<<s)>>s) == va
}

// TaskSizeMax models TASK_SIZE_MAX: the end of the user half minus one
// guard page, (1<<47)-4096 or (1<<56)-4096.
func (m PagingMode) TaskSizeMax() uint64 { return 1<<(m.VABits()-1) - PageSize }

// kernelHalf reports whether va lies in the upper (kernel) canonical half.
func kernelHalf(va uint64) bool { return va>>63 != 0 }

// PFN is a physical frame number: a physical address shifted right by
// PageShift.
type PFN uint64

// Addr returns the physical address of the frame's first byte (PFN_PHYS).
func (p PFN) Addr() uint64 { return uint64(p) << PageShift }

// String prints the frame number in hex, as the kernel's pfn fields do.
func (p PFN) String() string { return "pfn 0x" + strconv.FormatUint(uint64(p), 16) }

// PhysPFN returns the frame holding physical address pa (PHYS_PFN).
func PhysPFN(pa uint64) PFN { return PFN(pa >> PageShift) }

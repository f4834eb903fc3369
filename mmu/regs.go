package mmu

import (
	"strconv"
	"strings"
)

// CR0 is control register 0 (bits in arch/x86/include/uapi/asm/processor-flags.h).
type CR0 uint64

// CR0 bits.
const (
	CR0PE CR0 = 1 << 0  // X86_CR0_PE: protected mode
	CR0MP CR0 = 1 << 1  // X86_CR0_MP
	CR0ET CR0 = 1 << 4  // X86_CR0_ET
	CR0NE CR0 = 1 << 5  // X86_CR0_NE
	CR0WP CR0 = 1 << 16 // X86_CR0_WP: supervisor writes honour R/W
	CR0AM CR0 = 1 << 18 // X86_CR0_AM
	CR0PG CR0 = 1 << 31 // X86_CR0_PG: paging
)

// CR4 is control register 4.
type CR4 uint64

// CR4 bits.
const (
	CR4PSE   CR4 = 1 << 4  // X86_CR4_PSE
	CR4PAE   CR4 = 1 << 5  // X86_CR4_PAE
	CR4PGE   CR4 = 1 << 7  // X86_CR4_PGE: global pages
	CR4LA57  CR4 = 1 << 12 // X86_CR4_LA57: 5-level paging
	CR4PCIDE CR4 = 1 << 17 // X86_CR4_PCIDE: process-context identifiers
	CR4SMEP  CR4 = 1 << 20 // X86_CR4_SMEP: no supervisor fetch from user pages
	CR4SMAP  CR4 = 1 << 21 // X86_CR4_SMAP: no supervisor data access to user pages unless AC
	CR4PKE   CR4 = 1 << 22 // X86_CR4_PKE: protection keys for user pages
	CR4CET   CR4 = 1 << 23 // X86_CR4_CET
	CR4PKS   CR4 = 1 << 24 // X86_CR4_PKS: protection keys for supervisor pages
)

// EFER is the extended feature enable MSR (arch/x86/include/asm/msr-index.h).
type EFER uint64

// EFER bits.
const (
	EFERSCE EFER = 1 << 0  // EFER_SCE
	EFERLME EFER = 1 << 8  // EFER_LME: long mode enable
	EFERLMA EFER = 1 << 10 // EFER_LMA: long mode active
	EFERNX  EFER = 1 << 11 // EFER_NX: the NXE bit; without it bit 63 of an entry is reserved
)

// RFLAGS is the flags register; only AC matters to paging.
type RFLAGS uint64

// RFLAGSAC is X86_EFLAGS_AC: lets explicit supervisor accesses reach user
// pages under SMAP (stac/clac set and clear it).
const RFLAGSAC RFLAGS = 1 << 18

// CR3 layout: bits 51..12 the root table, bits 11..0 the PCID when
// CR4.PCIDE=1, and bit 63 of a value moved to CR3 asks not to flush.
const (
	CR3AddrMask = uint64(PTEPFNMask)
	CR3PCIDMask = 0xfff
	CR3NoFlush  = 1 << 63 // X86_CR3_PCID_NOFLUSH
)

type bitName struct {
	bit  uint64
	name string
}

// bitString prints the names whose bits are all set in v, joined by "|" in
// table order (so a composite listed first wins), and leftovers in hex.
func bitString(v uint64, names []bitName) string {
	var parts []string
	for _, n := range names {
		if n.bit != 0 && v&n.bit == n.bit {
			parts = append(parts, n.name)
			v &^= n.bit
		}
	}
	if v != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(v, 16))
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "|")
}

var cr0Names = []bitName{{1 << 0, "PE"}, {1 << 1, "MP"}, {1 << 4, "ET"}, {1 << 5, "NE"}, {1 << 16, "WP"}, {1 << 18, "AM"}, {1 << 31, "PG"}}

var cr4Names = []bitName{{1 << 4, "PSE"}, {1 << 5, "PAE"}, {1 << 7, "PGE"}, {1 << 12, "LA57"}, {1 << 17, "PCIDE"},
	{1 << 20, "SMEP"}, {1 << 21, "SMAP"}, {1 << 22, "PKE"}, {1 << 23, "CET"}, {1 << 24, "PKS"}}

var eferNames = []bitName{{1 << 0, "SCE"}, {1 << 8, "LME"}, {1 << 10, "LMA"}, {1 << 11, "NXE"}}

func (c CR0) String() string    { return bitString(uint64(c), cr0Names) }
func (c CR4) String() string    { return bitString(uint64(c), cr4Names) }
func (e EFER) String() string   { return bitString(uint64(e), eferNames) }
func (r RFLAGS) String() string { return bitString(uint64(r), []bitName{{1 << 18, "AC"}}) }

// Regs are the CPU registers the MMU consults. CR3 is set from the page
// table; CR2 receives the address of the last #PF.
type Regs struct {
	CR0    CR0
	CR2    uint64
	CR3    uint64
	CR4    CR4
	EFER   EFER
	RFLAGS RFLAGS
	PKRU   uint32 // user-page key rights: bit 2k = AD (access disable), bit 2k+1 = WD (write disable)
	PKRS   uint32 // the IA32_PKRS MSR: the same for supervisor pages
}

// DefaultRegs returns the registers of a Linux x86-64 kernel running on a
// CPU with NX, SMEP and SMAP, PCIDs unused, as the test cases of the spec
// assume: CR0 = PE|MP|ET|NE|WP|AM|PG, CR4 = PAE|PGE|SMEP|SMAP (+LA57),
// EFER = SCE|LME|LMA|NXE, AC clear, PKRU/PKRS zero.
func DefaultRegs(m PagingMode) Regs {
	r := Regs{
		CR0:  CR0PE | CR0MP | CR0ET | CR0NE | CR0WP | CR0AM | CR0PG,
		CR4:  CR4PAE | CR4PGE | CR4SMEP | CR4SMAP,
		EFER: EFERSCE | EFERLME | EFERLMA | EFERNX,
	}
	if m == FiveLevel {
		r.CR4 |= CR4LA57
	}
	return r
}

// String prints the registers on one line.
func (r Regs) String() string {
	return "CR0=" + r.CR0.String() + " CR3=0x" + strconv.FormatUint(r.CR3, 16) + " CR4=" + r.CR4.String() +
		" EFER=" + r.EFER.String() + " AC=" + strconv.FormatBool(r.RFLAGS&RFLAGSAC != 0) +
		" PKRU=0x" + strconv.FormatUint(uint64(r.PKRU), 16) + " PKRS=0x" + strconv.FormatUint(uint64(r.PKRS), 16)
}

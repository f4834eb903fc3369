package vmalloc

import (
	"fmt"

	"github.com/arenasim/arenasim/internal/errno"
)

// Page geometry of x86-64 (arch/x86/include/asm/page_types.h and
// pgtable_64_types.h). Only 4 KiB base pages exist in this model.
const (
	PageShift = 12
	PageSize  = 1 << PageShift
	PMDShift  = 21
	PUDShift  = 30
	P4DShift  = 39
	PMDSize   = 1 << PMDShift
	PUDSize   = 1 << PUDShift
	P4DSize   = 1 << P4DShift

	// PgdirShiftL4 and PgdirShiftL5 are PGDIR_SHIFT with 4- and 5-level
	// paging: with 4 levels the p4d level is folded into the pgd.
	PgdirShiftL4 = 39
	PgdirShiftL5 = 48
)

// The vmalloc window of arch/x86/include/asm/pgtable_64_types.h, without
// KASLR (CONFIG_RANDOMIZE_MEMORY moves VMALLOC_START in 1 GiB steps).
const (
	VmallocBaseL4   = 0xffffc90000000000 // __VMALLOC_BASE_L4
	VmallocBaseL5   = 0xffa0000000000000 // __VMALLOC_BASE_L5
	VmallocSizeTBL4 = 32                 // VMALLOC_SIZE_TB_L4: 32 TiB
	VmallocSizeTBL5 = 12800              // VMALLOC_SIZE_TB_L5: 12.5 PiB
)

// ULongMax is ULONG_MAX on a 64-bit kernel.
const ULongMax = ^uint64(0)

// Layout is the part of the x86-64 kernel address-space layout that vmalloc
// needs: the paging depth and the vmalloc window.
//
// VmallocEnd is inclusive, exactly as the kernel defines VMALLOC_END
// (VMALLOC_START + size - 1). Because an area must end at or below
// VmallocEnd and areas are page multiples, the window's last page can never
// be allocated.
type Layout struct {
	Levels       int    // 4 or 5 (LA57)
	VmallocStart uint64 // VMALLOC_START (vmalloc_base)
	VmallocEnd   uint64 // VMALLOC_END, inclusive
}

// Layout4 is the unrandomised 4-level layout: 32 TiB from 0xffffc90000000000.
var Layout4 = Layout{Levels: 4, VmallocStart: VmallocBaseL4, VmallocEnd: VmallocBaseL4 + VmallocSizeTBL4<<40 - 1}

// Layout5 is the unrandomised 5-level layout: 12.5 PiB from 0xffa0000000000000.
var Layout5 = Layout{Levels: 5, VmallocStart: VmallocBaseL5, VmallocEnd: VmallocBaseL5 + VmallocSizeTBL5<<40 - 1}

// NewLayout returns the layout for the given paging depth with vmalloc_base
// at base (0 means the unrandomised default). The base must be 1 GiB aligned
// (KASLR's step) and the window must lie in the canonical upper half.
func NewLayout(levels int, base uint64) (Layout, error) {
	var l Layout
	switch levels {
	case 4:
		l = Layout4
	case 5:
		l = Layout5
	default:
		return Layout{}, errno.Errorf(errno.EINVAL, "vmalloc: %d paging levels (want 4 or 5)", levels)
	}
	if base == 0 {
		return l, nil
	}
	size := l.VmallocEnd - l.VmallocStart + 1
	if base%PUDSize != 0 {
		return Layout{}, errno.Errorf(errno.EINVAL, "vmalloc: base %#x is not 1 GiB aligned", base)
	}
	lowest := uint64(0xffff800000000000) // lowest canonical upper-half address, 48-bit
	if levels == 5 {
		lowest = 0xff00000000000000
	}
	if base < lowest || base+size-1 < base {
		return Layout{}, errno.Errorf(errno.EINVAL, "vmalloc: window at %#x does not fit the canonical upper half", base)
	}
	l.VmallocStart, l.VmallocEnd = base, base+size-1
	return l, nil
}

// VmemoryEnd is VMEMORY_END: the end (inclusive) of the range whose top-level
// page tables are preallocated at boot. Without KMSAN it equals VmallocEnd.
func (l Layout) VmemoryEnd() uint64 { return l.VmallocEnd }

// PgdirShift returns PGDIR_SHIFT for the paging depth.
func (l Layout) PgdirShift() uint {
	if l.Levels == 5 {
		return PgdirShiftL5
	}
	return PgdirShiftL4
}

// IsVmallocAddr reports whether addr lies in [VMALLOC_START, VMALLOC_END).
// Models is_vmalloc_addr in include/linux/mm.h: the byte VMALLOC_END itself
// is outside.
func (l Layout) IsVmallocAddr(addr uint64) bool {
	return addr >= l.VmallocStart && addr < l.VmallocEnd
}

// String prints the window the way Documentation/arch/x86/x86_64/mm.rst does.
func (l Layout) String() string {
	return fmt.Sprintf("%d-level vmalloc %016x-%016x", l.Levels, l.VmallocStart, l.VmallocEnd)
}

// pageAligned reports whether x is a multiple of PageSize.
func pageAligned(x uint64) bool { return x&(PageSize-1) == 0 }

// alignUp is the kernel's ALIGN(x, a) for a power-of-two a; like the C macro
// it wraps around on overflow, and callers check for that.
func alignUp(x, a uint64) uint64 { return (x + a - 1) &^ (a - 1) }

// isPowerOf2 is is_power_of_2: zero is not a power of two.
func isPowerOf2(x uint64) bool { return x != 0 && x&(x-1) == 0 }

package mmu

import (
	"encoding/binary"
	"strconv"
)

// Load reads size bytes (1, 2, 4 or 8; any of 1..8 works) at va,
// little-endian, as a data read (or an instruction fetch if acc has Fetch)
// with the privilege in acc; a Write bit in acc is ignored. An access that
// crosses a page boundary needs both pages to translate. The result is the
// value, or the fault that stopped the access. size outside 1..8 is a
// programming error and panics.
func (as *AddressSpace) Load(va uint64, size int, acc Access) (uint64, Fault) {
	acc &^= Write
	off := va & pageOffsetMask
	if uint(size)-1 >= 8 || off+uint64(size) > PageSize {
		return as.loadSplit(va, size, acc)
	}
	e := &as.tlb.entries[(va>>PageShift)&as.tlb.mask]
	if e.key == va&^pageOffsetMask|as.ctl.pcid && as.ctl.fast[e.perm]&(1<<acc) != 0 {
		return loadLE(e.data[off:], size), Fault{}
	}
	// A TLB miss (or a hit the fast path could not judge).
	data, pa, f := as.translate(va, acc)
	switch {
	case f != 0:
		return 0, f.at(va)
	case data != nil:
		return loadLE(data[off:], size), Fault{}
	}
	var b [8]byte
	as.pm.ReadPhys(pa, b[:size])
	return loadLE(b[:], size), Fault{}
}

// loadSplit is Load for an access that crosses a page boundary (or has a
// bad size).
func (as *AddressSpace) loadSplit(va uint64, size int, acc Access) (uint64, Fault) {
	checkSize(size)
	var b [8]byte
	if f := as.access(va, b[:size], acc); f.Faulted() {
		return 0, f
	}
	return loadLE(b[:], size), Fault{}
}

// Store writes the low size bytes (1, 2, 4 or 8; any of 1..8 works) of val
// at va, little-endian, as a data write with the privilege in acc. A store
// crossing a page boundary writes nothing unless both pages translate for
// writing. size outside 1..8 panics.
func (as *AddressSpace) Store(va uint64, size int, val uint64, acc Access) Fault {
	acc = acc&^Fetch | Write
	off := va & pageOffsetMask
	if uint(size)-1 >= 8 || off+uint64(size) > PageSize {
		return as.storeSplit(va, size, val, acc)
	}
	e := &as.tlb.entries[(va>>PageShift)&as.tlb.mask]
	if e.key == va&^pageOffsetMask|as.ctl.pcid && as.ctl.fast[e.perm]&(1<<acc) != 0 {
		storeLE(e.data[off:], size, val)
		return Fault{}
	}
	data, pa, f := as.translate(va, acc)
	switch {
	case f != 0:
		return f.at(va)
	case data != nil:
		storeLE(data[off:], size, val)
	default:
		var b [8]byte
		storeLE(b[:], size, val)
		as.pm.WritePhys(pa, b[:size])
	}
	return Fault{}
}

// storeSplit is Store for an access that crosses a page boundary (or has a
// bad size).
func (as *AddressSpace) storeSplit(va uint64, size int, val uint64, acc Access) Fault {
	checkSize(size)
	var b [8]byte
	storeLE(b[:], size, val)
	return as.access(va, b[:size], acc)
}

// ReadBytes fills buf from va onward, as a read (or fetch) with the
// privilege in acc. Every page is translated before any byte moves, so a
// fault leaves buf unspecified but changes nothing else (A bits of the
// pages before the faulting one may be set, as on hardware).
func (as *AddressSpace) ReadBytes(va uint64, buf []byte, acc Access) Fault {
	return as.access(va, buf, acc&^Write)
}

// WriteBytes copies buf to va onward, as a write with the privilege in acc.
// Nothing is written unless every page translates for writing (D bits of
// the pages before the faulting one may be set, as on hardware).
func (as *AddressSpace) WriteBytes(va uint64, buf []byte, acc Access) Fault {
	return as.access(va, buf, acc&^Fetch|Write)
}

// access moves len(buf) bytes between buf and va: first it translates
// every page the access touches, so that a fault on any of them stops the
// access before a byte moves; then it copies, translating again (TLB hits,
// or identical walks if an entry was evicted meanwhile). Addresses wrap at
// 2^64 like linear addresses do.
func (as *AddressSpace) access(va uint64, buf []byte, acc Access) Fault {
	if len(buf) == 0 {
		return Fault{}
	}
	for p, rem := va, uint64(len(buf)); ; {
		if _, _, f := as.translate(p, acc); f != 0 {
			return f.at(p)
		}
		step := PageSize - p&pageOffsetMask
		if step >= rem {
			break
		}
		p, rem = p+step, rem-step
	}
	for p, b := va, buf; len(b) > 0; {
		data, pa, f := as.translate(p, acc)
		if f != 0 {
			return f.at(p)
		}
		off := p & pageOffsetMask
		n := min(uint64(len(b)), PageSize-off)
		switch {
		case data != nil && acc.IsWrite():
			copy(data[off:], b[:n])
		case data != nil:
			copy(b[:n], data[off:])
		case acc.IsWrite():
			as.pm.WritePhys(pa, b[:n])
		default:
			as.pm.ReadPhys(pa, b[:n])
		}
		p, b = p+n, b[n:]
	}
	return Fault{}
}

func checkSize(size int) {
	if uint(size)-1 >= 8 {
		badSize(size)
	}
}

func badSize(size int) {
	panic("mmu: access size " + strconv.Itoa(size) + " outside 1..8")
}

func loadLE(b []byte, size int) uint64 {
	switch size {
	case 8:
		return binary.LittleEndian.Uint64(b)
	case 4:
		return uint64(binary.LittleEndian.Uint32(b))
	case 2:
		return uint64(binary.LittleEndian.Uint16(b))
	case 1:
		return uint64(b[0])
	}
	var v uint64
	for i := range size {
		v |= uint64(b[i]) << (8 * i)
	}
	return v
}

func storeLE(b []byte, size int, v uint64) {
	switch size {
	case 8:
		binary.LittleEndian.PutUint64(b, v)
	case 4:
		binary.LittleEndian.PutUint32(b, uint32(v))
	case 2:
		binary.LittleEndian.PutUint16(b, uint16(v))
	case 1:
		b[0] = byte(v)
	default:
		for i := range size {
			b[i] = byte(v >> (8 * i))
		}
	}
}

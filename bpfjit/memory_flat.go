package bpfjit

import (
	"sort"

	"github.com/arenasim/arenasim/internal/errno"
)

// FlatMemory is a Memory made of separate regions of bytes at 64-bit
// addresses, with nothing in between: the simple address space the tests,
// the conformance suite and the fuzzers run programs against. The machine
// layer replaces it with page tables.
//
// An access must fall on mapped bytes entirely (it may span adjacent
// regions); otherwise it fails with EFAULT and changes nothing. A store to a
// read-only region fails with EFAULT too, as a write to a read-only kernel
// page would.
type FlatMemory struct {
	regions []flatRegion // sorted by base, disjoint
}

type flatRegion struct {
	base     uint64
	data     []byte
	readOnly bool
}

func (r *flatRegion) end() uint64 { return r.base + uint64(len(r.data)) }

// Map makes data visible at [base, base+len(data)). The memory keeps data
// (it does not copy it), so the caller sees the program's stores. It fails
// with EINVAL for an empty region or one that wraps past 2^64, and EEXIST if
// the range overlaps a mapped region.
func (m *FlatMemory) Map(base uint64, data []byte, readOnly bool) error {
	if len(data) == 0 {
		return errno.Errorf(errno.EINVAL, "map %#x: empty region", base)
	}
	if base+uint64(len(data)) < base && base+uint64(len(data)) != 0 {
		return errno.Errorf(errno.EINVAL, "map %#x+%d: wraps past the end of the address space", base, len(data))
	}
	last := base + uint64(len(data)) - 1
	i := sort.Search(len(m.regions), func(i int) bool { return m.regions[i].end()-1 >= base })
	if i < len(m.regions) && m.regions[i].base <= last {
		return errno.Errorf(errno.EEXIST, "map %#x+%d: overlaps the region at %#x", base, len(data), m.regions[i].base)
	}
	m.regions = append(m.regions, flatRegion{})
	copy(m.regions[i+1:], m.regions[i:])
	m.regions[i] = flatRegion{base: base, data: data, readOnly: readOnly}
	return nil
}

// Unmap removes the region that starts at base; ENOENT if there is none.
func (m *FlatMemory) Unmap(base uint64) error {
	i := m.find(base)
	if i < 0 || m.regions[i].base != base {
		return errno.Errorf(errno.ENOENT, "unmap %#x: no region starts there", base)
	}
	m.regions = append(m.regions[:i], m.regions[i+1:]...)
	return nil
}

// find returns the index of the region holding addr, or -1.
func (m *FlatMemory) find(addr uint64) int {
	i := sort.Search(len(m.regions), func(i int) bool { return m.regions[i].end()-1 >= addr })
	if i < len(m.regions) && m.regions[i].base <= addr {
		return i
	}
	return -1
}

// span returns the bytes [addr, addr+size) if they lie in one region.
func (m *FlatMemory) span(addr uint64, size int, write bool) []byte {
	i := m.find(addr)
	if i < 0 {
		return nil
	}
	r := &m.regions[i]
	if write && r.readOnly {
		return nil
	}
	off := addr - r.base
	if uint64(len(r.data))-off < uint64(size) {
		return nil
	}
	return r.data[off : off+uint64(size)]
}

// ok reports whether every byte of [addr, addr+size) is mapped (and writable).
func (m *FlatMemory) ok(addr uint64, size int, write bool) bool {
	for k := 0; k < size; k++ {
		if m.span(addr+uint64(k), 1, write) == nil {
			return false
		}
	}
	return true
}

// Load implements Memory.
func (m *FlatMemory) Load(addr uint64, size int) (uint64, error) {
	if !validSize(size) {
		return 0, errno.Errorf(errno.EINVAL, "load of %d bytes", size)
	}
	if b := m.span(addr, size, false); b != nil {
		return getLE(b), nil
	}
	if !m.ok(addr, size, false) {
		return 0, errno.EFAULT
	}
	var v uint64
	for k := 0; k < size; k++ {
		v |= uint64(m.span(addr+uint64(k), 1, false)[0]) << (8 * k)
	}
	return v, nil
}

// Store implements Memory.
func (m *FlatMemory) Store(addr uint64, size int, val uint64) error {
	if !validSize(size) {
		return errno.Errorf(errno.EINVAL, "store of %d bytes", size)
	}
	if b := m.span(addr, size, true); b != nil {
		putLE(b, val)
		return nil
	}
	if !m.ok(addr, size, true) {
		return errno.EFAULT
	}
	for k := 0; k < size; k++ {
		m.span(addr+uint64(k), 1, true)[0] = byte(val >> (8 * k))
	}
	return nil
}

// Direct implements DirectMemory: the whole region holding addr.
func (m *FlatMemory) Direct(addr uint64, write bool) (uint64, []byte) {
	i := m.find(addr)
	if i < 0 || (write && m.regions[i].readOnly) {
		return 0, nil
	}
	return m.regions[i].base, m.regions[i].data
}

func validSize(size int) bool { return size == 1 || size == 2 || size == 4 || size == 8 }

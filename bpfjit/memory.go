package bpfjit

import (
	"encoding/binary"

	"github.com/arenasim/arenasim/internal/errno"
)

// Memory is a port through which the engines reach memory outside the BPF
// stack. The machine layer implements it over its page tables; FlatMemory is
// a simple implementation for tests.
//
// Accesses are 1, 2, 4 or 8 bytes, little-endian as on x86-64. An access that
// cannot complete fails as a whole (no partial store) with an error carrying
// an errno, usually EFAULT.
type Memory interface {
	Load(addr uint64, size int) (uint64, error)
	Store(addr uint64, size int, val uint64) error
}

// DirectMemory is an optional fast path a Memory may offer: the bytes backing
// a region that holds addr, so that the engines can access it without a call
// per access. base is the address of b[0]; b nil means "no fast path here".
// With write set the region must be writable.
//
// The engines cache the last region per port and drop it at the start of a
// run and after every helper or kfunc call, so a Memory may change its
// mappings only from inside a call (as the arena kfuncs do).
type DirectMemory interface {
	Direct(addr uint64, write bool) (base uint64, b []byte)
}

// memPort is one Memory with the engines' one-entry region caches in front.
type memPort struct {
	mem    Memory
	direct DirectMemory // mem's fast path, if it has one
	rbase  uint64       // cached readable region [rbase, rbase+len(rbuf))
	rbuf   []byte
	wbase  uint64 // cached writable region
	wbuf   []byte
}

func newMemPort(m Memory) memPort {
	p := memPort{mem: m}
	p.direct, _ = m.(DirectMemory)
	return p
}

// flush drops the cached regions.
func (p *memPort) flush() {
	p.rbuf, p.wbuf = nil, nil
}

// window returns the size bytes at addr from the cached region (fill
// refreshes it), or nil.
func window(base uint64, buf []byte, addr uint64, size int) []byte {
	i := addr - base
	if i < uint64(len(buf)) && uint64(len(buf))-i >= uint64(size) {
		return buf[i : i+uint64(size)]
	}
	return nil
}

func (p *memPort) load(addr uint64, size int) (uint64, error) {
	b := window(p.rbase, p.rbuf, addr, size)
	if b == nil && p.direct != nil {
		p.rbase, p.rbuf = p.direct.Direct(addr, false)
		b = window(p.rbase, p.rbuf, addr, size)
	}
	if b != nil {
		return getLE(b), nil
	}
	if p.mem == nil {
		return 0, errno.EFAULT
	}
	return p.mem.Load(addr, size)
}

func (p *memPort) store(addr uint64, size int, val uint64) error {
	b := window(p.wbase, p.wbuf, addr, size)
	if b == nil && p.direct != nil {
		p.wbase, p.wbuf = p.direct.Direct(addr, true)
		b = window(p.wbase, p.wbuf, addr, size)
	}
	if b != nil {
		putLE(b, val)
		return nil
	}
	if p.mem == nil {
		return errno.EFAULT
	}
	return p.mem.Store(addr, size, val)
}

// getLE reads len(b) (1, 2, 4 or 8) bytes, little-endian, zero-extended.
func getLE(b []byte) uint64 {
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.LittleEndian.Uint16(b))
	case 4:
		return uint64(binary.LittleEndian.Uint32(b))
	case 8:
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// putLE writes the low len(b) bytes of v, little-endian.
func putLE(b []byte, v uint64) {
	switch len(b) {
	case 1:
		b[0] = byte(v)
	case 2:
		binary.LittleEndian.PutUint16(b, uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(b, uint32(v))
	case 8:
		binary.LittleEndian.PutUint64(b, v)
	}
}

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

// region is a run of bytes at base that the engines reach without a call:
// the active stack frames, or the last region a DirectMemory handed out.
// lim[k] bounds the offset of an access of 1<<k bytes, precomputed so that
// the hot loops test an access with one comparison: it fits if and only if
// addr-base < lim[k] (len-size+1, or 0 when the run is shorter than size).
type region struct {
	base uint64
	buf  []byte
	lim  [4]uint64
}

func (g *region) set(base uint64, buf []byte) {
	g.base, g.buf = base, buf
	for k := range g.lim {
		g.lim[k] = 0
		if size := 1 << k; len(buf) >= size {
			g.lim[k] = uint64(len(buf) - size + 1)
		}
	}
}

// at returns the size bytes at addr, or nil if they are not all in g.
func (g *region) at(addr uint64, size int) []byte {
	if i := addr - g.base; i < uint64(len(g.buf)) && uint64(len(g.buf))-i >= uint64(size) {
		return g.buf[i : i+uint64(size)]
	}
	return nil
}

// memPort is one Memory with the engines' one-entry region caches in front.
type memPort struct {
	mem    Memory
	direct DirectMemory // mem's fast path, if it has one
	rd, wr region       // the regions of the last read and the last write
}

func newMemPort(m Memory) memPort {
	p := memPort{mem: m}
	p.direct, _ = m.(DirectMemory)
	return p
}

// flush drops the cached regions.
func (p *memPort) flush() {
	p.rd.set(0, nil)
	p.wr.set(0, nil)
}

func (p *memPort) load(addr uint64, size int) (uint64, error) {
	b := p.rd.at(addr, size)
	if b == nil && p.direct != nil {
		p.rd.set(p.direct.Direct(addr, false))
		b = p.rd.at(addr, size)
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
	b := p.wr.at(addr, size)
	if b == nil && p.direct != nil {
		p.wr.set(p.direct.Direct(addr, true))
		b = p.wr.at(addr, size)
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

package mmu

import (
	"encoding/binary"
	"fmt"
	"iter"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/internal/trace"
)

// Physical memory defaults.
const (
	// DefaultPhysMemSize is the RAM a PhysMem has unless told otherwise.
	// It costs nothing until frames are written.
	DefaultPhysMemSize = 64 << 30
	// DefaultReservedLow is the low memory never handed out: x86 Linux
	// keeps the first megabyte reserved for firmware and real-mode code.
	DefaultReservedLow = 1 << 20
)

// chunkFrames frames share one directory slot; a chunk is created the first
// time one of its frames is touched.
const (
	chunkShift  = 9
	chunkFrames = 1 << chunkShift
)

// hostCacheSize is the number of frames PhysMem's host-pointer cache holds.
const hostCacheSize = 64

type hostFrame struct {
	page uint64 // physical address of the frame, or noFrame
	f    *[PageSize]byte
}

// noFrame marks an empty hostCache slot: no frame address has low bits set.
const noFrame = ^uint64(0)

type frameChunk struct {
	data    [chunkFrames]*[PageSize]byte // nil until the frame is first written or cached
	pages   [chunkFrames]Page
	shadows [chunkFrames]*tableShadow // nil until the frame is walked as a table
}

// PhysMemConfig configures a PhysMem. Zero fields take the defaults.
type PhysMemConfig struct {
	// Size is the amount of RAM in bytes, a multiple of PageSize and at
	// most 1<<52. Default DefaultPhysMemSize.
	Size uint64
	// ReservedLow is how many bytes at physical address 0 are reserved
	// (PG_reserved, never allocated), rounded up to whole frames. Frame 0
	// is always reserved, so that no allocated frame has address 0.
	// Default DefaultReservedLow.
	ReservedLow uint64
	// Tracer receives alloc events; nil traces nothing.
	Tracer *trace.Tracer
}

// PhysMem is simulated RAM: frames of PageSize bytes, a Page descriptor per
// frame, and the frame allocator. Memory is sparse: a frame takes host
// memory only once it is written (or cached by a TLB); frames never written
// read as zero. Bytes above Size read as all ones and writes to them are
// dropped, as an unclaimed bus cycle does on a PC.
//
// A PhysMem is not safe for concurrent use; the machine serialises access.
type PhysMem struct {
	size     uint64
	nframes  uint64
	reserved PFN // frames [0, reserved) are PG_reserved
	dir      []*frameChunk

	// hostCache remembers where recently used frames live in host memory,
	// so a page walk finds its tables without the directory, as QEMU's
	// page-table walker goes through its own TLB. A frame keeps its host
	// memory for good once it has some, so entries never go stale.
	hostCache [hostCacheSize]hostFrame

	next     PFN   // lowest frame never handed out
	free     []PFN // freed frames, reused last-in first-out
	inUse    uint64
	resident uint64
	seq      uint64
	hook     FailHook
	tr       *trace.Tracer
}

// NewPhysMem returns a PhysMem with every frame above the reserved low
// memory free.
func NewPhysMem(cfg PhysMemConfig) (*PhysMem, error) {
	if cfg.Size == 0 {
		cfg.Size = DefaultPhysMemSize
	}
	if cfg.ReservedLow == 0 {
		cfg.ReservedLow = DefaultReservedLow
	}
	if cfg.Size%PageSize != 0 || cfg.Size > 1<<maxPhysBits {
		return nil, errno.Errorf(errno.EINVAL, "mmu: physical memory size %#x is not a multiple of %#x up to 1<<%d", cfg.Size, PageSize, maxPhysBits)
	}
	reserved := PFN((cfg.ReservedLow + PageSize - 1) / PageSize)
	if uint64(reserved) >= cfg.Size/PageSize {
		return nil, errno.Errorf(errno.EINVAL, "mmu: reserved low memory %#x leaves no frame of %#x", cfg.ReservedLow, cfg.Size)
	}
	n := cfg.Size / PageSize
	m := &PhysMem{
		size:     cfg.Size,
		nframes:  n,
		reserved: reserved,
		dir:      make([]*frameChunk, (n+chunkFrames-1)/chunkFrames),
		next:     reserved,
		tr:       cfg.Tracer,
	}
	for i := range m.hostCache {
		m.hostCache[i].page = noFrame
	}
	return m, nil
}

// Size returns the amount of RAM in bytes.
func (m *PhysMem) Size() uint64 { return m.size }

// Frames returns the number of frames of RAM.
func (m *PhysMem) Frames() uint64 { return m.nframes }

// InUse returns the number of allocated frames (refcount above zero).
func (m *PhysMem) InUse() uint64 { return m.inUse }

// Resident returns how many frames hold host memory: the cost of the
// simulation, not a kernel quantity.
func (m *PhysMem) Resident() uint64 { return m.resident }

// SetTracer sets the tracer for alloc events; nil turns them off.
func (m *PhysMem) SetTracer(tr *trace.Tracer) { m.tr = tr }

// chunk returns the chunk holding pfn, creating it if create is set. It
// returns nil for frames beyond RAM.
func (m *PhysMem) chunk(pfn PFN, create bool) *frameChunk {
	if uint64(pfn) >= m.nframes {
		return nil
	}
	c := m.dir[pfn>>chunkShift]
	if c == nil && create {
		c = new(frameChunk)
		base := pfn &^ (chunkFrames - 1)
		for i := range c.pages {
			if base+PFN(i) < m.reserved {
				c.pages[i].Flags = PGReserved
			} else {
				c.pages[i].Flags = PGBuddy
			}
		}
		m.dir[pfn>>chunkShift] = c
	}
	return c
}

// frame returns the bytes of frame pfn, giving it host memory if it has
// none yet; nil for frames beyond RAM.
func (m *PhysMem) frame(pfn PFN) *[PageSize]byte {
	if f := m.cachedFrame(pfn); f != nil {
		return f
	}
	return m.frameSlow(pfn)
}

// cachedFrame returns frame pfn's bytes if the host cache has them, else
// nil; it is small enough to inline.
func (m *PhysMem) cachedFrame(pfn PFN) *[PageSize]byte {
	if h := &m.hostCache[pfn%hostCacheSize]; h.page == pfn.Addr() {
		return h.f
	}
	return nil
}

func (m *PhysMem) frameSlow(pfn PFN) *[PageSize]byte {
	c := m.chunk(pfn, true)
	if c == nil {
		return nil
	}
	f := c.data[pfn&(chunkFrames-1)]
	if f == nil {
		f = new([PageSize]byte)
		c.data[pfn&(chunkFrames-1)] = f
		m.resident++
	}
	m.hostCache[pfn%hostCacheSize] = hostFrame{pfn.Addr(), f}
	return f
}

// peek returns the bytes of frame pfn if it holds host memory, else nil
// (the frame reads as zero, or as all ones beyond RAM).
func (m *PhysMem) peek(pfn PFN) *[PageSize]byte {
	if h := &m.hostCache[pfn%hostCacheSize]; h.page == pfn.Addr() {
		return h.f
	}
	if uint64(pfn) >= m.nframes {
		return nil
	}
	if c := m.dir[pfn>>chunkShift]; c != nil {
		if f := c.data[pfn&(chunkFrames-1)]; f != nil {
			m.hostCache[pfn%hostCacheSize] = hostFrame{pfn.Addr(), f}
			return f
		}
	}
	return nil
}

// load64 reads the naturally aligned 8 bytes at pa: a page-table entry.
func (m *PhysMem) load64(pa uint64) uint64 {
	if v, ok := m.cached64(pa); ok {
		return v
	}
	return m.load64Slow(pa)
}

// cached64 is load64 for a frame in the host cache; it is small enough
// to be inlined into the walker, which calls load64Slow when it fails.
func (m *PhysMem) cached64(pa uint64) (uint64, bool) {
	h := &m.hostCache[(pa>>PageShift)%hostCacheSize]
	if h.page != pa&^pageOffsetMask {
		return 0, false
	}
	return binary.LittleEndian.Uint64(h.f[pa&pageOffsetMask&^7:]), true
}

func (m *PhysMem) load64Slow(pa uint64) uint64 {
	if pa >= m.size {
		return ^uint64(0)
	}
	f := m.peek(PhysPFN(pa))
	if f == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(f[pa&pageOffsetMask&^7:])
}

// store64 writes the naturally aligned 8 bytes at pa.
func (m *PhysMem) store64(pa, v uint64) {
	if f := m.frame(PhysPFN(pa)); f != nil {
		binary.LittleEndian.PutUint64(f[pa&pageOffsetMask&^7:], v)
	}
}

// ReadPhys copies len(buf) bytes starting at physical address pa into buf.
func (m *PhysMem) ReadPhys(pa uint64, buf []byte) {
	for len(buf) > 0 {
		off := pa & pageOffsetMask
		n := min(uint64(len(buf)), PageSize-off)
		switch f := m.peek(PhysPFN(pa)); {
		case f != nil:
			copy(buf[:n], f[off:])
		case pa < m.size:
			clear(buf[:n])
		default:
			for i := range buf[:n] {
				buf[i] = 0xff
			}
		}
		buf, pa = buf[n:], pa+n
	}
}

// WritePhys copies buf to physical memory starting at pa.
func (m *PhysMem) WritePhys(pa uint64, buf []byte) {
	for len(buf) > 0 {
		off := pa & pageOffsetMask
		n := min(uint64(len(buf)), PageSize-off)
		if f := m.frame(PhysPFN(pa)); f != nil {
			copy(f[off:], buf[:n])
		}
		buf, pa = buf[n:], pa+n
	}
}

// ReadPhys64 returns the little-endian 8 bytes at pa (any alignment).
func (m *PhysMem) ReadPhys64(pa uint64) uint64 {
	if pa&7 == 0 {
		return m.load64(pa)
	}
	var b [8]byte
	m.ReadPhys(pa, b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// WritePhys64 stores v little-endian at pa (any alignment).
func (m *PhysMem) WritePhys64(pa, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	m.WritePhys(pa, b[:])
}

// Page returns the descriptor of frame pfn; ok is false beyond RAM.
func (m *PhysMem) Page(pfn PFN) (p Page, ok bool) {
	if uint64(pfn) >= m.nframes {
		return Page{}, false
	}
	if c := m.chunk(pfn, false); c != nil {
		return c.pages[pfn&(chunkFrames-1)], true
	}
	if pfn < m.reserved {
		return Page{Flags: PGReserved}, true
	}
	return Page{Flags: PGBuddy}, true
}

// page returns the descriptor of an allocated frame for changing, or an
// error naming the operation if pfn is not allocated.
func (m *PhysMem) page(pfn PFN, op string) (*Page, error) {
	c := m.chunk(pfn, false)
	if c == nil {
		return nil, errno.Errorf(errno.EINVAL, "mmu: %s on %v: not an allocated frame", op, pfn)
	}
	p := &c.pages[pfn&(chunkFrames-1)]
	if p.Refcount <= 0 || p.Flags&(PGBuddy|PGReserved) != 0 {
		return nil, errno.Errorf(errno.EINVAL, "mmu: %s on %v: bad page state (%v)", op, pfn, *p)
	}
	return p, nil
}

// AllocatedFrames yields every allocated frame with its descriptor, in
// frame order.
func (m *PhysMem) AllocatedFrames() iter.Seq2[PFN, Page] {
	return func(yield func(PFN, Page) bool) {
		for ci, c := range m.dir {
			if c == nil {
				continue
			}
			for i := range c.pages {
				if p := c.pages[i]; p.Refcount > 0 {
					if !yield(PFN(ci<<chunkShift+i), p) {
						return
					}
				}
			}
		}
	}
}

// String summarises the memory: "64 GiB RAM, 3 frames in use, 2 resident".
func (m *PhysMem) String() string {
	return fmt.Sprintf("%d MiB RAM, %d frames in use, %d resident", m.size>>20, m.inUse, m.resident)
}

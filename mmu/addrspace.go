package mmu

import (
	"fmt"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/internal/trace"
)

// DefaultMaxPhyAddr is the physical-address width (CPUID 80000008H
// EAX[7:0]) unless told otherwise: 46 bits, as on many Intel server parts
// and in the spec's test cases.
const DefaultMaxPhyAddr = 46

// AddressSpaceConfig configures an AddressSpace. Zero fields take the
// defaults.
type AddressSpaceConfig struct {
	// Regs are the initial registers; nil means DefaultRegs for the page
	// table's mode. CR3 is always set from the page table (keeping the
	// PCID bits of Regs.CR3 when CR4.PCIDE is set).
	Regs *Regs
	// TLB is the TLB to use, shared with other address spaces as a CPU's
	// TLB is shared by processes; nil gives the address space its own of
	// DefaultTLBEntries.
	TLB *TLB
	// MaxPhyAddr is the physical-address width, 36..52; default
	// DefaultMaxPhyAddr.
	MaxPhyAddr uint8
	// No1GPages models a CPU without 1 GiB pages (CPUID.80000001H:EDX[26]
	// clear): PS in a PDPTE is then a reserved bit.
	No1GPages bool
	// RsvdWithoutP reports reserved-bit faults with RSVD alone, as QEMU's
	// mmu_translate does, instead of the SDM's RSVD|P (the default).
	RsvdWithoutP bool
	// Name is the actor in trace events: "kernel", "pid 1", ...
	Name string
	// Tracer receives walk, fault and tlb_flush events; nil traces nothing.
	Tracer *trace.Tracer
}

// AddressSpace is the memory one CPU sees while CR3 holds a page table:
// the registers that steer translation, a TLB, and loads and stores of
// virtual addresses through them. Accesses return a Fault outcome rather
// than an error.
//
// An AddressSpace is not safe for concurrent use.
type AddressSpace struct {
	pm   *PhysMem
	pt   *PageTable
	tlb  *TLB
	regs Regs
	ctl  control

	maxPhyAddr   uint8
	no1G         bool
	rsvdWithoutP bool

	name    string
	tr      *trace.Tracer
	scratch WalkResult // recording space for traced walks
}

// NewAddressSpace returns an address space translating through pt.
func NewAddressSpace(pt *PageTable, cfg AddressSpaceConfig) (*AddressSpace, error) {
	regs := DefaultRegs(pt.Mode())
	if cfg.Regs != nil {
		regs = *cfg.Regs
	}
	if (regs.CR4&CR4LA57 != 0) != (pt.Mode() == FiveLevel) {
		return nil, errno.Errorf(errno.EINVAL, "mmu: CR4 %v does not match a %v page table", regs.CR4, pt.Mode())
	}
	if cfg.MaxPhyAddr == 0 {
		cfg.MaxPhyAddr = DefaultMaxPhyAddr
	}
	if cfg.MaxPhyAddr < 36 || cfg.MaxPhyAddr > maxPhysBits {
		return nil, errno.Errorf(errno.EINVAL, "mmu: MAXPHYADDR %d outside 36..%d", cfg.MaxPhyAddr, maxPhysBits)
	}
	if pt.pm.Size() > 1<<cfg.MaxPhyAddr {
		return nil, errno.Errorf(errno.EINVAL, "mmu: %d bytes of RAM do not fit MAXPHYADDR %d", pt.pm.Size(), cfg.MaxPhyAddr)
	}
	tlb := cfg.TLB
	if tlb == nil {
		tlb, _ = NewTLB(DefaultTLBEntries)
	}
	if tlb.mode != 0 && tlb.mode != pt.Mode() {
		return nil, errno.Errorf(errno.EINVAL, "mmu: TLB shared with %v address spaces, page table is %v", tlb.mode, pt.Mode())
	}
	tlb.mode = pt.Mode()
	as := &AddressSpace{
		pm: pt.pm, pt: pt, tlb: tlb, regs: regs,
		maxPhyAddr: cfg.MaxPhyAddr, no1G: cfg.No1GPages, rsvdWithoutP: cfg.RsvdWithoutP,
		name: cfg.Name, tr: cfg.Tracer,
	}
	as.regs.CR3 = pt.Root().Addr()
	if regs.CR4&CR4PCIDE != 0 {
		as.regs.CR3 |= regs.CR3 & CR3PCIDMask
	}
	as.decode()
	return as, nil
}

func (as *AddressSpace) decode() {
	as.ctl.decode(&as.regs, as.maxPhyAddr, as.no1G, as.rsvdWithoutP)
	// The root is a table in use: give it host memory now, so that every
	// walk starts from its bytes and shadow without a search.
	root := PhysPFN(as.ctl.rootAddr)
	as.ctl.root, as.ctl.rootShadow = as.pm.frame(root), as.pm.shadow(root)
}

// PageTable returns the page table the address space was created for.
func (as *AddressSpace) PageTable() *PageTable { return as.pt }

// PhysMem returns the physical memory behind the address space.
func (as *AddressSpace) PhysMem() *PhysMem { return as.pm }

// TLB returns the TLB.
func (as *AddressSpace) TLB() *TLB { return as.tlb }

// Regs returns the registers.
func (as *AddressSpace) Regs() Regs { return as.regs }

// SetTracer sets the tracer; nil turns tracing off.
func (as *AddressSpace) SetTracer(tr *trace.Tracer) { as.tr = tr }

// SetCR0 writes CR0. Changing WP changes the rights checks at once; no
// TLB entry is dropped (rights are checked against cached bits).
func (as *AddressSpace) SetCR0(v CR0) {
	as.regs.CR0 = v
	as.decode()
}

// SetCR4 writes CR4 (MOV to CR4). Toggling PGE, or clearing PCIDE, flushes
// the whole TLB including global entries (SDM 4.10.4.1). LA57 cannot change
// while paging is on: EINVAL (the hardware raises #GP).
func (as *AddressSpace) SetCR4(v CR4) error {
	old := as.regs.CR4
	if (old^v)&CR4LA57 != 0 {
		return errno.Errorf(errno.EINVAL, "mmu: CR4.LA57 cannot change in long mode")
	}
	as.regs.CR4 = v
	if v&CR4PCIDE == 0 {
		as.regs.CR3 &^= CR3PCIDMask
	}
	as.decode()
	if (old^v)&CR4PGE != 0 || (old&CR4PCIDE != 0 && v&CR4PCIDE == 0) {
		as.tlb.flushAll()
		as.traceFlush(0, 0, "CR4 write: flush all")
	}
	return nil
}

// SetEFER writes EFER. Clearing NXE makes bit 63 of every entry reserved.
func (as *AddressSpace) SetEFER(v EFER) {
	as.regs.EFER = v
	as.decode()
}

// SetAC sets or clears RFLAGS.AC, as stac and clac do.
func (as *AddressSpace) SetAC(on bool) {
	if on {
		as.regs.RFLAGS |= RFLAGSAC
	} else {
		as.regs.RFLAGS &^= RFLAGSAC
	}
	as.decode()
}

// SetPKRU writes PKRU (WRPKRU).
func (as *AddressSpace) SetPKRU(v uint32) {
	as.regs.PKRU = v
	as.decode()
}

// SetPKRS writes the IA32_PKRS MSR.
func (as *AddressSpace) SetPKRS(v uint32) {
	as.regs.PKRS = v
	as.decode()
}

// LoadCR3 models MOV to CR3. Without PCIDs it flushes every non-global
// entry. With CR4.PCIDE the low 12 bits select the PCID, whose non-global
// entries are flushed unless bit 63 (CR3NoFlush) is set; other PCIDs keep
// theirs. The root may be any frame: the hardware trusts software.
func (as *AddressSpace) LoadCR3(v uint64) {
	noFlush := as.ctl.pcide && v&CR3NoFlush != 0
	v &^= CR3NoFlush
	if !as.ctl.pcide {
		v &^= CR3PCIDMask
	}
	as.regs.CR3 = v
	as.decode()
	if !noFlush {
		as.tlb.flushPCID(as.ctl.pcid, true)
		as.traceFlush(0, 0, "CR3 load: flush non-global")
	}
}

// Invlpg models INVLPG: it drops the TLB entries for the page holding va
// of the current PCID and global ones, and every piece of a large page
// containing va. A non-canonical va is a no-op, not a fault.
func (as *AddressSpace) Invlpg(va uint64) {
	if !as.ctl.mode.Canonical(va) {
		return
	}
	as.tlb.invalidatePage(va, as.ctl.pcid)
	as.traceFlush(va, PageSize, "invlpg")
}

// InvlpgRange is Invlpg for every page in [start, end), as
// flush_tlb_kernel_range does below its single-page ceiling (choosing a
// full flush above it is the caller's policy). end 0 means the top of the
// address space, so that the last page can be flushed.
func (as *AddressSpace) InvlpgRange(start, end uint64) {
	if end-1 < start {
		return // empty, or end == start
	}
	as.tlb.invalidateRange(start, end-1, as.ctl.pcid)
	as.traceFlush(start, end-start, "invlpg range")
}

// FlushAll drops every TLB entry, global ones included (INVPCID type 2,
// or toggling CR4.PGE).
func (as *AddressSpace) FlushAll() {
	as.tlb.flushAll()
	as.traceFlush(0, 0, "flush all")
}

func (as *AddressSpace) traceFlush(addr, n uint64, what string) {
	if as.tr.On(trace.TLBFlush) {
		as.tr.Emit(trace.Event{Kind: trace.TLBFlush, Who: as.name, Addr: addr, Len: n, Text: what})
	}
}

// Walk returns the page walk the CPU would do for va and acc now, as a
// dry run: it reads the tables but changes nothing (no A/D bits, no TLB,
// no CR2). It is the teaching view; Translate and the loads and stores do
// the real thing.
func (as *AddressSpace) Walk(va uint64, acc Access) WalkResult {
	r := WalkResult{VA: va, Access: acc, Mode: as.ctl.mode, CR3: as.regs.CR3}
	if !as.ctl.mode.Canonical(va) {
		r.Fault = gpFault.at(va)
		return r
	}
	_, _, _, _, f := walk(as.pm, &as.ctl, va, acc, &r, false)
	r.Fault = f.at(va)
	return r
}

// Translate returns the physical address of va for access acc, exactly as
// the CPU finds it: the canonical check, then the TLB, then on a miss the
// page walk with its A/D updates, caching the result. A #PF writes CR2
// and drops the TLB entries for va.
func (as *AddressSpace) Translate(va uint64, acc Access) (uint64, Fault) {
	_, pa, f := as.translate(va, acc)
	if f != 0 {
		return 0, f.at(va)
	}
	return pa, Fault{}
}

// translate is the slow path of every access: the canonical check, a TLB
// lookup whose cached rights settle the access, else a walk that fills the
// TLB. It returns the bytes of the frame holding va (nil for memory beyond
// RAM, which is never cached) and the physical address, or the fault.
func (as *AddressSpace) translate(va uint64, acc Access) (*[PageSize]byte, uint64, fault) {
	c := &as.ctl
	if !c.mode.Canonical(va) {
		as.traceFault(gpFault.at(va))
		return nil, 0, gpFault
	}
	if e := as.tlb.lookup(va, c.pcid); e != nil && as.entryAllows(e, acc) {
		return e.data, e.pfn.Addr() | va&pageOffsetMask, 0
	}
	// The cached rights (if any) do not allow the access: walk again, as
	// QEMU does; the CPU may use the stale entry to fault instead, which
	// is why Linux has spurious_kernel_fault.
	as.tlb.stats.Misses++
	var pa uint64
	var leaf PTE
	var lvl Level
	var perm tlbPerm
	var data *[PageSize]byte
	var f fault
	if as.tr.On(trace.Walk) {
		pa, leaf, lvl, perm, f = as.tracedWalk(va, acc)
	} else {
		pa, leaf, lvl, perm, data, f = walkFast(as.pm, c, va, acc)
	}
	if f != 0 {
		as.regs.CR2 = va
		as.tlb.invalidatePage(va, c.pcid)
		as.traceFault(f.at(va))
		return nil, 0, f
	}
	pfn := PhysPFN(pa)
	if data == nil {
		if data = as.pm.frame(pfn); data == nil {
			return nil, pa, 0
		}
	}
	as.tlb.fill(va, c.pcid, pfn, data, leaf, lvl, perm)
	return data, pa, 0
}

// tracedWalk is the walk of translate, recorded for a walk event.
func (as *AddressSpace) tracedWalk(va uint64, acc Access) (pa uint64, leaf PTE, lvl Level, perm tlbPerm, f fault) {
	as.scratch = WalkResult{VA: va, Access: acc, Mode: as.ctl.mode, CR3: as.regs.CR3}
	rec := &as.scratch
	pa, leaf, lvl, perm, f = walk(as.pm, &as.ctl, va, acc, rec, true)
	rec.Fault = f.at(va)
	as.tr.Emit(trace.Event{Kind: trace.Walk, Who: as.name, Addr: va, Val: pa, Text: rec.Short()})
	return pa, leaf, lvl, perm, f
}

// entryAllows checks a cached translation against the current registers.
func (as *AddressSpace) entryAllows(e *tlbEntry, acc Access) bool {
	if as.ctl.fast[e.perm]&(1<<acc) != 0 {
		return true
	}
	if acc.IsWrite() && e.perm&permDirty == 0 {
		return false
	}
	return as.ctl.rights(e.perm&permUser != 0, e.perm&permWrite != 0, e.perm&permExec != 0, e.pkey, acc) == CauseNone
}

func (as *AddressSpace) traceFault(f Fault) {
	if as.tr.On(trace.Fault) {
		as.tr.Emit(trace.Event{Kind: trace.Fault, Who: as.name, Addr: f.Addr, Val: uint64(f.Code), Text: f.String()})
	}
}

// String summarises the address space: its name, registers and TLB.
func (as *AddressSpace) String() string {
	return fmt.Sprintf("%s: %v, TLB %d entries", as.name, as.regs, as.tlb.Len())
}

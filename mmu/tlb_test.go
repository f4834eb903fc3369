package mmu

import (
	"slices"
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/internal/trace"
	"github.com/stretchr/testify/require"
)

// remap points va's PTE at another frame behind the TLB's back, as kernel
// code does before it flushes (or forgets to).
func (f *fixture) remap(t *testing.T, va uint64, pfn PFN) {
	f.patch(t, va, LevelPT, func(e PTE) PTE { return e&^PTEPFNMask | PTE(pfn.Addr()) })
}

// twoFrames returns two frames holding 0x1111... and 0x2222....
func (f *fixture) twoFrames(t *testing.T) (PFN, PFN) {
	a, b := f.frame(t), f.frame(t)
	f.pm.WritePhys64(a.Addr()+0x234, 0x1111111111111111)
	f.pm.WritePhys64(b.Addr()+0x234, 0x2222222222222222)
	return a, b
}

func (f *fixture) load(t *testing.T, va uint64, acc Access) uint64 {
	t.Helper()
	v, flt := f.as.Load(va, 8, acc)
	require.False(t, flt.Faulted(), "%v", flt)
	return v
}

// TestTLBStaleUntilInvlpg is spec 7.1 case 19.
func TestTLBStaleUntilInvlpg(t *testing.T) {
	f := newFixture(t, FourLevel)
	a, b := f.twoFrames(t)
	require.NoError(t, f.pt.MapPage(kpg, a, PageKernel))
	require.Equal(t, uint64(0x1111111111111111), f.load(t, kva, Read))
	require.Empty(t, f.as.StaleTLBEntries())

	f.remap(t, kpg, b)
	require.Equal(t, uint64(0x1111111111111111), f.load(t, kva, Read), "stale translation still used")
	stale := f.as.StaleTLBEntries()
	require.Len(t, stale, 1)
	require.Equal(t, "stale TLB entry 0xffffc90000201000 -> pfn 0x101 4 KiB RW|D|G pcid 0: tables map pfn 0x102", stale[0].String())

	f.as.Invlpg(0x0000800000000000) // non-canonical: no-op, no fault
	require.Equal(t, uint64(0x1111111111111111), f.load(t, kva, Read))
	f.as.Invlpg(kva)
	require.Equal(t, uint64(0x2222222222222222), f.load(t, kva, Read))
	require.Empty(t, f.as.StaleTLBEntries())
}

// TestTLBGlobalAndCR3 is the rest of case 19: a global entry survives a
// CR3 load without PCIDs, a non-global one does not, and toggling
// CR4.PGE drops both.
func TestTLBGlobalAndCR3(t *testing.T) {
	f := newFixture(t, FourLevel)
	a, b := f.twoFrames(t)
	const other = kpg + PageSize
	require.NoError(t, f.pt.MapPage(kpg, a, PageKernel))               // G
	require.NoError(t, f.pt.MapPage(other, a, PageKernel&^PageGlobal)) // not G
	f.load(t, kva, Read)
	f.load(t, other+0x234, Read)
	f.remap(t, kpg, b)
	f.remap(t, other, b)

	f.as.LoadCR3(f.pt.Root().Addr())
	require.Equal(t, uint64(0x1111111111111111), f.load(t, kva, Read), "global entry survives MOV CR3")
	require.Equal(t, uint64(0x2222222222222222), f.load(t, other+0x234, Read), "non-global entry flushed")

	cr4 := f.as.Regs().CR4
	require.NoError(t, f.as.SetCR4(cr4&^CR4PGE))
	require.Equal(t, uint64(0x2222222222222222), f.load(t, kva, Read), "CR4.PGE toggle flushes global entries")
	require.NoError(t, f.as.SetCR4(cr4))
	require.ErrorIs(t, f.as.SetCR4(cr4|CR4LA57), errno.EINVAL)

	// With PGE clear, G is not cached as global at all.
	require.NoError(t, f.as.SetCR4(cr4&^CR4PGE))
	f.load(t, kva, Read)
	f.remap(t, kpg, a)
	f.as.LoadCR3(f.pt.Root().Addr())
	require.Equal(t, uint64(0x1111111111111111), f.load(t, kva, Read))
}

// TestPCID is spec 7.1 case 20.
func TestPCID(t *testing.T) {
	f := newFixture(t, FourLevel)
	regs := DefaultRegs(FourLevel)
	regs.CR4 |= CR4PCIDE
	regs.CR3 = 1
	as, err := NewAddressSpace(f.pt, AddressSpaceConfig{Regs: &regs})
	require.NoError(t, err)
	f.as = as
	require.Equal(t, f.pt.Root().Addr()|1, as.Regs().CR3)
	a, b := f.twoFrames(t)
	require.NoError(t, f.pt.MapPage(upg, a, PageShared))
	require.NoError(t, f.pt.MapPage(kpg, a, PageKernel))
	f.load(t, upg+0x234, User)
	f.load(t, kva, Read)
	f.remap(t, upg, b)
	f.remap(t, kpg, b)
	root := f.pt.Root().Addr()

	as.LoadCR3(root | 1 | CR3NoFlush)
	require.Equal(t, root|1, as.Regs().CR3, "bit 63 is not stored")
	require.Equal(t, uint64(0x1111111111111111), f.load(t, upg+0x234, User), "no-flush load keeps PCID 1")
	as.LoadCR3(root | 2)
	pa, _ := as.Translate(upg+PageSize, User) // PCID 2 has no entry: this walks
	require.Equal(t, uint64(0), pa)
	require.Equal(t, uint64(0x1111111111111111), f.load(t, kva, Read), "global entries match every PCID")
	var pcids []uint16
	for e := range as.TLB().Entries() {
		pcids = append(pcids, e.PCID)
	}
	require.Equal(t, []uint16{1, 1}, pcids, "the user entry of PCID 1 and the global one filled under it")
	as.LoadCR3(root | 1 | CR3NoFlush)
	require.Equal(t, uint64(0x1111111111111111), f.load(t, upg+0x234, User), "PCID 1 kept its entry")
	as.LoadCR3(root | 1)
	require.Equal(t, uint64(0x2222222222222222), f.load(t, upg+0x234, User), "flushing load drops PCID 1")
	require.Equal(t, uint64(0x1111111111111111), f.load(t, kva, Read), "but not global entries")

	// Clearing PCIDE flushes everything and PCID bits go.
	require.NoError(t, as.SetCR4(as.Regs().CR4&^CR4PCIDE))
	require.Equal(t, root, as.Regs().CR3)
	require.Equal(t, uint64(0x2222222222222222), f.load(t, kva, Read))
}

// TestStaleRights: reducing rights or unmapping without a flush leaves a
// more permissive translation in use, and the debug check says so.
func TestStaleRights(t *testing.T) {
	f := newFixture(t, FourLevel)
	pfn := f.mapPage(t, upg, PageShared)
	require.False(t, f.as.Store(uva, 8, 1, User).Faulted())
	require.NoError(t, f.pt.Protect(upg, PageSize, PageReadonly))
	require.False(t, f.as.Store(uva, 8, 2, User).Faulted(), "stale RW entry allows the write")
	stale := f.as.StaleTLBEntries()
	require.Len(t, stale, 1)
	require.Equal(t, []string{"RW cleared"}, stale[0].Why)
	f.as.Invlpg(uva)
	require.Equal(t, ErrorCode(0x7), f.as.Store(uva, 8, 3, User).Code)
	v, _ := f.as.Load(uva, 8, User)
	require.Equal(t, uint64(2), v)

	require.NoError(t, f.pt.Unmap(upg, PageSize, nil))
	v, flt := f.as.Load(uva, 8, User)
	require.False(t, flt.Faulted(), "stale read after unmap")
	require.Equal(t, uint64(2), v)
	stale = f.as.StaleTLBEntries()
	require.Len(t, stale, 1)
	require.Equal(t, []string{"no longer mapped: #PF error 0x0 at 0x400000: PTE not present"}, stale[0].Why)
	f.as.InvlpgRange(upg, upg+PageSize)
	_, flt = f.as.Load(uva, 8, User)
	require.Equal(t, ErrorCode(0x4), flt.Code)

	// D cleared behind the TLB's back (as page cleaning does before its flush).
	require.NoError(t, f.pt.MapPage(upg, pfn, PageShared))
	require.False(t, f.as.Store(uva, 8, 1, User).Faulted())
	f.patch(t, upg, LevelPT, func(e PTE) PTE { return e &^ PageDirty })
	require.Equal(t, []string{"D cleared"}, f.as.StaleTLBEntries()[0].Why)
	require.False(t, f.as.Store(uva, 8, 1, User).Faulted())
	require.False(t, f.entry(t, upg, LevelPT).Dirty(), "a stale dirty entry writes without setting D")

	// A less permissive cached entry is not stale: the access walks again.
	f.as.FlushAll()
	require.NoError(t, f.pt.Protect(upg, PageSize, PageReadonly))
	f.load(t, uva, User)
	require.NoError(t, f.pt.Protect(upg, PageSize, PageShared))
	require.Empty(t, f.as.StaleTLBEntries())
	require.False(t, f.as.Store(uva, 8, 1, User).Faulted(), "the write walks and succeeds")
}

// TestTLBLargePages: a large page is cached in 4 KiB pieces, and INVLPG
// anywhere inside it drops them all.
func TestTLBLargePages(t *testing.T) {
	f := newFixture(t, FourLevel)
	require.NoError(t, f.pt.MapHuge(0xffffc90000200000, PMDSize, 0x200000, PageKernel))
	f.pm.WritePhys64(0x200000, 1)
	f.pm.WritePhys64(0x3ff000, 2)
	f.pm.WritePhys64(0x600000, 3)
	f.pm.WritePhys64(0x7ff000, 4)
	require.Equal(t, uint64(1), f.load(t, 0xffffc90000200000, Read))
	require.Equal(t, uint64(2), f.load(t, 0xffffc900003ff000, Read))
	require.Equal(t, 2, len(slices.Collect(f.as.TLB().Entries())))
	f.patch(t, 0xffffc90000200000, LevelPD, func(e PTE) PTE { return e&^PTE(pmdPageMask) | 0x600000 })
	require.Len(t, f.as.StaleTLBEntries(), 2)
	f.as.Invlpg(0xffffc90000300000) // a third piece, never cached
	require.Empty(t, slices.Collect(f.as.TLB().Entries()))
	require.Equal(t, uint64(3), f.load(t, 0xffffc90000200000, Read))
	require.Equal(t, uint64(4), f.load(t, 0xffffc900003ff000, Read))
	e := slices.Collect(f.as.TLB().Entries())
	require.Equal(t, "0xffffc90000200000 -> pfn 0x600 2 MiB RW|D|G pcid 0", e[0].String())

	// InvlpgRange over part of a large page drops the pieces too.
	f.as.InvlpgRange(0xffffc90000250000, 0xffffc90000251000)
	require.Empty(t, slices.Collect(f.as.TLB().Entries()))
}

func TestInvlpgRange(t *testing.T) {
	f := newFixture(t, FourLevel)
	for i := range uint64(5) {
		f.mapPage(t, kpg+i*PageSize, PageKernel)
		f.load(t, kpg+i*PageSize, Read)
	}
	f.as.InvlpgRange(kpg+PageSize, kpg+4*PageSize)
	var vas []uint64
	for e := range f.as.TLB().Entries() {
		vas = append(vas, e.VA)
	}
	require.Equal(t, []uint64{kpg, kpg + 4*PageSize}, vas)
	f.as.InvlpgRange(kpg, kpg) // empty
	require.Len(t, slices.Collect(f.as.TLB().Entries()), 2)
	// The last page of the address space: end 0 stands for 2^64.
	const top = 0xfffffffffffff000
	f.mapPage(t, top, PageKernel)
	f.load(t, top, Read)
	require.NoError(t, f.pt.Unmap(top, PageSize, nil))
	f.as.InvlpgRange(top, 0)
	_, flt := f.as.Load(top, 8, Read)
	require.Equal(t, CauseNotPresent, flt.Cause)
	// A range longer than the TLB scans the entries instead.
	f.as.InvlpgRange(0xffffc90000000000, 0xffffe90000000000)
	require.Empty(t, slices.Collect(f.as.TLB().Entries()))
}

// TestSharedTLB: two processes on one CPU share a TLB; switching without
// a CR3 load uses the previous process's translations.
func TestSharedTLB(t *testing.T) {
	f := newFixture(t, FourLevel)
	a, b := f.twoFrames(t)
	tlb, err := NewTLB(64)
	require.NoError(t, err)
	p1, err := NewProcessPageTable(f.pt, PageTableConfig{})
	require.NoError(t, err)
	p2, err := NewProcessPageTable(f.pt, PageTableConfig{})
	require.NoError(t, err)
	require.NoError(t, p1.MapPage(upg, a, PageShared))
	require.NoError(t, p2.MapPage(upg, b, PageShared))
	as1, err := NewAddressSpace(p1, AddressSpaceConfig{TLB: tlb})
	require.NoError(t, err)
	as2, err := NewAddressSpace(p2, AddressSpaceConfig{TLB: tlb})
	require.NoError(t, err)
	v, _ := as1.Load(upg+0x234, 8, User)
	require.Equal(t, uint64(0x1111111111111111), v)
	v, _ = as2.Load(upg+0x234, 8, User)
	require.Equal(t, uint64(0x1111111111111111), v, "no CR3 load: process 1's translation")
	as2.LoadCR3(p2.Root().Addr())
	v, _ = as2.Load(upg+0x234, 8, User)
	require.Equal(t, uint64(0x2222222222222222), v)

	p5, err := NewPageTable(f.pm, PageTableConfig{Mode: FiveLevel})
	require.NoError(t, err)
	_, err = NewAddressSpace(p5, AddressSpaceConfig{TLB: tlb})
	require.ErrorIs(t, err, errno.EINVAL, "a TLB serves one paging mode")
}

func TestAddressSpaceConfig(t *testing.T) {
	f := newFixture(t, FourLevel)
	regs := DefaultRegs(FiveLevel)
	for _, cfg := range []AddressSpaceConfig{{Regs: &regs}, {MaxPhyAddr: 35}, {MaxPhyAddr: 53}} {
		_, err := NewAddressSpace(f.pt, cfg)
		require.ErrorIs(t, err, errno.EINVAL, "%+v", cfg)
	}
	_, err := NewAddressSpace(f.pt, AddressSpaceConfig{MaxPhyAddr: 36})
	require.NoError(t, err, "64 GiB fit 36 bits")
	big, err := NewPhysMem(PhysMemConfig{Size: 128 << 30})
	require.NoError(t, err)
	bigPT, err := NewPageTable(big, PageTableConfig{})
	require.NoError(t, err)
	_, err = NewAddressSpace(bigPT, AddressSpaceConfig{MaxPhyAddr: 36})
	require.ErrorIs(t, err, errno.EINVAL, "128 GiB do not")
	for _, n := range []int{-1, 3, 1000} {
		_, err := NewTLB(n)
		require.ErrorIs(t, err, errno.EINVAL)
	}
	tlb, err := NewTLB(0)
	require.NoError(t, err)
	require.Equal(t, DefaultTLBEntries, tlb.Len())
	_ = tlb
}

func TestAddressSpaceTrace(t *testing.T) {
	f := newFixture(t, FourLevel)
	var rec trace.Recorder
	f.as.SetTracer(trace.New(&rec, trace.Of(trace.Walk, trace.Fault, trace.TLBFlush)))
	f.mapPage(t, kpg, PageKernel)
	f.load(t, kva, Read)
	f.load(t, kva, Read) // a hit: no event
	f.as.Load(0x0000800000000000, 8, Read)
	f.as.Load(kva+PageSize, 8, Read)
	f.as.Invlpg(kva)
	require.Equal(t, []string{
		"#1 walk cpu0 addr=0xffffc90000201234 val=0x101234 PML4[402]=0x102067 PDPT[0]=0x103067 PD[1]=0x104067 PT[1]=0x8000000000101163 => PA 0x101234",
		"#2 fault cpu0 addr=0x800000000000 #GP(0) at 0x800000000000: non-canonical address",
		"#3 walk cpu0 addr=0xffffc90000202234 PML4[402]=0x102067 PDPT[0]=0x103067 PD[1]=0x104067 PT[2]=0x0 => #PF error 0x0 at 0xffffc90000202234: PTE not present",
		"#4 fault cpu0 addr=0xffffc90000202234 #PF error 0x0 at 0xffffc90000202234: PTE not present",
		"#5 tlb_flush cpu0 addr=0xffffc90000201234 len=0x1000 invlpg",
	}, eventLines(&rec))
	require.Equal(t, "cpu0: CR0=PE|MP|ET|NE|WP|AM|PG CR3=0x100000 CR4=PAE|PGE|SMEP|SMAP EFER=SCE|LME|LMA|NXE AC=false PKRU=0x0 PKRS=0x0, TLB 1024 entries", f.as.String())
}

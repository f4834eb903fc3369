package mmu

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	kva = 0xffffc90000201234 // spec 7.1: PML4 402, PDPT 0, PD 1, PT 1, offset 0x234
	kpg = kva &^ pageOffsetMask
	uva = 0x0000000000400123 // a user address: PML4 0, PDPT 0, PD 2, PT 0
	upg = uva &^ pageOffsetMask
	bit = PTE(1)
)

// TestIndexSplit is spec 7.1 case 3 and the layout examples of section 3.
func TestIndexSplit(t *testing.T) {
	for _, c := range []struct {
		va   uint64
		mode PagingMode
		want []int // indices from the root down
	}{
		{0xffffc90000201234, FourLevel, []int{402, 0, 1, 1}},
		{0x0000000000400000, FourLevel, []int{0, 0, 2, 0}},
		{0x00007f0000000000, FourLevel, []int{254, 0, 0, 0}},
		{0xffffc90000000000, FourLevel, []int{402, 0, 0, 0}},
		{0xffff888000000000, FourLevel, []int{273, 0, 0, 0}},
		{0xffffffff81000000, FourLevel, []int{511, 510, 8, 0}},
		{0xffa0000000000000, FiveLevel, []int{416, 0, 0, 0, 0}},
	} {
		var got []int
		for l := c.mode.Top(); l >= LevelPT; l-- {
			got = append(got, l.Index(c.va))
		}
		require.Equal(t, c.want, got, "0x%x", c.va)
	}
	require.Equal(t, 0x234, int(kva&pageOffsetMask))
}

// TestCanonical is spec 7.1 cases 1 and 2: #GP(0) for a non-canonical
// address, with CR2 untouched and not one byte of the tables changed.
func TestCanonical(t *testing.T) {
	for _, c := range []struct {
		mode      PagingMode
		va        uint64
		canonical bool
	}{
		{FourLevel, 0x00007fffffffffff, true},
		{FourLevel, 0xffff800000000000, true},
		{FourLevel, 0x0000800000000000, false},
		{FourLevel, 0xffff7fffffffffff, false},
		{FiveLevel, 0x0000800000000000, true},
		{FiveLevel, 0xffff7fffffffffff, true},
		{FiveLevel, 0x00ffffffffffffff, true},
		{FiveLevel, 0xff00000000000000, true},
		{FiveLevel, 0x0100000000000000, false},
		{FiveLevel, 0xfeffffffffffffff, false},
	} {
		require.Equal(t, c.canonical, c.mode.Canonical(c.va), "%v 0x%x", c.mode, c.va)
		f := newFixture(t, c.mode)
		// A prior #PF leaves CR2 at a known value, and a mapped page with
		// A clear everywhere would show any walk.
		f.mapPage(t, kpg, PageKernel)
		for l := c.mode.Top(); l >= LevelPT; l-- {
			f.patch(t, kpg, l, func(e PTE) PTE { return e &^ PageAccessed })
		}
		_, flt := f.as.Load(0xffffc90000400000, 8, Read)
		require.Equal(t, VecPF, flt.Vector)
		cr2 := f.as.Regs().CR2
		before := f.tableSnapshot()

		for _, acc := range []Access{Read, Write, Fetch, User, User | Write} {
			_, flt = f.as.Translate(c.va, acc)
			if c.canonical {
				require.NotEqual(t, VecGP, flt.Vector, "%v 0x%x %v", c.mode, c.va, acc)
				continue
			}
			require.Equal(t, Fault{Vector: VecGP, Addr: c.va, Cause: CauseNonCanonical}, flt, "%v 0x%x %v", c.mode, c.va, acc)
			require.Equal(t, cr2, f.as.Regs().CR2, "CR2 must not change on #GP")
			require.Equal(t, before, f.tableSnapshot(), "a #GP reads no table")
		}
	}
}

// TestErrorCodes covers spec 7.1 cases 4-14 and 18: each row builds
// entries, runs one access and expects a #PF error code (or success).
func TestErrorCodes(t *testing.T) {
	type setup func(t *testing.T, f *fixture)
	userPage := func(prot PTE) setup {
		return func(t *testing.T, f *fixture) { f.mapPage(t, upg, prot) }
	}
	kernPage := func(prot PTE) setup {
		return func(t *testing.T, f *fixture) { f.mapPage(t, kpg, prot) }
	}
	then := func(s setup, va uint64, l Level, fn func(PTE) PTE) setup {
		return func(t *testing.T, f *fixture) { s(t, f); f.patch(t, va, l, fn) }
	}
	clear := func(b PTE) func(PTE) PTE { return func(e PTE) PTE { return e &^ b } }
	set := func(b PTE) func(PTE) PTE { return func(e PTE) PTE { return e | b } }
	regs := func(s setup, fn func(as *AddressSpace)) setup {
		return func(t *testing.T, f *fixture) {
			if s != nil {
				s(t, f)
			}
			fn(f.as)
		}
	}
	withCR4 := func(set, clr CR4) func(as *AddressSpace) {
		return func(as *AddressSpace) { require.NoError(t, as.SetCR4(as.Regs().CR4&^clr|set)) }
	}
	huge2M := func(t *testing.T, f *fixture) {
		require.NoError(t, f.pt.MapHuge(0xffffc90000200000, PMDSize, 0x200000, PageKernel))
	}
	huge1G := func(t *testing.T, f *fixture) {
		require.NoError(t, f.pt.MapHuge(0xffff888000000000, PUDSize, 0x140000000, PageKernel))
	}
	pk := func(s setup, pkru uint32) setup {
		return regs(then(s, upg, LevelPT, set(PTE(1)<<pkeyShift)), func(as *AddressSpace) {
			require.NoError(t, as.SetCR4(as.Regs().CR4|CR4PKE))
			as.SetPKRU(pkru)
		})
	}
	ok := Fault{}

	for _, c := range []struct {
		name  string
		setup setup
		va    uint64
		acc   Access
		want  Fault
		pa    uint64 // expected PA on success, if not 0
	}{
		{"4 empty root, supervisor read", nil, kva, Read, pfCode(0x0), 0},
		{"5 supervisor write, PTE not present", kernPage(PageKernel), kva + PageSize, Write, pfCode(0x2), 0},
		{"6 user read, PTE P=0", then(userPage(PageShared), upg, LevelPT, clear(PagePresent)), uva, User, pfCode(0x4), 0},
		{"6 user write, PTE P=0", then(userPage(PageShared), upg, LevelPT, clear(PagePresent)), uva, User | Write, pfCode(0x6), 0},
		{"7 user read, US=0 in PML4E", then(userPage(PageShared), upg, LevelPML4, clear(PageUser)), uva, User, pfCode(0x5), 0},
		{"7 user write, US=0 in PML4E", then(userPage(PageShared), upg, LevelPML4, clear(PageUser)), uva, User | Write, pfCode(0x7), 0},
		{"8 user write, read-only PTE", userPage(PageReadonly), uva, User | Write, pfCode(0x7), 0},
		{"8 user write, RW=0 in PDE only", then(userPage(PageShared), upg, LevelPD, clear(PageRW)), uva, User | Write, pfCode(0x7), 0},
		{"8 user read, read-only PTE", userPage(PageReadonly), uva, User, ok, 0},
		{"9 supervisor write, read-only, WP=1", kernPage(PageKernelRO), kva, Write, pfCode(0x3), 0},
		{"9 supervisor write, read-only, WP=0", regs(kernPage(PageKernelRO), func(as *AddressSpace) { as.SetCR0(as.Regs().CR0 &^ CR0WP) }), kva, Write, ok, 0},
		{"10 user fetch, XD in PTE", userPage(PageShared), uva, User | Fetch, pfCode(0x15), 0},
		{"10 user fetch, XD in PDPTE only", then(userPage(PageSharedExec), upg, LevelPDPT, set(PageNX)), uva, User | Fetch, pfCode(0x15), 0},
		{"10 user fetch, executable", userPage(PageSharedExec), uva, User | Fetch, ok, 0},
		{"10 NXE=0: user read of NX entry", regs(userPage(PageShared), func(as *AddressSpace) { as.SetEFER(as.Regs().EFER &^ EFERNX) }), uva, User, pfCode(0xd), 0},
		{"10 NXE=0: user write of NX entry", regs(userPage(PageShared), func(as *AddressSpace) { as.SetEFER(as.Regs().EFER &^ EFERNX) }), uva, User | Write, pfCode(0xf), 0},
		{"10 NXE=0: user fetch, SMEP=1", regs(userPage(PageShared), func(as *AddressSpace) { as.SetEFER(as.Regs().EFER &^ EFERNX) }), uva, User | Fetch, pfCode(0x1d), 0},
		{"10 NXE=0: user fetch, SMEP=0", regs(regs(userPage(PageShared), func(as *AddressSpace) { as.SetEFER(as.Regs().EFER &^ EFERNX) }), withCR4(0, CR4SMEP)), uva, User | Fetch, pfCode(0xd), 0},
		{"10 NXE=0: user fetch not present, SMEP=0", regs(nil, func(as *AddressSpace) {
			as.SetEFER(as.Regs().EFER &^ EFERNX)
			require.NoError(t, as.SetCR4(as.Regs().CR4&^CR4SMEP))
		}), uva, User | Fetch, pfCode(0x4), 0},
		{"11 supervisor fetch, user page, SMEP=1", userPage(PageSharedExec), uva, Fetch, pfCode(0x11), 0},
		{"11 supervisor fetch, user page, SMEP=0", regs(userPage(PageSharedExec), withCR4(0, CR4SMEP)), uva, Fetch, ok, 0},
		{"11 supervisor fetch, NX kernel page", kernPage(PageKernel), kva, Fetch, pfCode(0x11), 0},
		{"11 supervisor fetch, not present", nil, kva, Fetch, pfCode(0x10), 0},
		{"11 user fetch, not present", nil, uva, User | Fetch, pfCode(0x14), 0},
		{"12 supervisor read, user page, SMAP, AC=0", userPage(PageShared), uva, Read, pfCode(0x1), 0},
		{"12 supervisor write, user page, SMAP, AC=0", userPage(PageShared), uva, Write, pfCode(0x3), 0},
		{"12 supervisor read, user page, SMAP, AC=1", regs(userPage(PageShared), func(as *AddressSpace) { as.SetAC(true) }), uva, Read, ok, 0},
		{"12 supervisor implicit read, user page, SMAP, AC=1", regs(userPage(PageShared), func(as *AddressSpace) { as.SetAC(true) }), uva, Implicit, pfCode(0x1), 0},
		{"12 supervisor read, user page, SMAP=0", regs(userPage(PageShared), withCR4(0, CR4SMAP)), uva, Read, ok, 0},
		{"13 PDE bit 50 (MAXPHYADDR 46)", then(kernPage(PageKernel), kpg, LevelPD, set(bit<<50)), kva, Read, pfCode(0x9), 0},
		{"13 PDE bit 46 (MAXPHYADDR 46)", then(kernPage(PageKernel), kpg, LevelPD, set(bit<<46)), kva, Read, pfCode(0x9), 0},
		{"13 PDE bit 45 is an address bit: the PT beyond RAM reads as all ones", then(kernPage(PageKernel), kpg, LevelPD, set(bit<<45)), kva, Read, pfCode(0x9), 0},
		{"13 PML4E with PS", then(kernPage(PageKernel), kpg, LevelPML4, set(PagePSE)), kva, Read, pfCode(0x9), 0},
		{"13 2 MiB PDE with bit 13", then(huge2M, kpg, LevelPD, set(bit<<13)), kva, Read, pfCode(0x9), 0},
		{"13 2 MiB PDE with bit 20", then(huge2M, kpg, LevelPD, set(bit<<20)), kva, Read, pfCode(0x9), 0},
		{"13 2 MiB PDE with PAT (bit 12)", then(huge2M, kpg, LevelPD, set(PagePATLarge)), kva, Read, ok, 0x201234},
		{"13 1 GiB PDPTE with bit 29", then(huge1G, 0xffff888000000000, LevelPDPT, set(bit<<29)), 0xffff888012345678, Read, pfCode(0x9), 0},
		{"13 1 GiB PDPTE with bit 13", then(huge1G, 0xffff888000000000, LevelPDPT, set(bit<<13)), 0xffff888012345678, Read, pfCode(0x9), 0},
		{"13 4 KiB PTE with PAT (bit 7)", then(kernPage(PageKernel), kpg, LevelPT, set(PagePAT)), kva, Read, ok, 0},
		{"13 reserved bit, user write", then(userPage(PageShared), upg, LevelPT, set(bit<<51)), uva, User | Write, pfCode(0xf), 0},
		{"14 PDE P=0 with garbage", then(kernPage(PageKernel), kpg, LevelPD, func(PTE) PTE { return ^PagePresent }), kva, Read, pfCode(0x0), 0},
		{"15 2 MiB leaf", huge2M, kva, Read, ok, 0x201234},
		{"15 1 GiB leaf", huge1G, 0xffff888012345678, Read, ok, 0x152345678},
		{"18 PK WD1: user write", pk(userPage(PageShared), 0b1000), uva, User | Write, pfCode(0x27), 0},
		{"18 PK WD1: user write to read-only page", pk(userPage(PageReadonly), 0b1000), uva, User | Write, pfCode(0x27), 0},
		{"18 PK WD1: user read", pk(userPage(PageShared), 0b1000), uva, User, ok, 0},
		{"18 PK AD1: user read", pk(userPage(PageShared), 0b0100), uva, User, pfCode(0x25), 0},
		{"18 PK AD1: user fetch", pk(userPage(PageSharedExec), 0b0100), uva, User | Fetch, ok, 0},
		{"18 PK WD1: supervisor write, SMAP on", pk(userPage(PageShared), 0b1000), uva, Write, pfCode(0x23), 0},
		{"18 PK WD1: supervisor write, SMAP off", regs(pk(userPage(PageShared), 0b1000), withCR4(0, CR4SMAP)), uva, Write, pfCode(0x23), 0},
		{"18 PK AD1: supervisor write, SMAP off", regs(pk(userPage(PageShared), 0b0100), withCR4(0, CR4SMAP)), uva, Write, pfCode(0x23), 0},
		{"18 PK WD1, WP=0: supervisor write, SMAP off", regs(pk(userPage(PageShared), 0b1000), func(as *AddressSpace) {
			require.NoError(t, as.SetCR4(as.Regs().CR4&^CR4SMAP))
			as.SetCR0(as.Regs().CR0 &^ CR0WP)
		}), uva, Write, ok, 0},
		{"18 supervisor page, key 1, PKS off", regs(then(kernPage(PageKernel), kpg, LevelPT, set(PTE(1)<<pkeyShift)), func(as *AddressSpace) {
			require.NoError(t, as.SetCR4(as.Regs().CR4|CR4PKE))
			as.SetPKRU(0b1100)
		}), kva, Write, ok, 0},
		{"18 supervisor page, key 1, PKS on", regs(then(kernPage(PageKernel), kpg, LevelPT, set(PTE(1)<<pkeyShift)), func(as *AddressSpace) {
			require.NoError(t, as.SetCR4(as.Regs().CR4|CR4PKS))
			as.SetPKRS(0b0100)
		}), kva, Read, pfCode(0x21), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, FourLevel)
			if c.setup != nil {
				c.setup(t, f)
			}
			dry := f.as.Walk(c.va, c.acc)
			pa, flt := f.as.Translate(c.va, c.acc)
			if !c.want.Faulted() {
				require.False(t, flt.Faulted(), "unexpected %v\n%v", flt, &dry)
				if c.pa != 0 {
					require.Equal(t, c.pa, pa)
				}
				require.Equal(t, pa, dry.PA, "dry walk agrees")
				return
			}
			requireFault(t, f.as, c.va, flt, c.want)
			require.Equal(t, flt, dry.Fault, "dry walk agrees")
		})
	}
}

// TestRsvdWithoutP is the QEMU-parity switch of spec 2.8.
func TestRsvdWithoutP(t *testing.T) {
	f := newFixture(t, FourLevel)
	as, err := NewAddressSpace(f.pt, AddressSpaceConfig{RsvdWithoutP: true})
	require.NoError(t, err)
	f.mapPage(t, kpg, PageKernel)
	f.patch(t, kpg, LevelPD, func(e PTE) PTE { return e | bit<<50 })
	_, flt := as.Translate(kva, Read)
	require.Equal(t, ErrorCode(0x8), flt.Code)
}

// TestNo1GPages: without 1 GiB page support, PS in a PDPTE is reserved.
func TestNo1GPages(t *testing.T) {
	f := newFixture(t, FourLevel)
	as, err := NewAddressSpace(f.pt, AddressSpaceConfig{No1GPages: true})
	require.NoError(t, err)
	require.NoError(t, f.pt.MapHuge(0xffff888000000000, PUDSize, 0x140000000, PageKernel))
	_, flt := as.Translate(0xffff888000000000, Read)
	require.Equal(t, pfCode(0x9).Code, flt.Code)
	require.Equal(t, CauseReserved, flt.Cause)
	require.Equal(t, LevelPDPT, flt.Level)
}

// TestAccessedOnFaultingWalk is spec 7.1 case 5: the upper entries get A
// even though the walk faults at the PTE; nothing else changes.
func TestAccessedOnFaultingWalk(t *testing.T) {
	f := newFixture(t, FourLevel)
	f.mapPage(t, kpg-PageSize, PageKernel) // same PT, so the path to kva exists
	for _, l := range []Level{LevelPML4, LevelPDPT, LevelPD} {
		f.patch(t, kpg, l, func(e PTE) PTE { return e &^ PageAccessed })
	}
	before := f.tableSnapshot()
	_, flt := f.as.Translate(kva, Write)
	requireFault(t, f.as, kva, flt, pfCode(0x2))
	after := f.tableSnapshot()
	for _, l := range []Level{LevelPML4, LevelPDPT, LevelPD} {
		require.True(t, f.entry(t, kpg, l).Accessed(), "%v", l)
	}
	changed := 0
	for pfn := range before {
		if before[pfn] != after[pfn] {
			changed++
		}
	}
	require.Equal(t, 3, changed, "only the three upper tables change")
	require.Equal(t, PTE(0), f.entry(t, kpg, LevelPT))
}

// TestAccessedDirty is spec 7.1 cases 9 (WP=0 sets A and D), 16 and 17.
func TestAccessedDirty(t *testing.T) {
	t.Run("16 read sets A everywhere, write sets D in the leaf", func(t *testing.T) {
		f := newFixture(t, FourLevel)
		f.mapPage(t, kpg, PageKernel)
		for l := LevelPML4; l >= LevelPT; l-- {
			f.patch(t, kpg, l, func(e PTE) PTE { return e &^ (PageAccessed | PageDirty) })
		}
		_, flt := f.as.Load(kva, 8, Read)
		require.False(t, flt.Faulted())
		for l := LevelPML4; l >= LevelPT; l-- {
			e := f.entry(t, kpg, l)
			require.True(t, e.Accessed(), "%v", l)
			require.False(t, e.Dirty(), "%v", l)
		}
		require.False(t, f.as.Store(kva, 8, 7, Read).Faulted())
		require.True(t, f.entry(t, kpg, LevelPT).Dirty())
		for l := LevelPML4; l > LevelPT; l-- {
			require.False(t, f.entry(t, kpg, l).Dirty(), "non-leaf %v bit 6 never changes", l)
		}
	})
	t.Run("16 large leaf gets D", func(t *testing.T) {
		f := newFixture(t, FourLevel)
		require.NoError(t, f.pt.MapHuge(0xffffc90000200000, PMDSize, 0x200000, PageKernel&^(PageAccessed|PageDirty)))
		require.False(t, f.as.Store(kva, 4, 7, Read).Faulted())
		e := f.entry(t, kpg, LevelPD)
		require.True(t, e.Accessed() && e.Dirty() && e.Huge(), "%v", e)
	})
	t.Run("17 protection fault leaves A/D", func(t *testing.T) {
		f := newFixture(t, FourLevel)
		f.mapPage(t, upg, PageReadonly&^PageAccessed)
		before := f.entry(t, upg, LevelPT)
		flt := f.as.Store(uva, 8, 1, User)
		require.Equal(t, ErrorCode(0x7), flt.Code)
		require.Equal(t, before, f.entry(t, upg, LevelPT))
	})
	t.Run("9 WP=0 write to read-only sets A and D", func(t *testing.T) {
		f := newFixture(t, FourLevel)
		f.mapPage(t, kpg, PageKernelRO&^PageAccessed)
		f.as.SetCR0(f.as.Regs().CR0 &^ CR0WP)
		require.False(t, f.as.Store(kva, 8, 1, Read).Faulted())
		e := f.entry(t, kpg, LevelPT)
		require.True(t, e.Accessed() && e.Dirty())
		require.False(t, e.Writable())
	})
}

// TestDirtyRewalk is spec 7.1 case 21: a read caches the entry with D=0;
// the next write must walk again and set D in memory.
func TestDirtyRewalk(t *testing.T) {
	f := newFixture(t, FourLevel)
	f.mapPage(t, kpg, PageKernel&^PageDirty)
	_, flt := f.as.Load(kva, 8, Read)
	require.False(t, flt.Faulted())
	misses := f.as.TLB().Stats().Misses
	_, flt = f.as.Load(kva, 8, Read)
	require.False(t, flt.Faulted())
	require.Equal(t, misses, f.as.TLB().Stats().Misses, "second read hits")
	require.False(t, f.entry(t, kpg, LevelPT).Dirty())
	require.False(t, f.as.Store(kva, 8, 1, Read).Faulted())
	require.Equal(t, misses+1, f.as.TLB().Stats().Misses, "first write walks")
	require.True(t, f.entry(t, kpg, LevelPT).Dirty())
	require.False(t, f.as.Store(kva, 8, 2, Read).Faulted())
	require.Equal(t, misses+1, f.as.TLB().Stats().Misses, "second write hits")
}

// TestWalkString prints a walk the way a teacher reads it.
func TestWalkString(t *testing.T) {
	f := newFixture(t, FourLevel)
	data := f.mapPage(t, kpg, PageKernel&^PageAccessed) // frame 0x101; the tables follow
	require.Equal(t, PFN(0x101), data)
	r := f.as.Walk(kva, Write)
	root := f.pt.Root().Addr()
	want := "walk 0xffffc90000201234 supervisor write, 4-level, CR3 0x100000\n" +
		"  PML4[402] @0x100c90 = 0x0000000000102067 P|RW|US|A|D -> PDPT 0x102000\n" +
		"  PDPT[0]   @0x102000 = 0x0000000000103067 P|RW|US|A|D -> PD 0x103000\n" +
		"  PD[1]     @0x103008 = 0x0000000000104067 P|RW|US|A|D -> PT 0x104000\n" +
		"  PT[1]     @0x104008 = 0x8000000000101143 P|RW|D|G|NX -> 4 KiB page 0x101000 (sets A)\n" +
		"  => PA 0x101234"
	require.Equal(t, uint64(0x100000), root)
	require.Equal(t, want, r.String())
	require.Equal(t, "PML4[402]=0x102067 PDPT[0]=0x103067 PD[1]=0x104067 PT[1]=0x8000000000101143 => PA 0x101234", r.Short())
	require.False(t, f.entry(t, kpg, LevelPT).Accessed(), "Walk is a dry run")

	r = f.as.Walk(kva+PageSize, Read)
	require.Equal(t, "walk 0xffffc90000202234 supervisor read, 4-level, CR3 0x100000\n"+
		"  PML4[402] @0x100c90 = 0x0000000000102067 P|RW|US|A|D -> PDPT 0x102000\n"+
		"  PDPT[0]   @0x102000 = 0x0000000000103067 P|RW|US|A|D -> PD 0x103000\n"+
		"  PD[1]     @0x103008 = 0x0000000000104067 P|RW|US|A|D -> PT 0x104000\n"+
		"  PT[2]     @0x104010 = 0x0000000000000000 none -> not present\n"+
		"  => #PF error 0x0 at 0xffffc90000202234: PTE not present", r.String())

	f.patch(t, kpg, LevelPD, func(e PTE) PTE { return e | bit<<50 })
	r = f.as.Walk(kva, User)
	require.Contains(t, r.String(), "=> #PF error 0xd (P|U|RSVD) at 0xffffc90000201234: PDE reserved bit set (bits 0x4000000000000)")
	r = f.as.Walk(0x0000800000000000, Read)
	require.Equal(t, "walk 0x800000000000 supervisor read, 4-level, CR3 0x100000\n  => #GP(0) at 0x800000000000: non-canonical address", r.String())
}

package mmu

import (
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// walkOutcome is what a walk returns, for comparing walkFast with walk.
type walkOutcome struct {
	PA   uint64
	Leaf PTE
	Lvl  Level
	Perm tlbPerm
	F    Fault
}

// randomPath builds the tables of one translation path for va with random
// entries: absent, garbage with P clear, tables with any flags (reserved
// bits and PS included), large leaves aligned or not, entries that point
// back into the path or beyond RAM, and a 4 KiB leaf. RAM is small, so
// "beyond RAM" is easy to reach.
func randomPath(t *rapid.T, pm *PhysMem, pt *PageTable, va uint64) {
	common := []PTE{PageRW, PageUser, PageAccessed, PageDirty, PageGlobal}
	rare := []PTE{PageNX, PagePWT, PagePCD, PTE(1) << pkeyShift, PTE(3) << pkeyShift, PageSoftW1, PageSoftW4}
	randomFlags := func(name string) PTE {
		var e PTE
		for i, f := range common {
			if rapid.IntRange(0, 4).Draw(t, name+"_c"+string(rune('a'+i))) != 4 {
				e |= f
			}
		}
		for i, f := range rare {
			if rapid.IntRange(0, 2).Draw(t, name+"_r"+string(rune('a'+i))) == 2 {
				e |= f
			}
		}
		return e
	}
	var path []PFN
	table := pt.Root()
	for l := pt.Mode().Top(); l >= LevelPT; l-- {
		path = append(path, table)
		ea := table.Addr() + uint64(l.Index(va))*8
		fl := randomFlags("flags")
		var e PTE
		// rapid favours small draws: 0 is the common case, a table.
		kind := rapid.IntRange(0, 19).Draw(t, "kind")
		switch {
		case kind == 16:
			e = 0
		case kind == 17:
			e = PTE(rapid.Uint64().Draw(t, "garbage")) &^ PagePresent
		case kind == 18 && l.CanBeLeaf() && l > LevelPT:
			// A large leaf, aligned or with a reserved low bit set.
			addr := rapid.Uint64Range(0, pm.Size()/PUDSize).Draw(t, "large") * l.Size()
			e = PTE(addr) | fl | PagePresent | PagePSE
			if rapid.Bool().Draw(t, "pat") {
				e |= PagePATLarge
			}
			if rapid.Bool().Draw(t, "misaligned") {
				e |= PTE(1) << rapid.IntRange(13, int(l.Shift())-1).Draw(t, "lowbit")
			}
		case kind == 19:
			// Back into the path (a recursive mapping) or beyond RAM.
			target := pm.Size() + rapid.Uint64Range(0, 1<<20).Draw(t, "beyond")&^pageOffsetMask
			if rapid.Bool().Draw(t, "recursive") {
				target = path[rapid.IntRange(0, len(path)-1).Draw(t, "back")].Addr()
			}
			e = PTE(target) | fl | PagePresent
		default:
			next, err := pm.AllocPage(GFPKernel | GFPZero)
			if err != nil {
				t.Fatalf("%v", err)
			}
			if l == LevelPT {
				pm.WritePhys64(next.Addr()+va&pageOffsetMask&^7, 0x1122334455667788) // the data
			}
			e = NewPTE(next, fl|PagePresent)
			if rapid.IntRange(0, 19).Draw(t, "rarely") == 19 {
				e |= PTE(1) << rapid.SampledFrom([]int{7, 46, 50, 51}).Draw(t, "rsvdbit")
			}
			table = next
		}
		pm.WritePhys64(ea, uint64(e))
		if kind >= 16 {
			break
		}
	}
}

// TestWalkFastAgrees checks that the TLB-miss walk (walkFast, with its
// shadows) gives exactly what the general walk gives, from cold and warm
// shadows and after entries change behind its back: the same outcome, and
// the same A and D updates in memory.
func TestWalkFastAgrees(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pm, err := NewPhysMem(PhysMemConfig{Size: 64 << 20})
		require.NoError(t, err)
		pt, err := NewPageTable(pm, PageTableConfig{Mode: rapid.SampledFrom([]PagingMode{FourLevel, FiveLevel}).Draw(t, "mode")})
		require.NoError(t, err)
		regs := DefaultRegs(pt.Mode())
		for _, b := range []CR4{CR4SMEP, CR4SMAP, CR4PKE, CR4PKS, CR4PGE} {
			if rapid.Bool().Draw(t, "cr4") {
				regs.CR4 ^= b
			}
		}
		if rapid.Bool().Draw(t, "wp") {
			regs.CR0 &^= CR0WP
		}
		if rapid.Bool().Draw(t, "nxe") {
			regs.EFER &^= EFERNX
		}
		if rapid.Bool().Draw(t, "ac") {
			regs.RFLAGS |= RFLAGSAC
		}
		regs.PKRU = rapid.Uint32().Draw(t, "pkru")
		regs.PKRS = rapid.Uint32().Draw(t, "pkrs")
		as, err := NewAddressSpace(pt, AddressSpaceConfig{
			Regs:         &regs,
			MaxPhyAddr:   rapid.SampledFrom([]uint8{36, 46, 52}).Draw(t, "maxphyaddr"),
			No1GPages:    rapid.Bool().Draw(t, "no1g"),
			RsvdWithoutP: rapid.Bool().Draw(t, "rsvdwithoutp"),
		})
		require.NoError(t, err)

		va := rapid.SampledFrom([]uint64{kva, uva, 0xffff888012345678, 0x00007ffffffff008, 0xffa0000000001000}).Draw(t, "va")
		if !pt.Mode().Canonical(va) {
			va = uva
		}
		randomPath(t, pm, pt, va)
		// Every access kind, three times over: the first pass fills the
		// shadows, later ones use them; now and then an entry changes.
		for pass := range 3 {
			for _, acc := range rigAccesses() {
				if pass > 0 && rapid.IntRange(0, 3).Draw(t, "patch") == 3 {
					dry := as.Walk(va, Read)
					steps := dry.Steps()
					s := steps[len(steps)-1-rapid.IntRange(0, len(steps)-1).Draw(t, "step")] // the last one most often
					flip := rapid.SampledFrom([]int{5, 6, 0, 1, 2, 7, 8, 12, 13, 21, 63}).Draw(t, "flip")
					pm.WritePhys64(s.EntryAddr, uint64(s.Entry^PTE(1)<<flip))
				}
				checkWalkFast(t, pm, as, va, acc)
			}
		}
	})
}

// checkWalkFast runs walkFast for va and acc and compares it with a dry
// run of walk from the same state: the same outcome, and in memory
// exactly the A and D bits the dry run says the walk sets.
func checkWalkFast(t *rapid.T, pm *PhysMem, as *AddressSpace, va uint64, acc Access) {
	dry := as.Walk(va, acc)
	before := map[uint64]uint64{}
	want := map[uint64]uint64{}
	for _, s := range dry.Steps() {
		v, ok := want[s.EntryAddr]
		if !ok {
			v = pm.ReadPhys64(s.EntryAddr)
			before[s.EntryAddr] = v
		}
		if s.SetA {
			v |= uint64(PageAccessed)
		}
		if s.SetD {
			v |= uint64(PageDirty)
		}
		want[s.EntryAddr] = v
	}
	pa, leaf, lvl, perm, f := walk(pm, &as.ctl, va, acc, nil, false)
	ref := walkOutcome{pa, leaf, lvl, perm, f.at(va)}
	pa, leaf, lvl, perm, data, f := walkFast(pm, &as.ctl, va, acc)
	got := walkOutcome{pa, leaf, lvl, perm, f.at(va)}
	require.Equal(t, ref, got, "walkFast and walk disagree on %v\n%v", acc, &dry)
	require.Equal(t, dry.Fault, got.F, "dry Walk")
	for ea, v := range want {
		require.Equal(t, v, pm.ReadPhys64(ea), "entry at %#x (was %#x) after %v\n%v", ea, before[ea], acc, &dry)
	}
	if data != nil {
		require.Equal(t, LevelPT, lvl, "data only for a 4 KiB leaf")
		require.Same(t, pm.frame(PhysPFN(pa)), data, "data is the page's bytes")
	}
}

// TestShadowFollowsEntries changes entries behind the walker's back after
// its shadows have been filled: each access after the flush must see the
// tables as they are now.
func TestShadowFollowsEntries(t *testing.T) {
	f := newFixture(t, FourLevel)
	a := f.mapPage(t, kpg, PageKernel)
	b := f.frame(t)
	f.pm.WritePhys64(a.Addr()+0x234, 0xaaaa)
	f.pm.WritePhys64(b.Addr()+0x234, 0xbbbb)
	load := func(msg string) uint64 {
		t.Helper()
		f.as.Invlpg(kva)
		v, flt := f.as.Load(kva, 8, Read)
		require.False(t, flt.Faulted(), "%s: %v", msg, flt)
		return v
	}
	require.Equal(t, uint64(0xaaaa), load("first walk"))
	require.Equal(t, uint64(0xaaaa), load("shadows warm"))
	requireRemembered(t, f, kva)

	f.patch(t, kpg, LevelPT, func(e PTE) PTE { return NewPTE(b, e&protMask) })
	require.Equal(t, uint64(0xbbbb), load("PTE now names b"))
	load("again")
	requireRemembered(t, f, kva)

	// A second page table under the same PDE slot: copy the PT, point
	// its entry back at a, and swing the PDE to the copy.
	pt2 := f.frame(t)
	var buf [PageSize]byte
	f.pm.ReadPhys(f.entry(t, kva, LevelPD).Addr(), buf[:])
	f.pm.WritePhys(pt2.Addr(), buf[:])
	f.pm.WritePhys64(pt2.Addr()+uint64(LevelPT.Index(kva))*8, uint64(NewPTE(a, PageKernel)))
	f.patch(t, kpg, LevelPD, func(e PTE) PTE { return NewPTE(pt2, e&protMask) })
	require.Equal(t, uint64(0xaaaa), load("PDE now names the copy"))
	load("again")
	requireRemembered(t, f, kva)

	f.patch(t, kpg, LevelPDPT, func(e PTE) PTE { return e &^ PagePresent })
	f.as.Invlpg(kva)
	_, flt := f.as.Load(kva, 8, Read)
	requireFault(t, f.as, kva, flt, pfCode(0x0))
	require.Equal(t, LevelPDPT, flt.Level)
}

// TestWalkFastFallbacks covers the cases walkFast hands to walk once its
// shadows are warm, and a large leaf it handles itself.
func TestWalkFastFallbacks(t *testing.T) {
	translate := func(f *fixture, va uint64, acc Access) uint64 {
		t.Helper()
		f.as.Invlpg(va)
		pa, flt := f.as.Translate(va, acc)
		require.False(t, flt.Faulted(), "%v", flt)
		return pa
	}
	t.Run("A cleared in a remembered PDE", func(t *testing.T) {
		f := newFixture(t, FourLevel)
		f.mapPage(t, kpg, PageKernel)
		translate(f, kva, Read)
		for range 2 { // the first clear makes the shadow remember the value without A
			f.patch(t, kpg, LevelPD, func(e PTE) PTE { return e &^ PageAccessed })
			translate(f, kva, Read)
			require.True(t, f.entry(t, kva, LevelPD).Accessed(), "the walk sets A again")
		}
	})
	t.Run("D clear in a remembered PTE, then a write", func(t *testing.T) {
		f := newFixture(t, FourLevel)
		f.mapPage(t, kpg, PageKernel&^PageDirty)
		translate(f, kva, Read)
		translate(f, kva, Read) // remembered, D still clear
		require.False(t, f.entry(t, kva, LevelPT).Dirty())
		translate(f, kva, Write)
		require.True(t, f.entry(t, kva, LevelPT).Dirty(), "the write sets D")
	})
	t.Run("2 MiB leaf with PAT, warm", func(t *testing.T) {
		f := newFixture(t, FourLevel)
		require.NoError(t, f.pt.MapHuge(0xffffc90000200000, PMDSize, 0x200000, PageKernel|PagePAT))
		const va = 0xffffc90000200234 // bit 12 clear: PAT must not leak into the address
		require.True(t, f.entry(t, va, LevelPD)&PagePATLarge != 0)
		for range 3 {
			require.Equal(t, uint64(0x200234), translate(f, va, Read))
		}
	})
}

// requireRemembered checks that the shadows along va's path hold every
// entry as it is now, with the right host memory: the next walk of va
// takes walkFast's quick path all the way down.
func requireRemembered(t *testing.T, f *fixture, va uint64) {
	t.Helper()
	sh := f.as.ctl.rootShadow
	for l := f.pt.Mode().Top(); l >= LevelPT; l-- {
		require.NotNil(t, sh, "no shadow for the %v table", l)
		e := f.entry(t, va, l)
		se := sh[l.Index(va)]
		require.Equal(t, e, se.e, "%v entry remembered", l)
		require.Same(t, f.pm.frame(e.PFN()), se.frame, "%v entry's frame", l)
		sh = se.table
	}
}

package mmu

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCompositeValues pins Linux's composite protections to the values of
// spec section 1.2 and pgtable_types.h.
func TestCompositeValues(t *testing.T) {
	for _, c := range []struct {
		name string
		got  PTE
		want uint64
	}{
		{"_KERNPG_TABLE", KernPGTable, 0x63},
		{"_PAGE_TABLE", PageTableBits, 0x67},
		{"__PAGE_KERNEL", PageKernel, 0x8000000000000163},
		{"__PAGE_KERNEL_EXEC", PageKernelExec, 0x163},
		{"__PAGE_KERNEL_RO", PageKernelRO, 0x8000000000000121},
		{"__PAGE_KERNEL_ROX", PageKernelROX, 0x121},
		{"__PAGE_KERNEL_LARGE", PageKernelLarge, 0x80000000000001e3},
		{"PAGE_NONE", PageNone, 0x120},
		{"PAGE_SHARED", PageShared, 0x8000000000000027},
		{"PAGE_SHARED_EXEC", PageSharedExec, 0x27},
		{"PAGE_READONLY", PageReadonly, 0x8000000000000025},
		{"PAGE_READONLY_EXEC", PageReadonlyExec, 0x25},
		{"PAGE_COPY", PageCopy, 0x8000000000000025},
		{"PTE_PFN_MASK", PTEPFNMask, 0x000ffffffffff000},
		{"_PAGE_PKEY_MASK", PagePKeyMask, 0x7800000000000000},
		{"_PAGE_CHG_MASK", PageChgMask, 0x060ffffffffffef8}, // PFN|PCD|PWT|SPECIAL|A|D|SAVED_DIRTY|SOFT_DIRTY|DEVMAP|UFFD_WP|PAT
	} {
		require.Equal(t, c.want, uint64(c.got), c.name)
	}
}

func TestPTEAccessors(t *testing.T) {
	e := NewPTE(0x201, PageKernel|PTE(3)<<pkeyShift)
	require.Equal(t, PTE(0x9800000000201163), e)
	require.True(t, e.Present() && e.Writable() && e.Accessed() && e.Dirty() && e.Global() && e.NX())
	require.False(t, e.User() || e.Huge() || e.None())
	require.Equal(t, uint8(3), e.Key())
	require.Equal(t, PFN(0x201), e.PFN())
	require.Equal(t, uint64(0x201000), e.Addr())
	require.True(t, PTE(0).None())
	require.Equal(t, NewPTE(0x201, PageKernel), NewPTE(0x201, PageKernel|0x5000), "address bits in prot are dropped")

	big := PTE(0x40201000) | PageKernelLarge | PagePATLarge | 0x2000 // bit 13: reserved in a large leaf
	require.Equal(t, uint64(0x40200000), big.LeafAddr(LevelPD))
	require.Equal(t, uint64(0x40000000), big.LeafAddr(LevelPDPT))
	require.True(t, big.IsLeaf(LevelPD))
	require.False(t, big.IsLeaf(LevelPML4))
}

func TestPTEString(t *testing.T) {
	for _, c := range []struct {
		e    PTE
		l    Level
		want string
	}{
		{PageShared | PageDirty, 0, "P|RW|US|A|D|NX"},
		{NewPTE(0x201, PageKernel), 0, "P|RW|A|D|G|NX 0x201000"},
		{0, 0, "none"},
		{PageNX, 0, "NX"},
		{PageNone, 0, "A|G"},
		{PagePWT | PagePCD | PageSoftW1 | PageSoftW2 | PageSoftW3 | PageSoftW4 | PageSoftW5 | PTE(5)<<pkeyShift, 0, "PWT|PCD|SW1|SW2|SW3|SW4|SW5|PK=5"},
		{1 << 52, 0, "0"},
	} {
		require.Equal(t, c.want, c.e.String())
	}
	require.Equal(t, "P|RW|PAT", (PagePresent | PageRW | PagePAT).FlagsAt(LevelPT))
	require.Equal(t, "P|RW|PS|PAT", (PagePresent | PageRW | PagePSE | PagePATLarge).FlagsAt(LevelPD))
	require.Equal(t, "P|RW|PS", (PagePresent | PageRW | PagePSE).FlagsAt(LevelPML4))
}

func TestNamesAndStrings(t *testing.T) {
	require.Equal(t, "GFP_KERNEL|__GFP_ZERO", GFPPGTableKernel.String())
	require.Equal(t, "GFP_KERNEL_ACCOUNT|__GFP_ZERO", GFPPGTableUser.String())
	require.Equal(t, "GFP_ATOMIC", GFPAtomic.String())
	require.Equal(t, "0", GFP(0).String())
	require.Equal(t, "__GFP_IO|0x200", (GFPIO | 0x200).String())
	require.Equal(t, "0x7 (P|W|U)", ErrorCode(7).String())
	require.Equal(t, "0x0", ErrorCode(0).String())
	require.Equal(t, "0x25 (P|U|PK)", ErrorCode(0x25).String())
	require.Equal(t, "user write access in user mode, permissions violation", ErrorCode(7).Describe())
	require.Equal(t, "supervisor read access in kernel mode, not-present page", ErrorCode(0).Describe())
	require.Equal(t, "supervisor read access in kernel mode, reserved bit violation", ErrorCode(9).Describe())
	require.Equal(t, "user instruction fetch in user mode, protection keys violation", ErrorCode(0x35).Describe())
	require.Equal(t, "user write", (User | Write).String())
	require.Equal(t, "supervisor implicit read", Implicit.String())
	require.Equal(t, "supervisor instruction fetch", Fetch.String())
	r := DefaultRegs(FiveLevel)
	r.CR3 = 0x100000
	require.Equal(t, "CR0=PE|MP|ET|NE|WP|AM|PG CR3=0x100000 CR4=PAE|PGE|LA57|SMEP|SMAP EFER=SCE|LME|LMA|NXE AC=false PKRU=0x0 PKRS=0x0", r.String())
	require.Equal(t, uint64(0x80050033), uint64(r.CR0))
	require.Equal(t, uint64(0xd01), uint64(r.EFER))
	require.Equal(t, "buddy|table", (PGTable | PGBuddy).String())
	require.Equal(t, "reserved", PGReserved.String())
	require.Equal(t, "pfn 0x1f", PFN(0x1f).String())
	require.Equal(t, "#PF error 0x2 (W) at 0x1000: PTE not present", Fault{VecPF, 2, 0x1000, LevelPT, CauseNotPresent}.String())
	require.Equal(t, "#PF error 0x7 (P|W|U) at 0x1000: write to a read-only page", Fault{VecPF, 7, 0x1000, LevelPT, CauseReadOnly}.String())
	require.Equal(t, "no fault", Fault{}.String())
	for l, want := range map[Level][3]string{
		LevelPT: {"PT", "PTE", "pte"}, LevelPD: {"PD", "PDE", "pmd"}, LevelPDPT: {"PDPT", "PDPTE", "pud"},
		LevelPML4: {"PML4", "PML4E", "pgd"},
	} {
		require.Equal(t, want, [3]string{l.String(), l.EntryName(), l.LinuxName(FourLevel)})
	}
	require.Equal(t, "p4d", LevelPML4.LinuxName(FiveLevel))
	require.Equal(t, "pgd", LevelPML5.LinuxName(FiveLevel))
	require.Equal(t, uint64(0x00007ffffffff000), FourLevel.TaskSizeMax())
	require.Equal(t, uint64(0x00fffffffffff000), FiveLevel.TaskSizeMax())
}

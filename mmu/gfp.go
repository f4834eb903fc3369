package mmu

// GFP is a page-allocation flag set (gfp_t). Bit positions follow the
// enum in include/linux/gfp_types.h up to __GFP_ACCOUNT; the later bits
// depend on the kernel configuration and are not modelled.
type GFP uint32

// Individual flags (__GFP_*).
const (
	GFPDMA           GFP = 1 << 0  // __GFP_DMA
	GFPHighmem       GFP = 1 << 1  // __GFP_HIGHMEM
	GFPDMA32         GFP = 1 << 2  // __GFP_DMA32
	GFPMovable       GFP = 1 << 3  // __GFP_MOVABLE
	GFPReclaimable   GFP = 1 << 4  // __GFP_RECLAIMABLE
	GFPHigh          GFP = 1 << 5  // __GFP_HIGH
	GFPIO            GFP = 1 << 6  // __GFP_IO
	GFPFS            GFP = 1 << 7  // __GFP_FS
	GFPZero          GFP = 1 << 8  // __GFP_ZERO: return a zeroed frame
	GFPDirectReclaim GFP = 1 << 10 // __GFP_DIRECT_RECLAIM
	GFPKswapdReclaim GFP = 1 << 11 // __GFP_KSWAPD_RECLAIM
	GFPWrite         GFP = 1 << 12 // __GFP_WRITE
	GFPNoWarn        GFP = 1 << 13 // __GFP_NOWARN
	GFPRetryMayfail  GFP = 1 << 14 // __GFP_RETRY_MAYFAIL
	GFPNoFail        GFP = 1 << 15 // __GFP_NOFAIL: failure injection never applies
	GFPNoRetry       GFP = 1 << 16 // __GFP_NORETRY
	GFPMemalloc      GFP = 1 << 17 // __GFP_MEMALLOC
	GFPComp          GFP = 1 << 18 // __GFP_COMP
	GFPNoMemalloc    GFP = 1 << 19 // __GFP_NOMEMALLOC
	GFPHardwall      GFP = 1 << 20 // __GFP_HARDWALL
	GFPThisNode      GFP = 1 << 21 // __GFP_THISNODE
	GFPAccount       GFP = 1 << 22 // __GFP_ACCOUNT
)

// Composite masks (gfp_types.h, asm-generic/pgalloc.h).
const (
	GFPReclaim       = GFPDirectReclaim | GFPKswapdReclaim // __GFP_RECLAIM
	GFPKernel        = GFPReclaim | GFPIO | GFPFS          // GFP_KERNEL
	GFPKernelAccount = GFPKernel | GFPAccount              // GFP_KERNEL_ACCOUNT
	GFPAtomic        = GFPHigh | GFPKswapdReclaim          // GFP_ATOMIC
	GFPNowait        = GFPKswapdReclaim | GFPNoWarn        // GFP_NOWAIT
	GFPUser          = GFPReclaim | GFPIO | GFPFS | GFPHardwall
	GFPHighuser      = GFPUser | GFPHighmem          // GFP_HIGHUSER
	GFPPGTableKernel = GFPKernel | GFPZero           // GFP_PGTABLE_KERNEL
	GFPPGTableUser   = GFPPGTableKernel | GFPAccount // GFP_PGTABLE_USER
)

// gfpNames is the print order: composites first, as the kernel's %pGg does.
var gfpNames = []bitName{
	{uint64(GFPHighuser), "GFP_HIGHUSER"}, {uint64(GFPUser), "GFP_USER"}, {uint64(GFPKernelAccount), "GFP_KERNEL_ACCOUNT"},
	{uint64(GFPKernel), "GFP_KERNEL"}, {uint64(GFPAtomic), "GFP_ATOMIC"}, {uint64(GFPNowait), "GFP_NOWAIT"},
	{uint64(GFPDMA), "GFP_DMA"}, {uint64(GFPHighmem), "__GFP_HIGHMEM"}, {uint64(GFPDMA32), "GFP_DMA32"},
	{uint64(GFPMovable), "__GFP_MOVABLE"}, {uint64(GFPReclaimable), "__GFP_RECLAIMABLE"}, {uint64(GFPHigh), "__GFP_HIGH"},
	{uint64(GFPIO), "__GFP_IO"}, {uint64(GFPFS), "__GFP_FS"}, {uint64(GFPZero), "__GFP_ZERO"},
	{uint64(GFPDirectReclaim), "__GFP_DIRECT_RECLAIM"}, {uint64(GFPKswapdReclaim), "__GFP_KSWAPD_RECLAIM"},
	{uint64(GFPWrite), "__GFP_WRITE"}, {uint64(GFPNoWarn), "__GFP_NOWARN"}, {uint64(GFPRetryMayfail), "__GFP_RETRY_MAYFAIL"},
	{uint64(GFPNoFail), "__GFP_NOFAIL"}, {uint64(GFPNoRetry), "__GFP_NORETRY"}, {uint64(GFPMemalloc), "__GFP_MEMALLOC"},
	{uint64(GFPComp), "__GFP_COMP"}, {uint64(GFPNoMemalloc), "__GFP_NOMEMALLOC"}, {uint64(GFPHardwall), "__GFP_HARDWALL"},
	{uint64(GFPThisNode), "__GFP_THISNODE"}, {uint64(GFPAccount), "__GFP_ACCOUNT"},
}

// String prints the flags as the kernel's %pGg does, e.g.
// "GFP_KERNEL|__GFP_ZERO"; no flags print "0".
func (g GFP) String() string { return bitString(uint64(g), gfpNames) }

package vmalloc

import (
	"strconv"
	"strings"
)

// VMFlags are the vm_struct flags of include/linux/vmalloc.h.
//
//	bit: 12      11            10             9             8               7     6         5              4              3       2   1     0
//	     SPARSE  DEFER_KMEMLEAK ALLOW_HUGE_VMAP MAP_PUT_PAGES FLUSH_RESET_PERMS KASAN NO_GUARD UNINITIALIZED DMA_COHERENT USERMAP MAP ALLOC IOREMAP
type VMFlags uint64

// The flag values of include/linux/vmalloc.h (Linux 6.16).
const (
	VMIoremap         VMFlags = 0x00000001 // VM_IOREMAP: ioremap() and friends
	VMAlloc           VMFlags = 0x00000002 // VM_ALLOC: vmalloc()
	VMMap             VMFlags = 0x00000004 // VM_MAP: vmap()ed pages
	VMUsermap         VMFlags = 0x00000008 // VM_USERMAP: may be remapped to user space
	VMDMACoherent     VMFlags = 0x00000010 // VM_DMA_COHERENT: dma_alloc_coherent
	VMUninitialized   VMFlags = 0x00000020 // VM_UNINITIALIZED: vm_struct not fully set up yet
	VMNoGuard         VMFlags = 0x00000040 // VM_NO_GUARD: no guard page appended
	VMKasan           VMFlags = 0x00000080 // VM_KASAN: has KASAN shadow
	VMFlushResetPerms VMFlags = 0x00000100 // VM_FLUSH_RESET_PERMS: reset direct map on free
	VMMapPutPages     VMFlags = 0x00000200 // VM_MAP_PUT_PAGES: vfree puts the pages and the array
	VMAllowHugeVmap   VMFlags = 0x00000400 // VM_ALLOW_HUGE_VMAP: huge mappings allowed
	VMDeferKmemleak   VMFlags = 0x00000800 // VM_DEFER_KMEMLEAK (0 unless KASAN without KASAN_VMALLOC)
	VMSparse          VMFlags = 0x00001000 // VM_SPARSE: pages mapped one by one (BPF arena)
)

var flagNames = [...]struct {
	f    VMFlags
	name string
}{
	{VMIoremap, "VM_IOREMAP"}, {VMAlloc, "VM_ALLOC"}, {VMMap, "VM_MAP"},
	{VMUsermap, "VM_USERMAP"}, {VMDMACoherent, "VM_DMA_COHERENT"},
	{VMUninitialized, "VM_UNINITIALIZED"}, {VMNoGuard, "VM_NO_GUARD"},
	{VMKasan, "VM_KASAN"}, {VMFlushResetPerms, "VM_FLUSH_RESET_PERMS"},
	{VMMapPutPages, "VM_MAP_PUT_PAGES"}, {VMAllowHugeVmap, "VM_ALLOW_HUGE_VMAP"},
	{VMDeferKmemleak, "VM_DEFER_KMEMLEAK"}, {VMSparse, "VM_SPARSE"},
}

// String returns the set flags by their kernel macro names in bit order,
// joined by "|" ("VM_USERMAP|VM_SPARSE"); unknown bits print in hex; no
// flags print as "0".
func (f VMFlags) String() string {
	if f == 0 {
		return "0"
	}
	var b strings.Builder
	rest := f
	for _, n := range flagNames {
		if f&n.f != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(n.name)
			rest &^= n.f
		}
	}
	if rest != 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString("0x" + strconv.FormatUint(uint64(rest), 16))
	}
	return b.String()
}

// infoWords are the words /proc/vmallocinfo prints for flags, in the order
// vmalloc_info_show (mm/vmalloc.c) prints them.
var infoWords = [...]struct {
	f    VMFlags
	word string
}{
	{VMIoremap, "ioremap"}, {VMSparse, "sparse"}, {VMAlloc, "vmalloc"},
	{VMMap, "vmap"}, {VMUsermap, "user"}, {VMDMACoherent, "dma-coherent"},
}

// InfoWords returns the flags as /proc/vmallocinfo names them
// ("sparse user"); flags it does not print are left out.
func (f VMFlags) InfoWords() string {
	var b strings.Builder
	for _, w := range infoWords {
		if f&w.f != 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w.word)
		}
	}
	return b.String()
}

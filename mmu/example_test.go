package mmu_test

import (
	"fmt"

	"github.com/arenasim/arenasim/mmu"
)

// Example maps a page of the vmalloc area the way vm_area_map_pages does
// for the BPF arena, reads it back through the MMU, and shows what a user
// access and a non-canonical access get.
func Example() {
	pm, _ := mmu.NewPhysMem(mmu.PhysMemConfig{})
	kernel, _ := mmu.NewPageTable(pm, mmu.PageTableConfig{Name: "kernel"})
	cpu, _ := mmu.NewAddressSpace(kernel, mmu.AddressSpaceConfig{Name: "cpu0"})

	page, _ := pm.AllocPage(mmu.GFPKernel | mmu.GFPZero)
	const va = 0xffffc90000201000
	_ = kernel.MapPage(va, page, mmu.PageKernel)

	_ = cpu.Store(va+8, 8, 0x1122334455667788, mmu.Read)
	v, _ := cpu.Load(va+8, 8, mmu.Read)
	fmt.Printf("kernel load: %#x\n", v)

	_, f := cpu.Load(va+8, 8, mmu.User)
	fmt.Println("user load:  ", f)
	fmt.Println("            ", f.Code.Describe())

	_, f = cpu.Load(0x0000800000000000, 8, mmu.Read)
	fmt.Println("hole:       ", f)
	// Output:
	// kernel load: 0x1122334455667788
	// user load:   #PF error 0x5 (P|U) at 0xffffc90000201008: user access to a supervisor page
	//              user read access in user mode, permissions violation
	// hole:        #GP(0) at 0x800000000000: non-canonical address
}

// ExampleAddressSpace_Walk prints a page walk for teaching: every entry
// read, its flags, and the outcome.
func ExampleAddressSpace_Walk() {
	pm, _ := mmu.NewPhysMem(mmu.PhysMemConfig{})
	kernel, _ := mmu.NewPageTable(pm, mmu.PageTableConfig{})
	cpu, _ := mmu.NewAddressSpace(kernel, mmu.AddressSpaceConfig{})
	_ = kernel.MapPage(0xffffc90000201000, 0x5000>>mmu.PageShift, mmu.PageKernel)

	w := cpu.Walk(0xffffc90000201234, mmu.Write)
	fmt.Println(w.String())
	// Output:
	// walk 0xffffc90000201234 supervisor write, 4-level, CR3 0x100000
	//   PML4[402] @0x100c90 = 0x0000000000101067 P|RW|US|A|D -> PDPT 0x101000
	//   PDPT[0]   @0x101000 = 0x0000000000102067 P|RW|US|A|D -> PD 0x102000
	//   PD[1]     @0x102008 = 0x0000000000103067 P|RW|US|A|D -> PT 0x103000
	//   PT[1]     @0x103008 = 0x8000000000005163 P|RW|A|D|G|NX -> 4 KiB page 0x5000
	//   => PA 0x5234
}

// ExamplePTE_String shows entries printed the kernel way.
func ExamplePTE_String() {
	fmt.Println(mmu.NewPTE(0x201, mmu.PageKernel))
	fmt.Println(mmu.PageShared | mmu.PageDirty)
	fmt.Println(mmu.PageTableBits)
	fmt.Println(mmu.PTE(0))
	// Output:
	// P|RW|A|D|G|NX 0x201000
	// P|RW|US|A|D|NX
	// P|RW|US|A|D
	// none
}

// ExamplePageTable_Unmap shows the TLB keeping a translation after the
// page table drops it, until software flushes.
func ExamplePageTable_Unmap() {
	pm, _ := mmu.NewPhysMem(mmu.PhysMemConfig{})
	kernel, _ := mmu.NewPageTable(pm, mmu.PageTableConfig{})
	cpu, _ := mmu.NewAddressSpace(kernel, mmu.AddressSpaceConfig{})
	page, _ := pm.AllocPage(mmu.GFPKernel | mmu.GFPZero)
	const va = 0xffffc90000000000
	_ = kernel.MapPage(va, page, mmu.PageKernel)
	_ = cpu.Store(va, 8, 42, mmu.Read)

	_ = kernel.Unmap(va, mmu.PageSize, func(l mmu.Leaf) { fmt.Println("unmapped", l.Entry) })
	v, f := cpu.Load(va, 8, mmu.Read)
	fmt.Println("before the flush:", v, f.Faulted(), len(cpu.StaleTLBEntries()), "stale")
	cpu.Invlpg(va)
	_, f = cpu.Load(va, 8, mmu.Read)
	fmt.Println("after the flush: ", f)
	// Output:
	// unmapped P|RW|A|D|G|NX 0x101000
	// before the flush: 42 false 1 stale
	// after the flush:  #PF error 0x0 at 0xffffc90000000000: PTE not present
}

// ExamplePhysMem_SetFailHook injects ENOMEM into the second page-table
// allocation of a mapping, as fault injection does.
func ExamplePhysMem_SetFailHook() {
	pm, _ := mmu.NewPhysMem(mmu.PhysMemConfig{})
	kernel, _ := mmu.NewPageTable(pm, mmu.PageTableConfig{})
	pm.SetFailHook(func(r mmu.AllocRequest) bool {
		fmt.Println("allocation", r.Seq, r.Site, r.GFP)
		return r.Site == "pmd_alloc"
	})
	err := kernel.Map(0xffffc90000000000, mmu.PageSize, 0x5000, mmu.PageKernel)
	fmt.Println(err)
	// Output:
	// allocation 2 pud_alloc GFP_KERNEL|__GFP_ZERO
	// allocation 3 pmd_alloc GFP_KERNEL|__GFP_ZERO
	// mmu: pmd_alloc(GFP_KERNEL|__GFP_ZERO): injected failure of allocation 3: ENOMEM (Cannot allocate memory), for the PD table of 0xffffc90000000000
}

package vmalloc

import (
	"fmt"
	"io"
	"strings"
)

// WriteInfo writes the areas in the format of /proc/vmallocinfo
// (vmalloc_info_show): one line per busy area with a vm_struct, node by node
// in address order, then one "unpurged vm_area" line per lazily freed
// area. Addresses are shown in full, as a privileged reader sees them, and
// pages are counted per memory node as a CONFIG_NUMA kernel does, all on
// node 0.
//
//	0xffffc90000000000-0xffffc90100011000 4295036928 arena_map_alloc sparse user
func (a *Allocator) WriteInfo(w io.Writer) error {
	if !a.initialized {
		return nil
	}
	var b strings.Builder
	for i := range a.nodes {
		l := &a.nodes[i].busy.list
		for va := l.first(); va != nil; va = l.after(va) {
			v := va.vm
			if v == nil {
				if va.flags&vmapRAM != 0 {
					fmt.Fprintf(&b, "0x%016x-0x%016x %7d vm_map_ram\n", va.start, va.end, va.size())
				}
				continue
			}
			if v.Flags&VMUninitialized != 0 {
				continue
			}
			fmt.Fprintf(&b, "0x%016x-0x%016x %7d", v.Addr, v.Addr+v.Size, v.Size)
			if v.Caller != "" {
				b.WriteString(" " + v.Caller)
			}
			if v.NrPages != 0 {
				fmt.Fprintf(&b, " pages=%d", v.NrPages)
			}
			if v.PhysAddr != 0 {
				fmt.Fprintf(&b, " phys=0x%016x", v.PhysAddr)
			}
			if words := v.Flags.InfoWords(); words != "" {
				b.WriteString(" " + words)
			}
			if v.pagesArea != nil {
				b.WriteString(" vpages")
			}
			if v.NrPages != 0 {
				fmt.Fprintf(&b, " N0=%d", v.NrPages) // show_numa_info: one memory node
			}
			b.WriteByte('\n')
		}
	}
	for i := range a.nodes {
		l := &a.nodes[i].lazy.list
		for va := l.first(); va != nil; va = l.after(va) {
			fmt.Fprintf(&b, "0x%016x-0x%016x %7d unpurged vm_area\n", va.start, va.end, va.size())
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Info returns WriteInfo's text.
func (a *Allocator) Info() string {
	var b strings.Builder
	_ = a.WriteInfo(&b) // a strings.Builder does not fail
	return b.String()
}

package bpfjit

import (
	"fmt"
	"sort"
)

// X86Location is where a kernel text address falls in a compiled program.
type X86Location struct {
	Func   int    // index in X86Program.Funcs
	Symbol string // the function's kallsyms name
	Offset int    // offset from the image start
	Size   int    // the symbol's size: the image length (jited_len)
	// Insn is the index in Funcs[Func].Insns of the BPF instruction whose
	// code holds the address, or -1 in the prologue; Slot is the caller's
	// slot it comes from (-1 for the prologue and may_goto setup).
	Insn, Slot int
}

// String prints the location as the kernel's %pS does in an oops or a
// stack dump: bpf_prog_<tag>_<name>+0x18/0x21.
func (l X86Location) String() string {
	return fmt.Sprintf("%s+%#x/%#x", l.Symbol, l.Offset, l.Size)
}

// Lookup finds the function and BPF instruction an address belongs to,
// the offset-to-instruction mapping a crash address needs (what the
// kernel's jited line info gives bpftool).
func (p *X86Program) Lookup(addr uint64) (X86Location, bool) {
	for fi := range p.Funcs {
		f := &p.Funcs[fi]
		if addr < f.Addr || addr >= f.Addr+uint64(len(f.Image)) {
			continue
		}
		off := int(addr - f.Addr)
		loc := X86Location{Func: fi, Symbol: f.Name, Offset: off, Size: len(f.Image), Insn: -1, Slot: -1}
		// The last instruction starting at or before off with code there.
		k := sort.Search(len(f.Insns), func(k int) bool { return f.Insns[k].Off > off }) - 1
		for ; k >= 0; k-- {
			if x := f.Insns[k]; off < x.Off+x.Len {
				loc.Insn, loc.Slot = k, x.Slot
				break
			}
			if f.Insns[k].Len > 0 {
				break
			}
		}
		return loc, true
	}
	return X86Location{}, false
}

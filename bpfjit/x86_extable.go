package bpfjit

import "fmt"

// Exception-table constants (arch/x86/include/asm/extable_fixup_types.h and
// arch/x86/net/bpf_jit_comp.c).
const (
	// ExTypeBPF is EX_TYPE_BPF, the handler type of every BPF entry.
	ExTypeBPF = 7
	// ExDontClear is DONT_CLEAR: the fixup's register field when nothing is
	// zeroed (stores and atomics). 1 is not a pt_regs offset, so it cannot
	// be confused with one.
	ExDontClear = 1
	// X86ExEntrySize is sizeof(struct exception_table_entry): three s32s.
	X86ExEntrySize = 12
)

// X86ExEntry is one entry of a function's exception table: a struct
// exception_table_entry of type EX_TYPE_BPF, plus where it came from.
//
// When the faulting instruction at Addr takes a #PF, the kernel finds this
// entry (search_bpf_extables) and ex_handler_bpf applies Fixup: bits 0-7 are
// the length of the instruction to skip, bits 8 and up the pt_regs offset of
// the register to zero, or ExDontClear. A PROBE_MEM32 load therefore ends
// with its destination 0; a store or atomic simply did not happen.
type X86ExEntry struct {
	Slot   int    // the BPF slot of the access in the caller's program
	Offset int    // offset of the faulting x86 instruction in the image
	Addr   uint64 // its address
	// The stored fields. Insn is relative: the instruction's address minus
	// the address of this field (ARCH_HAS_RELATIVE_EXTABLE); the table
	// sits right after the code, at image + roundup(len, 4).
	Insn, Fixup, Data int32
}

// SkipLen returns how many bytes the fixup skips: the faulting instruction's length.
func (e X86ExEntry) SkipLen() int { return int(e.Fixup & 0xff) }

// ClearReg returns the register the fixup zeroes, or false for DONT_CLEAR.
func (e X86ExEntry) ClearReg() (X86Reg, bool) {
	off := int(e.Fixup >> 8)
	if off == ExDontClear {
		return 0, false
	}
	return X86RegAtPtRegs(off)
}

func (e X86ExEntry) String() string {
	fix := "no register cleared"
	if r, ok := e.ClearReg(); ok {
		fix = "clear " + r.String()
	}
	return fmt.Sprintf("insn %d: +%#x (%#x) skip %d, %s", e.Slot, e.Offset, e.Addr, e.SkipLen(), fix)
}

// X86PtRegs is the register state an exception handler sees (struct
// pt_regs, by hardware register number).
type X86PtRegs struct {
	Regs [16]uint64
	IP   uint64
}

// Handle applies the entry to the interrupted state, as ex_handler_bpf
// does: zero the destination of a load and resume after the instruction.
func (e X86ExEntry) Handle(regs *X86PtRegs) {
	if r, ok := e.ClearReg(); ok {
		regs.Regs[r] = 0
	}
	regs.IP += uint64(e.SkipLen())
}

// SearchExtable returns the entry covering a fault at ip, as
// search_bpf_extables does through the program's exception table.
func (p *X86Program) SearchExtable(ip uint64) (X86ExEntry, bool) {
	for i := range p.Funcs {
		f := &p.Funcs[i]
		if ip < f.Addr || ip >= f.Addr+uint64(len(f.Image)) {
			continue
		}
		for _, e := range f.Extable {
			if e.Addr == ip {
				return e, true
			}
		}
	}
	return X86ExEntry{}, false
}

// x86ExtableAddr is where a function's exception table starts: the image
// holds roundup(proglen, __alignof__(struct exception_table_entry)) bytes
// of code first.
func x86ExtableAddr(image uint64, proglen int) uint64 {
	return image + uint64((proglen+3)&^3)
}

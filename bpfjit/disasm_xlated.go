package bpfjit

import (
	"fmt"
	"strings"
)

// Xlated returns the program as `bpftool prog dump xlated` prints a loaded
// program: each slot index right-aligned in four columns, then the kernel
// syntax ("   3: (85) call bpf_map_lookup_elem#1"), a BPF_LD_IMM64 on one
// line covering both slots. Use the formatter's Imm64 and CallName hooks for
// bpftool's "map[id:5]" and symbol names.
//
// Before printing, the opcodes are mapped back the way bpf_insn_prepare_dump
// (kernel/bpf/syscall.c) maps them for user space: BPF_PROBE_MEM loads and
// BPF_PROBE_MEM32 loads and stores show as plain BPF_MEM accesses, so a
// verifier-rewritten arena program dumps like its source. BPF_PROBE_ATOMIC
// is not mapped back (the kernel does not either). The kernel's
// BPF_CALL_ARGS / BPF_TAIL_CALL conversion is not modelled: those opcodes
// exist only inside the kernel, and 0xe5 here is may_goto, which this model
// keeps in rewritten programs.
func (f *Formatter) Xlated(prog []Insn) string {
	k := *f
	k.Syntax = SyntaxKernel
	dump := make([]Insn, len(prog))
	for i, ins := range prog {
		dump[i] = prepareDump(ins)
	}
	var b strings.Builder
	for pc := 0; pc < len(dump); {
		text, n := k.format(dump, pc)
		fmt.Fprintf(&b, "% 4d: %s\n", pc, text)
		pc += n
	}
	return b.String()
}

// prepareDump maps the verifier's probe modes back to BPF_MEM, as
// bpf_insn_prepare_dump does.
func prepareDump(ins Insn) Insn {
	c, m := ins.Code.Class(), ins.Code.Mode()
	switch {
	case c == LdXClass && m == ProbeMemMode,
		(c == LdXClass || c == StClass || c == StXClass) && m == ProbeMem32Mode:
		ins.Code = MemOpcode(c, MemMode, ins.Code.Size())
	}
	return ins
}

package bpfjit

import (
	"fmt"
	"strings"
)

// Formatter prints instructions in one syntax. The zero value prints the
// LLVM syntax with decimal numbers, as llvm-mc does.
type Formatter struct {
	Syntax Syntax

	// Hex prints LLVM-syntax immediates and offsets in hex with a 0x prefix,
	// as llvm-objdump does ("if r1 > 0x5 goto +0x2").
	Hex bool

	// The kernel syntax's hooks, after struct bpf_insn_cbs (kernel/bpf/disasm.h).
	// CallName names a call's target (cb_call); the verifier uses it for
	// kfuncs. Return "" to fall back to the built-in names.
	CallName func(ins Insn) string
	// Imm64 prints the constant of a BPF_LD_IMM64 (cb_imm); bpftool uses it
	// to print "map[id:5]". The default prints "0x%x".
	Imm64 func(ins Insn, imm uint64) string
	// HidePointers models !allow_ptr_leaks: map pointers print as 0x0.
	HidePointers bool
}

// FormatInsn returns the text of the instruction at prog[pc] in syntax s,
// without a trailing newline. A BPF_LD_IMM64 reads its second slot from
// prog[pc+1] and covers both. In the LLVM and conformance syntaxes an
// encoding that has no text form prints as a raw ".8byte 0x..." slot (a
// directive Assemble accepts, as LLVM's assembler does); the kernel syntax
// prints what print_bpf_insn prints, "BUG_..." lines included.
//
// The LLVM text is LLVM's own, so like LLVM it omits the src of a call
// (helper, local and kfunc calls all print "call N"), the second immediate
// of ld_pseudo and the immediate of a legacy indirect packet load; Disassemble
// keeps them. Jump and call targets print as offsets.
func FormatInsn(prog []Insn, pc int, s Syntax) string {
	f := Formatter{Syntax: s}
	return f.Format(prog, pc)
}

// Format is FormatInsn with the formatter's options.
func (f *Formatter) Format(prog []Insn, pc int) string {
	text, _ := f.format(prog, pc)
	return text
}

// Width returns how many slots the text of prog[pc] covers: 2 for a
// BPF_LD_IMM64 printed with its second slot, else 1.
func (f *Formatter) Width(prog []Insn, pc int) int {
	_, n := f.format(prog, pc)
	return n
}

func (f *Formatter) format(prog []Insn, pc int) (string, int) {
	ins := prog[pc]
	var next Insn
	hasNext := pc+1 < len(prog)
	if hasNext {
		next = prog[pc+1]
	}
	width := 1
	if ins.IsLdImm64() && hasNext {
		width = 2
	}
	switch f.Syntax {
	case SyntaxKernel:
		return f.kernel(ins, next), width
	case SyntaxConformance:
		if s, ok := conformanceText(ins, next, hasNext); ok {
			return s, width
		}
	default:
		if s, ok := f.llvm(ins, next, hasNext); ok {
			return s, width
		}
	}
	return rawSlot(ins), 1
}

// ldImm64Second reports whether next is a clean second slot of a wide load.
func ldImm64Second(next Insn) bool {
	return next.Code == 0 && next.Dst == 0 && next.Src == 0 && next.Off == 0
}

// rawSlot prints one slot as the 64-bit little-endian word it is in memory
// (the opcode is the low byte), the form of LLVM's ".8byte" directive and of
// the conformance suite's raw sections.
func rawSlot(ins Insn) string {
	var b [InsnSize]byte
	ins.Encode(b[:])
	var v uint64
	for i := InsnSize - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return fmt.Sprintf(".8byte %#016x", v)
}

// Disassemble returns the listing of prog in syntax s, one instruction per
// line, each line ending in a newline.
//
// In the LLVM and conformance syntaxes the listing assembles back to prog
// exactly: where the LLVM text of an instruction would lose a field (the src
// of a call, the second immediate of ld_pseudo, the immediate of a legacy
// indirect load, all dropped by LLVM's own printer) the listing uses a label
// for local calls and a raw ".8byte" slot with the text as a comment
// otherwise. In the kernel syntax each line starts with the slot index, as in
// the verifier log ("3: (85) call bpf_map_lookup_elem#1").
func Disassemble(prog []Insn, s Syntax) string {
	f := Formatter{Syntax: s}
	return f.Disassemble(prog)
}

// Disassemble is the package-level Disassemble with the formatter's options.
func (f *Formatter) Disassemble(prog []Insn) string {
	var b strings.Builder
	labels := f.callLabels(prog)
	for pc := 0; pc < len(prog); {
		if name, ok := labels[pc]; ok {
			b.WriteString(name + ":\n")
		}
		n := f.Width(prog, pc)
		switch {
		case f.Syntax == SyntaxKernel:
			fmt.Fprintf(&b, "%d: %s\n", pc, f.Format(prog, pc))
		default:
			b.WriteString(f.reassemblable(prog, pc, labels))
			b.WriteByte('\n')
		}
		pc += n
	}
	return b.String()
}

// callLabels names the targets of LLVM-syntax local calls, whose numeric
// form ("call 3") would re-assemble as a helper call.
func (f *Formatter) callLabels(prog []Insn) map[int]string {
	if f.Syntax != SyntaxLLVM {
		return nil
	}
	var labels map[int]string
	for pc, ins := range prog {
		if isLocalCall(ins) {
			t := ins.JumpTarget(pc)
			if t >= 0 && t < len(prog) {
				if labels == nil {
					labels = make(map[int]string)
				}
				labels[t] = fmt.Sprintf("L%d", t)
			}
		}
	}
	return labels
}

func isLocalCall(ins Insn) bool {
	return ins.Code == JumpOpcode(JumpClass, Call, ImmSource) && ins.Src == CallLocal && ins.Dst == 0 && ins.Off == 0
}

// reassemblable prints prog[pc] so that it assembles back to the same slots.
func (f *Formatter) reassemblable(prog []Insn, pc int, labels map[int]string) string {
	ins := prog[pc]
	text := f.Format(prog, pc)
	if f.Syntax != SyntaxLLVM {
		return text
	}
	if isLocalCall(ins) {
		if name, ok := labels[ins.JumpTarget(pc)]; ok {
			return "call " + name
		}
		return rawSlot(ins) + " # " + text
	}
	if llvmLossy(prog, pc) {
		raw := rawSlot(ins) + " # " + text
		if f.Width(prog, pc) == 2 {
			raw += "\n" + rawSlot(prog[pc+1])
		}
		return raw
	}
	return text
}

// llvmLossy reports whether the LLVM text of prog[pc] drops a field, so that
// assembling the text would not give the same slots back.
func llvmLossy(prog []Insn, pc int) bool {
	ins := prog[pc]
	switch {
	case ins.Code == JumpOpcode(JumpClass, Call, ImmSource):
		return ins.Src != CallHelper
	case ins.IsLdImm64() && ins.Src != PseudoNone:
		return pc+1 < len(prog) && prog[pc+1].Imm != 0
	case ins.Code.Class() == LdClass && ins.Code.Mode() == IndMode:
		return ins.Imm != 0
	}
	return false
}

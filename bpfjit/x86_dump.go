package bpfjit

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// X86Syntax selects how a jited dump spells x86 instructions.
type X86Syntax uint8

const (
	// X86SyntaxLLVM is AT&T syntax as LLVM prints it: what bpftool built
	// with libLLVM shows, and what the kernel selftests' __jited() match
	// ("movq\t0x8(%rdi,%r12), %rax").
	X86SyntaxLLVM X86Syntax = iota
	// X86SyntaxGNU is AT&T syntax as objdump/libbfd prints it, by way of
	// x86asm.GNUSyntax ("mov 0x8(%rdi,%r12),%rax").
	X86SyntaxGNU
	// X86SyntaxIntel is Intel syntax by x86asm.IntelSyntax
	// ("mov rax, qword ptr [rdi+r12+0x8]").
	X86SyntaxIntel
)

// X86Layout selects the shape of a jited dump.
type X86Layout uint8

const (
	// X86LayoutBpftool is "bpftool prog dump jited": the function's
	// symbol, then "%4x:\t<insn>" lines, then a blank line.
	X86LayoutBpftool X86Layout = iota
	// X86LayoutSelftest is the kernel selftests' get_jited_program_text
	// (jit_disasm_helpers.c), which __jited() patterns match: "func #N:",
	// then "%x:\t" with the bytes padded to 36 columns, branch targets
	// inside the function as local labels L0, L1, ... and offsets from
	// the function's start. It always uses LLVM syntax.
	X86LayoutSelftest
)

// X86DumpOptions controls X86Program.Dump.
type X86DumpOptions struct {
	Layout X86Layout
	// Opcodes prints each instruction's bytes on the line below it, as
	// bpftool's "opcodes" keyword does.
	Opcodes bool
	Syntax  X86Syntax
	// BPF precedes the code of each BPF instruction with a "; " line
	// naming it, where bpftool would print a source line from BTF line
	// info. Instructions a verifier rewrite added are marked "(rewrite)".
	BPF bool
	// FormatBPF prints instruction pc of insns for the BPF lines; nil
	// prints them as "bpftool prog dump xlated" does ("(79) r0 = *(u64
	// *)(r1 +8)"), jumps counted within the function.
	FormatBPF func(insns []Insn, pc int) string
	// Extable follows each function with its exception table.
	Extable bool
}

// Dump writes the program as "bpftool prog dump jited" prints it (or in
// another layout, see X86Layout): for each function its symbol, then one
// line per x86 instruction with its offset in hex, a tab and the
// instruction, and a blank line after the function.
func (p *X86Program) Dump(w io.Writer, o X86DumpOptions) error {
	bw := bufio.NewWriter(w)
	for i := range p.Funcs {
		var err error
		if o.Layout == X86LayoutSelftest {
			err = p.Funcs[i].dumpSelftest(bw, i)
		} else {
			err = p.Funcs[i].dump(bw, o)
		}
		if err != nil {
			return err
		}
	}
	return bw.Flush()
}

// String returns the dump with default options.
func (p *X86Program) String() string {
	var b strings.Builder
	if err := p.Dump(&b, X86DumpOptions{}); err != nil {
		return err.Error()
	}
	return b.String()
}

func (f *X86Func) dump(w *bufio.Writer, o X86DumpOptions) error {
	fmt.Fprintf(w, "%s:\n", f.Name)
	var insns []Insn
	if o.BPF {
		insns = make([]Insn, len(f.Insns))
		for k, x := range f.Insns {
			insns[k] = x.Insn
		}
		if o.FormatBPF == nil {
			xlated := make([]Insn, len(insns))
			for k, ins := range insns {
				xlated[k] = prepareDump(ins)
			}
			o.FormatBPF = func(_ []Insn, pc int) string { return FormatInsn(xlated, pc, SyntaxKernel) }
		}
	}
	next := 0 // the next BPF insn to announce
	for pc := 0; pc < len(f.Image); {
		for o.BPF && next < len(f.Insns) && f.Insns[next].Off <= pc {
			f.dumpBPF(w, o, insns, next)
			next++
		}
		in, err := X86Decode(f.Image[pc:])
		if err != nil {
			return fmt.Errorf("%s+%#x: %w", f.Name, pc, err)
		}
		text := X86Text(in, f.Image[pc:pc+in.Len], f.Addr+uint64(pc), o.Syntax)
		fmt.Fprintf(w, "%4x:\t%s\n", pc, text)
		if o.Opcodes {
			w.WriteByte('\t')
			for _, c := range f.Image[pc : pc+in.Len] {
				fmt.Fprintf(w, "%02x ", c)
			}
			w.WriteByte('\n')
		}
		pc += in.Len
	}
	for o.BPF && next < len(f.Insns) {
		f.dumpBPF(w, o, insns, next)
		next++
	}
	if o.Extable && len(f.Extable) > 0 {
		fmt.Fprintf(w, "; exception table at %#x:\n", x86ExtableAddr(f.Addr, len(f.Image)))
		for _, e := range f.Extable {
			fmt.Fprintf(w, ";   %s\n", e)
		}
	}
	return w.WriteByte('\n')
}

func (f *X86Func) dumpBPF(w *bufio.Writer, o X86DumpOptions, insns []Insn, k int) {
	x := f.Insns[k]
	if k > 0 && insns[k-1].IsLdImm64() {
		return // the second slot of a wide load has no code of its own
	}
	text := o.FormatBPF(insns, k)
	switch {
	case x.Slot < 0:
		fmt.Fprintf(w, "; (rewrite) %s\n", text)
	case x.Inserted:
		fmt.Fprintf(w, "; %d (rewrite): %s\n", x.Slot, text)
	default:
		fmt.Fprintf(w, "; %d: %s\n", x.Slot, text)
	}
}

// X86Text spells one decoded instruction whose bytes are code and address
// pc in the given syntax.
func X86Text(in x86asm.Inst, code []byte, pc uint64, s X86Syntax) string {
	switch s {
	case X86SyntaxGNU:
		return x86asm.GNUSyntax(in, pc, nil)
	case X86SyntaxIntel:
		return x86asm.IntelSyntax(in, pc, nil)
	}
	return x86LLVMText(in, code, pc, nil)
}

// x86MaxLocalLabels is MAX_LOCAL_LABELS in jit_disasm_helpers.c.
const x86MaxLocalLabels = 32

// dumpSelftest models disasm_one_func in the selftests' jit_disasm_helpers.c.
func (f *X86Func) dumpSelftest(w *bufio.Writer, idx int) error {
	fmt.Fprintf(w, "func #%d:\n", idx)
	var insts []x86asm.Inst
	var targets []uint64
	for pc := 0; pc < len(f.Image); {
		in, err := X86Decode(f.Image[pc:])
		if err != nil {
			return fmt.Errorf("%s+%#x: %w", f.Name, pc, err)
		}
		if rel, ok := in.Args[0].(x86asm.Rel); ok {
			if to := uint64(pc+in.Len) + uint64(int64(rel)); to < uint64(len(f.Image)) {
				targets = append(targets, to)
			}
		}
		insts = append(insts, in)
		pc += in.Len
	}
	// Like the helper: at most 32 labels, duplicates kept, sorted; a branch
	// names the first equal entry, a line the one glibc's bsearch finds.
	targets = targets[:min(len(targets), x86MaxLocalLabels)]
	slices.Sort(targets)
	label := func(to uint64) (string, bool) {
		if i := slices.Index(targets, to); i >= 0 {
			return "L" + strconv.Itoa(i), true
		}
		return "", false
	}
	lineLabel := func(pc uint64) (string, bool) {
		for lo, hi := 0, len(targets); lo < hi; {
			mid := (lo + hi) / 2
			switch {
			case pc < targets[mid]:
				hi = mid
			case pc > targets[mid]:
				lo = mid + 1
			default:
				return "L" + strconv.Itoa(mid), true
			}
		}
		return "", false
	}
	pc := 0
	for _, in := range insts {
		code := f.Image[pc : pc+in.Len]
		var b strings.Builder
		fmt.Fprintf(&b, "%x:\t", pc)
		for _, c := range code {
			fmt.Fprintf(&b, "%02x ", c)
		}
		for i := len(code) * 3; i < 12*3; i++ {
			b.WriteByte(' ')
		}
		if l, ok := lineLabel(uint64(pc)); ok {
			b.WriteString(l + ":")
		}
		b.WriteString("\t" + x86LLVMText(in, code, uint64(pc), label))
		fmt.Fprintln(w, b.String())
		pc += in.Len
	}
	return w.WriteByte('\n')
}

// X86Decode decodes the x86-64 instruction at the start of code. Unlike
// x86asm.Decode it refuses a truncated instruction, which x86asm returns as
// a lone prefix.
func X86Decode(code []byte) (x86asm.Inst, error) {
	in, err := x86asm.Decode(code, 64)
	if err != nil {
		return in, err
	}
	if in.Op == 0 {
		return in, fmt.Errorf("truncated instruction % x", code[:min(len(code), 15)])
	}
	return in, nil
}

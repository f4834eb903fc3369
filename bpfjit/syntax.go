package bpfjit

import (
	"fmt"

	"github.com/arenasim/arenasim/internal/errno"
)

// Syntax selects one of the textual forms of BPF instructions.
type Syntax uint8

// The three syntaxes.
const (
	// SyntaxLLVM is the C-like syntax of LLVM's BPF back end, as llvm-mc and
	// llvm-objdump print it and as kernel selftests write inline assembly:
	// "r0 = *(u32 *)(r1 + 4)", "if r1 > 7 goto +3", "lock *(u64 *)(r1 + 8) += r2".
	SyntaxLLVM Syntax = iota
	// SyntaxConformance is the mnemonic syntax of the bpf_conformance suite's
	// .data files (uBPF style): "ldxw %r0, [%r1+4]", "jne %r0, 0x1, exit".
	SyntaxConformance
	// SyntaxKernel is what the kernel prints in the verifier log and in
	// `bpftool prog dump xlated` (print_bpf_insn, kernel/bpf/disasm.c):
	// "(bf) r1 = addr_space_cast(r1, 0, 1)". It is output only.
	SyntaxKernel
)

func (s Syntax) String() string {
	switch s {
	case SyntaxLLVM:
		return "llvm"
	case SyntaxConformance:
		return "conformance"
	case SyntaxKernel:
		return "kernel"
	}
	return fmt.Sprintf("Syntax(%d)", uint8(s))
}

// SyntaxError is a bad line of assembly text. It names the position the way
// compilers do (file:line:col, all 1-based; the column counts bytes) and
// matches errno.EINVAL under errors.Is, which is what the kernel returns for a
// malformed program.
type SyntaxError struct {
	File string
	Line int
	Col  int
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Unwrap makes errors.Is(err, errno.EINVAL) hold.
func (e *SyntaxError) Unwrap() error { return errno.EINVAL }

// sizeBits names an access size as a C type width for the LLVM and kernel
// syntaxes ("u32"), and sizeSuffix as a mnemonic suffix for the conformance
// syntax ("w").
func sizeBits(s Size) int { return s.Bytes() * 8 }

func sizeSuffix(s Size) string {
	switch s {
	case Byte:
		return "b"
	case Half:
		return "h"
	case Word:
		return "w"
	case DWord:
		return "dw"
	}
	return "?"
}

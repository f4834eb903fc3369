// Package bpfjit runs eBPF programs the way the Linux kernel does after
// verification and JIT compilation, with the BPF arena in mind.
//
// It holds the instruction set (Insn, Opcode and its typed parts), the
// assembler and disassembler for LLVM's syntax and the bpf_conformance
// suite's syntax, a verifier that types registers and rewrites arena accesses
// to BPF_PROBE_MEM32, an interpreter, and a JIT model: a compiled engine with
// the interpreter's exact semantics, plus the x86-64 machine code the kernel's
// JIT would emit for the program (r12 holding the arena base) and its
// exception table.
//
// A program is a slice of Insn exactly as the kernel holds it: one 8-byte
// slot per Insn, with BPF_LD_IMM64 taking two slots (the second carries the
// upper 32 bits of the constant in Imm). Jump offsets and instruction indices
// count slots, so indices printed here match the kernel's verifier log.
//
// The package depends on nothing else in arenasim; it reaches memory, helpers
// and kfuncs through small interfaces the machine layer implements.
package bpfjit

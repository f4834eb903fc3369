package bpfjit

import (
	"errors"
	"strings"
	"testing"
)

// FuzzAssemble feeds arbitrary text to both assemblers. Nothing may panic;
// an error must be a positioned SyntaxError; whatever assembles must print
// (in every syntax) and its listing must assemble back to the same slots,
// without raw .8byte slots unless the text asked for them.
func FuzzAssemble(f *testing.F) {
	f.Add("r0 = *(u32 *)(r1 + 4)\nif r0 s> 7 goto +1\nlock *(u64 *)(r10 - 8) += r2\nexit", false)
	f.Add("call f\nexit\nf: r1 = addr_space_cast(r2, 0, 1); may_goto +0; r0 = 0x1122334455667788 ll; exit", false)
	f.Add("ldxdw %r0, [%r1+8]\nlock fetch xor32 [%r1+4], %r2\njne %r0, 0x1, exit\ncall local f\nexit\nf:\nexit", true)
	f.Add("lddw %r0, 0x1122334455667788\nmovsx1632 %r1, %r2\nja32 -1", true)
	f.Fuzz(func(t *testing.T, src string, conformance bool) {
		s := SyntaxLLVM
		if conformance {
			s = SyntaxConformance
		}
		prog, err := Assemble("fuzz", []byte(src), s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line < 1 || se.Col < 1 || se.Line > strings.Count(src, "\n")+1 {
				t.Fatalf("error without a valid position: %v", err)
			}
			return
		}
		for pc := range prog {
			for _, out := range []Syntax{SyntaxLLVM, SyntaxConformance, SyntaxKernel} {
				if FormatInsn(prog, pc, out) == "" {
					t.Fatalf("empty %v text for slot %d", out, pc)
				}
			}
		}
		checkListing(t, src, prog, Formatter{Syntax: s})
		if s == SyntaxLLVM {
			checkListing(t, src, prog, Formatter{Syntax: s, Hex: true})
		}
	})
}

// checkListing requires the formatter's listing of prog to assemble back to
// prog, with raw slots only where src had them or a call leaves the program.
func checkListing(t *testing.T, src string, prog []Insn, f Formatter) {
	listing := f.Disassemble(prog)
	back, err := Assemble("listing", []byte(listing), f.Syntax)
	if err != nil {
		t.Fatalf("listing does not assemble: %v\n%s", err, listing)
	}
	if len(back) != len(prog) {
		t.Fatalf("listing has %d slots, program %d:\n%s", len(back), len(prog), listing)
	}
	for i := range prog {
		if back[i] != prog[i] {
			t.Fatalf("slot %d: %v re-assembles as %v:\n%s", i, prog[i], back[i], listing)
		}
	}
	if strings.Contains(listing, ".8byte") && !strings.Contains(src, ".8byte") && !callsOutside(prog) {
		t.Fatalf("listing of text without raw slots uses one:\n%s", listing)
	}
}

// callsOutside reports whether a local call targets a slot outside prog (a
// label at the very end), which a listing can only give as a raw slot.
func callsOutside(prog []Insn) bool {
	for pc, ins := range prog {
		if isLocalCall(ins) {
			if t := ins.JumpTarget(pc); t < 0 || t >= len(prog) {
				return true
			}
		}
	}
	return false
}

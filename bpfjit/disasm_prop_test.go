package bpfjit

import (
	"testing"

	"pgregory.net/rapid"
)

// knownOpcodes lists every opcode the ISA defines, so that random programs
// hit real forms far more often than random bytes would.
var knownOpcodes = func() []Opcode {
	var ops []Opcode
	for _, c := range []Class{ALUClass, ALU64Class} {
		for op := Add; op <= End; op += 0x10 {
			ops = append(ops, ALUOpcode(c, op, ImmSource), ALUOpcode(c, op, RegSource))
		}
	}
	for _, c := range []Class{JumpClass, Jump32Class} {
		for op := Ja; op <= JCond; op += 0x10 {
			ops = append(ops, JumpOpcode(c, op, ImmSource), JumpOpcode(c, op, RegSource))
		}
	}
	for _, s := range []Size{Byte, Half, Word, DWord} {
		for _, m := range []Mode{MemMode, MemSXMode, AtomicMode, ProbeMem32Mode, ProbeAtomicMode, AbsMode, IndMode} {
			for _, c := range []Class{LdClass, LdXClass, StClass, StXClass} {
				ops = append(ops, MemOpcode(c, m, s))
			}
		}
	}
	return append(ops, LdImm64)
}()

// genProgram draws programs of known and unknown opcodes with fields biased
// toward the values the forms use (small registers, the atomic and cast
// immediates, the movsx and sdiv offsets).
func genProgram(t *rapid.T) []Insn {
	n := rapid.IntRange(1, 12).Draw(t, "n")
	prog := make([]Insn, 0, n)
	for len(prog) < n {
		ins := Insn{
			Code: rapid.OneOf(rapid.SampledFrom(knownOpcodes), rapid.Map(rapid.Uint8(), func(b uint8) Opcode { return Opcode(b) })).Draw(t, "code"),
			Dst:  Register(rapid.OneOf(rapid.IntRange(0, 10), rapid.IntRange(0, 15)).Draw(t, "dst")),
			Src:  Register(rapid.OneOf(rapid.IntRange(0, 2), rapid.IntRange(0, 15)).Draw(t, "src")),
			Off: rapid.OneOf(rapid.SampledFrom([]int16{0, 0, 1, -1, 8, 16, 32, -8, 3}),
				rapid.Int16()).Draw(t, "off"),
			Imm: rapid.OneOf(rapid.SampledFrom([]int32{0, 0, 1, 16, 32, 64, -1, CastUserImm, AtomicAdd | AtomicFetch,
				AtomicOr, AtomicXchg, AtomicCmpXchg, AtomicLoadAcq, AtomicStoreRel, 1 << 31 * -1}),
				rapid.Int32()).Draw(t, "imm"),
		}
		prog = append(prog, ins)
		if ins.IsLdImm64() && rapid.Bool().Draw(t, "clean second slot") {
			prog = append(prog, Insn{Imm: rapid.Int32().Draw(t, "imm hi")})
		}
	}
	return prog
}

// TestDisassembleAnyProgram: the listing of any program, in either assembler
// syntax, assembles back to exactly the same slots, and every slot prints in
// every syntax.
func TestDisassembleAnyProgram(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		prog := genProgram(t)
		for _, f := range []Formatter{{Syntax: SyntaxLLVM}, {Syntax: SyntaxLLVM, Hex: true}, {Syntax: SyntaxConformance}} {
			listing := f.Disassemble(prog)
			back, err := Assemble("listing", []byte(listing), f.Syntax)
			if err != nil {
				t.Fatalf("%v listing does not assemble: %v\n%s", f.Syntax, err, listing)
			}
			if len(back) != len(prog) {
				t.Fatalf("%v listing has %d slots, program %d:\n%s", f.Syntax, len(back), len(prog), listing)
			}
			for i := range prog {
				if back[i] != prog[i] {
					t.Fatalf("%v: slot %d %v re-assembles as %v:\n%s", f.Syntax, i, prog[i], back[i], listing)
				}
			}
		}
		for pc := range prog {
			if FormatInsn(prog, pc, SyntaxKernel) == "" {
				t.Fatalf("slot %d has no kernel text", pc)
			}
		}
	})
}

package bpfjit

import (
	"fmt"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

// Instruction builders for the x86 tests (named with an x86 prefix because
// the package's other test files have their own).

func x86AluK(c Class, op ALUOp, dst Register, imm int32) Insn {
	return Insn{Code: ALUOpcode(c, op, ImmSource), Dst: dst, Imm: imm}
}

func x86AluX(c Class, op ALUOp, dst, src Register) Insn {
	return Insn{Code: ALUOpcode(c, op, RegSource), Dst: dst, Src: src}
}

func x86Ldx(m Mode, s Size, dst, src Register, off int16) Insn {
	return Insn{Code: MemOpcode(LdXClass, m, s), Dst: dst, Src: src, Off: off}
}

func x86Stx(m Mode, s Size, dst, src Register, off int16) Insn {
	return Insn{Code: MemOpcode(StXClass, m, s), Dst: dst, Src: src, Off: off}
}

func x86St(m Mode, s Size, dst Register, off int16, imm int32) Insn {
	return Insn{Code: MemOpcode(StClass, m, s), Dst: dst, Off: off, Imm: imm}
}

func x86Atomic(m Mode, s Size, dst, src Register, off int16, op int32) Insn {
	return Insn{Code: MemOpcode(StXClass, m, s), Dst: dst, Src: src, Off: off, Imm: op}
}

func x86JmpK(c Class, op JumpOp, dst Register, imm int32, off int16) Insn {
	return Insn{Code: JumpOpcode(c, op, ImmSource), Dst: dst, Imm: imm, Off: off}
}

func x86JmpX(c Class, op JumpOp, dst, src Register, off int16) Insn {
	return Insn{Code: JumpOpcode(c, op, RegSource), Dst: dst, Src: src, Off: off}
}

func x86Call(kind Register, imm int32) Insn {
	return Insn{Code: JumpOpcode(JumpClass, Call, ImmSource), Src: kind, Imm: imm}
}

var x86Exit = Insn{Code: JumpOpcode(JumpClass, Exit, ImmSource)}

// x86Labels assembles a program whose jumps name labels.
type x86Labels struct {
	insns  []Insn
	labels map[string]int
	refs   map[int]string
}

func (b *x86Labels) add(ins ...Insn) *x86Labels {
	b.insns = append(b.insns, ins...)
	return b
}

func (b *x86Labels) label(name string) *x86Labels {
	if b.labels == nil {
		b.labels = map[string]int{}
	}
	b.labels[name] = len(b.insns)
	return b
}

// jump adds a jump whose offset is resolved to label by prog.
func (b *x86Labels) jump(ins Insn, label string) *x86Labels {
	if b.refs == nil {
		b.refs = map[int]string{}
	}
	b.refs[len(b.insns)] = label
	b.insns = append(b.insns, ins)
	return b
}

func (b *x86Labels) prog(t testing.TB) []Insn {
	t.Helper()
	p := append([]Insn(nil), b.insns...)
	for at, l := range b.refs {
		to, ok := b.labels[l]
		if !ok {
			t.Fatalf("no label %q", l)
		}
		p[at].Off = int16(to - at - 1)
	}
	return p
}

// x86Decoded is one decoded x86 instruction of an image.
type x86Decoded struct {
	Off  int
	Inst x86asm.Inst
	Code []byte
}

// x86DecodeAll decodes code completely, failing the test on any byte that
// is not a valid x86-64 instruction.
func x86DecodeAll(t testing.TB, code []byte) []x86Decoded {
	t.Helper()
	ds, err := x86TryDecodeAll(code)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func x86TryDecodeAll(code []byte) ([]x86Decoded, error) {
	var out []x86Decoded
	for pc := 0; pc < len(code); {
		in, err := X86Decode(code[pc:])
		if err != nil {
			return nil, fmt.Errorf("offset %#x: % x: %v", pc, code[pc:min(pc+16, len(code))], err)
		}
		out = append(out, x86Decoded{Off: pc, Inst: in, Code: code[pc : pc+in.Len]})
		pc += in.Len
	}
	return out, nil
}

// x86Intel spells decoded instructions in x86asm's Intel syntax, with
// branch targets relative to the image start.
func x86Intel(ds []x86Decoded) []string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = x86asm.IntelSyntax(d.Inst, uint64(d.Off), nil)
	}
	return s
}

// x86InsnCode returns the decoded x86 code of BPF insn k of the first function.
func x86InsnCode(t testing.TB, p *X86Program, k int) []x86Decoded {
	t.Helper()
	f := &p.Funcs[0]
	x := f.Insns[k]
	var out []x86Decoded
	for _, d := range x86DecodeAll(t, f.Image) {
		if d.Off >= x.Off && d.Off < x.Off+x.Len {
			out = append(out, d)
		}
	}
	return out
}

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

// x86CheckImage checks a compiled program against its BPF instructions: the
// images decode completely into valid x86-64; every BPF instruction's code
// starts and ends on instruction boundaries; every jump lands on the code of
// its target instruction, every later exit on the epilogue, every call on
// its callee; every exception-table entry covers exactly one instruction.
// It returns the number of x86 instructions.
func x86CheckImage(p *X86Program, syms *X86Symbols) (int, error) {
	total := 0
	for fi := range p.Funcs {
		f := &p.Funcs[fi]
		ds, err := x86TryDecodeAll(f.Image)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", f.Name, err)
		}
		total += len(ds)
		at := map[int]int{} // offset -> index in ds
		for i, d := range ds {
			at[d.Off] = i
		}
		at[len(f.Image)] = len(ds)
		cleanup := -1
		for k, x := range f.Insns {
			if _, ok := at[x.Off]; !ok {
				return 0, fmt.Errorf("%s insn %d: code starts at %#x, inside an x86 instruction", f.Name, k, x.Off)
			}
			end := x.Off + x.Len
			if _, ok := at[end]; !ok {
				return 0, fmt.Errorf("%s insn %d: code ends at %#x, inside an x86 instruction", f.Name, k, end)
			}
			if x.Len == 0 {
				continue
			}
			for _, addr := range []uint64{f.Addr + uint64(x.Off), f.Addr + uint64(end) - 1} {
				if loc, ok := p.Lookup(addr); !ok || loc.Func != fi || loc.Insn != k || loc.Slot != x.Slot {
					return 0, fmt.Errorf("%s insn %d: Lookup(%#x) = %+v", f.Name, k, addr, loc)
				}
			}
			last := ds[at[end]-1]
			target := func() uint64 {
				rel, _ := last.Inst.Args[0].(x86asm.Rel)
				return f.Addr + uint64(last.Off+last.Inst.Len) + uint64(int64(rel))
			}
			c := x.Insn.Code
			switch {
			case c == JumpOpcode(JumpClass, Exit, ImmSource):
				if cleanup < 0 {
					cleanup = x.Off
					if last.Inst.Op != x86asm.RET {
						return 0, fmt.Errorf("%s insn %d: first exit does not end in ret", f.Name, k)
					}
					continue
				}
				if last.Inst.Op != x86asm.JMP || target() != f.Addr+uint64(cleanup) {
					return 0, fmt.Errorf("%s insn %d: exit does not jump to the epilogue at %#x", f.Name, k, cleanup)
				}
			case x86HasTarget(c):
				to := k + 1 + int(x.Insn.Off)
				if c == JumpOpcode(Jump32Class, Ja, ImmSource) {
					to = k + 1 + int(x.Insn.Imm)
				}
				want := f.Addr + uint64(len(f.Image))
				if to < len(f.Insns) {
					want = f.Addr + uint64(f.Insns[to].Off)
				}
				if _, ok := last.Inst.Args[0].(x86asm.Rel); !ok || target() != want {
					return 0, fmt.Errorf("%s insn %d (%v): branch %v goes to %#x, want %#x", f.Name, k, x.Insn, last.Inst, target(), want)
				}
			case c == JumpOpcode(JumpClass, Call, ImmSource):
				if last.Inst.Op != x86asm.CALL {
					return 0, fmt.Errorf("%s insn %d: no call", f.Name, k)
				}
				var want uint64
				var ok bool
				switch {
				case x.Inserted:
					want, ok = syms.timedMayGoto(), true
				case x.Insn.Src == CallHelper:
					want, ok = syms.helper(x.Insn.Imm)
				case x.Insn.Src == CallKfunc:
					want, ok = syms.kfunc(x.Insn.Imm)
				case x.Insn.Src == CallLocal:
					for _, g := range p.Funcs {
						if g.Start == x.Slot+1+int(x.Insn.Imm) {
							want, ok = g.Addr, true
						}
					}
				}
				if !ok || target() != want {
					return 0, fmt.Errorf("%s insn %d: call goes to %#x, want %#x", f.Name, k, target(), want)
				}
			}
		}
		for _, e := range f.Extable {
			i, ok := at[e.Offset]
			if !ok || i == len(ds) || ds[i].Inst.Len != e.SkipLen() || e.Addr != f.Addr+uint64(e.Offset) {
				return 0, fmt.Errorf("%s: extable entry %v does not cover one instruction", f.Name, e)
			}
		}
	}
	return total, nil
}

// x86RetargetSecondSlots moves a jump drawn onto the second half of a wide
// load to its first half, which the generators' programs may then use.
func x86RetargetSecondSlots(prog []Insn) {
	second := x86SecondSlots(prog)
	for i, ins := range prog {
		if second[i] || !x86HasTarget(ins.Code) || !second[ins.JumpTarget(i)] {
			continue
		}
		if ins.Code == JumpOpcode(Jump32Class, Ja, ImmSource) {
			prog[i].Imm--
		} else {
			prog[i].Off--
		}
	}
}

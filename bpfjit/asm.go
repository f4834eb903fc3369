package bpfjit

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/arenasim/arenasim/internal/errno"
)

// Assemble translates src, the text of a program in syntax s, into
// instruction slots. name is the file name used in errors, which read
// "name:line:col: expected ..., found ..." and match errno.EINVAL.
//
// Both syntaxes take labels ("name:", alone or before an instruction), '#'
// comments and raw slots (".8byte 0x...", the 64-bit little-endian word of
// one slot, as LLVM's assembler and kernel selftests write them). The LLVM
// syntax also takes "//" comments and ';' between statements. SyntaxKernel is
// output only and gives EINVAL.
func Assemble(name string, src []byte, s Syntax) ([]Insn, error) {
	a := Assembler{Syntax: s}
	return a.Assemble(name, src)
}

// Assembler holds the options of an assembly beyond the syntax.
type Assembler struct {
	Syntax Syntax

	// Kfuncs resolves "call name" (LLVM syntax) for a name that is not a
	// label to a kfunc call: src BPF_PSEUDO_KFUNC_CALL, imm the BTF id, the
	// form the loader leaves after resolving a __ksym relocation.
	Kfuncs map[string]int32
	// Maps resolves "rN = name ll" (LLVM syntax) for a name that is not a
	// label to a map load: src BPF_PSEUDO_MAP_FD, imm the map's fd. A label
	// gives a BPF_PSEUDO_FUNC load of the code address instead.
	Maps map[string]int32
}

// Assemble is the package-level Assemble with the assembler's options.
func (a *Assembler) Assemble(name string, src []byte) ([]Insn, error) {
	if a.Syntax != SyntaxLLVM && a.Syntax != SyntaxConformance {
		return nil, errno.Errorf(errno.EINVAL, "%s: the %v syntax cannot be assembled", name, a.Syntax)
	}
	st := asmState{a: a, file: name, labels: make(map[string]labelDef)}
	for line := range bytes.Lines(src) {
		st.line++
		if err := st.assembleLine(string(line)); err != nil {
			return nil, st.wrap(err)
		}
	}
	if err := st.resolve(); err != nil {
		return nil, err
	}
	if st.prog == nil {
		st.prog = []Insn{}
	}
	return st.prog, nil
}

// labelDef is where a label was defined: the slot it names and its line.
type labelDef struct {
	pc       int
	line     int
	implicit bool
}

// fixKind says which field a label reference fills.
type fixKind uint8

const (
	fixOff    fixKind = iota // jump offset in Off: target - pc - 1 (s16)
	fixImm                   // gotol / local call offset in Imm (s32)
	fixCall                  // "call name": a local call, a kfunc or a helper by name
	fixLdImm                 // "rN = name ll": a function address or a map
	fixCallLc                // "call local name": a local call only
)

// fixup is a reference to a label, resolved when the whole text is read.
type fixup struct {
	pc   int
	kind fixKind
	tok  token
	line int
}

type asmState struct {
	a      *Assembler
	file   string
	line   int
	prog   []Insn
	labels map[string]labelDef
	fixups []fixup
	raw    int  // slots given as .8byte
	exits  bool // an exit has been seen (the conformance implicit label)
}

// wrap turns a column error into a SyntaxError naming file, line and column.
func (st *asmState) wrap(e *posError) error {
	return &SyntaxError{File: st.file, Line: st.line, Col: e.col, Msg: e.msg}
}

func (st *asmState) emit(ins ...Insn) { st.prog = append(st.prog, ins...) }

// stripComment removes a comment from a line.
func (st *asmState) stripComment(line string) string {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	if st.a.Syntax == SyntaxLLVM {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
	}
	return strings.TrimRight(line, "\r\n")
}

func (st *asmState) assembleLine(line string) *posError {
	line = st.stripComment(line)
	start := 0
	for {
		end := len(line)
		if st.a.Syntax == SyntaxLLVM {
			if i := strings.IndexByte(line[start:], ';'); i >= 0 {
				end = start + i
			}
		}
		if err := st.statement(line[start:end], start+1); err != nil {
			return err
		}
		if end == len(line) {
			return nil
		}
		start = end + 1
	}
}

// statement assembles one statement whose first byte is at column col.
func (st *asmState) statement(text string, col int) *posError {
	toks, err := lexLine(text, col)
	if err != nil {
		return err
	}
	p := &parser{toks: toks}
	for p.peek().kind == tokIdent && p.toks[p.pos+1].kind == tokPunct && p.toks[p.pos+1].text == ":" {
		if err := st.defineLabel(p.next()); err != nil {
			return err
		}
		p.next()
	}
	if p.peek().kind == tokEOL {
		return nil
	}
	if t := p.peek(); t.text == ".8byte" {
		p.next()
		v, err := p.imm64("a 64-bit slot value")
		if err != nil {
			return err
		}
		var b [InsnSize]byte
		for i := range b {
			b[i] = byte(v >> (8 * i))
		}
		st.emit(Decode(b[:]))
		st.raw++
		return p.end()
	}
	if st.a.Syntax == SyntaxConformance {
		return st.confStatement(p)
	}
	return st.llvmStatement(p)
}

func (st *asmState) defineLabel(t token) *posError {
	if _, _, isReg := llvmRegOK(t.text); isReg && st.a.Syntax == SyntaxLLVM {
		return errAt(t, "register %s cannot be a label", t.text)
	}
	if d, ok := st.labels[t.text]; ok && !d.implicit {
		return errAt(t, "label %q already defined at line %d", t.text, d.line)
	}
	st.labels[t.text] = labelDef{pc: len(st.prog), line: st.line}
	return nil
}

// reference records a label reference from the instruction about to be
// emitted.
func (st *asmState) reference(t token, kind fixKind) {
	st.fixups = append(st.fixups, fixup{pc: len(st.prog), kind: kind, tok: t, line: st.line})
}

// resolve fills in every label reference.
func (st *asmState) resolve() error {
	for _, f := range st.fixups {
		ins := &st.prog[f.pc]
		name := f.tok.text
		d, isLabel := st.labels[name]
		rel := int64(d.pc) - int64(f.pc) - 1
		fail := func(format string, args ...any) error {
			return &SyntaxError{File: st.file, Line: f.line, Col: f.tok.col, Msg: fmt.Sprintf(format, args...)}
		}
		switch {
		case f.kind == fixOff && isLabel:
			if rel < -1<<15 || rel >= 1<<15 {
				return fail("label %q is %d slots away, beyond a 16-bit jump offset", name, rel)
			}
			ins.Off = int16(rel)
		case (f.kind == fixImm || f.kind == fixCallLc || f.kind == fixCall) && isLabel:
			if rel < -1<<31 || rel >= 1<<31 {
				return fail("label %q is too far away", name)
			}
			ins.Imm = int32(rel)
			if f.kind != fixImm {
				ins.Src = CallLocal
			}
		case f.kind == fixCall:
			if id, ok := st.a.Kfuncs[name]; ok {
				ins.Src, ins.Imm = CallKfunc, id
			} else if id, ok := HelperID(name); ok {
				ins.Src, ins.Imm = CallHelper, id
			} else {
				return fail("call target %q is not a label, a kfunc or a helper", name)
			}
		case f.kind == fixLdImm && isLabel:
			ins.Src, ins.Imm = PseudoFunc, int32(rel)
		case f.kind == fixLdImm:
			fd, ok := st.a.Maps[name]
			if !ok {
				return fail("%q is not a label or a map", name)
			}
			ins.Src, ins.Imm = PseudoMapFD, fd
		default:
			return fail("undefined label %q", name)
		}
	}
	return nil
}

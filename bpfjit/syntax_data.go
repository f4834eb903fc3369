package bpfjit

import (
	"bytes"
	"strconv"
	"strings"
)

// ConformanceTest is one test file of the bpf_conformance suite (a ".data"
// file), parsed by the rules of the suite's runner (lib/src/bpf_test_parser.cc):
// lines lose a trailing '\r' and everything from '#'; a line containing "--"
// starts a section, chosen by the first of "asm", "result", "mem", "raw",
// "no register offset", " c", "error" it contains.
type ConformanceTest struct {
	Name string

	// Program is the program to run: the raw section if it has any slots,
	// else the assembled asm section.
	Program []Insn
	// Asm is the asm section, with every other line of the file blanked so
	// that line numbers match the file.
	Asm string
	// FromRaw says Program came from the raw section.
	FromRaw bool

	// Mem is the input memory (r1 points at it, r2 holds its length).
	Mem []byte
	// Result is the expected r0, compared as a full 64-bit value.
	Result    uint64
	HasResult bool
	// Error is the expected error text of a negative test ("" if none).
	Error string

	// Skip says why the suite's runner would not run this file ("" if it
	// would): no result and no error, or no instructions.
	Skip string
}

// ParseConformanceFile parses a bpf_conformance .data file and assembles its
// program. name is used in errors ("name:line:col: ..."). An asm section
// that does not assemble, a malformed number or an unknown section directive
// is an error (the suite's runner skips a file with an unknown directive;
// here it is reported).
func ParseConformanceFile(name string, data []byte) (*ConformanceTest, error) {
	t := &ConformanceTest{Name: name}
	type section uint8
	const (
		ignore section = iota
		asm
		raw
		result
		mem
		errSection
	)
	state := ignore
	var asmText strings.Builder
	var rawWords []uint64
	var resultText string
	var resultLine int
	lineNo := 0
	for line := range bytes.Lines(data) {
		lineNo++
		s := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = s[:i]
		}
		if strings.Contains(s, "--") {
			asmText.WriteByte('\n')
			switch {
			case strings.Contains(s, "asm"):
				state = asm
			case strings.Contains(s, "result"):
				state = result
			case strings.Contains(s, "mem"):
				state = mem
			case strings.Contains(s, "raw"):
				state = raw
			case strings.Contains(s, "no register offset"), strings.Contains(s, " c"):
				state = ignore
			case strings.Contains(s, "error"):
				state = errSection
			default:
				return nil, &SyntaxError{File: name, Line: lineNo, Col: strings.Index(s, "--") + 1,
					Msg: "unknown section directive " + strconv.Quote(strings.TrimSpace(s)) + " (expected asm, raw, mem, result, error, c or no register offset)"}
			}
			continue
		}
		if state == asm {
			asmText.WriteString(s)
		}
		asmText.WriteByte('\n')
		field := strings.TrimSpace(s)
		if field == "" {
			continue
		}
		switch state {
		case result:
			resultText, resultLine = field, lineNo
		case errSection:
			t.Error = field
		case mem:
			for _, tok := range tokensWithCols(s) {
				v, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(tok.text, "0x"), "0X"), 16, 8)
				if err != nil {
					return nil, &SyntaxError{File: name, Line: lineNo, Col: tok.col, Msg: "expected a hex byte, found " + strconv.Quote(tok.text)}
				}
				t.Mem = append(t.Mem, byte(v))
			}
		case raw:
			for _, tok := range tokensWithCols(s) {
				v, err := parseU64(tok.text)
				if err != nil {
					return nil, &SyntaxError{File: name, Line: lineNo, Col: tok.col, Msg: "expected a 64-bit instruction slot (0x... or decimal), found " + strconv.Quote(tok.text)}
				}
				rawWords = append(rawWords, v)
			}
		}
	}
	t.Asm = asmText.String()
	if resultText != "" {
		v, err := parseU64(resultText)
		if err != nil {
			return nil, &SyntaxError{File: name, Line: resultLine, Col: 1, Msg: "expected a result (0x... or decimal), found " + strconv.Quote(resultText)}
		}
		t.Result, t.HasResult = v, true
	}
	if !t.HasResult && t.Error == "" {
		t.Skip = "no result or error"
		return t, nil
	}
	if len(rawWords) > 0 {
		t.FromRaw = true
		for _, w := range rawWords {
			var b [InsnSize]byte
			for i := range b {
				b[i] = byte(w >> (8 * i))
			}
			t.Program = append(t.Program, Decode(b[:]))
		}
	} else {
		prog, err := Assemble(name, []byte(t.Asm), SyntaxConformance)
		if err != nil {
			return nil, err
		}
		t.Program = prog
	}
	if len(t.Program) == 0 {
		t.Skip = "no instructions"
	}
	return t, nil
}

// parseU64 reads "0x..." as hex and anything else as decimal; a negative
// decimal gives its two's complement, as the runner's stoull does.
func parseU64(s string) (uint64, error) {
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		return strconv.ParseUint(h, 16, 64)
	}
	if strings.HasPrefix(s, "-") {
		v, err := strconv.ParseInt(s, 10, 64)
		return uint64(v), err
	}
	return strconv.ParseUint(s, 10, 64)
}

// tokensWithCols splits a line on blanks, keeping each field's column.
func tokensWithCols(s string) []token {
	var out []token
	for i := 0; i < len(s); {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		out = append(out, token{kind: tokIdent, text: s[i:j], col: i + 1})
		i = j
	}
	return out
}

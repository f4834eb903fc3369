package bpfjit

import (
	"fmt"
	"strconv"
	"strings"
)

// tokKind classifies a token of assembly text.
type tokKind uint8

const (
	tokEOL    tokKind = iota // end of the statement
	tokIdent                 // r1, w2, %r3, goto, label names, .8byte
	tokNumber                // 12, 0x1f (unsigned; a sign is its own token)
	tokPunct                 // operators and punctuation
)

// token is one lexeme with its 1-based column in its line.
type token struct {
	kind tokKind
	text string
	col  int
}

func (t token) String() string {
	if t.kind == tokEOL {
		return "end of line"
	}
	return strconv.Quote(t.text)
}

// Operators, longest first so that the lexer takes the longest match. The
// signed ones ("s>>=", "s<") are whole tokens.
var punctuation = []string{
	"s>>=", "<<=", ">>=", "s>=", "s<=", "s/=", "s%=", "<<", ">>",
	"+=", "-=", "*=", "/=", "|=", "&=", "%=", "^=", "==", "!=", ">=", "<=", "s>", "s<",
	"=", ">", "<", "&", "*", "(", ")", "[", "]", "+", "-", ",", ":",
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '.' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// lexLine splits one statement into tokens. col0 is the column of text[0]
// in its line. The result always ends with a tokEOL token.
func lexLine(text string, col0 int) ([]token, *posError) {
	var toks []token
	for i := 0; i < len(text); {
		c := text[i]
		col := col0 + i
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f':
			i++
			continue
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(text) && isIdentChar(text[j]) {
				j++
			}
			toks = append(toks, token{tokNumber, text[i:j], col})
			i = j
			continue
		case c == '%' && i+1 < len(text) && isIdentStart(text[i+1]):
			j := i + 2
			for j < len(text) && isIdentChar(text[j]) {
				j++
			}
			toks = append(toks, token{tokIdent, text[i:j], col})
			i = j
			continue
		case isIdentStart(c) && !(c == 's' && signedOpAt(text, i)):
			j := i + 1
			for j < len(text) && isIdentChar(text[j]) {
				j++
			}
			toks = append(toks, token{tokIdent, text[i:j], col})
			i = j
			continue
		}
		p := punctAt(text, i)
		if p == "" {
			return nil, &posError{col: col, msg: fmt.Sprintf("unexpected character %q", c)}
		}
		toks = append(toks, token{tokPunct, p, col})
		i += len(p)
	}
	return append(toks, token{kind: tokEOL, col: col0 + len(text)}), nil
}

// signedOpAt reports whether a signed operator ("s>", "s>>=" ...) starts at text[i].
func signedOpAt(text string, i int) bool {
	p := punctAt(text, i)
	return strings.HasPrefix(p, "s")
}

func punctAt(text string, i int) string {
	for _, p := range punctuation {
		if strings.HasPrefix(text[i:], p) {
			return p
		}
	}
	return ""
}

// posError is a syntax error at a column of the current line; the assembler
// adds the file and line.
type posError struct {
	col int
	msg string
}

// parser walks the tokens of one statement.
type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOL {
		p.pos++
	}
	return t
}

// errAt reports a problem at token t.
func errAt(t token, format string, args ...any) *posError {
	return &posError{col: t.col, msg: fmt.Sprintf(format, args...)}
}

// expected reports that what was found at t is not what the grammar wants.
func expected(t token, what string) *posError {
	return errAt(t, "expected %s, found %v", what, t)
}

// accept consumes the punctuation or identifier s if it is next.
func (p *parser) accept(s string) bool {
	t := p.peek()
	if (t.kind == tokPunct || t.kind == tokIdent) && t.text == s {
		p.pos++
		return true
	}
	return false
}

// expect consumes s or fails.
func (p *parser) expect(s string) *posError {
	if !p.accept(s) {
		return expected(p.peek(), strconv.Quote(s))
	}
	return nil
}

// end fails unless the statement is complete.
func (p *parser) end() *posError {
	if t := p.peek(); t.kind != tokEOL {
		return expected(t, "end of line")
	}
	return nil
}

// number reads an optionally signed integer. It returns the magnitude, the
// sign and whether the digits were hex; the callers apply their ranges.
func (p *parser) number(what string) (mag uint64, neg, hex bool, t token, err *posError) {
	t = p.peek()
	if p.accept("-") {
		neg = true
	} else {
		p.accept("+")
	}
	d := p.peek()
	if d.kind != tokNumber {
		return 0, false, false, t, expected(d, what)
	}
	p.next()
	s := d.text
	base := 10
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s, base, hex = s[2:], 16, true
	}
	mag, perr := strconv.ParseUint(s, base, 64)
	if perr != nil {
		return 0, false, false, t, errAt(d, "bad number %q for %s", d.text, what)
	}
	return mag, neg, hex, t, nil
}

// imm32 reads a 32-bit immediate: a signed value in [-2^31, 2^31) or, as a
// bit pattern, an unsigned one up to 0xffffffff. With strictDecimal (the
// conformance assembler's rule), decimal values must be signed 32-bit.
func (p *parser) imm32(what string, strictDecimal bool) (int32, *posError) {
	mag, neg, hex, t, err := p.number(what)
	if err != nil {
		return 0, err
	}
	switch {
	case neg && mag <= 1<<31:
		return int32(-int64(mag)), nil
	case !neg && mag < 1<<31:
		return int32(mag), nil
	case !neg && mag <= 0xffffffff && (hex || !strictDecimal):
		return int32(uint32(mag)), nil
	}
	return 0, errAt(t, "immediate %s is out of the 32-bit range", numText(mag, neg, hex))
}

// imm64 reads a 64-bit constant, signed or unsigned.
func (p *parser) imm64(what string) (uint64, *posError) {
	mag, neg, hex, t, err := p.number(what)
	if err != nil {
		return 0, err
	}
	if neg {
		if mag > 1<<63 {
			return 0, errAt(t, "constant %s is out of the 64-bit range", numText(mag, neg, hex))
		}
		return -mag, nil
	}
	return mag, nil
}

// off16 reads a signed 16-bit offset. With hexWraps (the conformance rule),
// hex values up to 0xffff are taken as the 16-bit pattern.
func (p *parser) off16(what string, hexWraps bool) (int16, *posError) {
	mag, neg, hex, t, err := p.number(what)
	if err != nil {
		return 0, err
	}
	return off16Value(t, mag, neg, hex, hex && hexWraps)
}

func off16Value(t token, mag uint64, neg, hex, wraps bool) (int16, *posError) {
	switch {
	case neg && mag <= 1<<15:
		return int16(-int64(mag)), nil
	case !neg && mag < 1<<15:
		return int16(mag), nil
	case !neg && wraps && mag <= 0xffff:
		return int16(uint16(mag)), nil
	}
	return 0, errAt(t, "offset %s is out of the 16-bit range", numText(mag, neg, hex))
}

func numText(mag uint64, neg, hex bool) string {
	s := strconv.FormatUint(mag, 10)
	if hex {
		s = "0x" + strconv.FormatUint(mag, 16)
	}
	if neg {
		s = "-" + s
	}
	return s
}

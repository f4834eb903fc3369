package bpfjit

import (
	"bufio"
	"encoding/hex"
	"errors"
	"github.com/arenasim/arenasim/internal/shared"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/stretchr/testify/require"
)

// assembledEntry is one test of ASSEMBLED.txt, the output of the suite's
// own parser and assembler: the expected result, the memory and the program
// as 8-byte little-endian words.
type assembledEntry struct {
	result uint64
	mem    []byte
	words  []string
}

func readAssembled(t testing.TB, path string) map[string]*assembledEntry {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	out := make(map[string]*assembledEntry)
	var cur *assembledEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "== "):
			cur = &assembledEntry{}
			out[strings.TrimPrefix(line, "== ")] = cur
		case strings.HasPrefix(line, "result "):
			v, err := parseU64(strings.TrimPrefix(line, "result "))
			require.NoError(t, err)
			cur.result = v
		case line == "mem" || strings.HasPrefix(line, "mem "):
			b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimPrefix(line, "mem"), " ", ""))
			require.NoError(t, err)
			cur.mem = b
		case strings.HasPrefix(line, "  "):
			cur.words = append(cur.words, strings.TrimSpace(line))
		default:
			t.Fatalf("ASSEMBLED.txt: unexpected line %q", line)
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// conformanceFiles parses every .data file of the suite.
func conformanceFiles(t *testing.T) (string, []*ConformanceTest) {
	t.Helper()
	dir := shared.Path(t, "testdata/bpf_conformance")
	names, err := filepath.Glob(filepath.Join(dir, "*.data"))
	require.NoError(t, err)
	sort.Strings(names)
	var tests []*ConformanceTest
	for _, n := range names {
		data, err := os.ReadFile(n)
		require.NoError(t, err)
		ct, err := ParseConformanceFile(filepath.Base(n), data)
		require.NoError(t, err)
		tests = append(tests, ct)
	}
	return dir, tests
}

func slotWords(prog []Insn) []string {
	b := EncodeProgram(prog)
	words := make([]string, len(prog))
	for i := range words {
		words[i] = hex.EncodeToString(b[i*InsnSize : (i+1)*InsnSize])
	}
	return words
}

func TestConformanceAssembly(t *testing.T) {
	dir, tests := conformanceFiles(t)
	want := readAssembled(t, filepath.Join(dir, "ASSEMBLED.txt"))
	require.Len(t, tests, 313)
	require.Len(t, want, 313)
	same := 0
	for _, ct := range tests {
		w, ok := want[ct.Name]
		if !ok {
			t.Errorf("%s: not in ASSEMBLED.txt", ct.Name)
			continue
		}
		got := slotWords(ct.Program)
		switch {
		case ct.Skip != "":
			t.Errorf("%s: skipped: %s", ct.Name, ct.Skip)
		case strings.Join(got, " ") != strings.Join(w.words, " "):
			t.Errorf("%s: assembled\n%s\nwant\n%s", ct.Name, strings.Join(got, "\n"), strings.Join(w.words, "\n"))
		case !ct.HasResult || ct.Result != w.result:
			t.Errorf("%s: result %#x (present %v), want %#x", ct.Name, ct.Result, ct.HasResult, w.result)
		case string(ct.Mem) != string(w.mem):
			t.Errorf("%s: mem % x, want % x", ct.Name, ct.Mem, w.mem)
		default:
			same++
		}
		if ct.FromRaw {
			// The asm section of a raw file must say the same thing.
			prog, err := Assemble(ct.Name, []byte(ct.Asm), SyntaxConformance)
			require.NoError(t, err)
			require.Equal(t, got, slotWords(prog), "%s: asm and raw sections differ", ct.Name)
		}
	}
	t.Logf("conformance assembly: %d/%d identical", same, len(tests))
}

// TestConformanceDisassemblyRoundTrip prints every program of the suite in
// both assembler syntaxes and assembles the text again.
func TestConformanceDisassemblyRoundTrip(t *testing.T) {
	_, tests := conformanceFiles(t)
	for _, f := range []Formatter{{Syntax: SyntaxConformance}, {Syntax: SyntaxLLVM}, {Syntax: SyntaxLLVM, Hex: true}} {
		s := f.Syntax
		same := 0
		for _, ct := range tests {
			text := f.Disassemble(ct.Program)
			require.NotContains(t, text, ".8byte", "%s: %v syntax fell back to a raw slot", ct.Name, s)
			back, err := Assemble(ct.Name, []byte(text), s)
			if err != nil {
				t.Errorf("%s: %v listing does not assemble: %v\n%s", ct.Name, s, err, text)
				continue
			}
			if strings.Join(slotWords(back), " ") != strings.Join(slotWords(ct.Program), " ") {
				t.Errorf("%s: %v listing assembles differently:\n%s", ct.Name, s, text)
				continue
			}
			same++
		}
		t.Logf("conformance programs through %v syntax (hex %v): %d/%d re-assemble identically", s, f.Hex, same, len(tests))
	}
}

// TestConformanceNegative runs the suite's negative files: the ones whose
// asm is invalid must fail with a positioned error naming the problem.
func TestConformanceNegative(t *testing.T) {
	dir := shared.Path(t, "testdata/bpf_conformance/negative")
	cases := []struct {
		file string
		pos  string // "line:col"
		msg  string
	}{
		{"invalid_imm32_dec_range.data", "5:12", "immediate 2147483648 is out of the 32-bit range"},
		{"invalid_imm32_hex_range.data", "5:12", "immediate 0x100000000 is out of the 32-bit range"},
		{"invalid_label.data", "4:4", `undefined label "NOT_A_LABEL"`},
		{"invalid_lock.data", "4:17", "expected a register %r0-%r10, found end of line"},
		{"invalid_lock2.data", "4:1", "invalid number of operands for lock"},
		{"invalid_mnemonic.data", "5:1", `unknown mnemonic "ldxq"`},
		{"invalid_offset.data", "4:11", `expected a memory operand [%rN+off], found "%r1"`},
		{"invalid_offset_range.data", "5:15", "offset 0x10000 is out of the 16-bit range"},
		{"invalid_operand_count.data", "4:9", "expected a 64-bit immediate, found end of line"},
		{"invalid_register.data", "4:9", "unknown register %r50"},
		{"invalid_unknown_directive.data", "4:1", "unknown section directive"},
	}
	for _, c := range cases {
		data, err := os.ReadFile(filepath.Join(dir, c.file))
		require.NoError(t, err)
		_, err = ParseConformanceFile(c.file, data)
		require.Error(t, err, c.file)
		require.True(t, errors.Is(err, errno.EINVAL), "%s: %v", c.file, err)
		require.Contains(t, err.Error(), c.file+":"+c.pos+": ", c.file)
		require.Contains(t, err.Error(), c.msg, c.file)
	}
	for file, skip := range map[string]string{"empty.data": "no result or error", "empty_instructions.data": "no instructions"} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		require.NoError(t, err)
		ct, err := ParseConformanceFile(file, data)
		require.NoError(t, err, file)
		require.Equal(t, skip, ct.Skip, file)
	}
	data, err := os.ReadFile(filepath.Join(dir, "incorrect_return_value_high_bits.data"))
	require.NoError(t, err)
	ct, err := ParseConformanceFile("incorrect_return_value_high_bits.data", data)
	require.NoError(t, err)
	require.Equal(t, uint64(0x8977665544332211), ct.Result)
	require.Len(t, ct.Mem, 12)
	require.Equal(t, "ldxdw %r0, [%r1+2]", FormatInsn(ct.Program, 0, SyntaxConformance))
	data, err = os.ReadFile(filepath.Join(dir, "error.data"))
	require.NoError(t, err)
	ct, err = ParseConformanceFile("error.data", data)
	require.NoError(t, err)
	require.Equal(t, "Invalid", ct.Error)
	require.False(t, ct.HasResult)
}

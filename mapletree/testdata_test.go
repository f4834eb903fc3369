package mapletree

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sharedDir finds the project's shared data: ../shared next to the module
// root (or next to an enclosing directory, for worktrees).
func sharedDir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := wd
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above %s", wd)
		}
		dir = parent
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		s := filepath.Join(d, "shared")
		if fi, err := os.Stat(filepath.Join(s, "testdata")); err == nil && fi.IsDir() {
			return s
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no shared/testdata next to %s or above it", dir)
		}
	}
}

// mapleData returns the path of a file under shared/testdata/maple.
func mapleData(t testing.TB, name string) string {
	return filepath.Join(sharedDir(t), "testdata", "maple", name)
}

// dataLine is one non-comment line of a data file, split into fields.
type dataLine struct {
	file   string
	line   int
	fields []string
}

func (l dataLine) where() string { return l.file + ":" + strconv.Itoa(l.line) }

// readData reads the non-empty, non-comment lines of a data file.
func readData(t testing.TB, path string) []dataLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []dataLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		out = append(out, dataLine{file: filepath.Base(path), line: n, fields: strings.Fields(s)})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// u64 parses a decimal or 0x-prefixed unsigned number from a data line.
func u64(t testing.TB, l dataLine, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		t.Fatalf("%s: bad number %q: %v", l.where(), s, err)
	}
	return v
}

// i64 parses a signed decimal number.
func i64(t testing.TB, l dataLine, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		t.Fatalf("%s: bad number %q: %v", l.where(), s, err)
	}
	return v
}

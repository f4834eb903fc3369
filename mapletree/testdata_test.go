package mapletree

import (
	"bufio"
	"github.com/arenasim/arenasim/internal/shared"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// mapleData returns the path of a file under shared/testdata/maple.
func mapleData(t testing.TB, name string) string {
	return shared.Path(t, "testdata/maple/"+name)
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

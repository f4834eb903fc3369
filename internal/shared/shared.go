package shared

import (
	"os"
	"path/filepath"
	"testing"
)

// Path returns the path of rel (slash-separated, e.g.
// "testdata/maple/check_ranges_r.txt") under the shared directory. A missing
// file fails tb: the data is part of the project's test environment.
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			tb.Fatalf("shared: no go.mod above %s", wd)
		}
		root = parent
	}
	for d := filepath.Dir(root); ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", filepath.FromSlash(rel))
		if _, err := os.Stat(p); err == nil {
			return p
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	tb.Fatalf("shared: %s not found in a shared directory beside %s or above it", rel, root)
	return ""
}

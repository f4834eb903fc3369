package bpfjit

import (
	"os"
	"path/filepath"
	"testing"
)

// textSharedPath returns the path of rel under the project's shared
// directory. That directory sits beside the repository (../shared from the
// directory holding go.mod); from a git worktree nested deeper it is found
// by walking further up. A missing file fails the test: the data is part of
// the project's test environment.
func textSharedPath(t testing.TB, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	t.Fatalf("shared test data %s not found beside %s or above it", rel, dir)
	return ""
}

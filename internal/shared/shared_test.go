package shared

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPathFindsSharedData(t *testing.T) {
	p := Path(t, "testdata/maple/traces/README-traces.md")
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	if filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(p))))) != "shared" {
		t.Fatalf("%s is not under a shared directory", p)
	}
}

// fakeTB records a failure instead of stopping the test.
type fakeTB struct {
	testing.TB
	failed bool
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(string, ...any) {
	f.failed = true
	panic(f)
}

func TestPathMissingFails(t *testing.T) {
	f := &fakeTB{TB: t}
	func() {
		defer func() {
			if r := recover(); r != f {
				panic(r)
			}
		}()
		Path(f, "testdata/no-such-file")
	}()
	if !f.failed {
		t.Fatal("a missing file did not fail the test")
	}
}

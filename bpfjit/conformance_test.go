package bpfjit

import (
	"encoding/hex"
	"fmt"
	"github.com/arenasim/arenasim/internal/shared"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// execRunner is what the tests need of an engine.
type execRunner interface {
	Run(args ...uint64) (Result, error)
}

// execEngines are the two engines under test, by name.
var execEngines = []struct {
	name string
	new  func(prog []Insn, cfg Config) execRunner
}{
	{"interpreter", func(p []Insn, c Config) execRunner { return NewInterpreter(p, c) }},
	{"compiled", func(p []Insn, c Config) execRunner { return Compile(p, c) }},
}

// confCase is one bpf_conformance test as the suite's reference assembler
// produced it (ASSEMBLED.txt).
type confCase struct {
	name   string
	result uint64
	mem    []byte
	prog   []Insn
}

// confCases reads ASSEMBLED.txt into cases sorted by name.
func confCases(t testing.TB) []confCase {
	t.Helper()
	entries := readAssembled(t, shared.Path(t, "testdata/bpf_conformance/ASSEMBLED.txt"))
	var cases []confCase
	for name, e := range entries {
		c := confCase{name: name, result: e.result, mem: e.mem}
		for _, w := range e.words {
			b, err := hex.DecodeString(w)
			require.NoError(t, err, "%s: slot %q", name, w)
			require.Len(t, b, InsnSize, "%s: slot %q", name, w)
			c.prog = append(c.prog, Decode(b))
		}
		cases = append(cases, c)
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].name < cases[j].name })
	return cases
}

// confMemBase is where the harness maps a test's memory (r1).
const confMemBase = 0xffff888000400000

// confHelper5 is the suite's helper 5: it returns r1 (the uBPF plugin's
// "unwind" helper, which never unwinds here).
func confHelper5(c *HelperCall) (uint64, error) { return c.Args[0], nil }

// runConformance runs one case the way the suite's plugins do: r1 = the
// memory (NULL if there is none), r2 = its length, helper 5 present.
func runConformance(c confCase, newEngine func([]Insn, Config) execRunner) (uint64, error) {
	mem := &FlatMemory{}
	var r1 uint64
	if len(c.mem) > 0 {
		r1 = confMemBase
		if err := mem.Map(confMemBase, append([]byte(nil), c.mem...), false); err != nil {
			return 0, err
		}
	}
	e := newEngine(c.prog, Config{Memory: mem, Helpers: map[int32]HelperFunc{5: confHelper5}, Budget: 1 << 24})
	res, err := e.Run(r1, uint64(len(c.mem)))
	return res.R0, err
}

func TestConformance(t *testing.T) {
	cases := confCases(t)
	require.Len(t, cases, 313, "ASSEMBLED.txt should hold the whole suite")
	for _, eng := range execEngines {
		t.Run(eng.name, func(t *testing.T) {
			passed, failed := 0, 0
			for _, c := range cases {
				r0, err := runConformance(c, eng.new)
				switch {
				case err != nil:
					failed++
					t.Errorf("%s: %v", c.name, err)
				case r0 != c.result:
					failed++
					t.Errorf("%s: r0 = %#x, want %#x", c.name, r0, c.result)
				default:
					passed++
				}
			}
			t.Logf("conformance: %d passed, %d failed", passed, failed)
		})
	}
}

// TestConcurrentEngines runs the suite on several engines at once, one per
// goroutine, each with its own memory: CI runs it under the race detector,
// which would see any state the engines share behind the caller's back.
func TestConcurrentEngines(t *testing.T) {
	cases := confCases(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(execEngines))
	for g := 0; g < 4; g++ {
		for _, eng := range execEngines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, c := range cases[g%len(cases):] {
					r0, err := runConformance(c, eng.new)
					if err == nil && r0 != c.result {
						err = fmt.Errorf("%s on the %s: r0 = %#x, want %#x", c.name, eng.name, r0, c.result)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

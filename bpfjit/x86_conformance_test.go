package bpfjit

import (
	"bufio"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/arenasim/arenasim/internal/errno"
)

// x86SharedDir finds the shared test data: "shared" beside the module root
// (/work/main next to /work/shared in CI), or beside one of its parents (a
// worktree under /work/wt).
func x86SharedDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		shared := filepath.Join(d, "shared")
		if _, err := os.Stat(filepath.Join(shared, "testdata")); err == nil {
			return shared
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no shared/testdata beside %s or its parents", dir)
		}
	}
}

type x86ConfProg struct {
	name  string
	insns []Insn
}

// x86ConformancePrograms reads the reference assembler's output for the
// bpf_conformance suite (ASSEMBLED.txt: "== name", "result", "mem", then
// one 8-byte slot per line in hex).
func x86ConformancePrograms(t testing.TB) []x86ConfProg {
	t.Helper()
	path := filepath.Join(x86SharedDir(t), "testdata", "bpf_conformance", "ASSEMBLED.txt")
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var progs []x86ConfProg
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		switch {
		case strings.HasPrefix(s, "== "):
			progs = append(progs, x86ConfProg{name: strings.TrimPrefix(s, "== ")})
		case strings.HasPrefix(s, "  "):
			b, err := hex.DecodeString(strings.TrimSpace(s))
			if err != nil || len(b) != InsnSize || len(progs) == 0 {
				t.Fatalf("%s:%d: bad instruction line %q", path, line, s)
			}
			p := &progs[len(progs)-1]
			p.insns = append(p.insns, Decode(b))
		}
	}
	require.NoError(t, sc.Err())
	return progs
}

// TestX86Conformance compiles every program of the bpf_conformance suite,
// as the kernel would JIT it without an arena, and with an arena, BMI2 and
// counted may_goto, and checks each image decodes completely and its
// branches, calls and code ranges agree with the BPF program.
func TestX86Conformance(t *testing.T) {
	progs := x86ConformancePrograms(t)
	require.Len(t, progs, 313)
	configs := []X86Options{
		{},
		{KernVMStart: x86TestKern, UserVMStart: x86TestUser, BMI2: true, MayGoto: X86MayGotoCount},
	}
	emitted, insns := 0, 0
	var rejected []string
	for ci, o := range configs {
		for _, c := range progs {
			p, err := JITX86(c.insns, &o)
			if err != nil {
				// The x86 JIT has no BPF_CALL | BPF_X: the kernel's verifier
				// refuses callx before the JIT ever sees it.
				if c.name == "callx.data" && errors.Is(err, errno.EINVAL) && strings.Contains(err.Error(), "unknown opcode 8d") {
					if ci == 0 {
						rejected = append(rejected, c.name+" ("+err.Error()+")")
					}
					continue
				}
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			n, err := x86CheckImage(p, o.Symbols)
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			if ci == 0 {
				emitted++
				insns += n
			}
		}
	}
	t.Logf("x86 JIT conformance: %d of %d programs emitted, %d x86 instructions decoded, rejected: %s",
		emitted, len(progs), insns, strings.Join(rejected, "; "))
	require.Equal(t, len(progs)-1, emitted)
}

package bpfjit

import (
	"bufio"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
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

// x86ConfCase is one program of the bpf_conformance suite.
type x86ConfCase struct {
	name   string
	insns  []Insn
	result uint64 // the expected r0
	mem    []byte // the memory r1 points to
}

// x86ConformancePrograms reads the reference assembler's output for the
// bpf_conformance suite (ASSEMBLED.txt: "== name", "result 0x..", "mem"
// and its bytes, then one 8-byte slot per line in hex).
func x86ConformancePrograms(t testing.TB) []x86ConfCase {
	t.Helper()
	path := filepath.Join(x86SharedDir(t), "testdata", "bpf_conformance", "ASSEMBLED.txt")
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var cs []x86ConfCase
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s := sc.Text()
		if !strings.HasPrefix(s, "== ") && len(cs) == 0 {
			t.Fatalf("%s:%d: %q before the first program", path, line, s)
		}
		var err error
		switch {
		case strings.HasPrefix(s, "== "):
			cs = append(cs, x86ConfCase{name: s[3:]})
		case strings.HasPrefix(s, "result "):
			cs[len(cs)-1].result, err = strconv.ParseUint(strings.TrimPrefix(s[7:], "0x"), 16, 64)
		case strings.HasPrefix(s, "mem"):
			cs[len(cs)-1].mem, err = hex.DecodeString(strings.ReplaceAll(s[3:], " ", ""))
		case strings.HasPrefix(s, "  "):
			var b []byte
			if b, err = hex.DecodeString(strings.TrimSpace(s)); err == nil && len(b) == InsnSize {
				cs[len(cs)-1].insns = append(cs[len(cs)-1].insns, Decode(b))
			}
		}
		if err != nil {
			t.Fatalf("%s:%d: %q: %v", path, line, s, err)
		}
	}
	require.NoError(t, sc.Err())
	return cs
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

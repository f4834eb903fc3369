package bpfjit

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/arenasim/arenasim/internal/errno"
)

// TestX86Conformance compiles every program of the bpf_conformance suite,
// as the kernel would JIT it without an arena, and with an arena, BMI2 and
// counted may_goto, and checks each image decodes completely and its
// branches, calls and code ranges agree with the BPF program.
func TestX86Conformance(t *testing.T) {
	progs := confCases(t)
	require.Len(t, progs, 313)
	configs := []X86Options{
		{},
		{KernVMStart: x86TestKern, UserVMStart: x86TestUser, BMI2: true, MayGoto: X86MayGotoCount},
	}
	emitted, insns := 0, 0
	var rejected []string
	for ci, o := range configs {
		for _, c := range progs {
			p, err := JITX86(c.prog, &o)
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

package bpfjit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// vtAssemble assembles LLVM-syntax text with the test environment's maps
// and kfuncs by name.
func vtAssemble(t testing.TB, name, src string) []Insn {
	t.Helper()
	a := Assembler{
		Syntax: SyntaxLLVM,
		Kfuncs: map[string]int32{"bpf_arena_alloc_pages": vtKfAlloc, "bpf_arena_free_pages": vtKfFree},
		Maps:   map[string]int32{"hmap": vtHashFD, "arr": vtArrayFD, "arena": vtArenaFD},
	}
	prog, err := a.Assemble(name, []byte(src))
	require.NoError(t, err)
	return prog
}

// TestVerifierLogSelftestLines checks log lines that the kernel's own
// selftests expect (their __msg strings, matched as substrings as the
// selftest harness does) against the same programs here.
func TestVerifierLogSelftestLines(t *testing.T) {
	cases := []struct {
		name string
		src  string
		caps Caps
		want []string
		freq bool // BPF_F_TEST_STATE_FREQ
	}{
		{"verifier_bounds.c non_const_xor_src_dst", `
			call bpf_get_prandom_u32
			r6 = r0
			call bpf_get_prandom_u32
			r6 &= 0xaf
			r0 &= 0x1a0
			r0 ^= r6
			exit`, AllCaps,
			[]string{"5: (af) r0 ^= r6                      ; R0_w=scalar(smin=smin32=0,smax=umax=smax32=umax32=431,var_off=(0x0; 0x1af))"}, false},
		{"verifier_bounds.c non_const_or_src_dst", `
			call bpf_get_prandom_u32
			r6 = r0
			call bpf_get_prandom_u32
			r6 &= 0xaf
			r0 &= 0x1a0
			r0 |= r6
			exit`, AllCaps,
			[]string{"5: (4f) r0 |= r6                      ; R0_w=scalar(smin=smin32=0,smax=umax=smax32=umax32=431,var_off=(0x0; 0x1af))"}, false},
		{"verifier_bounds.c non_const_mul_regs", `
			call bpf_get_prandom_u32
			r6 = r0
			call bpf_get_prandom_u32
			r6 &= 0xff
			r0 &= 0x0f
			r0 *= r6
			exit`, AllCaps,
			[]string{"5: (2f) r0 *= r6                      ; R0_w=scalar(smin=smin32=0,smax=umax=smax32=umax32=3825,var_off=(0x0; 0xfff))"}, false},
		{"verifier_spill_fill.c partial_stack_load_preserves_zeros", `
			ld_pseudo r6, 2, 5
			.8byte 0x00000000fff80a7a
			r0 = 0
			*(u64 *)(r10 - 16) = r0
			r1 = r6
			r2 = *(u8 *)(r10 - 1)
			r1 += r2
			*(u8 *)(r1 + 0) = r2
			r1 = r6
			r2 = *(u8 *)(r10 - 9)
			r1 += r2
			*(u8 *)(r1 + 0) = r2
			r0 = 0
			exit`, AllCaps,
			[]string{
				"2: (7a) *(u64 *)(r10 -8) = 0          ; R10=fp0 fp-8_w=0",
				"4: (7b) *(u64 *)(r10 -16) = r0        ; R0_w=0 R10=fp0 fp-16_w=0",
				"6: (71) r2 = *(u8 *)(r10 -1)          ; R2_w=0 R10=fp0 fp-8_w=0",
				"10: (71) r2 = *(u8 *)(r10 -9)         ; R2_w=0 R10=fp0 fp-16_w=0",
				"11: (0f) r1 += r2",
			}, false},
		{"verifier_spill_fill.c partial_stack_load_preserves_partial_zeros", `
			.8byte 0x00000000fffc0a62
			r1 = arr ll
			r2 = *(u8 *)(r10 - 1)
			r0 = 0
			exit`, AllCaps,
			[]string{
				"(62) *(u32 *)(r10 -4) = 0          ; R10=fp0 fp-8=0000????",
				"(71) r2 = *(u8 *)(r10 -1)          ; R2_w=0 R10=fp0 fp-8=0000????",
			}, false},
		{"verifier_precision.c state_loop_first_last_equal", `
			r0 = 0
		l0:
			r0 += 1
			r0 += 1
			if r0 >= 10 goto l1
			goto l0
		l1:
			exit`, AllCaps,
			[]string{"2: (07) r0 += 1                       ; R0_w=6"}, false},
		{"verifier_scalar_ids.c (log of a 32-bit shift)", `
			call bpf_get_prandom_u32
			r0 &= 0x7fffffff
			w1 = w0
			r1 >>= 32
			r0 = r1
			exit`, AllCaps,
			[]string{
				"3: (77) r1 >>= 32                     ; R1_w=0",
				"4: (bf) r0 = r1                       ; R0_w=0 R1_w=0",
			}, false},
		{"verifier_scalar_ids.c linked_regs_too_many_regs", `
			call bpf_ktime_get_ns
			r0 &= 0xff
			r1 = r0
			r2 = r0
			r3 = r0
			r4 = r0
			r5 = r0
			r6 = r0
			if r0 > 7 goto +0
			r6 = r6
			r7 = r10
			r7 += r0
			r0 = 0
			exit`, AllCaps,
			[]string{
				"8: (25) if r0 > 0x7 goto pc+0         ; R0=scalar(id=1",
				"9: (bf) r6 = r6                       ; R6_w=scalar(id=2",
			}, true},
		{"verifier_search_pruning.c allocated_stack", `
			r6 = r1
			call bpf_get_prandom_u32
			r7 = r0
			if r0 == 0 goto l0
			r0 = 0
			*(u64 *)(r10 - 8) = r6
			r6 = *(u64 *)(r10 - 8)
			*(u8 *)(r10 - 9) = r7
			r7 = *(u8 *)(r10 - 9)
		l0:	if r0 != 0 goto l1
		l1:	if r0 != 0 goto l2
		l2:	if r0 != 0 goto l3
		l3:	if r0 != 0 goto l4
		l4:	exit`, AllCaps,
			[]string{"from 3 to 9: safe", "processed 15 insns"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := vtEnv()
			env.Caps = c.caps
			env.LogLevel = LogLevel2
			env.TestStateFreq = c.freq
			out, err := Verify(vtAssemble(t, c.name, c.src), env)
			require.NoError(t, err)
			for _, w := range c.want {
				require.Contains(t, out.Log, w, "log:\n%s", out.Log)
			}
		})
	}
}

// TestVerifierLogFormat pins the pieces of the log format: the first state
// line, the ';' column, the "_w" marks, stack slot letters, a rejected
// path's log ending with the message and the statistics line.
func TestVerifierLogFormat(t *testing.T) {
	env := vtEnv()
	env.LogLevel = LogLevel1
	prog := vtAssemble(t, "format", `
		r0 = 0
		*(u64 *)(r10 - 8) = r1
		r2 = *(u32 *)(r1 + 4)
		if r2 > 10 goto out
		r0 = r2
	out:
		exit`)
	out, err := Verify(prog, env)
	require.NoError(t, err)
	want := "0: R1=ctx() R10=fp0\n" +
		"0: (b7) r0 = 0                        ; R0_w=0\n" +
		"1: (7b) *(u64 *)(r10 -8) = r1         ; R1=ctx() R10=fp0 fp-8_w=ctx()\n" +
		"2: (61) r2 = *(u32 *)(r1 +4)          ; R1=ctx() R2_w=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))\n" +
		"3: (25) if r2 > 0xa goto pc+1 5: R0_w=0 R1=ctx() R2_w=scalar(smin=umin=umin32=11,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)) R10=fp0 fp-8_w=ctx()\n" +
		"5: (95) exit\n" +
		"processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n"
	require.Equal(t, want, out.Log)

	env.LogLevel = LogLevel1
	_, err = Verify(vtAssemble(t, "reject", `
		r0 = *(u64 *)(r1 + 0)
		r0 = *(u64 *)(r0 + 0)
		exit`), env)
	require.Error(t, err)
	require.Equal(t, "0: R1=ctx() R10=fp0\n"+
		"0: (79) r0 = *(u64 *)(r1 +0)          ; R0_w=scalar() R1=ctx()\n"+
		"1: (79) r0 = *(u64 *)(r0 +0)\n"+
		"R0 invalid mem access 'scalar'\n"+
		"processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n",
		err.(*VerifierError).Log)

	// Unprivileged: pointers print as 0 in wide loads, scalars are precise.
	env = vtEnv()
	env.Caps = 0
	env.LogLevel = LogLevel1
	out, err = Verify(vtAssemble(t, "unpriv", `
		r1 = hmap ll
		r0 = 1
		exit`), env)
	require.NoError(t, err)
	require.Contains(t, out.Log, "0: (18) r1 = 0x0                      ; R1_w=map_ptr(map=hmap,ks=4,vs=8)\n")
	require.Contains(t, out.Log, "2: (b7) r0 = 1                        ; R0_w=P1\n", "unprivileged scalars are precise")

	// Level 2 prints the state at each branch target and keeps every path.
	env = vtEnv()
	env.LogLevel = LogLevel2
	out, err = Verify(prog, env)
	require.NoError(t, err)
	require.Contains(t, out.Log, "func#0 @0\n")
	require.Contains(t, out.Log, "3: (25) if r2 > 0xa goto pc+1         ; R2_w=scalar(smin=smin32=0,smax=umax=smax32=umax32=10,var_off=(0x0; 0xf))\n")
	require.Contains(t, out.Log, "\nfrom 3 to 5: R0_w=0 R1=ctx() R2_w=scalar(smin=umin=umin32=11,")
}

// TestVerifierLogGolden compares whole level-2 logs of the programs in
// testdata/verifier with their .log files. VLOG_UPDATE=1 rewrites them.
func TestVerifierLogGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/verifier/*.s")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			require.NoError(t, err)
			env := vtEnv()
			env.LogLevel = LogLevel2
			var got string
			if out, err := Verify(vtAssemble(t, f, string(src)), env); err != nil {
				got = err.(*VerifierError).Log
			} else {
				got = out.Log
			}
			golden := strings.TrimSuffix(f, ".s") + ".log"
			if os.Getenv("VLOG_UPDATE") != "" {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			require.Equal(t, string(want), got)
		})
	}
}

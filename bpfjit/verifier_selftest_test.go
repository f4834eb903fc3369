package bpfjit

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestVerifierSelftests runs programs from the kernel's verifier selftests
// (tools/testing/selftests/bpf/progs/verifier_*.c, Linux 6.16) with their
// expected verdict and the message the selftest looks for in the log, both
// privileged and, where the selftest says, unprivileged.
func TestVerifierSelftests(t *testing.T) {
	type verdict struct {
		ok  bool
		msg string // substrings of the log, separated by '|'
	}
	cases := []struct {
		name   string
		src    string
		priv   verdict
		unpriv *verdict // nil: not run unprivileged
	}{
		{"verifier_bounds.c shift_with_64_bit_input", `
			r1 = 0
			*(u64 *)(r10 - 8) = r1
			r2 = r10
			r2 += -8
			r1 = hmap ll
			call bpf_map_lookup_elem
			if r0 == 0 goto l0
			r1 = 2
			r1 <<= 31
			w1 >>= 31
			w1 -= 2
			r0 += r1
			r0 = 0
		l0:	exit`,
			verdict{false, "math between map_value pointer and 4294967294 is not allowed"}, &verdict{false, ""}},
		{"verifier_bounds_deduction.c deducing_bounds_from_const_10", `
			r0 = 0
			if r0 s<= 0 goto l0
		l0:	r0 = -r0
			r0 -= r1
			exit`,
			verdict{false, "math between ctx pointer and register with unbounded min value is not allowed"}, &verdict{false, ""}},
		{"verifier_linked_scalars.c scalars", `
			r0 = 0
			r1 = 0x80000001 ll
			r1 /= 1
			r2 = r1
			r4 = r1
			w2 += 0x7FFFFFFF
			w4 += 0
			if r2 == 0 goto l1
			exit
		l1:
			r4 >>= 63
			r3 = 1
			r3 -= r4
			r3 *= 0x7FFFFFFF
			r3 += r10
			*(u8 *)(r3 - 1) = r0
			exit`,
			verdict{false, "math between fp pointer and 2147483647 is not allowed"}, nil},
		{"verifier_spill_fill.c spill_32bit_of_64bit_fail", `
			r6 = r1
			call bpf_get_prandom_u32
			r0 &= 0x8
			r1 = 0xffffffff
			r1 <<= 32
			r1 += r0
			r2 = r1
			*(u32 *)(r10 - 8) = r1
			r2 = *(u32 *)(r10 - 8)
			r3 = 0
			if r2 != r3 goto l0
		l0:	r1 >>= 32
			r6 += r1
			r0 = *(u32 *)(r6 + 0)
			exit`,
			verdict{false, "math between ctx pointer and 4294967295 is not allowed"}, nil},
		{"verifier_spill_fill.c fill_32bit_after_spill_64bit_clear_id", `
			r6 = r1
			call bpf_get_prandom_u32
			r0 &= 0x8
			r1 = 0xffffffff
			r1 <<= 32
			r1 += r0
			*(u64 *)(r10 - 8) = r1
			r2 = *(u32 *)(r10 - 8)
			r3 = 0
			if r2 != r3 goto l0
		l0:	r1 >>= 32
			r6 += r1
			r0 = *(u32 *)(r6 + 0)
			exit`,
			verdict{false, "math between ctx pointer and 4294967295 is not allowed"}, nil},
		{"verifier_spill_fill.c spill_16bit_of_32bit_fail", `
			r6 = r1
			call bpf_get_prandom_u32
			r0 &= 0x8
			w1 = 0xffff0000
			r1 += r0
			r2 = r1
			*(u16 *)(r10 - 8) = r1
			r2 = *(u16 *)(r10 - 8)
			r3 = 0
			if r2 != r3 goto l0
		l0:	r1 >>= 16
			r6 += r1
			r0 = *(u32 *)(r6 + 0)
			exit`,
			verdict{false, "dereference of modified ctx ptr R6 off=65535 disallowed"}, nil},
		{"verifier_spill_fill.c check_corrupted_spill_fill", `
			*(u64 *)(r10 - 8) = r1
			r0 = 0x23
			*(u8 *)(r10 - 7) = r0
			r0 = *(u64 *)(r10 - 8)
			r0 = *(u64 *)(r0 + 8)
			exit`,
			verdict{false, "R0 invalid mem access 'scalar'"}, &verdict{false, "attempt to corrupt spilled"}},
		{"verifier_spill_fill.c check_corrupted_spill_fill_lsb", `
			*(u64 *)(r10 - 8) = r1
			r0 = 0xcafe
			*(u16 *)(r10 - 8) = r0
			r0 = *(u64 *)(r10 - 8)
			exit`,
			verdict{true, ""}, &verdict{false, "attempt to corrupt spilled"}},
		{"verifier_spill_fill.c check_corrupted_spill_fill_msb", `
			*(u64 *)(r10 - 8) = r1
			r0 = 0x12345678
			*(u32 *)(r10 - 4) = r0
			r0 = *(u64 *)(r10 - 8)
			exit`,
			verdict{true, ""}, &verdict{false, "attempt to corrupt spilled"}},
		{"verifier_spill_fill.c spill_subregs_preserve_stack_zero", `
			call bpf_get_prandom_u32
			.8byte 0x00000000ffff0a72
			*(u8 *)(r10 - 2) = r0
			*(u32 *)(r10 - 8) = r0
			.8byte 0x00000000fff60a6a
			*(u16 *)(r10 - 12) = r0
			*(u16 *)(r10 - 16) = r0
			.8byte 0x00000000ffee0a6a
			*(u16 *)(r10 - 20) = r0
			*(u8 *)(r10 - 24) = r0
			r0 = 0
			exit`,
			verdict{true, "fp-8=0m??scalar()|fp-16=00mm??scalar()|fp-24=00mm???scalar()"}, nil},
		{"verifier_loops1.c bounded_loop_count_to_4", `
			r0 = 0
		l0:	r0 += 1
			if r0 < 4 goto l0
			exit`,
			verdict{true, ""}, &verdict{false, "back-edge"}},
		{"verifier_loops1.c loop_start_in_the_middle", `
			r0 = 0
			goto l0
		l1:	r0 += 1
		l0:	if r0 < 4 goto l1
			exit`,
			verdict{true, ""}, &verdict{false, "back-edge"}},
		{"verifier_loops1.c from_totally_unknown_to_4", `
			call bpf_get_prandom_u32
		l0:	r0 += 1
			if r0 < 4 goto l0
			exit`,
			verdict{true, ""}, nil},
		{"verifier_loops1.c jumps_out_rather_than_in", `
			r6 = 0
		l1:	r6 += 1
			if r6 > 10000 goto l0
			call bpf_get_prandom_u32
			goto l1
		l0:	exit`,
			verdict{true, ""}, nil},
		{"verifier_loops1.c bounded_recursion", `
			r1 = 0
			call f
			exit
		f:	r1 += 1
			r0 = r1
			if r1 < 4 goto l0
			exit
		l0:	call f
			exit`,
			verdict{false, "the call stack of 8 frames is too deep !"}, nil},
		{"verifier_loops1.c infinite_loop_in_two_jumps", `
			r0 = 0
		l1:	goto l0
		l0:	if r0 < 4 goto l1
			exit`,
			verdict{false, "loop detected"}, nil},
		{"verifier_loops1.c infinite_loop_three_jump_trick", `
			r0 = 0
		l2:	r0 += 1
			r0 &= 1
			if r0 < 2 goto l0
			exit
		l0:	r0 += 1
			r0 &= 1
			if r0 < 2 goto l1
			exit
		l1:	r0 += 1
			r0 &= 1
			if r0 < 2 goto l2
			exit`,
			verdict{false, "loop detected"}, nil},
		{"verifier_loops1.c back_jump_to_1st_insn_1", `
		l0:	r0 = 123
			if r0 == 4 goto l0
			exit`,
			verdict{true, ""}, nil},
		{"verifier_loops1.c back_jump_to_1st_insn_2", `
			r1 = 10
			r2 = 0
			call f
			exit
		f:	r2 += r1
			r1 -= 1
			if r1 != 0 goto f
			r0 = r2
			exit`,
			verdict{true, ""}, nil},
		{"verifier_loops1.c jump_to_1st_insn_2", `
			r1 = 10
			r2 = 0
			call f
			exit
		f:	r2 += r1
			r1 -= 1
			if w1 != 0 goto f
			r0 = r2
			exit`,
			verdict{true, ""}, nil},
		{"verifier_loops1.c not_an_inifinite_loop", `
			call bpf_get_prandom_u32
			r0 &= 0xff
			*(u64 *)(r10 - 8) = r0
			r0 = 0
		loop:
			r0 = *(u64 *)(r10 - 8)
			if r0 > 10 goto out
			r0 += 1
			*(u64 *)(r10 - 8) = r0
			r0 = 0
			goto loop
		out:
			r0 = 0
			exit`,
			verdict{true, ""}, nil},
		{"verifier_ctx.c context_stores_via_bpf_atomic", `
			r0 = 0
			lock *(u32 *)(r1 + 8) += w0
			exit`,
			verdict{false, "BPF_ATOMIC stores into R1 ctx is not allowed"}, nil},
		{"verifier_ctx.c make_ptr_to_ctx_unusable", `
			r1 += 4
			r0 = *(u32 *)(r1 + 8)
			exit`,
			verdict{false, "dereference of modified ctx ptr"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prog := vtAssemble(t, c.name, c.src)
			run := func(caps Caps, want verdict) {
				env := vtEnv()
				env.Caps = caps
				env.LogLevel = LogLevel2
				out, err := Verify(prog, env)
				var log string
				if err != nil {
					require.False(t, want.ok, "rejected: %v", err)
					log = err.(*VerifierError).Log
				} else {
					require.True(t, want.ok, "accepted; want %q", want.msg)
					log = out.Log
				}
				for _, m := range strings.Split(want.msg, "|") {
					require.Contains(t, log, m)
				}
			}
			run(AllCaps, c.priv)
			if c.unpriv != nil {
				run(0, *c.unpriv)
			}
		})
	}
}

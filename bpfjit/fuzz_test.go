package bpfjit

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// fuzzBufSize is the context buffer (r1) of fuzzed programs.
const fuzzBufSize = 64

// FuzzBPF decodes the input into a program (whole 8-byte slots), verifies
// it against the test world's environment (a 64-byte memory context, an
// array map, the arena and its kfuncs) and, if the verifier accepts it, runs
// the rewritten program on both engines, which must end in the same state.
// A program the verifier rejects is run raw on both engines too: they must
// take any input without a panic and still agree.
//
// A program with a backward jump skips the verifier and runs raw: the
// verifier explores a loop iteration by iteration up to its limit of one
// million processed instructions, which takes seconds, and the fuzzer
// counts an input that takes 10 s as a hang.
func FuzzBPF(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64*InsnSize {
			data = data[:64*InsnSize]
		}
		prog, err := DecodeProgram(data[:len(data)/InsnSize*InsnSize])
		require.NoError(t, err)
		buf := make([]byte, fuzzBufSize)
		w := newExecWorld(t, buf, execUserStart)
		if !fuzzHasBackEdge(prog) {
			if v, err := Verify(prog, w.verifyEnv(fuzzBufSize)); err == nil {
				prog = v.Insns
			}
		}
		runBoth(t, prog, buf, func(w *execWorld, c *Config) { c.Budget = 1 << 16 })
	})
}

// fuzzHasBackEdge reports whether a jump or local call in prog goes back
// (or to itself).
func fuzzHasBackEdge(prog []Insn) bool {
	for pc, ins := range prog {
		op := ins.Code
		if !op.Class().IsJump() || op.JumpOp() == Exit ||
			(op.JumpOp() == Call && (op.Source() == RegSource || ins.Src != CallLocal)) {
			continue
		}
		if ins.JumpTarget(pc) <= pc {
			return true
		}
	}
	return false
}

// fuzzSeeds are programs in LLVM syntax that pass the verifier and reach
// every part of the engines: ALU edge cases, loops with may_goto, the stack,
// the context, the map through a helper, local calls, and the arena (alloc,
// cast, loads and stores that hit and miss, atomics, free).
var fuzzSeedSources = map[string]string{
	"alu": `r0 = 7
r1 = 0
r0 /= r1
r2 = -5
r2 s%= 3
w3 = -2147483648
w3 s/= -1
r0 += r2
r0 ^= r3
r0 = bswap32 r0
exit`,
	"loop": `r0 = 0
r1 = 100
l:
may_goto +3
r0 += r1
r1 += -1
if r1 != 0 goto l
exit`,
	"stack-and-ctx": `r2 = *(u64 *)(r1 + 8)
*(u64 *)(r10 - 8) = r2
r3 = *(u32 *)(r10 - 8)
*(u32 *)(r1 + 0) = w3
r0 = *(s8 *)(r1 + 1)
exit`,
	"map": `*(u32 *)(r10 - 4) = 0
r2 = r10
r2 += -4
r1 = map_array ll
call 1
if r0 == 0 goto +3
r1 = 5
lock *(u64 *)(r0 + 0) += r1
r0 = *(u64 *)(r0 + 0)
exit`,
	"subprog": `r6 = 3
call f
r0 += r6
exit
f:
r0 = 40
exit`,
	"arena": `r1 = arena ll
r2 = 0
r3 = 2
r4 = -1
r5 = 0
call bpf_arena_alloc_pages
if r0 == 0 goto +16
r6 = r0
r1 = addr_space_cast(r6, 0, 1)
r2 = 42
*(u64 *)(r1 + 8) = r2
r3 = *(u64 *)(r1 + 8)
*(u64 *)(r1 + 8192) = r2
r4 = *(u64 *)(r1 + 8192)
lock *(u64 *)(r1 + 16) += r2
r7 = r3
r7 += r4
r1 = arena ll
r2 = r6
r3 = 2
call bpf_arena_free_pages
r0 = r7
exit`,
}

// fuzzSeeds returns the seed programs' bytes. They are also committed under
// testdata/fuzz/FuzzBPF (go test -fuzz reads them from there); set
// BPFJIT_WRITE_SEEDS=1 to rewrite those files.
func fuzzSeeds(tb testing.TB) [][]byte {
	a := Assembler{Syntax: SyntaxLLVM, Maps: map[string]int32{"arena": execArenaFD, "map_array": execValueFD},
		Kfuncs: map[string]int32{"bpf_arena_alloc_pages": execKfAlloc, "bpf_arena_free_pages": execKfFree}}
	var seeds [][]byte
	for _, name := range []string{"alu", "loop", "stack-and-ctx", "map", "subprog", "arena"} {
		prog, err := a.Assemble(name, []byte(fuzzSeedSources[name]))
		require.NoError(tb, err)
		seed := EncodeProgram(prog)
		seeds = append(seeds, seed)
		if os.Getenv("BPFJIT_WRITE_SEEDS") == "1" {
			dir := filepath.Join("testdata", "fuzz", "FuzzBPF")
			require.NoError(tb, os.MkdirAll(dir, 0o755))
			body := "go test fuzz v1\n[]byte(\"" + goEscape(seed) + "\")\n"
			require.NoError(tb, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
		}
	}
	return seeds
}

// goEscape writes b as the inside of a Go string literal, every byte as \x..
func goEscape(b []byte) string {
	h := hex.EncodeToString(b)
	out := make([]byte, 0, len(b)*4)
	for i := 0; i < len(h); i += 2 {
		out = append(out, '\\', 'x', h[i], h[i+1])
	}
	return string(out)
}

// TestFuzzSeedsVerify checks that the seeds are what they claim: programs
// the verifier accepts, which run to completion on both engines.
func TestFuzzSeedsVerify(t *testing.T) {
	for i, seed := range fuzzSeeds(t) {
		prog, err := DecodeProgram(seed)
		require.NoError(t, err)
		buf := make([]byte, fuzzBufSize)
		w := newExecWorld(t, buf, execUserStart)
		v, err := Verify(prog, w.verifyEnv(fuzzBufSize))
		require.NoError(t, err, "seed %d", i)
		s := runBoth(t, v.Insns, buf, nil)
		require.Equal(t, OK, s.Outcome, "seed %d: %s", i, s.Err)
	}
}

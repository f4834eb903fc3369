package bpfjit

import (
	"github.com/arenasim/arenasim/internal/shared"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// benchProgram is one program of testdata/bpf_bench.
type benchProgram struct {
	*ConformanceTest
	insns uint64 // executed instructions, from the file's comment
}

// readBenchProgram reads a bpf_bench file (the bpf_conformance format) and
// the executed-instruction count its "executed = ... = N" comment states.
func readBenchProgram(t testing.TB, name string) benchProgram {
	t.Helper()
	path := shared.Path(t, "testdata/bpf_bench/"+name+".data")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	ct, err := ParseConformanceFile(path, data)
	require.NoError(t, err)
	require.True(t, ct.HasResult, "%s: no result", path)
	p := benchProgram{ConformanceTest: ct}
	m := regexp.MustCompile(`executed[^=\n]*=[^\n]*= (\d+)`).FindSubmatch(data)
	require.NotNil(t, m, "%s: no executed-instruction count", path)
	p.insns, err = strconv.ParseUint(string(m[1]), 10, 64)
	require.NoError(t, err)
	return p
}

// benchMemBase is where the benchmarks map their buffer (r1).
const benchMemBase = 0xffff888000800000

// benchMemory maps a copy of data as the program's buffer and returns the
// memory, the buffer, and r1 and r2 for it (0, 0 without data).
func benchMemory(t testing.TB, data []byte) (*FlatMemory, []byte, uint64, uint64) {
	mem := &FlatMemory{}
	if len(data) == 0 {
		return mem, nil, 0, 0
	}
	buf := append([]byte(nil), data...)
	require.NoError(t, mem.Map(benchMemBase, buf, false))
	return mem, buf, benchMemBase, uint64(len(data))
}

// benchRun measures one program on one engine in ns per executed instruction.
func benchRun(b *testing.B, name string, newEngine func([]Insn, Config) execRunner) {
	p := readBenchProgram(b, name)
	mem, buf, r1, r2 := benchMemory(b, p.Mem)
	e := newEngine(p.Program, Config{Memory: mem})
	b.ReportAllocs()
	var insns uint64
	cpu0 := benchCPUTime()
	for b.Loop() {
		copy(buf, p.Mem)
		// Call the concrete Run: through the interface the variadic
		// arguments would escape and allocate.
		var res Result
		var err error
		switch e := e.(type) {
		case *Interpreter:
			res, err = e.Run(r1, r2)
		case *Compiled:
			res, err = e.Run(r1, r2)
		}
		if err != nil || res.R0 != p.Result || res.Insns != p.insns {
			b.Fatalf("%s: r0 %#x, %d insns, err %v; want r0 %#x, %d insns", name, res.R0, res.Insns, err, p.Result, p.insns)
		}
		insns += res.Insns
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(insns), "ns/insn")
	b.ReportMetric(float64((benchCPUTime()-cpu0).Nanoseconds())/float64(insns), "cpu-ns/insn")
}

func BenchmarkEngines(b *testing.B) {
	for _, name := range []string{"alu", "mem64", "memb"} {
		for _, eng := range execEngines {
			b.Run(name+"/"+eng.name, func(b *testing.B) { benchRun(b, name, eng.new) })
		}
	}
}

// TestBenchPrograms checks the benchmark programs: the compiled engine runs
// each in full to the r0 and instruction count the file states, and both
// engines agree, state for state, on a version with 1000 times fewer
// iterations (the interpreter would take seconds on the full ones).
func TestBenchPrograms(t *testing.T) {
	for _, name := range []string{"alu", "mem64", "memb"} {
		p := readBenchProgram(t, name)
		mem, _, r1, r2 := benchMemory(t, p.Mem)
		res, err := Compile(p.Program, Config{Memory: mem}).Run(r1, r2)
		require.NoError(t, err, name)
		require.Equal(t, p.Result, res.R0, "%s: r0", name)
		require.Equal(t, p.insns, res.Insns, "%s: executed instructions", name)

		small := append([]Insn(nil), p.Program...)
		for i := range small {
			if small[i].Imm == 20000000 { // the loop count
				small[i].Imm = 20000
			}
		}
		s := runBoth(t, small, p.Mem, func(w *execWorld, c *Config) { c.Budget = 1 << 24 })
		require.Equal(t, OK, s.Outcome, "%s: %s", name, s.Err)
	}
}

// TestRunAllocatesNothing checks the steady state of both engines: after a
// first run, a run with helper calls, local calls and arena faults
// allocates nothing.
func TestRunAllocatesNothing(t *testing.T) {
	prog := toProbe(execAsm(t, `r6 = 0
l:
r1 = 0x10000
r0 = *(u64 *)(r1 + 0)
call 5
call f
r6 += 1
if r6 < 10 goto l
exit
f:
*(u64 *)(r10 - 8) = r0
r0 = *(u64 *)(r10 - 8)
exit`), 2)
	w := newExecWorld(t, nil, execUserStart)
	cfg := w.config()
	it, c := NewInterpreter(prog, cfg), Compile(prog, cfg)
	for _, run := range []func() (Result, error){
		func() (Result, error) { return it.Run(1, 2) },
		func() (Result, error) { return c.Run(1, 2) },
	} {
		res, err := run()
		require.NoError(t, err)
		require.Equal(t, uint64(10), res.FaultCount)
		require.Zero(t, testing.AllocsPerRun(20, func() { _, _ = run() }))
	}
}

package bpfjit

import "testing"

// benchmarkVerify verifies prog b.N times and reports the cost per
// instruction the verifier processed.
func benchmarkVerify(b *testing.B, prog []Insn) {
	env := vtEnv()
	out, err := Verify(prog, env)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Verify(prog, env); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(out.InsnProcessed), "ns/processed-insn")
}

// BenchmarkVerifyBasicAlloc1 is the arena selftest: 79 slots, 7 checkpoints.
func BenchmarkVerifyBasicAlloc1(b *testing.B) { benchmarkVerify(b, vtBasicAlloc1()) }

// BenchmarkVerifyBoundedLoop unrolls a 1000-trip counted loop: ~3000
// processed instructions, state lookups at every prune point.
func BenchmarkVerifyBoundedLoop(b *testing.B) {
	benchmarkVerify(b, vProg(vMov64Imm(R0, 0), vALU64Imm(Add, R0, 1), vJmpImm(JLT, R0, 1000, -2), vExit()))
}

// BenchmarkVerifyMayGotoLoop converges a may_goto loop by widening.
func BenchmarkVerifyMayGotoLoop(b *testing.B) {
	benchmarkVerify(b, vProgL(vMov64Imm(R0, 0), vMov64Imm(R6, 0),
		vLabel("loop"), vMayGotoL("done"),
		vALU64Imm(Add, R6, 1), vLdx(Word, R2, R1, 0), vJmpRegL(JGE, R6, R2, "done"), vJaL("loop"),
		vLabel("done"), vExit()))
}

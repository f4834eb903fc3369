package bpfjit

import (
	"github.com/arenasim/arenasim/internal/shared"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkAssemble assembles the conformance suite's largest program in
// conformance syntax, and its listing in LLVM syntax; figures are per slot.
func BenchmarkAssemble(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(shared.Path(b, "testdata/bpf_conformance"), "subnet.data"))
	if err != nil {
		b.Fatal(err)
	}
	ct, err := ParseConformanceFile("subnet.data", data)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range []Syntax{SyntaxConformance, SyntaxLLVM} {
		src := []byte(Disassemble(ct.Program, s))
		b.Run(s.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Assemble("bench", src, s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ct.Program)), "ns/slot")
		})
	}
}

// BenchmarkFormatInsn prints one memory store in each syntax, as a verifier
// log line or a listing does.
func BenchmarkFormatInsn(b *testing.B) {
	prog := []Insn{{Code: 0xdb, Dst: 1, Src: 2, Off: -8, Imm: AtomicAdd | AtomicFetch}}
	for _, s := range []Syntax{SyntaxLLVM, SyntaxConformance, SyntaxKernel} {
		b.Run(s.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = FormatInsn(prog, 0, s)
			}
		})
	}
}

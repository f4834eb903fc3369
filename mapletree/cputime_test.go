package mapletree

import (
	"syscall"
	"testing"
	"unsafe"
)

// processCPU returns the process's CPU time (CLOCK_PROCESS_CPUTIME_ID).
func processCPU() int64 {
	var ts syscall.Timespec
	const clockProcessCPUTimeID = 2
	syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockProcessCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// cpuPerOp reports, when the returned function runs after the loop, the
// process's CPU time per op as "cpu-ns/op". On a machine shared with other
// work, wall time per op also counts the time the benchmark waited for a
// CPU; CPU time does not (the benchmarks allocate nothing, so there is
// no garbage collector work in it either).
func cpuPerOp(b *testing.B) func() {
	start := processCPU()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

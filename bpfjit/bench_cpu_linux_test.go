//go:build linux

package bpfjit

import (
	"syscall"
	"time"
)

// benchCPUTime is the CPU time the process has used so far (user + system).
// The engine benchmarks report it per instruction beside wall time, because
// on a machine shared with other work the wall time includes the time the
// benchmark waited for a CPU.
func benchCPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

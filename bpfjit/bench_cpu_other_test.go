//go:build !linux

package bpfjit

import "time"

// benchCPUTime is not measured here; the cpu-ns/insn metric reads 0.
func benchCPUTime() time.Duration { return 0 }

// Package shared finds the project's shared reference data for tests.
//
// Kernel facts and external test data (the bpf_conformance suite, the maple
// tree tables and traces, LLVM's syntax table, the benchmark programs) live
// in a directory named shared beside the repository: ../shared from the
// directory holding go.mod, which is where CI has it too. From a git
// worktree nested deeper it is found by walking further up.
package shared

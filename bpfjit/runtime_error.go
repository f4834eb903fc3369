package bpfjit

import (
	"errors"
	"fmt"

	"github.com/arenasim/arenasim/internal/errno"
)

// Outcome says why a run stopped without reaching the final exit.
type Outcome uint8

// The outcomes of a run. OK is the only one that returns a Result.
const (
	OK Outcome = iota
	// Budget: the run executed Config.Budget instructions (E2BIG, as the
	// verifier's processed-instruction limit).
	Budget
	// InvalidInsn: the instruction at PC cannot execute: an unknown opcode, a
	// register above r10, a write to r10, a jump outside the program, the
	// second slot of LD_IMM64 reached as an instruction, running past the
	// last slot (EINVAL).
	InvalidInsn
	// BadAccess: a normal (not PROBE) load, store or atomic touched memory
	// that is not there or not writable (EFAULT). In the kernel this would be
	// an oops; the verifier is what rules it out.
	BadAccess
	// CallDepth: a local call beyond MaxCallFrames frames (E2BIG).
	CallDepth
	// UnknownCall: a helper or kfunc id the Config does not provide (EINVAL).
	UnknownCall
	// CallFailed: a helper or kfunc returned an error (its own errno).
	CallFailed
)

var outcomeNames = [...]string{
	OK: "ok", Budget: "instruction budget exhausted", InvalidInsn: "invalid instruction",
	BadAccess: "invalid memory access", CallDepth: "call stack too deep",
	UnknownCall: "unknown helper or kfunc", CallFailed: "helper or kfunc failed",
}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// errnoOf gives the errno an outcome carries when nothing more specific does.
func (o Outcome) errno() errno.Errno {
	switch o {
	case Budget, CallDepth:
		return errno.E2BIG
	case BadAccess:
		return errno.EFAULT
	}
	return errno.EINVAL
}

// Error is the error both engines return when a run stops early. It
// matches its errno under errors.Is, and OutcomeOf recovers the Outcome.
type Error struct {
	Outcome Outcome
	PC      int    // slot of the instruction that stopped the run
	Insn    Insn   // that instruction (zero past the end of the program)
	Addr    uint64 // BadAccess: the address
	Detail  string // what exactly went wrong
	Err     error  // the errno, or the helper's error for CallFailed
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("pc %d: %v", e.PC, e.Outcome)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	switch err := e.Err.(type) {
	case nil:
	case errno.Errno:
		msg += ": " + err.Name() + " (" + err.Error() + ")"
	default:
		msg += ": " + err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// OutcomeOf returns the Outcome err reports: OK for nil, CallFailed for an
// error that did not come from an engine.
func OutcomeOf(err error) Outcome {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Outcome
	}
	return CallFailed
}

func newError(o Outcome, pc int, ins Insn, detail string) *Error {
	return &Error{Outcome: o, PC: pc, Insn: ins, Detail: detail, Err: o.errno()}
}

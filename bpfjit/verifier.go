package bpfjit

import (
	"fmt"

	"github.com/arenasim/arenasim/internal/errno"
)

// Limits of the verifier (include/linux/bpf.h, include/linux/bpf_verifier.h).
// MaxBPFStack and BPFMaxLoops live in x86_options.go.
const (
	ComplexityLimitInsns  = 1_000_000 // BPF_COMPLEXITY_LIMIT_INSNS
	complexityLimitJmpSeq = 8192      // BPF_COMPLEXITY_LIMIT_JMP_SEQ
	maxCallFrames         = 8         // MAX_CALL_FRAMES (bpf-exec exports it too)
	bpfRegSize            = 8         // BPF_REG_SIZE
	bpfMaxVarOff          = 1 << 29   // BPF_MAX_VAR_OFF
	bpfMaxVarSiz          = 1 << 29   // BPF_MAX_VAR_SIZ
)

// VerifierError is a rejection. Msg is the kernel's message (the line the
// verifier log ends with), Insn the instruction it concerns (-1 when it
// concerns the program as a whole), Errno what BPF_PROG_LOAD returns; it
// matches that errno under errors.Is.
type VerifierError struct {
	Errno errno.Errno
	Insn  int
	Msg   string
	// Context holds the lines the failing check printed before Msg, e.g.
	// "invalid access to map value, value_size=8 off=8 size=8" before
	// "R0 min value is outside of the allowed memory range".
	Context []string
	// Log is the verifier log up to the rejection, when one was requested.
	Log string
}

func (e *VerifierError) Error() string {
	msg := e.Msg
	for i := len(e.Context) - 1; i >= 0; i-- {
		msg = e.Context[i] + ": " + msg
	}
	if e.Insn < 0 {
		return fmt.Sprintf("verifier: %s: %s", msg, e.Errno.Name())
	}
	return fmt.Sprintf("verifier: insn %d: %s: %s", e.Insn, msg, e.Errno.Name())
}

// Unwrap returns the errno.
func (e *VerifierError) Unwrap() error { return e.Errno }

// Subprog is one function of a verified program.
type Subprog struct {
	Start int // index of its first instruction
	// StackDepth is the deepest stack byte it touches (stack_depth);
	// StackSize is that rounded up to 16 as the JIT reserves it.
	StackDepth int
	StackSize  int
}

// Verified is an accepted program as the kernel hands it to the JIT.
type Verified struct {
	// Insns is the program rewritten as before JIT: LD_IMM64 of maps
	// resolved, arena accesses in PROBE_MEM32/PROBE_ATOMIC mode, cast_kern
	// (and with BPF_F_NO_USER_CONV cast_user) as 32-bit moves, 64-bit ALU on
	// arena pointers as 32-bit ALU. Instruction indices are unchanged.
	Insns    []Insn
	Subprogs []Subprog
	// Arena is the program's arena map, nil if it has none.
	Arena *MapInfo
	// ProbeInsns lists the instructions that need an exception-table entry
	// (num_exentries), in order.
	ProbeInsns []int
	// Log is the verifier log, when one was requested.
	Log string
	// Statistics as print_verification_stats reports them.
	InsnProcessed    int
	MaxStatesPerInsn int
	TotalStates      int
	PeakStates       int
}

// Verify checks prog the way bpf_check (kernel/bpf/verifier.c) does and
// returns it rewritten for the JIT. env describes the maps, helpers,
// kfuncs, context and capabilities; a nil env is an empty one.
//
// The model covers control flow, reserved fields, register and stack
// typing by abstract interpretation with state pruning, scalar bounds
// (tnum and signed/unsigned 64/32-bit ranges) with linked copies, maps,
// arena pointers, helpers, kfuncs and static (bpf2bpf) subprograms.
// Simplifications, each for want of the kernel objects involved or to keep
// instruction indices stable: there are no BTF-typed pointers, packets,
// sockets, spin locks, references, iterators, callbacks or global
// functions (without BTF func_info every subprogram is static); linked
// scalars are tracked within the current frame only; precision is computed
// by a static backward analysis seeded with the precise uses the
// exploration finds, instead of by backtracking; unprivileged programs get
// no speculative-execution paths or masking; dead code becomes "goto pc-1"
// traps instead of being removed; and fixups that would insert
// instructions (divide-by-zero guards, may_goto counters, ctx conversions)
// are left to the engines, which implement those semantics natively.
func Verify(prog []Insn, env *VerifyEnv) (*Verified, error) {
	if env == nil {
		env = &VerifyEnv{}
	}
	v := newVerifier(prog, env)
	err := v.run()
	if err != nil {
		var ve *VerifierError
		if e, ok := err.(*VerifierError); ok {
			ve = e
		} else {
			ve = &VerifierError{Errno: errno.Of(err), Insn: -1, Msg: err.Error()}
		}
		if v.log.on() {
			ve.Log = v.log.String()
		}
		return nil, ve
	}
	out := &Verified{
		Insns:            v.insns,
		Arena:            v.arena,
		ProbeInsns:       v.probeInsns,
		InsnProcessed:    v.insnProcessed,
		MaxStatesPerInsn: v.maxStatesPerInsn,
		TotalStates:      v.totalStates,
		PeakStates:       v.peakStates,
	}
	for _, sp := range v.subprogs[:len(v.subprogs)-1] {
		out.Subprogs = append(out.Subprogs, Subprog{Start: sp.start, StackDepth: sp.stackDepth, StackSize: roundUp(sp.stackDepth, 16)})
	}
	if v.log.on() {
		out.Log = v.log.String()
	}
	return out, nil
}

func roundUp(v, to int) int { return (v + to - 1) / to * to }

// run is bpf_check's sequence of passes.
func (v *verifier) run() error {
	if len(v.insns) == 0 {
		return v.errorf(errno.EINVAL, -1, "empty program")
	}
	if err := v.addSubprogsAndKfuncs(); err != nil {
		return err
	}
	if err := v.checkSubprogs(); err != nil {
		return err
	}
	if err := v.resolvePseudoLdImm64(); err != nil {
		return err
	}
	if err := v.checkCFG(); err != nil {
		return err
	}
	v.computeLiveRegs()
	err := v.doCheckMain()
	if err == nil {
		err = v.checkMaxStackDepth()
	}
	if err == nil {
		err = v.fixups()
	}
	if v.log.on() {
		if v.env.LogLevel&LogLevelStats != 0 {
			v.log.printf("stack depth ")
			for i, sp := range v.subprogs[:len(v.subprogs)-1] {
				if i > 0 {
					v.log.printf("+")
				}
				v.log.printf("%d", sp.stackDepth)
			}
			v.log.printf("\n")
		}
		v.log.printf("processed %d insns (limit %d) max_states_per_insn %d total_states %d peak_states %d mark_read %d\n",
			v.insnProcessed, ComplexityLimitInsns, v.maxStatesPerInsn, v.totalStates, v.peakStates, 0)
	}
	return err
}

// errorf records a rejection: the message goes to the log, as verbose()
// writes it, and into the returned error.
func (v *verifier) errorf(e errno.Errno, insn int, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	v.log.printf("%s\n", msg)
	err := &VerifierError{Errno: e, Insn: insn, Msg: msg, Context: v.errContext}
	v.errContext = nil
	return err
}

// notef prints a line that explains the rejection about to follow and
// keeps it for the error's Context.
func (v *verifier) notef(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	v.log.printf("%s\n", msg)
	v.errContext = append(v.errContext, msg)
}

package bpfjit

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/internal/trace"
)

// stackBytes is the stack of all frames together: frame k (0 = the
// program's own) is the MaxBPFStack bytes just below StackTop - k*MaxBPFStack.
const stackBytes = MaxCallFrames * MaxBPFStack

// machine is the state of one run, shared by both engines: the register file,
// the frames and their stack, the memory ports, the budgets and the fault
// record, with the operations whose semantics both engines must share
// (calls, exits, arena accesses, atomics, step). The interpreter and the
// compiled engine differ only in how they go from one instruction to the next.
type machine struct {
	orig []Insn // the program as given, for error reports
	code []Insn // prepareCode(orig): invalid slots zeroed, plus one slot past the end
	// charges[pc] is the length of the straight-line run that starts at pc:
	// the instructions up to and including the first jump, call to a
	// subprogram, exit or invalid slot. The budget is paid per run (see
	// Config.Budget).
	charges []int32
	// words is code in the kernel's 8-byte encoding as one little-endian
	// word per slot (imm<<32 | off<<16 | src<<12 | dst<<8 | opcode), which
	// the interpreter's loop decodes with shifts from a single load.
	words []uint64

	// regs is the register file. It has 256 entries so that a uint8
	// register index (the compiled ops') needs neither a mask nor a bounds
	// check; only r0-r10 are ever used, as checkInsn rejects the others.
	regs  [256]uint64
	stack [stackBytes]byte
	// frames[k] saves the caller's state while frame k+1 runs.
	frames [MaxCallFrames - 1]execFrame
	depth  int // active frames, 1 to MaxCallFrames

	// The stack as addresses: stack[i] is at stackBase+i; the active frames
	// are stack[stackMin:], which stk also describes for the fast paths.
	stackBase uint64
	stackMin  uint64
	stk       region

	loops  uint64 // may_goto budget of the current frame
	budget int64  // instructions the run may still execute
	limit  int64  // Config.Budget

	mem, kern   memPort
	kernVMStart uint64
	userHi      uint64 // upper 32 bits of UserVMStart, in place
	helpers     map[int32]HelperFunc
	kfuncs      map[int32]HelperFunc

	faults     []Fault
	faultCount uint64
	maxFaults  int

	call   HelperCall
	tracer *trace.Tracer
	who    string
	// stepOnly makes the interpreter run every instruction through step, as
	// it does when tracing instructions; the tests use it to check the fast
	// paths of both loops against step.
	stepOnly bool
}

// execFrame is what a local call saves and exit restores: the callee-saved
// r6-r9, where to return and the caller's may_goto budget.
type execFrame struct {
	ret   int
	saved [4]uint64
	loops uint64
}

func (m *machine) init(prog []Insn, cfg Config) {
	m.orig = append([]Insn(nil), prog...)
	m.code = prepareCode(prog)
	m.charges = runCharges(m.code)
	m.words = make([]uint64, len(m.code))
	for i, ins := range m.code {
		m.words[i] = uint64(ins.Code) | uint64(ins.Dst&15)<<8 | uint64(ins.Src&15)<<12 |
			uint64(uint16(ins.Off))<<16 | uint64(uint32(ins.Imm))<<32
	}
	top := cfg.StackTop
	if top == 0 {
		top = DefaultStackTop
	}
	m.stackBase = top - stackBytes
	m.limit = int64(min(cfg.Budget, math.MaxInt64))
	if m.limit == 0 {
		m.limit = DefaultBudget
	}
	m.maxFaults = cfg.MaxFaults
	if m.maxFaults <= 0 {
		m.maxFaults = DefaultMaxFaults
	}
	m.mem = newMemPort(cfg.Memory)
	m.kern = newMemPort(cfg.Kernel)
	m.kernVMStart = cfg.KernVMStart
	m.userHi = cfg.UserVMStart &^ 0xffffffff
	// A snapshot, so that both engines see the tables as they were when built.
	m.helpers, m.kfuncs = maps.Clone(cfg.Helpers), maps.Clone(cfg.Kfuncs)
	m.tracer, m.who = cfg.Tracer, cfg.Who
	m.call.m = m
}

// reset starts a run: r1-r5 from args, r10 at the top of a zeroed frame 0.
func (m *machine) reset(args []uint64) error {
	if len(args) > 5 {
		return errno.Errorf(errno.EINVAL, "%d arguments: a program takes at most 5 (r1-r5)", len(args))
	}
	clear(m.regs[:R10+1])
	copy(m.regs[1:6], args)
	m.depth = 1
	m.stackMin = stackBytes - MaxBPFStack
	m.stk.set(m.stackBase+m.stackMin, m.stack[m.stackMin:])
	clear(m.stack[m.stackMin:])
	m.regs[R10] = m.stackBase + stackBytes
	m.loops = BPFMaxLoops
	m.budget = m.limit
	m.faults = m.faults[:0]
	m.faultCount = 0
	m.mem.flush()
	m.kern.flush()
	return nil
}

// insnText is slot pc as the kernel's disassembler prints it, for insn
// events: "(0f) r0 += r1". An arena access prints as the access the
// verifier rewrote, with its probe mode named after it, since the kernel's
// printer knows no probe modes.
func insnText(prog []Insn, pc int) string {
	slots := [2]Insn{insnAt(prog, pc), insnAt(prog, pc+1)}
	op := slots[0].Code
	probe := ""
	if c := op.Class(); c.IsLoadOrStore() && c != LdClass {
		switch m := op.Mode(); {
		case m == ProbeMem32Mode:
			probe, slots[0].Code = " (PROBE_MEM32)", MemOpcode(c, MemMode, op.Size())
		case m == ProbeAtomicMode:
			probe, slots[0].Code = " (PROBE_ATOMIC)", MemOpcode(c, AtomicMode, op.Size())
		case m == ProbeMem32SXMode && c == LdXClass:
			probe, slots[0].Code = " (PROBE_MEM32SX)", MemOpcode(c, MemSXMode, op.Size())
		}
	}
	return FormatInsn(slots[:], 0, SyntaxKernel) + probe
}

// result packs a finished run.
func (m *machine) result() Result {
	return Result{R0: m.regs[R0], Insns: uint64(m.limit - m.budget), Faults: m.faults, FaultCount: m.faultCount}
}

// enterRun pays for the run starting at pc out of budget, the budget left,
// and returns what remains, or the Budget error if the run costs more.
func (m *machine) enterRun(pc int, budget int64) (int64, *Error) {
	c := int64(m.charges[pc])
	if budget < c {
		return budget, m.outOfBudget(pc, budget)
	}
	return budget - c, nil
}

// outOfBudget is the Budget error for the run at pc, with left instructions
// of the budget unspent.
func (m *machine) outOfBudget(pc int, left int64) *Error {
	return newError(Budget, pc, insnAt(m.orig, pc), fmt.Sprintf(
		"the %d instructions from here exceed the %d left of the budget of %d", m.charges[pc], left, m.limit))
}

// enter performs a local call from pc to target: it saves r6-r9, the return
// slot and the may_goto budget, and gives the callee a fresh zeroed frame
// with its own r10. The callee starts with the caller's registers, as under
// the x86 JIT, where the BPF registers are machine registers.
func (m *machine) enter(pc, target int, ins Insn) *Error {
	if m.depth == MaxCallFrames {
		return newError(CallDepth, pc, ins, fmt.Sprintf("the call stack of %d frames is too deep", m.depth+1))
	}
	f := &m.frames[m.depth-1]
	f.ret = pc + 1
	f.saved = [4]uint64{m.regs[R6], m.regs[R7], m.regs[R8], m.regs[R9]}
	f.loops = m.loops
	m.depth++
	m.stackMin -= MaxBPFStack
	m.stk.set(m.stackBase+m.stackMin, m.stack[m.stackMin:])
	clear(m.stack[m.stackMin : m.stackMin+MaxBPFStack])
	m.regs[R10] = m.stackBase + m.stackMin + MaxBPFStack
	m.loops = BPFMaxLoops
	return nil
}

// leave returns from a local call and gives the slot to continue at.
// It must only be called with depth > 1.
func (m *machine) leave() int {
	m.depth--
	f := &m.frames[m.depth-1]
	m.regs[R6], m.regs[R7], m.regs[R8], m.regs[R9] = f.saved[0], f.saved[1], f.saved[2], f.saved[3]
	m.stackMin += MaxBPFStack
	m.stk.set(m.stackBase+m.stackMin, m.stack[m.stackMin:])
	m.regs[R10] = m.stackBase + m.stackMin + MaxBPFStack
	m.loops = f.loops
	return f.ret
}

// mayGoto models may_goto: it reports whether the jump is taken, which is
// when the frame's budget is used up. The kernel keeps the counter in a
// stack slot each subprogram's prologue sets to BPF_MAX_LOOPS; here the
// frame holds it (the x86 JIT's timed variant is not modelled, as time does
// not exist in the simulation).
func (m *machine) mayGoto() bool {
	if m.loops == 0 {
		return true
	}
	m.loops--
	return false
}

// callFunc calls helper or kfunc id (kind CallHelper or CallKfunc) for the
// instruction at pc and puts its result in r0.
func (m *machine) callFunc(pc int, ins Insn, kind Register, id int32) *Error {
	table := m.helpers
	if kind == CallKfunc {
		table = m.kfuncs
	}
	return m.invoke(pc, ins, kind, id, table[id])
}

// invoke is callFunc once fn has been looked up (nil: there is none). The
// memory ports' cached regions are dropped afterwards, as the call may have
// changed the mappings (an arena kfunc allocating or freeing pages).
func (m *machine) invoke(pc int, ins Insn, kind Register, id int32, fn HelperFunc) *Error {
	what := "helper"
	if kind == CallKfunc {
		what = "kfunc"
	}
	if fn == nil {
		return newError(UnknownCall, pc, ins, fmt.Sprintf("invalid func unknown#%d (%s)", id, what))
	}
	c := &m.call
	c.Kind, c.ID, c.PC = kind, id, pc
	copy(c.Args[:], m.regs[R1:R6])
	r0, err := fn(c)
	m.mem.flush()
	m.kern.flush()
	if m.tracer.On(trace.Kfunc) {
		m.tracer.Emit(trace.Event{Kind: trace.Kfunc, Who: m.who, Val: uint64(uint32(id)),
			Text: fmt.Sprintf("pc %d: %s %d(%#x, %#x, %#x, %#x, %#x) = %#x err=%v", pc, what, id,
				c.Args[0], c.Args[1], c.Args[2], c.Args[3], c.Args[4], r0, err)})
	}
	if err != nil {
		return &Error{Outcome: CallFailed, PC: pc, Insn: ins, Detail: fmt.Sprintf("%s %d", what, id), Err: err}
	}
	m.regs[R0] = r0
	return nil
}

// callx models callx rD as the bpf_conformance suite defines it: the
// register holds a helper id. Linux itself rejects callx.
func (m *machine) callx(pc int, ins Insn) *Error {
	v := m.regs[ins.Dst&15]
	if v > 1<<31-1 {
		return newError(UnknownCall, pc, ins, fmt.Sprintf("callx to %#x: not a helper id", v))
	}
	return m.callFunc(pc, ins, CallHelper, int32(v))
}

// loadAny and storeAny are the normal access path: an active stack frame,
// else Config.Memory.
func (m *machine) loadAny(addr uint64, size int) (uint64, error) {
	if !validSize(size) {
		return 0, errno.Errorf(errno.EINVAL, "load of %d bytes", size)
	}
	if b := m.stk.at(addr, size); b != nil {
		return getLE(b), nil
	}
	return m.mem.load(addr, size)
}

func (m *machine) storeAny(addr uint64, size int, val uint64) error {
	if !validSize(size) {
		return errno.Errorf(errno.EINVAL, "store of %d bytes", size)
	}
	if b := m.stk.at(addr, size); b != nil {
		putLE(b, val)
		return nil
	}
	return m.mem.store(addr, size, val)
}

// badAccess builds the BadAccess error of a normal access.
func badAccess(pc int, ins Insn, addr uint64, size int, write bool, err error) *Error {
	what := "load"
	if write {
		what = "store"
	}
	return &Error{Outcome: BadAccess, PC: pc, Insn: ins, Addr: addr,
		Detail: fmt.Sprintf("%s of %d bytes at %#x", what, size, addr), Err: err}
}

// arenaAddr is the kernel address of a PROBE_MEM32 access through reg:
// kern_vm_start + (u32)reg + (s16)off, a 64-bit sum that does not wrap at
// 4 GiB. The x86 JIT adds the full register and relies on the verifier
// having made it 32-bit clean; the model truncates, which is the same for
// every verified program and keeps raw programs inside the window.
func (m *machine) arenaAddr(reg uint64, off int16) uint64 {
	return m.kernVMStart + uint64(uint32(reg)) + uint64(int64(off))
}

// probeLoad is a PROBE_MEM32 load: on a fault the destination gets 0, as the
// exception-table fixup does.
func (m *machine) probeLoad(pc int, reg uint64, off int16, size int) uint64 {
	addr := m.arenaAddr(reg, off)
	v, err := m.kern.load(addr, size)
	if err != nil {
		m.fault(pc, addr, reg, off, size, false, err)
		return 0
	}
	return v
}

// probeStore is a PROBE_MEM32 store: on a fault it is dropped.
func (m *machine) probeStore(pc int, reg uint64, off int16, size int, val uint64) {
	addr := m.arenaAddr(reg, off)
	if err := m.kern.store(addr, size, val); err != nil {
		m.fault(pc, addr, reg, off, size, true, err)
	}
}

// fault records a fixed-up arena access (ex_handler_bpf in
// arch/x86/net/bpf_jit_comp.c, plus the report recent kernels write to the
// program's stream).
func (m *machine) fault(pc int, addr, reg uint64, off int16, size int, write bool, err error) {
	m.faultCount++
	code, ok := err.(errno.Errno) // errno.Of allocates; a bare errno is the usual case
	if !ok {
		code = errno.Of(err)
	}
	f := Fault{PC: pc, Addr: addr, Size: size, Write: write, Errno: code,
		UserAddr: m.userHi + uint64(uint32(reg)) + uint64(int64(off))}
	if len(m.faults) < m.maxFaults {
		m.faults = append(m.faults, f)
	}
	if m.tracer.On(trace.Fault) {
		m.tracer.Emit(trace.Event{Kind: trace.Fault, Who: m.who, Addr: addr, Len: uint64(size), Text: f.String()})
	}
}

// castUser models addr_space_cast(src, 1, 0) as the x86 JIT emits it: keep
// the low 32 bits and put user_vm_start's upper half above them, except that
// 0 stays 0 (NULL).
func (m *machine) castUser(v uint64) uint64 {
	if uint32(v) == 0 {
		return 0
	}
	return m.userHi | uint64(uint32(v))
}

// atomic executes an STX|ATOMIC (probe false) or STX|PROBE_ATOMIC (probe
// true) instruction. A normal one that touches bad memory stops the run; a
// probe one that faults is skipped whole and no register changes, as the x86
// JIT's exception table entry for it has no register to clear.
func (m *machine) atomic(pc int, ins Insn, probe bool) *Error {
	size := ins.Code.Size().Bytes()
	r := &m.regs
	d, s := ins.Dst&15, ins.Src&15
	addrOf := func(reg uint64) uint64 {
		if probe {
			return m.arenaAddr(reg, ins.Off)
		}
		return reg + uint64(int64(ins.Off))
	}
	port := &m.mem
	if probe {
		port = &m.kern
	}
	load := func(reg uint64) (uint64, bool, *Error) {
		addr := addrOf(reg)
		var v uint64
		var err error
		if probe {
			v, err = port.load(addr, size)
		} else {
			v, err = m.loadAny(addr, size)
		}
		if err == nil {
			return v, true, nil
		}
		if probe {
			m.fault(pc, addr, reg, ins.Off, size, ins.Imm != AtomicLoadAcq, err)
			return 0, false, nil
		}
		return 0, false, badAccess(pc, ins, addr, size, false, err)
	}
	store := func(reg, v uint64) (bool, *Error) {
		addr := addrOf(reg)
		var err error
		if probe {
			err = port.store(addr, size, v)
		} else {
			err = m.storeAny(addr, size, v)
		}
		if err == nil {
			return true, nil
		}
		if probe {
			m.fault(pc, addr, reg, ins.Off, size, true, err)
			return false, nil
		}
		return false, badAccess(pc, ins, addr, size, true, err)
	}

	switch ins.Imm {
	case AtomicLoadAcq: // dst = *(src + off); a probe fault leaves dst alone
		v, ok, e := load(r[s])
		if ok {
			r[d] = v
		}
		return e
	case AtomicStoreRel: // *(dst + off) = src
		_, e := store(r[d], r[s])
		return e
	}
	old, ok, e := load(r[d])
	if !ok {
		return e
	}
	src := r[s]
	var val uint64
	switch ins.Imm &^ AtomicFetch {
	case AtomicAdd:
		val = old + src
	case AtomicOr:
		val = old | src
	case AtomicAnd:
		val = old & src
	case AtomicXor:
		val = old ^ src
	case AtomicXchg &^ AtomicFetch:
		val = src
	case AtomicCmpXchg &^ AtomicFetch:
		want := r[R0]
		if size == 4 {
			want = uint64(uint32(want))
		}
		if old == want {
			if ok, e := store(r[d], src); !ok {
				return e
			}
			if probe && size == 4 {
				// x86 cmpxchg leaves rax alone when it stores, and the
				// verifier's zero-extension of r0 (BPF_ZEXT_REG) follows
				// only the non-arena form: r0 keeps its upper half.
				return nil
			}
		}
		r[R0] = old
		return nil
	}
	if ok, e := store(r[d], val); !ok {
		return e
	}
	if ins.Imm&AtomicFetch != 0 {
		r[s] = old
	}
	return nil
}

// The fast paths of the hot loops: an access in the active stack frames or
// in the cached region of Config.Memory, with no call (these inline). ok is
// false when the access is elsewhere and must take the slow path.

func (m *machine) fastLoad64(addr uint64) (uint64, bool) {
	if i := addr - m.stk.base; i < m.stk.lim[3] {
		return binary.LittleEndian.Uint64(m.stk.buf[i:]), true
	}
	if i := addr - m.mem.rd.base; i < m.mem.rd.lim[3] {
		return binary.LittleEndian.Uint64(m.mem.rd.buf[i:]), true
	}
	return 0, false
}

func (m *machine) fastLoad32(addr uint64) (uint64, bool) {
	if i := addr - m.stk.base; i < m.stk.lim[2] {
		return uint64(binary.LittleEndian.Uint32(m.stk.buf[i:])), true
	}
	if i := addr - m.mem.rd.base; i < m.mem.rd.lim[2] {
		return uint64(binary.LittleEndian.Uint32(m.mem.rd.buf[i:])), true
	}
	return 0, false
}

func (m *machine) fastLoad16(addr uint64) (uint64, bool) {
	if i := addr - m.stk.base; i < m.stk.lim[1] {
		return uint64(binary.LittleEndian.Uint16(m.stk.buf[i:])), true
	}
	if i := addr - m.mem.rd.base; i < m.mem.rd.lim[1] {
		return uint64(binary.LittleEndian.Uint16(m.mem.rd.buf[i:])), true
	}
	return 0, false
}

func (m *machine) fastLoad8(addr uint64) (uint64, bool) {
	if i := addr - m.stk.base; i < m.stk.lim[0] {
		return uint64(m.stk.buf[i]), true
	}
	if i := addr - m.mem.rd.base; i < m.mem.rd.lim[0] {
		return uint64(m.mem.rd.buf[i]), true
	}
	return 0, false
}

func (m *machine) fastStore64(addr, v uint64) bool {
	if i := addr - m.stk.base; i < m.stk.lim[3] {
		binary.LittleEndian.PutUint64(m.stk.buf[i:], v)
		return true
	}
	if i := addr - m.mem.wr.base; i < m.mem.wr.lim[3] {
		binary.LittleEndian.PutUint64(m.mem.wr.buf[i:], v)
		return true
	}
	return false
}

func (m *machine) fastStore32(addr, v uint64) bool {
	if i := addr - m.stk.base; i < m.stk.lim[2] {
		binary.LittleEndian.PutUint32(m.stk.buf[i:], uint32(v))
		return true
	}
	if i := addr - m.mem.wr.base; i < m.mem.wr.lim[2] {
		binary.LittleEndian.PutUint32(m.mem.wr.buf[i:], uint32(v))
		return true
	}
	return false
}

func (m *machine) fastStore16(addr, v uint64) bool {
	if i := addr - m.stk.base; i < m.stk.lim[1] {
		binary.LittleEndian.PutUint16(m.stk.buf[i:], uint16(v))
		return true
	}
	if i := addr - m.mem.wr.base; i < m.mem.wr.lim[1] {
		binary.LittleEndian.PutUint16(m.mem.wr.buf[i:], uint16(v))
		return true
	}
	return false
}

func (m *machine) fastStore8(addr, v uint64) bool {
	if i := addr - m.stk.base; i < m.stk.lim[0] {
		m.stk.buf[i] = byte(v)
		return true
	}
	if i := addr - m.mem.wr.base; i < m.mem.wr.lim[0] {
		m.mem.wr.buf[i] = byte(v)
		return true
	}
	return false
}

package bpfjit

import (
	"fmt"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/internal/trace"
)

// MaxCallFrames is the deepest local-call nesting (MAX_CALL_FRAMES), the
// program's own frame included. Each frame has MaxBPFStack bytes of stack
// and a may_goto budget of BPFMaxLoops.
const MaxCallFrames = 8

// DefaultBudget is the instruction budget of a run when Config.Budget is 0.
// It is generous (the benchmark programs execute up to 420 M instructions)
// but finite, so a program that loops forever ends with the Budget outcome
// instead of hanging.
const DefaultBudget = 1 << 32

// DefaultStackTop is the address just above the stack when Config.StackTop
// is 0: an address in the kernel's direct map, where a kernel without
// CONFIG_VMAP_STACK keeps task stacks. The engines own the stack memory; the
// machine layer may place it elsewhere.
const DefaultStackTop = 0xffff888000100000

// Config is what the engines need from the outside world. Both engines take
// it when they are built, as the kernel binds helpers and the arena base when
// it JITs a program.
type Config struct {
	// Memory serves normal (MEM-mode) loads, stores and atomics outside the
	// stack: the context, map values, packet data. A failure there stops the
	// run with the BadAccess outcome (EFAULT). Nil means no such memory exists.
	Memory Memory
	// Kernel serves PROBE_MEM32 and PROBE_ATOMIC accesses, at kernel
	// virtual addresses KernVMStart + (u32)reg + off. A failure there is
	// fixed up (a load gives 0, a store or atomic is skipped) and recorded as
	// a Fault. Nil means every probe access faults.
	Kernel Memory
	// KernVMStart is the arena's kernel window (kern_vm_start, r12 in the x86 JIT).
	KernVMStart uint64
	// UserVMStart is the arena's user address (user_vm_start); cast_user keeps
	// its upper 32 bits.
	UserVMStart uint64
	// Helpers and Kfuncs are the functions call instructions reach, by helper
	// id (src 0) and by BTF id (src 2). callx reaches Helpers by the id held in
	// its register, as in the bpf_conformance suite. The engines copy the
	// tables when they are built.
	Helpers map[int32]HelperFunc
	Kfuncs  map[int32]HelperFunc
	// StackTop is the address just above the stack (DefaultStackTop if 0).
	// Frame k of a run has r10 = StackTop - k*MaxBPFStack.
	StackTop uint64
	// Budget is the number of instructions a run may execute (DefaultBudget
	// if 0). It is paid per straight-line run (the instructions from where a
	// jump, call or return lands up to the next jump, local call or exit),
	// in full when control enters the run: a run that costs more than what
	// is left is not started and the program stops with the Budget outcome
	// at its first instruction. The kernel has no such budget (the verifier
	// proves termination); this is the model's safety net, and paying per run
	// lets both engines count without a test per instruction.
	Budget uint64
	// MaxFaults caps the probe faults a Result lists (DefaultMaxFaults if 0);
	// Result.FaultCount counts them all.
	MaxFaults int
	// Tracer receives kfunc and fault events (and, from the interpreter, insn
	// events); nil is off. Who names the program in events ("prog 3").
	Tracer *trace.Tracer
	Who    string
}

// DefaultMaxFaults is the number of faults a Result lists when Config.MaxFaults is 0.
const DefaultMaxFaults = 1024

// HelperFunc is a BPF helper or kfunc as the engines call it: the arguments
// are in c.Args (r1-r5), the return value goes to r0. r1-r5 keep their
// values (the kernel's interpreter leaves them; the verifier forbids reading
// them after a call anyway). An error stops the run with the CallFailed
// outcome wrapping it; helpers report ordinary failures the kernel way, as a
// negative errno in r0.
type HelperFunc func(c *HelperCall) (uint64, error)

// HelperCall is what a helper or kfunc sees of the program that called it. It is
// valid only during the call.
type HelperCall struct {
	Kind Register // CallHelper or CallKfunc
	ID   int32    // helper id or kfunc BTF id
	PC   int      // slot of the call instruction
	Args [5]uint64
	m    *machine
}

// Load reads size (1, 2, 4 or 8) bytes at addr the way the program's normal
// loads do: from the stack if addr is in an active frame, else from
// Config.Memory.
func (c *HelperCall) Load(addr uint64, size int) (uint64, error) { return c.m.loadAny(addr, size) }

// Store writes the low size bytes of val at addr like a normal store.
func (c *HelperCall) Store(addr uint64, size int, val uint64) error {
	return c.m.storeAny(addr, size, val)
}

// Read copies len(b) bytes at addr into b, through the stack or Config.Memory.
func (c *HelperCall) Read(addr uint64, b []byte) error {
	for i := range b {
		v, err := c.m.loadAny(addr+uint64(i), 1)
		if err != nil {
			return err
		}
		b[i] = byte(v)
	}
	return nil
}

// Write copies b to addr, through the stack or Config.Memory, byte by byte:
// on an error the bytes before the bad one are written.
func (c *HelperCall) Write(addr uint64, b []byte) error {
	for i, v := range b {
		if err := c.m.storeAny(addr+uint64(i), 1, uint64(v)); err != nil {
			return err
		}
	}
	return nil
}

// Result is what a run that reached the final exit returns.
type Result struct {
	R0    uint64 // the program's return value
	Insns uint64 // instructions executed (LD_IMM64 counts once)
	// Faults lists the PROBE_MEM32/PROBE_ATOMIC accesses that faulted and were
	// fixed up, in order, up to Config.MaxFaults. It is reused by the next Run
	// of the same engine: copy it to keep it.
	Faults     []Fault
	FaultCount uint64 // every fault, listed or not
}

// Fault records one fixed-up arena access, as the x86 JIT's exception handler
// sees it.
type Fault struct {
	PC    int         // slot of the faulting instruction
	Addr  uint64      // kernel address accessed: KernVMStart + (u32)reg + off
	Size  int         // bytes
	Write bool        // a store or atomic (dropped); false: a load (dst = 0; a load-acquire leaves dst)
	Errno errno.Errno // what the memory port said
	// UserAddr is the address the kernel reports on the program's stream:
	// hi32(UserVMStart) + (u32)reg + off.
	UserAddr uint64
}

func (f Fault) String() string {
	kind := "READ"
	if f.Write {
		kind = "WRITE"
	}
	return fmt.Sprintf("pc %d: arena %s access at unmapped address %#x (kernel %#x, %d bytes, %v)",
		f.PC, kind, f.UserAddr, f.Addr, f.Size, f.Errno.Name())
}

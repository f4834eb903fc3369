package bpfjit

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/arenasim/arenasim/internal/trace"
	"github.com/stretchr/testify/require"
)

// Running verified programs on the interpreter (bpf-exec's engine) checks
// the verifier's promise from the other side: an accepted program never
// reads a register or (without CAP_PERFMON) a stack byte that was not
// written on the path it takes, and never makes a normal (non-probe)
// access outside the memory the machine has. The engine gives the path
// (its insn trace) and the bad-access verdicts; vtShadow replays the path
// tracking which registers and stack bytes are initialised.

const (
	vtCtxAddr     = 0xffff888100100000
	vtValuesAddr  = 0xffff888100200000
	vtKernVMStart = 0xffffc90000008000
	vtStackTop    = DefaultStackTop
	vtHashValues  = 4
)

// vtMachine is the world a verified program runs in: the context, the map
// values the lookup helper hands out, arena pages behind the kfuncs.
type vtMachine struct {
	mem, kern FlatMemory
	rng       *rand.Rand
	nextPage  uint32
	// helperStack records the stack bytes helpers read and wrote, by the
	// call's pc, for the shadow replay.
	helperStack map[int][]vtStackAccess
}

type vtStackAccess struct {
	addr  uint64
	size  int
	write bool
}

func newVTMachine(seed uint64, ctxSize int) *vtMachine {
	m := &vtMachine{rng: rand.New(rand.NewPCG(seed, 7)), helperStack: map[int][]vtStackAccess{}}
	// Context bytes are mostly small, so that indices loaded from it land
	// near the bounds programs check them against.
	ctx := make([]byte, max(ctxSize, 1))
	for i := range ctx {
		switch m.rng.IntN(4) {
		case 0:
		case 1, 2:
			ctx[i] = byte(1 + m.rng.IntN(15))
		default:
			ctx[i] = byte(m.rng.IntN(256))
		}
	}
	must(m.mem.Map(vtCtxAddr, ctx, false))
	for i := range vtHashValues {
		// Apart, so that an access past a value faults.
		must(m.mem.Map(vtValuesAddr+uint64(i)*0x100, make([]byte, 8), false))
	}
	must(m.mem.Map(vtArrValue, make([]byte, 16), false))
	must(m.mem.Map(vtArrValue+0x1000, make([]byte, 1), false))
	return m
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func (m *vtMachine) onStack(addr uint64) bool {
	return addr < vtStackTop && addr >= vtStackTop-maxCallFrames*MaxBPFStack
}

// touch records a helper's stack access and reports whether addr is a
// stack address at all.
func (m *vtMachine) touch(c *HelperCall, addr uint64, size int, write bool) {
	if m.onStack(addr) {
		m.helperStack[c.PC] = append(m.helperStack[c.PC], vtStackAccess{addr, size, write})
	}
}

func (m *vtMachine) config(tr *trace.Tracer) Config {
	helpers := map[int32]HelperFunc{
		FuncMapLookupElem: func(c *HelperCall) (uint64, error) {
			m.touch(c, c.Args[1], 4, false)
			switch c.Args[0] {
			case vtMapAddr:
				if i := m.rng.IntN(vtHashValues + 1); i < vtHashValues {
					return vtValuesAddr + uint64(i)*0x100, nil
				}
				return 0, nil
			case vtArrAddr:
				return vtArrValue, nil
			}
			return 0, nil
		},
		FuncMapUpdateElem: func(c *HelperCall) (uint64, error) {
			m.touch(c, c.Args[1], 4, false)
			m.touch(c, c.Args[2], 8, false)
			return 0, nil
		},
		FuncMapDeleteElem: func(c *HelperCall) (uint64, error) {
			m.touch(c, c.Args[1], 4, false)
			return 0, nil
		},
		FuncGetCurrentComm: func(c *HelperCall) (uint64, error) {
			m.touch(c, c.Args[0], int(c.Args[1]), true)
			return 0, c.Write(c.Args[0], make([]byte, c.Args[1]))
		},
		FuncTracePrintk: func(c *HelperCall) (uint64, error) {
			m.touch(c, c.Args[0], int(c.Args[1]), false)
			return 0, nil
		},
	}
	for _, id := range []int32{FuncKtimeGetNs, FuncGetPrandomU32, FuncGetSmpProcessorID, FuncGetCurrentPidTgid} {
		helpers[id] = func(*HelperCall) (uint64, error) { return m.rng.Uint64(), nil }
	}
	kfuncs := map[int32]HelperFunc{
		vtKfAlloc: func(c *HelperCall) (uint64, error) {
			if m.nextPage >= 2 || m.rng.IntN(8) == 0 {
				return 0, nil
			}
			lo := uint32(vtUserVM&0xffffffff) + m.nextPage*arenaPageSize
			m.nextPage++
			must(m.kern.Map(vtKernVMStart+uint64(lo), make([]byte, arenaPageSize), false))
			return vtUserVM&^0xffffffff | uint64(lo), nil
		},
		vtKfFree: func(c *HelperCall) (uint64, error) {
			_ = m.kern.Unmap(vtKernVMStart + uint64(uint32(c.Args[1])&^(arenaPageSize-1)))
			return 0, nil
		},
	}
	return Config{Memory: &m.mem, Kernel: &m.kern, KernVMStart: vtKernVMStart, UserVMStart: vtUserVM,
		Helpers: helpers, Kfuncs: kfuncs, StackTop: vtStackTop, Budget: 1 << 14, Tracer: tr}
}

// vtFrame is the shadow of one call frame.
type vtFrame struct {
	regInit [MaxReg]bool
	// stackPtr[r] >= 0 says register r holds (frame stackFrame[r], fp-off)
	// with off = stackPtr[r] as a positive byte count below fp; -1 unknown.
	stackPtr   [MaxReg]int64
	stackFrame [MaxReg]int
	stackInit  [MaxBPFStack]bool
	// partSpill marks the 8-byte slots whose low bytes the program last
	// wrote with an aligned store narrower than 8 bytes, which the
	// verifier may keep as a spilled scalar (save_register_state marks
	// only the written bytes STACK_SPILL). check_stack_range_initialized
	// lets a helper read every byte of a spilled scalar's slot, the never
	// written ones included, so the oracle does too.
	partSpill [MaxBPFStack / bpfRegSize]bool
	callsite  int
}

// vtShadow replays a run's path and reports the first uninitialised read.
type vtShadow struct {
	prog       []Insn
	frames     []*vtFrame
	checkStack bool
	spills     bool // the verifier spills narrow scalar stores (bpf_capable)
	m          *vtMachine
}

func newVTFrame(callsite int) *vtFrame {
	f := &vtFrame{callsite: callsite}
	for i := range f.stackPtr {
		f.stackPtr[i] = -1
	}
	f.regInit[R10] = true
	f.stackPtr[R10] = 0
	return f
}

func (s *vtShadow) cur() *vtFrame { return s.frames[len(s.frames)-1] }

func (s *vtShadow) use(pc int, regs ...Register) error {
	f := s.cur()
	for _, r := range regs {
		if r < MaxReg && !f.regInit[r] {
			return fmt.Errorf("pc %d: %v reads uninitialised r%d", pc, s.prog[pc], r)
		}
	}
	return nil
}

func (s *vtShadow) def(r Register) {
	f := s.cur()
	if r < MaxReg {
		f.regInit[r] = true
		f.stackPtr[r] = -1
	}
}

// stackSlot resolves register r's stack pointer + off to its frame and the
// byte count under that frame's fp; ok is false when r points elsewhere.
func (s *vtShadow) stackSlot(r Register, off int16) (fr *vtFrame, below int64, ok bool) {
	f := s.cur()
	if r >= MaxReg || f.stackPtr[r] < 0 {
		return nil, 0, false
	}
	return s.frames[f.stackFrame[r]], f.stackPtr[r] - int64(off), true
}

// stackBytes checks or marks n bytes at register r's stack pointer + off.
func (s *vtShadow) stackBytes(pc int, r Register, off int16, n int, write bool) error {
	fr, below, ok := s.stackSlot(r, off)
	if !ok {
		return nil
	}
	return s.stackAt(pc, fr, below, n, write, false)
}

// storeSpill records a program store of n bytes at register r's stack
// pointer + off after stackBytes marked it: an aligned narrow store of a
// register or immediate may become a partial spill (check_stack_write_fixed_off);
// any other store into a slot ends the spill there.
func (s *vtShadow) storeSpill(r Register, off int16, n int, canSpill bool) {
	fr, below, ok := s.stackSlot(r, off)
	if !ok || below < int64(n) || below > MaxBPFStack {
		return // not the stack, or stackBytes refused it
	}
	lo := (below - 1) / bpfRegSize // the slot holding the lowest address
	hi := (below - int64(n)) / bpfRegSize
	for k := hi; k <= lo; k++ {
		fr.partSpill[k] = false
	}
	if canSpill && s.spills && n < bpfRegSize && below%bpfRegSize == 0 {
		fr.partSpill[lo] = true
	}
}

// stackAt handles n bytes starting at fp-below (below > 0 counts bytes
// under the frame pointer).
func (s *vtShadow) stackAt(pc int, f *vtFrame, below int64, n int, write, helper bool) error {
	for i := 0; i < n; i++ {
		b := below - int64(i) - 1 // index under fp: fp-1 is 0
		if b < 0 || b >= MaxBPFStack {
			return fmt.Errorf("pc %d: %v: stack byte fp%d outside the frame", pc, s.prog[pc], -b-1)
		}
		if write {
			f.stackInit[b] = true
			if helper {
				f.partSpill[b/bpfRegSize] = false // the helper's write scrubs the spill
			}
		} else if s.checkStack && !f.stackInit[b] && !(helper && f.partSpill[b/bpfRegSize]) {
			return fmt.Errorf("pc %d: %v reads uninitialised stack byte fp%d", pc, s.prog[pc], -b-1)
		}
	}
	return nil
}

func (s *vtShadow) helperStack(pc int) error {
	for _, a := range s.m.helperStack[pc] {
		k := int((vtStackTop - 1 - a.addr) / MaxBPFStack) // frame k's r10 is StackTop - k*512
		if k >= len(s.frames) {
			return fmt.Errorf("pc %d: helper touches a dead frame at %#x", pc, a.addr)
		}
		fp := vtStackTop - uint64(k)*MaxBPFStack
		if err := s.stackAt(pc, s.frames[k], int64(fp-a.addr), a.size, a.write, true); err != nil {
			return err
		}
	}
	delete(s.m.helperStack, pc)
	return nil
}

// step replays the instruction at pc.
func (s *vtShadow) step(pc int, helpers map[int32]*HelperProto, kfuncs map[int32]*KfuncProto) error {
	ins := s.prog[pc]
	f := s.cur()
	switch c := ins.Code.Class(); c {
	case ALUClass, ALU64Class:
		op := ins.Code.ALUOp()
		x := ins.Code.Source() == RegSource
		switch {
		case op == Mov && !x:
		case op == Mov:
			if err := s.use(pc, ins.Src); err != nil {
				return err
			}
		case op == Neg || op == End || !x:
			if err := s.use(pc, ins.Dst); err != nil {
				return err
			}
		default:
			if err := s.use(pc, ins.Dst, ins.Src); err != nil {
				return err
			}
		}
		ptr, frame := int64(-1), 0
		switch {
		case c == ALU64Class && op == Mov && x && ins.Off == 0 && ins.Src < MaxReg:
			ptr, frame = f.stackPtr[ins.Src], f.stackFrame[ins.Src]
		case c == ALU64Class && (op == Add || op == Sub) && !x && f.stackPtr[ins.Dst] >= 0:
			d := int64(ins.Imm)
			if op == Add {
				d = -d
			}
			ptr, frame = f.stackPtr[ins.Dst]+d, f.stackFrame[ins.Dst]
		}
		s.def(ins.Dst)
		if ins.Dst < MaxReg {
			f.stackPtr[ins.Dst], f.stackFrame[ins.Dst] = ptr, frame
		}
	case LdClass:
		s.def(ins.Dst)
	case LdXClass:
		if err := s.use(pc, ins.Src); err != nil {
			return err
		}
		if ins.Code.Mode() != ProbeMem32Mode {
			if err := s.stackBytes(pc, ins.Src, ins.Off, ins.Code.Size().Bytes(), false); err != nil {
				return err
			}
		}
		s.def(ins.Dst)
	case StClass, StXClass:
		regs := []Register{ins.Dst}
		if c == StXClass {
			regs = append(regs, ins.Src)
		}
		mode := ins.Code.Mode()
		atomic := mode == AtomicMode || mode == ProbeAtomicMode
		if atomic && ins.Imm == AtomicCmpXchg {
			regs = append(regs, R0)
		}
		if atomic && ins.Imm == AtomicLoadAcq {
			regs = []Register{ins.Src}
		}
		if err := s.use(pc, regs...); err != nil {
			return err
		}
		if mode == MemMode || mode == AtomicMode {
			n := ins.Code.Size().Bytes()
			if atomic && ins.Imm == AtomicLoadAcq {
				if err := s.stackBytes(pc, ins.Src, ins.Off, n, false); err != nil {
					return err
				}
			} else {
				if atomic && ins.Imm != AtomicStoreRel {
					if err := s.stackBytes(pc, ins.Dst, ins.Off, n, false); err != nil {
						return err
					}
				}
				if err := s.stackBytes(pc, ins.Dst, ins.Off, n, true); err != nil {
					return err
				}
				s.storeSpill(ins.Dst, ins.Off, n, mode == MemMode || ins.Imm == AtomicStoreRel)
			}
		}
		switch {
		case atomic && ins.Imm == AtomicCmpXchg:
			s.def(R0)
		case atomic && ins.Imm == AtomicLoadAcq:
			s.def(ins.Dst)
		case atomic && ins.Imm&AtomicFetch != 0:
			s.def(ins.Src)
		}
	case JumpClass, Jump32Class:
		switch ins.Code.JumpOp() {
		case Ja, JCond:
		case Exit:
			if len(s.frames) == 1 {
				return s.use(pc, R0)
			}
			callee := s.cur()
			s.frames = s.frames[:len(s.frames)-1]
			caller := s.cur()
			caller.regInit[R0] = callee.regInit[R0]
			caller.stackPtr[R0] = -1
		case Call:
			switch ins.Src {
			case CallLocal:
				callee := newVTFrame(pc)
				for r := R1; r <= R5; r++ {
					callee.regInit[r], callee.stackPtr[r], callee.stackFrame[r] = f.regInit[r], f.stackPtr[r], f.stackFrame[r]
				}
				for r := R0; r <= R5; r++ {
					f.regInit[r], f.stackPtr[r] = false, -1
				}
				s.frames = append(s.frames, callee)
				return nil
			case CallHelper:
				if h := helpers[ins.Imm]; h != nil {
					for a, t := range h.Args {
						if t != ArgDontCare {
							if err := s.use(pc, R1+Register(a)); err != nil {
								return err
							}
						}
					}
				}
			case CallKfunc:
				if kf := kfuncs[ins.Imm]; kf != nil {
					for a, arg := range kf.Args {
						if arg.Kind != KfuncArgIgnore {
							if err := s.use(pc, R1+Register(a)); err != nil {
								return err
							}
						}
					}
				}
			}
			if err := s.helperStack(pc); err != nil {
				return err
			}
			for r := R1; r <= R5; r++ {
				f.regInit[r], f.stackPtr[r] = false, -1
			}
			s.def(R0)
		default:
			regs := []Register{ins.Dst}
			if ins.Code.Source() == RegSource {
				regs = append(regs, ins.Src)
			}
			return s.use(pc, regs...)
		}
	}
	return nil
}

// runVerified runs an accepted program on the interpreter in a fresh
// machine and replays its path. It returns nil if the run kept every
// promise (or ran out of budget, which a looping program may).
func runVerified(out *Verified, env *VerifyEnv, seed uint64) error {
	m := newVTMachine(seed, env.Ctx.Size)
	var rec trace.Recorder
	tr := trace.New(&rec, trace.Of(trace.Insn))
	it := NewInterpreter(out.Insns, m.config(tr))
	ctx := uint64(vtCtxAddr)
	_, err := it.Run(ctx)
	var e *Error
	if errors.As(err, &e) {
		switch e.Outcome {
		case Budget:
			return nil
		default:
			return fmt.Errorf("engine: %w", err)
		}
	} else if err != nil {
		return err
	}
	s := &vtShadow{prog: out.Insns, frames: []*vtFrame{newVTFrame(-1)}, checkStack: !env.Caps.perfmonCapable(), spills: env.Caps.bpfCapable(), m: m}
	s.cur().regInit[R1] = true
	for _, ev := range rec.Events {
		if ev.Kind != trace.Insn {
			continue
		}
		if err := s.step(int(ev.Addr), env.Helpers, env.Kfuncs); err != nil {
			return err
		}
	}
	return nil
}

// vtResolveMapFDs returns a copy of prog with each map-fd LD_IMM64 turned
// into the map address, as the verifier would, for running unverified
// programs through the oracle.
func vtResolveMapFDs(prog []Insn) []Insn {
	prog = append([]Insn(nil), prog...)
	for i := range prog {
		if prog[i].IsLdImm64() && prog[i].Src == PseudoMapFD {
			pair := LdImm64Insns(prog[i].Dst, 0, vtMapAddr)
			prog[i], prog[i+1] = pair[0], pair[1]
		}
	}
	return prog
}

// TestVerifierEngineOracle shows the run-time check catches what it is
// for, on programs handed to it without verification.
func TestVerifierEngineOracle(t *testing.T) {
	env := vtEnv()
	env.Caps = CapBPF
	for _, c := range []struct {
		name string
		prog []Insn
		want string
	}{
		{"uninitialised register", vProg(vMov64Reg(R0, R2), vExit()), "reads uninitialised r2"},
		{"uninitialised stack", vProg(vMov64Reg(R2, R10), vALU64Imm(Add, R2, -16), vLdx(DWord, R0, R2, 8), vExit()),
			"reads uninitialised stack byte fp-8"},
		{"uninitialised helper key", vProg(vMov64Reg(R2, R10), vALU64Imm(Add, R2, -4), vLdMapFD(R1, vtHashFD),
			vCall(FuncMapLookupElem), vMov64Imm(R0, 0), vExit()), "reads uninitialised stack byte fp-4"},
		{"callee reads caller's r6", vProgL(vMov64Imm(R6, 1), vCallL("f"), vExit(), vLabel("f"), vMov64Reg(R0, R6), vExit()),
			"reads uninitialised r6"},
		{"context overrun", vProg(vLdx(DWord, R0, R1, 64), vExit()), "invalid memory access"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := runVerified(&Verified{Insns: vtResolveMapFDs(c.prog)}, env, 1)
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
		})
	}
}

// TestHelperReadsPartialSpill pins a kernel rule FuzzVerify ran into: with
// bpf_capable, an aligned 4-byte store of a constant at fp-208 is kept as a
// spilled scalar (save_register_state marks only its four bytes
// STACK_SPILL), and check_stack_range_initialized then lets a helper read
// the whole slot, fp-204 included, which was never written. Without
// bpf_capable the store is plain STACK_MISC data and the same key read is
// refused. A direct load of the unwritten byte is refused either way. The
// run-time oracle follows the kernel's rule for helper reads only.
func TestHelperReadsPartialSpill(t *testing.T) {
	lookup := func(keyOff int32) []Insn {
		return vProg(vSt(Word, R10, -208, 0x30303030), vMov64Reg(R2, R10), vALU64Imm(Add, R2, keyOff),
			vLdMapFD(R1, vtHashFD), vCall(FuncMapLookupElem), vJmpImm(JEq, R0, 0, 1),
			vLdx(Word, R0, R0, 0), vExit())
	}
	direct := vProg(vSt(Word, R10, -208, 1), vLdx(Word, R0, R10, -204), vExit())

	bpf := vtEnv()
	bpf.Caps = CapBPF
	out, err := Verify(lookup(-207), bpf)
	require.NoError(t, err)
	for seed := range uint64(4) {
		require.NoError(t, runVerified(out, bpf, seed))
	}
	_, err = Verify(direct, bpf)
	require.ErrorContains(t, err, "invalid read from stack off -204+0 size 4")

	unpriv := vtEnv()
	unpriv.Caps = 0
	_, err = Verify(lookup(-207), unpriv)
	require.ErrorContains(t, err, "invalid read from stack R2 off -207+3 size 4")

	// The oracle still catches a helper reading unwritten bytes of a slot
	// that holds no spill (the store at fp-204 is not 8-byte aligned).
	prog := vProg(vSt(Word, R10, -204, 1), vMov64Reg(R2, R10), vALU64Imm(Add, R2, -206),
		vLdMapFD(R1, vtHashFD), vCall(FuncMapLookupElem), vMov64Imm(R0, 0), vExit())
	err = runVerified(&Verified{Insns: vtResolveMapFDs(prog)}, bpf, 1)
	require.ErrorContains(t, err, "reads uninitialised stack byte fp-206")
}

package bpfjit

import "github.com/arenasim/arenasim/internal/errno"

// slotType is what one byte of a stack slot holds (enum bpf_stack_slot_type).
type slotType uint8

const (
	stackInvalid slotType = iota // never written: reading it is an error
	stackSpill                   // part of a spilled register
	stackMisc                    // written with something unknown
	stackZero                    // written with zero
)

var slotTypeChars = [...]byte{stackInvalid: '?', stackSpill: 'r', stackMisc: 'm', stackZero: '0'}

// stackSlot is one 8-byte stack slot (struct bpf_stack_state). types[i]
// describes the byte at fp - 8*spi - 1 - i.
type stackSlot struct {
	spilled regState
	types   [bpfRegSize]slotType
}

func (s *stackSlot) isSpilled() bool { return s.types[bpfRegSize-1] == stackSpill }

func (s *stackSlot) isSpilledScalar() bool {
	return s.isSpilled() && s.spilled.typ == scalarValue
}

// isSpilledScalar64 reports a full 8-byte scalar spill.
func (s *stackSlot) isSpilledScalar64() bool {
	if !s.isSpilledScalar() {
		return false
	}
	for _, t := range s.types {
		if t != stackSpill {
			return false
		}
	}
	return true
}

// scrub turns a slot's spilled bytes into misc ones (scrub_spilled_slot).
func (s *stackSlot) scrub() {
	for i, t := range s.types {
		if t != stackInvalid {
			s.types[i] = stackMisc
		}
	}
}

// funcState is one call frame (struct bpf_func_state).
type funcState struct {
	regs     [MaxReg]regState
	callsite int // the call instruction in the caller; -1 for the main frame
	frameno  uint8
	subprog  int
	stack    []stackSlot // allocated_stack / 8 slots, spi 0 nearest to fp
	// regWritten and stackWritten are the REG_LIVE_WRITTEN marks the log
	// prints as "_w": written since the last checkpoint.
	regWritten   uint16
	stackWritten uint64
	// stackRead holds the REG_LIVE_READ marks of the stack slots of a
	// checkpoint: slots some later path read before writing them whole.
	// Unread slots do not matter when comparing with the checkpoint.
	stackRead uint64
	// inst identifies this activation of the function; the read marks of
	// a slot flow only between states of the same activation (the
	// kernel's parent pointers).
	inst uint64
}

func (f *funcState) clone() *funcState {
	n := *f
	n.stack = append([]stackSlot(nil), f.stack...)
	return &n
}

func (f *funcState) allocatedStack() int { return len(f.stack) * bpfRegSize }

// vstate is one verifier state: the call chain of frames (struct
// bpf_verifier_state).
type vstate struct {
	frames       []*funcState
	parent       *checkpoint // the last checkpoint on this path
	mayGotoDepth int
	dfsDepth     int
	// loopEntry is the outermost loop header known to contain this state
	// (loop_entry); see getLoopEntry.
	loopEntry *checkpoint
}

func (s *vstate) cur() *funcState { return s.frames[len(s.frames)-1] }
func (s *vstate) curframe() int   { return len(s.frames) - 1 }

func (s *vstate) clone() *vstate {
	n := *s
	n.frames = make([]*funcState, len(s.frames))
	for i, f := range s.frames {
		n.frames[i] = f.clone()
	}
	return &n
}

// checkpoint is a state remembered at a prune point (struct
// bpf_verifier_state_list): branches counts the paths from it still being
// explored; at zero it is proven safe and may prune.
type checkpoint struct {
	st       *vstate
	insnIdx  int
	branches int
	parent   *checkpoint
	hit      int
	miss     int
}

// pending is a path waiting on the DFS stack (struct bpf_verifier_stack_elem).
type pending struct {
	st          *vstate
	insnIdx     int
	prevInsnIdx int
	logPos      int
}

// insnAux is what the verifier learns about one instruction
// (struct bpf_insn_aux_data).
type insnAux struct {
	ptrType    regType // the pointer type its memory access used
	seen       bool
	prunePoint bool
	jmpPoint   bool
	forceCkpt  bool
	mapIndex   int
	mapOff     uint32
	needsZext  bool // 64-bit ALU on an arena pointer: emitted as 32-bit
	liveIn     uint16
	// preciseUse are the registers whose exact value some visit of this
	// instruction relied on; needIn is the backward closure of those uses:
	// the registers whose values must match for two states to be
	// interchangeable before this instruction.
	preciseUse uint16
	needIn     uint16
	needOut    uint16
	// linked are the registers a conditional jump here refined together
	// through shared scalar ids (sync_linked_regs).
	linked  uint16
	kfunc   *KfuncProto
	helper  *HelperProto
	subprog int32
}

type subprogInfo struct {
	start      int
	stackDepth int
}

// verifier is one run of the verifier (struct bpf_verifier_env).
type verifier struct {
	env   *VerifyEnv
	insns []Insn
	aux   []insnAux
	// subprogs is sorted by start and ends with a sentinel at len(insns).
	subprogs []subprogInfo
	arena    *MapInfo
	usedMaps []*MapInfo

	bpfCapable       bool
	allowPtrLeaks    bool
	allowUninitStack bool
	bypassSpecV1     bool

	cur         *vstate
	insnIdx     int
	prevInsnIdx int
	head        []pending
	explored    map[int][]*checkpoint
	idGen       uint32
	frameGen    uint64

	insnProcessed     int
	insnLimit         int
	jmpsProcessed     int
	prevJmpsProcessed int
	prevInsnProcessed int
	totalStates       int
	peakStates        int
	exploredStates    int
	maxStatesPerInsn  int
	precisionDirty    bool

	probeInsns []int
	callSites  [][]int // by subprogram: the local calls to it
	log        vlog
	errContext []string
}

func newVerifier(prog []Insn, env *VerifyEnv) *verifier {
	v := &verifier{
		env:      env,
		insns:    append([]Insn(nil), prog...),
		aux:      make([]insnAux, len(prog)),
		explored: map[int][]*checkpoint{},
	}
	v.bpfCapable = env.Caps.bpfCapable()
	v.allowPtrLeaks = env.Caps.perfmonCapable()
	v.allowUninitStack = env.Caps.perfmonCapable()
	v.bypassSpecV1 = env.Caps.perfmonCapable()
	v.log.level = env.LogLevel
	v.insnLimit = ComplexityLimitInsns
	if env.insnLimit > 0 {
		v.insnLimit = env.insnLimit
	}
	for i := range v.aux {
		v.aux[i].mapIndex = -1
	}
	return v
}

func (v *verifier) regs() *[MaxReg]regState { return &v.cur.cur().regs }

// funcOf returns the frame a stack pointer points into (func()).
func (v *verifier) funcOf(r *regState) *funcState { return v.cur.frames[r.frameno] }

// growStack makes the frame's allocated stack at least size bytes and
// records the subprogram's depth (grow_stack_state).
func (v *verifier) growStack(f *funcState, size int) {
	n := roundUp(size, bpfRegSize) / bpfRegSize
	if n > len(f.stack) {
		f.stack = append(f.stack, make([]stackSlot, n-len(f.stack))...)
	}
	if sp := &v.subprogs[f.subprog]; sp.stackDepth < size {
		sp.stackDepth = roundUp(size, bpfRegSize)
	}
}

// initFuncState sets up a fresh frame (init_func_state): every register
// unreadable except r10, the frame pointer.
func (v *verifier) initFuncState(callsite int, frameno uint8, subprog int) *funcState {
	v.frameGen++
	f := &funcState{callsite: callsite, frameno: frameno, subprog: subprog, inst: v.frameGen}
	for i := range f.regs {
		f.regs[i].setUnknown(!v.bpfCapable)
		f.regs[i].typ = notInit
	}
	fp := &f.regs[RFP]
	fp.setPointer(ptrToStack)
	fp.frameno = frameno
	return f
}

// pushStack queues the current state to continue at insnIdx later
// (push_stack) and returns the copy.
func (v *verifier) pushStack(insnIdx, prevInsnIdx int) (*vstate, error) {
	st := v.cur.clone()
	v.head = append(v.head, pending{st: st, insnIdx: insnIdx, prevInsnIdx: prevInsnIdx, logPos: v.log.pos()})
	if len(v.head) > complexityLimitJmpSeq {
		return nil, v.errorf(errno.EFAULT, v.insnIdx, "The sequence of %d jumps is too complex.", len(v.head))
	}
	if st.parent != nil {
		st.parent.branches++
	}
	return st, nil
}

// popStack resumes the most recently queued path (pop_stack). It reports
// false when none is left.
func (v *verifier) popStack(popLog bool) bool {
	if len(v.head) == 0 {
		return false
	}
	p := v.head[len(v.head)-1]
	v.head = v.head[:len(v.head)-1]
	v.cur = p.st
	v.insnIdx = p.insnIdx
	v.prevInsnIdx = p.prevInsnIdx
	if popLog {
		v.log.reset(p.logPos)
	}
	return true
}

// updateBranchCounts ends the current path: every checkpoint whose last
// path this was is now fully explored, and hands its loop header to its
// parent (update_branch_counts).
func (v *verifier) updateBranchCounts() {
	if v.cur.parent != nil && v.cur.loopEntry != nil {
		updateLoopEntry(v.cur.parent.st, v.cur.loopEntry)
	}
	for c := v.cur.parent; c != nil; c = c.parent {
		c.branches--
		if c.branches > 0 {
			break
		}
		if c.parent != nil && c.st.loopEntry != nil {
			updateLoopEntry(c.parent.st, c.st.loopEntry)
		}
	}
}

// getLoopEntry returns the outermost loop header known for st
// (get_loop_entry). While that header is still being explored, states
// inside its loop may have incomplete read marks and are compared exactly.
func getLoopEntry(st *vstate) *checkpoint {
	top := st.loopEntry
	for top != nil && top.st.loopEntry != nil {
		top = top.st.loopEntry
	}
	return top
}

// updateLoopEntry records hdr as st's loop header if hdr is on the current
// DFS path and comes before st's current header (update_loop_entry).
func updateLoopEntry(st *vstate, hdr *checkpoint) {
	depth := st.dfsDepth
	if st.loopEntry != nil {
		depth = st.loopEntry.st.dfsDepth
	}
	if hdr.branches > 0 && hdr.st.dfsDepth < depth {
		st.loopEntry = hdr
	}
}

// markStackRead records that slot spi of frame fr was read: every
// checkpoint back to the last whole write of the slot depends on its value
// (mark_reg_read on a stack slot).
func (v *verifier) markStackRead(fr, spi int) {
	node := v.cur.frames[fr]
	for c := v.cur.parent; c != nil; c = c.parent {
		if node.stackWritten&(1<<uint(spi)) != 0 {
			return
		}
		if fr >= len(c.st.frames) {
			return
		}
		pf := c.st.frames[fr]
		if pf.inst != node.inst || spi >= len(pf.stack) || pf.stackRead&(1<<uint(spi)) != 0 {
			return
		}
		pf.stackRead |= 1 << uint(spi)
		node = pf
	}
}

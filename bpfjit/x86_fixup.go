package bpfjit

import (
	"slices"

	"github.com/arenasim/arenasim/internal/errno"
)

// x86FnInsn is one instruction of a function as the JIT receives it, after
// the verifier's last rewrites. Jumps carry their target as an index into
// the function (what the kernel recovers as i + off); calls carry the
// absolute address the kernel derives from __bpf_call_base + imm.
type x86FnInsn struct {
	ins      Insn
	slot     int    // the caller's slot it comes from; -1 for the may_goto setup
	inserted bool   // written by a verifier rewrite rather than the caller
	target   int    // jumps: index of the target in the function
	addr     uint64 // helper, kfunc and internal calls: the callee's address
	callee   int    // local calls and BPF_PSEUDO_FUNC loads: callee function; else -1
}

// x86Fn is one function (subprogram) as jit_subprogs hands it to the JIT.
type x86Fn struct {
	insns      []x86FnInsn
	start, end int // its slots in the caller's program
	stackDepth int // including may_goto's slots
	origDepth  int // as the verifier computed it
	exEntries  int // num_exentries
}

// x86Prepare checks prog the way the JIT relies on the verifier to have
// done, splits it into functions and applies the rewrites do_misc_fixups
// makes before JIT (kernel/bpf/verifier.c) that change what the JIT sees:
// addr_space_cast lowering, sdiv/smod by -1, the divide-by-zero guards and
// the may_goto expansion. Rewrites that depend on program type, helpers or
// maps (helper inlining, LD_ABS, pointer-arithmetic sanitation) are not
// modelled: the program is taken as already past them.
func x86Prepare(prog []Insn, o *X86Options) ([]x86Fn, error) {
	if len(prog) == 0 {
		return nil, errno.Errorf(errno.EINVAL, "empty program")
	}
	starts, err := x86SubprogStarts(prog, o)
	if err != nil {
		return nil, err
	}
	if o.StackDepths != nil && len(o.StackDepths) != len(starts) {
		return nil, errno.Errorf(errno.EINVAL, "%d stack depths for %d subprograms", len(o.StackDepths), len(starts))
	}
	fns := make([]x86Fn, len(starts))
	for f := range starts {
		end := len(prog)
		if f+1 < len(starts) {
			end = starts[f+1]
		}
		fn := &fns[f]
		fn.start, fn.end = starts[f], end
		if o.StackDepths != nil {
			fn.origDepth = o.StackDepths[f]
			if fn.origDepth < 0 || fn.origDepth > MaxBPFStack {
				return nil, errno.Errorf(errno.EINVAL, "stack depth %d of subprogram %d out of range", fn.origDepth, f)
			}
		} else {
			fn.origDepth = x86StackDepth(prog[fn.start:fn.end])
		}
		if err := x86FixupFn(prog, fn, starts, o); err != nil {
			return nil, err
		}
	}
	return fns, nil
}

// x86SubprogStarts returns the first slot of every subprogram, main first,
// and checks every jump and call target (check_subprogs and
// add_subprog_and_kfunc in kernel/bpf/verifier.c).
func x86SubprogStarts(prog []Insn, o *X86Options) ([]int, error) {
	n := len(prog)
	found := []int{0}
	for i := 0; i < n; i++ {
		ins := prog[i]
		if err := x86CheckInsn(prog, i); err != nil {
			return nil, err
		}
		if ins.IsLdImm64() {
			if ins.Src == PseudoFunc {
				t := i + 1 + int(ins.Imm)
				if t < 0 || t >= n {
					return nil, errno.Errorf(errno.EINVAL, "insn %d: function pointer to invalid insn %d", i, t)
				}
				found = append(found, t)
			}
			i++
			continue
		}
		if ins.Code == JumpOpcode(JumpClass, Call, ImmSource) && ins.Src == CallLocal {
			t := ins.JumpTarget(i)
			if t < 0 || t >= n {
				return nil, errno.Errorf(errno.EINVAL, "insn %d: call to invalid destination %d", i, t)
			}
			found = append(found, t)
		}
	}
	slices.Sort(found)
	found = slices.Compact(found)
	starts := found
	if o.SubprogStarts != nil {
		starts = append([]int{0}, o.SubprogStarts...)
		for k := 1; k < len(starts); k++ {
			if starts[k] <= starts[k-1] || starts[k] >= n {
				return nil, errno.Errorf(errno.EINVAL, "subprogram start %d out of order or range", starts[k])
			}
		}
		for _, t := range found {
			if _, ok := slices.BinarySearch(starts, t); !ok {
				return nil, errno.Errorf(errno.EINVAL, "call target %d is not a subprogram start", t)
			}
		}
	}
	second := x86SecondSlots(prog)
	for k, s := range starts {
		if second[s] {
			return nil, errno.Errorf(errno.EINVAL, "subprogram %d starts inside the ld_imm64 at insn %d", k, s-1)
		}
	}
	// Jumps must stay inside their subprogram.
	f := 0
	for i := 0; i < n; i++ {
		for f+1 < len(starts) && i >= starts[f+1] {
			f++
		}
		ins := prog[i]
		if second[i] || !x86HasTarget(ins.Code) {
			continue
		}
		lo, hi := starts[f], n
		if f+1 < len(starts) {
			hi = starts[f+1]
		}
		t := ins.JumpTarget(i)
		if t < lo || t >= hi {
			return nil, errno.Errorf(errno.EINVAL, "insn %d: jump out of range from insn %d to %d", i, i, t)
		}
		if second[t] {
			return nil, errno.Errorf(errno.EINVAL, "insn %d: jump into the middle of ldimm64 insn %d", i, t-1)
		}
	}
	return starts, nil
}

// x86SecondSlots marks the second slot of every wide load, counting wide
// loads from the start so that a constant whose first byte happens to read
// 0x18 is not mistaken for one.
func x86SecondSlots(prog []Insn) []bool {
	second := make([]bool, len(prog)+1)
	for i := 0; i < len(prog); i++ {
		if prog[i].IsLdImm64() {
			i++
			second[i] = true
		}
	}
	return second
}

// x86HasTarget reports whether op is a jump with a target (not a call or exit).
func x86HasTarget(op Opcode) bool {
	return op.Class().IsJump() && op.JumpOp() != Call && op.JumpOp() != Exit
}

// x86CheckInsn rejects what the verifier would reject and the JIT would
// otherwise turn into garbage or index out of range: reserved register
// numbers, a truncated wide load, operand fields the emitter switches on.
func x86CheckInsn(prog []Insn, i int) error {
	ins := prog[i]
	bad := func(format string, args ...any) error {
		return errno.Errorf(errno.EINVAL, "insn %d (%v): "+format, append([]any{i, ins}, args...)...)
	}
	if ins.IsLdImm64() {
		if i+1 >= len(prog) {
			return bad("ld_imm64 is the last slot")
		}
		if n := prog[i+1]; n.Code != 0 || n.Dst != 0 || n.Src != 0 || n.Off != 0 {
			return bad("invalid ld_imm64 second slot")
		}
	}
	if ins.Dst > R10 {
		return bad("R%d is invalid", ins.Dst)
	}
	c := ins.Code
	if ins.Dst == R10 && (c.Class().IsALU() || c.Class() == LdXClass || ins.IsLdImm64()) {
		return errno.Errorf(errno.EACCES, "insn %d (%v): frame pointer is read only", i, ins)
	}
	switch {
	case c == JumpOpcode(JumpClass, Call, ImmSource):
		if ins.Src > CallKfunc {
			return bad("unknown call kind %d", ins.Src)
		}
	case c == JumpOpcode(JumpClass, JCond, ImmSource):
		if ins.Src != MayGoto || ins.Imm != 0 || ins.Dst != 0 {
			return bad("invalid may_goto")
		}
	case ins.IsLdImm64():
		// Src is a pseudo kind, not a register.
	case ins.Src > R10:
		return bad("R%d is invalid", ins.Src)
	}
	switch {
	case c == ALUOpcode(ALU64Class, Mov, RegSource):
		if ins.Imm != 0 && ins.Off != AddrSpaceCast {
			return bad("BPF_MOV uses reserved fields")
		}
		switch ins.Off {
		case 0, 8, 16, 32:
		case AddrSpaceCast:
			if ins.Imm != CastKernImm && ins.Imm != CastUserImm {
				return bad("addr_space_cast can only convert between address spaces 1 and 0")
			}
		default:
			return bad("invalid movsx offset %d", ins.Off)
		}
	case c == ALUOpcode(ALUClass, Mov, RegSource):
		if ins.Imm != 0 {
			return bad("BPF_MOV uses reserved fields")
		}
		if ins.Off != 0 && ins.Off != 8 && ins.Off != 16 {
			return bad("invalid movsx offset %d", ins.Off)
		}
	case c.Class().IsALU() && c.ALUOp() == End:
		if ins.Imm != 16 && ins.Imm != 32 && ins.Imm != 64 {
			return bad("invalid byte swap width %d", ins.Imm)
		}
	case c.Class().IsALU() && (c.ALUOp() == Div || c.ALUOp() == Mod):
		if ins.Off != 0 && ins.Off != 1 {
			return bad("invalid div/mod offset %d", ins.Off)
		}
	}
	return nil
}

// x86StackDepth estimates the verifier's stack depth of one function from
// its instructions: the deepest access through r10 itself. If r10 is used
// any other way (copied, compared, stored) the pointer could be anywhere in
// the frame, so the whole MAX_BPF_STACK is assumed.
func x86StackDepth(insns []Insn) int {
	depth := 0
	for i := 0; i < len(insns); i++ {
		ins := insns[i]
		if ins.IsLdImm64() {
			i++
			continue
		}
		c := ins.Code
		base, other := Register(0xff), []Register(nil)
		switch c.Class() {
		case LdXClass:
			base, other = ins.Src, []Register{ins.Dst}
		case StClass:
			base = ins.Dst
		case StXClass:
			base, other = ins.Dst, []Register{ins.Src}
		default:
			if ins.Dst == R10 || (c.Source() == RegSource && ins.Src == R10) {
				return MaxBPFStack
			}
			continue
		}
		if slices.Contains(other, R10) {
			return MaxBPFStack
		}
		if base == R10 && ins.Off < 0 {
			depth = max(depth, -int(ins.Off))
		}
	}
	return min(depth, MaxBPFStack)
}

// x86FixupFn fills fn.insns from prog[fn.start:fn.end].
func x86FixupFn(prog []Insn, fn *x86Fn, starts []int, o *X86Options) error {
	syms := o.Symbols
	n := fn.end - fn.start
	startOf := make([]int, n) // caller slot - fn.start -> index in fn.insns
	out := make([]x86FnInsn, 0, n+8)
	// Jumps whose target is still a caller slot, resolved once startOf is full.
	type pending struct{ at, slot int }
	var fixTargets []pending
	hasMayGoto := false

	add := func(ins Insn, slot int, inserted bool) int {
		out = append(out, x86FnInsn{ins: ins, slot: slot, inserted: inserted, target: -1, callee: -1})
		return len(out) - 1
	}
	// patch appends a verifier patchlet for slot; keep is the index of the
	// original instruction inside it. Its own jumps stay inside it.
	patch := func(slot, keep int, insns []Insn) {
		base := len(out)
		for k, ins := range insns {
			at := add(ins, slot, k != keep)
			if x86HasTarget(ins.Code) {
				out[at].target = base + k + 1 + int(ins.Off)
			}
		}
	}

	for i := fn.start; i < fn.end; i++ {
		ins := prog[i]
		startOf[i-fn.start] = len(out)
		c := ins.Code
		switch {
		case ins.IsLdImm64():
			at := add(ins, i, false)
			add(prog[i+1], i+1, false)
			startOf[i+1-fn.start] = at + 1
			if ins.Src == PseudoFunc {
				t := i + 1 + int(ins.Imm)
				out[at].callee, _ = slices.BinarySearch(starts, t)
			}
			i++

		case c == ALUOpcode(ALU64Class, Mov, RegSource) && ins.Imm != 0:
			// addr_space_cast: cast_kern always, and every cast when the
			// arena has BPF_F_NO_USER_CONV, become wX = wY.
			if (ins.Off == AddrSpaceCast && ins.Imm == CastKernImm) || (o.NoUserConv && o.KernVMStart != 0) {
				ins = Insn{Code: ALUOpcode(ALUClass, Mov, RegSource), Dst: ins.Dst, Src: ins.Src}
			}
			add(ins, i, false)

		case x86IsDivModK(c) && ins.Off == 1 && ins.Imm == -1:
			// sdiv by -1 is neg; smod by -1 is 0: x86 idiv would trap on INT_MIN / -1.
			cls := c.Class()
			if c.ALUOp() == Div {
				add(Insn{Code: ALUOpcode(cls, Neg, ImmSource), Dst: ins.Dst}, i, true)
			} else {
				add(Insn{Code: ALUOpcode(ALUClass, Mov, ImmSource), Dst: ins.Dst}, i, true)
			}

		case x86IsDivModX(c):
			p, keep := x86DivGuard(ins)
			patch(i, keep, p)

		case c == JumpOpcode(JumpClass, JCond, ImmSource):
			hasMayGoto = true
			at := len(out)
			for k, p := range x86MayGotoPatch(ins, fn.origDepth, o.MayGoto) {
				j := add(p, i, true)
				switch {
				case k == 1: // the exit test jumps to the may_goto's own target
					fixTargets = append(fixTargets, pending{j, ins.JumpTarget(i)})
				case x86HasTarget(p.Code):
					out[j].target = at + k + 1 + int(p.Off)
				case p.Code.JumpOp() == Call:
					out[j].addr = syms.timedMayGoto()
				}
			}

		case c == JumpOpcode(JumpClass, Call, ImmSource):
			at := add(ins, i, false)
			switch ins.Src {
			case CallHelper:
				a, ok := syms.helper(ins.Imm)
				if !ok {
					return errno.Errorf(errno.EINVAL, "insn %d: invalid func unknown#%d", i, ins.Imm)
				}
				out[at].addr = a
			case CallKfunc:
				a, ok := syms.kfunc(ins.Imm)
				if !ok {
					return errno.Errorf(errno.EINVAL, "insn %d: kernel function btf_id %d not found", i, ins.Imm)
				}
				out[at].addr = a
			case CallLocal:
				out[at].callee, _ = slices.BinarySearch(starts, ins.JumpTarget(i))
			}
			if ins.Src != CallLocal && !x86IsSimm32(int64(out[at].addr-syms.callBase())) {
				return errno.Errorf(errno.EINVAL, "insn %d: address %#x of kernel function is out of range", i, out[at].addr)
			}

		case c == MemOpcode(StXClass, AtomicMode, Word) && ins.Imm == AtomicCmpXchg:
			// cmpxchg writes eax only when the comparison fails, so the
			// verifier zero-extends r0 after it (opt_subreg_zext_lo32_rnd_hi32,
			// BPF_ZEXT_REG). It does so when r0 is later read as 64 bits;
			// the model always does, which no program can tell apart. An
			// arena cmpxchg is already PROBE_ATOMIC then and gets none.
			add(ins, i, false)
			add(Insn{Code: ALUOpcode(ALUClass, Mov, RegSource), Dst: R0, Src: R0, Imm: 1}, i, true)

		case x86HasTarget(c):
			at := add(ins, i, false)
			fixTargets = append(fixTargets, pending{at, ins.JumpTarget(i)})

		default:
			add(ins, i, false)
		}
	}
	for _, p := range fixTargets {
		out[p.at].target = startOf[p.slot-fn.start]
	}

	fn.stackDepth = fn.origDepth
	if hasMayGoto {
		// The count (and, when timed, the timestamp) live below the
		// verifier's frame; the function's first instructions set them up,
		// and jumps to the function's start skip that setup.
		var init []Insn
		if o.MayGoto == X86MayGotoTimed {
			fn.stackDepth += 16
			init = []Insn{
				{Code: MemOpcode(StClass, MemMode, DWord), Dst: R10, Off: int16(-fn.stackDepth), Imm: BPFMaxTimedLoops},
				{Code: MemOpcode(StClass, MemMode, DWord), Dst: R10, Off: int16(-fn.stackDepth + 8)},
			}
		} else {
			fn.stackDepth += 8
			init = []Insn{{Code: MemOpcode(StClass, MemMode, DWord), Dst: R10, Off: int16(-fn.stackDepth), Imm: BPFMaxLoops}}
		}
		shifted := make([]x86FnInsn, 0, len(out)+len(init))
		for _, ins := range init {
			shifted = append(shifted, x86FnInsn{ins: ins, slot: -1, inserted: true, target: -1, callee: -1})
		}
		for _, x := range out {
			if x.target >= 0 {
				x.target += len(init)
			}
			shifted = append(shifted, x)
		}
		out = shifted
	}

	// Rewrite the offsets the way bpf_patch_insn_data keeps them, so the
	// instructions read back as the kernel's xlated program.
	for k := range out {
		x := &out[k]
		if x.target < 0 {
			continue
		}
		rel := x.target - k - 1
		if x.ins.Code == JumpOpcode(Jump32Class, Ja, ImmSource) {
			x.ins.Imm = int32(rel)
			continue
		}
		if rel != int(int16(rel)) {
			return errno.Errorf(errno.ERANGE, "insn %d: jump offset %d does not fit after rewriting", x.slot, rel)
		}
		x.ins.Off = int16(rel)
	}
	for _, x := range out {
		m := x.ins.Code.Mode()
		switch {
		case x.ins.Code.Class() == LdXClass && (m == ProbeMemMode || m == ProbeMem32Mode || m == ProbeMemSXMode):
			fn.exEntries++
		case (x.ins.Code.Class() == StXClass || x.ins.Code.Class() == StClass) && m == ProbeMem32Mode:
			fn.exEntries++
		case x.ins.Code.Class() == StXClass && m == ProbeAtomicMode:
			fn.exEntries++
		}
	}
	fn.insns = out
	return nil
}

func x86IsDivModK(c Opcode) bool {
	return c.Class().IsALU() && (c.ALUOp() == Div || c.ALUOp() == Mod) && c.Source() == ImmSource
}

func x86IsDivModX(c Opcode) bool {
	return c.Class().IsALU() && (c.ALUOp() == Div || c.ALUOp() == Mod) && c.Source() == RegSource
}

// x86DivGuard returns the verifier's patchlet around a division or modulo
// by a register (do_misc_fixups): x / 0 is 0, x % 0 is x, and the signed
// forms also avoid INT_MIN / -1, which traps on x86.
func x86DivGuard(ins Insn) (patch []Insn, keep int) {
	is64 := ins.Code.Class() == ALU64Class
	cls, jcls := ALUClass, Jump32Class
	if is64 {
		cls, jcls = ALU64Class, JumpClass
	}
	ax := x86RegAX
	ja1 := Insn{Code: JumpOpcode(JumpClass, Ja, ImmSource), Off: 1}
	mov32 := Insn{Code: ALUOpcode(ALUClass, Mov, RegSource), Dst: ins.Dst, Src: ins.Dst}
	isDiv := ins.Code.ALUOp() == Div
	signed := ins.Off == 1
	switch {
	case isDiv && signed:
		return []Insn{
			{Code: ALUOpcode(ALU64Class, Mov, RegSource), Dst: ax, Src: ins.Src},
			{Code: ALUOpcode(cls, Add, ImmSource), Dst: ax, Imm: 1},
			{Code: JumpOpcode(jcls, JGT, ImmSource), Dst: ax, Off: 4, Imm: 1},
			{Code: JumpOpcode(jcls, JEq, ImmSource), Dst: ax, Off: 1},
			{Code: ALUOpcode(cls, Mov, ImmSource), Dst: ins.Dst},
			{Code: ALUOpcode(cls, Neg, ImmSource), Dst: ins.Dst},
			ja1,
			ins,
		}, 7
	case signed:
		p := []Insn{
			{Code: ALUOpcode(ALU64Class, Mov, RegSource), Dst: ax, Src: ins.Src},
			{Code: ALUOpcode(cls, Add, ImmSource), Dst: ax, Imm: 1},
			{Code: JumpOpcode(jcls, JGT, ImmSource), Dst: ax, Off: 3, Imm: 1},
			{Code: JumpOpcode(jcls, JEq, ImmSource), Dst: ax, Off: 3, Imm: 1},
			{Code: ALUOpcode(ALUClass, Mov, ImmSource), Dst: ins.Dst},
			ja1,
			ins,
			ja1,
			mov32,
		}
		if is64 {
			return p[:len(p)-2], 6
		}
		p[3].Off = 4
		return p, 6
	case isDiv:
		return []Insn{
			{Code: JumpOpcode(jcls, JNE, ImmSource), Dst: ins.Src, Off: 2},
			{Code: ALUOpcode(ALUClass, Xor, RegSource), Dst: ins.Dst, Src: ins.Dst},
			ja1,
			ins,
		}, 3
	default:
		if is64 {
			return []Insn{{Code: JumpOpcode(jcls, JEq, ImmSource), Dst: ins.Src, Off: 1}, ins}, 1
		}
		return []Insn{
			{Code: JumpOpcode(jcls, JEq, ImmSource), Dst: ins.Src, Off: 2},
			ins,
			ja1,
			mov32,
		}, 1
	}
}

// x86MayGotoPatch returns the verifier's expansion of one may_goto for a
// function whose verifier stack depth is depth. Element 1 is the exit test;
// its offset is filled in by the caller from the may_goto's target.
func x86MayGotoPatch(ins Insn, depth int, kind X86MayGoto) []Insn {
	ax := x86RegAX
	ldx := func(off int) Insn {
		return Insn{Code: MemOpcode(LdXClass, MemMode, DWord), Dst: ax, Src: R10, Off: int16(off)}
	}
	stx := func(off int) Insn {
		return Insn{Code: MemOpcode(StXClass, MemMode, DWord), Dst: R10, Src: ax, Off: int16(off)}
	}
	exit := Insn{Code: JumpOpcode(JumpClass, JEq, ImmSource), Dst: ax}
	sub1 := Insn{Code: ALUOpcode(ALU64Class, Sub, ImmSource), Dst: ax, Imm: 1}
	if kind == X86MayGotoTimed {
		off := -depth - 16
		return []Insn{
			ldx(off),
			exit,
			sub1,
			{Code: JumpOpcode(JumpClass, JNE, ImmSource), Dst: ax, Off: 2},
			{Code: ALUOpcode(ALU64Class, Mov, ImmSource), Dst: ax, Imm: int32(off)},
			{Code: JumpOpcode(JumpClass, Call, ImmSource)},
			stx(off),
		}
	}
	off := -depth - 8
	return []Insn{ldx(off), exit, sub1, stx(off)}
}

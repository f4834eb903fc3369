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

package bpfjit

import "github.com/arenasim/arenasim/internal/errno"

// x86JumpCond maps a BPF jump to the x86 condition code of its short form.
func x86JumpCond(op JumpOp) (byte, bool) {
	switch op {
	case JEq:
		return x86JE, true
	case JSet, JNE:
		return x86JNE, true
	case JGT:
		return x86JA, true // unsigned >
	case JLT:
		return x86JB, true
	case JGE:
		return x86JAE, true
	case JLE:
		return x86JBE, true
	case JSGT:
		return x86JG, true // signed >
	case JSLT:
		return x86JL, true
	case JSGE:
		return x86JGE, true
	case JSLE:
		return x86JLE, true
	}
	return 0, false
}

// jump emits calls, exits, gotos and conditional jumps, choosing the short
// form (rel8) when the distance measured with the previous pass's layout
// allows it.
func (j *x86JIT) jump(k, proglen int, padding bool, seenExit *bool) error {
	x := &j.fn.insns[k]
	ins := x.ins
	e := &j.tmp
	c := ins.Code
	dst, src := ins.Dst, ins.Src
	is64 := c.Class() == JumpClass
	op := c.JumpOp()
	switch {
	case c == JumpOpcode(JumpClass, Call, ImmSource):
		return j.call(k)

	case c == JumpOpcode(JumpClass, Exit, ImmSource):
		if *seenExit {
			return j.jmp(k, int64(j.cleanup-j.addrs[k+1]), padding)
		}
		*seenExit = true
		j.cleanup = proglen
		j.epilogue(e)
		return nil

	case op == Ja && c.Source() == ImmSource:
		var off int64
		if x.target == k {
			off = -2 // a jump to itself: skip the pass-by-pass search for it
		} else {
			off = int64(j.addrs[x.target] - j.addrs[k+1])
		}
		if off == 0 {
			// A jump to the next insn disappears; once padding, keep its old size.
			if padding {
				nops := (j.addrs[k+1] - j.addrs[k]) - e.len()
				if nops != 0 && nops != 2 && nops != 5 {
					return j.errf(errno.EFAULT, k, "unexpected nop jump padding")
				}
				e.nops(nops)
			}
			return nil
		}
		return j.jmp(k, off, padding)
	}

	cond, ok := x86JumpCond(op)
	if !ok {
		return j.unknown(k)
	}
	switch {
	case op == JSet && c.Source() == RegSource:
		e.maybeMod(dst, src, is64)
		e.emit2(0x85, x86Add2Reg(0xC0, dst, src)) // test dst, src
	case op == JSet:
		e.maybe1Mod(dst, is64)
		e.emit2(0xF7, x86Add1Reg(0xC0, dst)) // test dst, imm32
		e.emit32(ins.Imm)
	case c.Source() == RegSource:
		e.maybeMod(dst, src, is64)
		e.emit2(0x39, x86Add2Reg(0xC0, dst, src)) // cmp dst, src
	case ins.Imm == 0:
		e.maybeMod(dst, dst, is64)
		e.emit2(0x85, x86Add2Reg(0xC0, dst, dst)) // test dst, dst: one byte shorter
	default:
		e.maybe1Mod(dst, is64)
		if x86IsImm8(int64(ins.Imm)) {
			e.emit3(0x83, x86Add1Reg(0xF8, dst), byte(ins.Imm))
		} else {
			e.emit2(0x81, x86Add1Reg(0xF8, dst))
			e.emit32(ins.Imm)
		}
	}
	off := int64(j.addrs[x.target] - j.addrs[k+1])
	switch {
	case x86IsImm8JmpOffset(off):
		if padding {
			if err := j.padShort(k, 4, "jmp_cond"); err != nil {
				return err
			}
		}
		e.emit2(cond, byte(off))
	case x86IsSimm32(off):
		e.emit2(0x0F, cond+0x10)
		e.emit32(int32(off))
	default:
		return j.errf(errno.EFAULT, k, "cond_jmp gen bug")
	}
	return nil
}

// padShort pads a jump about to take its 2-byte short form, once the passes
// pad: if the last pass gave it the near form, NOPs of the difference
// (grown bytes) go before it so that nothing after it moves again.
func (j *x86JIT) padShort(k, grown int, what string) error {
	nops := (j.addrs[k+1] - j.addrs[k]) - j.tmp.len() - 2
	if nops != 0 && nops != grown {
		return j.errf(errno.EFAULT, k, "unexpected "+what+" padding")
	}
	j.tmp.nops(nops)
	return nil
}

// jmp emits an unconditional jump (the kernel's emit_jmp label).
func (j *x86JIT) jmp(k int, off int64, padding bool) error {
	e := &j.tmp
	switch {
	case x86IsImm8JmpOffset(off):
		if padding {
			if err := j.padShort(k, 3, "jump"); err != nil {
				return err
			}
		}
		e.emit2(0xEB, byte(off))
	case x86IsSimm32(off):
		e.emit1(0xE9)
		e.emit32(int32(off))
	default:
		return j.errf(errno.EFAULT, k, "jmp gen bug")
	}
	return nil
}

// call emits "call rel32" to a helper, a kfunc, arch_bpf_timed_may_goto or
// another function of the program. The kernel computes the target as
// __bpf_call_base + imm; a call whose imm would be 0 is refused.
func (j *x86JIT) call(k int) error {
	x := &j.fn.insns[k]
	base := j.o.Symbols.callBase()
	target := x.addr
	if x.ins.Src == CallLocal && !x.inserted {
		target = base + 1 // jit_subprogs' placeholder until every function is placed
		if j.callee != nil {
			target = j.callee[x.callee]
		}
	}
	if target == base {
		return j.errf(errno.EINVAL, k, "call with imm 0")
	}
	ip := j.image + uint64(j.addrs[k])
	rel := int64(target - (ip + 5))
	if !x86IsSimm32(rel) {
		return j.errf(errno.EINVAL, k, "target call is out of range")
	}
	j.tmp.emit1(0xE8)
	j.tmp.emit32(int32(rel))
	return nil
}

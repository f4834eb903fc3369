package bpfjit

import "github.com/arenasim/arenasim/internal/errno"

// checkMaxStackDepth walks every call chain from the main program and
// limits its combined stack to MAX_BPF_STACK and its depth to
// MAX_CALL_FRAMES (check_max_stack_depth, check_max_stack_depth_subprog).
func (v *verifier) checkMaxStackDepth() error {
	round := func(d int) int {
		if v.env.NoJIT {
			return roundUp(max(d, 1), 32)
		}
		return roundUp(d, 16)
	}
	var retInsn, retProg [maxCallFrames]int
	depth, frame, idx := 0, 0, 0
	i := v.subprogs[0].start
	for {
		// process_func
		depth += round(v.subprogs[idx].stackDepth)
		if depth > MaxBPFStack {
			return v.errorf(errno.EACCES, -1, "combined stack size of %d calls is %d. Too large", frame+1, depth)
		}
	continueFunc:
		end := v.subprogs[idx+1].start
		called := false
		for ; i < end; i++ {
			if !isPseudoCall(v.insns[i]) {
				continue
			}
			retInsn[frame] = i + 1
			retProg[frame] = idx
			next := i + int(v.insns[i].Imm) + 1
			sidx := v.findSubprog(next)
			if sidx < 0 {
				return v.errorf(errno.EFAULT, i, "verifier bug: callee not found at insn %d", next)
			}
			i, idx = next, sidx
			frame++
			if frame >= maxCallFrames {
				return v.errorf(errno.E2BIG, i, "the call stack of %d frames is too deep !", frame)
			}
			called = true
			break
		}
		if called {
			continue
		}
		if frame == 0 {
			return nil
		}
		depth -= round(v.subprogs[idx].stackDepth)
		frame--
		i = retInsn[frame]
		idx = retProg[frame]
		goto continueFunc
	}
}

// deadCodeTrap is what an instruction no path reaches becomes: "goto pc-1".
var deadCodeTrap = Insn{Code: JumpOpcode(JumpClass, Ja, ImmSource), Off: -1}

// fixups rewrites the verified program for the JIT: instructions no path
// reached become traps (sanitize_dead_code: the kernel does this for
// unprivileged loaders and removes dead code for privileged ones, which
// would move indices), arena accesses become probe accesses
// (convert_ctx_accesses), casts and 64-bit arena arithmetic become 32-bit
// operations (do_misc_fixups), and map loads lose their pseudo source
// (convert_pseudo_ld_imm64).
func (v *verifier) fixups() error {
	for i := range v.insns {
		if !v.aux[i].seen {
			v.insns[i] = deadCodeTrap
		}
	}
	for i := 0; i < len(v.insns); i++ {
		ins := &v.insns[i]
		a := &v.aux[i]
		c := ins.Code.Class()
		switch {
		case (c == LdXClass && (ins.Code.Mode() == MemMode || ins.Code.Mode() == MemSXMode)) ||
			((c == StXClass || c == StClass) && ins.Code.Mode() == MemMode):
			if a.ptrType != ptrToArena {
				continue
			}
			if ins.Code.Mode() == MemSXMode {
				return v.errorf(errno.EOPNOTSUPP, i, "sign extending loads from arena are not supported yet")
			}
			ins.Code = MemOpcode(c, ProbeMem32Mode, ins.Code.Size())
			v.probeInsns = append(v.probeInsns, i)
		case c == StXClass && ins.Code.Mode() == AtomicMode:
			if a.ptrType != ptrToArena {
				continue
			}
			ins.Code = MemOpcode(c, ProbeAtomicMode, ins.Code.Size())
			v.probeInsns = append(v.probeInsns, i)
		}
	}
	for i := 0; i < len(v.insns); i++ {
		ins := &v.insns[i]
		if ins.Code == ALUOpcode(ALU64Class, Mov, RegSource) && ins.Imm != 0 {
			if (ins.Off == AddrSpaceCast && ins.Imm == CastKernImm) ||
				(v.arena != nil && v.arena.Flags&MapFlagNoUserConv != 0) {
				ins.Code = ALUOpcode(ALUClass, Mov, RegSource)
				ins.Off, ins.Imm = 0, 0
			}
			continue
		}
		if v.aux[i].needsZext {
			ins.Code = ALUOpcode(ALUClass, ins.Code.ALUOp(), ins.Code.Source())
		}
		if ins.IsLdImm64() {
			if ins.Src != PseudoFunc {
				ins.Src = 0
			}
			i++
		}
	}
	return nil
}

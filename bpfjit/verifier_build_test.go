package bpfjit

// Instruction builders for the verifier's tests, named after the kernel's
// BPF_* macros in include/linux/filter.h.

func vMov64Imm(dst Register, imm int32) Insn {
	return Insn{Code: ALUOpcode(ALU64Class, Mov, ImmSource), Dst: dst, Imm: imm}
}

func vMov32Imm(dst Register, imm int32) Insn {
	return Insn{Code: ALUOpcode(ALUClass, Mov, ImmSource), Dst: dst, Imm: imm}
}

func vMov64Reg(dst, src Register) Insn {
	return Insn{Code: ALUOpcode(ALU64Class, Mov, RegSource), Dst: dst, Src: src}
}

func vMov32Reg(dst, src Register) Insn {
	return Insn{Code: ALUOpcode(ALUClass, Mov, RegSource), Dst: dst, Src: src}
}

func vALU64Imm(op ALUOp, dst Register, imm int32) Insn {
	return Insn{Code: ALUOpcode(ALU64Class, op, ImmSource), Dst: dst, Imm: imm}
}

func vALU64Reg(op ALUOp, dst, src Register) Insn {
	return Insn{Code: ALUOpcode(ALU64Class, op, RegSource), Dst: dst, Src: src}
}

func vALU32Imm(op ALUOp, dst Register, imm int32) Insn {
	return Insn{Code: ALUOpcode(ALUClass, op, ImmSource), Dst: dst, Imm: imm}
}

func vALU32Reg(op ALUOp, dst, src Register) Insn {
	return Insn{Code: ALUOpcode(ALUClass, op, RegSource), Dst: dst, Src: src}
}

func vCast(dst, src Register, imm int32) Insn {
	return Insn{Code: ALUOpcode(ALU64Class, Mov, RegSource), Dst: dst, Src: src, Off: AddrSpaceCast, Imm: imm}
}

func vLdx(sz Size, dst, src Register, off int16) Insn {
	return Insn{Code: MemOpcode(LdXClass, MemMode, sz), Dst: dst, Src: src, Off: off}
}

func vLdxSX(sz Size, dst, src Register, off int16) Insn {
	return Insn{Code: MemOpcode(LdXClass, MemSXMode, sz), Dst: dst, Src: src, Off: off}
}

func vStx(sz Size, dst, src Register, off int16) Insn {
	return Insn{Code: MemOpcode(StXClass, MemMode, sz), Dst: dst, Src: src, Off: off}
}

func vSt(sz Size, dst Register, off int16, imm int32) Insn {
	return Insn{Code: MemOpcode(StClass, MemMode, sz), Dst: dst, Off: off, Imm: imm}
}

func vAtomic(sz Size, op int32, dst, src Register, off int16) Insn {
	return Insn{Code: MemOpcode(StXClass, AtomicMode, sz), Dst: dst, Src: src, Off: off, Imm: op}
}

func vJmpImm(op JumpOp, dst Register, imm int32, off int16) Insn {
	return Insn{Code: JumpOpcode(JumpClass, op, ImmSource), Dst: dst, Imm: imm, Off: off}
}

func vJmpReg(op JumpOp, dst, src Register, off int16) Insn {
	return Insn{Code: JumpOpcode(JumpClass, op, RegSource), Dst: dst, Src: src, Off: off}
}

func vJmp32Imm(op JumpOp, dst Register, imm int32, off int16) Insn {
	return Insn{Code: JumpOpcode(Jump32Class, op, ImmSource), Dst: dst, Imm: imm, Off: off}
}

func vJa(off int16) Insn { return Insn{Code: JumpOpcode(JumpClass, Ja, ImmSource), Off: off} }

func vMayGoto(off int16) Insn {
	return Insn{Code: JumpOpcode(JumpClass, JCond, ImmSource), Src: MayGoto, Off: off}
}

func vCall(id int32) Insn { return Insn{Code: JumpOpcode(JumpClass, Call, ImmSource), Imm: id} }

func vKfuncCall(id int32) Insn {
	return Insn{Code: JumpOpcode(JumpClass, Call, ImmSource), Src: CallKfunc, Imm: id}
}

func vCallLocal(off int32) Insn {
	return Insn{Code: JumpOpcode(JumpClass, Call, ImmSource), Src: CallLocal, Imm: off}
}

func vExit() Insn { return Insn{Code: JumpOpcode(JumpClass, Exit, ImmSource)} }

// vLdMapFD loads a map by fd (BPF_LD_MAP_FD), two slots.
func vLdMapFD(dst Register, fd int32) []Insn {
	p := LdImm64Insns(dst, PseudoMapFD, uint64(uint32(fd)))
	return p[:]
}

func vLdMapValue(dst Register, fd int32, off uint32) []Insn {
	return []Insn{{Code: LdImm64, Dst: dst, Src: PseudoMapValue, Imm: fd}, {Imm: int32(off)}}
}

func vLdImm64(dst Register, val uint64) []Insn {
	p := LdImm64Insns(dst, PseudoNone, val)
	return p[:]
}

// vProg flattens instructions and slices of instructions into a program.
func vProg(parts ...any) []Insn {
	var out []Insn
	for _, p := range parts {
		switch x := p.(type) {
		case Insn:
			out = append(out, x)
		case []Insn:
			out = append(out, x...)
		default:
			panic("vProg: bad part")
		}
	}
	return out
}

// vLabel marks a position in a vProgL program; vJmpL, vJaL and vMayGotoL
// jump to a label.
type vLabel string

type vJumpTo struct {
	ins   Insn
	label vLabel
}

func vJmpImmL(op JumpOp, dst Register, imm int32, l vLabel) vJumpTo {
	return vJumpTo{vJmpImm(op, dst, imm, 0), l}
}

func vJmpRegL(op JumpOp, dst, src Register, l vLabel) vJumpTo {
	return vJumpTo{vJmpReg(op, dst, src, 0), l}
}

func vJaL(l vLabel) vJumpTo { return vJumpTo{vJa(0), l} }

func vMayGotoL(l vLabel) vJumpTo { return vJumpTo{vMayGoto(0), l} }

func vCallL(l vLabel) vJumpTo { return vJumpTo{vCallLocal(0), l} }

// vProgL is vProg with labels and jumps to them.
func vProgL(parts ...any) []Insn {
	labels := map[vLabel]int{}
	var out []Insn
	type fix struct {
		at    int
		label vLabel
	}
	var fixes []fix
	for _, p := range parts {
		switch x := p.(type) {
		case vLabel:
			labels[x] = len(out)
		case vJumpTo:
			fixes = append(fixes, fix{len(out), x.label})
			out = append(out, x.ins)
		default:
			out = append(out, vProg(x)...)
		}
	}
	for _, f := range fixes {
		t, ok := labels[f.label]
		if !ok {
			panic("vProgL: no label " + string(f.label))
		}
		if isPseudoCall(out[f.at]) {
			out[f.at].Imm = int32(t - f.at - 1)
		} else {
			out[f.at].Off = int16(t - f.at - 1)
		}
	}
	return out
}

// vArenaAlloc calls bpf_arena_alloc_pages(&arena, NULL, pages, -1, 0).
func vArenaAlloc(fd int32, pages int32) []Insn {
	return vProg(vLdMapFD(R1, fd), vMov64Imm(R2, 0), vMov64Imm(R3, pages), vMov64Imm(R4, -1), vMov64Imm(R5, 0),
		vKfuncCall(vtKfAlloc))
}

// vArenaFree calls bpf_arena_free_pages(&arena, ptr, pages).
func vArenaFree(fd int32, ptr Register, pages int32) []Insn {
	return vProg(vLdMapFD(R1, fd), vMov64Reg(R2, ptr), vMov64Imm(R3, pages), vKfuncCall(vtKfFree))
}

package bpfjit

import "fmt"

// The kernel disassembler's string tables (kernel/bpf/disasm.c), indexed as
// the kernel indexes them. The kernel prints a missing entry through printk's
// "%s", which gives "(null)"; so do we.
var (
	kernelALUOps = [16]string{
		"+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=", "neg", "%=", "^=", "=", "s>>=", "endian", "(null)", "(null)",
	}
	kernelJumpOps = [16]string{
		"jmp", "==", ">", ">=", "&", "!=", "s>", "s>=", "call", "exit", "<", "<=", "s<", "s<=", "(null)", "(null)",
	}
	kernelAtomicOps = [16]string{
		0x0: "add", 0x4: "or", 0x5: "and", 0xa: "xor",
	}
)

func kernelLdSt(s Size) string { return fmt.Sprintf("u%d", sizeBits(s)) }

func kernelLdSX(s Size) string {
	if s == DWord {
		return "(null)"
	}
	return fmt.Sprintf("s%d", sizeBits(s))
}

// kernelReg returns 'w' for the 32-bit classes, 'r' otherwise.
func kernelReg(c Class) byte {
	if c == ALUClass || c == Jump32Class {
		return 'w'
	}
	return 'r'
}

// kernel prints ins as print_bpf_insn (kernel/bpf/disasm.c) does, without
// the trailing newline.
func (f *Formatter) kernel(ins Insn, next Insn) string {
	code := uint8(ins.Code)
	class := ins.Code.Class()
	op := uint8(ins.Code) & opMask
	switch class {
	case ALUClass, ALU64Class:
		return kernelALU(ins)
	case StXClass:
		return kernelStX(ins)
	case StClass:
		switch ins.Code.Mode() {
		case MemMode:
			return fmt.Sprintf("(%02x) *(%s *)(r%d %+d) = %d", code, kernelLdSt(ins.Code.Size()), ins.Dst, ins.Off, ins.Imm)
		case 0xc0: // BPF_NOSPEC, a kernel-internal speculation barrier
			return fmt.Sprintf("(%02x) nospec", code)
		}
		return fmt.Sprintf("BUG_st_%02x", code)
	case LdXClass:
		m := ins.Code.Mode()
		if m != MemMode && m != MemSXMode {
			return fmt.Sprintf("BUG_ldx_%02x", code)
		}
		t := kernelLdSt(ins.Code.Size())
		if m == MemSXMode {
			t = kernelLdSX(ins.Code.Size())
		}
		return fmt.Sprintf("(%02x) r%d = *(%s *)(r%d %+d)", code, ins.Dst, t, ins.Src, ins.Off)
	case LdClass:
		switch m := ins.Code.Mode(); {
		case m == AbsMode:
			return fmt.Sprintf("(%02x) r0 = *(%s *)skb[%d]", code, kernelLdSt(ins.Code.Size()), ins.Imm)
		case m == IndMode:
			return fmt.Sprintf("(%02x) r0 = *(%s *)skb[r%d + %d]", code, kernelLdSt(ins.Code.Size()), ins.Src, ins.Imm)
		case m == ImmMode && ins.Code.Size() == DWord:
			imm := ins.Imm64(next)
			if f.HidePointers && (ins.Src == PseudoMapFD || ins.Src == PseudoMapValue) {
				imm = 0
			}
			var s string
			if f.Imm64 != nil {
				s = f.Imm64(ins, imm)
			} else {
				s = fmt.Sprintf("%#x", imm)
			}
			return fmt.Sprintf("(%02x) r%d = %s", code, ins.Dst, s)
		}
		return fmt.Sprintf("BUG_ld_%02x", code)
	}
	// JMP and JMP32.
	reg := kernelReg(class)
	switch {
	case JumpOp(op) == Call:
		if ins.Src == CallLocal {
			return fmt.Sprintf("(%02x) call pc%s", code, f.kernelCallName(ins, ""))
		}
		return fmt.Sprintf("(%02x) call %s#%d", code, f.kernelCallName(ins, "unknown"), ins.Imm)
	case ins.Code == JumpOpcode(JumpClass, Ja, ImmSource):
		return fmt.Sprintf("(%02x) goto pc%+d", code, ins.Off)
	case ins.Code == JumpOpcode(JumpClass, JCond, ImmSource) && ins.Src == MayGoto:
		return fmt.Sprintf("(%02x) may_goto pc%+d", code, ins.Off)
	case ins.Code == JumpOpcode(Jump32Class, Ja, ImmSource):
		return fmt.Sprintf("(%02x) gotol pc%+d", code, ins.Imm)
	case ins.Code == JumpOpcode(JumpClass, Exit, ImmSource):
		return fmt.Sprintf("(%02x) exit", code)
	case ins.Code.Source() == RegSource:
		return fmt.Sprintf("(%02x) if %c%d %s %c%d goto pc%+d", code, reg, ins.Dst, kernelJumpOps[op>>4], reg, ins.Src, ins.Off)
	}
	return fmt.Sprintf("(%02x) if %c%d %s %#x goto pc%+d", code, reg, ins.Dst, kernelJumpOps[op>>4], uint32(ins.Imm), ins.Off)
}

// kernelCallName models __func_get_name: the helper's name for a helper id,
// else the CallName hook, else "%+d" for a local call and "kernel-function"
// for a kfunc, else fallback.
func (f *Formatter) kernelCallName(ins Insn, fallback string) string {
	if ins.Src == CallHelper {
		if n := HelperName(ins.Imm); n != "" {
			return n
		}
	}
	if f.CallName != nil {
		if n := f.CallName(ins); n != "" {
			return n
		}
	}
	switch ins.Src {
	case CallLocal:
		return fmt.Sprintf("%+d", ins.Imm)
	case CallKfunc:
		return "kernel-function"
	}
	return fallback
}

func kernelALU(ins Insn) string {
	code := uint8(ins.Code)
	class := ins.Code.Class()
	op := ins.Code.ALUOp()
	reg := kernelReg(class)
	switch {
	case op == End:
		if class == ALU64Class {
			return fmt.Sprintf("(%02x) r%d = bswap%d r%d", code, ins.Dst, ins.Imm, ins.Dst)
		}
		e := "le"
		if ins.Code.Source() == RegSource {
			e = "be"
		}
		return fmt.Sprintf("(%02x) r%d = %s%d r%d", code, ins.Dst, e, ins.Imm, ins.Dst)
	case op == Neg:
		return fmt.Sprintf("(%02x) %c%d = -%c%d", code, reg, ins.Dst, reg, ins.Dst)
	case ins.Code == ALUOpcode(ALU64Class, Mov, RegSource) && ins.Off == AddrSpaceCast:
		return fmt.Sprintf("(%02x) r%d = addr_space_cast(r%d, %d, %d)", code, ins.Dst, ins.Src, uint32(ins.Imm)>>16, uint16(ins.Imm))
	case ins.Code == ALUOpcode(ALU64Class, Mov, RegSource) && ins.Off == -1:
		// BPF_ADDR_PERCPU: the verifier's per-CPU address move.
		return fmt.Sprintf("(%02x) r%d = &(void __percpu *)(r%d)", code, ins.Dst, ins.Src)
	}
	sym := kernelALUOps[uint8(op)>>4]
	if (op == Div || op == Mod) && ins.Off == 1 {
		sym = "s" + sym
	}
	if ins.Code.Source() == RegSource {
		sx := ""
		if op == Mov {
			switch ins.Off {
			case 8:
				sx = "(s8)"
			case 16:
				sx = "(s16)"
			case 32:
				sx = "(s32)"
			}
		}
		return fmt.Sprintf("(%02x) %c%d %s %s%c%d", code, reg, ins.Dst, sym, sx, reg, ins.Src)
	}
	return fmt.Sprintf("(%02x) %c%d %s %d", code, reg, ins.Dst, sym, ins.Imm)
}

func kernelStX(ins Insn) string {
	code := uint8(ins.Code)
	size := ins.Code.Size()
	t := kernelLdSt(size)
	switch ins.Code.Mode() {
	case MemMode:
		return fmt.Sprintf("(%02x) *(%s *)(r%d %+d) = r%d", code, t, ins.Dst, ins.Off, ins.Src)
	case AtomicMode:
	default:
		return fmt.Sprintf("BUG_%02x", code)
	}
	w := ""
	if size == DWord {
		w = "64"
	}
	switch ins.Imm {
	case AtomicAdd, AtomicAnd, AtomicOr, AtomicXor:
		return fmt.Sprintf("(%02x) lock *(%s *)(r%d %+d) %s r%d", code, t, ins.Dst, ins.Off, kernelALUOps[ins.Imm>>4], ins.Src)
	case AtomicAdd | AtomicFetch, AtomicAnd | AtomicFetch, AtomicOr | AtomicFetch, AtomicXor | AtomicFetch:
		return fmt.Sprintf("(%02x) r%d = atomic%s_fetch_%s((%s *)(r%d %+d), r%d)", code, ins.Src, w, kernelAtomicOps[(ins.Imm&0xf0)>>4], t, ins.Dst, ins.Off, ins.Src)
	case AtomicCmpXchg:
		return fmt.Sprintf("(%02x) r0 = atomic%s_cmpxchg((%s *)(r%d %+d), r0, r%d)", code, w, t, ins.Dst, ins.Off, ins.Src)
	case AtomicXchg:
		return fmt.Sprintf("(%02x) r%d = atomic%s_xchg((%s *)(r%d %+d), r%d)", code, ins.Src, w, t, ins.Dst, ins.Off, ins.Src)
	case AtomicLoadAcq:
		return fmt.Sprintf("(%02x) r%d = load_acquire((%s *)(r%d %+d))", code, ins.Dst, t, ins.Src, ins.Off)
	case AtomicStoreRel:
		return fmt.Sprintf("(%02x) store_release((%s *)(r%d %+d), r%d)", code, t, ins.Dst, ins.Off, ins.Src)
	}
	return fmt.Sprintf("BUG_%02x", code)
}

package bpfjit

import "github.com/arenasim/arenasim/internal/errno"

// Limits of the JIT's passes (arch/x86/net/bpf_jit_comp.c).
const (
	// X86MaxPasses is MAX_PASSES: sizing passes before the JIT gives up.
	X86MaxPasses = 20
	// X86PaddingPasses is PADDING_PASSES: from this pass on a jump that
	// could shrink is padded with NOPs instead, so the image must converge.
	X86PaddingPasses = X86MaxPasses - 5
	// x86MaxInsnSize is BPF_MAX_INSN_SIZE, the most bytes one BPF insn may take.
	x86MaxInsnSize = 128
	// x86PatchSize is X86_PATCH_SIZE: the NOP the trampoline can patch into a call.
	x86PatchSize = 5
)

// x86JIT is the state of one function's compilation: the kernel's addrs[]
// and jit_context, and the image once it is allocated.
type x86JIT struct {
	o     *X86Options
	fn    *x86Fn
	addrs []int // addrs[k] = offset of the end of insn k-1; addrs[0] = prologue length
	// cleanup is jit_context.cleanup_addr: where the epilogue starts,
	// the target of every exit after the first.
	cleanup int
	image   uint64 // the image's address; 0 while sizing (the kernel's image == NULL)
	code    []byte // the image being written in the final pass
	ex      []X86ExEntry
	callee  []uint64 // image address of every function, once all are placed
	tmp     x86Buf
	used    [4]bool // callee-saved r6-r9 in use (detect_reg_usage)
	seenEx  bool
}

func (j *x86JIT) arena() bool { return j.o.KernVMStart != 0 }

// detectRegUsage models detect_reg_usage: which of rbx, r13, r14, r15 the
// prologue must save, by a plain scan of the register fields.
func (j *x86JIT) detectRegUsage() {
	j.used = [4]bool{}
	for _, x := range j.fn.insns {
		for k, r := range [4]Register{R6, R7, R8, R9} {
			if x.ins.Dst == r || x.ins.Src == r {
				j.used[k] = true
			}
		}
	}
}

// prologue models emit_prologue followed by the register saves and the
// arena base load of do_jit, for the plain configuration (no CFI, not a
// classic BPF program, no tail calls, no exception callback).
func (j *x86JIT) prologue(e *x86Buf) {
	e.nops(x86PatchSize) // the trampoline's attach point
	e.nops(3)            // where "xor eax, eax" would start a tail-call counter
	e.emit1(0x55)        // push rbp
	e.emit3(0x48, 0x89, 0xE5)
	if d := j.fn.stackDepth; d != 0 {
		e.emit3(0x48, 0x81, 0xEC) // sub rsp, round_up(depth, 8)
		e.emit32(int32((d + 7) &^ 7))
	}
	if j.arena() {
		e.emit2(0x41, 0x54) // push r12
	}
	if j.used[0] {
		e.emit1(0x53) // push rbx
	}
	if j.used[1] {
		e.emit2(0x41, 0x55)
	}
	if j.used[2] {
		e.emit2(0x41, 0x56)
	}
	if j.used[3] {
		e.emit2(0x41, 0x57)
	}
	if j.arena() {
		e.movImm64(x86RegR12, j.o.KernVMStart)
	}
}

// epilogue restores what the prologue saved, then leave; ret.
func (j *x86JIT) epilogue(e *x86Buf) {
	if j.used[3] {
		e.emit2(0x41, 0x5F)
	}
	if j.used[2] {
		e.emit2(0x41, 0x5E)
	}
	if j.used[1] {
		e.emit2(0x41, 0x5D)
	}
	if j.used[0] {
		e.emit1(0x5B)
	}
	if j.arena() {
		e.emit2(0x41, 0x5C) // pop r12
	}
	e.emit1(0xC9) // leave
	e.emit1(0xC3) // ret: no return thunk, no SLS int3 in the plain configuration
}

// pass models one call of do_jit: it lays out every instruction using the
// previous pass's addrs for forward jumps, and in the final pass (image set)
// writes the code and the exception table, checking nothing moved.
func (j *x86JIT) pass(padding bool, oldLen int) (int, error) {
	j.detectRegUsage()
	j.seenEx = false
	j.ex = j.ex[:0]
	e := &j.tmp
	e.reset()
	j.prologue(e)
	proglen := e.len()
	if j.image != 0 {
		copy(j.code, e.b)
	}
	j.addrs[0] = proglen
	seenExit := false
	n := len(j.fn.insns)
	for k := 0; k < n; k++ {
		e.reset()
		width, err := j.insn(k, proglen, padding, &seenExit)
		if err != nil {
			return 0, err
		}
		ilen := e.len()
		if ilen > x86MaxInsnSize {
			return 0, j.errf(errno.EFAULT, k, "fatal insn size error")
		}
		end := k + width
		if j.image != 0 {
			if proglen+ilen > oldLen || proglen+ilen != j.addrs[end] {
				return 0, j.errf(errno.EFAULT, k, "fatal error: image changed in the final pass")
			}
			copy(j.code[proglen:], e.b)
		}
		proglen += ilen
		j.addrs[end] = proglen
		k = end - 1
	}
	if j.image != 0 && len(j.ex) != j.fn.exEntries {
		return 0, errno.Errorf(errno.EFAULT, "extable is not populated")
	}
	return proglen, nil
}

func (j *x86JIT) errf(e errno.Errno, k int, msg string) error {
	x := j.fn.insns[k]
	return errno.Errorf(e, "insn %d (%v): bpf_jit: %s", x.slot, x.ins, msg)
}

// insn emits the code of instruction k into j.tmp and returns how many
// slots it used. proglen is where the code will start.
func (j *x86JIT) insn(k, proglen int, padding bool, seenExit *bool) (int, error) {
	x := &j.fn.insns[k]
	ins := x.ins
	e := &j.tmp
	dst, src := ins.Dst, ins.Src
	c := ins.Code
	cls := c.Class()
	is64 := cls == ALU64Class
	imm := ins.Imm

	switch cls {
	case ALUClass, ALU64Class:
		op := c.ALUOp()
		switch {
		case c.Source() == RegSource && (op == Add || op == Sub || op == And || op == Or || op == Xor):
			e.maybeMod(dst, src, is64)
			e.emit2(x86SimpleALU(op), x86Add2Reg(0xC0, dst, src))

		case c == ALUOpcode(ALU64Class, Mov, RegSource) && ins.IsCastUser():
			j.castUser(dst, src)

		case op == Mov && c.Source() == RegSource:
			if ins.Off == 0 {
				e.movReg(is64, dst, src)
			} else {
				e.movsxReg(ins.Off, is64, dst, src)
			}

		case op == Neg && c.Source() == ImmSource:
			e.maybe1Mod(dst, is64)
			e.emit2(0xF7, x86Add1Reg(0xD8, dst))

		case c.Source() == ImmSource && (op == Add || op == Sub || op == And || op == Or || op == Xor):
			e.maybe1Mod(dst, is64)
			var b2, b3 byte // b3: ModRM /digit of "op r/m, imm"; b2: the short form for rax
			switch op {
			case Add:
				b3, b2 = 0xC0, 0x05
			case Sub:
				b3, b2 = 0xE8, 0x2D
			case And:
				b3, b2 = 0xE0, 0x25
			case Or:
				b3, b2 = 0xC8, 0x0D
			case Xor:
				b3, b2 = 0xF0, 0x35
			}
			switch {
			case x86IsImm8(int64(imm)):
				e.emit3(0x83, x86Add1Reg(b3, dst), byte(imm))
			case dst == R0:
				e.emit1(b2)
				e.emit32(imm)
			default:
				e.emit2(0x81, x86Add1Reg(b3, dst))
				e.emit32(imm)
			}

		case op == Mov && c.Source() == ImmSource:
			e.movImm32(is64, dst, uint32(imm))

		case op == Div || op == Mod:
			j.divMod(ins, is64)

		case op == Mul && c.Source() == ImmSource:
			e.maybeMod(dst, dst, is64)
			if x86IsImm8(int64(imm)) {
				e.emit3(0x6B, x86Add2Reg(0xC0, dst, dst), byte(imm))
			} else {
				e.emit2(0x69, x86Add2Reg(0xC0, dst, dst))
				e.emit32(imm)
			}

		case op == Mul:
			e.maybeMod(src, dst, is64)
			e.emit3(0x0F, 0xAF, x86Add2Reg(0xC0, src, dst))

		case (op == LSh || op == RSh || op == ArSh) && c.Source() == ImmSource:
			e.maybe1Mod(dst, is64)
			b3 := x86SimpleALU(op)
			if imm == 1 {
				e.emit2(0xD1, x86Add1Reg(b3, dst))
			} else {
				e.emit3(0xC1, x86Add1Reg(b3, dst), byte(imm))
			}

		case op == LSh || op == RSh || op == ArSh:
			j.shiftX(op, dst, src, is64)

		case c == ALUOpcode(ALUClass, End, RegSource) || c == ALUOpcode(ALU64Class, End, ImmSource):
			j.swap(dst, imm)

		case c == ALUOpcode(ALUClass, End, ImmSource):
			switch imm {
			case 16: // movzwl: zero-extend the low 16 bits
				if x86IsEReg(dst) {
					e.emit3(0x45, 0x0F, 0xB7)
				} else {
					e.emit2(0x0F, 0xB7)
				}
				e.emit1(x86Add2Reg(0xC0, dst, dst))
			case 32: // mov eax, eax clears the upper half
				if x86IsEReg(dst) {
					e.emit1(0x45)
				}
				e.emit2(0x89, x86Add2Reg(0xC0, dst, dst))
			}

		default:
			return 0, j.unknown(k)
		}

	case LdClass:
		if !ins.IsLdImm64() {
			return 0, j.unknown(k)
		}
		v := ins.Imm64(j.fn.insns[k+1].ins)
		if ins.Src == PseudoFunc {
			v = X86ModulesVAddr // jit_subprogs' stand-in until the callee is placed
			if j.callee != nil {
				v = j.callee[x.callee]
			}
		}
		e.movImm64(dst, v)
		return 2, nil

	case StClass:
		m := c.Mode()
		switch {
		case c == Opcode(uint8(StClass)|0xc0): // BPF_ST | BPF_NOSPEC
			e.emit3(0x0F, 0xAE, 0xE8) // lfence
		case m == MemMode:
			j.storeImm(c.Size(), dst, ins.Off, imm)
		case m == ProbeMem32Mode:
			start := e.len()
			e.stIndex(c.Size(), dst, x86RegR12, int32(ins.Off), imm)
			j.extable(k, proglen, start, ExDontClear)
		default:
			return 0, j.unknown(k)
		}

	case StXClass:
		m := c.Mode()
		switch m {
		case MemMode:
			e.stx(c.Size(), dst, src, int32(ins.Off))
		case ProbeMem32Mode:
			start := e.len()
			e.stxIndex(c.Size(), dst, src, x86RegR12, int32(ins.Off))
			j.extable(k, proglen, start, ExDontClear)
		case AtomicMode:
			if err := j.atomic(k, ins); err != nil {
				return 0, err
			}
		case ProbeAtomicMode:
			size := c.Size()
			loadStore := imm == AtomicLoadAcq || imm == AtomicStoreRel
			if (size == Byte || size == Half) && !loadStore {
				return 0, j.errf(errno.EFAULT, k, "1- and 2-byte RMW atomics are not supported")
			}
			start := e.len()
			switch imm {
			case AtomicLoadAcq:
				e.ldxIndex(size, dst, src, x86RegR12, int32(ins.Off))
			case AtomicStoreRel:
				e.stxIndex(size, dst, src, x86RegR12, int32(ins.Off))
			default:
				if !e.atomicRMWIndex(imm, size, dst, src, x86RegR12, ins.Off) {
					return 0, j.errf(errno.EFAULT, k, "unknown atomic opcode")
				}
			}
			// The class is STX, so even a load-acquire clears nothing.
			j.extable(k, proglen, start, ExDontClear)
		default:
			return 0, j.unknown(k)
		}

	case LdXClass:
		m := c.Mode()
		size := c.Size()
		switch {
		case m == ProbeMem32Mode:
			start := e.len()
			e.ldxIndex(size, dst, src, x86RegR12, int32(ins.Off))
			j.extable(k, proglen, start, PtRegsOffset(x86RegMap[dst]))
		case m == MemMode || m == ProbeMemMode || ((m == MemSXMode || m == ProbeMemSXMode) && size != DWord):
			if err := j.load(k, proglen, ins); err != nil {
				return 0, err
			}
		default:
			return 0, j.unknown(k)
		}

	case JumpClass, Jump32Class:
		return 1, j.jump(k, proglen, padding, seenExit)

	default:
		return 0, j.unknown(k)
	}
	return 1, nil
}

func (j *x86JIT) unknown(k int) error {
	x := j.fn.insns[k]
	return errno.Errorf(errno.EINVAL, "insn %d (%v): bpf_jit: unknown opcode %02x", x.slot, x.ins, uint8(x.ins.Code))
}

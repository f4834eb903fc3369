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

// castUser emits addr_space_cast(src, 1, 0) (do_jit's insn_is_cast_user
// case): dst = lo32(src) == 0 ? 0 : hi32(user_vm_start) << 32 | lo32(src),
// without a branch, using r11 as the zero for cmove.
func (j *x86JIT) castUser(dst, src Register) {
	e := &j.tmp
	if dst != src {
		e.movReg(false, dst, src)
	}
	e.maybe1Mod(dst, true)
	e.emit3(0xC1, x86Add1Reg(0xE0, dst), 32) // shl dst, 32
	e.maybe1Mod(dst, true)
	hi := int32(uint32(j.o.UserVMStart >> 32))
	if dst == R0 {
		e.emit1(0x0D) // or rax, imm32
	} else {
		e.emit2(0x81, x86Add1Reg(0xC8, dst))
	}
	e.emit32(hi)
	e.maybe1Mod(dst, true)
	e.emit3(0xC1, x86Add1Reg(0xC0, dst), 32) // rol dst, 32
	e.emit3(0x4D, 0x31, 0xDB)                // xor r11, r11
	e.maybeMod(dst, dst, false)
	e.emit2(0x85, x86Add2Reg(0xC0, dst, dst)) // test dst32, dst32
	e.maybeMod(x86RegAux, dst, true)
	e.emit3(0x0F, 0x44, x86Add2Reg(0xC0, x86RegAux, dst)) // cmove dst, r11
}

// divMod emits the div/idiv sequence: x86 divides rdx:rax, so rax and rdx
// are saved around it unless they are the destination, and a divisor in
// rax or rdx (or an immediate) goes through r11.
func (j *x86JIT) divMod(ins Insn, is64 bool) {
	e := &j.tmp
	dst, src := ins.Dst, ins.Src
	if dst != R0 {
		e.emit1(0x50) // push rax
	}
	if dst != R3 {
		e.emit1(0x52) // push rdx
	}
	if ins.Code.Source() == RegSource {
		if src == R0 || src == R3 {
			e.mov(x86RegAux, src)
			src = x86RegAux
		}
	} else {
		e.emit3(0x49, 0xC7, 0xC3) // mov r11, imm32
		e.emit32(ins.Imm)
		src = x86RegAux
	}
	if dst != R0 {
		e.movReg(is64, R0, dst)
	}
	if ins.Off == 0 {
		e.emit2(0x31, 0xd2) // xor edx, edx
		e.maybe1Mod(src, is64)
		e.emit2(0xF7, x86Add1Reg(0xF0, src)) // div src
	} else {
		if is64 {
			e.emit2(0x48, 0x99) // cqo
		} else {
			e.emit1(0x99) // cdq
		}
		e.maybe1Mod(src, is64)
		e.emit2(0xF7, x86Add1Reg(0xF8, src)) // idiv src
	}
	if ins.Code.ALUOp() == Mod && dst != R3 {
		e.movReg(is64, dst, R3)
	} else if ins.Code.ALUOp() == Div && dst != R0 {
		e.movReg(is64, dst, R0)
	}
	if dst != R3 {
		e.emit1(0x5A) // pop rdx
	}
	if dst != R0 {
		e.emit1(0x58) // pop rax
	}
}

// shiftX emits a shift by a register: BMI2's shlx/shrx/sarx when the CPU has
// it, otherwise the count moves into cl, saving rcx around the shift.
func (j *x86JIT) shiftX(op ALUOp, dst, src Register, is64 bool) {
	e := &j.tmp
	if j.o.BMI2 && src != R4 {
		pp := byte(1) // 66: shlx
		switch op {
		case RSh:
			pp = 3 // F2: shrx
		case ArSh:
			pp = 2 // F3: sarx
		}
		e.shiftX(dst, src, is64, pp)
		return
	}
	origDst := dst
	if src != R4 {
		if dst == R4 {
			e.mov(x86RegAux, dst) // the value to shift is in rcx: move it away
			dst = x86RegAux
		} else {
			e.emit1(0x51) // push rcx
		}
		e.mov(R4, src)
	}
	e.maybe1Mod(dst, is64)
	e.emit2(0xD3, x86Add1Reg(x86SimpleALU(op), dst))
	if src != R4 {
		if origDst == R4 {
			e.mov(R4, x86RegAux)
		} else {
			e.emit1(0x59) // pop rcx
		}
	}
}

// swap emits be16/be32/be64 and bswap16/32/64: ror ax, 8 plus a
// zero-extension, or bswap.
func (j *x86JIT) swap(dst Register, width int32) {
	e := &j.tmp
	switch width {
	case 16:
		e.emit1(0x66)
		if x86IsEReg(dst) {
			e.emit1(0x41)
		}
		e.emit3(0xC1, x86Add1Reg(0xC8, dst), 8) // ror dst16, 8
		if x86IsEReg(dst) {
			e.emit3(0x45, 0x0F, 0xB7)
		} else {
			e.emit2(0x0F, 0xB7)
		}
		e.emit1(x86Add2Reg(0xC0, dst, dst)) // movzwl
	case 32:
		if x86IsEReg(dst) {
			e.emit2(0x41, 0x0F)
		} else {
			e.emit1(0x0F)
		}
		e.emit1(x86Add1Reg(0xC8, dst)) // bswap dst32
	case 64:
		e.emit3(x86Add1Mod(0x48, dst), 0x0F, x86Add1Reg(0xC8, dst))
	}
}

// storeImm emits ST | MEM: mov size ptr [dst + off], imm.
func (j *x86JIT) storeImm(size Size, dst Register, off int16, imm int32) {
	e := &j.tmp
	switch size {
	case Byte:
		if x86IsEReg(dst) {
			e.emit2(0x41, 0xC6)
		} else {
			e.emit1(0xC6)
		}
	case Half:
		if x86IsEReg(dst) {
			e.emit3(0x66, 0x41, 0xC7)
		} else {
			e.emit2(0x66, 0xC7)
		}
	case Word:
		if x86IsEReg(dst) {
			e.emit2(0x41, 0xC7)
		} else {
			e.emit1(0xC7)
		}
	case DWord:
		e.emit2(x86Add1Mod(0x48, dst), 0xC7)
	}
	if x86IsImm8(int64(off)) {
		e.emit2(x86Add1Reg(0x40, dst), byte(off))
	} else {
		e.emit1(x86Add1Reg(0x80, dst))
		e.emit32(int32(off))
	}
	e.emitImm(uint32(imm), x86ImmBytes(size))
}

// load emits LDX | MEM and MEMSX, and the PROBE_MEM forms, which first
// check that src + off is a kernel address above the user half and below
// the vsyscall page, load 0 otherwise, and fix up a fault like an arena load.
func (j *x86JIT) load(k, proglen int, ins Insn) error {
	e := &j.tmp
	dst, src := ins.Dst, ins.Src
	m := ins.Code.Mode()
	probe := m == ProbeMemMode || m == ProbeMemSXMode
	start := 0
	if probe {
		// The kernel's limit wraps around 2^64, as u64 arithmetic does.
		limit := x86TaskSizeMax + x86PageSize
		limit -= x86VsyscallAddr
		e.movImm64(x86RegAX, x86VsyscallAddr)
		e.mov(x86RegAux, src)
		if ins.Off != 0 {
			e.maybe1Mod(x86RegAux, true)
			e.emit2(0x81, x86Add1Reg(0xC0, x86RegAux)) // add r11, off
			e.emit32(int32(ins.Off))
		}
		e.maybeMod(x86RegAux, x86RegAX, true)
		e.emit2(0x29, x86Add2Reg(0xC0, x86RegAux, x86RegAX)) // sub r11, r10
		e.movImm64(x86RegAX, limit)
		e.maybeMod(x86RegAux, x86RegAX, true)
		e.emit2(0x39, x86Add2Reg(0xC0, x86RegAux, x86RegAX)) // cmp r11, r10
		e.emit2(x86JA, 0)
		endOfJmp := e.len()
		e.movImm32(false, dst, 0)
		e.emit2(0xEB, 0) // jmp past the load
		start = e.len()
		e.b[endOfJmp-1] = byte(start - endOfJmp)
	}
	if m == MemSXMode || m == ProbeMemSXMode {
		e.ldsx(ins.Code.Size(), dst, src, int32(ins.Off))
	} else {
		e.ldx(ins.Code.Size(), dst, src, int32(ins.Off))
	}
	if probe {
		e.b[start-1] = byte(e.len() - start)
		if dst > R9 {
			return j.errf(errno.EFAULT, k, "verifier error")
		}
		j.extable(k, proglen, start, PtRegsOffset(x86RegMap[dst]))
	}
	return nil
}

// atomic emits STX | ATOMIC outside the arena.
func (j *x86JIT) atomic(k int, ins Insn) error {
	e := &j.tmp
	size := ins.Code.Size()
	op := ins.Imm
	dst, src := ins.Dst, ins.Src
	loadStore := op == AtomicLoadAcq || op == AtomicStoreRel
	if (size == Byte || size == Half) && !loadStore {
		return j.errf(errno.EFAULT, k, "1- and 2-byte RMW atomics are not supported")
	}
	switch op {
	case AtomicAnd | AtomicFetch, AtomicOr | AtomicFetch, AtomicXor | AtomicFetch:
		// No single x86 instruction: load, compute in r11, cmpxchg, retry.
		is64 := size == DWord
		realSrc, realDst := src, dst
		e.movReg(true, x86RegAX, R0) // cmpxchg needs rax: save r0 in r10
		if src == R0 {
			realSrc = x86RegAX
		}
		if dst == R0 {
			realDst = x86RegAX
		}
		loop := e.len()
		e.ldx(size, R0, realDst, int32(ins.Off))
		e.movReg(is64, x86RegAux, R0)
		e.maybeMod(x86RegAux, realSrc, is64)
		e.emit2(x86SimpleALU(ALUOp(op&^AtomicFetch)), x86Add2Reg(0xC0, x86RegAux, realSrc))
		e.atomicRMW(AtomicCmpXchg, realDst, x86RegAux, ins.Off, size)
		e.emit2(x86JNE, byte(-(e.len()-loop)-2))
		e.movReg(is64, realSrc, R0) // the old value
		e.movReg(true, R0, x86RegAX)
		return nil
	case AtomicLoadAcq:
		// x86 loads are already acquires and stores releases (TSO).
		e.ldx(size, dst, src, int32(ins.Off))
		return nil
	case AtomicStoreRel:
		e.stx(size, dst, src, int32(ins.Off))
		return nil
	}
	if !e.atomicRMW(op, dst, src, ins.Off, size) {
		return j.errf(errno.EFAULT, k, "unknown atomic opcode")
	}
	return nil
}

// extable records the exception-table entry of the access that starts at
// byte start of the current insn and ends at its current end. reg is the
// pt_regs offset to clear, or ExDontClear. Entries only exist once the
// image does (the kernel's aux->extable is NULL while sizing).
func (j *x86JIT) extable(k, proglen, start, reg int) {
	if j.image == 0 {
		return
	}
	off := proglen + start
	at := j.image + uint64(off)
	slot := x86ExtableAddr(j.image, len(j.code)) + uint64(len(j.ex))*X86ExEntrySize
	j.ex = append(j.ex, X86ExEntry{
		Slot:   j.fn.insns[k].slot,
		Offset: off,
		Addr:   at,
		Insn:   int32(at - slot),
		Fixup:  int32(j.tmp.len()-start) | int32(reg)<<8,
		Data:   ExTypeBPF,
	})
}

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

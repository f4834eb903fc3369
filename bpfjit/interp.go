package bpfjit

import "github.com/arenasim/arenasim/internal/trace"

// Interpreter runs a program one instruction at a time, decoding each slot as
// it goes, like ___bpf_prog_run in kernel/bpf/core.c (which it models).
// Unlike the kernel's interpreter it also runs arena programs (PROBE_MEM32,
// PROBE_ATOMIC, cast_user), which the kernel leaves to the JIT, and it runs
// unverified programs safely: an instruction it cannot run stops the run
// with an *Error when reached, and every access is checked.
//
// Simplifications, each because the verifier's guarantees are not assumed
// or the kernel object does not exist here: local calls get a fresh zeroed
// 512-byte frame each (the kernel sizes frames by stack depth); the callee
// starts with the caller's registers, as under the JIT; may_goto counts from
// BPF_MAX_LOOPS per frame (no timed variant); callx calls the helper whose
// id is in the register, the bpf_conformance convention; and a run has an
// instruction budget (Config.Budget).
//
// An Interpreter is reusable but not safe for concurrent use: it owns one
// register file, stack and fault record.
type Interpreter struct {
	m machine
}

// NewInterpreter prepares prog to run with cfg. It never fails: an invalid
// instruction is reported when (and if) a run reaches it.
func NewInterpreter(prog []Insn, cfg Config) *Interpreter {
	it := &Interpreter{}
	it.m.init(prog, cfg)
	return it
}

// Run executes the program from slot 0 with r1-r5 = args and returns r0, or
// an *Error saying why it stopped.
func (it *Interpreter) Run(args ...uint64) (Result, error) {
	m := &it.m
	if err := m.reset(args); err != nil {
		return Result{}, err
	}
	var e *Error
	if m.budget, e = m.enterRun(0, m.budget); e != nil {
		return Result{}, e
	}
	if e := m.interpret(0); e != nil {
		return Result{}, e
	}
	return m.result(), nil
}

// invalid builds the InvalidInsn error for slot pc.
func invalid(orig []Insn, pc int) *Error {
	return newError(InvalidInsn, pc, insnAt(orig, pc), checkInsn(orig, pc))
}

// insnAt returns prog[pc], or the zero Insn past the end.
func insnAt(prog []Insn, pc int) Insn {
	if pc >= 0 && pc < len(prog) {
		return prog[pc]
	}
	return Insn{}
}

// slowStep runs m.step for the interpreter's loop and pays for the run a
// control transfer enters. The budget goes through the call so that it is
// not live across it, which would cost the loop a spill per instruction.
//
//go:noinline
func (m *machine) slowStep(pc int, budget int64) (int, int64, *Error) {
	ends := endsRun(m.code[pc])
	next, e := m.step(pc)
	if e != nil || next < 0 || !ends {
		return next, budget, e
	}
	budget, e = m.enterRun(next, budget)
	return next, budget, e
}

// interpret runs from pc until the final exit (nil) or a stop (*Error),
// over m.words, with m.budget instructions left. The caller has paid for
// the run at pc (enterRun).
//
// The budget is paid per straight-line run, when a jump, call or return
// enters it, so the loop does no counting per instruction. The loop handles
// the frequent instructions itself, with no calls on their fast paths so
// that the Go compiler keeps pc and the budget in machine registers, and
// each case ends in its own continue (one taken branch per instruction);
// everything else (calls, exit, atomics, arena accesses, accesses outside
// the stack and the cached memory region, invalid slots) goes through step.
func (m *machine) interpret(pc int) *Error {
	if m.stepOnly || m.tracer.On(trace.Insn) {
		return m.interpretTraced(pc)
	}
	r := &m.regs
	words, charges := m.words, m.charges
	budget := m.budget
	for {
		w := words[pc] // imm<<32 | off<<16 | src<<12 | dst<<8 | opcode
		switch uint8(w) {
		// ALU64, immediate source.
		case 0x07:
			r[wDst(w)] += wImm(w)
			pc++
			continue
		case 0x17:
			r[wDst(w)] -= wImm(w)
			pc++
			continue
		case 0x27:
			r[wDst(w)] *= wImm(w)
			pc++
			continue
		case 0x37:
			if wOff(w) == 0 {
				r[wDst(w)] = div64(r[wDst(w)], wImm(w))
			} else {
				r[wDst(w)] = sdiv64(r[wDst(w)], wImm(w))
			}
			pc++
			continue
		case 0x47:
			r[wDst(w)] |= wImm(w)
			pc++
			continue
		case 0x57:
			r[wDst(w)] &= wImm(w)
			pc++
			continue
		case 0x67:
			r[wDst(w)] <<= wImm(w) & 63
			pc++
			continue
		case 0x77:
			r[wDst(w)] >>= wImm(w) & 63
			pc++
			continue
		case 0x87:
			r[wDst(w)] = -r[wDst(w)]
			pc++
			continue
		case 0x97:
			if wOff(w) == 0 {
				r[wDst(w)] = mod64(r[wDst(w)], wImm(w))
			} else {
				r[wDst(w)] = smod64(r[wDst(w)], wImm(w))
			}
			pc++
			continue
		case 0xa7:
			r[wDst(w)] ^= wImm(w)
			pc++
			continue
		case 0xb7:
			r[wDst(w)] = wImm(w)
			pc++
			continue
		case 0xc7:
			r[wDst(w)] = uint64(int64(r[wDst(w)]) >> (wImm(w) & 63))
			pc++
			continue

		// ALU64, register source.
		case 0x0f:
			r[wDst(w)] += r[wSrc(w)]
			pc++
			continue
		case 0x1f:
			r[wDst(w)] -= r[wSrc(w)]
			pc++
			continue
		case 0x2f:
			r[wDst(w)] *= r[wSrc(w)]
			pc++
			continue
		case 0x3f:
			if wOff(w) == 0 {
				r[wDst(w)] = div64(r[wDst(w)], r[wSrc(w)])
			} else {
				r[wDst(w)] = sdiv64(r[wDst(w)], r[wSrc(w)])
			}
			pc++
			continue
		case 0x4f:
			r[wDst(w)] |= r[wSrc(w)]
			pc++
			continue
		case 0x5f:
			r[wDst(w)] &= r[wSrc(w)]
			pc++
			continue
		case 0x6f:
			r[wDst(w)] <<= r[wSrc(w)] & 63
			pc++
			continue
		case 0x7f:
			r[wDst(w)] >>= r[wSrc(w)] & 63
			pc++
			continue
		case 0x9f:
			if wOff(w) == 0 {
				r[wDst(w)] = mod64(r[wDst(w)], r[wSrc(w)])
			} else {
				r[wDst(w)] = smod64(r[wDst(w)], r[wSrc(w)])
			}
			pc++
			continue
		case 0xaf:
			r[wDst(w)] ^= r[wSrc(w)]
			pc++
			continue
		case 0xbf:
			if wOff(w) != 0 { // movsx, addr_space_cast
				goto slow
			}
			r[wDst(w)] = r[wSrc(w)]
			pc++
			continue
		case 0xcf:
			r[wDst(w)] = uint64(int64(r[wDst(w)]) >> (r[wSrc(w)] & 63))
			pc++
			continue

		// ALU (32-bit), immediate source: results are zero-extended.
		case 0x04:
			r[wDst(w)] = uint64(uint32(r[wDst(w)]) + wImm32(w))
			pc++
			continue
		case 0x14:
			r[wDst(w)] = uint64(uint32(r[wDst(w)]) - wImm32(w))
			pc++
			continue
		case 0x24:
			r[wDst(w)] = uint64(uint32(r[wDst(w)]) * wImm32(w))
			pc++
			continue
		case 0x44:
			r[wDst(w)] = uint64(uint32(r[wDst(w)]) | wImm32(w))
			pc++
			continue
		case 0x54:
			r[wDst(w)] = uint64(uint32(r[wDst(w)]) & wImm32(w))
			pc++
			continue
		case 0x64:
			r[wDst(w)] = uint64(uint32(r[wDst(w)]) << (wImm32(w) & 31))
			pc++
			continue
		case 0x74:
			r[wDst(w)] = uint64(uint32(r[wDst(w)]) >> (wImm32(w) & 31))
			pc++
			continue
		case 0x84:
			r[wDst(w)] = uint64(-uint32(r[wDst(w)]))
			pc++
			continue
		case 0xa4:
			r[wDst(w)] = uint64(uint32(r[wDst(w)]) ^ wImm32(w))
			pc++
			continue
		case 0xb4:
			r[wDst(w)] = uint64(wImm32(w))
			pc++
			continue
		case 0xc4:
			r[wDst(w)] = uint64(uint32(int32(r[wDst(w)]) >> (wImm32(w) & 31)))
			pc++
			continue

		// ALU (32-bit), register source.
		case 0x0c:
			r[wDst(w)] = uint64(uint32(r[wDst(w)]) + uint32(r[wSrc(w)]))
			pc++
			continue
		case 0x1c:
			r[wDst(w)] = uint64(uint32(r[wDst(w)]) - uint32(r[wSrc(w)]))
			pc++
			continue
		case 0x2c:
			r[wDst(w)] = uint64(uint32(r[wDst(w)]) * uint32(r[wSrc(w)]))
			pc++
			continue
		case 0x4c:
			r[wDst(w)] = uint64(uint32(r[wDst(w)]) | uint32(r[wSrc(w)]))
			pc++
			continue
		case 0x5c:
			r[wDst(w)] = uint64(uint32(r[wDst(w)]) & uint32(r[wSrc(w)]))
			pc++
			continue
		case 0x6c:
			r[wDst(w)] = uint64(uint32(r[wDst(w)]) << (uint32(r[wSrc(w)]) & 31))
			pc++
			continue
		case 0x7c:
			r[wDst(w)] = uint64(uint32(r[wDst(w)]) >> (uint32(r[wSrc(w)]) & 31))
			pc++
			continue
		case 0xac:
			r[wDst(w)] = uint64(uint32(r[wDst(w)]) ^ uint32(r[wSrc(w)]))
			pc++
			continue
		case 0xbc:
			if wOff(w) != 0 { // movsx
				goto slow
			}
			r[wDst(w)] = uint64(uint32(r[wSrc(w)]))
			pc++
			continue
		case 0xcc:
			r[wDst(w)] = uint64(uint32(int32(r[wDst(w)]) >> (uint32(r[wSrc(w)]) & 31)))
			pc++
			continue

		// JMP, immediate source (compared with the sign-extended imm).
		case 0x05:
			pc += wOff(w)
			goto branch
		case 0x15:
			if r[wDst(w)] == wImm(w) {
				pc += wOff(w)
			}
			goto branch
		case 0x25:
			if r[wDst(w)] > wImm(w) {
				pc += wOff(w)
			}
			goto branch
		case 0x35:
			if r[wDst(w)] >= wImm(w) {
				pc += wOff(w)
			}
			goto branch
		case 0x45:
			if r[wDst(w)]&wImm(w) != 0 {
				pc += wOff(w)
			}
			goto branch
		case 0x55:
			if r[wDst(w)] != wImm(w) {
				pc += wOff(w)
			}
			goto branch
		case 0x65:
			if int64(r[wDst(w)]) > int64(wImm(w)) {
				pc += wOff(w)
			}
			goto branch
		case 0x75:
			if int64(r[wDst(w)]) >= int64(wImm(w)) {
				pc += wOff(w)
			}
			goto branch
		case 0xa5:
			if r[wDst(w)] < wImm(w) {
				pc += wOff(w)
			}
			goto branch
		case 0xb5:
			if r[wDst(w)] <= wImm(w) {
				pc += wOff(w)
			}
			goto branch
		case 0xc5:
			if int64(r[wDst(w)]) < int64(wImm(w)) {
				pc += wOff(w)
			}
			goto branch
		case 0xd5:
			if int64(r[wDst(w)]) <= int64(wImm(w)) {
				pc += wOff(w)
			}
			goto branch
		case 0xe5: // may_goto: taken once the frame's budget is spent
			if m.loops == 0 {
				pc += wOff(w)
			} else {
				m.loops--
			}
			goto branch

		// JMP, register source.
		case 0x1d:
			if r[wDst(w)] == r[wSrc(w)] {
				pc += wOff(w)
			}
			goto branch
		case 0x2d:
			if r[wDst(w)] > r[wSrc(w)] {
				pc += wOff(w)
			}
			goto branch
		case 0x3d:
			if r[wDst(w)] >= r[wSrc(w)] {
				pc += wOff(w)
			}
			goto branch
		case 0x4d:
			if r[wDst(w)]&r[wSrc(w)] != 0 {
				pc += wOff(w)
			}
			goto branch
		case 0x5d:
			if r[wDst(w)] != r[wSrc(w)] {
				pc += wOff(w)
			}
			goto branch
		case 0x6d:
			if int64(r[wDst(w)]) > int64(r[wSrc(w)]) {
				pc += wOff(w)
			}
			goto branch
		case 0x7d:
			if int64(r[wDst(w)]) >= int64(r[wSrc(w)]) {
				pc += wOff(w)
			}
			goto branch
		case 0xad:
			if r[wDst(w)] < r[wSrc(w)] {
				pc += wOff(w)
			}
			goto branch
		case 0xbd:
			if r[wDst(w)] <= r[wSrc(w)] {
				pc += wOff(w)
			}
			goto branch
		case 0xcd:
			if int64(r[wDst(w)]) < int64(r[wSrc(w)]) {
				pc += wOff(w)
			}
			goto branch
		case 0xdd:
			if int64(r[wDst(w)]) <= int64(r[wSrc(w)]) {
				pc += wOff(w)
			}
			goto branch

		// JMP32: gotol, then the comparisons on the low 32 bits.
		case 0x06:
			pc += int(int32(wImm32(w)))
			goto branch
		case 0x16:
			if uint32(r[wDst(w)]) == wImm32(w) {
				pc += wOff(w)
			}
			goto branch
		case 0x26:
			if uint32(r[wDst(w)]) > wImm32(w) {
				pc += wOff(w)
			}
			goto branch
		case 0x36:
			if uint32(r[wDst(w)]) >= wImm32(w) {
				pc += wOff(w)
			}
			goto branch
		case 0x46:
			if uint32(r[wDst(w)])&wImm32(w) != 0 {
				pc += wOff(w)
			}
			goto branch
		case 0x56:
			if uint32(r[wDst(w)]) != wImm32(w) {
				pc += wOff(w)
			}
			goto branch
		case 0x66:
			if int32(r[wDst(w)]) > int32(wImm32(w)) {
				pc += wOff(w)
			}
			goto branch
		case 0x76:
			if int32(r[wDst(w)]) >= int32(wImm32(w)) {
				pc += wOff(w)
			}
			goto branch
		case 0xa6:
			if uint32(r[wDst(w)]) < wImm32(w) {
				pc += wOff(w)
			}
			goto branch
		case 0xb6:
			if uint32(r[wDst(w)]) <= wImm32(w) {
				pc += wOff(w)
			}
			goto branch
		case 0xc6:
			if int32(r[wDst(w)]) < int32(wImm32(w)) {
				pc += wOff(w)
			}
			goto branch
		case 0xd6:
			if int32(r[wDst(w)]) <= int32(wImm32(w)) {
				pc += wOff(w)
			}
			goto branch
		case 0x1e:
			if uint32(r[wDst(w)]) == uint32(r[wSrc(w)]) {
				pc += wOff(w)
			}
			goto branch
		case 0x2e:
			if uint32(r[wDst(w)]) > uint32(r[wSrc(w)]) {
				pc += wOff(w)
			}
			goto branch
		case 0x3e:
			if uint32(r[wDst(w)]) >= uint32(r[wSrc(w)]) {
				pc += wOff(w)
			}
			goto branch
		case 0x4e:
			if uint32(r[wDst(w)])&uint32(r[wSrc(w)]) != 0 {
				pc += wOff(w)
			}
			goto branch
		case 0x5e:
			if uint32(r[wDst(w)]) != uint32(r[wSrc(w)]) {
				pc += wOff(w)
			}
			goto branch
		case 0x6e:
			if int32(r[wDst(w)]) > int32(r[wSrc(w)]) {
				pc += wOff(w)
			}
			goto branch
		case 0x7e:
			if int32(r[wDst(w)]) >= int32(r[wSrc(w)]) {
				pc += wOff(w)
			}
			goto branch
		case 0xae:
			if uint32(r[wDst(w)]) < uint32(r[wSrc(w)]) {
				pc += wOff(w)
			}
			goto branch
		case 0xbe:
			if uint32(r[wDst(w)]) <= uint32(r[wSrc(w)]) {
				pc += wOff(w)
			}
			goto branch
		case 0xce:
			if int32(r[wDst(w)]) < int32(r[wSrc(w)]) {
				pc += wOff(w)
			}
			goto branch
		case 0xde:
			if int32(r[wDst(w)]) <= int32(r[wSrc(w)]) {
				pc += wOff(w)
			}
			goto branch

		// Loads and stores in the stack or the cached region of
		// Config.Memory; anything else takes the slow path.
		case 0x79:
			v, ok := m.fastLoad64(r[wSrc(w)] + uint64(int64(wOff(w))))
			if !ok {
				goto slow
			}
			r[wDst(w)] = v
			pc++
			continue
		case 0x61:
			v, ok := m.fastLoad32(r[wSrc(w)] + uint64(int64(wOff(w))))
			if !ok {
				goto slow
			}
			r[wDst(w)] = v
			pc++
			continue
		case 0x69:
			v, ok := m.fastLoad16(r[wSrc(w)] + uint64(int64(wOff(w))))
			if !ok {
				goto slow
			}
			r[wDst(w)] = v
			pc++
			continue
		case 0x71:
			v, ok := m.fastLoad8(r[wSrc(w)] + uint64(int64(wOff(w))))
			if !ok {
				goto slow
			}
			r[wDst(w)] = v
			pc++
			continue
		case 0x7b:
			if !m.fastStore64(r[wDst(w)]+uint64(int64(wOff(w))), r[wSrc(w)]) {
				goto slow
			}
			pc++
			continue
		case 0x63:
			if !m.fastStore32(r[wDst(w)]+uint64(int64(wOff(w))), r[wSrc(w)]) {
				goto slow
			}
			pc++
			continue
		case 0x6b:
			if !m.fastStore16(r[wDst(w)]+uint64(int64(wOff(w))), r[wSrc(w)]) {
				goto slow
			}
			pc++
			continue
		case 0x73:
			if !m.fastStore8(r[wDst(w)]+uint64(int64(wOff(w))), r[wSrc(w)]) {
				goto slow
			}
			pc++
			continue
		case 0x7a:
			if !m.fastStore64(r[wDst(w)]+uint64(int64(wOff(w))), wImm(w)) {
				goto slow
			}
			pc++
			continue
		case 0x62:
			if !m.fastStore32(r[wDst(w)]+uint64(int64(wOff(w))), wImm(w)) {
				goto slow
			}
			pc++
			continue
		case 0x6a:
			if !m.fastStore16(r[wDst(w)]+uint64(int64(wOff(w))), wImm(w)) {
				goto slow
			}
			pc++
			continue
		case 0x72:
			if !m.fastStore8(r[wDst(w)]+uint64(int64(wOff(w))), wImm(w)) {
				goto slow
			}
			pc++
			continue

		case 0x00, 0xff: // keep the jump table's index range whole: no bounds check
			goto slow
		default:
			goto slow
		}
	branch: // a jump was taken or not: pay for the run it enters
		pc++
		if budget -= int64(charges[pc]); budget < 0 {
			return m.outOfBudget(pc, budget+int64(charges[pc]))
		}
		continue
	slow:
		var e *Error
		if pc, budget, e = m.slowStep(pc, budget); e != nil {
			return e
		}
		if pc < 0 { // the final exit
			m.budget = budget
			return nil
		}
	}
}

// interpretTraced is interpret with an insn event before every instruction.
// It steps through the program with step alone, which is slower and
// simpler; the budget is paid exactly as interpret pays it.
func (m *machine) interpretTraced(pc int) *Error {
	budget := m.budget
	on := m.tracer.On(trace.Insn)
	for {
		if on {
			m.tracer.Emit(trace.Event{Kind: trace.Insn, Who: m.who, Addr: uint64(pc), Text: insnText(m.orig, pc)})
		}
		var e *Error
		if pc, budget, e = m.slowStep(pc, budget); e != nil {
			return e
		}
		if pc < 0 {
			m.budget = budget
			return nil
		}
	}
}

// The fields of an instruction word (see machine.words).

func wDst(w uint64) uint64   { return w >> 8 & 15 }
func wSrc(w uint64) uint64   { return w >> 12 & 15 }
func wOff(w uint64) int      { return int(int16(w >> 16)) }
func wImm32(w uint64) uint32 { return uint32(w >> 32) }

// wImm is the immediate sign-extended to 64 bits, as ALU64 and JMP use it.
func wImm(w uint64) uint64 { return uint64(int64(int32(w >> 32))) }

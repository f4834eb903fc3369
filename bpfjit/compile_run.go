package bpfjit

import "encoding/binary"

// Run executes the program from slot 0 with r1-r5 = args and returns r0, or
// an *Error saying why it stopped, exactly as Interpreter.Run would.
func (c *Compiled) Run(args ...uint64) (Result, error) {
	m := &c.m
	if err := m.reset(args); err != nil {
		return Result{}, err
	}
	if e := c.exec(); e != nil {
		return Result{}, e
	}
	return m.result(), nil
}

// addReg does the add of a fused add-and-jump and returns the new value.
func addReg(r *[256]uint64, o *cop) uint64 {
	v := r[o.dst] + uint64(int64(o.imm2))
	r[o.dst] = v
	return v
}

// exec runs the ops from slot 0. The budget is paid per straight-line run,
// when control enters it, exactly as the interpreter pays it.
//
// The loop is shaped for the Go compiler: every case ends in its own
// continue (a shared "pc++" after the switch costs a second taken branch per
// op, about a third of the time of a simple op on the machines measured),
// and every call goes through cold, so that pc, the budget and the op
// pointer stay in machine registers.
func (c *Compiled) exec() *Error {
	m := &c.m
	r := &m.regs
	ops := c.ops
	pc := 0
	budget, e := m.enterRun(0, m.budget)
	if e != nil {
		return e
	}
	var taken bool
	for {
		o := &ops[pc]
		switch o.kind {
		case kAdd64K:
			r[o.dst] += o.imm
			pc++
			continue
		case kAdd64X:
			r[o.dst] += r[o.src]
			pc++
			continue
		case kSub64X:
			r[o.dst] -= r[o.src]
			pc++
			continue
		case kMul64K:
			r[o.dst] *= o.imm
			pc++
			continue
		case kMul64X:
			r[o.dst] *= r[o.src]
			pc++
			continue
		case kDiv64K:
			r[o.dst] = div64(r[o.dst], o.imm)
			pc++
			continue
		case kDiv64X:
			r[o.dst] = div64(r[o.dst], r[o.src])
			pc++
			continue
		case kSDiv64K:
			r[o.dst] = sdiv64(r[o.dst], o.imm)
			pc++
			continue
		case kSDiv64X:
			r[o.dst] = sdiv64(r[o.dst], r[o.src])
			pc++
			continue
		case kMod64K:
			r[o.dst] = mod64(r[o.dst], o.imm)
			pc++
			continue
		case kMod64X:
			r[o.dst] = mod64(r[o.dst], r[o.src])
			pc++
			continue
		case kSMod64K:
			r[o.dst] = smod64(r[o.dst], o.imm)
			pc++
			continue
		case kSMod64X:
			r[o.dst] = smod64(r[o.dst], r[o.src])
			pc++
			continue
		case kOr64K:
			r[o.dst] |= o.imm
			pc++
			continue
		case kOr64X:
			r[o.dst] |= r[o.src]
			pc++
			continue
		case kAnd64K:
			r[o.dst] &= o.imm
			pc++
			continue
		case kAnd64X:
			r[o.dst] &= r[o.src]
			pc++
			continue
		case kXor64K:
			r[o.dst] ^= o.imm
			pc++
			continue
		case kXor64X:
			r[o.dst] ^= r[o.src]
			pc++
			continue
		case kLsh64K:
			r[o.dst] <<= o.imm & 63
			pc++
			continue
		case kLsh64X:
			r[o.dst] <<= r[o.src] & 63
			pc++
			continue
		case kRsh64K:
			r[o.dst] >>= o.imm & 63
			pc++
			continue
		case kRsh64X:
			r[o.dst] >>= r[o.src] & 63
			pc++
			continue
		case kArsh64K:
			r[o.dst] = uint64(int64(r[o.dst]) >> (o.imm & 63))
			pc++
			continue
		case kArsh64X:
			r[o.dst] = uint64(int64(r[o.dst]) >> (r[o.src] & 63))
			pc++
			continue
		case kNeg64:
			r[o.dst] = -r[o.dst]
			pc++
			continue
		case kMov64K:
			r[o.dst] = o.imm
			pc++
			continue
		case kLdImm64:
			r[o.dst] = o.imm
			pc += 2
			continue
		case kMov64X:
			r[o.dst] = r[o.src]
			pc++
			continue
		case kMovSX64:
			r[o.dst] = movsx64(r[o.src], int16(o.imm))
			pc++
			continue
		case kCastUser:
			r[o.dst] = m.castUser(r[o.src])
			pc++
			continue
		case kBswap:
			r[o.dst] = bswap(r[o.dst], int32(o.imm))
			pc++
			continue

		case kAdd32K:
			r[o.dst] = uint64(uint32(r[o.dst]) + uint32(o.imm))
			pc++
			continue
		case kAdd32X:
			r[o.dst] = uint64(uint32(r[o.dst]) + uint32(r[o.src]))
			pc++
			continue
		case kSub32X:
			r[o.dst] = uint64(uint32(r[o.dst]) - uint32(r[o.src]))
			pc++
			continue
		case kMul32K:
			r[o.dst] = uint64(uint32(r[o.dst]) * uint32(o.imm))
			pc++
			continue
		case kMul32X:
			r[o.dst] = uint64(uint32(r[o.dst]) * uint32(r[o.src]))
			pc++
			continue
		case kDiv32K:
			r[o.dst] = div32(r[o.dst], o.imm)
			pc++
			continue
		case kDiv32X:
			r[o.dst] = div32(r[o.dst], r[o.src])
			pc++
			continue
		case kSDiv32K:
			r[o.dst] = sdiv32(r[o.dst], o.imm)
			pc++
			continue
		case kSDiv32X:
			r[o.dst] = sdiv32(r[o.dst], r[o.src])
			pc++
			continue
		case kMod32K:
			r[o.dst] = mod32(r[o.dst], o.imm)
			pc++
			continue
		case kMod32X:
			r[o.dst] = mod32(r[o.dst], r[o.src])
			pc++
			continue
		case kSMod32K:
			r[o.dst] = smod32(r[o.dst], o.imm)
			pc++
			continue
		case kSMod32X:
			r[o.dst] = smod32(r[o.dst], r[o.src])
			pc++
			continue
		case kOr32K:
			r[o.dst] = uint64(uint32(r[o.dst]) | uint32(o.imm))
			pc++
			continue
		case kOr32X:
			r[o.dst] = uint64(uint32(r[o.dst]) | uint32(r[o.src]))
			pc++
			continue
		case kAnd32K:
			r[o.dst] = uint64(uint32(r[o.dst]) & uint32(o.imm))
			pc++
			continue
		case kAnd32X:
			r[o.dst] = uint64(uint32(r[o.dst]) & uint32(r[o.src]))
			pc++
			continue
		case kXor32K:
			r[o.dst] = uint64(uint32(r[o.dst]) ^ uint32(o.imm))
			pc++
			continue
		case kXor32X:
			r[o.dst] = uint64(uint32(r[o.dst]) ^ uint32(r[o.src]))
			pc++
			continue
		case kLsh32K:
			r[o.dst] = uint64(uint32(r[o.dst]) << (o.imm & 31))
			pc++
			continue
		case kLsh32X:
			r[o.dst] = uint64(uint32(r[o.dst]) << (r[o.src] & 31))
			pc++
			continue
		case kRsh32K:
			r[o.dst] = uint64(uint32(r[o.dst]) >> (o.imm & 31))
			pc++
			continue
		case kRsh32X:
			r[o.dst] = uint64(uint32(r[o.dst]) >> (r[o.src] & 31))
			pc++
			continue
		case kArsh32K:
			r[o.dst] = uint64(uint32(int32(r[o.dst]) >> (o.imm & 31)))
			pc++
			continue
		case kArsh32X:
			r[o.dst] = uint64(uint32(int32(r[o.dst]) >> (r[o.src] & 31)))
			pc++
			continue
		case kNeg32:
			r[o.dst] = uint64(-uint32(r[o.dst]))
			pc++
			continue
		case kMov32X:
			r[o.dst] = uint64(uint32(r[o.src]))
			pc++
			continue
		case kMovSX32:
			r[o.dst] = movsx32(r[o.src], int16(o.imm))
			pc++
			continue
		case kTruncLE:
			r[o.dst] = truncLE(r[o.dst], int32(o.imm))
			pc++
			continue

		// Jumps: choose the next slot and charge the run it starts.
		case kJa:
			pc = int(o.target)
			budget -= int64(o.chargeT)
			if budget < 0 {
				goto short
			}
			continue
		// Conditional jumps pick the next slot and pay for the run it starts;
		// each is written out whole, which saves the loop a branch on a flag.
		case kJeqK:
			if r[o.dst] == o.imm {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJeqX:
			if r[o.dst] == r[o.src] {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJneK:
			if r[o.dst] != o.imm {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJneX:
			if r[o.dst] != r[o.src] {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJgtK:
			if r[o.dst] > o.imm {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJgtX:
			if r[o.dst] > r[o.src] {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJgeK:
			if r[o.dst] >= o.imm {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJgeX:
			if r[o.dst] >= r[o.src] {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJltK:
			if r[o.dst] < o.imm {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJltX:
			if r[o.dst] < r[o.src] {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJleK:
			if r[o.dst] <= o.imm {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJleX:
			if r[o.dst] <= r[o.src] {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJsgtK:
			if int64(r[o.dst]) > int64(o.imm) {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJsgtX:
			if int64(r[o.dst]) > int64(r[o.src]) {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJsgeK:
			if int64(r[o.dst]) >= int64(o.imm) {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJsgeX:
			if int64(r[o.dst]) >= int64(r[o.src]) {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJsltK:
			if int64(r[o.dst]) < int64(o.imm) {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJsltX:
			if int64(r[o.dst]) < int64(r[o.src]) {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJsleK:
			if int64(r[o.dst]) <= int64(o.imm) {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJsleX:
			if int64(r[o.dst]) <= int64(r[o.src]) {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJsetK:
			if r[o.dst]&o.imm != 0 {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kJsetX:
			if r[o.dst]&r[o.src] != 0 {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 1
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kMayGoto:
			taken = m.mayGoto()
			goto branch

		// add rD, K; if rD op K2 goto: the jump's fields, K in imm2; falling
		// through skips both slots.
		case kAddJeqK:
			if addReg(r, o) == o.imm {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 2
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kAddJneK:
			if addReg(r, o) != o.imm {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 2
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kAddJgtK:
			if addReg(r, o) > o.imm {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 2
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kAddJgeK:
			if addReg(r, o) >= o.imm {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 2
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kAddJltK:
			if addReg(r, o) < o.imm {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 2
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kAddJleK:
			if addReg(r, o) <= o.imm {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 2
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kAddJsgtK:
			if int64(addReg(r, o)) > int64(o.imm) {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 2
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kAddJsgeK:
			if int64(addReg(r, o)) >= int64(o.imm) {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 2
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kAddJsltK:
			if int64(addReg(r, o)) < int64(o.imm) {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 2
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kAddJsleK:
			if int64(addReg(r, o)) <= int64(o.imm) {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 2
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue
		case kAddJsetK:
			if addReg(r, o)&o.imm != 0 {
				pc = int(o.target)
				budget -= int64(o.chargeT)
			} else {
				pc += 2
				budget -= int64(o.chargeF)
			}
			if budget < 0 {
				goto short
			}
			continue

		// Loads and stores in the stack or the cached region of
		// Config.Memory; anything else goes to step.
		case kLdxDW:
			addr := r[o.src] + o.imm
			if i := addr - m.stk.base; i < m.stk.lim[3] {
				r[o.dst] = binary.LittleEndian.Uint64(m.stk.buf[i:])
				pc++
				continue
			}
			if i := addr - m.mem.rd.base; i < m.mem.rd.lim[3] {
				r[o.dst] = binary.LittleEndian.Uint64(m.mem.rd.buf[i:])
				pc++
				continue
			}
			goto slow
		case kLdxW:
			addr := r[o.src] + o.imm
			if i := addr - m.stk.base; i < m.stk.lim[2] {
				r[o.dst] = uint64(binary.LittleEndian.Uint32(m.stk.buf[i:]))
				pc++
				continue
			}
			if i := addr - m.mem.rd.base; i < m.mem.rd.lim[2] {
				r[o.dst] = uint64(binary.LittleEndian.Uint32(m.mem.rd.buf[i:]))
				pc++
				continue
			}
			goto slow
		case kLdxB:
			addr := r[o.src] + o.imm
			if i := addr - m.stk.base; i < m.stk.lim[0] {
				r[o.dst] = uint64(m.stk.buf[i])
				pc++
				continue
			}
			if i := addr - m.mem.rd.base; i < m.mem.rd.lim[0] {
				r[o.dst] = uint64(m.mem.rd.buf[i])
				pc++
				continue
			}
			goto slow
		case kStxDW:
			addr, v := r[o.dst]+o.imm, r[o.src]
			if i := addr - m.stk.base; i < m.stk.lim[3] {
				binary.LittleEndian.PutUint64(m.stk.buf[i:], v)
				pc++
				continue
			}
			if i := addr - m.mem.wr.base; i < m.mem.wr.lim[3] {
				binary.LittleEndian.PutUint64(m.mem.wr.buf[i:], v)
				pc++
				continue
			}
			goto slow
		case kStxW:
			addr, v := r[o.dst]+o.imm, r[o.src]
			if i := addr - m.stk.base; i < m.stk.lim[2] {
				binary.LittleEndian.PutUint32(m.stk.buf[i:], uint32(v))
				pc++
				continue
			}
			if i := addr - m.mem.wr.base; i < m.mem.wr.lim[2] {
				binary.LittleEndian.PutUint32(m.mem.wr.buf[i:], uint32(v))
				pc++
				continue
			}
			goto slow
		case kStxB:
			addr, v := r[o.dst]+o.imm, r[o.src]
			if i := addr - m.stk.base; i < m.stk.lim[0] {
				m.stk.buf[i] = byte(v)
				pc++
				continue
			}
			if i := addr - m.mem.wr.base; i < m.mem.wr.lim[0] {
				m.mem.wr.buf[i] = byte(v)
				pc++
				continue
			}
			goto slow
		case kStDW:
			addr, v := r[o.dst]+o.imm, uint64(int64(o.imm2))
			if i := addr - m.stk.base; i < m.stk.lim[3] {
				binary.LittleEndian.PutUint64(m.stk.buf[i:], v)
				pc++
				continue
			}
			if i := addr - m.mem.wr.base; i < m.mem.wr.lim[3] {
				binary.LittleEndian.PutUint64(m.mem.wr.buf[i:], v)
				pc++
				continue
			}
			goto slow
		case kStW:
			addr, v := r[o.dst]+o.imm, uint64(int64(o.imm2))
			if i := addr - m.stk.base; i < m.stk.lim[2] {
				binary.LittleEndian.PutUint32(m.stk.buf[i:], uint32(v))
				pc++
				continue
			}
			if i := addr - m.mem.wr.base; i < m.mem.wr.lim[2] {
				binary.LittleEndian.PutUint32(m.mem.wr.buf[i:], uint32(v))
				pc++
				continue
			}
			goto slow
		case kStB:
			addr, v := r[o.dst]+o.imm, uint64(int64(o.imm2))
			if i := addr - m.stk.base; i < m.stk.lim[0] {
				m.stk.buf[i] = byte(v)
				pc++
				continue
			}
			if i := addr - m.mem.wr.base; i < m.mem.wr.lim[0] {
				m.mem.wr.buf[i] = byte(v)
				pc++
				continue
			}
			goto slow

		// Superinstructions: each covers two slots.
		case kMovAdd64K:
			r[o.dst] = r[o.src] + o.imm
			pc += 2
			continue
		case kMovAnd64K:
			r[o.dst] = r[o.src] & o.imm
			pc += 2
			continue
		case kMovOr64K:
			r[o.dst] = r[o.src] | o.imm
			pc += 2
			continue
		case kMovXor64K:
			r[o.dst] = r[o.src] ^ o.imm
			pc += 2
			continue
		case kMovLsh64K:
			r[o.dst] = r[o.src] << (o.imm & 63)
			pc += 2
			continue
		case kMovRsh64K:
			r[o.dst] = r[o.src] >> (o.imm & 63)
			pc += 2
			continue
		case kMovArsh64K:
			r[o.dst] = uint64(int64(r[o.src]) >> (o.imm & 63))
			pc += 2
			continue
		case kMovMul64K:
			r[o.dst] = r[o.src] * o.imm
			pc += 2
			continue
		case kMovAdd64X:
			r[o.dst] = r[o.src] + r[o.aux]
			pc += 2
			continue
		case kMovSub64X:
			r[o.dst] = r[o.src] - r[o.aux]
			pc += 2
			continue
		case kMovAnd64X:
			r[o.dst] = r[o.src] & r[o.aux]
			pc += 2
			continue
		case kMovOr64X:
			r[o.dst] = r[o.src] | r[o.aux]
			pc += 2
			continue
		case kMovXor64X:
			r[o.dst] = r[o.src] ^ r[o.aux]
			pc += 2
			continue
		case kMovMul64X:
			r[o.dst] = r[o.src] * r[o.aux]
			pc += 2
			continue
		// Pairs: the second op reads what the first wrote, as it would in sequence.
		case kPairAddAdd:
			r[o.dst] += r[o.src]
			r[o.aux] += r[o.aux2]
			pc += 2
			continue
		case kPairAddSub:
			r[o.dst] += r[o.src]
			r[o.aux] -= r[o.aux2]
			pc += 2
			continue
		case kPairAddXor:
			r[o.dst] += r[o.src]
			r[o.aux] ^= r[o.aux2]
			pc += 2
			continue
		case kPairAddAnd:
			r[o.dst] += r[o.src]
			r[o.aux] &= r[o.aux2]
			pc += 2
			continue
		case kPairAddOr:
			r[o.dst] += r[o.src]
			r[o.aux] |= r[o.aux2]
			pc += 2
			continue
		case kPairSubAdd:
			r[o.dst] -= r[o.src]
			r[o.aux] += r[o.aux2]
			pc += 2
			continue
		case kPairSubSub:
			r[o.dst] -= r[o.src]
			r[o.aux] -= r[o.aux2]
			pc += 2
			continue
		case kPairSubXor:
			r[o.dst] -= r[o.src]
			r[o.aux] ^= r[o.aux2]
			pc += 2
			continue
		case kPairSubAnd:
			r[o.dst] -= r[o.src]
			r[o.aux] &= r[o.aux2]
			pc += 2
			continue
		case kPairSubOr:
			r[o.dst] -= r[o.src]
			r[o.aux] |= r[o.aux2]
			pc += 2
			continue
		case kPairXorAdd:
			r[o.dst] ^= r[o.src]
			r[o.aux] += r[o.aux2]
			pc += 2
			continue
		case kPairXorSub:
			r[o.dst] ^= r[o.src]
			r[o.aux] -= r[o.aux2]
			pc += 2
			continue
		case kPairXorXor:
			r[o.dst] ^= r[o.src]
			r[o.aux] ^= r[o.aux2]
			pc += 2
			continue
		case kPairXorAnd:
			r[o.dst] ^= r[o.src]
			r[o.aux] &= r[o.aux2]
			pc += 2
			continue
		case kPairXorOr:
			r[o.dst] ^= r[o.src]
			r[o.aux] |= r[o.aux2]
			pc += 2
			continue
		case kPairAndAdd:
			r[o.dst] &= r[o.src]
			r[o.aux] += r[o.aux2]
			pc += 2
			continue
		case kPairAndSub:
			r[o.dst] &= r[o.src]
			r[o.aux] -= r[o.aux2]
			pc += 2
			continue
		case kPairAndXor:
			r[o.dst] &= r[o.src]
			r[o.aux] ^= r[o.aux2]
			pc += 2
			continue
		case kPairAndAnd:
			r[o.dst] &= r[o.src]
			r[o.aux] &= r[o.aux2]
			pc += 2
			continue
		case kPairAndOr:
			r[o.dst] &= r[o.src]
			r[o.aux] |= r[o.aux2]
			pc += 2
			continue
		case kPairOrAdd:
			r[o.dst] |= r[o.src]
			r[o.aux] += r[o.aux2]
			pc += 2
			continue
		case kPairOrSub:
			r[o.dst] |= r[o.src]
			r[o.aux] -= r[o.aux2]
			pc += 2
			continue
		case kPairOrXor:
			r[o.dst] |= r[o.src]
			r[o.aux] ^= r[o.aux2]
			pc += 2
			continue
		case kPairOrAnd:
			r[o.dst] |= r[o.src]
			r[o.aux] &= r[o.aux2]
			pc += 2
			continue
		case kPairOrOr:
			r[o.dst] |= r[o.src]
			r[o.aux] |= r[o.aux2]
			pc += 2
			continue
		case kMovLshAdd64X:
			v := r[o.src] << (o.imm & 63)
			r[o.dst] = v
			r[o.aux] += v
			pc += 3
			continue
		case kLdxDWAdd:
			v, ok := m.fastLoad64(r[o.src] + o.imm)
			if !ok {
				goto slow // the load alone; the op in the next slot follows
			}
			r[o.dst] = v
			r[o.aux] += v
			pc += 2
			continue
		case kLdxDWOr:
			v, ok := m.fastLoad64(r[o.src] + o.imm)
			if !ok {
				goto slow // the load alone; the op in the next slot follows
			}
			r[o.dst] = v
			r[o.aux] |= v
			pc += 2
			continue
		case kLdxDWXor:
			v, ok := m.fastLoad64(r[o.src] + o.imm)
			if !ok {
				goto slow // the load alone; the op in the next slot follows
			}
			r[o.dst] = v
			r[o.aux] ^= v
			pc += 2
			continue
		case kLdxDWAnd:
			v, ok := m.fastLoad64(r[o.src] + o.imm)
			if !ok {
				goto slow // the load alone; the op in the next slot follows
			}
			r[o.dst] = v
			r[o.aux] &= v
			pc += 2
			continue
		case kLdxDWSub:
			v, ok := m.fastLoad64(r[o.src] + o.imm)
			if !ok {
				goto slow // the load alone; the op in the next slot follows
			}
			r[o.dst] = v
			r[o.aux] -= v
			pc += 2
			continue

		case kTrap, kStep, 255: // 0 to 255: the jump table needs no bounds check
			goto slow
		default: // the ops that call out: calls, exit, arena accesses, JMP32
			goto slow
		}
	branch: // may_goto: pick the next slot and pay for its run
		if taken {
			pc = int(o.target)
			budget -= int64(o.chargeT)
		} else {
			pc++
			budget -= int64(o.chargeF)
		}
		if budget < 0 {
			goto short
		}
		continue
	slow: // every op that calls a function, and fast paths that missed
		if pc, budget, e = c.cold(pc, budget); e != nil {
			return e
		}
		if pc < 0 { // the final exit
			m.budget = budget
			return nil
		}
	}
short:
	// The run starting at pc costs more than what is left.
	return m.outOfBudget(pc, budget+int64(c.charges[pc]))
}

// cold runs the op at pc for exec when it calls out: helper, kfunc and local
// calls, exit, arena accesses, JMP32, and every instruction whose fast path
// missed (which step runs). It returns the next slot (-1 after the final
// exit) and the budget after paying for the run a control transfer enters.
// Keeping every call of the loop here lets the Go compiler keep the loop's
// variables in registers.
//
//go:noinline
func (c *Compiled) cold(pc int, budget int64) (int, int64, *Error) {
	m := &c.m
	r := &m.regs
	o := &c.ops[pc]
	ins := insnAt(m.orig, pc)
	next := pc + 1
	switch o.kind {
	case kCall:
		if e := m.invoke(pc, ins, ins.Src, ins.Imm, c.funcs[o.target]); e != nil {
			return 0, 0, e
		}
		return next, budget, nil
	case kCallLocal:
		if e := m.enter(pc, int(o.target), ins); e != nil {
			return 0, 0, e
		}
		next = int(o.target)
	case kExit:
		if m.depth == 1 {
			return -1, budget, nil
		}
		next = m.leave()
	case kJmp32K, kJmp32X:
		v := o.imm
		if o.kind == kJmp32X {
			v = r[o.src]
		}
		if jumpCond32(JumpOp(o.aux), r[o.dst], v) {
			next = int(o.target)
		}
	case kProbeLdx:
		r[o.dst] = m.probeLoad(pc, r[o.src], o.off, int(o.aux))
		return next, budget, nil
	case kProbeLdxSX:
		v := m.probeLoad(pc, r[o.src], o.off, int(o.aux))
		switch o.aux {
		case 4:
			v = uint64(int64(int32(v)))
		case 2:
			v = uint64(int64(int16(v)))
		default:
			v = uint64(int64(int8(v)))
		}
		r[o.dst] = v
		return next, budget, nil
	case kProbeSt:
		m.probeStore(pc, r[o.dst], o.off, int(o.aux), uint64(int64(o.imm2)))
		return next, budget, nil
	case kProbeStx:
		m.probeStore(pc, r[o.dst], o.off, int(o.aux), r[o.src])
		return next, budget, nil
	default: // kTrap, kStep and the fast paths that missed: no control transfer
		next, e := m.step(pc)
		return next, budget, e
	}
	budget, e := m.enterRun(next, budget)
	return next, budget, e
}

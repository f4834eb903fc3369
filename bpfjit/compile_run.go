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

// exec runs the ops from slot 0. The budget is paid per straight-line run,
// when control enters it, exactly as the interpreter pays it.
func (c *Compiled) exec() *Error {
	m := &c.m
	r := &m.regs
	ops := c.ops
	pc := 0
	budget, e := m.enterRun(0, m.budget)
	if e != nil {
		return e
	}
	for {
		o := &ops[pc]
		switch o.kind {
		case kAdd64K:
			r[o.dst&15] += o.imm
		case kAdd64X:
			r[o.dst&15] += r[o.src&15]
		case kSub64X:
			r[o.dst&15] -= r[o.src&15]
		case kMul64K:
			r[o.dst&15] *= o.imm
		case kMul64X:
			r[o.dst&15] *= r[o.src&15]
		case kDiv64K:
			r[o.dst&15] = div64(r[o.dst&15], o.imm)
		case kDiv64X:
			r[o.dst&15] = div64(r[o.dst&15], r[o.src&15])
		case kSDiv64K:
			r[o.dst&15] = sdiv64(r[o.dst&15], o.imm)
		case kSDiv64X:
			r[o.dst&15] = sdiv64(r[o.dst&15], r[o.src&15])
		case kMod64K:
			r[o.dst&15] = mod64(r[o.dst&15], o.imm)
		case kMod64X:
			r[o.dst&15] = mod64(r[o.dst&15], r[o.src&15])
		case kSMod64K:
			r[o.dst&15] = smod64(r[o.dst&15], o.imm)
		case kSMod64X:
			r[o.dst&15] = smod64(r[o.dst&15], r[o.src&15])
		case kOr64K:
			r[o.dst&15] |= o.imm
		case kOr64X:
			r[o.dst&15] |= r[o.src&15]
		case kAnd64K:
			r[o.dst&15] &= o.imm
		case kAnd64X:
			r[o.dst&15] &= r[o.src&15]
		case kXor64K:
			r[o.dst&15] ^= o.imm
		case kXor64X:
			r[o.dst&15] ^= r[o.src&15]
		case kLsh64K:
			r[o.dst&15] <<= o.imm & 63
		case kLsh64X:
			r[o.dst&15] <<= r[o.src&15] & 63
		case kRsh64K:
			r[o.dst&15] >>= o.imm & 63
		case kRsh64X:
			r[o.dst&15] >>= r[o.src&15] & 63
		case kArsh64K:
			r[o.dst&15] = uint64(int64(r[o.dst&15]) >> (o.imm & 63))
		case kArsh64X:
			r[o.dst&15] = uint64(int64(r[o.dst&15]) >> (r[o.src&15] & 63))
		case kNeg64:
			r[o.dst&15] = -r[o.dst&15]
		case kMov64K:
			r[o.dst&15] = o.imm
		case kLdImm64:
			r[o.dst&15] = o.imm
			pc++
		case kMov64X:
			r[o.dst&15] = r[o.src&15]
		case kMovSX64:
			r[o.dst&15] = movsx64(r[o.src&15], int16(o.imm))
		case kCastUser:
			r[o.dst&15] = m.castUser(r[o.src&15])
		case kBswap:
			r[o.dst&15] = bswap(r[o.dst&15], int32(o.imm))

		case kAdd32K:
			r[o.dst&15] = uint64(uint32(r[o.dst&15]) + uint32(o.imm))
		case kAdd32X:
			r[o.dst&15] = uint64(uint32(r[o.dst&15]) + uint32(r[o.src&15]))
		case kSub32X:
			r[o.dst&15] = uint64(uint32(r[o.dst&15]) - uint32(r[o.src&15]))
		case kMul32K:
			r[o.dst&15] = uint64(uint32(r[o.dst&15]) * uint32(o.imm))
		case kMul32X:
			r[o.dst&15] = uint64(uint32(r[o.dst&15]) * uint32(r[o.src&15]))
		case kDiv32K:
			r[o.dst&15] = div32(r[o.dst&15], o.imm)
		case kDiv32X:
			r[o.dst&15] = div32(r[o.dst&15], r[o.src&15])
		case kSDiv32K:
			r[o.dst&15] = sdiv32(r[o.dst&15], o.imm)
		case kSDiv32X:
			r[o.dst&15] = sdiv32(r[o.dst&15], r[o.src&15])
		case kMod32K:
			r[o.dst&15] = mod32(r[o.dst&15], o.imm)
		case kMod32X:
			r[o.dst&15] = mod32(r[o.dst&15], r[o.src&15])
		case kSMod32K:
			r[o.dst&15] = smod32(r[o.dst&15], o.imm)
		case kSMod32X:
			r[o.dst&15] = smod32(r[o.dst&15], r[o.src&15])
		case kOr32K:
			r[o.dst&15] = uint64(uint32(r[o.dst&15]) | uint32(o.imm))
		case kOr32X:
			r[o.dst&15] = uint64(uint32(r[o.dst&15]) | uint32(r[o.src&15]))
		case kAnd32K:
			r[o.dst&15] = uint64(uint32(r[o.dst&15]) & uint32(o.imm))
		case kAnd32X:
			r[o.dst&15] = uint64(uint32(r[o.dst&15]) & uint32(r[o.src&15]))
		case kXor32K:
			r[o.dst&15] = uint64(uint32(r[o.dst&15]) ^ uint32(o.imm))
		case kXor32X:
			r[o.dst&15] = uint64(uint32(r[o.dst&15]) ^ uint32(r[o.src&15]))
		case kLsh32K:
			r[o.dst&15] = uint64(uint32(r[o.dst&15]) << (o.imm & 31))
		case kLsh32X:
			r[o.dst&15] = uint64(uint32(r[o.dst&15]) << (r[o.src&15] & 31))
		case kRsh32K:
			r[o.dst&15] = uint64(uint32(r[o.dst&15]) >> (o.imm & 31))
		case kRsh32X:
			r[o.dst&15] = uint64(uint32(r[o.dst&15]) >> (r[o.src&15] & 31))
		case kArsh32K:
			r[o.dst&15] = uint64(uint32(int32(r[o.dst&15]) >> (o.imm & 31)))
		case kArsh32X:
			r[o.dst&15] = uint64(uint32(int32(r[o.dst&15]) >> (r[o.src&15] & 31)))
		case kNeg32:
			r[o.dst&15] = uint64(-uint32(r[o.dst&15]))
		case kMov32X:
			r[o.dst&15] = uint64(uint32(r[o.src&15]))
		case kMovSX32:
			r[o.dst&15] = movsx32(r[o.src&15], int16(o.imm))
		case kTruncLE:
			r[o.dst&15] = truncLE(r[o.dst&15], int32(o.imm))

		// Jumps: choose the next slot and charge the run it starts.
		case kJa:
			pc = int(o.target)
			budget -= int64(o.chargeT)
			if budget < 0 {
				goto short
			}
			continue
		case kJeqK, kJeqX, kJneK, kJneX, kJgtK, kJgtX, kJgeK, kJgeX, kJltK, kJltX, kJleK, kJleX,
			kJsgtK, kJsgtX, kJsgeK, kJsgeX, kJsltK, kJsltX, kJsleK, kJsleX, kJsetK, kJsetX,
			kJmp32K, kJmp32X, kMayGoto:
			var taken bool
			a := r[o.dst&15]
			switch o.kind {
			case kJeqK:
				taken = a == o.imm
			case kJeqX:
				taken = a == r[o.src&15]
			case kJneK:
				taken = a != o.imm
			case kJneX:
				taken = a != r[o.src&15]
			case kJgtK:
				taken = a > o.imm
			case kJgtX:
				taken = a > r[o.src&15]
			case kJgeK:
				taken = a >= o.imm
			case kJgeX:
				taken = a >= r[o.src&15]
			case kJltK:
				taken = a < o.imm
			case kJltX:
				taken = a < r[o.src&15]
			case kJleK:
				taken = a <= o.imm
			case kJleX:
				taken = a <= r[o.src&15]
			case kJsgtK:
				taken = int64(a) > int64(o.imm)
			case kJsgtX:
				taken = int64(a) > int64(r[o.src&15])
			case kJsgeK:
				taken = int64(a) >= int64(o.imm)
			case kJsgeX:
				taken = int64(a) >= int64(r[o.src&15])
			case kJsltK:
				taken = int64(a) < int64(o.imm)
			case kJsltX:
				taken = int64(a) < int64(r[o.src&15])
			case kJsleK:
				taken = int64(a) <= int64(o.imm)
			case kJsleX:
				taken = int64(a) <= int64(r[o.src&15])
			case kJsetK:
				taken = a&o.imm != 0
			case kJsetX:
				taken = a&r[o.src&15] != 0
			case kJmp32K:
				taken = jumpCond32(JumpOp(o.aux), a, o.imm)
			case kJmp32X:
				taken = jumpCond32(JumpOp(o.aux), a, r[o.src&15])
			case kMayGoto:
				taken = m.mayGoto()
			}
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

		case kAddJeqK, kAddJneK, kAddJgtK, kAddJgeK, kAddJltK, kAddJleK,
			kAddJsgtK, kAddJsgeK, kAddJsltK, kAddJsleK, kAddJsetK:
			a := r[o.dst&15] + o.imm2
			r[o.dst&15] = a
			var taken bool
			switch o.kind {
			case kAddJeqK:
				taken = a == o.imm
			case kAddJneK:
				taken = a != o.imm
			case kAddJgtK:
				taken = a > o.imm
			case kAddJgeK:
				taken = a >= o.imm
			case kAddJltK:
				taken = a < o.imm
			case kAddJleK:
				taken = a <= o.imm
			case kAddJsgtK:
				taken = int64(a) > int64(o.imm)
			case kAddJsgeK:
				taken = int64(a) >= int64(o.imm)
			case kAddJsltK:
				taken = int64(a) < int64(o.imm)
			case kAddJsleK:
				taken = int64(a) <= int64(o.imm)
			case kAddJsetK:
				taken = a&o.imm != 0
			}
			if taken {
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

		case kCall:
			if e := m.invoke(pc, c.m.orig[pc], c.m.orig[pc].Src, c.m.orig[pc].Imm, c.funcs[o.target]); e != nil {
				return e
			}
		case kCallLocal:
			if e := m.enter(pc, int(o.target), c.m.orig[pc]); e != nil {
				return e
			}
			pc = int(o.target)
			budget -= int64(o.chargeT)
			if budget < 0 {
				goto short
			}
			continue
		case kExit:
			if m.depth == 1 {
				m.budget = budget
				return nil
			}
			pc = m.leave()
			budget -= int64(c.charges[pc])
			if budget < 0 {
				goto short
			}
			continue

		// Loads and stores on the stack or in the cached region of
		// Config.Memory; anything else goes to step.
		case kLdxDW:
			addr := r[o.src&15] + o.imm
			if i := addr - m.stackBase; i >= m.stackMin && i <= stackBytes-8 {
				r[o.dst&15] = binary.LittleEndian.Uint64(m.stack[i:])
			} else if b := window(m.mem.rbase, m.mem.rbuf, addr, 8); b != nil {
				r[o.dst&15] = binary.LittleEndian.Uint64(b)
			} else {
				goto slow
			}
		case kLdxW:
			addr := r[o.src&15] + o.imm
			if i := addr - m.stackBase; i >= m.stackMin && i <= stackBytes-4 {
				r[o.dst&15] = uint64(binary.LittleEndian.Uint32(m.stack[i:]))
			} else if b := window(m.mem.rbase, m.mem.rbuf, addr, 4); b != nil {
				r[o.dst&15] = uint64(binary.LittleEndian.Uint32(b))
			} else {
				goto slow
			}
		case kLdxB:
			addr := r[o.src&15] + o.imm
			if i := addr - m.stackBase; i >= m.stackMin && i < stackBytes {
				r[o.dst&15] = uint64(m.stack[i])
			} else if b := window(m.mem.rbase, m.mem.rbuf, addr, 1); b != nil {
				r[o.dst&15] = uint64(b[0])
			} else {
				goto slow
			}
		case kStxDW, kStDW:
			addr := r[o.dst&15] + o.imm
			v := o.imm2
			if o.kind == kStxDW {
				v = r[o.src&15]
			}
			if i := addr - m.stackBase; i >= m.stackMin && i <= stackBytes-8 {
				binary.LittleEndian.PutUint64(m.stack[i:], v)
			} else if b := window(m.mem.wbase, m.mem.wbuf, addr, 8); b != nil {
				binary.LittleEndian.PutUint64(b, v)
			} else {
				goto slow
			}
		case kStxW, kStW:
			addr := r[o.dst&15] + o.imm
			v := o.imm2
			if o.kind == kStxW {
				v = r[o.src&15]
			}
			if i := addr - m.stackBase; i >= m.stackMin && i <= stackBytes-4 {
				binary.LittleEndian.PutUint32(m.stack[i:], uint32(v))
			} else if b := window(m.mem.wbase, m.mem.wbuf, addr, 4); b != nil {
				binary.LittleEndian.PutUint32(b, uint32(v))
			} else {
				goto slow
			}
		case kStxB, kStB:
			addr := r[o.dst&15] + o.imm
			v := o.imm2
			if o.kind == kStxB {
				v = r[o.src&15]
			}
			if i := addr - m.stackBase; i >= m.stackMin && i < stackBytes {
				m.stack[i] = byte(v)
			} else if b := window(m.mem.wbase, m.mem.wbuf, addr, 1); b != nil {
				b[0] = byte(v)
			} else {
				goto slow
			}
		case kProbeLdx:
			r[o.dst&15] = m.probeLoad(pc, r[o.src&15], o.off, int(o.aux))
		case kProbeLdxSX:
			v := m.probeLoad(pc, r[o.src&15], o.off, int(o.aux))
			switch o.aux {
			case 4:
				v = uint64(int64(int32(v)))
			case 2:
				v = uint64(int64(int16(v)))
			default:
				v = uint64(int64(int8(v)))
			}
			r[o.dst&15] = v
		case kProbeSt:
			m.probeStore(pc, r[o.dst&15], o.off, int(o.aux), o.imm2)
		case kProbeStx:
			m.probeStore(pc, r[o.dst&15], o.off, int(o.aux), r[o.src&15])

		// Superinstructions: each covers two slots.
		case kMovAdd64K:
			r[o.dst&15] = r[o.src&15] + o.imm
			pc++
		case kMovAnd64K:
			r[o.dst&15] = r[o.src&15] & o.imm
			pc++
		case kMovOr64K:
			r[o.dst&15] = r[o.src&15] | o.imm
			pc++
		case kMovXor64K:
			r[o.dst&15] = r[o.src&15] ^ o.imm
			pc++
		case kMovLsh64K:
			r[o.dst&15] = r[o.src&15] << (o.imm & 63)
			pc++
		case kMovRsh64K:
			r[o.dst&15] = r[o.src&15] >> (o.imm & 63)
			pc++
		case kMovArsh64K:
			r[o.dst&15] = uint64(int64(r[o.src&15]) >> (o.imm & 63))
			pc++
		case kMovMul64K:
			r[o.dst&15] = r[o.src&15] * o.imm
			pc++
		case kMovAdd64X:
			r[o.dst&15] = r[o.src&15] + r[o.aux&15]
			pc++
		case kMovSub64X:
			r[o.dst&15] = r[o.src&15] - r[o.aux&15]
			pc++
		case kMovAnd64X:
			r[o.dst&15] = r[o.src&15] & r[o.aux&15]
			pc++
		case kMovOr64X:
			r[o.dst&15] = r[o.src&15] | r[o.aux&15]
			pc++
		case kMovXor64X:
			r[o.dst&15] = r[o.src&15] ^ r[o.aux&15]
			pc++
		case kMovMul64X:
			r[o.dst&15] = r[o.src&15] * r[o.aux&15]
			pc++
		case kLdxDWAdd, kLdxDWOr, kLdxDWXor, kLdxDWAnd, kLdxDWSub:
			addr := r[o.src&15] + o.imm
			var v uint64
			if i := addr - m.stackBase; i >= m.stackMin && i <= stackBytes-8 {
				v = binary.LittleEndian.Uint64(m.stack[i:])
			} else if b := window(m.mem.rbase, m.mem.rbuf, addr, 8); b != nil {
				v = binary.LittleEndian.Uint64(b)
			} else {
				var err error
				if v, err = m.mem.load(addr, 8); err != nil {
					return badAccess(pc, c.m.orig[pc], addr, 8, false, err)
				}
			}
			r[o.dst&15] = v
			switch o.kind {
			case kLdxDWAdd:
				r[o.aux&15] += v
			case kLdxDWOr:
				r[o.aux&15] |= v
			case kLdxDWXor:
				r[o.aux&15] ^= v
			case kLdxDWAnd:
				r[o.aux&15] &= v
			default:
				r[o.aux&15] -= v
			}
			pc++

		default: // kStep, kTrap
			goto slow
		}
		pc++
		continue
	slow: // an instruction that does not transfer control, or a trap
		var next int
		if next, e = m.step(pc); e != nil {
			return e
		}
		pc = next
	}
short:
	// The run starting at pc costs more than what is left.
	return m.outOfBudget(pc, budget+int64(c.charges[pc]))
}

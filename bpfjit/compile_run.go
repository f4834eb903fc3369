package bpfjit

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
func addReg(r *[16]uint64, o *cop) uint64 {
	v := r[o.dst&15] + uint64(int64(o.imm2))
	r[o.dst&15] = v
	return v
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
	var taken bool
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
		case kJeqK:
			taken = r[o.dst&15] == o.imm
			goto branch
		case kJeqX:
			taken = r[o.dst&15] == r[o.src&15]
			goto branch
		case kJneK:
			taken = r[o.dst&15] != o.imm
			goto branch
		case kJneX:
			taken = r[o.dst&15] != r[o.src&15]
			goto branch
		case kJgtK:
			taken = r[o.dst&15] > o.imm
			goto branch
		case kJgtX:
			taken = r[o.dst&15] > r[o.src&15]
			goto branch
		case kJgeK:
			taken = r[o.dst&15] >= o.imm
			goto branch
		case kJgeX:
			taken = r[o.dst&15] >= r[o.src&15]
			goto branch
		case kJltK:
			taken = r[o.dst&15] < o.imm
			goto branch
		case kJltX:
			taken = r[o.dst&15] < r[o.src&15]
			goto branch
		case kJleK:
			taken = r[o.dst&15] <= o.imm
			goto branch
		case kJleX:
			taken = r[o.dst&15] <= r[o.src&15]
			goto branch
		case kJsgtK:
			taken = int64(r[o.dst&15]) > int64(o.imm)
			goto branch
		case kJsgtX:
			taken = int64(r[o.dst&15]) > int64(r[o.src&15])
			goto branch
		case kJsgeK:
			taken = int64(r[o.dst&15]) >= int64(o.imm)
			goto branch
		case kJsgeX:
			taken = int64(r[o.dst&15]) >= int64(r[o.src&15])
			goto branch
		case kJsltK:
			taken = int64(r[o.dst&15]) < int64(o.imm)
			goto branch
		case kJsltX:
			taken = int64(r[o.dst&15]) < int64(r[o.src&15])
			goto branch
		case kJsleK:
			taken = int64(r[o.dst&15]) <= int64(o.imm)
			goto branch
		case kJsleX:
			taken = int64(r[o.dst&15]) <= int64(r[o.src&15])
			goto branch
		case kJsetK:
			taken = r[o.dst&15]&o.imm != 0
			goto branch
		case kJsetX:
			taken = r[o.dst&15]&r[o.src&15] != 0
			goto branch
		case kMayGoto:
			taken = m.mayGoto()
			goto branch

		// add rD, K; if rD op K2 goto: the jump's fields, K in imm2.
		case kAddJeqK:
			taken = addReg(r, o) == o.imm
			goto branch2
		case kAddJneK:
			taken = addReg(r, o) != o.imm
			goto branch2
		case kAddJgtK:
			taken = addReg(r, o) > o.imm
			goto branch2
		case kAddJgeK:
			taken = addReg(r, o) >= o.imm
			goto branch2
		case kAddJltK:
			taken = addReg(r, o) < o.imm
			goto branch2
		case kAddJleK:
			taken = addReg(r, o) <= o.imm
			goto branch2
		case kAddJsgtK:
			taken = int64(addReg(r, o)) > int64(o.imm)
			goto branch2
		case kAddJsgeK:
			taken = int64(addReg(r, o)) >= int64(o.imm)
			goto branch2
		case kAddJsltK:
			taken = int64(addReg(r, o)) < int64(o.imm)
			goto branch2
		case kAddJsleK:
			taken = int64(addReg(r, o)) <= int64(o.imm)
			goto branch2
		case kAddJsetK:
			taken = addReg(r, o)&o.imm != 0
			goto branch2

		// Loads and stores in the stack or the cached region of
		// Config.Memory; anything else goes to step.
		case kLdxDW:
			v, ok := m.fastLoad64(r[o.src&15] + o.imm)
			if !ok {
				goto slow
			}
			r[o.dst&15] = v
		case kLdxW:
			v, ok := m.fastLoad32(r[o.src&15] + o.imm)
			if !ok {
				goto slow
			}
			r[o.dst&15] = v
		case kLdxB:
			v, ok := m.fastLoad8(r[o.src&15] + o.imm)
			if !ok {
				goto slow
			}
			r[o.dst&15] = v
		case kStxDW:
			if !m.fastStore64(r[o.dst&15]+o.imm, r[o.src&15]) {
				goto slow
			}
		case kStxW:
			if !m.fastStore32(r[o.dst&15]+o.imm, r[o.src&15]) {
				goto slow
			}
		case kStxB:
			if !m.fastStore8(r[o.dst&15]+o.imm, r[o.src&15]) {
				goto slow
			}
		case kStDW:
			if !m.fastStore64(r[o.dst&15]+o.imm, uint64(int64(o.imm2))) {
				goto slow
			}
		case kStW:
			if !m.fastStore32(r[o.dst&15]+o.imm, uint64(int64(o.imm2))) {
				goto slow
			}
		case kStB:
			if !m.fastStore8(r[o.dst&15]+o.imm, uint64(int64(o.imm2))) {
				goto slow
			}

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
		// Pairs: the second op reads what the first wrote, as it would in sequence.
		case kPairAddAdd:
			r[o.dst&15] += r[o.src&15]
			r[o.aux&15] += r[o.aux2&15]
			pc++
		case kPairAddSub:
			r[o.dst&15] += r[o.src&15]
			r[o.aux&15] -= r[o.aux2&15]
			pc++
		case kPairAddXor:
			r[o.dst&15] += r[o.src&15]
			r[o.aux&15] ^= r[o.aux2&15]
			pc++
		case kPairAddAnd:
			r[o.dst&15] += r[o.src&15]
			r[o.aux&15] &= r[o.aux2&15]
			pc++
		case kPairAddOr:
			r[o.dst&15] += r[o.src&15]
			r[o.aux&15] |= r[o.aux2&15]
			pc++
		case kPairSubAdd:
			r[o.dst&15] -= r[o.src&15]
			r[o.aux&15] += r[o.aux2&15]
			pc++
		case kPairSubSub:
			r[o.dst&15] -= r[o.src&15]
			r[o.aux&15] -= r[o.aux2&15]
			pc++
		case kPairSubXor:
			r[o.dst&15] -= r[o.src&15]
			r[o.aux&15] ^= r[o.aux2&15]
			pc++
		case kPairSubAnd:
			r[o.dst&15] -= r[o.src&15]
			r[o.aux&15] &= r[o.aux2&15]
			pc++
		case kPairSubOr:
			r[o.dst&15] -= r[o.src&15]
			r[o.aux&15] |= r[o.aux2&15]
			pc++
		case kPairXorAdd:
			r[o.dst&15] ^= r[o.src&15]
			r[o.aux&15] += r[o.aux2&15]
			pc++
		case kPairXorSub:
			r[o.dst&15] ^= r[o.src&15]
			r[o.aux&15] -= r[o.aux2&15]
			pc++
		case kPairXorXor:
			r[o.dst&15] ^= r[o.src&15]
			r[o.aux&15] ^= r[o.aux2&15]
			pc++
		case kPairXorAnd:
			r[o.dst&15] ^= r[o.src&15]
			r[o.aux&15] &= r[o.aux2&15]
			pc++
		case kPairXorOr:
			r[o.dst&15] ^= r[o.src&15]
			r[o.aux&15] |= r[o.aux2&15]
			pc++
		case kPairAndAdd:
			r[o.dst&15] &= r[o.src&15]
			r[o.aux&15] += r[o.aux2&15]
			pc++
		case kPairAndSub:
			r[o.dst&15] &= r[o.src&15]
			r[o.aux&15] -= r[o.aux2&15]
			pc++
		case kPairAndXor:
			r[o.dst&15] &= r[o.src&15]
			r[o.aux&15] ^= r[o.aux2&15]
			pc++
		case kPairAndAnd:
			r[o.dst&15] &= r[o.src&15]
			r[o.aux&15] &= r[o.aux2&15]
			pc++
		case kPairAndOr:
			r[o.dst&15] &= r[o.src&15]
			r[o.aux&15] |= r[o.aux2&15]
			pc++
		case kPairOrAdd:
			r[o.dst&15] |= r[o.src&15]
			r[o.aux&15] += r[o.aux2&15]
			pc++
		case kPairOrSub:
			r[o.dst&15] |= r[o.src&15]
			r[o.aux&15] -= r[o.aux2&15]
			pc++
		case kPairOrXor:
			r[o.dst&15] |= r[o.src&15]
			r[o.aux&15] ^= r[o.aux2&15]
			pc++
		case kPairOrAnd:
			r[o.dst&15] |= r[o.src&15]
			r[o.aux&15] &= r[o.aux2&15]
			pc++
		case kPairOrOr:
			r[o.dst&15] |= r[o.src&15]
			r[o.aux&15] |= r[o.aux2&15]
			pc++
		case kMovLshAdd64X:
			v := r[o.src&15] << (o.imm & 63)
			r[o.dst&15] = v
			r[o.aux&15] += v
			pc += 2
		case kLdxDWAdd:
			v, ok := m.fastLoad64(r[o.src&15] + o.imm)
			if !ok {
				goto slow // the load alone; the op in the next slot follows
			}
			r[o.dst&15] = v
			r[o.aux&15] += v
			pc++
		case kLdxDWOr:
			v, ok := m.fastLoad64(r[o.src&15] + o.imm)
			if !ok {
				goto slow // the load alone; the op in the next slot follows
			}
			r[o.dst&15] = v
			r[o.aux&15] |= v
			pc++
		case kLdxDWXor:
			v, ok := m.fastLoad64(r[o.src&15] + o.imm)
			if !ok {
				goto slow // the load alone; the op in the next slot follows
			}
			r[o.dst&15] = v
			r[o.aux&15] ^= v
			pc++
		case kLdxDWAnd:
			v, ok := m.fastLoad64(r[o.src&15] + o.imm)
			if !ok {
				goto slow // the load alone; the op in the next slot follows
			}
			r[o.dst&15] = v
			r[o.aux&15] &= v
			pc++
		case kLdxDWSub:
			v, ok := m.fastLoad64(r[o.src&15] + o.imm)
			if !ok {
				goto slow // the load alone; the op in the next slot follows
			}
			r[o.dst&15] = v
			r[o.aux&15] -= v
			pc++

		case kTrap, kStep, 255: // 0 to 255: the jump table needs no bounds check
			goto slow
		default: // the ops that call out: calls, exit, arena accesses, JMP32
			goto slow
		}
		pc++
		continue
	branch2: // a fused jump, one slot further on when it falls through
		pc++
	branch: // a conditional jump: pick the next slot and pay for its run
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
			v = r[o.src&15]
		}
		if jumpCond32(JumpOp(o.aux), r[o.dst&15], v) {
			next = int(o.target)
		}
	case kProbeLdx:
		r[o.dst&15] = m.probeLoad(pc, r[o.src&15], o.off, int(o.aux))
		return next, budget, nil
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
		return next, budget, nil
	case kProbeSt:
		m.probeStore(pc, r[o.dst&15], o.off, int(o.aux), uint64(int64(o.imm2)))
		return next, budget, nil
	case kProbeStx:
		m.probeStore(pc, r[o.dst&15], o.off, int(o.aux), r[o.src&15])
		return next, budget, nil
	default: // kTrap, kStep and the fast paths that missed: no control transfer
		next, e := m.step(pc)
		return next, budget, e
	}
	budget, e := m.enterRun(next, budget)
	return next, budget, e
}

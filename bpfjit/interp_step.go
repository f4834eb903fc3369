package bpfjit

// step executes the instruction at pc, whatever it is, and returns the slot
// to continue at, or -1 after the program's final exit. It is the complete
// semantics of one instruction: the interpreter's loop inlines the frequent
// cases and hands every other one to step, and the compiled engine uses it
// for the rare ones. It does not count the instruction against the budget.
func (m *machine) step(pc int) (int, *Error) {
	r := &m.regs
	ins := &m.code[pc]
	d, s := ins.Dst&15, ins.Src&15
	imm := uint64(int64(ins.Imm)) // sign-extended, as ALU64 and JMP use it
	switch ins.Code {
	// ALU64, immediate source.
	case 0x07:
		r[d] += imm
	case 0x17:
		r[d] -= imm
	case 0x27:
		r[d] *= imm
	case 0x37:
		if ins.Off == 0 {
			r[d] = div64(r[d], imm)
		} else {
			r[d] = sdiv64(r[d], imm)
		}
	case 0x47:
		r[d] |= imm
	case 0x57:
		r[d] &= imm
	case 0x67:
		r[d] <<= imm & 63
	case 0x77:
		r[d] >>= imm & 63
	case 0x87:
		r[d] = -r[d]
	case 0x97:
		if ins.Off == 0 {
			r[d] = mod64(r[d], imm)
		} else {
			r[d] = smod64(r[d], imm)
		}
	case 0xa7:
		r[d] ^= imm
	case 0xb7:
		r[d] = imm
	case 0xc7:
		r[d] = uint64(int64(r[d]) >> (imm & 63))
	case 0xd7:
		r[d] = bswap(r[d], ins.Imm)

	// ALU64, register source.
	case 0x0f:
		r[d] += r[s]
	case 0x1f:
		r[d] -= r[s]
	case 0x2f:
		r[d] *= r[s]
	case 0x3f:
		if ins.Off == 0 {
			r[d] = div64(r[d], r[s])
		} else {
			r[d] = sdiv64(r[d], r[s])
		}
	case 0x4f:
		r[d] |= r[s]
	case 0x5f:
		r[d] &= r[s]
	case 0x6f:
		r[d] <<= r[s] & 63
	case 0x7f:
		r[d] >>= r[s] & 63
	case 0x9f:
		if ins.Off == 0 {
			r[d] = mod64(r[d], r[s])
		} else {
			r[d] = smod64(r[d], r[s])
		}
	case 0xaf:
		r[d] ^= r[s]
	case 0xbf:
		switch ins.Off {
		case 0:
			r[d] = r[s]
		case AddrSpaceCast:
			if ins.Imm == CastUserImm {
				r[d] = m.castUser(r[s])
			} else { // cast_kern, before the verifier turns it into w = w
				r[d] = uint64(uint32(r[s]))
			}
		default:
			r[d] = movsx64(r[s], ins.Off)
		}
	case 0xcf:
		r[d] = uint64(int64(r[d]) >> (r[s] & 63))

	// ALU (32-bit), immediate source: results are zero-extended.
	case 0x04:
		r[d] = uint64(uint32(r[d]) + uint32(ins.Imm))
	case 0x14:
		r[d] = uint64(uint32(r[d]) - uint32(ins.Imm))
	case 0x24:
		r[d] = uint64(uint32(r[d]) * uint32(ins.Imm))
	case 0x34:
		if ins.Off == 0 {
			r[d] = div32(r[d], imm)
		} else {
			r[d] = sdiv32(r[d], imm)
		}
	case 0x44:
		r[d] = uint64(uint32(r[d]) | uint32(ins.Imm))
	case 0x54:
		r[d] = uint64(uint32(r[d]) & uint32(ins.Imm))
	case 0x64:
		r[d] = uint64(uint32(r[d]) << (uint32(ins.Imm) & 31))
	case 0x74:
		r[d] = uint64(uint32(r[d]) >> (uint32(ins.Imm) & 31))
	case 0x84:
		r[d] = uint64(-uint32(r[d]))
	case 0x94:
		if ins.Off == 0 {
			r[d] = mod32(r[d], imm)
		} else {
			r[d] = smod32(r[d], imm)
		}
	case 0xa4:
		r[d] = uint64(uint32(r[d]) ^ uint32(ins.Imm))
	case 0xb4:
		r[d] = uint64(uint32(ins.Imm))
	case 0xc4:
		r[d] = uint64(uint32(int32(r[d]) >> (uint32(ins.Imm) & 31)))
	case 0xd4:
		r[d] = truncLE(r[d], ins.Imm)

	// ALU (32-bit), register source.
	case 0x0c:
		r[d] = uint64(uint32(r[d]) + uint32(r[s]))
	case 0x1c:
		r[d] = uint64(uint32(r[d]) - uint32(r[s]))
	case 0x2c:
		r[d] = uint64(uint32(r[d]) * uint32(r[s]))
	case 0x3c:
		if ins.Off == 0 {
			r[d] = div32(r[d], r[s])
		} else {
			r[d] = sdiv32(r[d], r[s])
		}
	case 0x4c:
		r[d] = uint64(uint32(r[d]) | uint32(r[s]))
	case 0x5c:
		r[d] = uint64(uint32(r[d]) & uint32(r[s]))
	case 0x6c:
		r[d] = uint64(uint32(r[d]) << (uint32(r[s]) & 31))
	case 0x7c:
		r[d] = uint64(uint32(r[d]) >> (uint32(r[s]) & 31))
	case 0x9c:
		if ins.Off == 0 {
			r[d] = mod32(r[d], r[s])
		} else {
			r[d] = smod32(r[d], r[s])
		}
	case 0xac:
		r[d] = uint64(uint32(r[d]) ^ uint32(r[s]))
	case 0xbc:
		r[d] = movsx32(r[s], ins.Off)
	case 0xcc:
		r[d] = uint64(uint32(int32(r[d]) >> (uint32(r[s]) & 31)))
	case 0xdc:
		r[d] = bswap(r[d], ins.Imm)

	// JMP, immediate source (compared with the sign-extended imm).
	case 0x05:
		pc += int(ins.Off)
	case 0x15:
		if r[d] == imm {
			pc += int(ins.Off)
		}
	case 0x25:
		if r[d] > imm {
			pc += int(ins.Off)
		}
	case 0x35:
		if r[d] >= imm {
			pc += int(ins.Off)
		}
	case 0x45:
		if r[d]&imm != 0 {
			pc += int(ins.Off)
		}
	case 0x55:
		if r[d] != imm {
			pc += int(ins.Off)
		}
	case 0x65:
		if int64(r[d]) > int64(imm) {
			pc += int(ins.Off)
		}
	case 0x75:
		if int64(r[d]) >= int64(imm) {
			pc += int(ins.Off)
		}
	case 0xa5:
		if r[d] < imm {
			pc += int(ins.Off)
		}
	case 0xb5:
		if r[d] <= imm {
			pc += int(ins.Off)
		}
	case 0xc5:
		if int64(r[d]) < int64(imm) {
			pc += int(ins.Off)
		}
	case 0xd5:
		if int64(r[d]) <= int64(imm) {
			pc += int(ins.Off)
		}
	case 0xe5: // may_goto
		if m.mayGoto() {
			pc += int(ins.Off)
		}
	case 0x85:
		switch ins.Src {
		case CallLocal:
			if e := m.enter(pc, pc+1+int(ins.Imm), *ins); e != nil {
				return 0, e
			}
			pc += int(ins.Imm)
		default:
			if e := m.callFunc(pc, *ins, ins.Src, ins.Imm); e != nil {
				return 0, e
			}
		}
	case 0x95:
		if m.depth == 1 {
			return -1, nil
		}
		pc = m.leave() - 1

	// JMP, register source.
	case 0x1d:
		if r[d] == r[s] {
			pc += int(ins.Off)
		}
	case 0x2d:
		if r[d] > r[s] {
			pc += int(ins.Off)
		}
	case 0x3d:
		if r[d] >= r[s] {
			pc += int(ins.Off)
		}
	case 0x4d:
		if r[d]&r[s] != 0 {
			pc += int(ins.Off)
		}
	case 0x5d:
		if r[d] != r[s] {
			pc += int(ins.Off)
		}
	case 0x6d:
		if int64(r[d]) > int64(r[s]) {
			pc += int(ins.Off)
		}
	case 0x7d:
		if int64(r[d]) >= int64(r[s]) {
			pc += int(ins.Off)
		}
	case 0xad:
		if r[d] < r[s] {
			pc += int(ins.Off)
		}
	case 0xbd:
		if r[d] <= r[s] {
			pc += int(ins.Off)
		}
	case 0xcd:
		if int64(r[d]) < int64(r[s]) {
			pc += int(ins.Off)
		}
	case 0xdd:
		if int64(r[d]) <= int64(r[s]) {
			pc += int(ins.Off)
		}
	case 0x8d:
		if e := m.callx(pc, *ins); e != nil {
			return 0, e
		}

	// JMP32: gotol, then the comparisons on the low 32 bits.
	case 0x06:
		pc += int(ins.Imm)
	case 0x16, 0x26, 0x36, 0x46, 0x56, 0x66, 0x76, 0xa6, 0xb6, 0xc6, 0xd6:
		if jumpCond32(ins.Code.JumpOp(), r[d], imm) {
			pc += int(ins.Off)
		}
	case 0x1e, 0x2e, 0x3e, 0x4e, 0x5e, 0x6e, 0x7e, 0xae, 0xbe, 0xce, 0xde:
		if jumpCond32(ins.Code.JumpOp(), r[d], r[s]) {
			pc += int(ins.Off)
		}

	// LD_IMM64: two slots.
	case 0x18:
		r[d] = uint64(uint32(ins.Imm)) | uint64(uint32(m.code[pc+1].Imm))<<32
		pc++

	// LDX, MEM and MEMSX.
	case 0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91:
		addr := r[s] + uint64(int64(ins.Off))
		var v uint64
		var err error
		switch ins.Code {
		case 0x79:
			v, err = m.loadAny(addr, 8)
		case 0x61:
			v, err = m.loadAny(addr, 4)
		case 0x69:
			v, err = m.loadAny(addr, 2)
		case 0x71:
			v, err = m.loadAny(addr, 1)
		case 0x81:
			v, err = m.loadAny(addr, 4)
			v = uint64(int64(int32(v)))
		case 0x89:
			v, err = m.loadAny(addr, 2)
			v = uint64(int64(int16(v)))
		default:
			v, err = m.loadAny(addr, 1)
			v = uint64(int64(int8(v)))
		}
		if err != nil {
			return 0, badAccess(pc, *ins, addr, ins.Code.Size().Bytes(), false, err)
		}
		r[d] = v

	// ST and STX, MEM.
	case 0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73, 0x7b:
		addr := r[d] + uint64(int64(ins.Off))
		v := imm
		if ins.Code.Class() == StXClass {
			v = r[s]
		}
		var err error
		switch ins.Code.Size() {
		case DWord:
			err = m.storeAny(addr, 8, v)
		case Word:
			err = m.storeAny(addr, 4, v)
		case Half:
			err = m.storeAny(addr, 2, v)
		default:
			err = m.storeAny(addr, 1, v)
		}
		if err != nil {
			return 0, badAccess(pc, *ins, addr, ins.Code.Size().Bytes(), true, err)
		}

	// PROBE_MEM32 loads (zero- and sign-extending) and stores.
	case 0xa1, 0xa9, 0xb1, 0xb9:
		r[d] = m.probeLoad(pc, r[s], ins.Off, ins.Code.Size().Bytes())
	case 0xc1:
		r[d] = uint64(int64(int32(m.probeLoad(pc, r[s], ins.Off, 4))))
	case 0xc9:
		r[d] = uint64(int64(int16(m.probeLoad(pc, r[s], ins.Off, 2))))
	case 0xd1:
		r[d] = uint64(int64(int8(m.probeLoad(pc, r[s], ins.Off, 1))))
	case 0xa2, 0xaa, 0xb2, 0xba:
		m.probeStore(pc, r[d], ins.Off, ins.Code.Size().Bytes(), imm)
	case 0xa3, 0xab, 0xb3, 0xbb:
		m.probeStore(pc, r[d], ins.Off, ins.Code.Size().Bytes(), r[s])

	// Atomics, normal and PROBE_ATOMIC.
	case 0xc3, 0xcb, 0xd3, 0xdb:
		if e := m.atomic(pc, *ins, false); e != nil {
			return 0, e
		}
	case 0xe3, 0xeb, 0xf3, 0xfb:
		m.atomic(pc, *ins, true)

	default: // opcode 0: a slot checkInsn rejected, or past the end
		return 0, invalid(m.orig, pc)
	}
	return pc + 1, nil
}

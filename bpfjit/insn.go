package bpfjit

import (
	"encoding/binary"
	"fmt"

	"github.com/arenasim/arenasim/internal/errno"
)

// InsnSize is the size of one instruction slot in bytes.
const InsnSize = 8

// Insn is one 8-byte instruction slot (struct bpf_insn):
//
//	byte 0     byte 1         bytes 2-3  bytes 4-7
//	+--------+-------+-------+----------+----------+
//	| opcode | src:4 | dst:4 |  off s16 |  imm s32 |
//	+--------+-------+-------+----------+----------+
//
// (little-endian: dst is the low nibble of byte 1). A BPF_LD_IMM64 occupies
// two slots; the second has a zero opcode, registers and offset, and its Imm
// holds the upper 32 bits of the constant.
type Insn struct {
	Code Opcode
	Dst  Register
	Src  Register
	Off  int16
	Imm  int32
}

// Decode reads one slot from the first 8 bytes of b (little-endian, as on x86-64).
// Register fields are taken as they are (0-15); the verifier rejects r11-r15.
func Decode(b []byte) Insn {
	return Insn{
		Code: Opcode(b[0]),
		Dst:  Register(b[1] & 0x0f),
		Src:  Register(b[1] >> 4),
		Off:  int16(binary.LittleEndian.Uint16(b[2:])),
		Imm:  int32(binary.LittleEndian.Uint32(b[4:])),
	}
}

// Encode writes the slot into the first 8 bytes of b.
func (ins Insn) Encode(b []byte) {
	b[0] = byte(ins.Code)
	b[1] = byte(ins.Dst&0x0f) | byte(ins.Src&0x0f)<<4
	binary.LittleEndian.PutUint16(b[2:], uint16(ins.Off))
	binary.LittleEndian.PutUint32(b[4:], uint32(ins.Imm))
}

// DecodeProgram splits b into slots. It fails with EINVAL if len(b) is not a
// multiple of 8 (as BPF_PROG_LOAD does for insn_cnt*8 bytes).
func DecodeProgram(b []byte) ([]Insn, error) {
	if len(b)%InsnSize != 0 {
		return nil, errno.Errorf(errno.EINVAL, "program of %d bytes is not a whole number of %d-byte instructions", len(b), InsnSize)
	}
	insns := make([]Insn, len(b)/InsnSize)
	for i := range insns {
		insns[i] = Decode(b[i*InsnSize:])
	}
	return insns, nil
}

// EncodeProgram returns the byte form of insns.
func EncodeProgram(insns []Insn) []byte {
	b := make([]byte, len(insns)*InsnSize)
	for i, ins := range insns {
		ins.Encode(b[i*InsnSize:])
	}
	return b
}

// LdImm64 is the opcode of the wide load (BPF_LD | BPF_IMM | BPF_DW, 0x18).
const LdImm64 = Opcode(uint8(LdClass) | uint8(ImmMode) | uint8(DWord))

// IsLdImm64 reports whether ins is the first slot of a wide load.
func (ins Insn) IsLdImm64() bool { return ins.Code == LdImm64 }

// LdImm64Insns returns the two slots loading v into dst, with the given
// pseudo source (PseudoNone for a plain constant).
func LdImm64Insns(dst Register, pseudo Register, v uint64) [2]Insn {
	return [2]Insn{
		{Code: LdImm64, Dst: dst, Src: pseudo, Imm: int32(uint32(v))},
		{Imm: int32(uint32(v >> 32))},
	}
}

// Imm64 returns the constant of a wide load whose second slot is next.
func (ins Insn) Imm64(next Insn) uint64 {
	return uint64(uint32(ins.Imm)) | uint64(uint32(next.Imm))<<32
}

// Pseudo source values of BPF_LD_IMM64 (include/uapi/linux/bpf.h).
const (
	PseudoNone        Register = 0
	PseudoMapFD       Register = 1 // BPF_PSEUDO_MAP_FD
	PseudoMapValue    Register = 2 // BPF_PSEUDO_MAP_VALUE
	PseudoBTFID       Register = 3 // BPF_PSEUDO_BTF_ID
	PseudoFunc        Register = 4 // BPF_PSEUDO_FUNC
	PseudoMapIdx      Register = 5 // BPF_PSEUDO_MAP_IDX
	PseudoMapIdxValue Register = 6 // BPF_PSEUDO_MAP_IDX_VALUE
)

// Call kinds, carried in the Src field of BPF_JMP | BPF_CALL.
const (
	CallHelper Register = 0 // imm is a helper id
	CallLocal  Register = 1 // BPF_PSEUDO_CALL: imm is the offset of the callee from the next insn
	CallKfunc  Register = 2 // BPF_PSEUDO_KFUNC_CALL: imm is the kfunc's BTF id
)

// MayGoto is the Src value of BPF_JMP | BPF_JCOND that means may_goto (BPF_MAY_GOTO).
const MayGoto Register = 0

// AddrSpaceCast is the Off value that turns BPF_ALU64 | BPF_MOV | BPF_X into
// addr_space_cast (BPF_ADDR_SPACE_CAST); Imm is dst_as<<16 | src_as.
const AddrSpaceCast = 1

// The two addr_space_cast immediates the kernel accepts.
const (
	CastKernImm = 0x00000001 // as1 -> as0: cast_kern, dst = (u32)src
	CastUserImm = 0x00010000 // as0 -> as1: cast_user
)

// Atomic operations, carried in Imm of BPF_STX | BPF_ATOMIC.
const (
	AtomicFetch    = 0x01  // BPF_FETCH
	AtomicAdd      = 0x00  // BPF_ADD
	AtomicOr       = 0x40  // BPF_OR
	AtomicAnd      = 0x50  // BPF_AND
	AtomicXor      = 0xa0  // BPF_XOR
	AtomicXchg     = 0xe1  // BPF_XCHG (0xe0 | BPF_FETCH)
	AtomicCmpXchg  = 0xf1  // BPF_CMPXCHG (0xf0 | BPF_FETCH)
	AtomicLoadAcq  = 0x100 // BPF_LOAD_ACQ
	AtomicStoreRel = 0x110 // BPF_STORE_REL
)

// IsCastUser reports whether ins is addr_space_cast(src, 1, 0) (insn_is_cast_user
// in include/linux/filter.h).
func (ins Insn) IsCastUser() bool {
	return ins.Code == ALUOpcode(ALU64Class, Mov, RegSource) && ins.Off == AddrSpaceCast && ins.Imm == CastUserImm
}

// IsCastKern reports whether ins is addr_space_cast(src, 0, 1).
func (ins Insn) IsCastKern() bool {
	return ins.Code == ALUOpcode(ALU64Class, Mov, RegSource) && ins.Off == AddrSpaceCast && ins.Imm == CastKernImm
}

// JumpTarget returns the slot index a jump at pc goes to: pc + 1 + off, or
// pc + 1 + imm for gotol (JMP32 | JA) and local calls.
func (ins Insn) JumpTarget(pc int) int {
	if (ins.Code.Class() == Jump32Class && ins.Code.JumpOp() == Ja) ||
		(ins.Code == JumpOpcode(JumpClass, Call, ImmSource) && ins.Src == CallLocal) {
		return pc + 1 + int(ins.Imm)
	}
	return pc + 1 + int(ins.Off)
}

// String prints the raw fields, e.g. "LDX|MEM|DW dst=r0 src=r1 off=8 imm=0".
func (ins Insn) String() string {
	return fmt.Sprintf("%v dst=%v src=%v off=%d imm=%d", ins.Code, ins.Dst, ins.Src, ins.Off, ins.Imm)
}

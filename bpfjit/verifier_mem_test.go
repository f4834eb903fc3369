package bpfjit

import (
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/stretchr/testify/require"
)

// vtLookup is the usual map lookup prologue: key 0 at fp-4, r0 = value or NULL.
func vtLookup(fd int32) []Insn {
	return vProg(
		vSt(Word, R10, -4, 0),
		vMov64Reg(R2, R10),
		vALU64Imm(Add, R2, -4),
		vLdMapFD(R1, fd),
		vCall(FuncMapLookupElem),
	)
}

func TestVerifierStack(t *testing.T) {
	ret0 := []Insn{vMov64Imm(R0, 0), vExit()}
	runVerifierCases(t, []vtCase{
		{name: "spill and fill", prog: vProg(vMov64Imm(R2, 7), vStx(DWord, R10, R2, -8), vLdx(DWord, R0, R10, -8), vExit())},
		{name: "write below the frame", prog: vProg(vSt(DWord, R10, -520, 0), ret0),
			errno: errno.EACCES, insn: 0, msg: "invalid write to stack R10 off=-520 size=8"},
		{name: "write at fp", prog: vProg(vSt(DWord, R10, 0, 0), ret0),
			errno: errno.EACCES, insn: 0, msg: "invalid write to stack R10 off=0 size=8"},
		{name: "write across fp", prog: vProg(vSt(Word, R10, -2, 0), ret0),
			errno: errno.EACCES, insn: 0, msg: "misaligned stack access off 0+0+-2 size 4"},
		{name: "write the last slot", prog: vProg(vSt(DWord, R10, -512, 0), ret0)},
		{name: "read never written stack", prog: vProg(vLdx(DWord, R0, R10, -8), vExit()),
			env:   func(e *VerifyEnv) { e.Caps = CapBPF },
			errno: errno.EACCES, insn: 0, msg: "invalid read from stack R10 off=-8 size=8"},
		{name: "read uninitialised slot", prog: vProg(vSt(DWord, R10, -16, 0), vLdx(DWord, R0, R10, -8), vExit()),
			env:   func(e *VerifyEnv) { e.Caps = CapBPF },
			errno: errno.EACCES, insn: 1, msg: "invalid read from stack off -8+0 size 8"},
		{name: "read partly initialised slot", prog: vProg(vSt(Word, R10, -8, 0), vLdx(DWord, R0, R10, -8), vExit()),
			env:   func(e *VerifyEnv) { e.Caps = CapBPF },
			errno: errno.EACCES, insn: 1, msg: "invalid read from stack off -8+4 size 8"},
		{name: "uninitialised read allowed with CAP_PERFMON", prog: vProg(vLdx(DWord, R0, R10, -8), vExit())},
		{name: "zero slot reads as zero", prog: vProg(vSt(DWord, R10, -8, 0), vLdx(Byte, R2, R10, -3), vJmpImm(JEq, R2, 0, 1),
			vLdx(DWord, R0, R0, 0), vMov64Imm(R0, 0), vExit())},
		{name: "spill pointer partially", prog: vProg(vStx(Word, R10, R1, -8), ret0),
			errno: errno.EACCES, insn: 0, msg: "invalid size of register spill"},
		{name: "fill pointer partially", prog: vProg(vStx(DWord, R10, R1, -8), vLdx(Word, R0, R10, -8), vExit()),
			errno: errno.EACCES, insn: 1, msg: "invalid size of register fill"},
		{name: "corrupt spilled pointer", prog: vProg(vStx(DWord, R10, R1, -8), vSt(Byte, R10, -1, 0), ret0),
			env:   func(e *VerifyEnv) { e.Caps = CapBPF },
			errno: errno.EACCES, insn: 1, msg: "attempt to corrupt spilled pointer on stack"},
		{name: "spilled ctx keeps its type", prog: vProg(vStx(DWord, R10, R1, -8), vLdx(DWord, R2, R10, -8), vLdx(Word, R0, R2, 4), vExit())},
		{name: "variable offset stack write",
			prog: vProg(vLdx(Byte, R2, R1, 0), vALU64Imm(And, R2, 7), vMov64Reg(R3, R10), vALU64Imm(Add, R3, -16),
				vALU64Reg(Add, R3, R2), vSt(Byte, R3, 0, 1), ret0)},
		{name: "variable offset stack write unbounded",
			prog: vProg(vLdx(Byte, R2, R1, 0), vMov64Reg(R3, R10), vALU64Imm(Add, R3, -16),
				vALU64Reg(Add, R3, R2), vSt(Byte, R3, 0, 1), ret0),
			errno: errno.EINVAL, insn: 4, msg: "invalid variable-offset write to stack R3 var_off=(0x0; 0xff) off=-16 size=1"},
	})
}

func TestVerifierCtx(t *testing.T) {
	runVerifierCases(t, []vtCase{
		{name: "ctx load", prog: vProg(vLdx(Word, R0, R1, 60), vExit())},
		{name: "ctx past the end", prog: vProg(vLdx(Word, R0, R1, 62), vExit()),
			errno: errno.EACCES, insn: 0, msg: "invalid bpf_context access off=62 size=4"},
		{name: "ctx negative", prog: vProg(vLdx(Byte, R0, R1, -1), vExit()),
			errno: errno.EACCES, insn: 0, msg: "invalid bpf_context access off=-1 size=1"},
		{name: "modified ctx", prog: vProg(vALU64Imm(Add, R1, 4), vLdx(Word, R0, R1, 0), vExit()),
			errno: errno.EACCES, insn: 1, msg: "dereference of modified ctx ptr R1 off=4 disallowed"},
		{name: "read-only ctx", prog: vProg(vSt(Word, R1, 0, 1), vMov64Imm(R0, 0), vExit()),
			env:   func(e *VerifyEnv) { e.Ctx.ReadOnly = true },
			errno: errno.EACCES, insn: 0, msg: "invalid bpf_context access off=0 size=4"},
		{name: "syscall ctx alignment", prog: vProg(vLdx(Word, R0, R1, 2), vExit()),
			env:   func(e *VerifyEnv) { e.Ctx = SyscallCtx() },
			errno: errno.EACCES, insn: 0, msg: "invalid bpf_context access off=2 size=4"},
		{name: "memory context", prog: vProg(vLdx(Byte, R2, R1, 0), vALU64Imm(And, R2, 15), vALU64Reg(Add, R1, R2),
			vLdx(Byte, R0, R1, 0), vExit()),
			env: func(e *VerifyEnv) { e.Ctx = CtxInfo{Kind: CtxMemory, Size: 16} }},
		{name: "memory context overrun", prog: vProg(vLdx(Byte, R2, R1, 0), vALU64Imm(And, R2, 15), vALU64Reg(Add, R1, R2),
			vLdx(Half, R0, R1, 0), vExit()),
			env:   func(e *VerifyEnv) { e.Ctx = CtxInfo{Kind: CtxMemory, Size: 16} },
			errno: errno.EACCES, insn: 3, msg: "R1 max value is outside of the allowed memory range"},
	})
}

func TestVerifierMaps(t *testing.T) {
	ret0 := []Insn{vMov64Imm(R0, 0), vExit()}
	runVerifierCases(t, []vtCase{
		{name: "lookup and null check", prog: vProg(vtLookup(vtHashFD), vJmpImm(JEq, R0, 0, 1), vLdx(DWord, R0, R0, 0), vExit())},
		{name: "lookup without null check", prog: vProg(vtLookup(vtHashFD), vLdx(DWord, R0, R0, 0), vExit()),
			errno: errno.EACCES, insn: 6, msg: "R0 invalid mem access 'map_value_or_null'"},
		{name: "null branch is a scalar", prog: vProg(vtLookup(vtHashFD), vJmpImm(JNE, R0, 0, 1), vExit(), ret0)},
		{name: "copy checked with the original", prog: vProg(vtLookup(vtHashFD), vMov64Reg(R6, R0), vJmpImm(JEq, R0, 0, 1),
			vLdx(DWord, R0, R6, 0), vExit())},
		{name: "past the value", prog: vProg(vtLookup(vtHashFD), vJmpImm(JEq, R0, 0, 1), vLdx(DWord, R0, R0, 8), vExit()),
			errno: errno.EACCES, insn: 7, msg: "R0 min value is outside of the allowed memory range"},
		{name: "bounded index", prog: vProg(vLdx(Word, R6, R1, 0), vtLookup(vtHashFD), vJmpImm(JEq, R0, 0, 3),
			vJmpImm(JGT, R6, 7, 2), vALU64Reg(Add, R0, R6), vLdx(Byte, R0, R0, 0), vExit())},
		{name: "index bound off by one", prog: vProg(vLdx(Word, R6, R1, 0), vtLookup(vtHashFD), vJmpImm(JEq, R0, 0, 3),
			vJmpImm(JGT, R6, 8, 2), vALU64Reg(Add, R0, R6), vLdx(Byte, R0, R0, 0), vExit()),
			errno: errno.EACCES, insn: 10, msg: "R0 max value is outside of the allowed memory range"},
		{name: "bound checked on a copy", prog: vProg(vLdx(Word, R6, R1, 0), vtLookup(vtHashFD), vJmpImm(JEq, R0, 0, 4),
			vMov64Reg(R7, R6), vJmpImm(JGT, R7, 7, 2), vALU64Reg(Add, R0, R6), vLdx(Byte, R0, R0, 0), vExit())},
		{name: "bound checked on a copy plus one", prog: vProg(vLdx(Word, R6, R1, 0), vtLookup(vtHashFD), vJmpImm(JEq, R0, 0, 5),
			vMov64Reg(R7, R6), vALU64Imm(Add, R7, 1), vJmpImm(JGT, R7, 8, 2), vALU64Reg(Add, R0, R6), vLdx(Byte, R0, R0, 0), vExit())},
		{name: "copy unlinked by a write", prog: vProg(vLdx(Word, R6, R1, 0), vtLookup(vtHashFD), vJmpImm(JEq, R0, 0, 5),
			vMov64Reg(R7, R6), vALU64Imm(Mul, R7, 1), vJmpImm(JGT, R7, 7, 2), vALU64Reg(Add, R0, R6), vLdx(Byte, R0, R0, 0), vExit()),
			errno: errno.EACCES, insn: 12, msg: "R0 unbounded memory access, make sure to bounds check any such access"},
		{name: "unbounded index", prog: vProg(vLdx(Word, R6, R1, 0), vtLookup(vtHashFD), vJmpImm(JEq, R0, 0, 2),
			vALU64Reg(Add, R0, R6), vLdx(Byte, R0, R0, 0), vExit()),
			errno: errno.EACCES, insn: 9, msg: "R0 unbounded memory access, make sure to bounds check any such access"},
		{name: "signed index", prog: vProg(vLdx(Byte, R6, R1, 0), vMovsx(R6, R6, 8), vtLookup(vtHashFD), vJmpImm(JEq, R0, 0, 3),
			vJmpImm(JSGT, R6, 7, 2), vALU64Reg(Add, R0, R6), vLdx(Byte, R0, R0, 0), vExit()),
			errno: errno.EACCES, insn: 11, msg: "R0 min value is negative, either use unsigned index or do a if (index >=0) check."},
		{name: "signed index far out", prog: vProg(vLdx(Word, R6, R1, 0), vMovsx(R6, R6, 32), vtLookup(vtHashFD), vJmpImm(JEq, R0, 0, 3),
			vJmpImm(JSGT, R6, 7, 2), vALU64Reg(Add, R0, R6), vLdx(Byte, R0, R0, 0), vExit()),
			errno: errno.EINVAL, insn: 10, msg: "value -2147483648 makes map_value pointer be out of bounds"},
		{name: "array element at a constant key", prog: vProg(vtLookup(vtArrayFD), vLdx(DWord, R0, R0, 8), vExit())},
		{name: "array element at a spilled constant key", prog: vProg(vMov32Imm(R1, 0), vStx(Word, R10, R1, -8), vMov64Reg(R2, R10),
			vALU64Imm(Add, R2, -8), vLdMapFD(R1, vtArrayFD), vCall(FuncMapLookupElem), vLdx(DWord, R0, R0, 8), vExit())},
		{name: "array element past the end", prog: vProg(vSt(Word, R10, -4, 1), vMov64Reg(R2, R10), vALU64Imm(Add, R2, -4),
			vLdMapFD(R1, vtArrayFD), vCall(FuncMapLookupElem), vLdx(DWord, R0, R0, 0), vExit()),
			errno: errno.EACCES, insn: 6, msg: "R0 invalid mem access 'map_value_or_null'"},
		{name: "array element at an unknown key", prog: vProg(vLdx(Word, R3, R1, 0), vStx(Word, R10, R3, -4), vMov64Reg(R2, R10),
			vALU64Imm(Add, R2, -4), vLdMapFD(R1, vtArrayFD), vCall(FuncMapLookupElem), vLdx(DWord, R0, R0, 0), vExit()),
			errno: errno.EACCES, insn: 7, msg: "R0 invalid mem access 'map_value_or_null'"},
		{name: "pointer into map unprivileged", prog: vProg(vtLookup(vtHashFD), vJmpImm(JEq, R0, 0, 1), vStx(DWord, R0, R10, 0), ret0),
			env:   func(e *VerifyEnv) { e.Caps = CapBPF },
			errno: errno.EACCES, insn: 7, msg: "R10 leaks addr into map"},
		{name: "read-only map", prog: vProg(vtLookup(vtHashFD), vJmpImm(JEq, R0, 0, 1), vSt(DWord, R0, 0, 1), ret0),
			env:   func(e *VerifyEnv) { e.Maps[vtHashFD].Flags = MapFlagRdonlyProg },
			errno: errno.EACCES, insn: 7, msg: "write into map forbidden, value_size=8 off=0 size=8"},
		{name: "unknown map fd", prog: vProg(vLdMapFD(R1, 9), ret0),
			errno: errno.EBADF, insn: 0, msg: "fd 9 is not pointing to valid bpf_map"},
		{name: "map value ld_imm64", prog: vProg(vLdMapValue(R1, vtArrayFD, 8), vLdx(DWord, R0, R1, 0), vExit()),
			check: func(t *testing.T, out *Verified) {
				require.Equal(t, uint64(vtArrValue+8), out.Insns[0].Imm64(out.Insns[1]))
				require.Equal(t, PseudoNone, out.Insns[0].Src)
			}},
		{name: "map value ld_imm64 past the value", prog: vProg(vLdMapValue(R1, vtArrayFD, 16), ret0),
			errno: errno.EINVAL, insn: 0, msg: "invalid access to map value pointer, value_size=16 off=16"},
		{name: "map value of a hash", prog: vProg(vLdMapValue(R1, vtHashFD, 0), ret0),
			errno: errno.EINVAL, insn: 0, msg: "no direct value access support for this map type"},
		{name: "map fd resolved", prog: vProg(vLdMapFD(R1, vtHashFD), ret0),
			check: func(t *testing.T, out *Verified) {
				require.Equal(t, uint64(vtMapAddr), out.Insns[0].Imm64(out.Insns[1]))
				require.Equal(t, PseudoNone, out.Insns[0].Src)
			}},
		{name: "map pointer deref", prog: vProg(vLdMapFD(R1, vtHashFD), vLdx(Word, R0, R1, 0), vExit()),
			errno: errno.ENOTSUPP, insn: 2, msg: "map_ptr access not supported without CONFIG_DEBUG_INFO_BTF"},
	})
}

func vMovsx(dst, src Register, bits int16) Insn {
	return Insn{Code: ALUOpcode(ALU64Class, Mov, RegSource), Dst: dst, Src: src, Off: bits}
}

func TestVerifierHelpers(t *testing.T) {
	ret0 := []Insn{vMov64Imm(R0, 0), vExit()}
	runVerifierCases(t, []vtCase{
		{name: "unknown helper id", prog: vProg(vCall(999), ret0),
			errno: errno.EINVAL, insn: 0, msg: "invalid func unknown#999"},
		{name: "helper not offered", prog: vProg(vCall(FuncGetPrandomU32), ret0),
			env:   func(e *VerifyEnv) { e.Helpers = nil },
			errno: errno.EINVAL, insn: 0, msg: "program of this type cannot use helper bpf_get_prandom_u32#7"},
		{name: "map argument is a scalar", prog: vProg(vMov64Imm(R1, 0), vMov64Reg(R2, R10), vCall(FuncMapLookupElem), ret0),
			errno: errno.EACCES, insn: 2, msg: "R1 type=scalar expected=map_ptr"},
		{name: "key argument is uninitialised", prog: vProg(vMov64Reg(R2, R10), vALU64Imm(Add, R2, -4), vLdMapFD(R1, vtHashFD),
			vCall(FuncMapLookupElem), ret0),
			env:   func(e *VerifyEnv) { e.Caps = CapBPF },
			errno: errno.EACCES, insn: 4, msg: "invalid read from stack R2 off=-4 size=4"},
		{name: "key argument is a scalar", prog: vProg(vMov64Imm(R2, 0), vLdMapFD(R1, vtHashFD), vCall(FuncMapLookupElem), ret0),
			errno: errno.EACCES, insn: 3, msg: "R2 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_"},
		{name: "key argument missing", prog: vProg(vLdMapFD(R1, vtHashFD), vCall(FuncMapLookupElem), ret0),
			errno: errno.EACCES, insn: 2, msg: "R2 !read_ok"},
		{name: "update with value from stack", prog: vProg(vSt(Word, R10, -4, 0), vSt(DWord, R10, -16, 0), vMov64Reg(R2, R10), vALU64Imm(Add, R2, -4),
			vMov64Reg(R3, R10), vALU64Imm(Add, R3, -16), vMov64Imm(R4, 0), vLdMapFD(R1, vtHashFD), vCall(FuncMapUpdateElem), vExit())},
		{name: "value too short", prog: vProg(vSt(Word, R10, -4, 0), vMov64Reg(R2, R10), vALU64Imm(Add, R2, -4),
			vMov64Reg(R3, R10), vALU64Imm(Add, R3, -4), vMov64Imm(R4, 0), vLdMapFD(R1, vtHashFD), vCall(FuncMapUpdateElem), vExit()),
			errno: errno.EINVAL, insn: 8, msg: "invalid read from stack R3 off=-4 size=8"},
		{name: "value partly uninitialised", prog: vProg(vSt(Word, R10, -4, 0), vSt(Word, R10, -12, 0), vMov64Reg(R2, R10), vALU64Imm(Add, R2, -4),
			vMov64Reg(R3, R10), vALU64Imm(Add, R3, -16), vMov64Imm(R4, 0), vLdMapFD(R1, vtHashFD), vCall(FuncMapUpdateElem), vExit()),
			env:   func(e *VerifyEnv) { e.Caps = CapBPF },
			errno: errno.EACCES, insn: 9, msg: "invalid read from stack R3 off -16+0 size 8"},
		{name: "helper fills an uninitialised buffer",
			prog: vProg(vMov64Reg(R1, R10), vALU64Imm(Add, R1, -16), vMov64Imm(R2, 16), vCall(FuncGetCurrentComm),
				vLdx(DWord, R0, R10, -16), vExit()),
			env: func(e *VerifyEnv) { e.Caps = CapBPF }},
		{name: "zero size", prog: vProg(vMov64Reg(R1, R10), vALU64Imm(Add, R1, -16), vMov64Imm(R2, 0), vCall(FuncGetCurrentComm), ret0),
			errno: errno.EACCES, insn: 3, msg: "R2 invalid zero-sized read: u64=[0,0]"},
		{name: "unbounded size", prog: vProg(vLdx(DWord, R2, R1, 0), vMov64Reg(R1, R10), vALU64Imm(Add, R1, -16), vCall(FuncGetCurrentComm), ret0),
			errno: errno.EACCES, insn: 3, msg: "R2 min value is negative, either use unsigned or 'var &= const'"},
		{name: "pointer into anything arg", prog: vProg(vSt(Word, R10, -4, 0), vSt(DWord, R10, -16, 0), vMov64Reg(R2, R10), vALU64Imm(Add, R2, -4),
			vMov64Reg(R3, R10), vALU64Imm(Add, R3, -16), vMov64Reg(R4, R10), vLdMapFD(R1, vtHashFD), vCall(FuncMapUpdateElem), vExit()),
			env:   func(e *VerifyEnv) { e.Caps = CapBPF },
			errno: errno.EACCES, insn: 9, msg: "R4 leaks addr into helper function"},
	})
}

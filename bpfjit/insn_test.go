package bpfjit

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestDecodeEncodeRoundTrip(t *testing.T) {
	cases := []struct {
		hex  string
		want Insn
		str  string
	}{
		{"b701000002000000", Insn{Code: 0xb7, Dst: R1, Imm: 2}, "ALU64|MOV|K dst=r1 src=r0 off=0 imm=2"},
		{"0f10000000000000", Insn{Code: 0x0f, Dst: R0, Src: R1}, "ALU64|ADD|X dst=r0 src=r1 off=0 imm=0"},
		{"79130800ffffffff", Insn{Code: 0x79, Dst: R3, Src: R1, Off: 8, Imm: -1}, "LDX|MEM|DW dst=r3 src=r1 off=8 imm=-1"},
		{"bf21010001000000", Insn{Code: 0xbf, Dst: R1, Src: R2, Off: 1, Imm: 1}, "ALU64|MOV|X dst=r1 src=r2 off=1 imm=1"},
		{"e500030000000000", Insn{Code: 0xe5, Off: 3}, "JMP|JCOND|K dst=r0 src=r0 off=3 imm=0"},
		{"db21f8ff01000000", Insn{Code: 0xdb, Dst: R1, Src: R2, Off: -8, Imm: AtomicAdd | AtomicFetch}, "STX|ATOMIC|DW dst=r1 src=r2 off=-8 imm=1"},
	}
	for _, c := range cases {
		raw, _ := hex.DecodeString(c.hex)
		got := Decode(raw)
		if got != c.want {
			t.Errorf("Decode(%s) = %+v, want %+v", c.hex, got, c.want)
		}
		if got.String() != c.str {
			t.Errorf("String(%s) = %q, want %q", c.hex, got.String(), c.str)
		}
		var b [8]byte
		got.Encode(b[:])
		if !bytes.Equal(b[:], raw) {
			t.Errorf("Encode(%+v) = %x, want %s", got, b, c.hex)
		}
	}
}

func TestOpcodeParts(t *testing.T) {
	cases := []struct {
		op    Opcode
		class Class
		size  Size
		mode  Mode
		alu   ALUOp
		jmp   JumpOp
		src   Source
	}{
		{0x79, LdXClass, DWord, MemMode, InvalidALUOp, InvalidJumpOp, InvalidSource},
		{0x81, LdXClass, Word, MemSXMode, InvalidALUOp, InvalidJumpOp, InvalidSource},
		{0xc3, StXClass, Word, AtomicMode, InvalidALUOp, InvalidJumpOp, InvalidSource},
		{0x18, LdClass, DWord, ImmMode, InvalidALUOp, InvalidJumpOp, InvalidSource},
		{0x3f, ALU64Class, InvalidSize, InvalidMode, Div, InvalidJumpOp, RegSource},
		{0xdc, ALUClass, InvalidSize, InvalidMode, End, InvalidJumpOp, RegSource},
		{0x06, Jump32Class, InvalidSize, InvalidMode, InvalidALUOp, Ja, ImmSource},
		{0x8d, JumpClass, InvalidSize, InvalidMode, InvalidALUOp, Call, RegSource},
	}
	for _, c := range cases {
		if c.op.Class() != c.class || c.op.Size() != c.size || c.op.Mode() != c.mode ||
			c.op.ALUOp() != c.alu || c.op.JumpOp() != c.jmp || c.op.Source() != c.src {
			t.Errorf("%#02x: got %v %v %v %v %v %v", uint8(c.op), c.op.Class(), c.op.Size(), c.op.Mode(), c.op.ALUOp(), c.op.JumpOp(), c.op.Source())
		}
	}
	if MemOpcode(LdXClass, MemMode, DWord) != 0x79 || ALUOpcode(ALU64Class, Mov, RegSource) != 0xbf ||
		JumpOpcode(JumpClass, Exit, ImmSource) != 0x95 || LdImm64 != 0x18 {
		t.Error("opcode builders disagree with the kernel's encodings")
	}
	if MemOpcode(LdXClass, ProbeMem32Mode, DWord) != 0xb9 || MemOpcode(StXClass, ProbeAtomicMode, DWord) != 0xfb {
		t.Error("probe opcodes disagree with BPF_PROBE_MEM32/BPF_PROBE_ATOMIC")
	}
}

func TestLdImm64AndTargets(t *testing.T) {
	pair := LdImm64Insns(R1, PseudoNone, 0x1122334455667788)
	if !pair[0].IsLdImm64() || pair[0].Imm64(pair[1]) != 0x1122334455667788 || pair[0].Imm != 0x55667788 {
		t.Fatalf("LdImm64Insns = %+v", pair)
	}
	if (Insn{Code: 0x05, Off: -1}).JumpTarget(4) != 4 {
		t.Error("ja -1 must target itself")
	}
	if (Insn{Code: 0x06, Off: 9, Imm: 100}).JumpTarget(0) != 101 {
		t.Error("gotol takes imm")
	}
	if (Insn{Code: 0x85, Src: CallLocal, Imm: 3}).JumpTarget(2) != 6 {
		t.Error("local call target is pc+1+imm")
	}
	if !(Insn{Code: 0xbf, Off: 1, Imm: CastUserImm}).IsCastUser() || !(Insn{Code: 0xbf, Off: 1, Imm: CastKernImm}).IsCastKern() {
		t.Error("cast predicates")
	}
	if _, err := DecodeProgram(make([]byte, 12)); err == nil {
		t.Error("12-byte program accepted")
	}
	p := []Insn{{Code: 0xb7, Imm: 1}, {Code: 0x95}}
	back, err := DecodeProgram(EncodeProgram(p))
	if err != nil || len(back) != 2 || back[0] != p[0] || back[1] != p[1] {
		t.Fatalf("program round trip: %v %v", back, err)
	}
}

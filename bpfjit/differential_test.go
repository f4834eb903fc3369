package bpfjit

import (
	"testing"

	"pgregory.net/rapid"
)

// diffBuf is the buffer r1 (and r9) point at in differential runs.
var diffBufSize = 64

// diffValues are immediates worth trying: small, boundary, arena-ish.
var diffValues = []int64{0, 1, -1, 2, 7, 8, 16, 31, 32, 63, 64, -8, 0x7fffffff, -0x80000000, 0xfff, 0x1000,
	0x1008, 0x7ff8, -0x7ff8, 0xfffff000, 0xfffffff8}

// diffOffsets are memory offsets worth trying, the s16 extremes included.
var diffOffsets = []int16{0, 1, 2, 4, 8, 15, 56, 60, 63, 64, -1, -4, -8, -16, -504, -512, -513, 4095, 4096, 32767, -32768}

// diffInsn draws one instruction (two for LD_IMM64) for slot pc of an n-slot
// program. Destinations stay in r0-r8 so that r9 keeps pointing at the
// buffer, except in the occasional raw slot.
func diffInsn(t *rapid.T, pc, n int) []Insn {
	reg := func(name string, hi int) Register { return Register(rapid.IntRange(0, hi).Draw(t, name)) }
	dst := func() Register { return reg("dst", 8) }
	src := func() Register { return reg("src", 10) }
	imm := func() int32 {
		if rapid.Bool().Draw(t, "anyImm") {
			return rapid.Int32().Draw(t, "imm")
		}
		return int32(rapid.SampledFrom(diffValues).Draw(t, "imm"))
	}
	off := func() int16 {
		if rapid.IntRange(0, 4).Draw(t, "anyOff") == 0 {
			return rapid.Int16().Draw(t, "off")
		}
		return rapid.SampledFrom(diffOffsets).Draw(t, "off")
	}
	jumpOff := func() int16 { return int16(rapid.IntRange(0, n).Draw(t, "target") - pc - 1) }
	size := func() Size { return rapid.SampledFrom([]Size{Byte, Half, Word, DWord}).Draw(t, "size") }
	memBase := func() Register { return rapid.SampledFrom([]Register{R10, R10, R9, R9, R1, R0}).Draw(t, "base") }

	switch rapid.IntRange(0, 20).Draw(t, "kind") {
	case 20: // pairs the compiled engine fuses into superinstructions
		d, s, c := dst(), src(), dst()
		switch rapid.IntRange(0, 3).Draw(t, "pair") {
		case 3: // mov rT, rS; lsh rT, K; add rD, rT (and variants that must not fuse)
			return []Insn{{Code: ALUOpcode(ALU64Class, Mov, RegSource), Dst: d, Src: s},
				{Code: ALUOpcode(ALU64Class, LSh, ImmSource), Dst: d, Imm: imm()},
				{Code: ALUOpcode(ALU64Class, Add, RegSource), Dst: c, Src: rapid.SampledFrom([]Register{d, d, s}).Draw(t, "idx")}}
		case 0: // mov rD, rS; op rD, K or rT
			op := rapid.SampledFrom([]ALUOp{Add, Sub, And, Or, Xor, LSh, RSh, ArSh, Mul}).Draw(t, "op")
			second := Insn{Code: ALUOpcode(ALU64Class, op, ImmSource), Dst: d, Imm: imm()}
			if rapid.Bool().Draw(t, "x") {
				second = Insn{Code: ALUOpcode(ALU64Class, op, RegSource), Dst: d, Src: src()}
			}
			return []Insn{{Code: ALUOpcode(ALU64Class, Mov, RegSource), Dst: d, Src: s}, second}
		case 1: // add/sub rD, K; if rD op K goto
			op := rapid.SampledFrom([]JumpOp{JEq, JGT, JGE, JSet, JNE, JSGT, JSGE, JLT, JLE, JSLT, JSLE}).Draw(t, "jop")
			alu := rapid.SampledFrom([]ALUOp{Add, Sub}).Draw(t, "alu")
			return []Insn{{Code: ALUOpcode(ALU64Class, alu, ImmSource), Dst: d, Imm: imm()},
				{Code: JumpOpcode(JumpClass, op, ImmSource), Dst: d, Off: jumpOff() - 1, Imm: imm()}}
		}
		// rA = *(u64 *)(rB + off); op rC, rA
		op := rapid.SampledFrom([]ALUOp{Add, Sub, And, Or, Xor}).Draw(t, "op")
		return []Insn{{Code: MemOpcode(LdXClass, MemMode, DWord), Dst: d, Src: memBase(), Off: off()},
			{Code: ALUOpcode(ALU64Class, op, RegSource), Dst: c, Src: d}}
	case 0, 1, 2, 3, 4: // ALU and ALU64
		class := rapid.SampledFrom([]Class{ALU64Class, ALUClass}).Draw(t, "class")
		op := rapid.SampledFrom([]ALUOp{Add, Sub, Mul, Div, Or, And, LSh, RSh, Neg, Mod, Xor, Mov, ArSh, End}).Draw(t, "op")
		s := rapid.SampledFrom([]Source{ImmSource, RegSource}).Draw(t, "source")
		ins := Insn{Code: ALUOpcode(class, op, s), Dst: dst(), Src: src(), Imm: imm()}
		switch op {
		case Neg:
			ins.Code = ALUOpcode(class, op, ImmSource)
		case Div, Mod:
			ins.Off = int16(rapid.IntRange(0, 1).Draw(t, "signed"))
		case Mov:
			if s == RegSource {
				ins.Off = rapid.SampledFrom([]int16{0, 0, 8, 16, 32, AddrSpaceCast}).Draw(t, "movOff")
				if ins.Off == AddrSpaceCast {
					ins.Code = ALUOpcode(ALU64Class, Mov, RegSource)
					ins.Imm = rapid.SampledFrom([]int32{CastUserImm, CastKernImm}).Draw(t, "cast")
				} else if ins.Off == 32 && class == ALUClass {
					ins.Off = 0
				}
			}
		case End:
			ins.Imm = rapid.SampledFrom([]int32{16, 32, 64}).Draw(t, "width")
			if class == ALU64Class {
				ins.Code = ALUOpcode(ALU64Class, End, ImmSource)
			}
		}
		if s == ImmSource {
			ins.Src = 0
		}
		return []Insn{ins}
	case 5, 6, 7: // conditional jumps
		class := rapid.SampledFrom([]Class{JumpClass, Jump32Class}).Draw(t, "class")
		op := rapid.SampledFrom([]JumpOp{JEq, JGT, JGE, JSet, JNE, JSGT, JSGE, JLT, JLE, JSLT, JSLE}).Draw(t, "jop")
		s := rapid.SampledFrom([]Source{ImmSource, RegSource}).Draw(t, "source")
		return []Insn{{Code: JumpOpcode(class, op, s), Dst: src(), Src: src(), Off: jumpOff(), Imm: imm()}}
	case 8: // ja, gotol, may_goto
		switch rapid.IntRange(0, 2).Draw(t, "ja") {
		case 0:
			return []Insn{{Code: JumpOpcode(JumpClass, Ja, ImmSource), Off: jumpOff()}}
		case 1:
			return []Insn{{Code: JumpOpcode(Jump32Class, Ja, ImmSource), Imm: int32(jumpOff())}}
		}
		return []Insn{{Code: JumpOpcode(JumpClass, JCond, ImmSource), Off: jumpOff()}}
	case 9: // LD_IMM64
		v := rapid.SampledFrom([]uint64{execMemBase, execValueBase, execMapAddr, execUserStart, execUserStart + 0x1000,
			execUserStart + 0xfffff000, 0x1_0000_0000, 0xffffffff}).Draw(t, "imm64")
		if rapid.Bool().Draw(t, "anyImm64") {
			v = rapid.Uint64().Draw(t, "imm64")
		}
		pair := LdImm64Insns(dst(), PseudoNone, v)
		return pair[:]
	case 10, 11: // loads
		mode := rapid.SampledFrom([]Mode{MemMode, MemMode, MemSXMode}).Draw(t, "mode")
		sz := size()
		if mode == MemSXMode && sz == DWord {
			sz = Word
		}
		return []Insn{{Code: MemOpcode(LdXClass, mode, sz), Dst: dst(), Src: memBase(), Off: off()}}
	case 12, 13: // stores
		class := rapid.SampledFrom([]Class{StClass, StXClass}).Draw(t, "class")
		return []Insn{{Code: MemOpcode(class, MemMode, size()), Dst: memBase(), Src: src(), Off: off(), Imm: imm()}}
	case 14: // arena accesses, through any register
		ins := rapid.SampledFrom([]Insn{
			{Code: MemOpcode(LdXClass, ProbeMem32Mode, size())},
			{Code: MemOpcode(LdXClass, ProbeMem32SXMode, Half)},
			{Code: MemOpcode(StClass, ProbeMem32Mode, size())},
			{Code: MemOpcode(StXClass, ProbeMem32Mode, size())},
		}).Draw(t, "probe")
		ins.Dst, ins.Src, ins.Off, ins.Imm = dst(), src(), off(), imm()
		if ins.Code.Class() != LdXClass {
			ins.Dst = src()
		}
		return []Insn{ins}
	case 15: // atomics, normal or on the arena
		mode := rapid.SampledFrom([]Mode{AtomicMode, ProbeAtomicMode}).Draw(t, "mode")
		op := rapid.SampledFrom([]int32{AtomicAdd, AtomicOr, AtomicAnd, AtomicXor, AtomicAdd | AtomicFetch,
			AtomicOr | AtomicFetch, AtomicAnd | AtomicFetch, AtomicXor | AtomicFetch, AtomicXchg, AtomicCmpXchg,
			AtomicLoadAcq, AtomicStoreRel}).Draw(t, "atomic")
		sz := rapid.SampledFrom([]Size{Word, DWord}).Draw(t, "size")
		if op == AtomicLoadAcq || op == AtomicStoreRel {
			sz = size()
		}
		base := memBase()
		if mode == ProbeAtomicMode {
			base = src()
		}
		ins := Insn{Code: MemOpcode(StXClass, mode, sz), Dst: base, Src: dst(), Off: off(), Imm: op}
		if op == AtomicLoadAcq { // dst = *(src + off)
			ins.Dst, ins.Src = dst(), base
		}
		return []Insn{ins}
	case 16: // calls
		switch rapid.IntRange(0, 3).Draw(t, "call") {
		case 0:
			id := rapid.SampledFrom([]int32{FuncMapLookupElem, FuncMapUpdateElem, FuncKtimeGetNs, FuncGetPrandomU32, execFailID, 42}).Draw(t, "helper")
			return []Insn{{Code: JumpOpcode(JumpClass, Call, ImmSource), Imm: id}}
		case 1:
			id := rapid.SampledFrom([]int32{execKfAlloc, execKfFree}).Draw(t, "kfunc")
			return []Insn{{Code: JumpOpcode(JumpClass, Call, ImmSource), Src: CallKfunc, Imm: id}}
		case 2:
			return []Insn{{Code: JumpOpcode(JumpClass, Call, ImmSource), Src: CallLocal, Imm: int32(jumpOff())}}
		}
		return []Insn{{Code: JumpOpcode(JumpClass, Call, RegSource), Dst: src()}}
	case 17, 18:
		return []Insn{{Code: JumpOpcode(JumpClass, Exit, ImmSource)}}
	}
	// A raw slot: anything at all, mostly invalid.
	b := rapid.SliceOfN(rapid.Byte(), 8, 8).Draw(t, "raw")
	return []Insn{Decode(b)}
}

// diffProgram draws a program of 2 to 40 slots: r9 = r1 first, exit last,
// random instructions between (jumps may go anywhere, loops included).
func diffProgram(t *rapid.T) []Insn {
	n := rapid.IntRange(2, 40).Draw(t, "n")
	prog := []Insn{{Code: ALUOpcode(ALU64Class, Mov, RegSource), Dst: R9, Src: R1}}
	for len(prog) < n-1 {
		prog = append(prog, diffInsn(t, len(prog), n)...)
	}
	return append(prog, Insn{Code: JumpOpcode(JumpClass, Exit, ImmSource)})
}

// diffSetup gives a differential run its arena pages (0, 1 and the last of
// the 4 GiB window) and a small budget, so loops end quickly.
func diffSetup(w *execWorld, c *Config) {
	for _, p := range []uint64{0, 1, 0xfffff} {
		pg := make([]byte, 4096)
		for i := range pg {
			pg[i] = byte(p*7 + uint64(i))
		}
		_ = w.kern.Map(w.pageAddr(p), pg, false)
		w.pages[p] = pg
	}
	c.Budget = 1 << 14
	c.MaxFaults = 64
}

// TestDifferential runs random programs on both engines: they must agree on
// r0, the outcome, the registers, the stack, every byte of memory and the
// arena, and the sequence of faults.
func TestDifferential(t *testing.T) {
	outcomes := map[Outcome]int{}
	rapid.Check(t, func(t *rapid.T) {
		prog := diffProgram(t)
		buf := make([]byte, diffBufSize)
		for i := range buf {
			buf[i] = byte(i * 3)
		}
		s := runBoth(t, prog, buf, diffSetup)
		outcomes[s.Outcome]++
	})
	t.Logf("differential outcomes: %v", outcomes)
}

package bpfjit

import (
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"golang.org/x/arch/x86/x86asm"

	"github.com/arenasim/arenasim/internal/errno"
)

const (
	x86TestKern = 0xffffc90000008000 // kern_vm_start of a first arena: VMALLOC_START + 32 KiB
	x86TestUser = 0x00007f1200000000 // its user_vm_start
)

var x86Arena = X86Options{KernVMStart: x86TestKern, UserVMStart: x86TestUser}

// x86OrigCode returns the decoded code of the caller's slot (its original
// instruction, not the patchlet around it).
func x86OrigCode(t testing.TB, p *X86Program, slot int) ([]x86Decoded, []byte) {
	t.Helper()
	f := &p.Funcs[0]
	for _, x := range f.Insns {
		if x.Slot == slot && !x.Inserted {
			code := f.Image[x.Off : x.Off+x.Len]
			var ds []x86Decoded
			for _, d := range x86DecodeAll(t, f.Image) {
				if d.Off >= x.Off && d.Off < x.Off+x.Len {
					ds = append(ds, d)
				}
			}
			return ds, code
		}
	}
	t.Fatalf("slot %d has no original instruction", slot)
	return nil, nil
}

// TestX86Instructions checks, instruction by instruction, the x86 code the
// model emits, decoded by x86asm: mnemonics and operands always, the exact
// bytes where the kernel's encoding choice is the point (short forms,
// REX prefixes, a disp8 of zero, the r12-indexed SIB of arena accesses).
func TestX86Instructions(t *testing.T) {
	type tc struct {
		name  string
		prog  []Insn // an exit is appended
		opts  X86Options
		want  []string // Intel syntax
		bytes string   // hex, optional
	}
	a64, a32 := ALU64Class, ALUClass
	pm := ProbeMem32Mode
	cases := []tc{
		// ALU with a register operand: op r/m, reg.
		{name: "add64 X", prog: []Insn{x86AluX(a64, Add, R1, R2)}, want: []string{"add rdi, rsi"}, bytes: "4801f7"},
		{name: "sub64 X extended", prog: []Insn{x86AluX(a64, Sub, R5, R7)}, want: []string{"sub r8, r13"}, bytes: "4d29e8"},
		{name: "xor32 X", prog: []Insn{x86AluX(a32, Xor, R0, R6)}, want: []string{"xor eax, ebx"}, bytes: "31d8"},
		{name: "and32 X r9", prog: []Insn{x86AluX(a32, And, R9, R1)}, want: []string{"and r15d, edi"}, bytes: "4121ff"},
		{name: "or64 X", prog: []Insn{x86AluX(a64, Or, R0, R8)}, want: []string{"or rax, r14"}, bytes: "4c09f0"},
		// ALU with an immediate: imm8 form, rax short form, imm32 form.
		{name: "add64 K imm8", prog: []Insn{x86AluK(a64, Add, R1, 1)}, want: []string{"add rdi, 0x1"}, bytes: "4883c701"},
		{name: "add64 K rax imm32", prog: []Insn{x86AluK(a64, Add, R0, 0x1000)}, want: []string{"add rax, 0x1000"}, bytes: "480500100000"},
		{name: "sub32 K imm32", prog: []Insn{x86AluK(a32, Sub, R3, 0x12345)}, want: []string{"sub edx, 0x12345"}, bytes: "81ea45230100"},
		{name: "and64 K negative imm8", prog: []Insn{x86AluK(a64, And, R7, -2)}, want: []string{"and r13, -0x2"}, bytes: "4983e5fe"},
		{name: "xor32 K -1", prog: []Insn{x86AluK(a32, Xor, R0, -1)}, want: []string{"xor eax, -0x1"}, bytes: "83f0ff"},
		{name: "or64 K r9 imm32", prog: []Insn{x86AluK(a64, Or, R9, 0x80000)}, want: []string{"or r15, 0x80000"}, bytes: "4981cf00000800"},
		// Register moves; a 64-bit move to itself vanishes, a 32-bit one
		// stays because it clears the upper half.
		{name: "mov64 X", prog: []Insn{x86AluX(a64, Mov, R1, R2)}, want: []string{"mov rdi, rsi"}, bytes: "4889f7"},
		{name: "mov64 X self", prog: []Insn{x86AluX(a64, Mov, R1, R1)}, want: nil},
		{name: "mov32 X self", prog: []Insn{x86AluX(a32, Mov, R1, R1)}, want: []string{"mov edi, edi"}, bytes: "89ff"},
		{name: "mov32 X r5", prog: []Insn{x86AluX(a32, Mov, R5, R2)}, want: []string{"mov r8d, esi"}, bytes: "4189f0"},
		{name: "movsx64 s8", prog: []Insn{{Code: ALUOpcode(a64, Mov, RegSource), Dst: R1, Src: R2, Off: 8}}, want: []string{"movsx rdi, sil"}, bytes: "480fbefe"},
		{name: "movsx64 s16", prog: []Insn{{Code: ALUOpcode(a64, Mov, RegSource), Dst: R1, Src: R2, Off: 16}}, want: []string{"movsx rdi, si"}, bytes: "480fbffe"},
		{name: "movsx64 s32", prog: []Insn{{Code: ALUOpcode(a64, Mov, RegSource), Dst: R1, Src: R2, Off: 32}}, want: []string{"movsxd rdi, esi"}, bytes: "4863fe"},
		{name: "movsx32 s8", prog: []Insn{{Code: ALUOpcode(a32, Mov, RegSource), Dst: R1, Src: R2, Off: 8}}, want: []string{"movsx edi, sil"}, bytes: "400fbefe"},
		// add_2mod(0x0f, ...) leaves 0x0f alone: the kernel's odd but harmless spelling.
		{name: "movsx32 s16 extended", prog: []Insn{{Code: ALUOpcode(a32, Mov, RegSource), Dst: R7, Src: R1, Off: 16}}, want: []string{"movsx r13d, di"}, bytes: "440fbfef"},
		// Immediate moves: mov r32 for non-negative, sign-extended mov r64
		// for negative ALU64 constants, xor for zero.
		{name: "mov64 K positive", prog: []Insn{x86AluK(a64, Mov, R1, 5)}, want: []string{"mov edi, 0x5"}, bytes: "bf05000000"},
		{name: "mov64 K negative", prog: []Insn{x86AluK(a64, Mov, R1, -5)}, want: []string{"mov rdi, -0x5"}, bytes: "48c7c7fbffffff"},
		{name: "mov64 K zero", prog: []Insn{x86AluK(a64, Mov, R6, 0)}, want: []string{"xor ebx, ebx"}, bytes: "31db"},
		{name: "mov64 K zero r8", prog: []Insn{x86AluK(a64, Mov, R8, 0)}, want: []string{"xor r14d, r14d"}, bytes: "4531f6"},
		{name: "mov32 K negative", prog: []Insn{x86AluK(a32, Mov, R2, -5)}, want: []string{"mov esi, -0x5"}, bytes: "befbffffff"},
		{name: "mov64 K r5", prog: []Insn{x86AluK(a64, Mov, R5, 7)}, want: []string{"mov r8d, 0x7"}, bytes: "41b807000000"},
		// ld_imm64: the shortest of mov r32, mov r64 imm32, movabs.
		{name: "lddw movabs", prog: x86Wide(R1, 0x100000000), want: []string{"mov rdi, 0x100000000"}, bytes: "48bf0000000001000000"},
		{name: "lddw u32", prog: x86Wide(R1, 0xffffffff), want: []string{"mov edi, -0x1"}, bytes: "bfffffffff"},
		{name: "lddw s32", prog: x86Wide(R1, 0xfffffffffffffffe), want: []string{"mov rdi, -0x2"}, bytes: "48c7c7feffffff"},
		{name: "lddw zero r9", prog: x86Wide(R9, 0), want: []string{"xor r15d, r15d"}, bytes: "4531ff"},
		{name: "neg64", prog: []Insn{x86AluK(a64, Neg, R1, 0)}, want: []string{"neg rdi"}, bytes: "48f7df"},
		{name: "neg32 r7", prog: []Insn{x86AluK(a32, Neg, R7, 0)}, want: []string{"neg r13d"}, bytes: "41f7dd"},
		{name: "mul64 K imm8", prog: []Insn{x86AluK(a64, Mul, R1, 3)}, want: []string{"imul rdi, rdi, 0x3"}, bytes: "486bff03"},
		{name: "mul32 K imm32", prog: []Insn{x86AluK(a32, Mul, R1, 1000)}, want: []string{"imul edi, edi, 0x3e8"}, bytes: "69ffe8030000"},
		{name: "mul64 X", prog: []Insn{x86AluX(a64, Mul, R1, R2)}, want: []string{"imul rdi, rsi"}, bytes: "480faffe"},
		{name: "mul64 X extended", prog: []Insn{x86AluX(a64, Mul, R7, R8)}, want: []string{"imul r13, r14"}, bytes: "4d0fafee"},
		// Division goes through rdx:rax; rax and rdx are saved around it.
		{name: "div64 X", prog: []Insn{x86AluX(a64, Div, R1, R2)}, want: []string{
			"push rax", "push rdx", "mov rax, rdi", "xor edx, edx", "div rsi", "mov rdi, rax", "pop rdx", "pop rax"},
			bytes: "50524889f831d248f7f64889c75a58"},
		{name: "mod64 X r0 % r3", prog: []Insn{x86AluX(a64, Mod, R0, R3)}, want: []string{
			"push rdx", "mov r11, rdx", "xor edx, edx", "div r11", "mov rax, rdx", "pop rdx"}},
		{name: "div32 K into r3", prog: []Insn{x86AluK(a32, Div, R3, 7)}, want: []string{
			"push rax", "mov r11, 0x7", "mov eax, edx", "xor edx, edx", "div r11d", "mov edx, eax", "pop rax"}},
		{name: "sdiv64 K", prog: []Insn{{Code: ALUOpcode(a64, Div, ImmSource), Dst: R1, Off: 1, Imm: 7}}, want: []string{
			"push rax", "push rdx", "mov r11, 0x7", "mov rax, rdi", "cqo", "idiv r11", "mov rdi, rax", "pop rdx", "pop rax"}},
		{name: "smod32 K", prog: []Insn{{Code: ALUOpcode(a32, Mod, ImmSource), Dst: R1, Off: 1, Imm: 3}}, want: []string{
			"push rax", "push rdx", "mov r11, 0x3", "mov eax, edi", "cdq", "idiv r11d", "mov edi, edx", "pop rdx", "pop rax"}},
		// Shifts by a constant: the one-bit form, else imm8.
		{name: "lsh64 K 1", prog: []Insn{x86AluK(a64, LSh, R1, 1)}, want: []string{"shl rdi, 0x1"}, bytes: "48d1e7"},
		{name: "rsh32 K", prog: []Insn{x86AluK(a32, RSh, R1, 3)}, want: []string{"shr edi, 0x3"}, bytes: "c1ef03"},
		{name: "arsh64 K r7", prog: []Insn{x86AluK(a64, ArSh, R7, 63)}, want: []string{"sar r13, 0x3f"}, bytes: "49c1fd3f"},
		// Shifts by a register go through cl.
		{name: "lsh64 X", prog: []Insn{x86AluX(a64, LSh, R1, R2)}, want: []string{"push rcx", "mov rcx, rsi", "shl rdi, cl", "pop rcx"}, bytes: "514889f148d3e759"},
		{name: "rsh64 X dst rcx", prog: []Insn{x86AluX(a64, RSh, R4, R2)}, want: []string{"mov r11, rcx", "mov rcx, rsi", "shr r11, cl", "mov rcx, r11"}},
		{name: "arsh32 X src rcx", prog: []Insn{x86AluX(a32, ArSh, R1, R4)}, want: []string{"sar edi, cl"}, bytes: "d3ff"},
		{name: "lsh64 X bmi2", prog: []Insn{x86AluX(a64, LSh, R1, R2)}, opts: X86Options{BMI2: true}, want: []string{"shlx rdi, rdi, rsi"}, bytes: "c4e2c9f7ff"},
		{name: "rsh32 X bmi2 r7", prog: []Insn{x86AluX(a32, RSh, R7, R1)}, opts: X86Options{BMI2: true}, want: []string{"shrx r13d, r13d, edi"}, bytes: "c44243f7ed"},
		{name: "arsh64 X bmi2 r9 by r5", prog: []Insn{x86AluX(a64, ArSh, R9, R5)}, opts: X86Options{BMI2: true}, want: []string{"sarx r15, r15, r8"}},
		{name: "arsh64 X bmi2 src rcx", prog: []Insn{x86AluX(a64, ArSh, R1, R4)}, opts: X86Options{BMI2: true}, want: []string{"sar rdi, cl"}},
		// Byte swaps.
		{name: "be32 r7", prog: []Insn{{Code: ALUOpcode(a32, End, RegSource), Dst: R7, Imm: 32}}, want: []string{"bswap r13d"}, bytes: "410fcd"},
		{name: "be64", prog: []Insn{{Code: ALUOpcode(a32, End, RegSource), Dst: R1, Imm: 64}}, want: []string{"bswap rdi"}, bytes: "480fcf"},
		{name: "be16 real", prog: []Insn{{Code: ALUOpcode(a32, End, RegSource), Dst: R1, Imm: 16}}, want: []string{"ror di, 0x8", "movzx edi, di"}, bytes: "66c1cf080fb7ff"},
		{name: "bswap16 r5", prog: []Insn{{Code: ALUOpcode(a64, End, ImmSource), Dst: R5, Imm: 16}}, want: []string{"ror r8w, 0x8", "movzx r8d, r8w"}, bytes: "6641c1c808450fb7c0"},
		{name: "le16", prog: []Insn{x86AluK(a32, End, R1, 16)}, want: []string{"movzx edi, di"}, bytes: "0fb7ff"},
		{name: "le32 r5", prog: []Insn{x86AluK(a32, End, R5, 32)}, want: []string{"mov r8d, r8d"}, bytes: "4589c0"},
		{name: "le64", prog: []Insn{x86AluK(a32, End, R1, 64)}, want: nil},
		// Loads always carry a displacement, even 0.
		{name: "ldxb", prog: []Insn{x86Ldx(MemMode, Byte, R0, R1, 2)}, want: []string{"movzx rax, byte ptr [rdi+0x2]"}, bytes: "480fb64702"},
		{name: "ldxh fp", prog: []Insn{x86Ldx(MemMode, Half, R0, R10, -8)}, want: []string{"movzx rax, word ptr [rbp-0x8]"}, bytes: "480fb745f8"},
		{name: "ldxw disp8 zero", prog: []Insn{x86Ldx(MemMode, Word, R1, R2, 0)}, want: []string{"mov edi, dword ptr [rsi]"}, bytes: "8b7e00"},
		{name: "ldxw disp32 extended", prog: []Insn{x86Ldx(MemMode, Word, R9, R5, 1000)}, want: []string{"mov r15d, dword ptr [r8+0x3e8]"}, bytes: "458bb8e8030000"},
		{name: "ldxdw r13 base", prog: []Insn{x86Ldx(MemMode, DWord, R7, R7, 0)}, want: []string{"mov r13, qword ptr [r13]"}, bytes: "4d8b6d00"},
		{name: "ldxsb", prog: []Insn{x86Ldx(MemSXMode, Byte, R1, R2, 1)}, want: []string{"movsx rdi, byte ptr [rsi+0x1]"}, bytes: "480fbe7e01"},
		{name: "ldxsw", prog: []Insn{x86Ldx(MemSXMode, Word, R1, R2, 1)}, want: []string{"movsxd rdi, dword ptr [rsi+0x1]"}, bytes: "48637e01"},
		// Stores of immediates.
		{name: "stb", prog: []Insn{x86St(MemMode, Byte, R1, 1, 0x7f)}, want: []string{"mov byte ptr [rdi+0x1], 0x7f"}, bytes: "c647017f"},
		{name: "sth fp", prog: []Insn{x86St(MemMode, Half, R10, -2, -1)}, want: []string{"mov word ptr [rbp-0x2], -0x1"}, bytes: "66c745feffff"},
		{name: "stw disp32 r5", prog: []Insn{x86St(MemMode, Word, R5, 300, 1)}, want: []string{"mov dword ptr [r8+0x12c], 0x1"}, bytes: "41c7802c01000001000000"},
		{name: "stdw negative", prog: []Insn{x86St(MemMode, DWord, R10, -8, -1)}, want: []string{"mov qword ptr [rbp-0x8], -0x1"}, bytes: "48c745f8ffffffff"},
		// Stores of registers; a byte store of dil needs a REX prefix.
		{name: "stxb dil", prog: []Insn{x86Stx(MemMode, Byte, R10, R1, -1)}, want: []string{"mov byte ptr [rbp-0x1], dil"}, bytes: "40887dff"},
		{name: "stxb al", prog: []Insn{x86Stx(MemMode, Byte, R1, R0, 0)}, want: []string{"mov byte ptr [rdi], al"}, bytes: "884700"},
		{name: "stxh r15w", prog: []Insn{x86Stx(MemMode, Half, R1, R9, 2)}, want: []string{"mov word ptr [rdi+0x2], r15w"}, bytes: "6644897f02"},
		{name: "stxw r13 base", prog: []Insn{x86Stx(MemMode, Word, R7, R3, 4)}, want: []string{"mov dword ptr [r13+0x4], edx"}, bytes: "41895504"},
		{name: "stxdw", prog: []Insn{x86Stx(MemMode, DWord, R10, R6, -16)}, want: []string{"mov qword ptr [rbp-0x10], rbx"}, bytes: "48895df0"},
		// Atomics outside the arena.
		{name: "atomic add64", prog: []Insn{x86Atomic(AtomicMode, DWord, R1, R2, 8, AtomicAdd)}, want: []string{"lock add qword ptr [rdi+0x8], rsi"}, bytes: "f048017708"},
		{name: "atomic and32", prog: []Insn{x86Atomic(AtomicMode, Word, R10, R3, -4, AtomicAnd)}, want: []string{"lock and dword ptr [rbp-0x4], edx"}, bytes: "f02155fc"},
		{name: "atomic fetch add64", prog: []Insn{x86Atomic(AtomicMode, DWord, R1, R7, 0, AtomicAdd|AtomicFetch)}, want: []string{"lock xadd qword ptr [rdi], r13"}, bytes: "f04c0fc16f00"},
		{name: "atomic xchg64", prog: []Insn{x86Atomic(AtomicMode, DWord, R1, R2, 8, AtomicXchg)}, want: []string{"lock xchg qword ptr [rdi+0x8], rsi"}, bytes: "f048877708"},
		{name: "atomic cmpxchg32", prog: []Insn{x86Atomic(AtomicMode, Word, R1, R2, 4, AtomicCmpXchg)}, want: []string{"lock cmpxchg dword ptr [rdi+0x4], esi"}, bytes: "f00fb17704"},
		{name: "atomic fetch or64 loop", prog: []Insn{x86Atomic(AtomicMode, DWord, R1, R2, 8, AtomicOr|AtomicFetch)}, want: []string{
			"mov r10, rax", "mov rax, qword ptr [rdi+0x8]", "mov r11, rax", "or r11, rsi",
			"lock cmpxchg qword ptr [rdi+0x8], r11", "jne .-16", "mov rsi, rax", "mov rax, r10"}},
		{name: "load acquire64", prog: []Insn{x86Atomic(AtomicMode, DWord, R0, R1, 8, AtomicLoadAcq)}, want: []string{"mov rax, qword ptr [rdi+0x8]"}, bytes: "488b4708"},
		{name: "load acquire8", prog: []Insn{x86Atomic(AtomicMode, Byte, R0, R1, 8, AtomicLoadAcq)}, want: []string{"movzx rax, byte ptr [rdi+0x8]"}},
		{name: "store release32", prog: []Insn{x86Atomic(AtomicMode, Word, R1, R2, 4, AtomicStoreRel)}, want: []string{"mov dword ptr [rdi+0x4], esi"}, bytes: "897704"},
		// Arena accesses: [reg + r12 + off] with r12 = kern_vm_start.
		{name: "arena ldxdw", prog: []Insn{x86Ldx(pm, DWord, R0, R1, 8)}, opts: x86Arena, want: []string{"mov rax, qword ptr [rdi+r12+0x8]"}, bytes: "4a8b442708"},
		{name: "arena ldxb extended", prog: []Insn{x86Ldx(pm, Byte, R7, R8, -1)}, opts: x86Arena, want: []string{"movzx r13d, byte ptr [r14+r12-0x1]"}, bytes: "470fb66c26ff"},
		{name: "arena ldxh disp32", prog: []Insn{x86Ldx(pm, Half, R1, R2, 0x1000)}, opts: x86Arena, want: []string{"movzx edi, word ptr [rsi+r12+0x1000]"}, bytes: "420fb7bc2600100000"},
		{name: "arena ldxw r9", prog: []Insn{x86Ldx(pm, Word, R1, R9, 4)}, opts: x86Arena, want: []string{"mov edi, dword ptr [r15+r12+0x4]"}, bytes: "438b7c2704"},
		{name: "arena stxb off -32768", prog: []Insn{x86Stx(pm, Byte, R1, R2, -32768)}, opts: x86Arena, want: []string{"mov byte ptr [rdi+r12-0x8000], sil"}, bytes: "4288b4270080ffff"},
		{name: "arena stxh", prog: []Insn{x86Stx(pm, Half, R1, R0, 2)}, opts: x86Arena, want: []string{"mov word ptr [rdi+r12+0x2], ax"}, bytes: "664289442702"},
		{name: "arena stxdw off 32767", prog: []Insn{x86Stx(pm, DWord, R7, R9, 32767)}, opts: x86Arena, want: []string{"mov qword ptr [r13+r12+0x7fff], r15"}, bytes: "4f89bc25ff7f0000"},
		{name: "arena stw", prog: []Insn{x86St(pm, Word, R1, 8, 0x11223344)}, opts: x86Arena, want: []string{"mov dword ptr [rdi+r12+0x8], 0x11223344"}, bytes: "42c744270844332211"},
		{name: "arena stdw negative", prog: []Insn{x86St(pm, DWord, R1, -8, -1)}, opts: x86Arena, want: []string{"mov qword ptr [rdi+r12-0x8], -0x1"}, bytes: "4ac74427f8ffffffff"},
		{name: "arena stb", prog: []Insn{x86St(pm, Byte, R1, 0, 0x80)}, opts: x86Arena, want: []string{"mov byte ptr [rdi+r12], 0x80"}, bytes: "42c644270080"},
		{name: "arena atomic add64", prog: []Insn{x86Atomic(ProbeAtomicMode, DWord, R1, R2, 8, AtomicAdd)}, opts: x86Arena, want: []string{"lock add qword ptr [rdi+r12+0x8], rsi"}, bytes: "f04a01742708"},
		{name: "arena atomic fetch add32", prog: []Insn{x86Atomic(ProbeAtomicMode, Word, R1, R2, 8, AtomicAdd|AtomicFetch)}, opts: x86Arena, want: []string{"lock xadd dword ptr [rdi+r12+0x8], esi"}, bytes: "f0420fc1742708"},
		{name: "arena atomic xchg64", prog: []Insn{x86Atomic(ProbeAtomicMode, DWord, R1, R2, 8, AtomicXchg)}, opts: x86Arena, want: []string{"lock xchg qword ptr [rdi+r12+0x8], rsi"}, bytes: "f04a87742708"},
		{name: "arena atomic cmpxchg64", prog: []Insn{x86Atomic(ProbeAtomicMode, DWord, R1, R2, 8, AtomicCmpXchg)}, opts: x86Arena, want: []string{"lock cmpxchg qword ptr [rdi+r12+0x8], rsi"}, bytes: "f04a0fb1742708"},
		{name: "arena atomic or32", prog: []Insn{x86Atomic(ProbeAtomicMode, Word, R6, R7, 0, AtomicOr)}, opts: x86Arena, want: []string{"lock or dword ptr [rbx+r12], r13d"}},
		{name: "arena load acquire32", prog: []Insn{x86Atomic(ProbeAtomicMode, Word, R0, R1, 4, AtomicLoadAcq)}, opts: x86Arena, want: []string{"mov eax, dword ptr [rdi+r12+0x4]"}, bytes: "428b442704"},
		{name: "arena store release16", prog: []Insn{x86Atomic(ProbeAtomicMode, Half, R1, R2, 4, AtomicStoreRel)}, opts: x86Arena, want: []string{"mov word ptr [rdi+r12+0x4], si"}},
		// addr_space_cast.
		{name: "cast_user in place", prog: []Insn{x86CastUser(R1, R1)}, opts: x86Arena, want: []string{
			"shl rdi, 0x20", "or rdi, 0x7f12", "rol rdi, 0x20", "xor r11, r11", "test edi, edi", "cmovz rdi, r11"},
			bytes: "48c1e7204881cf127f000048c1c7204d31db85ff490f44fb"},
		{name: "cast_user into rax", prog: []Insn{x86CastUser(R0, R2)}, opts: x86Arena, want: []string{
			"mov eax, esi", "shl rax, 0x20", "or rax, 0x7f12", "rol rax, 0x20", "xor r11, r11", "test eax, eax", "cmovz rax, r11"},
			bytes: "89f048c1e020480d127f000048c1c0204d31db85c0490f44c3"},
		{name: "cast_user r9", prog: []Insn{x86CastUser(R9, R9)}, opts: x86Arena, want: []string{
			"shl r15, 0x20", "or r15, 0x7f12", "rol r15, 0x20", "xor r11, r11", "test r15d, r15d", "cmovz r15, r11"}},
		{name: "cast_kern", prog: []Insn{x86CastKern(R1, R2)}, opts: x86Arena, want: []string{"mov edi, esi"}, bytes: "89f7"},
		{name: "cast_user with NO_USER_CONV", prog: []Insn{x86CastUser(R1, R2)},
			opts: X86Options{KernVMStart: x86TestKern, UserVMStart: x86TestUser, NoUserConv: true}, want: []string{"mov edi, esi"}, bytes: "89f7"},
		// A PROBE_MEM load (a kernel pointer, not the arena) first checks
		// the address is above the user half and below the vsyscall page.
		{name: "probe_mem ldxdw", prog: []Insn{x86Ldx(ProbeMemMode, DWord, R0, R1, 8)}, want: []string{
			"mov r10, -0xa00000", "mov r11, rdi", "add r11, 0x8", "sub r11, r10",
			"mov r10, 0x800000a00000", "cmp r11, r10", "ja .+6", "xor eax, eax", "jmp .+6", "mov rax, qword ptr [rdi+0x8]"},
			bytes: "49c7c20000 60ff 4989fb 4981c308000000 4d29d3 49ba0000a00000800000 4d39d3 7704 31c0 eb04 488b4708"},
		{name: "nospec", prog: []Insn{{Code: Opcode(uint8(StClass) | 0xc0)}}, want: []string{"lfence"}, bytes: "0faee8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prog := append(append([]Insn(nil), c.prog...), x86Exit)
			p, err := JITX86(prog, &c.opts)
			require.NoError(t, err)
			ds, code := x86OrigCode(t, p, 0)
			got := make([]string, len(ds))
			for i, d := range ds {
				got[i] = x86asm.IntelSyntax(d.Inst, 0, nil)
				if rel, ok := d.Inst.Args[0].(x86asm.Rel); ok {
					got[i] = strings.ToLower(d.Inst.Op.String()) + " ." + x86Signed(int64(rel)+int64(d.Inst.Len))
				}
			}
			if len(got) == 0 {
				got = nil
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("decoded code (-want +got):\n%s\nbytes: %x", diff, code)
			}
			if c.bytes != "" {
				want, err := hex.DecodeString(strings.ReplaceAll(c.bytes, " ", ""))
				require.NoError(t, err)
				require.Equal(t, hex.EncodeToString(want), hex.EncodeToString(code), "exact bytes")
			}
		})
	}
}

// x86Signed prints a branch distance from the branch's start: .+4, .-18.
func x86Signed(v int64) string {
	if v < 0 {
		return strconv.FormatInt(v, 10)
	}
	return "+" + strconv.FormatInt(v, 10)
}

func x86Wide(dst Register, v uint64) []Insn {
	p := LdImm64Insns(dst, PseudoNone, v)
	return p[:]
}

func x86CastUser(dst, src Register) Insn {
	return Insn{Code: ALUOpcode(ALU64Class, Mov, RegSource), Dst: dst, Src: src, Off: AddrSpaceCast, Imm: CastUserImm}
}

func x86CastKern(dst, src Register) Insn {
	return Insn{Code: ALUOpcode(ALU64Class, Mov, RegSource), Dst: dst, Src: src, Off: AddrSpaceCast, Imm: CastKernImm}
}

// TestX86ArenaOperands checks the decoded operands of arena accesses
// structurally: base = the BPF register's x86 register, index = r12 with
// scale 1, displacement = the instruction's off.
func TestX86ArenaOperands(t *testing.T) {
	for _, src := range []Register{R0, R1, R2, R3, R4, R5, R6, R7, R8, R9} {
		for _, off := range []int16{0, 8, -8, 127, -128, 128, -129, 32767, -32768} {
			for _, size := range []Size{Byte, Half, Word, DWord} {
				prog := []Insn{x86Ldx(ProbeMem32Mode, size, R0, src, off), x86Stx(ProbeMem32Mode, size, src, R0, off), x86Exit}
				p, err := JITX86(prog, &x86Arena)
				require.NoError(t, err)
				for slot := range 2 {
					ds, _ := x86OrigCode(t, p, slot)
					require.Len(t, ds, 1)
					in := ds[0].Inst
					memArg := 1 - slot // load: mem is the source; store: the destination
					m, ok := in.Args[memArg].(x86asm.Mem)
					require.True(t, ok, "%v", in)
					base, _ := X86RegOf(src)
					want := x86asm.Mem{Base: x86asm.RAX + x86asm.Reg(base), Index: x86asm.R12, Scale: 1, Disp: int64(off)}
					require.Equal(t, want, m, "slot %d src %v off %d size %v: %v", slot, src, off, size, in)
					require.Equal(t, size.Bytes(), in.MemBytes)
				}
			}
		}
	}
}

// TestX86DivGuard checks the verifier's guards around division by a
// register: the whole patch as the JIT emits it.
func TestX86DivGuard(t *testing.T) {
	cases := []struct {
		name string
		ins  Insn
		want []string // the guard's code, before the division itself
	}{
		{"div64", x86AluX(ALU64Class, Div, R1, R2), []string{"test rsi, rsi", "jne", "xor edi, edi", "jmp"}},
		{"div32", x86AluX(ALUClass, Div, R1, R2), []string{"test esi, esi", "jne", "xor edi, edi", "jmp"}},
		{"mod64", x86AluX(ALU64Class, Mod, R1, R2), []string{"test rsi, rsi", "je"}},
		{"mod32", x86AluX(ALUClass, Mod, R1, R2), []string{"test esi, esi", "je"}},
		{"sdiv64", Insn{Code: ALUOpcode(ALU64Class, Div, RegSource), Dst: R1, Src: R2, Off: 1},
			[]string{"mov r10, rsi", "add r10, 0x1", "cmp r10, 0x1", "ja", "test r10, r10", "je", "xor edi, edi", "neg rdi", "jmp"}},
		{"smod32", Insn{Code: ALUOpcode(ALUClass, Mod, RegSource), Dst: R1, Src: R2, Off: 1},
			[]string{"mov r10, rsi", "add r10d, 0x1", "cmp r10d, 0x1", "ja", "cmp r10d, 0x1", "je", "xor edi, edi", "jmp"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := JITX86([]Insn{c.ins, x86Exit}, nil)
			require.NoError(t, err)
			f := p.Funcs[0]
			var got []string
			for _, d := range x86DecodeAll(t, f.Image) {
				x := f.Insns[0]
				if d.Off < x.Off {
					continue
				}
				if orig := x86FirstOrig(f, 0); d.Off >= orig {
					break
				}
				s := x86asm.IntelSyntax(d.Inst, 0, nil)
				if _, ok := d.Inst.Args[0].(x86asm.Rel); ok {
					s = strings.ToLower(d.Inst.Op.String())
				}
				got = append(got, s)
			}
			require.Equal(t, c.want, got)
		})
	}
}

// x86FirstOrig returns the code offset of slot's original instruction.
func x86FirstOrig(f X86Func, slot int) int {
	for _, x := range f.Insns {
		if x.Slot == slot && !x.Inserted {
			return x.Off
		}
	}
	return -1
}

// TestX86Rejects checks the errors: what the verifier would have refused,
// and what the x86 JIT itself refuses, with the kernel's errno.
func TestX86Rejects(t *testing.T) {
	cases := []struct {
		name string
		prog []Insn
		want errno.Errno
		msg  string
	}{
		{"callx", []Insn{{Code: JumpOpcode(JumpClass, Call, RegSource), Dst: R1}, x86Exit}, errno.EINVAL, "unknown opcode 8d"},
		{"ld abs", []Insn{{Code: MemOpcode(LdClass, AbsMode, Word)}, x86Exit}, errno.EINVAL, "unknown opcode 20"},
		{"neg X", []Insn{x86AluX(ALU64Class, Neg, R1, R2), x86Exit}, errno.EINVAL, "unknown opcode 8f"},
		{"jmp32 call", []Insn{{Code: JumpOpcode(Jump32Class, Call, ImmSource), Imm: 1}, x86Exit}, errno.EINVAL, "unknown opcode 86"},
		{"ldx memsx dw", []Insn{x86Ldx(MemSXMode, DWord, R0, R1, 0), x86Exit}, errno.EINVAL, "unknown opcode 99"},
		{"arena ldx memsx", []Insn{x86Ldx(ProbeMem32SXMode, Word, R0, R1, 0), x86Exit}, errno.EINVAL, "unknown opcode c1"},
		{"atomic add8", []Insn{x86Atomic(AtomicMode, Byte, R1, R2, 0, AtomicAdd), x86Exit}, errno.EFAULT, "1- and 2-byte RMW"},
		{"arena atomic add16", []Insn{x86Atomic(ProbeAtomicMode, Half, R1, R2, 0, AtomicAdd), x86Exit}, errno.EFAULT, "1- and 2-byte RMW"},
		{"arena fetch and", []Insn{x86Atomic(ProbeAtomicMode, DWord, R1, R2, 0, AtomicAnd|AtomicFetch), x86Exit}, errno.EFAULT, "unknown atomic opcode"},
		{"bad atomic op", []Insn{x86Atomic(AtomicMode, DWord, R1, R2, 0, 0x33), x86Exit}, errno.EFAULT, "unknown atomic opcode"},
		{"jump out of range", []Insn{x86JmpK(JumpClass, JEq, R1, 0, 5), x86Exit}, errno.EINVAL, "jump out of range"},
		{"jump backwards out", []Insn{x86JmpK(JumpClass, Ja, 0, 0, -3), x86Exit}, errno.EINVAL, "jump out of range"},
		{"jump into ldimm64", append(append([]Insn{x86JmpK(JumpClass, Ja, 0, 0, 1)}, x86Wide(R0, 1<<40)...), x86Exit), errno.EINVAL, "middle of ldimm64"},
		{"ldimm64 last", []Insn{{Code: LdImm64, Dst: R0}}, errno.EINVAL, "last slot"},
		{"bad second slot", []Insn{{Code: LdImm64, Dst: R0}, {Code: 0x07}, x86Exit}, errno.EINVAL, "second slot"},
		{"r11", []Insn{x86AluK(ALU64Class, Mov, 11, 0), x86Exit}, errno.EINVAL, "R11 is invalid"},
		{"src r12", []Insn{x86AluX(ALU64Class, Add, R0, 12), x86Exit}, errno.EINVAL, "R12 is invalid"},
		{"write fp", []Insn{x86AluK(ALU64Class, Add, R10, 8), x86Exit}, errno.EACCES, "frame pointer is read only"},
		{"load into fp", []Insn{x86Ldx(ProbeMem32Mode, DWord, R10, R1, 0), x86Exit}, errno.EACCES, "frame pointer is read only"},
		{"bad movsx", []Insn{{Code: ALUOpcode(ALU64Class, Mov, RegSource), Dst: R1, Src: R2, Off: 3}, x86Exit}, errno.EINVAL, "movsx"},
		{"bad cast", []Insn{{Code: ALUOpcode(ALU64Class, Mov, RegSource), Dst: R1, Src: R2, Off: 1, Imm: 2}, x86Exit}, errno.EINVAL, "address spaces"},
		{"bad swap", []Insn{x86AluK(ALUClass, End, R1, 8), x86Exit}, errno.EINVAL, "byte swap"},
		{"bad may_goto", []Insn{{Code: JumpOpcode(JumpClass, JCond, ImmSource), Src: 1}, x86Exit}, errno.EINVAL, "may_goto"},
		{"unknown helper", []Insn{x86Call(CallHelper, 0), x86Exit}, errno.EINVAL, "unknown#0"},
		{"local call out of range", []Insn{x86Call(CallLocal, 7), x86Exit}, errno.EINVAL, "invalid destination"},
		{"local call to the main program", []Insn{x86Call(CallLocal, -1), x86Exit}, errno.EINVAL, "call to the main program"},
		{"empty", nil, errno.EINVAL, "empty"},
		{"tail call", []Insn{{Code: JumpOpcode(JumpClass, 0xf0, ImmSource)}, x86Exit}, errno.EINVAL, "unknown opcode f5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := JITX86(c.prog, &x86Arena)
			require.Error(t, err)
			require.True(t, errors.Is(err, c.want), "got %v, want %v", err, c.want)
			require.Contains(t, err.Error(), c.msg)
		})
	}
}

// TestX86CmpxchgZext: a 32-bit cmpxchg writes eax only on failure, so the
// verifier zero-extends r0 after it; not after a 64-bit one, and not in
// the arena (it is PROBE_ATOMIC by the time the verifier looks).
func TestX86CmpxchgZext(t *testing.T) {
	for _, c := range []struct {
		ins  Insn
		zext bool
	}{
		{x86Atomic(AtomicMode, Word, R1, R2, 0, AtomicCmpXchg), true},
		{x86Atomic(AtomicMode, DWord, R1, R2, 0, AtomicCmpXchg), false},
		{x86Atomic(ProbeAtomicMode, Word, R1, R2, 0, AtomicCmpXchg), false},
		{x86Atomic(AtomicMode, Word, R1, R2, 0, AtomicXchg), false},
	} {
		p, err := JITX86([]Insn{c.ins, x86Exit}, &x86Arena)
		require.NoError(t, err)
		f := p.Funcs[0]
		var code []string
		for _, x := range f.Insns {
			if x.Slot == 0 && x.Inserted {
				for _, d := range x86DecodeAll(t, f.Image[x.Off:x.Off+x.Len]) {
					code = append(code, x86asm.IntelSyntax(d.Inst, 0, nil))
				}
			}
		}
		if c.zext {
			require.Equal(t, []string{"mov eax, eax"}, code, "%v", c.ins)
		} else {
			require.Empty(t, code, "%v", c.ins)
		}
	}
}

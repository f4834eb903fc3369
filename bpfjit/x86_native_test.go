//go:build linux && amd64

package bpfjit

import (
	"encoding/binary"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/arch/x86/x86asm"
	"golang.org/x/sys/cpu"
)

// The emitted code is real x86-64 following the SysV calling convention
// (arguments in rdi and rsi, result in rax, rbx/rbp/r12-r15 preserved), so
// on an x86-64 Linux host the tests below run it: copied into an executable
// mapping, entered from Go through a small trampoline that switches to a
// private stack, with helper calls and calls between functions relocated to
// the copies. That checks what the emitted bytes compute, not only what
// they decode to.

// x86Native is an RWX mapping holding the trampoline, the stubs, the copied
// images, a stack, the program's memory and an arena.
type x86Native struct {
	m        []byte
	next     int // bump allocator for code and data
	fn       func(r1, r2 uintptr) uintptr
	tramp    int // offset of the trampoline
	retR1    int // helper stub: return r1
	timeout  int // arch_bpf_timed_may_goto stub: always time out (r10 = 0)
	callSite int // offset of the trampoline's rel32 to the program
}

const (
	x86NativeSize  = 1 << 22
	x86NativeStack = 1 << 16
)

func newX86Native(t *testing.T) *x86Native {
	t.Helper()
	m, err := syscall.Mmap(-1, 0, x86NativeSize, syscall.PROT_READ|syscall.PROT_WRITE|syscall.PROT_EXEC, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Skipf("no executable mapping: %v", err)
	}
	t.Cleanup(func() { syscall.Munmap(m) })
	n := &x86Native{m: m, next: 64}
	stackTop := n.addr(x86NativeSize)
	// entry (Go's register ABI: r1 in rax, r2 in rbx):
	//   movabs r10, stack top; mov [r10-16], rsp; lea rsp, [r10-16]
	//   mov rdi, rax; mov rsi, rbx; call <program>; mov rsp, [rsp]; ret
	code := []byte{0x49, 0xba}
	code = binary.LittleEndian.AppendUint64(code, uint64(stackTop))
	code = append(code, 0x49, 0x89, 0x62, 0xf0, 0x49, 0x8d, 0x62, 0xf0, 0x48, 0x89, 0xc7, 0x48, 0x89, 0xde, 0xe8, 0, 0, 0, 0,
		0x48, 0x8b, 0x24, 0x24, 0xc3)
	n.tramp = n.put(code)
	n.callSite = n.tramp + len(code) - 9
	n.retR1 = n.put([]byte{0x48, 0x89, 0xf8, 0xc3})               // mov rax, rdi; ret
	n.timeout = n.put([]byte{0x4d, 0x31, 0xd2, 0xc3})             // xor r10, r10; ret
	binary.LittleEndian.PutUint64(m[0:], uint64(n.addr(n.tramp))) // the func value's code pointer
	p := unsafe.Pointer(&m[0])
	n.fn = *(*func(r1, r2 uintptr) uintptr)(unsafe.Pointer(&p))
	return n
}

func (n *x86Native) addr(off int) uintptr { return uintptr(unsafe.Pointer(&n.m[0])) + uintptr(off) }

// put copies b into the mapping, 64-byte aligned, and returns its offset.
func (n *x86Native) put(b []byte) int {
	off := n.next
	copy(n.m[off:], b)
	n.next = (off + len(b) + 63) &^ 63
	if n.next > x86NativeSize-x86NativeStack {
		panic("x86Native: mapping full")
	}
	return off
}

// reserve returns the offset of size zeroed bytes.
func (n *x86Native) reserve(size int) int {
	off := n.put(nil)
	clear(n.m[off : off+size])
	n.next = (off + size + 63) &^ 63
	return off
}

func (n *x86Native) setRel32(at int, target uintptr) {
	binary.LittleEndian.PutUint32(n.m[at:], uint32(int32(int64(target)-int64(n.addr(at+4)))))
}

// load copies the program's images into the mapping, relocating every call:
// to a copied function if it targets one, else to the helper stub (or the
// timed may_goto stub), and points the trampoline at the main function.
func (n *x86Native) load(t *testing.T, p *X86Program) {
	t.Helper()
	at := make([]int, len(p.Funcs))
	for i, f := range p.Funcs {
		at[i] = n.put(f.Image)
	}
	for i, f := range p.Funcs {
		for _, d := range x86DecodeAll(t, f.Image) {
			rel, ok := d.Inst.Args[0].(x86asm.Rel)
			if d.Inst.Op != x86asm.CALL || !ok {
				continue
			}
			to := f.Addr + uint64(d.Off+d.Inst.Len) + uint64(int64(rel))
			native := n.addr(n.retR1)
			if to == (*X86Symbols)(nil).timedMayGoto() {
				native = n.addr(n.timeout)
			}
			for j, g := range p.Funcs {
				if g.Addr == to {
					native = n.addr(at[j])
				}
			}
			n.setRel32(at[i]+d.Off+d.Inst.Len-4, native)
		}
	}
	n.setRel32(n.callSite, n.addr(at[0]))
}

// run calls the loaded program with r1 and r2 and returns r0.
func (n *x86Native) run(r1, r2 uintptr) uint64 { return uint64(n.fn(r1, r2)) }

// TestX86NativeConformance runs the emitted code of every conformance
// program on this CPU with r1 = its memory and r2 = the memory's length,
// and compares r0 with the expected result, with and without BMI2 shifts.
func TestX86NativeConformance(t *testing.T) {
	cases := confCases(t)
	configs := []X86Options{{}}
	if cpu.X86.HasBMI2 {
		configs = append(configs, X86Options{BMI2: true})
	}
	for _, o := range configs {
		passed, failed := 0, 0
		for _, c := range cases {
			if c.name == "callx.data" {
				continue // refused by the JIT, see TestX86Conformance
			}
			n := newX86Native(t)
			p, err := JITX86(c.prog, &o)
			require.NoError(t, err, c.name)
			n.load(t, p)
			var r1, r2 uintptr
			if len(c.mem) > 0 {
				off := n.put(c.mem)
				r1, r2 = n.addr(off), uintptr(len(c.mem))
			}
			if got := n.run(r1, r2); got != c.result {
				failed++
				t.Errorf("%s (bmi2 %v): r0 = %#x, want %#x", c.name, o.BMI2, got, c.result)
				continue
			}
			passed++
		}
		t.Logf("x86 JIT native conformance (bmi2 %v): %d passed, %d failed, 1 refused (callx.data: the x86 JIT has no callx)", o.BMI2, passed, failed)
	}
}

// TestX86NativeArena runs arena accesses with kern_vm_start pointing at a
// real mapping: stores through r12 land at kern_vm_start + lo32(reg) + off,
// loads read them back zero-extended, atomics return the old value,
// cast_user builds user_vm_start's upper half | lo32 and keeps NULL NULL.
func TestX86NativeArena(t *testing.T) {
	n := newX86Native(t)
	arena := n.reserve(1 << 16)
	o := X86Options{KernVMStart: uint64(n.addr(arena)), UserVMStart: 0x00007f1200000000}
	const base = 0x1000 // the arena pointer's lo32; the upper half must not matter
	prog := []Insn{
		x86Wide(R1, 0xdead00000000|base)[0], x86Wide(R1, 0xdead00000000|base)[1],
		x86CastKern(R1, R1),                                                  // the JIT relies on the verifier's cast for a clean upper half
		x86St(ProbeMem32Mode, DWord, R1, 8, -2),                              // *(u64 *)(r1 + 8) = -2
		x86AluK(ALU64Class, Mov, R2, 0x55),                                   //
		x86Stx(ProbeMem32Mode, Byte, R1, R2, -1),                             // *(u8 *)(r1 - 1) = 0x55
		x86Ldx(ProbeMem32Mode, Word, R3, R1, 8),                              // r3 = *(u32 *)(r1 + 8) = 0xfffffffe
		x86AluK(ALU64Class, Mov, R4, 5),                                      //
		x86Atomic(ProbeAtomicMode, DWord, R1, R4, 16, AtomicAdd|AtomicFetch), // r4 = old (0), mem = 5
		x86AluK(ALU64Class, Mov, R0, 5),                                      //
		x86AluK(ALU64Class, Mov, R5, 9),                                      //
		x86Atomic(ProbeAtomicMode, DWord, R1, R5, 16, AtomicCmpXchg),         // r0 = old (5), mem = 9
		x86AluX(ALU64Class, Add, R0, R3),                                     // r0 = 5 + 0xfffffffe
		x86AluX(ALU64Class, Add, R0, R4),                                     // + 0
		x86CastUser(R6, R1),                                                  // r6 = 0x7f12_0000_1000
		x86AluK(ALU64Class, Mov, R7, 0),                                      //
		x86CastUser(R7, R7),                                                  // NULL stays NULL
		x86AluX(ALU64Class, Add, R0, R6),                                     //
		x86AluX(ALU64Class, Add, R0, R7),                                     //
		x86Exit,
	}
	p, err := JITX86(prog, &o)
	require.NoError(t, err)
	n.load(t, p)
	got := n.run(0, 0)
	require.Equal(t, uint64(5+0xfffffffe+0x00007f1200000000+base), got)
	mem := n.m[arena:]
	require.Equal(t, uint64(0xfffffffffffffffe), binary.LittleEndian.Uint64(mem[base+8:]))
	require.Equal(t, byte(0x55), mem[base-1])
	require.Equal(t, uint64(9), binary.LittleEndian.Uint64(mem[base+16:]))
}

// TestX86NativeMayGoto runs a loop bounded only by may_goto: the counted
// form allows BPF_MAX_LOOPS iterations; the timed form, with an
// arch_bpf_timed_may_goto that always reports a timeout, BPF_MAX_TIMED_LOOPS.
func TestX86NativeMayGoto(t *testing.T) {
	prog := []Insn{
		x86AluK(ALU64Class, Mov, R0, 0),
		{Code: JumpOpcode(JumpClass, JCond, ImmSource), Off: 2}, // may_goto +2
		x86AluK(ALU64Class, Add, R0, 1),
		x86JmpK(JumpClass, Ja, 0, 0, -3),
		x86Exit,
	}
	for _, c := range []struct {
		kind X86MayGoto
		want uint64
	}{{X86MayGotoCount, BPFMaxLoops}, {X86MayGotoTimed, BPFMaxTimedLoops}} {
		n := newX86Native(t)
		p, err := JITX86(prog, &X86Options{MayGoto: c.kind})
		require.NoError(t, err)
		n.load(t, p)
		require.Equal(t, c.want, n.run(0, 0), "may_goto kind %d", c.kind)
	}
}

// TestX86NativeProbeMem runs PROBE_MEM loads (kernel pointers outside the
// arena) on user addresses: the address check sends them to the "dst = 0"
// path without touching memory, so even NULL and a real user pointer load 0.
func TestX86NativeProbeMem(t *testing.T) {
	n := newX86Native(t)
	data := n.put([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	prog := []Insn{
		x86AluK(ALU64Class, Mov, R0, 7),
		x86Ldx(ProbeMemMode, DWord, R0, R1, 0),  // r1 = a user pointer: refused
		x86Ldx(ProbeMemSXMode, Byte, R3, R2, 8), // r2 = NULL: refused
		x86AluX(ALU64Class, Add, R0, R3),
		x86Exit,
	}
	p, err := JITX86(prog, nil)
	require.NoError(t, err)
	n.load(t, p)
	require.Equal(t, uint64(0), n.run(n.addr(data), 0))
}

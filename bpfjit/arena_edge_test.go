package bpfjit

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/arenasim/arenasim/internal/errno"
)

// edgeWorld maps the first and the last 8 pages of the arena's 4 GiB
// window, the 32 KiB each side that an s16 offset can reach from it, and
// fills every byte with a pattern of its page offset, so a load shows where
// it read. The guard halves beyond the window have nothing mapped.
func edgeWorld(t *testing.T) func(w *execWorld, c *Config) {
	return func(w *execWorld, c *Config) {
		for _, p := range []uint64{0, 1, 2, 3, 4, 5, 6, 7, 0xffff8, 0xffff9, 0xffffa, 0xffffb, 0xffffc, 0xffffd, 0xffffe, 0xfffff} {
			pg := w.mapPage(t, p)
			for i := range pg {
				pg[i] = byte(p) ^ byte(i)
			}
		}
	}
}

// TestArenaWindowEdges runs PROBE_MEM32 loads and stores at the s16 extremes
// from both ends of the 4 GiB window (spec arena.md 2.5-2.6): kaddr =
// kern_vm_start + (u32)reg + off is a 64-bit sum, so -32768 from the bottom
// lands in the lower guard half and +32767 from the top in the upper one;
// both fault and are fixed up (load: dst = 0; store: dropped), while the
// same offsets pointing inside the window reach the mapped pages. An access
// straddling out of the window faults as a whole.
func TestArenaWindowEdges(t *testing.T) {
	cases := []struct {
		reg   uint64
		off   int16
		size  Size
		fault bool
	}{
		{0, -32768, DWord, true},           // lowest byte of the area, kern_vm_start - 32 KiB
		{0, -32768, Byte, true},            //
		{0, -1, Byte, true},                // the last guard byte below the window
		{0, 0, DWord, false},               // the window's first byte
		{0, 32767, Byte, false},            // inside, page 7
		{0, 32767, Half, true},             // straddles into page 8, unmapped
		{0xffffffff, 32767, Byte, true},    // upper guard half, the highest byte reachable
		{0xffffffff, 32767, DWord, true},   // ... 8 bytes of it, past the reserved area
		{0xffffffff, 0, Byte, false},       // the window's last byte
		{0xffffffff, 0, Word, true},        // straddles out of the window
		{0xffffffff, 1, Byte, true},        // the first guard byte above it
		{0xffffffff, -32767, DWord, false}, // 32 KiB below the top: page 0xffff8
		{0xffffffff, -32768, Byte, true},   // one byte lower: page 0xffff7, not mapped here
		{0xfffffff8, 0, DWord, false},      // the window's last 8 bytes
		{0xdead00000010, 0, DWord, false},  // the upper half of reg is ignored
		{0x100000000, -32768, Byte, true},  // ... so this is the bottom edge again
	}
	for _, c := range cases {
		name := fmt.Sprintf("reg=%#x/off=%d/%v", c.reg, c.off, c.size)
		kaddr := execKernStart + uint64(uint32(c.reg)) + uint64(int64(c.off))
		t.Run("load "+name, func(t *testing.T) {
			prog := []Insn{
				LdImm64Insns(R1, PseudoNone, c.reg)[0], LdImm64Insns(R1, PseudoNone, c.reg)[1],
				{Code: 0xb7, Dst: R0, Imm: -1},
				{Code: MemOpcode(LdXClass, ProbeMem32Mode, c.size), Dst: R0, Src: R1, Off: c.off},
				{Code: 0x95},
			}
			s := runBoth(t, prog, nil, edgeWorld(t))
			require.Equal(t, OK, s.Outcome, s.Err)
			if c.fault {
				require.Equal(t, uint64(0), s.R0, "a faulting load gives 0")
				require.Equal(t, []Fault{{PC: 3, Addr: kaddr, Size: c.size.Bytes(), Errno: errno.EFAULT,
					UserAddr: execUserStart + uint64(uint32(c.reg)) + uint64(int64(c.off))}}, s.Faults)
				return
			}
			require.Empty(t, s.Faults)
			// The expected bytes, from the page pattern.
			want := uint64(0)
			for i := c.size.Bytes() - 1; i >= 0; i-- {
				a := kaddr + uint64(i) - execKernStart
				want = want<<8 | uint64(byte(a>>12)^byte(a&0xfff))
			}
			require.Equal(t, want, s.R0)
		})
		t.Run("store "+name, func(t *testing.T) {
			prog := []Insn{
				LdImm64Insns(R1, PseudoNone, c.reg)[0], LdImm64Insns(R1, PseudoNone, c.reg)[1],
				{Code: MemOpcode(StClass, ProbeMem32Mode, c.size), Dst: R1, Off: c.off, Imm: 0x5a5a5a5a},
				{Code: 0xb7, Dst: R0, Imm: 1},
				{Code: 0x95},
			}
			s := runBoth(t, prog, nil, edgeWorld(t))
			require.Equal(t, OK, s.Outcome, s.Err)
			require.Equal(t, uint64(1), s.R0, "execution goes on after the store")
			if c.fault {
				require.Len(t, s.Faults, 1)
				require.True(t, s.Faults[0].Write)
				for p, pg := range s.Pages { // nothing changed anywhere
					for i, b := range pg {
						require.Equal(t, byte(p)^byte(i), b, "page %#x byte %d", p, i)
					}
				}
				return
			}
			require.Empty(t, s.Faults)
			a := kaddr - execKernStart
			require.Equal(t, byte(0x5a), s.Pages[a>>12][a&0xfff])
		})
	}
}

// TestArenaAtomicFault checks that a faulting PROBE_ATOMIC changes no
// register: not the fetched src, not r0 of cmpxchg, not dst of a
// load-acquire (the x86 JIT's extable entry for STX has nothing to clear).
func TestArenaAtomicFault(t *testing.T) {
	for _, op := range []int32{AtomicAdd | AtomicFetch, AtomicXchg, AtomicCmpXchg, AtomicLoadAcq, AtomicAdd} {
		t.Run(fmt.Sprintf("%#x", op), func(t *testing.T) {
			prog := execAsm(t, `r1 = 0x10000
r2 = 22
r0 = 33
r3 = 44
exit`)
			atomic := Insn{Code: MemOpcode(StXClass, ProbeAtomicMode, DWord), Dst: R1, Src: R2, Imm: op}
			if op == AtomicLoadAcq {
				atomic.Dst, atomic.Src = R3, R1
			}
			prog = append(prog[:4:4], atomic, prog[4])
			s := runBoth(t, prog, nil, edgeWorld(t))
			require.Equal(t, OK, s.Outcome, s.Err)
			require.Equal(t, [4]uint64{33, 0x10000, 22, 44}, [4]uint64(s.Regs[:4]))
			require.Len(t, s.Faults, 1)
			require.Equal(t, op != AtomicLoadAcq, s.Faults[0].Write, "atomics report WRITE, load-acquire READ")
			require.Equal(t, uint64(execKernStart+0x10000), s.Faults[0].Addr)
		})
	}
}

// TestArenaAtomics runs every atomic on a mapped arena page.
func TestArenaAtomics(t *testing.T) {
	for _, c := range []struct {
		op      int32
		mem, r2 uint64 // after
		r0      uint64
	}{
		// The page holds 0x0f0e0d0c0b0a0908 at offset 8 (edgeWorld's pattern).
		{AtomicAdd, 0x0f0e0d0c0b0a090e, 6, 9},
		{AtomicAdd | AtomicFetch, 0x0f0e0d0c0b0a090e, 0x0f0e0d0c0b0a0908, 9},
		{AtomicOr | AtomicFetch, 0x0f0e0d0c0b0a090e, 0x0f0e0d0c0b0a0908, 9},
		{AtomicXchg, 6, 0x0f0e0d0c0b0a0908, 9},
		{AtomicCmpXchg, 0x0f0e0d0c0b0a0908, 6, 0x0f0e0d0c0b0a0908}, // r0 (9) differs: no store
	} {
		t.Run(fmt.Sprintf("%#x", c.op), func(t *testing.T) {
			prog := execAsm(t, "r1 = 8\nr2 = 6\nr0 = 9\nexit")
			prog = append(prog[:3:3], Insn{Code: MemOpcode(StXClass, ProbeAtomicMode, DWord), Dst: R1, Src: R2, Imm: c.op}, prog[3])
			s := runBoth(t, prog, nil, edgeWorld(t))
			require.Equal(t, OK, s.Outcome, s.Err)
			require.Empty(t, s.Faults)
			require.Equal(t, c.mem, binary.LittleEndian.Uint64(s.Pages[0][8:]), "memory")
			require.Equal(t, c.r2, s.Regs[2], "r2")
			require.Equal(t, c.r0, s.Regs[0], "r0")
		})
	}
}

// TestArenaCmpXchg32KeepsUpperR0: a 32-bit arena cmpxchg that stores
// leaves r0 whole, as the kernel's x86 JIT does (lock cmpxchg writes eax
// only on a mismatch, and the verifier zero-extends r0 only after the
// non-arena form); on a mismatch r0 gets the old value, zero-extended.
func TestArenaCmpXchg32KeepsUpperR0(t *testing.T) {
	for _, c := range []struct {
		name   string
		r0     uint64
		wantR0 uint64
		mem    uint32 // low word at offset 8 after the run
	}{
		// edgeWorld's page holds 0x0b0a0908 in the low word at offset 8.
		{"match", 0x7700000000000000 | 0x0b0a0908, 0x7700000000000000 | 0x0b0a0908, 6},
		{"mismatch", 0x7700000000000009, 0x0b0a0908, 0x0b0a0908},
	} {
		t.Run(c.name, func(t *testing.T) {
			prog := execAsm(t, fmt.Sprintf("r1 = 8\nr2 = 6\nr0 = %#x ll\nexit", c.r0))
			cmpxchg := Insn{Code: MemOpcode(StXClass, ProbeAtomicMode, Word), Dst: R1, Src: R2, Imm: AtomicCmpXchg}
			prog = append(prog[:4:4], cmpxchg, prog[4])
			s := runBoth(t, prog, nil, edgeWorld(t))
			require.Equal(t, OK, s.Outcome, s.Err)
			require.Equal(t, c.wantR0, s.Regs[0], "r0")
			require.Equal(t, c.mem, binary.LittleEndian.Uint32(s.Pages[0][8:]), "memory")
		})
	}
}

// TestArenaProgram runs a verified arena program end to end: allocate two
// pages, cast, store and load through PROBE_MEM32, touch a page it did not
// allocate (fixed up), free, touch again (fixed up), as the arena selftests do.
func TestArenaProgram(t *testing.T) {
	a := Assembler{Syntax: SyntaxLLVM, Maps: map[string]int32{"arena": execArenaFD},
		Kfuncs: map[string]int32{"bpf_arena_alloc_pages": execKfAlloc, "bpf_arena_free_pages": execKfFree}}
	prog, err := a.Assemble("arena.s", []byte(`r1 = arena ll
r2 = 0
r3 = 2
r4 = -1
r5 = 0
call bpf_arena_alloc_pages
if r0 == 0 goto fail
r6 = r0
r1 = addr_space_cast(r6, 0, 1)
r2 = 42
*(u64 *)(r1 + 8) = r2
r7 = *(u64 *)(r1 + 8)
*(u64 *)(r1 + 8192) = r2
r8 = *(u64 *)(r1 + 8192)
r1 = arena ll
r2 = r6
r3 = 2
call bpf_arena_free_pages
r1 = addr_space_cast(r6, 0, 1)
r9 = *(u64 *)(r1 + 8)
r0 = r7
r0 += r8
r0 += r9
r2 = addr_space_cast(r1, 1, 0)
r0 += r2
r1 += 8
r1 = addr_space_cast(r1, 1, 0)
r1 -= r6
r0 += r1
exit
fail:
r0 = -1
exit`))
	require.NoError(t, err)
	w := newExecWorld(t, nil, execUserStart)
	v, err := Verify(prog, w.verifyEnv(8))
	require.NoError(t, err)
	require.Equal(t, []int{11, 12, 13, 14, 21}, v.ProbeInsns, "the verifier marks the arena accesses")
	s := runBoth(t, v.Insns, nil, nil)
	require.Equal(t, OK, s.Outcome, s.Err)
	// 42 stored and read back; the unallocated page and the freed page read
	// 0; cast_user of the first byte of this 4 GiB-aligned arena (lo32 0) is
	// NULL, of the ninth byte user_vm_start + 8.
	require.Equal(t, uint64(42+8), s.R0)
	require.Empty(t, s.Pages, "every page freed")
	require.Len(t, s.Faults, 3)
	require.Equal(t, []bool{true, false, false}, []bool{s.Faults[0].Write, s.Faults[1].Write, s.Faults[2].Write})
	require.Equal(t, uint64(execUserStart+8192), s.Faults[0].UserAddr)
	require.Equal(t, uint64(execKernStart+8), s.Faults[2].Addr)
}

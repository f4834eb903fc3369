package bpfjit

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/arch/x86/x86asm"
)

// TestX86ExtableEveryProbeForm compiles every probe access alone and checks
// its exception-table entry against the decoded instruction: it covers the
// access and nothing else, a load's fixup clears the x86 register of its
// destination, a store's or atomic's clears nothing, and ex_handler_bpf
// resumes right after the access.
func TestX86ExtableEveryProbeForm(t *testing.T) {
	type form struct {
		name  string
		ins   Insn
		clear bool     // the fixup zeroes the destination
		ptr   Register // the register holding the address
		arena bool
	}
	var forms []form
	sizes := []Size{Byte, Half, Word, DWord}
	pairs := [][2]Register{{R0, R1}, {R7, R8}, {R9, R5}, {R3, R3}, {R6, R10}}
	for _, s := range sizes {
		for _, p := range pairs {
			a, b := p[0], p[1]
			forms = append(forms,
				form{fmt.Sprintf("ldx %v %v<-%v", s, a, b), x86Ldx(ProbeMem32Mode, s, a, b, -3), true, b, true},
				form{fmt.Sprintf("stx %v %v<-%v", s, b, a), x86Stx(ProbeMem32Mode, s, b, a, 300), false, b, true},
				form{fmt.Sprintf("st %v %v", s, b), x86St(ProbeMem32Mode, s, b, -32768, -7), false, b, true},
				form{fmt.Sprintf("probe_mem ldx %v %v<-%v", s, a, b), x86Ldx(ProbeMemMode, s, a, b, 16), true, b, false},
				form{fmt.Sprintf("load acquire %v %v<-%v", s, a, b), x86Atomic(ProbeAtomicMode, s, a, b, 8, AtomicLoadAcq), false, b, true},
				form{fmt.Sprintf("store release %v %v<-%v", s, b, a), x86Atomic(ProbeAtomicMode, s, b, a, 8, AtomicStoreRel), false, b, true},
			)
			if s != DWord {
				forms = append(forms, form{fmt.Sprintf("probe_memsx ldx %v %v<-%v", s, a, b), x86Ldx(ProbeMemSXMode, s, a, b, 16), true, b, false})
			}
			if s == Word || s == DWord {
				for _, op := range []int32{AtomicAdd, AtomicAnd, AtomicOr, AtomicXor, AtomicAdd | AtomicFetch, AtomicXchg, AtomicCmpXchg} {
					forms = append(forms, form{fmt.Sprintf("atomic %#x %v %v,%v", op, s, b, a), x86Atomic(ProbeAtomicMode, s, b, a, 8, op), false, b, true})
				}
			}
		}
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			if f.ins.Dst == R10 && f.clear {
				t.Skip("r10 is read-only")
			}
			p, err := JITX86([]Insn{{Code: JumpOpcode(JumpClass, Ja, ImmSource)}, f.ins, x86Exit}, &x86Arena)
			require.NoError(t, err)
			fn := p.Funcs[0]
			require.Len(t, fn.Extable, 1)
			e := fn.Extable[0]
			require.Equal(t, 1, e.Slot)
			require.Equal(t, int32(ExTypeBPF), e.Data)
			require.Equal(t, fn.Addr+uint64(e.Offset), e.Addr)
			require.Equal(t, int64(e.Addr)-int64(x86ExtableAddr(fn.Addr, len(fn.Image))), int64(e.Insn), "relative insn field")

			in, err := X86Decode(fn.Image[e.Offset:])
			require.NoError(t, err)
			require.Equal(t, in.Len, e.SkipLen(), "skip length = the faulting instruction's length: %v", in)
			var mem x86asm.Mem
			for _, a := range in.Args {
				if m, ok := a.(x86asm.Mem); ok {
					mem = m
				}
			}
			base, _ := X86RegOf(f.ptr)
			require.Equal(t, x86asm.RAX+x86asm.Reg(base), mem.Base, "%v", in)
			if f.arena {
				require.Equal(t, x86asm.R12, mem.Index, "%v", in)
			} else {
				require.Equal(t, x86asm.Reg(0), mem.Index, "%v", in)
			}
			// The access ends its BPF instruction: a fixup resumes at the next one.
			x := fn.Insns[1]
			require.Equal(t, x.Off+x.Len, e.Offset+e.SkipLen())

			r, ok := e.ClearReg()
			require.Equal(t, f.clear, ok)
			regs := X86PtRegs{IP: e.Addr}
			for i := range regs.Regs {
				regs.Regs[i] = 0x1111 * uint64(i+1)
			}
			before := regs
			e.Handle(&regs)
			require.Equal(t, e.Addr+uint64(in.Len), regs.IP)
			if f.clear {
				dst, _ := X86RegOf(f.ins.Dst)
				require.Equal(t, dst, r)
				dreg, _ := in.Args[0].(x86asm.Reg)
				require.Equal(t, x86asm.RAX+x86asm.Reg(dst), x86Reg64(dreg), "the cleared register is the load's destination: %v", in)
				require.Zero(t, regs.Regs[r])
				before.Regs[r] = 0
			}
			require.Equal(t, before.Regs, regs.Regs, "no other register changes")
		})
	}
}

// TestX86ExtableLayout checks the exact entry of one arena load: where the
// access sits after the prologue, the raw fixup word, and the relative
// insn field measured from the table placed after the code.
func TestX86ExtableLayout(t *testing.T) {
	p, err := JITX86([]Insn{x86Ldx(ProbeMem32Mode, DWord, R0, R1, 8), x86Exit}, &x86Arena)
	require.NoError(t, err)
	f := p.Funcs[0]
	// nop5, nop3, push rbp, mov rbp,rsp, push r12, movabs r12: 24 bytes.
	require.Equal(t, 24, f.PrologueLen)
	// The load (5), then pop r12, leave, ret.
	require.Len(t, f.Image, 24+5+4)
	require.Equal(t, X86ModulesVAddr+8, f.Addr, "the image starts after the 8-byte bpf_binary_header")
	require.Equal(t, []X86ExEntry{{
		Slot: 0, Offset: 24, Addr: f.Addr + 24,
		Insn:  24 - 36,         // the table starts at roundup(33, 4) = 36
		Fixup: 5 | PtRegsAX<<8, // skip 5 bytes, clear pt_regs->ax
		Data:  ExTypeBPF,
	}}, f.Extable)
	e, ok := p.SearchExtable(f.Addr + 24)
	require.True(t, ok)
	require.Equal(t, f.Extable[0], e)
	_, ok = p.SearchExtable(f.Addr + 25)
	require.False(t, ok, "only the faulting instruction's own address is covered")
	require.Equal(t, "insn 0: +0x18 (0xffffffffc0000020) skip 5, clear rax", e.String())
}

// TestX86ExtableManyFunctions checks entries in code order, per function,
// in a program with a subprogram, ordinary memory accesses between them.
func TestX86ExtableManyFunctions(t *testing.T) {
	prog := []Insn{
		x86Ldx(ProbeMem32Mode, Word, R6, R1, 0),                  // 0: entry, clear rbx
		x86Ldx(MemMode, DWord, R2, R10, -8),                      // 1: stack, no entry
		x86Call(CallLocal, 3),                                    // 2: call 6
		x86Stx(ProbeMem32Mode, Byte, R6, R0, 1),                  // 3: entry, no clear
		x86St(MemMode, DWord, R10, -8, 0),                        // 4
		x86Exit,                                                  // 5
		x86Atomic(ProbeAtomicMode, DWord, R1, R2, 0, AtomicXchg), // 6: subprog entry
		x86Ldx(ProbeMem32Mode, DWord, R0, R1, 8),                 // 7: entry, clear rax
		x86Exit,                                                  // 8
	}
	p, err := JITX86(prog, &x86Arena)
	require.NoError(t, err)
	require.Len(t, p.Funcs, 2)
	var slots [][]int
	for _, f := range p.Funcs {
		var s []int
		for i, e := range f.Extable {
			s = append(s, e.Slot)
			require.True(t, e.Addr >= f.Addr && e.Addr < f.Addr+uint64(len(f.Image)))
			if i > 0 {
				require.Greater(t, e.Offset, f.Extable[i-1].Offset)
			}
		}
		slots = append(slots, s)
	}
	require.Equal(t, [][]int{{0, 3}, {6, 7}}, slots)
	r, ok := p.Funcs[0].Extable[0].ClearReg()
	require.True(t, ok)
	require.Equal(t, X86RBX, r)
	_, ok = p.Funcs[1].Extable[0].ClearReg()
	require.False(t, ok, "an atomic clears nothing, even xchg, which writes its source")
	_, err = x86CheckImage(p, nil)
	require.NoError(t, err)
}

// x86Reg64 names the 64-bit register a 32-, 16- or 64-bit register is part of.
func x86Reg64(r x86asm.Reg) x86asm.Reg {
	switch {
	case r >= x86asm.EAX && r <= x86asm.R15L:
		return r - x86asm.EAX + x86asm.RAX
	case r >= x86asm.AX && r <= x86asm.R15W:
		return r - x86asm.AX + x86asm.RAX
	}
	return r
}

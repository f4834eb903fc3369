package bpfjit

import (
	"crypto/sha1"
	"encoding/hex"

	"github.com/arenasim/arenasim/internal/errno"
)

// X86Program is a program as the x86-64 JIT leaves it: one image per
// function (the main program, then each subprogram), each with its
// exception table.
type X86Program struct {
	Funcs []X86Func
}

// X86Func is one JIT-compiled function.
type X86Func struct {
	// Name is the kallsyms name bpftool prints: bpf_prog_<tag>_<name> for
	// the main function, bpf_prog_<tag>_F for a subprogram.
	Name string
	Tag  [8]byte
	// Addr is the image's address; Image its code (jited_len bytes).
	Addr  uint64
	Image []byte
	// Extable has one entry per PROBE access, in code order.
	Extable []X86ExEntry
	// Passes is how many do_jit passes it took, the final one included.
	Passes int
	// StackDepth is the frame the prologue reserves before rounding to 8:
	// the verifier's depth plus may_goto's slots.
	StackDepth int
	// Start and End are the function's slots in the caller's program.
	Start, End int
	// Insns is the function's instructions as the JIT saw them, after the
	// verifier's last rewrites, each with its code range.
	Insns []X86Insn
	// PrologueLen is the size of the code before the first instruction.
	PrologueLen int
}

// X86Insn is one BPF instruction of a function and the x86 code it became.
type X86Insn struct {
	Insn Insn
	// Slot is the caller's slot it comes from (for a patchlet, the slot it
	// replaced), or -1 for the may_goto setup at the function's start.
	Slot int
	// Inserted is set for instructions a verifier rewrite added.
	Inserted bool
	// Off and Len are its code's offset in the image and length. The second
	// slot of a wide load has length 0; the first holds the whole move.
	Off, Len int
}

// Len returns the total size of the program's images.
func (p *X86Program) Len() int {
	n := 0
	for _, f := range p.Funcs {
		n += len(f.Image)
	}
	return n
}

// JITX86 returns the x86-64 machine code the kernel's BPF JIT emits for a
// verified program (arch/x86/net/bpf_jit_comp.c). It models
// bpf_int_jit_compile's passes for each function and, when the program has
// subprograms, jit_subprogs: every function is compiled and placed, then
// compiled once more with the callees' addresses in the calls.
//
// prog is the program after verification: arena accesses already in
// PROBE_MEM32 / PROBE_ATOMIC mode, maps resolved. The last rewrites the
// kernel makes just before JIT (addr_space_cast lowering, divide guards,
// the may_goto expansion) are applied here; see X86Options for the rest.
// The main function's tag hashes prog as given, where the kernel hashes
// the program as loaded, before the verifier rewrote it.
func JITX86(prog []Insn, opts *X86Options) (*X86Program, error) {
	o := X86Options{}
	if opts != nil {
		o = *opts
	}
	fns, err := x86Prepare(prog, &o)
	if err != nil {
		return nil, err
	}
	base := o.ImageBase
	if base == 0 {
		base = X86ModulesVAddr
	}
	out := &X86Program{Funcs: make([]X86Func, len(fns))}
	jits := make([]*x86JIT, len(fns))
	next := base
	for f := range fns {
		j := &x86JIT{o: &o, fn: &fns[f], addrs: make([]int, len(fns[f].insns)+1)}
		jits[f] = j
		passes, err := j.compile(&next)
		if err != nil {
			return nil, err
		}
		out.Funcs[f].Passes = passes
	}
	if len(fns) > 1 {
		// The extra pass: calls now reach the real images. Nothing may move.
		callee := make([]uint64, len(fns))
		for f, j := range jits {
			callee[f] = j.image
		}
		for _, j := range jits {
			j.callee = callee
			n, err := j.pass(true, len(j.code))
			if err != nil {
				return nil, err
			}
			if n != len(j.code) {
				return nil, errno.Errorf(errno.EFAULT, "bpf_jit: proglen=%d != oldproglen=%d", n, len(j.code))
			}
		}
	}
	for f, j := range jits {
		fn := &fns[f]
		xf := &out.Funcs[f]
		xf.Addr, xf.Image, xf.Extable = j.image, j.code, j.ex
		xf.StackDepth, xf.Start, xf.End = fn.stackDepth, fn.start, fn.end
		xf.PrologueLen = j.addrs[0]
		xf.Insns = make([]X86Insn, len(fn.insns))
		for k, x := range fn.insns {
			end := j.addrs[k+1]
			if x.ins.IsLdImm64() {
				end = j.addrs[k+2]
			} else if k > 0 && fn.insns[k-1].ins.IsLdImm64() {
				xf.Insns[k] = X86Insn{Insn: x.ins, Slot: x.slot, Inserted: x.inserted, Off: end}
				continue
			}
			xf.Insns[k] = X86Insn{Insn: x.ins, Slot: x.slot, Inserted: x.inserted, Off: j.addrs[k], Len: end - j.addrs[k]}
		}
		if f == 0 {
			xf.Tag = x86ProgTag(prog)
			xf.Name = x86KsymName(xf.Tag, o.Name)
		} else {
			xf.Tag = x86ProgTag(x86TagInsns(fn, &o))
			xf.Name = x86KsymName(xf.Tag, "F")
		}
	}
	return out, nil
}

// compile runs the sizing passes until the image stops shrinking, places
// the image at *next, and runs the final pass that writes it. It returns
// the number of passes.
func (j *x86JIT) compile(next *uint64) (int, error) {
	// Before the first pass every insn is assumed to take 64 bytes.
	for k := range j.addrs {
		j.addrs[k] = 64 * (k + 1)
	}
	j.cleanup = 64 * len(j.addrs)
	oldLen := 0
	padding := false
	for pass := 0; pass < X86MaxPasses || j.image != 0; pass++ {
		if !padding && pass >= X86PaddingPasses {
			padding = true
		}
		n, err := j.pass(padding, oldLen)
		if err != nil {
			return 0, err
		}
		if j.image != 0 {
			if n != oldLen {
				return 0, errno.Errorf(errno.EFAULT, "bpf_jit: proglen=%d != oldproglen=%d", n, oldLen)
			}
			return pass + 1, nil
		}
		if n == oldLen {
			j.place(n, next)
		}
		oldLen = n
	}
	return 0, errno.Errorf(errno.ENOTSUPP, "bpf_jit: the image did not converge in %d passes", X86MaxPasses)
}

// place allocates the image the way bpf_jit_binary_pack_alloc carves a
// bpf_prog_pack: code rounded to 4 bytes, then the exception table, after
// an 8-byte header and with 16 spare bytes, in whole 64-byte chunks. The
// kernel starts the image at a random 4-byte-aligned offset within the
// first chunk's hole; the model uses offset 0.
func (j *x86JIT) place(proglen int, next *uint64) {
	const header, chunk = 8, 64
	size := (proglen+3)&^3 + j.fn.exEntries*X86ExEntrySize
	alloc := uint64((size + header + 16 + chunk - 1) &^ (chunk - 1))
	j.image = *next + header
	j.code = make([]byte, proglen)
	*next += alloc
}

// x86ProgTag models bpf_prog_calc_tag: the first 8 bytes of the SHA-1 of
// the instructions, with the imm of map-fd and map-value loads zeroed since
// fd numbers differ from load to load.
func x86ProgTag(prog []Insn) [8]byte {
	raw := make([]byte, len(prog)*InsnSize)
	wasLdMap := false
	for i, ins := range prog {
		switch {
		case !wasLdMap && ins.IsLdImm64() && (ins.Src == PseudoMapFD || ins.Src == PseudoMapValue):
			wasLdMap = true
			ins.Imm = 0
		case wasLdMap && ins.Code == 0 && ins.Dst == 0 && ins.Src == 0 && ins.Off == 0:
			wasLdMap = false
			ins.Imm = 0
		default:
			wasLdMap = false
		}
		ins.Encode(raw[i*InsnSize:])
	}
	sum := sha1.Sum(raw)
	var tag [8]byte
	copy(tag[:], sum[:8])
	return tag
}

// x86TagInsns returns a subprogram's instructions as they are when
// jit_subprogs computes its tag: calls carry the kernel's call imm, a
// local call the callee's index in off and 1 in imm.
func x86TagInsns(fn *x86Fn, o *X86Options) []Insn {
	insns := make([]Insn, len(fn.insns))
	base := o.Symbols.callBase()
	lo, hi := x86Halves(X86ModulesVAddr)
	for k, x := range fn.insns {
		ins := x.ins
		switch {
		case ins.Code == JumpOpcode(JumpClass, Call, ImmSource) && ins.Src == CallLocal && !x.inserted:
			ins.Off, ins.Imm = int16(x.callee), 1
		case ins.Code == JumpOpcode(JumpClass, Call, ImmSource):
			ins.Imm = int32(x.addr - base)
		case ins.IsLdImm64() && ins.Src == PseudoFunc:
			ins.Off, ins.Imm = int16(x.callee), lo
		case k > 0 && fn.insns[k-1].ins.IsLdImm64() && fn.insns[k-1].ins.Src == PseudoFunc:
			ins.Imm = hi
		}
		insns[k] = ins
	}
	return insns
}

// x86KsymName models bpf_prog_ksym_set_name without BTF function names.
func x86KsymName(tag [8]byte, name string) string {
	s := "bpf_prog_" + hex.EncodeToString(tag[:])
	if name != "" {
		s += "_" + name
	}
	return s
}

// x86Halves splits v into the two imm fields of a wide load.
func x86Halves(v uint64) (lo, hi int32) { return int32(uint32(v)), int32(uint32(v >> 32)) }

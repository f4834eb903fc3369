package bpfjit

// Kernel constants the x86-64 JIT model uses.
const (
	// BPFMaxLoops is BPF_MAX_LOOPS, the may_goto budget without timing.
	BPFMaxLoops = 8 * 1024 * 1024
	// BPFMaxTimedLoops is BPF_MAX_TIMED_LOOPS: with timed may_goto the
	// count restarts from here after each arch_bpf_timed_may_goto call.
	BPFMaxTimedLoops = 0xffff
	// MaxBPFStack is MAX_BPF_STACK, the stack a frame may use.
	MaxBPFStack = 512

	// X86ModulesVAddr is MODULES_VADDR with CONFIG_RANDOMIZE_BASE
	// (__START_KERNEL_map + 1 GiB); BPF images are allocated from there.
	X86ModulesVAddr uint64 = 0xffffffffc0000000
	// X86KernelText is __START_KERNEL, where kernel text (helpers, kfuncs)
	// starts without KASLR.
	X86KernelText uint64 = 0xffffffff81000000

	// x86TaskSizeMax is TASK_SIZE_MAX with 4-level paging, x86PageSize
	// PAGE_SIZE and x86VsyscallAddr VSYSCALL_ADDR: the bounds a PROBE_MEM
	// load checks before touching a kernel pointer.
	x86TaskSizeMax  uint64 = 1<<47 - 4096
	x86PageSize     uint64 = 4096
	x86VsyscallAddr uint64 = 0xffffffffff600000
)

// X86MayGoto selects how may_goto is expanded before JIT.
type X86MayGoto uint8

const (
	// X86MayGotoTimed is what Linux 6.16 does on x86-64
	// (bpf_jit_supports_timed_may_goto): a 16-bit count in a stack slot,
	// refilled by a call to arch_bpf_timed_may_goto until a time limit.
	X86MayGotoTimed X86MayGoto = iota
	// X86MayGotoCount is the plain form: a BPF_MAX_LOOPS count in a stack
	// slot. It is the semantics the interpreter and compiled engine run.
	X86MayGotoCount
)

// X86Options is what the x86-64 JIT model needs besides the instructions:
// the verifier's metadata and the kernel addresses the code refers to.
//
// The zero value describes a program without an arena, named "", whose
// subprograms and stack depths are derived from the instructions, with
// synthetic kernel addresses (see X86Symbols).
//
// The model emits the plain configuration of the JIT: no CFI/IBT (no
// endbr64 or hash preamble), no retpolines, return thunk or SLS int3 (a
// plain ret), no call-depth accounting, no constant blinding, no private
// stack, no tail calls and no BPF exceptions. Each of those only adds code
// around what is modelled here.
type X86Options struct {
	// Name is the program name (bpf_attr.prog_name); it ends the main
	// function's symbol, bpf_prog_<tag>_<name>.
	Name string

	// KernVMStart is the arena's kern_vm_start, loaded into r12 by the
	// prologue; zero means the program has no arena.
	KernVMStart uint64
	// UserVMStart is the arena's user_vm_start; its upper half is what
	// cast_user ORs in.
	UserVMStart uint64
	// NoUserConv is the arena flag BPF_F_NO_USER_CONV: cast_user becomes a
	// plain 32-bit move.
	NoUserConv bool

	// SubprogStarts lists the first instruction of every subprogram after
	// the main one, ascending, as the verifier found them. Nil derives them
	// from local calls and BPF_PSEUDO_FUNC loads (add_subprog_and_kfunc).
	SubprogStarts []int
	// StackDepths is the verifier's stack depth of each subprogram, main
	// first, before the extra slots may_goto adds (the model adds those).
	// Nil derives them: the deepest r10-relative access, or MaxBPFStack if
	// r10 is copied, since then only the verifier could track the pointer.
	StackDepths []int

	// Symbols resolves helper, kfunc and kernel-internal addresses. Nil
	// uses the synthetic layout of X86Symbols' zero value.
	Symbols *X86Symbols

	// MayGoto selects the may_goto expansion; the default is 6.16's timed form.
	MayGoto X86MayGoto
	// BMI2 says the CPU has BMI2: register shifts then use shlx/shrx/sarx
	// instead of going through cl. Off by default, the baseline x86-64 ISA.
	BMI2 bool

	// ImageBase is where the first image's allocation starts (a
	// bpf_prog_pack chunk); zero means X86ModulesVAddr. Images follow one
	// another in 64-byte chunks, each right after its 8-byte
	// bpf_binary_header: the kernel starts the image at a random offset in
	// its first chunk, the model at offset 0, so dumps are reproducible.
	ImageBase uint64
}

// X86Symbols holds the kernel addresses the emitted code calls. Zero fields
// use a synthetic, deterministic layout in kernel text; a real machine's
// come from /proc/kallsyms.
type X86Symbols struct {
	// Helper returns the address of helper id (the verifier's fixup makes
	// the call imm the helper's offset from __bpf_call_base).
	Helper func(id int32) (uint64, bool)
	// Kfunc returns the address of the kfunc with BTF id btfID.
	Kfunc func(btfID int32) (uint64, bool)
	// BPFCallBase is __bpf_call_base, what a call with imm 0 would reach;
	// the JIT refuses such a call.
	BPFCallBase uint64
	// TimedMayGoto is arch_bpf_timed_may_goto.
	TimedMayGoto uint64
}

// Synthetic kernel text layout used when X86Symbols leaves a field unset.
const (
	x86SynthCallBase    = X86KernelText + 0x200000 // __bpf_call_base
	x86SynthTimedGoto   = X86KernelText + 0x200800 // arch_bpf_timed_may_goto
	x86SynthHelperBase  = X86KernelText + 0x300000 // helper id N at + N*0x100
	x86SynthKfuncBase   = X86KernelText + 0x800000 // kfunc BTF id N at + (N&0xfffff)*0x40
	x86SynthHelperLimit = 1 << 12
)

func (s *X86Symbols) helper(id int32) (uint64, bool) {
	if s != nil && s.Helper != nil {
		return s.Helper(id)
	}
	if id <= 0 || id >= x86SynthHelperLimit {
		return 0, false
	}
	return x86SynthHelperBase + uint64(id)*0x100, true
}

func (s *X86Symbols) kfunc(btfID int32) (uint64, bool) {
	if s != nil && s.Kfunc != nil {
		return s.Kfunc(btfID)
	}
	if btfID <= 0 {
		return 0, false
	}
	return x86SynthKfuncBase + uint64(btfID&0xfffff)*0x40, true
}

func (s *X86Symbols) callBase() uint64 {
	if s != nil && s.BPFCallBase != 0 {
		return s.BPFCallBase
	}
	return x86SynthCallBase
}

func (s *X86Symbols) timedMayGoto() uint64 {
	if s != nil && s.TimedMayGoto != 0 {
		return s.TimedMayGoto
	}
	return x86SynthTimedGoto
}

// X86OptionsFor returns the JIT options of a program the verifier
// accepted: its subprograms with their stack depths, and its arena's
// user_vm_start and BPF_F_NO_USER_CONV. kernVMStart is the arena's
// kern_vm_start, which only the arena knows (bpf_arena_get_kern_vm_start).
func X86OptionsFor(v *Verified, kernVMStart uint64) *X86Options {
	o := &X86Options{}
	for i, sp := range v.Subprogs {
		if i > 0 {
			o.SubprogStarts = append(o.SubprogStarts, sp.Start)
		}
		o.StackDepths = append(o.StackDepths, sp.StackDepth)
	}
	if v.Arena != nil {
		o.KernVMStart = kernVMStart
		o.UserVMStart = v.Arena.ValueAddr
		o.NoUserConv = v.Arena.Flags&MapFlagNoUserConv != 0
	}
	return o
}

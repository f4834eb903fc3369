package bpfjit

import (
	"sort"

	"github.com/arenasim/arenasim/internal/errno"
)

// opcodeInInsnTable reports whether code is an instruction the kernel
// accepts from user space (bpf_opcode_in_insntable in kernel/bpf/core.c).
func opcodeInInsnTable(code Opcode) bool {
	c := code.Class()
	switch c {
	case ALUClass, ALU64Class:
		op := code.ALUOp()
		switch op {
		case Add, Sub, And, Or, LSh, RSh, Xor, Mul, Mov, ArSh, Div, Mod:
			return true
		case Neg:
			return code.Source() == ImmSource
		case End:
			return c == ALUClass || code.Source() == ImmSource
		}
		return false
	case JumpClass, Jump32Class:
		op := code.JumpOp()
		switch op {
		case JEq, JNE, JGT, JLT, JGE, JLE, JSGT, JSLT, JSGE, JSLE, JSet:
			return true
		case Ja:
			return code.Source() == ImmSource
		case Call, Exit, JCond:
			return c == JumpClass && code.Source() == ImmSource
		}
		return false
	case StXClass:
		switch code.Mode() {
		case AtomicMode, MemMode:
			return true
		}
		return false
	case StClass:
		return code.Mode() == MemMode
	case LdXClass:
		switch code.Mode() {
		case MemMode:
			return true
		case MemSXMode:
			return code.Size() != DWord
		}
		return false
	case LdClass:
		switch code.Mode() {
		case ImmMode:
			return code.Size() == DWord
		case AbsMode, IndMode:
			return code.Size() != DWord
		}
	}
	return false
}

func isPseudoCall(ins Insn) bool {
	return ins.Code == JumpOpcode(JumpClass, Call, ImmSource) && ins.Src == CallLocal
}

func isPseudoFunc(ins Insn) bool { return ins.IsLdImm64() && ins.Src == PseudoFunc }

func isKfuncCall(ins Insn) bool {
	return ins.Code == JumpOpcode(JumpClass, Call, ImmSource) && ins.Src == CallKfunc
}

func isHelperCall(ins Insn) bool {
	return ins.Code == JumpOpcode(JumpClass, Call, ImmSource) && ins.Src == CallHelper
}

func isMayGoto(ins Insn) bool {
	return ins.Code == JumpOpcode(JumpClass, JCond, ImmSource) && ins.Src == MayGoto
}

// addSubprogsAndKfuncs finds where each subprogram starts and resolves the
// kfuncs called (add_subprog_and_kfunc).
func (v *verifier) addSubprogsAndKfuncs() error {
	starts := map[int]bool{0: true}
	for i, ins := range v.insns {
		if !isPseudoCall(ins) && !isPseudoFunc(ins) && !isKfuncCall(ins) {
			continue
		}
		if !v.bpfCapable {
			return v.errorf(errno.EPERM, i, "loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN")
		}
		if !isKfuncCall(ins) {
			t := i + int(ins.Imm) + 1
			if t < 0 || t >= len(v.insns) {
				return v.errorf(errno.EINVAL, i, "call to invalid destination")
			}
			if !starts[t] && len(starts) >= bpfMaxSubprogs {
				return v.errorf(errno.E2BIG, i, "too many subprograms")
			}
			starts[t] = true
			continue
		}
		if v.env.NoJIT {
			return v.errorf(errno.ENOTSUPP, i, "JIT is required for calling kernel function")
		}
		if ins.Off != 0 {
			// Module BTF would come from fd_array; the model has vmlinux only.
			return v.errorf(errno.EINVAL, i, "failed to find BTF for kernel function")
		}
		kf := v.env.Kfuncs[ins.Imm]
		if kf == nil {
			return v.errorf(errno.EINVAL, i, "kernel btf_id %d is not a function", uint32(ins.Imm))
		}
		v.aux[i].kfunc = kf
	}
	for s := range starts {
		v.subprogs = append(v.subprogs, subprogInfo{start: s})
	}
	sort.Slice(v.subprogs, func(a, b int) bool { return v.subprogs[a].start < v.subprogs[b].start })
	v.subprogs = append(v.subprogs, subprogInfo{start: len(v.insns)})
	if v.log.level&LogLevel2 != 0 {
		for i, sp := range v.subprogs[:len(v.subprogs)-1] {
			v.log.printf("func#%d @%d\n", i, sp.start)
		}
	}
	return nil
}

// bpfMaxSubprogs is BPF_MAX_SUBPROGS.
const bpfMaxSubprogs = 256

// findSubprog returns the index of the subprogram starting at off, or -1.
func (v *verifier) findSubprog(off int) int {
	i := sort.Search(len(v.subprogs)-1, func(i int) bool { return v.subprogs[i].start >= off })
	if i < len(v.subprogs)-1 && v.subprogs[i].start == off {
		return i
	}
	return -1
}

// jmpOffset is the offset a jump adds to pc+1 (jmp_offset).
func jmpOffset(ins Insn) int {
	if ins.Code == JumpOpcode(Jump32Class, Ja, ImmSource) {
		return int(ins.Imm)
	}
	return int(ins.Off)
}

// checkSubprogs checks that jumps stay inside their subprogram and that no
// subprogram falls through into the next (check_subprogs).
func (v *verifier) checkSubprogs() error {
	cur := 0
	end := v.subprogs[1].start
	for i, ins := range v.insns {
		c := ins.Code.Class()
		if c.IsJump() && ins.Code.JumpOp() != Exit && ins.Code.JumpOp() != Call {
			off := i + jmpOffset(ins) + 1
			if off < v.subprogs[cur].start || off >= end {
				return v.errorf(errno.EINVAL, i, "jump out of range from insn %d to %d", i, off)
			}
		}
		if i == end-1 {
			if ins.Code != JumpOpcode(JumpClass, Exit, ImmSource) &&
				ins.Code != JumpOpcode(Jump32Class, Ja, ImmSource) &&
				ins.Code != JumpOpcode(JumpClass, Ja, ImmSource) {
				return v.errorf(errno.EINVAL, i, "last insn is not an exit or jmp")
			}
			cur++
			if cur < len(v.subprogs)-1 {
				end = v.subprogs[cur+1].start
			}
		}
	}
	return nil
}

// resolvePseudoLdImm64 checks reserved fields of loads and wide loads and
// turns map fds into kernel addresses (resolve_pseudo_ldimm64).
func (v *verifier) resolvePseudoLdImm64() error {
	for i := 0; i < len(v.insns); i++ {
		ins := v.insns[i]
		if ins.Code.Class() == LdXClass &&
			((ins.Code.Mode() != MemMode && ins.Code.Mode() != MemSXMode) || ins.Imm != 0) {
			return v.errorf(errno.EINVAL, i, "BPF_LDX uses reserved fields")
		}
		if !ins.IsLdImm64() {
			if !opcodeInInsnTable(ins.Code) {
				return v.errorf(errno.EINVAL, i, "unknown opcode %02x", uint8(ins.Code))
			}
			continue
		}
		if i == len(v.insns)-1 || v.insns[i+1].Code != 0 || v.insns[i+1].Dst != 0 ||
			v.insns[i+1].Src != 0 || v.insns[i+1].Off != 0 {
			return v.errorf(errno.EINVAL, i, "invalid bpf_ld_imm64 insn")
		}
		next := v.insns[i+1]
		switch ins.Src {
		case PseudoNone:
			i++
			continue
		case PseudoBTFID:
			return v.errorf(errno.EINVAL, i, "kernel is missing BTF, make sure CONFIG_DEBUG_INFO_BTF=y is specified in Kconfig.")
		case PseudoFunc:
			i++
			continue
		case PseudoMapValue, PseudoMapIdxValue:
		case PseudoMapFD, PseudoMapIdx:
			if next.Imm != 0 {
				return v.errorf(errno.EINVAL, i, "unrecognized bpf_ld_imm64 insn")
			}
		default:
			return v.errorf(errno.EINVAL, i, "unrecognized bpf_ld_imm64 insn")
		}
		fd := ins.Imm
		if ins.Src == PseudoMapIdx || ins.Src == PseudoMapIdxValue {
			if v.env.FDArray == nil {
				return v.errorf(errno.EPROTO, i, "fd_idx without fd_array is invalid")
			}
			if ins.Imm < 0 || int(ins.Imm) >= len(v.env.FDArray) {
				return v.errorf(errno.EFAULT, i, "fd_array index %d out of range", ins.Imm)
			}
			fd = v.env.FDArray[ins.Imm]
		}
		idx, err := v.addUsedMap(i, fd)
		if err != nil {
			return err
		}
		m := v.usedMaps[idx]
		v.aux[i].mapIndex = idx
		var addr uint64
		if ins.Src == PseudoMapFD || ins.Src == PseudoMapIdx {
			addr = m.Addr
		} else {
			off := uint32(next.Imm)
			if off >= bpfMaxVarOff {
				return v.errorf(errno.EINVAL, i, "direct value offset of %d is not allowed", off)
			}
			base, e := mapDirectValueAddr(m, off)
			if e == errno.EOPNOTSUPP {
				return v.errorf(errno.EINVAL, i, "no direct value access support for this map type")
			}
			if e != 0 {
				err := v.errorf(e, i, "invalid access to map value pointer, value_size=%d off=%d", m.ValueSize, off)
				return err
			}
			v.aux[i].mapOff = off
			addr = base + uint64(off)
		}
		v.insns[i].Imm = int32(uint32(addr))
		v.insns[i+1].Imm = int32(uint32(addr >> 32))
		i++
	}
	return nil
}

// mapDirectValueAddr models the map_direct_value_addr operations: arrays
// with one element (array_map_direct_value_addr) and the arena
// (arena_map_direct_value_addr); other maps have none (errno EOPNOTSUPP
// here stands for the missing operation).
func mapDirectValueAddr(m *MapInfo, off uint32) (uint64, errno.Errno) {
	switch m.Type {
	case MapTypeArray:
		if m.MaxEntries != 1 {
			return 0, errno.ENOTSUPP
		}
		if off >= m.ValueSize {
			return 0, errno.EINVAL
		}
		return m.ValueAddr, 0
	case MapTypeArena:
		if uint64(off) > uint64(m.MaxEntries)*arenaPageSize {
			return 0, errno.ERANGE
		}
		return m.ValueAddr, 0
	}
	return 0, errno.EOPNOTSUPP
}

// arenaPageSize is the page size the arena counts max_entries in.
const arenaPageSize = 4096

// addUsedMap records a map the program uses and applies the per-map
// program checks (add_used_map, check_map_prog_compatibility).
func (v *verifier) addUsedMap(insn int, fd int32) (int, error) {
	m := v.env.Maps[fd]
	if m == nil {
		return 0, v.errorf(errno.EBADF, insn, "fd %d is not pointing to valid bpf_map", fd)
	}
	for i, u := range v.usedMaps {
		if u == m {
			return i, nil
		}
	}
	if len(v.usedMaps) >= 64 {
		return 0, v.errorf(errno.E2BIG, insn, "The total number of maps per program has reached the limit of %d", 64)
	}
	if v.env.Sleepable {
		switch m.Type {
		case MapTypeHash, MapTypeLRUHash, MapTypeArray, MapTypePercpuHash, MapTypePercpuArray, MapTypeRingbuf, MapTypeArena:
		default:
			return 0, v.errorf(errno.EINVAL, insn, "Sleepable programs can only use array, hash, ringbuf and local storage maps")
		}
	}
	if m.Type == MapTypeArena {
		if v.arena != nil {
			return 0, v.errorf(errno.EBUSY, insn, "Only one arena per program")
		}
		if !v.allowPtrLeaks || !v.bpfCapable {
			return 0, v.errorf(errno.EPERM, insn, "CAP_BPF and CAP_PERFMON are required to use arena")
		}
		if v.env.NoJIT {
			return 0, v.errorf(errno.EOPNOTSUPP, insn, "JIT is required to use arena")
		}
		v.arena = m
		if m.ValueAddr == 0 {
			return 0, v.errorf(errno.EINVAL, insn, "arena's user address must be set via map_extra or mmap()")
		}
	}
	v.usedMaps = append(v.usedMaps, m)
	return len(v.usedMaps) - 1, nil
}

// DFS marks of check_cfg.
const (
	cfgDiscovered = 0x10
	cfgExplored   = 0x20
	cfgFallthru   = 1
	cfgBranch     = 2
)

type cfgWalk struct {
	state []int
	stack []int
}

// checkCFG walks the control-flow graph depth first: every target in
// range, every instruction reachable, no jump into the middle of a wide
// load, loops only for CAP_BPF (check_cfg). It also marks prune points.
func (v *verifier) checkCFG() error {
	n := len(v.insns)
	w := &cfgWalk{state: make([]int, n), stack: []int{0}}
	w.state[0] = cfgDiscovered
	for len(w.stack) > 0 {
		t := w.stack[len(w.stack)-1]
		ret, err := v.visitInsn(w, t)
		if err != nil {
			return err
		}
		if ret == 0 {
			w.state[t] = cfgExplored
			w.stack = w.stack[:len(w.stack)-1]
		}
	}
	for i := 0; i < n; i++ {
		if w.state[i] != cfgExplored {
			return v.errorf(errno.EINVAL, i, "unreachable insn %d", i)
		}
		if v.insns[i].IsLdImm64() {
			if w.state[i+1] != 0 {
				return v.errorf(errno.EINVAL, i, "jump into the middle of ldimm64 insn %d", i)
			}
			i++
		}
	}
	return nil
}

// pushInsn follows the edge t -> to (push_insn). It returns 1 when a new
// instruction was pushed, 0 when the edge needs no more work.
func (v *verifier) pushInsn(w *cfgWalk, t, to, e int) (int, error) {
	if e == cfgFallthru && w.state[t] >= cfgDiscovered|cfgFallthru {
		return 0, nil
	}
	if e == cfgBranch && w.state[t] >= cfgDiscovered|cfgBranch {
		return 0, nil
	}
	if to < 0 || to >= len(v.insns) {
		return 0, v.errorf(errno.EINVAL, t, "jump out of range from insn %d to %d", t, to)
	}
	if e == cfgBranch {
		v.aux[to].prunePoint = true
		v.aux[to].jmpPoint = true
	}
	switch {
	case w.state[to] == 0:
		w.state[t] = cfgDiscovered | e
		w.state[to] = cfgDiscovered
		w.stack = append(w.stack, to)
		return 1, nil
	case w.state[to]&0xf0 == cfgDiscovered:
		if v.bpfCapable {
			return 0, nil
		}
		return 0, v.errorf(errno.EINVAL, t, "back-edge from insn %d to %d", t, to)
	default:
		w.state[t] = cfgDiscovered | e
	}
	return 0, nil
}

// visitInsn pushes the successors of t (visit_insn).
func (v *verifier) visitInsn(w *cfgWalk, t int) (int, error) {
	ins := v.insns[t]
	c := ins.Code.Class()
	if !c.IsJump() {
		size := 1
		if ins.IsLdImm64() {
			size = 2
		}
		return v.pushInsn(w, t, t+size, cfgFallthru)
	}
	switch ins.Code.JumpOp() {
	case Exit:
		return 0, nil
	case Call:
		ret, err := v.pushInsn(w, t, t+1, cfgFallthru)
		if ret != 0 || err != nil {
			return ret, err
		}
		if t+1 < len(v.insns) {
			v.aux[t+1].prunePoint = true
			v.aux[t+1].jmpPoint = true
		}
		if ins.Src == CallLocal {
			v.aux[t].prunePoint = true
			return v.pushInsn(w, t, t+int(ins.Imm)+1, cfgBranch)
		}
		return 0, nil
	case Ja:
		if ins.Code.Source() != ImmSource {
			return 0, v.errorf(errno.EINVAL, t, "BPF_JA uses reserved fields")
		}
		to := t + jmpOffset(ins) + 1
		ret, err := v.pushInsn(w, t, to, cfgFallthru)
		if ret != 0 || err != nil {
			return ret, err
		}
		v.aux[to].prunePoint = true
		v.aux[to].jmpPoint = true
		return 0, nil
	default:
		v.aux[t].prunePoint = true
		if isMayGoto(ins) {
			v.aux[t].forceCkpt = true
		}
		ret, err := v.pushInsn(w, t, t+1, cfgFallthru)
		if ret != 0 || err != nil {
			return ret, err
		}
		return v.pushInsn(w, t, t+int(ins.Off)+1, cfgBranch)
	}
}

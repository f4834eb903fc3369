package bpfjit

import "strconv"

// MapType is a BPF map type (enum bpf_map_type in include/uapi/linux/bpf.h).
type MapType uint32

// The map types the verifier model knows by name; values are the kernel's.
const (
	MapTypeUnspec      MapType = 0
	MapTypeHash        MapType = 1
	MapTypeArray       MapType = 2
	MapTypePercpuHash  MapType = 5
	MapTypePercpuArray MapType = 6
	MapTypeLRUHash     MapType = 9
	MapTypeRingbuf     MapType = 27
	MapTypeArena       MapType = 33
)

var mapTypeNames = map[MapType]string{
	MapTypeUnspec: "unspec", MapTypeHash: "hash", MapTypeArray: "array",
	MapTypePercpuHash: "percpu_hash", MapTypePercpuArray: "percpu_array",
	MapTypeLRUHash: "lru_hash", MapTypeRingbuf: "ringbuf", MapTypeArena: "arena",
}

func (t MapType) String() string {
	if n, ok := mapTypeNames[t]; ok {
		return n
	}
	return "map_type(" + strconv.Itoa(int(t)) + ")"
}

// MapFlags are BPF_MAP_CREATE's map_flags bits the verifier looks at.
type MapFlags uint32

// Map flag bits (include/uapi/linux/bpf.h).
const (
	MapFlagRdonlyProg MapFlags = 1 << 7  // BPF_F_RDONLY_PROG: programs may only read
	MapFlagWronlyProg MapFlags = 1 << 8  // BPF_F_WRONLY_PROG: programs may only write
	MapFlagMmapable   MapFlags = 1 << 10 // BPF_F_MMAPABLE
	MapFlagNoUserConv MapFlags = 1 << 18 // BPF_F_NO_USER_CONV: arena casts to as(1) are plain moves
)

// MapInfo describes one map a program may name by fd: what bpf(BPF_MAP_CREATE)
// was given plus the kernel addresses LD_IMM64 resolves to.
type MapInfo struct {
	Name       string // printed as map=<name> in the log
	Type       MapType
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32 // for the arena: pages
	Flags      MapFlags
	// Addr is the kernel address of the struct bpf_map; a PSEUDO_MAP_FD
	// load becomes this constant.
	Addr uint64
	// ValueAddr is what map_direct_value_addr returns: for a single-element
	// array the kernel address of its value, for the arena its
	// user_vm_start (0 while neither map_extra nor mmap has set it).
	ValueAddr uint64
}

// Caps are the capabilities of the loading process that change what the
// verifier allows (bpf_capable, perfmon_capable in include/linux/capability.h).
type Caps uint8

// Capability bits.
const (
	CapBPF      Caps = 1 << iota // CAP_BPF: bounded loops, precision-based pruning
	CapPerfmon                   // CAP_PERFMON: pointer leaks, uninitialised stack reads
	CapSysAdmin                  // CAP_SYS_ADMIN: implies both
)

// AllCaps is what a root loader has.
const AllCaps = CapBPF | CapPerfmon | CapSysAdmin

func (c Caps) bpfCapable() bool     { return c&(CapBPF|CapSysAdmin) != 0 }
func (c Caps) perfmonCapable() bool { return c&(CapPerfmon|CapSysAdmin) != 0 }

// CtxKind says what r1 holds when the program starts.
type CtxKind uint8

// Context kinds.
const (
	// CtxStruct is PTR_TO_CTX: loads and stores at constant offsets inside
	// [0, Size), checked like a program type's is_valid_access.
	CtxStruct CtxKind = iota
	// CtxMemory is PTR_TO_MEM of Size bytes: any offset, pointer arithmetic
	// allowed (how a test harness hands a program a plain buffer).
	CtxMemory
)

// CtxInfo describes the program's context argument.
type CtxInfo struct {
	Kind CtxKind
	Size int
	// ReadOnly rejects stores into the context.
	ReadOnly bool
	// Aligned requires off%size == 0, as the syscall program type does.
	Aligned bool
}

// SyscallCtx returns the context of a BPF_PROG_TYPE_SYSCALL program (the
// type the arena selftests use): a user buffer of up to U16_MAX bytes with
// aligned accesses (syscall_prog_is_valid_access).
func SyscallCtx() CtxInfo { return CtxInfo{Kind: CtxStruct, Size: 65535, Aligned: true} }

// ArgType is a helper argument's type (enum bpf_arg_type).
type ArgType uint8

// Helper argument types.
const (
	ArgDontCare        ArgType = iota // ARG_DONTCARE: unused
	ArgAnything                       // ARG_ANYTHING: any scalar
	ArgConstMapPtr                    // ARG_CONST_MAP_PTR
	ArgPtrToMapKey                    // ARG_PTR_TO_MAP_KEY: key_size readable bytes
	ArgPtrToMapValue                  // ARG_PTR_TO_MAP_VALUE: value_size readable bytes
	ArgPtrToMem                       // ARG_PTR_TO_MEM|MEM_RDONLY: readable, size in the next arg
	ArgPtrToUninitMem                 // ARG_PTR_TO_UNINIT_MEM: written by the helper, size next
	ArgConstSize                      // ARG_CONST_SIZE: > 0
	ArgConstSizeOrZero                // ARG_CONST_SIZE_OR_ZERO
	ArgPtrToCtx                       // ARG_PTR_TO_CTX
)

// RetType is a helper's return type (enum bpf_return_type).
type RetType uint8

// Helper return types.
const (
	RetInteger             RetType = iota // RET_INTEGER
	RetVoid                               // RET_VOID
	RetPtrToMapValueOrNull                // RET_PTR_TO_MAP_VALUE_OR_NULL
)

// HelperProto is a helper's prototype (struct bpf_func_proto).
type HelperProto struct {
	Name       string
	Ret        RetType
	Args       [5]ArgType
	MightSleep bool
}

// BPFFuncMaxID is __BPF_FUNC_MAX_ID in Linux 6.16: helper ids at or above it
// are "invalid func", ids below it without a prototype are not allowed for
// the program type.
const BPFFuncMaxID = 212

// Helper ids (enum bpf_func_id).
const (
	FuncMapLookupElem     = 1
	FuncMapUpdateElem     = 2
	FuncMapDeleteElem     = 3
	FuncKtimeGetNs        = 5
	FuncTracePrintk       = 6
	FuncGetPrandomU32     = 7
	FuncGetSmpProcessorID = 8
	FuncGetCurrentPidTgid = 14
	FuncGetCurrentComm    = 16
)

// StandardHelpers returns the prototypes of the helpers arenasim offers,
// copied field by field from their kernel definitions.
func StandardHelpers() map[int32]*HelperProto {
	return map[int32]*HelperProto{
		FuncMapLookupElem: {Name: "bpf_map_lookup_elem", Ret: RetPtrToMapValueOrNull,
			Args: [5]ArgType{ArgConstMapPtr, ArgPtrToMapKey}},
		FuncMapUpdateElem: {Name: "bpf_map_update_elem", Ret: RetInteger,
			Args: [5]ArgType{ArgConstMapPtr, ArgPtrToMapKey, ArgPtrToMapValue, ArgAnything}},
		FuncMapDeleteElem: {Name: "bpf_map_delete_elem", Ret: RetInteger,
			Args: [5]ArgType{ArgConstMapPtr, ArgPtrToMapKey}},
		FuncKtimeGetNs: {Name: "bpf_ktime_get_ns", Ret: RetInteger},
		FuncTracePrintk: {Name: "bpf_trace_printk", Ret: RetInteger,
			Args: [5]ArgType{ArgPtrToMem, ArgConstSize}},
		FuncGetPrandomU32:     {Name: "bpf_get_prandom_u32", Ret: RetInteger},
		FuncGetSmpProcessorID: {Name: "bpf_get_smp_processor_id", Ret: RetInteger},
		FuncGetCurrentPidTgid: {Name: "bpf_get_current_pid_tgid", Ret: RetInteger},
		FuncGetCurrentComm: {Name: "bpf_get_current_comm", Ret: RetInteger,
			Args: [5]ArgType{ArgPtrToUninitMem, ArgConstSize}},
	}
}

// KfuncArgKind says how a kfunc argument is checked (get_kfunc_ptr_arg_type
// and the argument-name suffixes of kernel/bpf/verifier.c).
type KfuncArgKind uint8

// Kfunc argument kinds.
const (
	KfuncArgScalar KfuncArgKind = iota // an integer parameter
	KfuncArgMap                        // "p__map": a struct bpf_map pointer
	KfuncArgIgnore                     // "__ign": not checked at all
)

// KfuncArg is one kfunc parameter.
type KfuncArg struct {
	Name string
	Kind KfuncArgKind
	Size uint8 // bytes, for scalars
}

// KfuncRet is a kfunc's return kind.
type KfuncRet uint8

// Kfunc return kinds. A "void *" return is an unknown scalar to the
// verifier; the arena's KF_ARENA_RET only tags BTF.
const (
	KfuncRetVoid KfuncRet = iota
	KfuncRetScalar
	KfuncRetVoidPtr
)

// KfuncFlags are the KF_* flags of a kfunc (include/linux/btf.h).
type KfuncFlags uint32

// Kfunc flag bits.
const (
	KFTrustedArgs KfuncFlags = 1 << 4  // KF_TRUSTED_ARGS
	KFSleepable   KfuncFlags = 1 << 5  // KF_SLEEPABLE
	KFArenaRet    KfuncFlags = 1 << 13 // KF_ARENA_RET
	KFArenaArg1   KfuncFlags = 1 << 14 // KF_ARENA_ARG1
	KFArenaArg2   KfuncFlags = 1 << 15 // KF_ARENA_ARG2
)

// KfuncProto is a kfunc as its BTF and id-set flags describe it.
type KfuncProto struct {
	Name    string
	Args    []KfuncArg
	Ret     KfuncRet
	RetSize uint8
	Flags   KfuncFlags
}

// ArenaKfuncs returns bpf_arena_alloc_pages and bpf_arena_free_pages under
// the given BTF ids, with the kernel's argument types and flags
// (kernel/bpf/arena.c, Linux 6.16: both KF_SLEEPABLE).
func ArenaKfuncs(allocID, freeID int32) map[int32]*KfuncProto {
	return map[int32]*KfuncProto{
		allocID: {
			Name: "bpf_arena_alloc_pages",
			Args: []KfuncArg{
				{Name: "p__map", Kind: KfuncArgMap},
				{Name: "addr__ign", Kind: KfuncArgIgnore},
				{Name: "page_cnt", Kind: KfuncArgScalar, Size: 4},
				{Name: "node_id", Kind: KfuncArgScalar, Size: 4},
				{Name: "flags", Kind: KfuncArgScalar, Size: 8},
			},
			Ret:   KfuncRetVoidPtr,
			Flags: KFTrustedArgs | KFSleepable | KFArenaRet | KFArenaArg2,
		},
		freeID: {
			Name: "bpf_arena_free_pages",
			Args: []KfuncArg{
				{Name: "p__map", Kind: KfuncArgMap},
				{Name: "ptr__ign", Kind: KfuncArgIgnore},
				{Name: "page_cnt", Kind: KfuncArgScalar, Size: 4},
			},
			Ret:   KfuncRetVoid,
			Flags: KFTrustedArgs | KFSleepable | KFArenaArg2,
		},
	}
}

// LogLevel selects the verifier log (BPF_LOG_LEVEL1/2, BPF_LOG_STATS).
type LogLevel uint32

// Log levels; they combine as bits.
const (
	LogLevel1     LogLevel = 1 // every processed instruction and the registers it changed
	LogLevel2     LogLevel = 2 // plus full states at branch targets, logs of pruned paths kept
	LogLevelStats LogLevel = 4 // stack depths (verification time is not modelled)
)

// VerifyEnv is everything outside the instructions that BPF_PROG_LOAD hands the
// verifier: the maps behind fds, the fd_array, the program type's context
// and helpers, the kfuncs the kernel offers, and the loader's capabilities.
type VerifyEnv struct {
	Maps    map[int32]*MapInfo // by fd
	FDArray []int32            // for BPF_PSEUDO_MAP_IDX(_VALUE)
	Helpers map[int32]*HelperProto
	Kfuncs  map[int32]*KfuncProto // by BTF id
	Ctx     CtxInfo
	Caps    Caps
	// Sleepable marks a sleepable program (BPF_F_SLEEPABLE), as SEC("syscall")
	// programs are; sleepable kfuncs need it.
	Sleepable bool
	// NoJIT models jit_requested == false, which the arena refuses.
	NoJIT    bool
	LogLevel LogLevel
	// TestStateFreq is BPF_F_TEST_STATE_FREQ: remember a state at every
	// prune point (honoured for CAP_BPF loaders, as in the kernel).
	TestStateFreq bool

	// insnLimit lowers BPF_COMPLEXITY_LIMIT_INSNS for the package's fuzz
	// and property tests, which must not spend a second per looping input.
	insnLimit int
}

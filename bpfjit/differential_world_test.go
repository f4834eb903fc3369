package bpfjit

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/arenasim/arenasim/internal/errno"
)

// The addresses of the tests' world.
const (
	execMemBase   = 0xffff888000400000 // r1: the program's buffer
	execValueBase = 0xffff888000600000 // the value of the one-element array map
	execMapAddr   = 0xffff888000700000 // its struct bpf_map (what LD_IMM64 map fd resolves to)
	// execKernBase is the arena's get_vm_area address; kern_vm_start is
	// GUARD_SZ/2 = 32 KiB above it.
	execKernBase  = 0xffffc90000000000
	execKernStart = execKernBase + 0x8000
	execUserStart = 0x7f0000000000 // a 4 GiB-aligned user_vm_start
	execArenaFD   = 7              // the arena's fd in verifier environments
	execValueFD   = 8              // the array map's fd
	execKfAlloc   = 1000           // BTF id of bpf_arena_alloc_pages
	execKfFree    = 1001           // BTF id of bpf_arena_free_pages
	execFailID    = 99             // a helper that fails (CallFailed)
	execArenaMax  = 16             // pages the toy arena may hand out
)

// execWorld is everything a test program touches besides the engine: the
// buffer r1 points at, an array map value, an arena on a FlatMemory kernel
// window (a toy model: lowest free page first, pages mapped at kern_vm_start
// + lo32(user address), as arena.c places them) and deterministic helpers.
// Each engine gets its own world built the same way, so the worlds must end
// up equal.
type execWorld struct {
	mem, kern *FlatMemory
	buf       []byte
	value     []byte
	userStart uint64
	pages     map[uint64][]byte // arena pages by page offset
	calls     uint64            // helper calls so far (ktime, prandom)
}

func newExecWorld(t execT, buf []byte, userStart uint64) *execWorld {
	w := &execWorld{mem: &FlatMemory{}, kern: &FlatMemory{}, buf: append([]byte(nil), buf...),
		value: make([]byte, 16), userStart: userStart, pages: map[uint64][]byte{}}
	if len(w.buf) > 0 {
		require.NoError(t, w.mem.Map(execMemBase, w.buf, false))
	}
	require.NoError(t, w.mem.Map(execValueBase, w.value, false))
	return w
}

// args returns r1 and r2 for a run: the buffer and its length.
func (w *execWorld) args() []uint64 {
	if len(w.buf) == 0 {
		return []uint64{0, 0}
	}
	return []uint64{execMemBase, uint64(len(w.buf))}
}

// pageAddr is where arena page pgoff lives in the kernel window.
func (w *execWorld) pageAddr(pgoff uint64) uint64 {
	return execKernStart + uint64(uint32(w.userStart+pgoff*4096))
}

// mapPage maps arena page pgoff (as bpf_arena_alloc_pages would) and returns its bytes.
func (w *execWorld) mapPage(t execT, pgoff uint64) []byte {
	p := make([]byte, 4096)
	require.NoError(t, w.kern.Map(w.pageAddr(pgoff), p, false))
	w.pages[pgoff] = p
	return p
}

func (w *execWorld) config() Config {
	return Config{
		Memory:      w.mem,
		Kernel:      w.kern,
		KernVMStart: execKernStart,
		UserVMStart: w.userStart,
		Budget:      1 << 20,
		Helpers: map[int32]HelperFunc{
			FuncMapLookupElem: w.mapLookup,
			FuncMapUpdateElem: w.mapUpdate,
			FuncKtimeGetNs:    func(*HelperCall) (uint64, error) { w.calls++; return w.calls * 1000, nil },
			FuncGetPrandomU32: func(*HelperCall) (uint64, error) {
				w.calls++
				return uint64(uint32(w.calls * 0x9e3779b9)), nil
			},
			execFailID: func(*HelperCall) (uint64, error) { return 0, errno.Errorf(errno.EIO, "test helper") },
		},
		Kfuncs: map[int32]HelperFunc{execKfAlloc: w.arenaAlloc, execKfFree: w.arenaFree},
	}
}

// mapLookup is bpf_map_lookup_elem on a one-element array: key 0 gives the
// value, anything else NULL.
func (w *execWorld) mapLookup(c *HelperCall) (uint64, error) {
	key, err := c.Load(c.Args[1], 4)
	if err != nil {
		return 0, err
	}
	if c.Args[0] != execMapAddr || key != 0 {
		return 0, nil
	}
	return execValueBase, nil
}

// mapUpdate is bpf_map_update_elem: it copies the value in, or -ENOENT.
func (w *execWorld) mapUpdate(c *HelperCall) (uint64, error) {
	key, err := c.Load(c.Args[1], 4)
	if err != nil {
		return 0, err
	}
	if c.Args[0] != execMapAddr || key != 0 {
		return uint64(errno.ENOENT.Neg()), nil
	}
	return 0, c.Read(c.Args[2], w.value)
}

// arenaAlloc hands out the lowest run of free pages (bpf_arena_alloc_pages
// with a NULL hint) and returns the user address of the first, or 0.
func (w *execWorld) arenaAlloc(c *HelperCall) (uint64, error) {
	n := c.Args[2]
	if n == 0 || n > execArenaMax {
		return 0, nil
	}
	for first := uint64(0); first+n <= execArenaMax; first++ {
		free := true
		for p := first; p < first+n; p++ {
			if w.pages[p] != nil {
				free = false
			}
		}
		if !free {
			continue
		}
		for p := first; p < first+n; p++ {
			pg := make([]byte, 4096)
			if err := w.kern.Map(w.pageAddr(p), pg, false); err != nil {
				return 0, err
			}
			w.pages[p] = pg
		}
		return w.userStart&^0xffffffff | uint64(uint32(w.userStart+first*4096)), nil
	}
	return 0, nil
}

// arenaFree unmaps page_cnt pages from the one holding ptr.
func (w *execWorld) arenaFree(c *HelperCall) (uint64, error) {
	first := uint64(uint32(c.Args[1]-uint64(uint32(w.userStart)))) >> 12
	for p := first; p < first+c.Args[2] && p < execArenaMax; p++ {
		if w.pages[p] != nil {
			if err := w.kern.Unmap(w.pageAddr(p)); err != nil {
				return 0, err
			}
			delete(w.pages, p)
		}
	}
	return 0, nil
}

// verifyEnv is a VerifyEnv matching the world: the arena (fd 7), the array
// map (fd 8), the standard helpers, the arena kfuncs, a syscall-like memory
// context and root's capabilities.
func (w *execWorld) verifyEnv(ctxSize int) *VerifyEnv {
	return &VerifyEnv{
		Maps: map[int32]*MapInfo{
			execArenaFD: {Name: "arena", Type: MapTypeArena, MaxEntries: execArenaMax,
				Flags: MapFlagMmapable, Addr: execMapAddr + 0x1000, ValueAddr: w.userStart},
			execValueFD: {Name: "array", Type: MapTypeArray, KeySize: 4, ValueSize: 16, MaxEntries: 1,
				Addr: execMapAddr, ValueAddr: execValueBase},
		},
		Helpers:   StandardHelpers(),
		Kfuncs:    ArenaKfuncs(execKfAlloc, execKfFree),
		Ctx:       CtxInfo{Kind: CtxMemory, Size: ctxSize},
		Caps:      AllCaps,
		Sleepable: true,
	}
}

// execT is what the world needs of a test: *testing.T, *testing.F's
// fuzz T and *rapid.T all have it.
type execT interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	FailNow()
}

// execState is everything a run can change, for comparing engines.
type execState struct {
	R0, Insns  uint64
	Outcome    Outcome
	PC         int
	Err        string
	Faults     []Fault
	FaultCount uint64
	Regs       [16]uint64
	Stack      []byte
	Depth      int
	Buf, Value []byte
	Pages      map[uint64][]byte
}

func (s execState) String() string {
	return fmt.Sprintf("r0=%#x insns=%d outcome=%v pc=%d err=%q faults=%d", s.R0, s.Insns, s.Outcome, s.PC, s.Err, s.FaultCount)
}

// execMachine returns the engine's machine.
func execMachine(e execRunner) *machine {
	switch e := e.(type) {
	case *Interpreter:
		return &e.m
	case *Compiled:
		return &e.m
	}
	panic("unknown engine")
}

// runIn runs prog on a new engine in a new world and captures the state.
func runIn(t execT, newEngine func([]Insn, Config) execRunner, prog []Insn, buf []byte,
	setup func(*execWorld, *Config)) execState {
	w := newExecWorld(t, buf, execUserStart)
	cfg := w.config()
	if setup != nil {
		setup(w, &cfg)
	}
	e := newEngine(prog, cfg)
	res, err := e.Run(w.args()...)
	m := execMachine(e)
	s := execState{R0: res.R0, Insns: res.Insns, Faults: append([]Fault(nil), res.Faults...),
		FaultCount: res.FaultCount, Regs: [16]uint64(m.regs[:16]), Stack: append([]byte(nil), m.stack[:]...), Depth: m.depth,
		Buf: w.buf, Value: w.value, Pages: w.pages}
	if err != nil {
		var ee *Error
		if !errors.As(err, &ee) {
			t.Fatalf("run returned %T %v, want *Error", err, err)
		}
		s.Outcome, s.PC, s.Err = ee.Outcome, ee.PC, err.Error()
	}
	return s
}

// runBoth runs prog on both engines and fails the test if they end in
// different states; it returns the state.
//
// A third run goes through the interpreter as it runs with insn tracing
// on, stepping through every instruction with machine.step alone: that
// checks the complete semantics of step against the fast paths of both loops.
func runBoth(t execT, prog []Insn, buf []byte, setup func(*execWorld, *Config)) execState {
	t.Helper()
	a := runIn(t, execEngines[0].new, prog, buf, setup)
	for _, other := range []struct {
		name string
		new  func([]Insn, Config) execRunner
	}{
		execEngines[1],
		{"step-only interpreter", func(p []Insn, c Config) execRunner {
			it := NewInterpreter(p, c)
			it.m.stepOnly = true
			return it
		}},
	} {
		b := runIn(t, other.new, prog, buf, setup)
		if sameState(a, b) {
			continue
		}
		// Pages and the stack are large: compare bytes as bytes, not element by element.
		if d := cmp.Diff(a, b, cmp.Comparer(bytes.Equal)); d != "" {
			t.Fatalf("interpreter and %s differ (-interpreter +%s):\n%s\nprogram:\n%s", other.name, other.name, d, Disassemble(prog, SyntaxLLVM))
		}
	}
	return a
}

// sameState is a quick equality of two states (cmp.Diff, which explains a
// difference, is slow enough to dominate a fuzzing run).
func sameState(a, b execState) bool {
	if a.R0 != b.R0 || a.Insns != b.Insns || a.Outcome != b.Outcome || a.PC != b.PC || a.Err != b.Err ||
		a.FaultCount != b.FaultCount || a.Regs != b.Regs || a.Depth != b.Depth || len(a.Faults) != len(b.Faults) ||
		!bytes.Equal(a.Stack, b.Stack) || !bytes.Equal(a.Buf, b.Buf) || !bytes.Equal(a.Value, b.Value) ||
		len(a.Pages) != len(b.Pages) {
		return false
	}
	for i := range a.Faults {
		if a.Faults[i] != b.Faults[i] {
			return false
		}
	}
	for p, pg := range a.Pages {
		if !bytes.Equal(pg, b.Pages[p]) {
			return false
		}
	}
	return true
}

// sortedPages lists a world's arena page offsets.
func sortedPages(pages map[uint64][]byte) []uint64 {
	var out []uint64
	for p := range pages {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

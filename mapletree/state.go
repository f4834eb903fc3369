package mapletree

import (
	"math"
	"sync/atomic"

	"github.com/arenasim/arenasim/internal/errno"
)

// Status is enum maple_status: where a State stands.
type Status uint8

// The states of a State (ma_active ... ma_error).
const (
	StatusActive    Status = iota // ma_active: at a node of the tree
	StatusStart                   // ma_start: the next operation walks from the root
	StatusRoot                    // ma_root: the tree is a bare entry at index 0
	StatusNone                    // ma_none: nothing there (empty tree or out of range)
	StatusPause                   // ma_pause: paused; the next operation re-walks
	StatusOverflow                // ma_overflow: moved past the upper limit
	StatusUnderflow               // ma_underflow: moved below the lower limit
	StatusError                   // ma_error: the last operation failed
)

func (s Status) String() string {
	switch s {
	case StatusActive:
		return "ma_active"
	case StatusStart:
		return "ma_start"
	case StatusRoot:
		return "ma_root"
	case StatusNone:
		return "ma_none"
	case StatusPause:
		return "ma_pause"
	case StatusOverflow:
		return "ma_overflow"
	case StatusUnderflow:
		return "ma_underflow"
	case StatusError:
		return "ma_error"
	}
	return "ma_unknown"
}

// storeType is enum store_type: the write path mas_wr_store_type chose.
type storeType uint8

const (
	wrInvalid storeType = iota
	wrNewRoot
	wrStoreRoot
	wrExactFit
	wrSpanningStore
	wrSplitStore
	wrRebalance
	wrAppend
	wrNodeStore
	wrSlotStore
)

func (s storeType) String() string {
	return [...]string{"invalid", "new_root", "store_root", "exact_fit",
		"spanning_store", "split_store", "rebalance", "append",
		"node_store", "slot_store"}[s]
}

// Maple state flags (mas_flags).
const (
	maStateBulk      = 1 // MA_STATE_BULK: ascending load, pack nodes full
	maStateRebalance = 2 // MA_STATE_REBALANCE: rebalance the last node on Destroy
	maStatePrealloc  = 4 // MA_STATE_PREALLOC: nodes were preallocated
)

// State is struct ma_state, the cursor of the advanced API (mas_*): a range
// of interest [Index, Last], the node reached and its limits, and a status.
//
// A State reads without locks in RCU mode. Writes through a State (Store,
// Erase, Insert, EmptyArea, ...) need the tree's writer lock when other
// goroutines may write (Tree.Lock), as the kernel requires mtree_lock.
type State struct {
	tree  *Tree
	index uint64
	last  uint64
	node  *node
	min   uint64
	max   uint64

	alloc      *node // preallocated nodes chained through slot[0]
	allocCount int

	status    Status
	depth     uint8
	offset    uint8
	flags     uint8
	end       uint8
	storeType storeType
	err       errno.Errno
}

// NewState models MA_STATE(name, tree, first, last).
func (t *Tree) NewState(first, last uint64) State {
	var mas State
	mas.init(t, first, last)
	return mas
}

// init is MA_STATE on a State in place. Internal hot paths use it rather
// than NewState: assigning a returned State makes the compiler build it in
// a temporary with word stores and copy it with 16-byte loads, which
// cannot be forwarded from those stores and stall.
func (mas *State) init(t *Tree, first, last uint64) {
	*mas = State{}
	mas.tree = t
	mas.index, mas.last = first, last
	mas.max = math.MaxUint64
	mas.status = StatusStart
}

// Index returns the start of the State's range (mas->index).
func (mas *State) Index() uint64 { return mas.index }

// Last returns the inclusive end of the State's range (mas->last).
func (mas *State) Last() uint64 { return mas.last }

// Status returns the State's status.
func (mas *State) Status() Status { return mas.status }

// Err returns the error of the last operation (the kernel's MA_ERROR), or
// nil.
func (mas *State) Err() error {
	if mas.status != StatusError || mas.err == 0 {
		return nil
	}
	return mas.err
}

// Reset models mas_reset: the next operation starts from the root.
func (mas *State) Reset() {
	mas.status = StatusStart
	mas.node = nil
}

// SetRange models mas_set_range.
func (mas *State) SetRange(first, last uint64) {
	mas.Reset()
	mas.index = first
	mas.last = last
}

// Set models mas_set.
func (mas *State) Set(index uint64) { mas.SetRange(index, index) }

// Pause models mas_pause: the next operation re-walks from the current range.
func (mas *State) Pause() {
	mas.status = StatusPause
	mas.node = nil
}

func (mas *State) setErr(e errno.Errno) {
	mas.err = e
	mas.status = StatusError
	mas.node = nil
}

func (mas *State) isActive() bool    { return mas.status == StatusActive }
func (mas *State) isStart() bool     { return mas.status == StatusStart }
func (mas *State) isPtr() bool       { return mas.status == StatusRoot }
func (mas *State) isNone() bool      { return mas.status == StatusNone }
func (mas *State) isErr() bool       { return mas.status == StatusError }
func (mas *State) isOverflow() bool  { return mas.status == StatusOverflow }
func (mas *State) isUnderflow() bool { return mas.status == StatusUnderflow }
func (mas *State) isPaused() bool    { return mas.status == StatusPause }

// isRootLimits models mas_is_root_limits.
func (mas *State) isRootLimits() bool { return mas.min == 0 && mas.max == math.MaxUint64 }

// height models mas_mt_height.
func (mas *State) height() int { return mas.tree.Height() }

// isRootNode models mte_is_root(mas->node).
func (mas *State) isRootNode() bool { return mas.tree.isRoot(mas.node) }

// start models mas_start: from ma_start, point at the root. It returns the
// bare root entry when the tree is one and the range starts at 0.
func (mas *State) start() eword {
	if !mas.isStart() || mas.startAtRoot() {
		return eword{}
	}
	mas.min = 0
	mas.max = math.MaxUint64
	for {
		mas.depth = 0
		root, w := mas.tree.loadRoot()
		if root != nil {
			mas.status = StatusActive
			mas.node = root
			mas.offset = 0
			if root.dead() {
				continue
			}
			return eword{}
		}
		mas.node = nil
		if w.isNull() {
			mas.status = StatusNone
			mas.offset = mapleNodeSlots
			return eword{}
		}
		mas.status = StatusRoot
		mas.offset = mapleNodeSlots
		if mas.index > 0 {
			return eword{}
		}
		return w
	}
}

// startAtRoot is mas_start's common case, small enough to inline: if the
// root is a live node, point the State at it and report true; otherwise
// change nothing.
func (mas *State) startAtRoot() bool {
	root := (*node)(atomic.LoadPointer(&mas.tree.rootNode))
	if root == nil || root.dead() {
		return false
	}
	mas.min, mas.max = 0, math.MaxUint64
	mas.depth = 0
	mas.status = StatusActive
	mas.node = root
	mas.offset = 0
	return true
}

// dataEnd models mas_data_end.
func (mas *State) dataEnd() uint8 {
	n := mas.node
	if n.typ != mapleArange64 && n.dead() {
		return 0
	}
	return n.dataEnd(mas.max)
}

// descend models mas_descend (write side): step into slot mas.offset.
func (mas *State) descend() {
	n := mas.node
	if mas.offset != 0 {
		mas.min = n.pivot[mas.offset-1] + 1
	}
	mas.max = n.safePivot(mas.offset, mas.max)
	mas.node = n.childAt(mas.offset)
}

// ascend models mas_ascend: climb to the parent and recompute its limits,
// climbing further until both are known. It reports true if it met a dead
// node, so that the caller re-walks.
func (mas *State) ascend() bool {
	t := mas.tree
	a := mas.node
	if t.isRoot(a) {
		mas.offset = 0
		return false
	}
	pw := loadParent(a)
	p := nodeFromParentWord(pw)
	if p == a {
		return true
	}
	mas.offset = parentSlotOf(pw)
	if loadParent(a) != pw {
		return true
	}
	mas.node = p
	if t.isRoot(p) {
		mas.max = math.MaxUint64
		mas.min = 0
		return false
	}
	var min, max uint64 = 0, math.MaxUint64
	setMin, setMax := false, false
	if mas.offset == 0 {
		min = mas.min
		setMin = true
	}
	if mas.max == math.MaxUint64 {
		setMax = true
	}
	cur := p
	for !setMin || !setMax {
		apw := loadParent(cur) // cur is never the root here
		an := nodeFromParentWord(apw)
		aslot := parentSlotOf(apw)
		if an.dead() {
			return true
		}
		if !setMin && aslot != 0 {
			setMin = true
			min = an.pivotAt(aslot-1) + 1
		}
		if !setMax && aslot < an.typ.pivots() {
			setMax = true
			max = an.pivotAt(aslot)
		}
		if an.dead() {
			return true
		}
		if t.isRoot(an) {
			break
		}
		cur = an
	}
	mas.max = max
	mas.min = min
	return false
}

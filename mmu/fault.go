package mmu

import (
	"strconv"
)

// Access describes one memory access: its kind (read, write or
// instruction fetch) and the privilege it is made with.
type Access uint8

// Access bits. Read is the zero value; combine with |, e.g. User|Write.
// Write and Fetch exclude each other (Load drops Write, Store drops Fetch).
const (
	Read     Access = 0
	Write    Access = 1 << 0 // a data write
	Fetch    Access = 1 << 1 // an instruction fetch
	User     Access = 1 << 2 // made at CPL 3
	Implicit Access = 1 << 3 // an implicit supervisor access (descriptor table, ...): SMAP applies even with AC set

	accessCombos = 1 << 4 // number of distinct Access values
)

// IsWrite reports whether the access is a write.
func (a Access) IsWrite() bool { return a&Write != 0 }

// IsFetch reports whether the access is an instruction fetch.
func (a Access) IsFetch() bool { return a&Fetch != 0 }

// IsUser reports whether the access is made in user mode.
func (a Access) IsUser() bool { return a&User != 0 }

// String prints the access the way Linux's page-fault oops does:
// "user write", "supervisor instruction fetch", "supervisor implicit read".
func (a Access) String() string {
	s := "supervisor "
	if a.IsUser() {
		s = "user "
	}
	if a&Implicit != 0 {
		s += "implicit "
	}
	switch {
	case a.IsFetch():
		s += "instruction fetch"
	case a.IsWrite():
		s += "write"
	default:
		s += "read"
	}
	return s
}

// ErrorCode is the #PF error code (enum x86_pf_error_code in
// arch/x86/include/asm/trap_pf.h; SDM Vol.3A 4.7).
type ErrorCode uint32

// Error-code bits.
const (
	PFProt  ErrorCode = 1 << 0  // X86_PF_PROT (P): 0 = not present, 1 = everything else
	PFWrite ErrorCode = 1 << 1  // X86_PF_WRITE (W/R): the access was a write
	PFUser  ErrorCode = 1 << 2  // X86_PF_USER (U/S): the access was made in user mode
	PFRsvd  ErrorCode = 1 << 3  // X86_PF_RSVD: a reserved bit was set in a paging entry
	PFInstr ErrorCode = 1 << 4  // X86_PF_INSTR (I/D): instruction fetch, reported when NXE or SMEP is on
	PFPK    ErrorCode = 1 << 5  // X86_PF_PK: a protection key denied the access
	PFShstk ErrorCode = 1 << 6  // X86_PF_SHSTK: shadow-stack access (not modelled)
	PFSGX   ErrorCode = 1 << 15 // X86_PF_SGX (not modelled)
	PFRMP   ErrorCode = 1 << 31 // X86_PF_RMP (not modelled)
)

var errorCodeNames = []bitName{{1 << 0, "P"}, {1 << 1, "W"}, {1 << 2, "U"}, {1 << 3, "RSVD"}, {1 << 4, "I"},
	{1 << 5, "PK"}, {1 << 6, "SS"}, {1 << 15, "SGX"}, {1 << 31, "RMP"}}

// String prints the code and its bits with the SDM's letters: "0x7 (P|W|U)";
// zero prints "0x0".
func (c ErrorCode) String() string {
	s := "0x" + strconv.FormatUint(uint64(c), 16)
	if c != 0 {
		s += " (" + bitString(uint64(c), errorCodeNames) + ")"
	}
	return s
}

// Describe reads the code as Linux's page-fault oops does (show_fault_oops
// in arch/x86/mm/fault.c): "supervisor write access in kernel mode,
// not-present page".
func (c ErrorCode) Describe() string {
	s := "supervisor "
	if c&PFUser != 0 {
		s = "user "
	}
	switch {
	case c&PFInstr != 0:
		s += "instruction fetch"
	case c&PFWrite != 0:
		s += "write access"
	default:
		s += "read access"
	}
	if c&PFUser != 0 {
		s += " in user mode, "
	} else {
		s += " in kernel mode, "
	}
	switch {
	case c&PFProt == 0:
		s += "not-present page"
	case c&PFRsvd != 0:
		s += "reserved bit violation"
	case c&PFPK != 0:
		s += "protection keys violation"
	default:
		s += "permissions violation"
	}
	return s
}

// Vector is an exception vector.
type Vector uint8

// The vectors the MMU raises. Vector 0 (#DE) never comes from the MMU, so
// a zero Fault means "no fault".
const (
	NoFault Vector = 0
	VecGP   Vector = 13 // #GP, general protection: a non-canonical address
	VecPF   Vector = 14 // #PF, page fault
)

// String returns "#GP", "#PF" or "none".
func (v Vector) String() string {
	switch v {
	case NoFault:
		return "none"
	case VecGP:
		return "#GP"
	case VecPF:
		return "#PF"
	}
	return "vector " + strconv.Itoa(int(v))
}

// Cause says which check of the translation failed.
type Cause uint8

// The causes, in the order the walk checks them.
const (
	CauseNone         Cause = iota
	CauseNonCanonical       // the address is not canonical: #GP(0)
	CauseNotPresent         // an entry on the path has P=0
	CauseReserved           // a present entry has a reserved bit set
	CauseUserSuper          // user access to a supervisor-mode address
	CausePK                 // a protection key denies the access
	CauseNX                 // fetch from a page with XD set at some level
	CauseSMEP               // supervisor fetch from a user-mode address with CR4.SMEP
	CauseSMAP               // supervisor data access to a user-mode address with CR4.SMAP (AC clear or implicit)
	CauseReadOnly           // write to a read-only page (user, or supervisor with CR0.WP)
)

var causeText = [...]string{
	CauseNone:         "no fault",
	CauseNonCanonical: "non-canonical address",
	CauseNotPresent:   "not present",
	CauseReserved:     "reserved bit set",
	CauseUserSuper:    "user access to a supervisor page",
	CausePK:           "protection key denies access",
	CauseNX:           "fetch from a no-execute page",
	CauseSMEP:         "SMEP: supervisor fetch from a user page",
	CauseSMAP:         "SMAP: supervisor access to a user page",
	CauseReadOnly:     "write to a read-only page",
}

func (c Cause) String() string {
	if int(c) < len(causeText) {
		return causeText[c]
	}
	return "cause " + strconv.Itoa(int(c))
}

// Fault is the outcome of an access the MMU refused: a #GP(0) for a
// non-canonical address, or a #PF with its error code. The zero Fault means
// the access succeeded. It is a value, not a Go error: a simulated program's
// fault is an outcome for the layer above to handle.
type Fault struct {
	Vector Vector
	Code   ErrorCode // the #PF error code; 0 for #GP(0)
	Addr   uint64    // the faulting address; for #PF this is what CR2 receives
	Level  Level     // the level whose entry decided a #PF (the leaf for rights faults)
	Cause  Cause
}

// fault is a Fault without its address, packed into one word for the hot
// paths, where a struct result costs a store-forwarding stall; the address
// is always the one the caller translated. Zero means no fault.
type fault uint64

// gpFault is #GP(0) for a non-canonical address.
const gpFault = fault(VecGP) | fault(CauseNonCanonical)<<16

func packFault(v Vector, code ErrorCode, l Level, c Cause) fault {
	return fault(v) | fault(l)<<8 | fault(c)<<16 | fault(code)<<32
}

// at unpacks f for the access at va.
func (f fault) at(va uint64) Fault {
	if f == 0 {
		return Fault{}
	}
	return Fault{Vector: Vector(f), Code: ErrorCode(f >> 32), Addr: va, Level: Level(f >> 8), Cause: Cause(f >> 16)}
}

// Faulted reports whether the access faulted.
func (f Fault) Faulted() bool { return f.Vector != NoFault }

// String prints the fault on one line:
// "#PF error 0x2 (W) at 0xffffc90000201234: PTE not present".
func (f Fault) String() string {
	addr := "0x" + strconv.FormatUint(f.Addr, 16)
	switch f.Vector {
	case NoFault:
		return "no fault"
	case VecGP:
		return "#GP(0) at " + addr + ": " + f.Cause.String()
	}
	s := f.Vector.String() + " error " + f.Code.String() + " at " + addr + ": "
	switch f.Cause {
	case CauseNotPresent, CauseReserved:
		s += f.Level.EntryName() + " " + f.Cause.String()
	default:
		s += f.Cause.String()
	}
	return s
}

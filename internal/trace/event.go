package trace

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Kind says what happened. Kinds are small integers so a Tracer can keep the
// set it listens to in one word.
type Kind uint8

// The event kinds. The names (Kind.String) are the words a trace prints.
const (
	Walk     Kind = iota // an MMU page-table walk and its result
	Fault                // a #PF or #GP outcome, user or kernel
	PTESet               // a page-table entry written
	PTEClear             // a page-table entry cleared
	TLBFlush             // INVLPG, range flush or CR3 reload
	MTStore              // a maple-tree store, insert or erase
	VMap                 // a vmalloc area created, mapped, unmapped or freed
	Kfunc                // a kfunc or helper called by a BPF program
	Insn                 // one BPF instruction executed
	Syscall              // a system call made by a simulated process
	Alloc                // a physical frame allocated or freed
	Note                 // free text from a scenario or the machine
	numKinds
)

var kindNames = [numKinds]string{
	Walk: "walk", Fault: "fault", PTESet: "pte_set", PTEClear: "pte_clear",
	TLBFlush: "tlb_flush", MTStore: "mt_store", VMap: "vmap", Kfunc: "kfunc",
	Insn: "insn", Syscall: "syscall", Alloc: "alloc", Note: "note",
}

// String returns the kind's trace name, e.g. "pte_set".
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind returns the kind whose trace name is s.
func ParseKind(s string) (Kind, bool) {
	for k, n := range kindNames {
		if n == s {
			return Kind(k), true
		}
	}
	return 0, false
}

// Mask is a set of kinds.
type Mask uint32

// All is the set of every kind.
const All Mask = 1<<numKinds - 1

// Of returns the set holding the given kinds.
func Of(kinds ...Kind) Mask {
	var m Mask
	for _, k := range kinds {
		m |= 1 << k
	}
	return m
}

// Has reports whether k is in the set.
func (m Mask) Has(k Kind) bool { return m&(1<<k) != 0 }

// Event is one thing that happened. Addr, Val and Len are optional and their
// meaning depends on Kind (a walk's virtual address and resulting physical
// address; a PTE's address and new value); Text is the human detail.
type Event struct {
	Seq  uint64 // assigned by the Tracer, from 1
	Kind Kind
	Who  string // the actor: "kernel", "pid 1", "prog 3", ...
	Addr uint64
	Val  uint64
	Len  uint64
	Text string
}

// String returns the text form: "#12 pte_set pid 1 addr=0x1000 val=0x8000000000000067 <text>".
// Zero numeric fields are left out.
func (e Event) String() string {
	var b strings.Builder
	b.WriteByte('#')
	b.WriteString(strconv.FormatUint(e.Seq, 10))
	b.WriteByte(' ')
	b.WriteString(e.Kind.String())
	if e.Who != "" {
		b.WriteByte(' ')
		b.WriteString(e.Who)
	}
	hex := func(name string, v uint64) {
		if v != 0 {
			b.WriteString(" " + name + "=0x")
			b.WriteString(strconv.FormatUint(v, 16))
		}
	}
	hex("addr", e.Addr)
	hex("val", e.Val)
	hex("len", e.Len)
	if e.Text != "" {
		b.WriteByte(' ')
		b.WriteString(e.Text)
	}
	return b.String()
}

type jsonEvent struct {
	Seq  uint64 `json:"seq"`
	Kind string `json:"kind"`
	Who  string `json:"who,omitempty"`
	Addr string `json:"addr,omitempty"`
	Val  string `json:"val,omitempty"`
	Len  uint64 `json:"len,omitempty"`
	Text string `json:"text,omitempty"`
}

func hexOrEmpty(v uint64) string {
	if v == 0 {
		return ""
	}
	return "0x" + strconv.FormatUint(v, 16)
}

// MarshalJSON gives the JSON form; addresses and values are hex strings
// because JSON numbers cannot hold every 64-bit value exactly.
func (e Event) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonEvent{
		Seq: e.Seq, Kind: e.Kind.String(), Who: e.Who,
		Addr: hexOrEmpty(e.Addr), Val: hexOrEmpty(e.Val), Len: e.Len, Text: e.Text,
	})
}

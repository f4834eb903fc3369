package bpfjit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// regType is what the verifier knows a register holds (enum bpf_reg_type in
// include/linux/bpf.h): a base type in the low byte plus modifier flags.
// Only the types this model produces exist here; there are no packet,
// socket or BTF-typed pointers.
type regType uint16

// Base register types.
const (
	notInit       regType = iota // NOT_INIT: never written, must not be read
	scalarValue                  // SCALAR_VALUE: a number, with bounds
	ptrToCtx                     // PTR_TO_CTX: the program's context
	constPtrToMap                // CONST_PTR_TO_MAP: a struct bpf_map pointer
	ptrToMapValue                // PTR_TO_MAP_VALUE
	ptrToMapKey                  // PTR_TO_MAP_KEY
	ptrToStack                   // PTR_TO_STACK: r10 plus an offset
	ptrToMem                     // PTR_TO_MEM: a memory region of mem_size bytes
	ptrToArena                   // PTR_TO_ARENA: a 32-bit arena offset
)

// Type modifiers.
const (
	ptrMaybeNull regType = 1 << 8 // PTR_MAYBE_NULL
	memRdonly    regType = 1 << 9 // MEM_RDONLY
	baseTypeMask regType = 0xff
)

func (t regType) base() regType   { return t & baseTypeMask }
func (t regType) maybeNull() bool { return t&ptrMaybeNull != 0 }
func (t regType) isPointer() bool { return t.base() != notInit && t.base() != scalarValue }
func (t regType) rdonlyMem() bool { return t&memRdonly != 0 }
func (t regType) isMapPtrish() bool { // type_is_map_ptr in kernel/bpf/log.c
	b := t.base()
	return b == constPtrToMap || b == ptrToMapKey || b == ptrToMapValue
}

var regTypeNames = [...]string{
	notInit:       "?",
	scalarValue:   "scalar",
	ptrToCtx:      "ctx",
	constPtrToMap: "map_ptr",
	ptrToMapValue: "map_value",
	ptrToMapKey:   "map_key",
	ptrToStack:    "fp",
	ptrToMem:      "mem",
	ptrToArena:    "arena",
}

// String prints the type as reg_type_str does, e.g. "map_value_or_null".
func (t regType) String() string {
	var b strings.Builder
	if t.rdonlyMem() {
		b.WriteString("rdonly_")
	}
	if int(t.base()) < len(regTypeNames) {
		b.WriteString(regTypeNames[t.base()])
	} else {
		b.WriteString("type" + strconv.Itoa(int(t.base())))
	}
	if t.maybeNull() {
		b.WriteString("_or_null")
	}
	return b.String()
}

// regState is one register's abstract value (struct bpf_reg_state). Pointer
// registers use off (a fixed offset) plus the scalar fields as a variable
// offset; scalars use only the scalar fields.
type regState struct {
	typ     regType
	off     int32    // fixed part of a pointer's offset
	mapPtr  *MapInfo // for map pointers, map values and keys
	memSize uint32   // for PTR_TO_MEM
	id      uint32   // links copies of a maybe-NULL pointer for the NULL check
	frameno uint8    // for PTR_TO_STACK: which frame's stack
	precise bool     // shown as "P" in the log; set for unprivileged programs

	varOff tnum
	smin   int64
	smax   int64
	umin   uint64
	umax   uint64
	s32min int32
	s32max int32
	u32min uint32
	u32max uint32
}

// sameShape reports whether everything except the bounds is identical (the
// memcmp up to var_off in regsafe).
func (r *regState) sameShape(o *regState) bool {
	return r.typ == o.typ && r.off == o.off && r.mapPtr == o.mapPtr &&
		r.memSize == o.memSize && r.frameno == o.frameno
}

// exact reports whether two registers are identical in every tracked field
// except id (regs_exact compares ids through a map).
func (r *regState) exact(o *regState) bool {
	return r.sameShape(o) && r.varOff == o.varOff && r.boundsEqual(o)
}

func (r *regState) boundsEqual(o *regState) bool {
	return r.smin == o.smin && r.smax == o.smax && r.umin == o.umin && r.umax == o.umax &&
		r.s32min == o.s32min && r.s32max == o.s32max && r.u32min == o.u32min && r.u32max == o.u32max
}

// rangeWithin reports whether cur's bounds lie inside old's (range_within).
func vRangeWithin(old, cur *regState) bool {
	return old.umin <= cur.umin && old.umax >= cur.umax &&
		old.smin <= cur.smin && old.smax >= cur.smax &&
		old.u32min <= cur.u32min && old.u32max >= cur.u32max &&
		old.s32min <= cur.s32min && old.s32max >= cur.s32max
}

// unum and snum print numbers as the verifier log does (verbose_unum,
// verbose_snum): small values in decimal, others in hex.
func vUnum(v uint64) string {
	if v <= math.MaxUint16 {
		return strconv.FormatUint(v, 10)
	}
	return "0x" + strconv.FormatUint(v, 16)
}

func vSnum(v int64) string {
	if v >= math.MinInt16 && v <= math.MaxInt16 {
		return strconv.FormatInt(v, 10)
	}
	return "0x" + strconv.FormatUint(uint64(v), 16)
}

// appendScalarRanges writes the non-default bounds, merging equal values,
// as print_scalar_ranges does ("smin=smin32=0,smax=umax=smax32=umax32=10").
func (r *regState) appendScalarRanges(b *strings.Builder, sep *string) {
	s32 := func(v int32) uint64 {
		if int64(v) >= math.MinInt16 && int64(v) <= math.MaxInt16 {
			return uint64(int64(v))
		}
		return uint64(uint32(v))
	}
	m := [8]struct {
		name string
		val  uint64
		omit bool
	}{
		{"smin", uint64(r.smin), r.smin == math.MinInt64},
		{"smax", uint64(r.smax), r.smax == math.MaxInt64},
		{"umin", r.umin, r.umin == 0},
		{"umax", r.umax, r.umax == math.MaxUint64},
		{"smin32", s32(r.s32min), r.s32min == math.MinInt32},
		{"smax32", s32(r.s32max), r.s32max == math.MaxInt32},
		{"umin32", uint64(r.u32min), r.u32min == 0},
		{"umax32", uint64(r.u32max), r.u32max == math.MaxUint32},
	}
	for i := range m {
		if m[i].omit {
			continue
		}
		neg1 := m[i].name[0] == 's' && int64(m[i].val) < 0
		b.WriteString(*sep + m[i].name + "=")
		*sep = ","
		for j := i + 2; j < len(m); j += 2 {
			if m[j].omit || m[j].val != m[i].val {
				continue
			}
			neg2 := m[j].name[0] == 's' && int64(m[j].val) < 0
			if neg1 != neg2 {
				continue
			}
			m[j].omit = true
			b.WriteString(m[j].name + "=")
		}
		if m[i].name[0] == 's' {
			b.WriteString(vSnum(int64(m[i].val)))
		} else {
			b.WriteString(vUnum(m[i].val))
		}
	}
}

// format prints the register's value as print_reg_state does, e.g. "ctx()",
// "fp-8", "map_value(map=m,ks=4,vs=8)", "scalar(umax=255,var_off=(0x0; 0xff))".
// curFrame is the frame whose registers are being printed.
func (r *regState) format(curFrame uint8) string {
	var b strings.Builder
	t := r.typ
	if t == scalarValue && r.precise {
		b.WriteString("P")
	}
	if t == scalarValue && r.varOff.isConst() {
		b.WriteString(vSnum(int64(r.varOff.value)))
		return b.String()
	}
	b.WriteString(t.String())
	if t == ptrToArena {
		return b.String()
	}
	if t == ptrToStack {
		if r.frameno != curFrame {
			b.WriteString("[" + strconv.Itoa(int(r.frameno)) + "]")
		}
		if r.varOff.isConst() {
			b.WriteString(vSnum(int64(r.varOff.value) + int64(r.off)))
			return b.String()
		}
	}
	b.WriteString("(")
	sep := ""
	add := func(s string) { b.WriteString(sep + s); sep = "," }
	if r.id != 0 {
		add("id=" + strconv.Itoa(int(r.id&^addConstID)))
	}
	if r.id&addConstID != 0 {
		fmt.Fprintf(&b, "%+d", r.off)
	}
	if t.isMapPtrish() && r.mapPtr != nil {
		if r.mapPtr.Name != "" {
			add("map=" + r.mapPtr.Name)
		}
		add("ks=" + strconv.Itoa(int(r.mapPtr.KeySize)) + ",vs=" + strconv.Itoa(int(r.mapPtr.ValueSize)))
	}
	if t != scalarValue && r.off != 0 {
		add("off=" + vSnum(int64(r.off)))
	}
	if t.base() == ptrToMem {
		add("sz=" + vUnum(uint64(r.memSize)))
	}
	if r.varOff.isConst() {
		if r.varOff.value != 0 {
			add("imm=" + vSnum(int64(r.varOff.value)))
		}
	} else {
		r.appendScalarRanges(&b, &sep)
		if !r.varOff.isUnknown() {
			add("var_off=" + r.varOff.String())
		}
	}
	b.WriteString(")")
	return b.String()
}

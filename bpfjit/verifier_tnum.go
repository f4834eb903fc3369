package bpfjit

import (
	"fmt"
	"math/bits"
)

// tnum is a "tristate number": what the verifier knows about the bits of a
// value. A bit set in mask is unknown; a bit clear in mask has the value of
// the same bit in value. value&mask is always zero.
//
// tnum and its operations model kernel/bpf/tnum.c.
type tnum struct {
	value uint64
	mask  uint64
}

var tnumUnknown = tnum{value: 0, mask: ^uint64(0)}

func tnumConst(v uint64) tnum { return tnum{value: v} }

// tnumRange returns the tightest tnum holding every value in [min, max].
func tnumRange(min, max uint64) tnum {
	chi := min ^ max
	n := bits.Len64(chi)
	if n > 63 {
		return tnumUnknown
	}
	delta := uint64(1)<<n - 1
	return tnum{value: min &^ delta, mask: delta}
}

func (a tnum) isConst() bool             { return a.mask == 0 }
func (a tnum) equalsConst(v uint64) bool { return a.isConst() && a.value == v }
func (a tnum) isUnknown() bool           { return ^a.mask == 0 }

func (a tnum) lshift(s uint8) tnum { return tnum{a.value << s, a.mask << s} }
func (a tnum) rshift(s uint8) tnum { return tnum{a.value >> s, a.mask >> s} }

// arshift shifts right arithmetically by s within a width of 32 or 64 bits.
func (a tnum) arshift(s uint8, width int) tnum {
	if width == 32 {
		return tnum{uint64(uint32(int32(uint32(a.value)) >> s)), uint64(uint32(int32(uint32(a.mask)) >> s))}
	}
	return tnum{uint64(int64(a.value) >> s), uint64(int64(a.mask) >> s)}
}

func tnumAdd(a, b tnum) tnum {
	sm := a.mask + b.mask
	sv := a.value + b.value
	sigma := sm + sv
	chi := sigma ^ sv
	mu := chi | a.mask | b.mask
	return tnum{sv &^ mu, mu}
}

func tnumSub(a, b tnum) tnum {
	dv := a.value - b.value
	alpha := dv + a.mask
	beta := dv - b.mask
	chi := alpha ^ beta
	mu := chi | a.mask | b.mask
	return tnum{dv &^ mu, mu}
}

func tnumAnd(a, b tnum) tnum {
	alpha := a.value | a.mask
	beta := b.value | b.mask
	v := a.value & b.value
	return tnum{v, alpha & beta &^ v}
}

func tnumOr(a, b tnum) tnum {
	v := a.value | b.value
	mu := a.mask | b.mask
	return tnum{v, mu &^ v}
}

func tnumXor(a, b tnum) tnum {
	v := a.value ^ b.value
	mu := a.mask | b.mask
	return tnum{v &^ mu, mu}
}

// tnumMul multiplies by shifted partial products, as tnum_mul does.
func tnumMul(a, b tnum) tnum {
	accV := a.value * b.value
	accM := tnum{}
	for a.value != 0 || a.mask != 0 {
		if a.value&1 != 0 {
			accM = tnumAdd(accM, tnum{0, b.mask})
		} else if a.mask&1 != 0 {
			accM = tnumAdd(accM, tnum{0, b.value | b.mask})
		}
		a = a.rshift(1)
		b = b.lshift(1)
	}
	return tnumAdd(tnum{accV, 0}, accM)
}

func tnumIntersect(a, b tnum) tnum {
	v := a.value | b.value
	mu := a.mask & b.mask
	return tnum{v &^ mu, mu}
}

// cast keeps the low size bytes.
func (a tnum) cast(size int) tnum {
	if size >= 8 {
		return a
	}
	m := uint64(1)<<(size*8) - 1
	return tnum{a.value & m, a.mask & m}
}

func (a tnum) isAligned(size uint64) bool {
	if size == 0 {
		return true
	}
	return (a.value|a.mask)&(size-1) == 0
}

// in reports whether every value b can hold is one a can hold.
func (a tnum) in(b tnum) bool {
	if b.mask&^a.mask != 0 {
		return false
	}
	return a.value == b.value&^a.mask
}

func (a tnum) subreg() tnum      { return a.cast(4) }
func (a tnum) clearSubreg() tnum { return a.rshift(32).lshift(32) }

func (a tnum) withSubreg(sub tnum) tnum { return tnumOr(a.clearSubreg(), sub.subreg()) }

func (a tnum) constSubreg(v uint32) tnum { return a.withSubreg(tnumConst(uint64(v))) }

// String prints the tnum as tnum_strn does: a constant in decimal (or hex
// above 65535), otherwise "(value; mask)" in hex.
func (a tnum) String() string {
	if a.mask == 0 {
		return vUnum(a.value)
	}
	return fmt.Sprintf("(%#x; %#x)", a.value, a.mask)
}

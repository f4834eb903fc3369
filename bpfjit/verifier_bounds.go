package bpfjit

import (
	"math"
	"math/bits"
)

// The functions in this file track what a scalar can be: a tnum plus signed
// and unsigned bounds for the whole register and for its low 32 bits. They
// model the bounds machinery of kernel/bpf/verifier.c (__mark_reg_known,
// reg_bounds_sync, the scalar*_min_max_* family, coerce_reg_to_size, ...).

// markKnown makes r the constant v (___mark_reg_known); it keeps the type.
func (r *regState) markKnown(v uint64) {
	r.varOff = tnumConst(v)
	r.smin, r.smax = int64(v), int64(v)
	r.umin, r.umax = v, v
	r.s32min, r.s32max = int32(v), int32(v)
	r.u32min, r.u32max = uint32(v), uint32(v)
}

// markKnown32 makes the low 32 bits the constant v (__mark_reg32_known).
func (r *regState) markKnown32(v uint32) {
	r.varOff = r.varOff.constSubreg(v)
	r.s32min, r.s32max = int32(v), int32(v)
	r.u32min, r.u32max = v, v
}

func (r *regState) markUnbounded() {
	r.markUnbounded64()
	r.markUnbounded32()
}

func (r *regState) markUnbounded64() {
	r.smin, r.smax = math.MinInt64, math.MaxInt64
	r.umin, r.umax = 0, math.MaxUint64
}

func (r *regState) markUnbounded32() {
	r.s32min, r.s32max = math.MinInt32, math.MaxInt32
	r.u32min, r.u32max = 0, math.MaxUint32
}

// setUnknown makes r an unknown scalar (__mark_reg_unknown); precise
// starts true for unprivileged programs, which get no pruning leeway.
func (r *regState) setUnknown(precise bool) {
	*r = regState{typ: scalarValue, varOff: tnumUnknown, precise: precise}
	r.markUnbounded()
}

// setConst makes r the scalar constant v (__mark_reg_known plus the type).
func (r *regState) setConst(v uint64, precise bool) {
	*r = regState{typ: scalarValue, precise: precise}
	r.markKnown(v)
}

// setPointer makes r a pointer of type t with zero offsets
// (mark_reg_known_zero followed by setting the type).
func (r *regState) setPointer(t regType) {
	*r = regState{typ: t}
	r.markKnown(0)
}

func (r *regState) isConst(subreg32 bool) bool {
	if r.typ != scalarValue {
		return false
	}
	if subreg32 {
		return r.varOff.subreg().isConst()
	}
	return r.varOff.isConst()
}

func (r *regState) constValue(subreg32 bool) uint64 {
	if subreg32 {
		return r.varOff.subreg().value
	}
	return r.varOff.value
}

// isNull reports a scalar known to be zero (register_is_null).
func (r *regState) isNull() bool { return r.typ == scalarValue && r.varOff.equalsConst(0) }

func (r *regState) updateBounds32() {
	v := r.varOff.subreg()
	r.s32min = max(r.s32min, int32(uint32(v.value)|uint32(v.mask)&0x80000000))
	r.s32max = min(r.s32max, int32(uint32(v.value)|uint32(v.mask)&0x7fffffff))
	r.u32min = max(r.u32min, uint32(v.value))
	r.u32max = min(r.u32max, uint32(v.value|v.mask))
}

func (r *regState) updateBounds64() {
	v := r.varOff
	r.smin = max(r.smin, int64(v.value|v.mask&(1<<63)))
	r.smax = min(r.smax, int64(v.value|v.mask&math.MaxInt64))
	r.umin = max(r.umin, v.value)
	r.umax = min(r.umax, v.value|v.mask)
}

func (r *regState) updateBounds() {
	r.updateBounds32()
	r.updateBounds64()
}

// deduceBounds32 uses the 64-bit bounds and the sign relation to tighten the
// 32-bit ones (__reg32_deduce_bounds).
func (r *regState) deduceBounds32() {
	if r.umin>>32 == r.umax>>32 {
		r.u32min = max(r.u32min, uint32(r.umin))
		r.u32max = min(r.u32max, uint32(r.umax))
		if int32(r.umin) <= int32(r.umax) {
			r.s32min = max(r.s32min, int32(r.umin))
			r.s32max = min(r.s32max, int32(r.umax))
		}
	}
	if r.smin>>32 == r.smax>>32 {
		if uint32(r.smin) <= uint32(r.smax) {
			r.u32min = max(r.u32min, uint32(r.smin))
			r.u32max = min(r.u32max, uint32(r.smax))
		}
		if int32(r.smin) <= int32(r.smax) {
			r.s32min = max(r.s32min, int32(r.smin))
			r.s32max = min(r.s32max, int32(r.smax))
		}
	}
	if uint32(r.umin>>32)+1 == uint32(r.umax>>32) && int32(r.umin) < 0 && int32(r.umax) >= 0 {
		r.s32min = max(r.s32min, int32(r.umin))
		r.s32max = min(r.s32max, int32(r.umax))
	}
	if uint32(uint64(r.smin)>>32)+1 == uint32(uint64(r.smax)>>32) && int32(r.smin) < 0 && int32(r.smax) >= 0 {
		r.s32min = max(r.s32min, int32(r.smin))
		r.s32max = min(r.s32max, int32(r.smax))
	}
	if int32(r.u32min) <= int32(r.u32max) {
		r.s32min = max(r.s32min, int32(r.u32min))
		r.s32max = min(r.s32max, int32(r.u32max))
	}
	if uint32(r.s32min) <= uint32(r.s32max) {
		r.u32min = max(uint32(r.s32min), r.u32min)
		r.u32max = min(uint32(r.s32max), r.u32max)
	}
}

// deduceBounds64 relates signed and unsigned 64-bit bounds when the range
// does not cross the sign boundary (__reg64_deduce_bounds).
func (r *regState) deduceBounds64() {
	if int64(r.umin) <= int64(r.umax) {
		r.smin = max(r.smin, int64(r.umin))
		r.smax = min(r.smax, int64(r.umax))
	}
	if uint64(r.smin) <= uint64(r.smax) {
		r.umin = max(uint64(r.smin), r.umin)
		r.umax = min(uint64(r.smax), r.umax)
	}
}

// deduceMixedBounds tightens 64-bit bounds from 32-bit knowledge
// (__reg_deduce_mixed_bounds).
func (r *regState) deduceMixedBounds() {
	const hi = ^uint64(0xffffffff)
	r.umin = max(r.umin, r.umin&hi|uint64(r.u32min))
	r.umax = min(r.umax, r.umax&hi|uint64(r.u32max))
	r.smin = max(r.smin, int64(uint64(r.smin)&hi|uint64(r.u32min)))
	r.smax = min(r.smax, int64(uint64(r.smax)&hi|uint64(r.u32max)))
	if uint32(r.s32min) <= uint32(r.s32max) {
		r.umin = max(r.umin, r.umin&hi|uint64(uint32(r.s32min)))
		r.umax = min(r.umax, r.umax&hi|uint64(uint32(r.s32max)))
		r.smin = max(r.smin, int64(uint64(r.smin)&hi|uint64(uint32(r.s32min))))
		r.smax = min(r.smax, int64(uint64(r.smax)&hi|uint64(uint32(r.s32max))))
	}
	if r.s32min >= 0 && r.smin >= math.MinInt32 && r.smax <= math.MaxInt32 {
		r.smin, r.smax = int64(r.s32min), int64(r.s32max)
		r.umin, r.umax = uint64(r.s32min), uint64(r.s32max)
		r.varOff = tnumIntersect(r.varOff, tnumRange(uint64(r.smin), uint64(r.smax)))
	}
}

func (r *regState) deduceBounds() {
	r.deduceBounds32()
	r.deduceBounds64()
	r.deduceMixedBounds()
}

// boundOffset learns known bits from the bounds (__reg_bound_offset).
func (r *regState) boundOffset() {
	v64 := tnumIntersect(r.varOff, tnumRange(r.umin, r.umax))
	v32 := tnumIntersect(v64.subreg(), tnumRange(uint64(r.u32min), uint64(r.u32max)))
	r.varOff = tnumOr(v64.clearSubreg(), v32)
}

// syncBounds makes every bound agree with every other (reg_bounds_sync).
func (r *regState) syncBounds() {
	r.updateBounds()
	r.deduceBounds()
	r.deduceBounds()
	r.boundOffset()
	r.updateBounds()
}

// boundsSane reports whether the bounds are self-consistent
// (reg_bounds_sanity_check). Inconsistent bounds arise on paths that
// cannot execute; the kernel then forgets them.
func (r *regState) boundsSane() bool {
	if r.umin > r.umax || r.smin > r.smax || r.u32min > r.u32max || r.s32min > r.s32max {
		return false
	}
	if r.varOff.isConst() {
		v := r.varOff.value
		if r.umin != v || r.umax != v || r.smin != int64(v) || r.smax != int64(v) {
			return false
		}
	}
	if s := r.varOff.subreg(); s.isConst() {
		v := uint32(s.value)
		if r.u32min != v || r.u32max != v || r.s32min != int32(v) || r.s32max != int32(v) {
			return false
		}
	}
	return true
}

// assign32Into64 copies the 32-bit bounds into the 64-bit ones after a
// zero extension (__reg_assign_32_into_64).
func (r *regState) assign32Into64() {
	r.umin, r.umax = uint64(r.u32min), uint64(r.u32max)
	if r.s32min >= 0 && r.s32max >= 0 {
		r.smin, r.smax = int64(r.s32min), int64(r.s32max)
	} else {
		r.smin, r.smax = 0, math.MaxUint32
	}
}

// zext32To64 models zext_32_to_64: the upper half becomes zero.
func (r *regState) zext32To64() {
	r.varOff = r.varOff.subreg()
	r.assign32Into64()
}

// coerceToSize models coerce_reg_to_size: a zero-extending load or move of
// size bytes (size < 8).
func (r *regState) coerceToSize(size int) {
	r.varOff = r.varOff.cast(size)
	mask := uint64(1)<<(size*8) - 1
	if r.umin&^mask == r.umax&^mask {
		r.umin &= mask
		r.umax &= mask
	} else {
		r.umin, r.umax = 0, mask
	}
	r.smin, r.smax = int64(r.umin), int64(r.umax)
	if size < 4 {
		r.markUnbounded32()
	}
	r.syncBounds()
}

func vSext(v uint64, size int) int64 {
	switch size {
	case 1:
		return int64(int8(v))
	case 2:
		return int64(int16(v))
	}
	return int64(int32(v))
}

// coerceToSizeSX models coerce_reg_to_size_sx: sign extension of the low
// size bytes to 64 bits.
func (r *regState) coerceToSizeSX(size int) {
	if r.varOff.isConst() {
		v := uint64(vSext(r.varOff.value, size))
		r.varOff = tnumConst(v)
		r.smin, r.smax = int64(v), int64(v)
		r.umin, r.umax = v, v
		r.s32min, r.s32max = int32(v), int32(v)
		r.u32min, r.u32max = uint32(v), uint32(v)
		return
	}
	nb := uint(size * 8)
	if uint64(r.smax)>>nb<<nb == uint64(r.smin)>>nb<<nb {
		a, b := vSext(uint64(r.smax), size), vSext(uint64(r.smin), size)
		lo, hi := min(a, b), max(a, b)
		if (hi >= 0) == (lo >= 0) {
			r.smin, r.smax = lo, hi
			r.s32min, r.s32max = int32(lo), int32(hi)
			r.umin, r.umax = uint64(lo), uint64(hi)
			r.u32min, r.u32max = uint32(lo), uint32(hi)
			r.varOff = tnumRange(uint64(lo), uint64(hi))
			return
		}
	}
	switch size {
	case 1:
		r.smin, r.smax = math.MinInt8, math.MaxInt8
	case 2:
		r.smin, r.smax = math.MinInt16, math.MaxInt16
	default:
		r.smin, r.smax = math.MinInt32, math.MaxInt32
	}
	r.s32min, r.s32max = int32(r.smin), int32(r.smax)
	r.umin, r.u32min = 0, 0
	r.umax, r.u32max = math.MaxUint64, math.MaxUint32
	r.varOff = tnumUnknown
}

// coerceSubregToSizeSX models coerce_subreg_to_size_sx: sign extension of
// the low size bytes into the low 32 bits (w = (s8/s16)w).
func (r *regState) coerceSubregToSizeSX(size int) {
	if r.varOff.isConst() {
		v := uint32(vSext(r.varOff.value, size))
		r.varOff = tnumConst(uint64(int64(int32(v))))
		r.s32min, r.s32max = int32(v), int32(v)
		r.u32min, r.u32max = v, v
		return
	}
	nb := uint(size * 8)
	if uint32(r.s32max)>>nb<<nb == uint32(r.s32min)>>nb<<nb {
		a, b := int32(vSext(uint64(uint32(r.s32max)), size)), int32(vSext(uint64(uint32(r.s32min)), size))
		lo, hi := min(a, b), max(a, b)
		if (lo >= 0) == (hi >= 0) {
			r.s32min, r.s32max = lo, hi
			r.u32min, r.u32max = uint32(lo), uint32(hi)
			r.varOff = tnumRange(uint64(int64(lo)), uint64(int64(hi))).subreg()
			return
		}
	}
	if size == 1 {
		r.s32min, r.s32max = math.MinInt8, math.MaxInt8
	} else {
		r.s32min, r.s32max = math.MinInt16, math.MaxInt16
	}
	r.u32min, r.u32max = 0, math.MaxUint32
	r.varOff = tnumUnknown.subreg()
}

func addOverflows64(a, b int64) (int64, bool) {
	s := a + b
	return s, (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0)
}

func subOverflows64(a, b int64) (int64, bool) {
	s := a - b
	return s, (a >= 0) != (b >= 0) && (s >= 0) != (a >= 0)
}

func addOverflows32(a, b int32) (int32, bool) {
	s := a + b
	return s, (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0)
}

func subOverflows32(a, b int32) (int32, bool) {
	s := a - b
	return s, (a >= 0) != (b >= 0) && (s >= 0) != (a >= 0)
}

func mulOverflows64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, false
	}
	p := a * b
	return p, p/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64)
}

func (d *regState) minMaxAdd(s *regState) {
	s1, o1 := addOverflows32(d.s32min, s.s32min)
	s2, o2 := addOverflows32(d.s32max, s.s32max)
	if o1 || o2 {
		d.s32min, d.s32max = math.MinInt32, math.MaxInt32
	} else {
		d.s32min, d.s32max = s1, s2
	}
	u1, c1 := bits.Add32(d.u32min, s.u32min, 0)
	u2, c2 := bits.Add32(d.u32max, s.u32max, 0)
	if c1 != 0 || c2 != 0 {
		d.u32min, d.u32max = 0, math.MaxUint32
	} else {
		d.u32min, d.u32max = u1, u2
	}
	d.add64Bounds(d, s)
	d.varOff = tnumAdd(d.varOff, s.varOff)
}

// add64Bounds sets d's 64-bit bounds to those of a + b, unbounded where
// the sum may overflow (scalar_min_max_add, and pointer += scalar).
func (d *regState) add64Bounds(a, b *regState) {
	t1, p1 := addOverflows64(a.smin, b.smin)
	t2, p2 := addOverflows64(a.smax, b.smax)
	if p1 || p2 {
		d.smin, d.smax = math.MinInt64, math.MaxInt64
	} else {
		d.smin, d.smax = t1, t2
	}
	v1, k1 := bits.Add64(a.umin, b.umin, 0)
	v2, k2 := bits.Add64(a.umax, b.umax, 0)
	if k1 != 0 || k2 != 0 {
		d.umin, d.umax = 0, math.MaxUint64
	} else {
		d.umin, d.umax = v1, v2
	}
}

// sub64Bounds sets d's 64-bit bounds to those of a - b
// (scalar_min_max_sub, and pointer -= scalar).
func (d *regState) sub64Bounds(a, b *regState) {
	t1, p1 := subOverflows64(a.smin, b.smax)
	t2, p2 := subOverflows64(a.smax, b.smin)
	if p1 || p2 {
		d.smin, d.smax = math.MinInt64, math.MaxInt64
	} else {
		d.smin, d.smax = t1, t2
	}
	if a.umin < b.umax {
		d.umin, d.umax = 0, math.MaxUint64
	} else {
		d.umin, d.umax = a.umin-b.umax, a.umax-b.umin
	}
}

func (d *regState) minMaxSub(s *regState) {
	s1, o1 := subOverflows32(d.s32min, s.s32max)
	s2, o2 := subOverflows32(d.s32max, s.s32min)
	if o1 || o2 {
		d.s32min, d.s32max = math.MinInt32, math.MaxInt32
	} else {
		d.s32min, d.s32max = s1, s2
	}
	if d.u32min < s.u32max {
		d.u32min, d.u32max = 0, math.MaxUint32
	} else {
		d.u32min, d.u32max = d.u32min-s.u32max, d.u32max-s.u32min
	}
	d.sub64Bounds(d, s)
	d.varOff = tnumSub(d.varOff, s.varOff)
}

func (d *regState) minMaxMul(s *regState) {
	d.varOff = tnumMul(d.varOff, s.varOff)
	// 32-bit
	h1, l1 := bits.Mul32(d.u32max, s.u32max)
	h2, l2 := bits.Mul32(d.u32min, s.u32min)
	if h1 != 0 || h2 != 0 {
		d.u32min, d.u32max = 0, math.MaxUint32
	} else {
		d.u32min, d.u32max = l2, l1
	}
	var p32 [4]int64
	ok := true
	for i, ab := range [4][2]int32{{d.s32min, s.s32min}, {d.s32min, s.s32max}, {d.s32max, s.s32min}, {d.s32max, s.s32max}} {
		p := int64(ab[0]) * int64(ab[1])
		if p < math.MinInt32 || p > math.MaxInt32 {
			ok = false
		}
		p32[i] = p
	}
	if ok {
		d.s32min, d.s32max = int32(min(p32[0], p32[1], p32[2], p32[3])), int32(max(p32[0], p32[1], p32[2], p32[3]))
	} else {
		d.s32min, d.s32max = math.MinInt32, math.MaxInt32
	}
	// 64-bit
	hh1, ll1 := bits.Mul64(d.umax, s.umax)
	hh2, ll2 := bits.Mul64(d.umin, s.umin)
	if hh1 != 0 || hh2 != 0 {
		d.umin, d.umax = 0, math.MaxUint64
	} else {
		d.umin, d.umax = ll2, ll1
	}
	var p64 [4]int64
	ok = true
	for i, ab := range [4][2]int64{{d.smin, s.smin}, {d.smin, s.smax}, {d.smax, s.smin}, {d.smax, s.smax}} {
		p, of := mulOverflows64(ab[0], ab[1])
		if of {
			ok = false
		}
		p64[i] = p
	}
	if ok {
		d.smin, d.smax = min(p64[0], p64[1], p64[2], p64[3]), max(p64[0], p64[1], p64[2], p64[3])
	} else {
		d.smin, d.smax = math.MinInt64, math.MaxInt64
	}
}

// signed32FromUnsigned sets the s32 bounds from the u32 ones when they do
// not cross the sign boundary, else leaves them unbounded.
func (d *regState) signed32FromUnsigned() {
	if int32(d.u32min) <= int32(d.u32max) {
		d.s32min, d.s32max = int32(d.u32min), int32(d.u32max)
	} else {
		d.s32min, d.s32max = math.MinInt32, math.MaxInt32
	}
}

func (d *regState) signed64FromUnsigned() {
	if int64(d.umin) <= int64(d.umax) {
		d.smin, d.smax = int64(d.umin), int64(d.umax)
	} else {
		d.smin, d.smax = math.MinInt64, math.MaxInt64
	}
}

// minMaxBitwise handles AND, OR and XOR; varOff must already hold the new tnum.
func (d *regState) minMaxBitwise(op ALUOp, s *regState, srcKnown32, dstKnown32, srcKnown, dstKnown bool) {
	v32 := d.varOff.subreg()
	if srcKnown32 && dstKnown32 {
		d.markKnown32(uint32(v32.value))
	} else {
		switch op {
		case And:
			d.u32min = uint32(v32.value)
			d.u32max = min(d.u32max, s.u32max)
		case Or:
			d.u32min = max(d.u32min, s.u32min)
			d.u32max = uint32(v32.value | v32.mask)
		case Xor:
			d.u32min = uint32(v32.value)
			d.u32max = uint32(v32.value | v32.mask)
		}
		d.signed32FromUnsigned()
	}
	if srcKnown && dstKnown {
		d.markKnown(d.varOff.value)
		return
	}
	switch op {
	case And:
		d.umin = d.varOff.value
		d.umax = min(d.umax, s.umax)
	case Or:
		d.umin = max(d.umin, s.umin)
		d.umax = d.varOff.value | d.varOff.mask
	case Xor:
		d.umin = d.varOff.value
		d.umax = d.varOff.value | d.varOff.mask
	}
	d.signed64FromUnsigned()
	d.updateBounds()
}

func (d *regState) lsh32Bounds(umin, umax uint64) {
	d.s32min, d.s32max = math.MinInt32, math.MaxInt32
	if umax > 31 || uint64(d.u32max) > 1<<(31-umax) {
		d.u32min, d.u32max = 0, math.MaxUint32
	} else {
		d.u32min <<= umin
		d.u32max <<= umax
	}
}

func (d *regState) lsh64Bounds(umin, umax uint64) {
	if umin == 32 && umax == 32 && d.s32max >= 0 {
		d.smax = int64(d.s32max) << 32
	} else {
		d.smax = math.MaxInt64
	}
	if umin == 32 && umax == 32 && d.s32min >= 0 {
		d.smin = int64(d.s32min) << 32
	} else {
		d.smin = math.MinInt64
	}
	if d.umax > 1<<(63-umax) {
		d.umin, d.umax = 0, math.MaxUint64
	} else {
		d.umin <<= umin
		d.umax <<= umax
	}
}

// scalarALU applies a scalar ALU operation to d with source s
// (adjust_scalar_min_max_vals). When the result's range cannot be computed
// (division, modulo, shifts by a non-constant) d becomes an unknown scalar.
func (d *regState) scalarALU(op ALUOp, alu32 bool, s *regState, precise bool) {
	srcConst := false
	width := uint64(64)
	if alu32 {
		width = 32
		srcConst = s.varOff.subreg().isConst() && s.s32min == s.s32max && s.u32min == s.u32max
	} else {
		srcConst = s.varOff.isConst() && s.smin == s.smax && s.umin == s.umax
	}
	switch op {
	case Add, Sub, And, Xor, Or, Mul:
	case LSh, RSh, ArSh:
		if !srcConst || s.umax >= width {
			d.setUnknown(precise)
			return
		}
	default:
		d.setUnknown(precise)
		return
	}
	switch op {
	case Add:
		d.minMaxAdd(s)
	case Sub:
		d.minMaxSub(s)
	case Mul:
		d.minMaxMul(s)
	case And, Or, Xor:
		switch op {
		case And:
			d.varOff = tnumAnd(d.varOff, s.varOff)
		case Or:
			d.varOff = tnumOr(d.varOff, s.varOff)
		default:
			d.varOff = tnumXor(d.varOff, s.varOff)
		}
		// Like the kernel, "dst known" looks at the result's tnum.
		d.minMaxBitwise(op, s, s.varOff.subreg().isConst(), d.varOff.subreg().isConst(),
			s.varOff.isConst(), d.varOff.isConst())
	case LSh:
		if alu32 {
			umin, umax := uint64(s.u32min), uint64(s.u32max)
			sub := d.varOff.subreg()
			d.lsh32Bounds(umin, umax)
			d.varOff = sub.lshift(uint8(umin)).subreg()
			d.markUnbounded64()
			d.updateBounds32()
		} else {
			d.lsh64Bounds(s.umin, s.umax)
			d.lsh32Bounds(s.umin, s.umax)
			d.varOff = d.varOff.lshift(uint8(s.umin))
			d.updateBounds()
		}
	case RSh:
		if alu32 {
			sub := d.varOff.subreg()
			d.s32min, d.s32max = math.MinInt32, math.MaxInt32
			d.varOff = sub.rshift(uint8(s.u32min))
			d.u32min >>= s.u32max
			d.u32max >>= s.u32min
			d.markUnbounded64()
			d.updateBounds32()
		} else {
			d.smin, d.smax = math.MinInt64, math.MaxInt64
			d.varOff = d.varOff.rshift(uint8(s.umin))
			d.umin >>= s.umax
			d.umax >>= s.umin
			d.markUnbounded32()
			d.updateBounds()
		}
	case ArSh:
		if alu32 {
			sh := s.u32min
			d.s32min = int32(uint32(d.s32min >> sh))
			d.s32max = int32(uint32(d.s32max >> sh))
			d.varOff = d.varOff.subreg().arshift(uint8(sh), 32)
			d.u32min, d.u32max = 0, math.MaxUint32
			d.markUnbounded64()
			d.updateBounds32()
		} else {
			sh := s.umin
			d.smin >>= sh
			d.smax >>= sh
			d.varOff = d.varOff.arshift(uint8(sh), 64)
			d.umin, d.umax = 0, math.MaxUint64
			d.markUnbounded32()
			d.updateBounds()
		}
	}
	if alu32 {
		d.zext32To64()
	}
	d.syncBounds()
}

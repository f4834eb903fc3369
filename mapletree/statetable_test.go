package mapletree

import "testing"

// TestStateHandling ports the node-tree part of check_state_handling in
// lib/test_maple_tree.c: every transition of the State between start,
// pause, none, active, overflow and underflow under next, prev, find,
// find_rev and walk, with the exact entry, range and status the kernel
// asserts. (The root-entry part is TestRootStateTable.)
func TestStateHandling(t *testing.T) {
	tr := New(0)
	ptr, ptr2, ptr3 := "ptr", "ptr2", "ptr3"
	tr.StoreRange(0x1000, 0x1500, ptr)
	tr.StoreRange(0x2000, 0x2500, ptr2)
	tr.StoreRange(0x3000, 0x3500, ptr3)
	mas := tr.NewState(0, 0)
	step := 0
	check := func(what string, e, want any, index, last uint64, st Status) {
		t.Helper()
		step++
		if e != want || mas.index != index || mas.last != last || mas.status != st {
			t.Fatalf("step %d (%s): got %v [%#x, %#x] %v, want %v [%#x, %#x] %v",
				step, what, e, mas.index, mas.last, mas.status, want, index, last, st)
		}
	}
	const top = maxIndex
	const active, overflow, underflow = StatusActive, StatusOverflow, StatusUnderflow

	mas.Set(0)
	check("next: start -> active", mas.Next(top), ptr, 0x1000, 0x1500, active)
	mas.Set(0)
	mas.Pause()
	check("next: pause -> active", mas.Next(top), ptr, 0x1000, 0x1500, active)
	mas.index, mas.last, mas.offset, mas.status = 0, 0, 0, StatusNone
	check("next: none -> active", mas.Next(top), ptr, 0x1000, 0x1500, active)
	check("next: active -> active (spanning limit)", mas.Next(0x2100), ptr2, 0x2000, 0x2500, active)
	check("next: active -> overflow (limit reached)", mas.Next(0x2999), nil, 0x2501, 0x2fff, overflow)
	check("next: overflow -> active (limit changed)", mas.Next(top), ptr3, 0x3000, 0x3500, active)
	check("next: active -> overflow", mas.Next(top), nil, 0x3501, top, overflow)
	check("next: overflow -> overflow", mas.Next(top), nil, 0x3501, top, overflow)
	check("prev: overflow -> active", mas.Prev(0), ptr3, 0x3000, 0x3500, active)

	mas.Set(0)
	mas.Next(top)
	mas.status, mas.offset = StatusNone, 0
	check("next: none -> active, skip value at location", mas.Next(top), ptr2, 0x2000, 0x2500, active)
	check("prev: active -> active", mas.Prev(0), ptr, 0x1000, 0x1500, active)
	mas.Next(top)
	check("prev: active -> active (span limit)", mas.Prev(0x1200), ptr, 0x1000, 0x1500, active)
	check("prev: active -> underflow", mas.Prev(0x1200), nil, 0x1000, 0x1500, underflow)
	check("prev: underflow -> underflow (lower limit)", mas.Prev(0x0100), nil, 0, 0x0fff, underflow)
	check("prev: underflow -> underflow", mas.Prev(0), nil, 0, 0x0fff, underflow)
	check("prev: underflow -> underflow again", mas.Prev(0), nil, 0, 0x0fff, underflow)
	check("next: underflow -> active", mas.Next(top), ptr, 0x1000, 0x1500, active)
	check("prev: first value -> underflow", mas.Prev(0x1000), nil, 0x1000, 0x1500, underflow)
	check("find: underflow -> first value", mas.Find(top), ptr, 0x1000, 0x1500, active)

	mas.Set(0x3600)
	if e := mas.Prev(0); e != ptr3 {
		t.Fatalf("prev from 0x3600 = %v", e)
	}
	mas.Pause()
	check("prev: pause -> active", mas.Prev(0), ptr2, 0x2000, 0x2500, active)
	check("prev: active -> underflow spanning min", mas.Prev(0x1600), nil, 0x1501, 0x1fff, underflow)
	check("prev: active -> active, continue", mas.Prev(0), ptr, 0x1000, 0x1500, active)

	mas.Set(0)
	check("find: start -> active", mas.Find(top), ptr, 0x1000, 0x1500, active)
	mas.Set(0)
	mas.Pause()
	check("find: pause -> active", mas.Find(top), ptr, 0x1000, 0x1500, active)
	mas.Set(1200)
	check("find: start -> active on value", mas.Find(top), ptr, 0x1000, 0x1500, active)
	check("find: active -> active", mas.Find(top), ptr2, 0x2000, 0x2500, active)
	check("find: active -> active (NULL)", mas.Find(0x2700), nil, 0x2501, 0x2fff, active)
	check("find: overflow -> active", mas.Find(0x5000), ptr3, 0x3000, 0x3500, active)
	check("find: active -> active (NULL) end", mas.Find(top), nil, 0x3501, top, active)
	check("find_rev: active (end) -> active", mas.FindRev(0), ptr3, 0x3000, 0x3500, active)
	check("find_rev: active -> active", mas.FindRev(0), ptr2, 0x2000, 0x2500, active)
	mas.Pause()
	check("find_rev: pause -> active", mas.FindRev(0), ptr, 0x1000, 0x1500, active)
	check("find_rev: active -> underflow", mas.FindRev(0), nil, 0, 0x0fff, underflow)
	mas.Set(0x1200)
	check("find_rev: start -> active", mas.FindRev(0), ptr, 0x1000, 0x1500, active)

	mas.Set(0x1200)
	check("walk: start -> active", mas.Walk(), ptr, 0x1000, 0x1500, active)
	mas.Set(0x1600)
	check("walk: start -> active (NULL)", mas.Walk(), nil, 0x1501, 0x1fff, active)
	mas.Set(0x1200)
	mas.Pause()
	check("walk: pause -> active", mas.Walk(), ptr, 0x1000, 0x1500, active)
	mas.Set(0x1600)
	mas.Pause()
	check("walk: pause -> active (NULL)", mas.Walk(), nil, 0x1501, 0x1fff, active)
	mas.Set(0x1200)
	mas.status = StatusNone
	check("walk: none -> active", mas.Walk(), ptr, 0x1000, 0x1500, active)
	mas.Set(0x1600)
	mas.status = StatusNone
	check("walk: none -> active (NULL)", mas.Walk(), nil, 0x1501, 0x1fff, active)
	mas.index, mas.last, mas.offset = 0x1200, 0x1200, 0
	check("walk: active -> active", mas.Walk(), ptr, 0x1000, 0x1500, active)
	mas.index, mas.last = 0x1600, 0x1600
	check("walk: active -> active (NULL)", mas.Walk(), nil, 0x1501, 0x1fff, active)
}

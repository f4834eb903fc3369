package mapletree_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/arenasim/arenasim/internal/errno"
	"github.com/arenasim/arenasim/mapletree"
)

// A tree maps ranges to entries; a store over part of a range splits it.
func ExampleTree_StoreRange() {
	t := mapletree.New(0)
	t.StoreRange(10, 19, "a")
	t.StoreRange(15, 16, "b")
	t.ForEach(0, 100, func(first, last uint64, e any) bool {
		fmt.Printf("[%d, %d] %v\n", first, last, e)
		return true
	})
	fmt.Println(t.Load(12), t.Load(15), t.Load(20))
	// Output:
	// [10, 14] a
	// [15, 16] b
	// [17, 19] a
	// a b <nil>
}

// Insert refuses occupied indices with EEXIST.
func ExampleTree_Insert() {
	t := mapletree.New(0)
	fmt.Println(t.InsertRange(10, 15, "first"))
	err := t.InsertRange(12, 20, "second")
	fmt.Println(errors.Is(err, errno.EEXIST), err)
	// Output:
	// <nil>
	// true File exists
}

// An allocation tree finds free ranges, lowest or highest first, as the
// BPF arena finds free page offsets.
func ExampleTree_AllocRange() {
	t := mapletree.New(mapletree.FlagAllocRange)
	t.StoreRange(0, 9, "used")
	lo, _ := t.AllocRange("low", 4, 0, 99)
	hi, _ := t.AllocRRange("high", 4, 0, 99)
	_, err := t.AllocRange("big", 90, 0, 99)
	fmt.Println(lo, hi, errors.Is(err, errno.EBUSY))
	// Output:
	// 10 96 true
}

// A State walks the tree like ma_state: Find returns each entry in turn
// and leaves [Index, Last] on its range.
func ExampleState_Find() {
	t := mapletree.New(0)
	for i := uint64(1); i <= 3; i++ {
		t.StoreRange(i*10, i*10+4, i)
	}
	mas := t.NewState(0, 0)
	for e := mas.Find(100); e != nil; e = mas.Find(100) {
		fmt.Println(mas.Index(), mas.Last(), e)
	}
	// Output:
	// 10 14 1
	// 20 24 2
	// 30 34 3
}

// Dump prints the tree in mt_dump's layout; the header line holds the
// tree's address, so this example prints only what follows it.
func ExampleTree_Dump() {
	t := mapletree.New(0)
	t.Store(0, uint64(5))
	var b strings.Builder
	t.Dump(&b, mapletree.DumpDec)
	_, rest, _ := strings.Cut(b.String(), "\n")
	fmt.Print(rest)
	// Output:
	// 0: value 5 (0x5) [0xb]
}

package mapletree

import (
	"errors"
	"testing"

	"github.com/arenasim/arenasim/internal/errno"
)

// ktree pairs a tree with the reference model so that the ported kernel
// tests check the whole contents, and mt_validate, after every change.
type ktree struct {
	t   *testing.T
	tr  *Tree
	ref *refIntervals
}

func newKtree(t *testing.T, flags Flags) *ktree {
	return &ktree{t: t, tr: New(flags), ref: &refIntervals{}}
}

// reset models mtree_destroy + mt_init_flags.
func (k *ktree) reset(flags Flags) {
	k.tr.Destroy()
	k.tr = New(flags)
	k.ref = &refIntervals{}
}

// verify runs mt_validate and compares the contents with the model.
func (k *ktree) verify(what string) {
	k.t.Helper()
	if err := k.tr.Validate(); err != nil {
		k.t.Fatalf("%s: %v\n%s", what, err, k.tr)
	}
	if d := diffContents(k.tr, k.ref); d != "" {
		k.t.Fatalf("%s: tree differs from the model:\n%s", what, d)
	}
	if k.tr.preallocMisses != 0 {
		k.t.Fatalf("%s: %d nodes taken beyond the preallocation", what, k.tr.preallocMisses)
	}
}

// wantErr compares an error with a kernel return value (0 or -errno).
func wantErr(t *testing.T, what string, err error, want int) {
	t.Helper()
	got := 0
	if err != nil {
		got = -int(errno.Of(err))
		if got == 0 {
			t.Fatalf("%s: error without errno: %v", what, err)
		}
	}
	if got != want {
		t.Fatalf("%s: returned %d (%v), want %d", what, got, err, want)
	}
}

// storeRange models check_store_range: store, compare the return, load
// every index of the range.
func (k *ktree) storeRange(first, last uint64, e any, want int) {
	k.t.Helper()
	err := k.tr.StoreRange(first, last, e)
	wantErr(k.t, "store_range", err, want)
	if err != nil {
		return
	}
	k.ref.store(first, last, e)
	if last-first < 100000 {
		for i := first; ; i++ {
			k.load(i, e)
			if i == last {
				break
			}
		}
	}
	k.verify("store_range")
}

// insertRange models check_insert_range.
func (k *ktree) insertRange(first, last uint64, e any, want int) {
	k.t.Helper()
	err := k.tr.InsertRange(first, last, e)
	wantErr(k.t, "insert_range", err, want)
	if err != nil {
		return
	}
	if refErr := k.ref.insert(first, last, e); refErr != nil {
		k.t.Fatalf("insert_range [%d,%d]: tree accepted, model says %v", first, last, refErr)
	}
	k.verify("insert_range")
}

// insert models check_insert / mtree_insert_index.
func (k *ktree) insert(i uint64, e any) { k.t.Helper(); k.insertRange(i, i, e, 0) }

// load models check_load.
func (k *ktree) load(i uint64, want any) {
	k.t.Helper()
	if got := k.tr.Load(i); got != want {
		k.t.Fatalf("load(%d) = %v, want %v", i, got, want)
	}
}

// erase models mtree_test_erase.
func (k *ktree) erase(i uint64) any {
	k.t.Helper()
	got := k.tr.Erase(i)
	if want := k.ref.erase(i); got != want {
		k.t.Fatalf("erase(%d) = %v, model %v", i, got, want)
	}
	k.verify("erase")
	return got
}

// seq models check_seq: value(i) at i for i = 0..max.
func (k *ktree) seq(max uint64) {
	k.t.Helper()
	for i := uint64(0); i <= max; i++ {
		if err := k.tr.Insert(i, i); err != nil {
			k.t.Fatalf("insert %d: %v", i, err)
		}
		k.ref.store(i, i, i)
		if i >= 1 && k.tr.Height() == 0 {
			k.t.Fatalf("height 0 after inserting %d", i)
		}
	}
	k.verify("check_seq")
}

func isErrno(err error, e errno.Errno) bool { return errors.Is(err, e) }

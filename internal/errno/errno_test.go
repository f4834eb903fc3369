package errno

import (
	"errors"
	"fmt"
	"testing"
)

func TestValuesMatchLinux(t *testing.T) {
	cases := []struct {
		e    Errno
		num  int
		name string
		msg  string
	}{
		{EPERM, 1, "EPERM", "Operation not permitted"},
		{ENOENT, 2, "ENOENT", "No such file or directory"},
		{E2BIG, 7, "E2BIG", "Argument list too long"},
		{EBADF, 9, "EBADF", "Bad file descriptor"},
		{EAGAIN, 11, "EAGAIN", "Resource temporarily unavailable"},
		{ENOMEM, 12, "ENOMEM", "Cannot allocate memory"},
		{EFAULT, 14, "EFAULT", "Bad address"},
		{EBUSY, 16, "EBUSY", "Device or resource busy"},
		{EEXIST, 17, "EEXIST", "File exists"},
		{EINVAL, 22, "EINVAL", "Invalid argument"},
		{ENOSPC, 28, "ENOSPC", "No space left on device"},
		{ERANGE, 34, "ERANGE", "Numerical result out of range"},
		{ENOTSUPP, 524, "ENOTSUPP", "Operation is not supported (kernel internal)"},
		{EOPNOTSUPP, 95, "EOPNOTSUPP", "Operation not supported"},
	}
	for _, c := range cases {
		if int(c.e) != c.num || c.e.Name() != c.name || c.e.Error() != c.msg {
			t.Errorf("%d: got (%d, %q, %q), want (%d, %q, %q)", c.num, int(c.e), c.e.Name(), c.e.Error(), c.num, c.name, c.msg)
		}
	}
	if EWOULDBLOCK != EAGAIN || EDEADLOCK != EDEADLK {
		t.Error("aliases differ from the kernel's")
	}
	if got := Errno(999).Name(); got != "E999" {
		t.Errorf("unknown name = %q", got)
	}
}

func TestWrappingAndIs(t *testing.T) {
	err := Errorf(ENOMEM, "vmalloc: map %#x", uint64(0xffffc90000000000))
	if !errors.Is(err, ENOMEM) || errors.Is(err, EINVAL) {
		t.Fatalf("errors.Is broken for %v", err)
	}
	outer := fmt.Errorf("arena: alloc: %w", err)
	if Of(outer) != ENOMEM {
		t.Fatalf("Of(%v) = %v", outer, Of(outer))
	}
	if want := "vmalloc: map 0xffffc90000000000: ENOMEM (Cannot allocate memory)"; err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err.Error(), want)
	}
	if Of(errors.New("plain")) != 0 {
		t.Fatal("plain error has an errno")
	}
}

func TestNeg(t *testing.T) {
	if EINVAL.Neg() != -22 {
		t.Fatal("Neg")
	}
	for _, c := range []struct {
		v  int64
		e  Errno
		ok bool
	}{{-22, EINVAL, true}, {0, 0, false}, {5, 0, false}, {-4095, 4095, true}, {-4096, 0, false}} {
		e, ok := FromNeg(c.v)
		if e != c.e || ok != c.ok {
			t.Errorf("FromNeg(%d) = %v,%v want %v,%v", c.v, e, ok, c.e, c.ok)
		}
	}
}

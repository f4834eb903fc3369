package errno

import (
	"errors"
	"fmt"
	"strconv"
)

// Errno is a Linux error number (a positive value; the kernel returns its
// negation). The zero value means "no error" and is never returned as an error.
type Errno uint16

// Name returns the kernel's symbolic name, e.g. "ENOMEM", or "E<n>" for a
// number the table does not know.
func (e Errno) Name() string {
	if t, ok := table[e]; ok {
		return t.name
	}
	return "E" + strconv.Itoa(int(e))
}

// String returns the symbolic name; it is what traces and test failures print.
func (e Errno) String() string { return e.Name() }

// Error returns the strerror text, e.g. "Cannot allocate memory".
func (e Errno) Error() string {
	if t, ok := table[e]; ok {
		return t.msg
	}
	return "Unknown error " + strconv.Itoa(int(e))
}

// Neg returns the value a kernel function would return: -errno.
func (e Errno) Neg() int64 { return -int64(e) }

// FromNeg converts a kernel-style negative return value into an Errno.
// It reports false for values that are not in the errno range [-4095, -1].
func FromNeg(v int64) (Errno, bool) {
	if v >= 0 || v < -MaxErrno {
		return 0, false
	}
	return Errno(-v), true
}

// MaxErrno is the largest value the kernel treats as an error pointer
// (MAX_ERRNO in include/linux/err.h).
const MaxErrno = 4095

// Errorf returns an error that prints "<format>: <strerror>" and matches e
// under errors.Is. It is the usual way a layer reports a failure with context.
func Errorf(e Errno, format string, args ...any) error {
	return &wrapped{errno: e, msg: fmt.Sprintf(format, args...)}
}

type wrapped struct {
	errno Errno
	msg   string
}

func (w *wrapped) Error() string {
	if w.msg == "" {
		return w.errno.Name() + ": " + w.errno.Error()
	}
	return w.msg + ": " + w.errno.Name() + " (" + w.errno.Error() + ")"
}

func (w *wrapped) Unwrap() error { return w.errno }

// Of returns the Errno inside err, or 0 if err carries none.
func Of(err error) Errno {
	var e Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

// Package errno gives arenasim the Linux error numbers as Go errors.
//
// Every layer of the simulator fails the way the kernel fails: with an errno.
// An Errno is a Go error, so callers wrap it with context
// (fmt.Errorf("arena: mmap: %w", errno.EINVAL)) and test it with errors.Is.
// String returns the kernel's name ("EINVAL"); Error returns the message a
// user would see from strerror ("Invalid argument").
package errno

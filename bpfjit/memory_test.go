package bpfjit

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/arenasim/arenasim/internal/errno"
)

func TestFlatMemoryErrors(t *testing.T) {
	m := &FlatMemory{}
	require.ErrorIs(t, m.Map(0x1000, nil, false), errno.EINVAL, "empty region")
	require.ErrorIs(t, m.Map(^uint64(0)-3, make([]byte, 8), false), errno.EINVAL, "wraps")
	require.NoError(t, m.Map(^uint64(0)-7, make([]byte, 8), false), "ends exactly at 2^64")
	require.NoError(t, m.Map(0x1000, make([]byte, 16), false))
	require.ErrorIs(t, m.Map(0x100f, make([]byte, 1), false), errno.EEXIST, "overlaps the end")
	require.ErrorIs(t, m.Map(0x0ff0, make([]byte, 17), false), errno.EEXIST, "overlaps the start")
	require.NoError(t, m.Map(0x1010, make([]byte, 16), true), "adjacent, read-only")
	require.ErrorIs(t, m.Unmap(0x1008), errno.ENOENT, "not a region start")

	_, err := m.Load(0x1000, 3)
	require.ErrorIs(t, err, errno.EINVAL, "3-byte load")
	require.ErrorIs(t, m.Store(0x1000, 16, 0), errno.EINVAL, "16-byte store")
	_, err = m.Load(0x0fff, 2)
	require.ErrorIs(t, err, errno.EFAULT, "starts before the region")
	require.ErrorIs(t, m.Store(0x100c, 8, 1), errno.EFAULT, "straddles into the read-only region")
	v, err := m.Load(0x100c, 8)
	require.NoError(t, err, "a load may straddle adjacent regions")
	require.Zero(t, v)
	require.NoError(t, m.Store(0x100c, 4, 0xaabbccdd))
	_, err = m.Load(0x101c, 8)
	require.ErrorIs(t, err, errno.EFAULT, "runs past the last region")

	base, b := m.Direct(0x1011, false)
	require.Equal(t, uint64(0x1010), base)
	require.Len(t, b, 16)
	_, b = m.Direct(0x1011, true)
	require.Nil(t, b, "no writable fast path into a read-only region")
	_, b = m.Direct(0x2000, false)
	require.Nil(t, b)
	require.NoError(t, m.Unmap(0x1000))
	_, err = m.Load(0x1000, 1)
	require.ErrorIs(t, err, errno.EFAULT)
}

// flatRef is the reference model of FlatMemory: one map entry per mapped
// byte, with its writability.
type flatRef struct {
	bytes    map[uint64]byte
	readOnly map[uint64]bool
	starts   map[uint64]int // region start -> length
}

// TestFlatMemoryModel drives FlatMemory and flatRef with the same random
// maps, unmaps, loads and stores (through a memPort, so the region cache is
// exercised too) and requires the same results.
func TestFlatMemoryModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := &FlatMemory{}
		port := newMemPort(m)
		ref := flatRef{bytes: map[uint64]byte{}, readOnly: map[uint64]bool{}, starts: map[uint64]int{}}
		addr := rapid.Custom(func(t *rapid.T) uint64 { return uint64(rapid.IntRange(0, 0x300).Draw(t, "addr")) })
		t.Repeat(map[string]func(*rapid.T){
			"map": func(t *rapid.T) {
				base, n, ro := addr.Draw(t, "base"), rapid.IntRange(1, 64).Draw(t, "len"), rapid.Bool().Draw(t, "ro")
				overlap := false
				for a := base; a < base+uint64(n); a++ {
					if _, ok := ref.bytes[a]; ok {
						overlap = true
					}
				}
				data := make([]byte, n)
				for i := range data {
					data[i] = byte(base) + byte(i)
				}
				err := m.Map(base, data, ro)
				if overlap {
					require.ErrorIs(t, err, errno.EEXIST)
					return
				}
				require.NoError(t, err)
				for i := range data {
					ref.bytes[base+uint64(i)], ref.readOnly[base+uint64(i)] = data[i], ro
				}
				ref.starts[base] = n
			},
			"unmap": func(t *rapid.T) {
				base := addr.Draw(t, "base")
				n, ok := ref.starts[base]
				err := m.Unmap(base)
				port.flush() // a mapping change, as after a kfunc call
				if !ok {
					require.ErrorIs(t, err, errno.ENOENT)
					return
				}
				require.NoError(t, err)
				for a := base; a < base+uint64(n); a++ {
					delete(ref.bytes, a)
					delete(ref.readOnly, a)
				}
				delete(ref.starts, base)
			},
			"load": func(t *rapid.T) {
				a, size := addr.Draw(t, "addr"), rapid.SampledFrom([]int{1, 2, 4, 8}).Draw(t, "size")
				var want [8]byte
				ok := true
				for i := 0; i < size; i++ {
					b, mapped := ref.bytes[a+uint64(i)]
					ok = ok && mapped
					want[i] = b
				}
				v, err := port.load(a, size)
				if !ok {
					require.ErrorIs(t, err, errno.EFAULT)
					return
				}
				require.NoError(t, err)
				require.Equal(t, binary.LittleEndian.Uint64(want[:]), v)
			},
			"store": func(t *rapid.T) {
				a, size, v := addr.Draw(t, "addr"), rapid.SampledFrom([]int{1, 2, 4, 8}).Draw(t, "size"), rapid.Uint64().Draw(t, "v")
				ok := true
				for i := 0; i < size; i++ {
					_, mapped := ref.bytes[a+uint64(i)]
					ok = ok && mapped && !ref.readOnly[a+uint64(i)]
				}
				err := port.store(a, size, v)
				if !ok {
					require.ErrorIs(t, err, errno.EFAULT)
					return
				}
				require.NoError(t, err)
				for i := 0; i < size; i++ {
					ref.bytes[a+uint64(i)] = byte(v >> (8 * i))
				}
			},
		})
	})
}

func TestRegionLimits(t *testing.T) {
	var g region
	g.set(100, make([]byte, 5))
	require.Equal(t, [4]uint64{5, 4, 2, 0}, g.lim, "1, 2, 4 and 8-byte accesses in 5 bytes")
	require.NotNil(t, g.at(101, 4))
	require.Nil(t, g.at(102, 4))
	require.Nil(t, g.at(99, 1))
	g.set(0, nil)
	require.Equal(t, [4]uint64{}, g.lim)
}

package index

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzOpenIndex opens random bytes as an offset index and as a time index,
// sealed or writable: opening never panics, and SanityCheck either fails
// with ErrCorruptIndex or passes and then lookups are monotone and never
// return a key above the target. A corrupt index can always be Reset.
func FuzzOpenIndex(f *testing.F) {
	valid := binary.BigEndian.AppendUint32(nil, 5)
	valid = binary.BigEndian.AppendUint32(valid, 4100)
	valid = binary.BigEndian.AppendUint32(valid, 9)
	valid = binary.BigEndian.AppendUint32(valid, 8200)
	f.Add(valid, false)
	f.Add(valid, true)
	f.Add(make([]byte, 64), true)
	f.Add([]byte{1, 2, 3}, false)
	dir := f.TempDir() // one per process: execs run one at a time, and a TempDir each costs more than the test
	f.Fuzz(func(t *testing.T, data []byte, writable bool) {
		const base = 1000
		op := filepath.Join(dir, "a.index")
		tp := filepath.Join(dir, "a.timeindex")
		require.NoError(t, os.WriteFile(op, data, 0o644))
		require.NoError(t, os.WriteFile(tp, data, 0o644))

		x, err := OpenOffsetIndex(nil, op, base, 1024, writable)
		require.NoError(t, err)
		defer x.Close()
		for target := int64(0); target < 1<<40; target = target*2 + 1 {
			off, _ := x.Lookup(target) // any contents: no panic, key <= target
			require.LessOrEqual(t, off, max(target, base))
		}
		if err := x.SanityCheck(); err != nil {
			require.ErrorIs(t, err, ErrCorruptIndex)
		} else {
			prevOff, prevPos := int64(base), int64(0)
			for target := int64(base - 1); target < base+1<<33; target = target*5/4 + 1 {
				off, pos := x.Lookup(target)
				require.LessOrEqual(t, off, max(target, base))
				require.GreaterOrEqual(t, off, prevOff)
				require.GreaterOrEqual(t, pos, prevPos)
				if off == base && pos == 0 {
					continue
				}
				require.Positive(t, pos)
				prevOff, prevPos = off, pos
			}
			if last, lastPos, ok := x.LastEntry(); ok {
				off, pos := x.Lookup(last)
				require.Equal(t, [2]int64{last, lastPos}, [2]int64{off, pos})
			}
		}
		require.NoError(t, x.Reset())
		require.NoError(t, x.SanityCheck())
		require.Zero(t, x.Entries())

		ti, err := OpenTimeIndex(nil, tp, base, 1200, writable)
		require.NoError(t, err)
		defer ti.Close()
		for target := int64(-3); target < 1<<60; target = target*2 + 4 {
			if ts, _ := ti.Lookup(target); ts != -1 {
				require.LessOrEqual(t, ts, target)
			}
		}
		if err := ti.SanityCheck(); err != nil {
			require.ErrorIs(t, err, ErrCorruptIndex)
		} else {
			prevTs, prevOff := int64(-1), int64(base)
			for target := int64(-1); target < 1<<60; target = target*3/2 + 1 {
				ts, off := ti.Lookup(target)
				if ts != -1 {
					require.LessOrEqual(t, ts, target)
				}
				require.GreaterOrEqual(t, ts, prevTs)
				require.GreaterOrEqual(t, off, prevOff)
				prevTs, prevOff = ts, off
			}
		}
		require.NoError(t, ti.Reset())
		require.NoError(t, ti.SanityCheck())
	})
}

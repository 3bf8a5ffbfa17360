package index

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func openTime(t *testing.T, path string, base int64, maxBytes int, writable bool) *TimeIndex {
	t.Helper()
	x, err := OpenTimeIndex(nil, path, base, maxBytes, writable)
	require.NoError(t, err)
	t.Cleanup(func() { _ = x.Close() })
	return x
}

func TestTimeAppendLookup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "00000000000000001000.timeindex")
	x := openTime(t, path, 1000, 1200, true)
	require.Equal(t, int64(1200), fileSizeOf(t, path))
	ts, off := x.Lookup(1 << 50)
	require.Equal(t, [2]int64{-1, 1000}, [2]int64{ts, off}, "empty: (-1, base)")
	_, _, ok := x.LastEntry()
	require.False(t, ok)

	require.NoError(t, x.MaybeAppend(1700000000000, 1093))
	require.NoError(t, x.MaybeAppend(1700000000000, 1100), "same ts: nothing")
	require.NoError(t, x.MaybeAppend(1600000000000, 1100), "older ts: nothing")
	require.NoError(t, x.MaybeAppend(1700000000500, 1093), "same offset, newer ts: allowed as Kafka")
	require.NoError(t, x.MaybeAppend(1700000001000, 1200))
	require.Equal(t, 3, x.Entries())
	require.ErrorIs(t, x.MaybeAppend(1800000000000, 1199), ErrNotIncreasing)
	require.ErrorIs(t, x.MaybeAppend(1800000000000, 999), ErrOutOfRange)

	cases := []struct {
		name    string
		target  int64
		ts, off int64
	}{
		{"before first", 1699999999999, -1, 1000},
		{"negative", -5, -1, 1000},
		{"first", 1700000000000, 1700000000000, 1093},
		{"between", 1700000000499, 1700000000000, 1093},
		{"second", 1700000000500, 1700000000500, 1093},
		{"last", 1700000001000, 1700000001000, 1200},
		{"after", 1 << 62, 1700000001000, 1200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts, off := x.Lookup(tc.target)
			require.Equal(t, [2]int64{tc.ts, tc.off}, [2]int64{ts, off})
		})
	}
	ts, off, ok = x.LastEntry()
	require.True(t, ok)
	require.Equal(t, [2]int64{1700000001000, 1200}, [2]int64{ts, off})
	require.NoError(t, x.SanityCheck())

	// Kafka's example bytes (kafka-internals 3.3), in the file once flushed.
	require.NoError(t, x.Flush())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, []byte{0, 0, 1, 0x8B, 0xCF, 0xE5, 0x68, 0, 0, 0, 0, 0x5D}, b[:12])
}

func TestTimeZeroEntrySkipped(t *testing.T) {
	x := openTime(t, filepath.Join(t.TempDir(), "a.timeindex"), 10, 1200, true)
	require.NoError(t, x.MaybeAppend(-1, 10), "no timestamp")
	require.NoError(t, x.MaybeAppend(0, 10), "would be an all-zero slot")
	require.Zero(t, x.Entries())
	require.NoError(t, x.MaybeAppend(0, 11), "ts 0 at a later offset is a real entry")
	require.Equal(t, 1, x.Entries())
	ts, off := x.Lookup(0)
	require.Equal(t, [2]int64{0, 11}, [2]int64{ts, off})
}

func TestTimeIsFullKeepsLastSlot(t *testing.T) {
	x := openTime(t, filepath.Join(t.TempDir(), "a.timeindex"), 0, 12*4+11, true) // 4 slots
	for i := int64(1); i <= 3; i++ {
		require.False(t, x.IsFull())
		require.NoError(t, x.MaybeAppend(i*10, i))
	}
	require.True(t, x.IsFull(), "full one slot early")
	require.NoError(t, x.MaybeAppend(40, 4), "the final entry fits the reserved slot")
	require.ErrorIs(t, x.MaybeAppend(50, 5), ErrIndexFull)
	require.NoError(t, x.MaybeAppend(40, 5), "no entry needed: not an error")
	require.NoError(t, x.Seal())
	require.True(t, x.IsFull())
	require.ErrorIs(t, x.MaybeAppend(60, 6), ErrReadOnly)
}

func TestTimeLookupProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 11))
	dir := t.TempDir()
	for iter := range 30 {
		base := rng.Int64N(1 << 40)
		n := rng.IntN(500)
		x := openTime(t, filepath.Join(dir, fmt.Sprintf("%d.timeindex", iter)), base, 12*(n+2), true)
		tss := sortedRandom(rng, n, rng.Int64N(1<<41), 5000)
		offs := make([]int64, n)
		o := base + 1
		for i := range n {
			o += rng.Int64N(3) // non-decreasing
			offs[i] = o
			require.NoError(t, x.MaybeAppend(tss[i], o))
		}
		require.Equal(t, n, x.Entries())
		check := func() {
			for range 300 {
				var target int64
				if n > 0 {
					target = tss[0] - 100 + rng.Int64N(tss[n-1]-tss[0]+200)
				}
				ts, off := x.Lookup(target)
				if i, ok := modelFloor(tss, target); ok {
					require.Equal(t, [2]int64{tss[i], offs[i]}, [2]int64{ts, off}, "target %d", target)
				} else {
					require.Equal(t, [2]int64{-1, base}, [2]int64{ts, off})
				}
			}
		}
		check()
		require.NoError(t, x.Seal())
		check()
		require.NoError(t, x.SanityCheck())
	}
}

func TestTimeReopenTruncateReset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.timeindex")
	x, err := OpenTimeIndex(nil, path, 100, 1200, true)
	require.NoError(t, err)
	for i := int64(1); i <= 40; i++ {
		require.NoError(t, x.MaybeAppend(1000+i*10, 100+i*2))
	}
	require.NoError(t, x.Close())

	x = openTime(t, path, 100, 1200, true)
	require.Equal(t, 40, x.Entries(), "end from contents")
	require.NoError(t, x.SanityCheck())
	require.NoError(t, x.TruncateTo(100+20*2), "drops entries with offset >= 140")
	require.Equal(t, 19, x.Entries())
	ts, off, ok := x.LastEntry()
	require.True(t, ok)
	require.Equal(t, [2]int64{1190, 138}, [2]int64{ts, off})
	require.NoError(t, x.MaybeAppend(1195, 139), "writer's last entry follows the truncation")
	require.NoError(t, x.Seal())
	require.Equal(t, int64(20*12), fileSizeOf(t, path))
	require.NoError(t, x.Close())

	y := openTime(t, path, 100, 1200, false)
	require.Equal(t, 20, y.Entries())
	require.NoError(t, y.SanityCheck())
	require.NoError(t, y.TruncateTo(110))
	require.Equal(t, 4, y.Entries())
	require.Equal(t, int64(48), fileSizeOf(t, path))
	require.NoError(t, y.Reset())
	require.Zero(t, y.Entries())
	require.Equal(t, int64(1200), fileSizeOf(t, path))
	ts, off = y.Lookup(5000)
	require.Equal(t, [2]int64{-1, 100}, [2]int64{ts, off})
	require.NoError(t, y.MaybeAppend(7, 101))
	require.Equal(t, 1, y.Entries())
}

func TestTimeCorruptFiles(t *testing.T) {
	cases := []struct {
		name    string
		data    []byte
		corrupt bool
	}{
		{"partial", make([]byte, 13), true},
		{"ts goes back", []byte{0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 2}, true},
		{"offset goes back", []byte{0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 2}, true},
		{"negative ts", []byte{0xff, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 3}, true},
		{"valid", []byte{0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 3}, false},
		{"zeros", make([]byte, 120), false},
	}
	for _, tc := range cases {
		for _, writable := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/writable=%v", tc.name, writable), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "a.timeindex")
				require.NoError(t, os.WriteFile(path, tc.data, 0o644))
				x := openTime(t, path, 0, 1200, writable)
				if tc.corrupt {
					require.ErrorIs(t, x.SanityCheck(), ErrCorruptIndex)
				} else {
					require.NoError(t, x.SanityCheck())
				}
			})
		}
	}
}

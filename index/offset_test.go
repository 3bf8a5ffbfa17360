package index

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/internal/fs/errorfs"
)

var seedFlag = flag.Uint64("seed", 0, "seed for the randomized tests (0: time-based, printed)")

func testSeed(t testing.TB) uint64 {
	s := *seedFlag
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -seed=%d)", s, s)
	return s
}

func openOffset(t *testing.T, path string, base int64, maxBytes int, writable bool) *OffsetIndex {
	t.Helper()
	x, err := OpenOffsetIndex(nil, path, base, maxBytes, writable)
	require.NoError(t, err)
	t.Cleanup(func() { _ = x.Close() })
	return x
}

func fileSizeOf(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Size()
}

func TestOffsetAppendLookup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "00000000000000001000.index")
	x := openOffset(t, path, 1000, 1024, true)
	require.Equal(t, int64(1000), x.BaseOffset())
	require.Equal(t, int64(1024), fileSizeOf(t, path), "preallocated")

	off, pos := x.Lookup(1500)
	require.Equal(t, [2]int64{1000, 0}, [2]int64{off, pos}, "empty index: implicit first entry")
	_, _, ok := x.LastEntry()
	require.False(t, ok)

	require.NoError(t, x.Append(1010, 4200))
	require.NoError(t, x.Append(1093, 8264))
	require.NoError(t, x.Append(1200, 12000))
	require.Equal(t, 3, x.Entries())

	cases := []struct {
		name     string
		target   int64
		off, pos int64
	}{
		{"before base", 999, 1000, 0},
		{"base", 1000, 1000, 0},
		{"before first entry", 1009, 1000, 0},
		{"first entry", 1010, 1010, 4200},
		{"between", 1092, 1010, 4200},
		{"exact", 1093, 1093, 8264},
		{"last", 1200, 1200, 12000},
		{"past last", 5000, 1200, 12000},
		{"past u32", math.MaxInt64, 1200, 12000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			off, pos := x.Lookup(tc.target)
			require.Equal(t, tc.off, off)
			require.Equal(t, tc.pos, pos)
		})
	}
	off, pos, ok = x.LastEntry()
	require.True(t, ok)
	require.Equal(t, [2]int64{1200, 12000}, [2]int64{off, pos})
	require.NoError(t, x.SanityCheck())

	// Kafka's example bytes (kafka-internals 3.2).
	require.NoError(t, x.Sync())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, []byte{0, 0, 0, 0x5D, 0, 0, 0x20, 0x48}, b[8:16])
}

func TestOffsetAppendErrors(t *testing.T) {
	x := openOffset(t, filepath.Join(t.TempDir(), "a.index"), 100, 64, true)
	cases := []struct {
		name   string
		off    int64
		pos    int64
		target error
	}{
		{"position 0 is the implicit entry", 100, 0, ErrNotIncreasing},
		{"below base", 99, 10, ErrOutOfRange},
		{"relative offset overflow", 100 + math.MaxUint32 + 1, 10, ErrOutOfRange},
		{"negative position", 101, -1, ErrOutOfRange},
		{"position overflow", 101, math.MaxUint32 + 1, ErrOutOfRange},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, x.Append(tc.off, tc.pos), tc.target)
		})
	}
	require.NoError(t, x.Append(100, 10)) // key == base is fine
	require.ErrorIs(t, x.Append(100, 20), ErrNotIncreasing, "same offset")
	require.ErrorIs(t, x.Append(101, 10), ErrNotIncreasing, "same position")
	require.ErrorIs(t, x.Append(99+2, 5), ErrNotIncreasing, "position back")
	require.NoError(t, x.Append(100+math.MaxUint32, math.MaxUint32))
	require.Equal(t, 2, x.Entries())
}

func TestOffsetIsFull(t *testing.T) {
	x := openOffset(t, filepath.Join(t.TempDir(), "a.index"), 0, 8*3+5, true) // rounds down to 3 entries
	for i := int64(1); i <= 3; i++ {
		require.False(t, x.IsFull())
		require.NoError(t, x.Append(i, i*100))
	}
	require.True(t, x.IsFull())
	require.ErrorIs(t, x.Append(4, 400), ErrIndexFull)
	require.Equal(t, 3, x.Entries())
}

func TestOpenBadArgs(t *testing.T) {
	dir := t.TempDir()
	_, err := OpenOffsetIndex(nil, filepath.Join(dir, "a.index"), 0, 7, true)
	require.Error(t, err)
	_, err = OpenTimeIndex(nil, filepath.Join(dir, "a.timeindex"), -1, 1200, true)
	require.Error(t, err)
	_, err = OpenOffsetIndex(nil, filepath.Join(dir, "missing.index"), 0, 80, false)
	require.ErrorIs(t, err, os.ErrNotExist)
}

// modelFloor is the linear reference: the index of the greatest key <=
// target, ok false (and -1) when there is none.
func modelFloor(keys []int64, target int64) (int, bool) {
	best := -1
	for i, k := range keys {
		if k <= target {
			best = i
		}
	}
	return best, best >= 0
}

func TestOffsetLookupProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 7))
	dir := t.TempDir()
	for iter := range 30 {
		base := rng.Int64N(1 << 40)
		n := rng.IntN(600)
		x := openOffset(t, filepath.Join(dir, fmt.Sprintf("%d.index", iter)), base, 8*(n+1), true)
		var keys, poss []int64
		k, p := base+rng.Int64N(3), int64(0)
		for range n {
			k += 1 + rng.Int64N(50)
			p += 1 + rng.Int64N(10000)
			require.NoError(t, x.Append(k, p))
			keys, poss = append(keys, k), append(poss, p)
		}
		check := func(x *OffsetIndex) {
			for range 500 {
				target := base - 5 + rng.Int64N(k-base+60)
				off, pos := x.Lookup(target)
				if i, ok := modelFloor(keys, target); ok {
					require.Equal(t, keys[i], off, "target %d", target)
					require.Equal(t, poss[i], pos)
				} else {
					require.Equal(t, base, off)
					require.Zero(t, pos)
				}
			}
			// Every key exactly, and just below.
			for i := range keys {
				off, pos := x.Lookup(keys[i])
				require.Equal(t, [2]int64{keys[i], poss[i]}, [2]int64{off, pos})
			}
		}
		check(x)
		require.NoError(t, x.Seal())
		check(x)
	}
}

func TestOffsetReopenActive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.index")
	x, err := OpenOffsetIndex(nil, path, 50, 800, true)
	require.NoError(t, err)
	for i := int64(1); i <= 37; i++ {
		require.NoError(t, x.Append(50+i*3, i*4096))
	}
	require.NoError(t, x.Close())
	require.NoError(t, x.Close(), "idempotent")
	require.Equal(t, int64(800), fileSizeOf(t, path), "Close does not trim")

	x = openOffset(t, path, 50, 800, true)
	require.Equal(t, 37, x.Entries(), "end found from contents, not size")
	require.NoError(t, x.SanityCheck())
	off, pos, ok := x.LastEntry()
	require.True(t, ok)
	require.Equal(t, [2]int64{50 + 37*3, 37 * 4096}, [2]int64{off, pos})
	require.ErrorIs(t, x.Append(50+37*3, 38*4096), ErrNotIncreasing, "last entry restored for the writer")
	require.NoError(t, x.Append(50+38*3, 38*4096))

	// The same file opened sealed without a trim: its zero tail is found.
	// The new entry is still in x's memory (what a crash would lose)...
	y := openOffset(t, path, 50, 800, false)
	require.Equal(t, 37, y.Entries())
	require.NoError(t, y.SanityCheck())
	require.NoError(t, y.Close())
	// ...and in the file once flushed.
	require.NoError(t, x.Flush())
	y = openOffset(t, path, 50, 800, false)
	require.Equal(t, 38, y.Entries())
	require.NoError(t, y.SanityCheck())
	require.True(t, y.IsFull())
}

func TestOffsetReopenResized(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.index")
	x, err := OpenOffsetIndex(nil, path, 0, 800, true)
	require.NoError(t, err)
	for i := int64(1); i <= 20; i++ {
		require.NoError(t, x.Append(i, i*10))
	}
	require.NoError(t, x.Close())

	// Smaller maximum: entries kept, empty slots dropped.
	x = openOffset(t, path, 0, 80, true)
	require.Equal(t, 20, x.Entries())
	require.True(t, x.IsFull())
	require.Equal(t, int64(160), fileSizeOf(t, path))
	require.NoError(t, x.Close())
	x = openOffset(t, path, 0, 400, true)
	require.Equal(t, 20, x.Entries())
	require.False(t, x.IsFull())
	require.Equal(t, int64(400), fileSizeOf(t, path))
}

func TestOffsetSealReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.index")
	x, err := OpenOffsetIndex(nil, path, 0, 1<<20, true)
	require.NoError(t, err)
	for i := int64(1); i <= 1000; i++ {
		require.NoError(t, x.Append(i*2, i*5000))
	}
	require.NoError(t, x.Seal())
	require.NoError(t, x.Seal(), "idempotent")
	require.NoError(t, x.Sync())
	require.Equal(t, int64(8000), fileSizeOf(t, path), "trimmed")
	require.True(t, x.IsFull())
	require.ErrorIs(t, x.Append(3000, 1<<30), ErrReadOnly)
	off, pos := x.Lookup(1001)
	require.Equal(t, [2]int64{1000, 500 * 5000}, [2]int64{off, pos})
	require.NoError(t, x.Close())

	y := openOffset(t, path, 0, 1<<20, false)
	require.Equal(t, 1000, y.Entries())
	require.NoError(t, y.SanityCheck())
	off, pos = y.Lookup(1001)
	require.Equal(t, [2]int64{1000, 500 * 5000}, [2]int64{off, pos})
	require.NoError(t, y.Sync(), "nothing to flush")
	require.ErrorIs(t, y.Append(3000, 1<<30), ErrReadOnly)
	require.NoError(t, y.Close())
	require.ErrorIs(t, y.Sync(), ErrClosed)
	require.ErrorIs(t, y.Append(3000, 1<<30), ErrClosed)
	off, pos = y.Lookup(1001)
	require.Equal(t, [2]int64{0, 0}, [2]int64{off, pos}, "closed: no entries")

	// Empty sealed index.
	empty := filepath.Join(t.TempDir(), "b.index")
	e, err := OpenOffsetIndex(nil, empty, 7, 800, true)
	require.NoError(t, err)
	require.NoError(t, e.Seal())
	require.NoError(t, e.Close())
	require.Zero(t, fileSizeOf(t, empty))
	e = openOffset(t, empty, 7, 800, false)
	require.Zero(t, e.Entries())
	require.NoError(t, e.SanityCheck())
	off, pos = e.Lookup(100)
	require.Equal(t, [2]int64{7, 0}, [2]int64{off, pos})
}

func TestOffsetTruncate(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		t.Run(map[bool]string{false: "active", true: "sealed"}[sealed], func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "a.index")
			x := openOffset(t, path, 100, 800, true)
			for i := int64(1); i <= 50; i++ {
				require.NoError(t, x.Append(100+i*10, i*1000))
			}
			if sealed {
				require.NoError(t, x.Seal())
			}
			require.NoError(t, x.TruncateTo(100+50*10+1), "past the end: no-op")
			require.Equal(t, 50, x.Entries())
			require.NoError(t, x.TruncateTo(100+30*10), "drops key >= 400")
			require.Equal(t, 29, x.Entries())
			off, pos := x.Lookup(100 + 40*10)
			require.Equal(t, [2]int64{100 + 29*10, 29000}, [2]int64{off, pos})
			require.NoError(t, x.TruncateTo(100+20*10-5), "between entries")
			require.Equal(t, 19, x.Entries())
			if sealed {
				require.Equal(t, int64(19*8), fileSizeOf(t, path))
				require.ErrorIs(t, x.Append(100+20*10, 20000), ErrReadOnly)
			} else {
				require.Equal(t, int64(800), fileSizeOf(t, path))
				require.NoError(t, x.Append(100+19*10+1, 19500), "append after truncate continues from the new end")
			}
			require.NoError(t, x.SanityCheck())
			want := x.Entries()
			require.NoError(t, x.Close())

			y := openOffset(t, path, 100, 800, !sealed)
			require.Equal(t, want, y.Entries(), "dropped slots were zeroed / cut")
			require.NoError(t, y.SanityCheck())
			require.NoError(t, y.TruncateTo(50), "below base: drops all")
			require.Zero(t, y.Entries())
			off, pos = y.Lookup(1000)
			require.Equal(t, [2]int64{100, 0}, [2]int64{off, pos})
		})
	}
}

func TestOffsetReset(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		t.Run(map[bool]string{false: "active", true: "sealed"}[sealed], func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "a.index")
			// Garbage past the end too: Reset must clear it.
			junk := make([]byte, 800)
			for i := range junk {
				junk[i] = byte(i*7 + 1)
			}
			require.NoError(t, os.WriteFile(path, junk, 0o644))
			x := openOffset(t, path, 0, 800, !sealed)
			require.ErrorIs(t, x.SanityCheck(), ErrCorruptIndex)
			require.NoError(t, x.Reset())
			require.Zero(t, x.Entries())
			require.False(t, x.IsFull())
			require.Equal(t, int64(800), fileSizeOf(t, path))
			require.NoError(t, x.SanityCheck())
			for i := int64(1); i <= 10; i++ {
				require.NoError(t, x.Append(i, i*10))
			}
			require.NoError(t, x.Seal())
			require.NoError(t, x.Close())
			y := openOffset(t, path, 0, 800, false)
			require.Equal(t, 10, y.Entries())
			require.NoError(t, y.SanityCheck())
		})
	}
}

func TestOffsetCorruptFiles(t *testing.T) {
	entry := func(rel, pos uint32) []byte {
		b := binary.BigEndian.AppendUint32(nil, rel)
		return binary.BigEndian.AppendUint32(b, pos)
	}
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	cases := []struct {
		name    string
		data    []byte
		corrupt bool
		// activeEntries >= 0: opened writable, the binary search for the
		// first zero slot stops at this end and the prefix is sane.
		activeEntries int
	}{
		{"empty", nil, false, -1},
		{"all zero", make([]byte, 800), false, -1}, // no entries: nothing wrong
		{"valid", cat(entry(1, 10), entry(2, 20)), false, -1},
		{"partial entry", cat(entry(1, 10), []byte{1, 2, 3}), true, -1},
		{"zero entry inside", cat(entry(1, 10), entry(0, 0), entry(3, 30)), true, 1},
		{"offset goes back", cat(entry(5, 10), entry(4, 20)), true, -1},
		{"offset repeats", cat(entry(5, 10), entry(5, 20)), true, -1},
		{"position goes back", cat(entry(1, 30), entry(2, 20)), true, -1},
		{"first position 0", cat(entry(1, 0), entry(2, 20)), true, -1},
		{"garbage", []byte("this is not an index, not at all!!!!!!!!"), true, -1},
	}
	for _, tc := range cases {
		for _, writable := range []bool{false, true} {
			t.Run(tc.name+map[bool]string{false: "/sealed", true: "/active"}[writable], func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "a.index")
				require.NoError(t, os.WriteFile(path, tc.data, 0o644))
				x := openOffset(t, path, 0, 800, writable)
				err := x.SanityCheck()
				if writable && tc.activeEntries >= 0 {
					require.NoError(t, err)
					require.Equal(t, tc.activeEntries, x.Entries())
				} else if tc.corrupt {
					require.ErrorIs(t, err, ErrCorruptIndex)
				} else {
					require.NoError(t, err)
				}
				// Never panics, never returns a key above the target.
				for target := int64(1); target < 1<<40; target = target*3 + 2 {
					off, _ := x.Lookup(target)
					require.LessOrEqual(t, off, target)
				}
				off, pos := x.Lookup(-1)
				require.Equal(t, [2]int64{0, 0}, [2]int64{off, pos})
				x.LastEntry()
			})
		}
	}
}

func TestNoSpace(t *testing.T) {
	dir := t.TempDir()
	efs := errorfs.New(nil)
	// Nothing is reserved: the capacity is sparse, a full disk shows at
	// the writes.
	efs.SetInjector(errorfs.FailAlways(errorfs.OpAllocate, fs.ErrNoSpace))
	x, err := OpenOffsetIndex(efs, filepath.Join(dir, "a.index"), 0, 800, true)
	require.NoError(t, err)
	defer x.Close()
	ti, err := OpenTimeIndex(efs, filepath.Join(dir, "a.timeindex"), 0, 1200, true)
	require.NoError(t, err)
	defer ti.Close()
	require.NoError(t, x.Append(1, 10))

	efs.SetInjector(errorfs.FailAlways(errorfs.OpWrite, fs.ErrNoSpace))
	// Appends only fill the in-memory tail: the failure shows at the write.
	require.NoError(t, x.Append(2, 20))
	require.NoError(t, ti.MaybeAppend(5, 2))
	require.ErrorIs(t, x.Flush(), fs.ErrNoSpace)
	require.ErrorIs(t, x.Sync(), fs.ErrNoSpace)
	require.ErrorIs(t, ti.Sync(), fs.ErrNoSpace)
	require.ErrorIs(t, x.Seal(), fs.ErrNoSpace)
	require.Equal(t, 2, x.Entries(), "still published, still pending")
	require.NoError(t, x.Append(3, 30), "still writable")
	require.NoError(t, x.TruncateTo(3))
	require.Equal(t, 2, x.Entries())
	require.NoError(t, ti.TruncateTo(2))
	require.Zero(t, ti.Entries())
	efs.SetInjector(nil)
	require.NoError(t, x.Flush(), "the write is retried")
	efs.SetInjector(errorfs.FailAlways(errorfs.OpWrite, fs.ErrNoSpace))
	require.ErrorIs(t, x.TruncateTo(2), fs.ErrNoSpace, "zeroing the dropped entry in the file")
	require.ErrorIs(t, x.Append(2, 20), fs.ErrNoSpace, "unusable until a Reset succeeds")

	efs.SetInjector(errorfs.FailAlways(errorfs.OpTruncate, fs.ErrNoSpace))
	err = x.Reset()
	require.ErrorIs(t, err, fs.ErrNoSpace)
	require.Error(t, x.Append(3, 30), "unusable until a Reset succeeds")
	efs.SetInjector(nil)
	require.NoError(t, x.Reset())
	require.NoError(t, x.Append(3, 30))
	require.NoError(t, ti.MaybeAppend(5, 2))
	require.True(t, errors.Is(x.Append(2, 40), ErrNotIncreasing))
}

// sortedRandom returns n strictly increasing values starting above lo.
func sortedRandom(rng *rand.Rand, n int, lo int64, step int64) []int64 {
	out := make([]int64, n)
	v := lo
	for i := range out {
		v += 1 + rng.Int64N(step)
		out[i] = v
	}
	return out
}

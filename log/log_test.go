package log

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/record"
)

func smallConfig() *Config {
	// Fsyncs are skipped: these tests are about logic, not durability
	// (those that are use a counting or failing FS of their own).
	return &Config{SegmentBytes: 2048, IndexIntervalBytes: 256, SegmentIndexBytes: 4096, FS: noSyncFS{fs.Default}}
}

func TestAppendReadAcrossRolls(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, smallConfig())
	require.Equal(t, int64(0), l.StartOffset())
	require.Equal(t, int64(0), l.EndOffset())
	appendN(t, l, 300, 5, 40, 1000)
	require.Greater(t, l.Segments(), 10)
	require.Equal(t, l.EndOffset(), readAll(t, l, 0))
	// Every segment but the active one is at most SegmentBytes.
	for _, s := range (*l.segs.Load())[:l.Segments()-1] {
		require.LessOrEqual(t, s.Size(), int64(2048))
	}
	// Reads from every offset start with the batch holding it.
	for off := int64(0); off < l.EndOffset(); off += 7 {
		v, err := l.Read(off, 1, -1)
		require.NoError(t, err)
		offs, _ := decodeAll(t, v.Data)
		v.Release()
		require.Contains(t, offs, off)
	}
	require.Equal(t, uint64(l.Segments()-1), l.Stats().Rolls)

	// Everything is still there after a clean reopen.
	end := l.EndOffset()
	require.NoError(t, l.Close())
	l2 := openLog(t, dir, smallConfig())
	require.Equal(t, end, l2.EndOffset())
	require.Equal(t, end, readAll(t, l2, 0))
	appendN(t, l2, 10, 3, 40, 5000)
	require.Equal(t, l2.EndOffset(), readAll(t, l2, 0))
}

func TestReadLimits(t *testing.T) {
	l := openLog(t, t.TempDir(), nil)
	appendN(t, l, 10, 1, 100, 0) // offsets 0..9, one per batch
	end := l.EndOffset()
	require.Equal(t, int64(10), end)

	t.Run("offset=end is empty", func(t *testing.T) {
		v, err := l.Read(end, 1<<20, -1)
		require.NoError(t, err)
		require.Zero(t, v.Len())
	})
	t.Run("past end", func(t *testing.T) {
		_, err := l.Read(end+1, 1<<20, -1)
		require.ErrorIs(t, err, ErrOffsetOutOfRange)
	})
	t.Run("negative", func(t *testing.T) {
		_, err := l.Read(-1, 1<<20, -1)
		require.ErrorIs(t, err, ErrOffsetOutOfRange)
	})
	t.Run("min one batch", func(t *testing.T) {
		v, err := l.Read(3, 1, -1)
		require.NoError(t, err)
		offs, _ := decodeAll(t, v.Data)
		v.Release()
		require.Equal(t, []int64{3}, offs)
	})
	t.Run("max offset", func(t *testing.T) {
		v, err := l.Read(2, 1<<20, 5)
		require.NoError(t, err)
		offs, _ := decodeAll(t, v.Data)
		v.Release()
		require.Equal(t, []int64{2, 3, 4}, offs)
		v, err = l.Read(5, 1<<20, 5)
		require.NoError(t, err)
		require.Zero(t, v.Len())
	})
	t.Run("byte budget", func(t *testing.T) {
		v, err := l.Read(0, 1<<20, -1)
		require.NoError(t, err)
		one := v.Len() / 10
		v.Release()
		v, err = l.Read(0, 3*one+one/2, -1)
		require.NoError(t, err)
		offs, _ := decodeAll(t, v.Data)
		v.Release()
		require.Equal(t, []int64{0, 1, 2}, offs)
	})
	t.Run("below start", func(t *testing.T) {
		n, err := l.DeleteRecordsBefore(4)
		require.NoError(t, err)
		require.Zero(t, n) // one segment: nothing deleted, only hidden
		require.Equal(t, int64(4), l.StartOffset())
		_, err = l.Read(3, 1<<20, -1)
		require.ErrorIs(t, err, ErrOffsetOutOfRange)
		v, err := l.Read(4, 1, -1)
		require.NoError(t, err)
		v.Release()
		_, err = l.DeleteRecordsBefore(end + 1)
		require.ErrorIs(t, err, ErrOffsetOutOfRange)
	})
}

func TestAppendInvalidBatch(t *testing.T) {
	l := openLog(t, t.TempDir(), nil)
	b := makeBatch(t, 0, 3, 10, 0)
	cases := map[string][]byte{
		"empty":          nil,
		"short":          b[:40],
		"truncated":      b[:len(b)-1],
		"trailing bytes": append(append([]byte(nil), b...), 0),
		"bad crc":        func() []byte { c := append([]byte(nil), b...); c[len(c)-1] ^= 1; return c }(),
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := l.Append(bad)
			require.ErrorIs(t, err, ErrInvalidBatch)
			require.Equal(t, int64(0), l.EndOffset())
		})
	}
	_, _, err := l.Append(b)
	require.NoError(t, err)
}

// TestAppendChecked: the trusted append takes the caller's header, refuses
// a header that disagrees with the bytes' size, and writes what reads back
// exactly as Append's batches do.
func TestAppendChecked(t *testing.T) {
	l := openLog(t, t.TempDir(), nil)
	b := makeBatch(t, 0, 3, 10, 0)
	h, err := record.CheckBatch(b)
	require.NoError(t, err)
	_, _, err = l.AppendChecked(b[:len(b)-1], h)
	require.ErrorIs(t, err, ErrInvalidBatch)
	_, _, err = l.AppendChecked(append(append([]byte(nil), b...), 0), h)
	require.ErrorIs(t, err, ErrInvalidBatch)
	bad := h
	bad.LastOffsetDelta = -1
	_, _, err = l.AppendChecked(b, bad)
	require.ErrorIs(t, err, ErrInvalidBatch)
	require.Equal(t, int64(0), l.EndOffset())

	base, last, err := l.AppendChecked(b, h)
	require.NoError(t, err)
	require.Equal(t, [2]int64{0, 2}, [2]int64{base, last})
	b2 := makeBatch(t, 3, 2, 10, 0)
	h2, err := record.CheckBatch(b2)
	require.NoError(t, err)
	base, last, err = l.AppendChecked(b2, h2)
	require.NoError(t, err)
	require.Equal(t, [2]int64{3, 4}, [2]int64{base, last})
	require.NoError(t, l.Sync())
	require.Equal(t, int64(5), readAll(t, l, 0))
}

func TestAppendPatchesBaseOffsetAndKeepsCRC(t *testing.T) {
	l := openLog(t, t.TempDir(), nil)
	appendN(t, l, 3, 1, 10, 0)
	b := makeBatch(t, 3, 4, 10, 0)
	crc := record.ComputeCRC(b)
	base, last, err := l.Append(b)
	require.NoError(t, err)
	require.Equal(t, int64(3), base)
	require.Equal(t, int64(6), last)
	h, err := record.CheckBatch(b)
	require.NoError(t, err)
	require.Equal(t, int64(3), h.BaseOffset)
	require.Equal(t, crc, h.CRC)
}

func TestAppendZeroAlloc(t *testing.T) {
	l := openLog(t, t.TempDir(), &Config{IndexIntervalBytes: 1 << 20})
	b := makeBatch(t, 0, 10, 100, 0)
	_, _, err := l.Append(b) // warm up: first mapping, preallocation
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, _, err := l.Append(b); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
	allocs = testing.AllocsPerRun(1000, func() {
		v, err := l.Read(500, 1<<16, -1)
		if err != nil {
			t.Fatal(err)
		}
		v.Release()
	})
	require.Zero(t, allocs)
}

func TestOffsetForTimestamp(t *testing.T) {
	l := openLog(t, t.TempDir(), smallConfig())
	// Record at offset o has timestamp 10_000 + 10*o.
	for i := range 200 {
		b := makeBatch(t, int64(i), 1, 40, int64(10_000+10*i))
		_, _, err := l.Append(b)
		require.NoError(t, err)
	}
	require.Greater(t, l.Segments(), 3)
	cases := []struct {
		name string
		ts   int64
		want int64
	}{
		{"earliest", Earliest, 0},
		{"latest", Latest, 200},
		{"before all", 0, 0},
		{"exact first", 10_000, 0},
		{"exact", 10_000 + 10*57, 57},
		{"between", 10_000 + 10*57 + 3, 58},
		{"exact last", 10_000 + 10*199, 199},
		{"after all", 10_000 + 10*199 + 1, NoOffset},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := l.OffsetForTimestamp(c.ts)
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
	// Every offset, across segments.
	for i := int64(0); i < 200; i++ {
		got, err := l.OffsetForTimestamp(10_000 + 10*i - 5)
		require.NoError(t, err)
		require.Equal(t, i, got)
	}
	_, err := l.OffsetForTimestamp(-3)
	require.Error(t, err)

	// Earliest follows the start offset.
	_, err = l.DeleteRecordsBefore(100)
	require.NoError(t, err)
	got, err := l.OffsetForTimestamp(Earliest)
	require.NoError(t, err)
	require.Equal(t, int64(100), got)
	got, err = l.OffsetForTimestamp(0)
	require.NoError(t, err)
	require.Equal(t, int64(100), got)
}

func TestRollBySegmentBytes(t *testing.T) {
	l := openLog(t, t.TempDir(), &Config{SegmentBytes: 1000})
	b := makeBatch(t, 0, 1, 200, 0)
	size := int64(len(b))
	perSeg := 1000 / size
	for range 3 * perSeg {
		_, _, err := l.Append(makeBatch(t, 0, 1, 200, 0))
		require.NoError(t, err)
	}
	segs := *l.segs.Load()
	require.Len(t, segs, 3)
	for _, s := range segs {
		require.Equal(t, perSeg*size, s.Size())
	}
	// A batch larger than SegmentBytes goes alone into its own segment.
	big := makeBatch(t, 0, 1, 3000, 0)
	_, _, err := l.Append(big)
	require.NoError(t, err)
	require.Equal(t, 4, l.Segments())
	require.Equal(t, int64(len(big)), l.active.Size())
	_, _, err = l.Append(b)
	require.NoError(t, err)
	require.Equal(t, 5, l.Segments())
	require.Equal(t, l.EndOffset(), readAllLoose(t, l))
}

// readAllLoose reads everything and checks only offset contiguity.
func readAllLoose(t testing.TB, l *Log) int64 {
	t.Helper()
	next := l.StartOffset()
	for next < l.EndOffset() {
		v, err := l.Read(next, 1<<20, -1)
		require.NoError(t, err)
		offs, _ := decodeAll(t, v.Data)
		v.Release()
		for _, o := range offs {
			if o >= next {
				require.Equal(t, next, o)
				next++
			}
		}
	}
	return next
}

func TestRollBySegmentMs(t *testing.T) {
	t.Run("timestamps", func(t *testing.T) {
		l := openLog(t, t.TempDir(), &Config{SegmentMs: 1000 * 1e6}) // 1s
		ts := int64(1_000_000)
		for _, d := range []int64{0, 500, 1000, 1001, 1500, 2001} {
			_, _, err := l.Append(makeBatch(t, 0, 1, 10, ts+d))
			require.NoError(t, err)
		}
		// A segment takes batches up to SegmentMs (not more) after its
		// first one's timestamp.
		bases := segBases(l)
		require.Equal(t, []int64{0, 3}, bases)
		_, _, err := l.Append(makeBatch(t, 0, 1, 10, ts+2002))
		require.NoError(t, err)
		require.Equal(t, []int64{0, 3, 6}, segBases(l))
	})
	t.Run("wall clock without timestamps", func(t *testing.T) {
		clk := newClock()
		l := openLog(t, t.TempDir(), &Config{SegmentMs: 1e9, Now: clk.Now})
		require.NoError(t, l.Roll()) // empty: no-op
		require.Equal(t, 1, l.Segments())
		// The first segment was created by Open: its creation time is
		// the file's, so roll once to get one created by the clock.
		_, _, err := l.Append(noTimestamps(makeBatch(t, 0, 1, 10, 0)))
		require.NoError(t, err)
		require.NoError(t, l.Roll())
		for range 3 {
			_, _, err := l.Append(noTimestamps(makeBatch(t, 0, 1, 10, 0)))
			require.NoError(t, err)
			clk.Advance(400e6)
		}
		require.Equal(t, []int64{0, 1}, segBases(l))
		_, _, err = l.Append(noTimestamps(makeBatch(t, 0, 1, 10, 0)))
		require.NoError(t, err)
		require.Equal(t, []int64{0, 1, 4}, segBases(l))
	})
}

func segBases(l *Log) []int64 {
	var out []int64
	for _, s := range *l.segs.Load() {
		out = append(out, s.BaseOffset())
	}
	return out
}

func TestRollByFullIndex(t *testing.T) {
	// 48-byte indexes: 6 offset entries, 4 time-index slots (the last
	// reserved); an entry after every batch.
	l := openLog(t, t.TempDir(), &Config{SegmentIndexBytes: 48, IndexIntervalBytes: 1})
	appendN(t, l, 100, 2, 20, 0)
	require.Greater(t, l.Segments(), 10)
	require.Equal(t, l.EndOffset(), readAll(t, l, 0))
	for _, s := range *l.segs.Load() {
		require.Less(t, s.NextOffset()-s.BaseOffset(), int64(20))
	}
}

func TestClosed(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, nil)
	require.NoError(t, err)
	appendN(t, l, 3, 1, 10, 0)
	v, err := l.Read(0, 1<<20, -1)
	require.NoError(t, err)
	require.NoError(t, l.Close())
	require.NoError(t, l.Close())
	// A View taken before Close stays valid.
	offs, _ := decodeAll(t, v.Data)
	require.Equal(t, []int64{0, 1, 2}, offs)
	v.Release()
	_, _, err = l.Append(makeBatch(t, 0, 1, 1, 0))
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, l.Sync(), ErrClosed)
	require.ErrorIs(t, l.MaybeFlush(), ErrClosed)
	require.ErrorIs(t, l.Roll(), ErrClosed)
	_, err = l.Read(0, 1, -1)
	require.ErrorIs(t, err, ErrClosed)
	_, err = l.OffsetForTimestamp(0)
	require.ErrorIs(t, err, ErrClosed)
	_, err = l.ApplyRetention()
	require.ErrorIs(t, err, ErrClosed)
	require.True(t, l.Checkpoint().Clean)
}

func TestDelete(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "topic-0")
	l, err := Open(dir, smallConfig())
	require.NoError(t, err)
	appendN(t, l, 50, 3, 40, 0)
	require.NoError(t, l.Delete())
	_, err = os.Stat(dir)
	require.True(t, errors.Is(err, os.ErrNotExist))
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	require.Empty(t, entries)
}

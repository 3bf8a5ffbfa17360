package log

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestZeroAhead runs a log with zero-ahead through rolls, a crash and a
// clean stop: only the active segment's file runs past its data; a crash
// copy recovers with the zeros cut as a torn tail (no synced or written
// record lost); a clean Close leaves files that end at their data, and the
// reopen scans nothing.
func TestZeroAhead(t *testing.T) {
	const block = 4096
	cfg := &Config{SegmentBytes: 64 << 10, IndexIntervalBytes: 1024, ZeroAheadBytes: block}
	dir := t.TempDir()
	l := openLog(t, dir, cfg)
	appendN(t, l, 2000, 3, 40, 0)
	require.NoError(t, l.Sync())
	appendN(t, l, 7, 3, 40, 0) // unsynced, but in the page cache
	end := l.EndOffset()
	segs := *l.segs.Load()
	require.Greater(t, len(segs), 3)
	var tail int64
	for i, s := range segs {
		fi, err := os.Stat(s.Path())
		require.NoError(t, err)
		if i < len(segs)-1 {
			require.Equal(t, s.Size(), fi.Size(), "sealed segment %d trimmed", i)
			continue
		}
		tail = fi.Size() - s.Size()
		require.Positive(t, tail, "the active segment runs ahead")
		require.Less(t, tail, int64(block))
	}

	crashed := crashCopy(t, dir)
	l2 := openLog(t, crashed, cfg)
	st := l2.Stats()
	require.False(t, st.CleanOpen)
	require.Equal(t, 1, st.RecoveredSegments)
	require.Equal(t, tail, st.TruncatedBytes, "the zeros, nothing else")
	require.Equal(t, end, l2.EndOffset())
	require.Equal(t, end, readAll(t, l2, 0))
	appendN(t, l2, 100, 3, 40, 0)
	end2 := l2.EndOffset()
	require.NoError(t, l2.Close())

	for _, d := range []string{dir, crashed} {
		if d == dir {
			require.NoError(t, l.Close())
		}
		for _, p := range logFiles(t, d) {
			fi, err := os.Stat(p)
			require.NoError(t, err)
			pos, size := batchPositions(t, p) // every byte belongs to a batch
			require.Equal(t, fi.Size(), size)
			require.NotEmpty(t, pos)
		}
		l3 := openLog(t, d, cfg)
		require.True(t, l3.Stats().CleanOpen)
		require.Zero(t, l3.Stats().RecoveredSegments)
		require.Equal(t, map[string]int64{dir: end, crashed: end2}[d], l3.EndOffset())
		require.NoError(t, l3.Close())
	}
}

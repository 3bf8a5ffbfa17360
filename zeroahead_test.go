package samsa

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/segment"
)

// TestSegmentZeroAhead: with Config.SegmentZeroAheadBytes the active
// segment's file runs ahead of its data while the broker is open, Close
// trims it to the data, and a reopen reads every record.
func TestSegmentZeroAhead(t *testing.T) {
	_, err := Open(t.TempDir(), &Config{SegmentZeroAheadBytes: -1})
	require.ErrorIs(t, err, ErrInvalidConfig)

	dir := t.TempDir()
	b, err := Open(dir, &Config{SegmentZeroAheadBytes: segment.DefaultZeroAheadBytes})
	require.NoError(t, err)
	require.NoError(t, b.CreateTopic("t", &TopicConfig{Partitions: 1}))
	p, err := b.Partition("t", 0)
	require.NoError(t, err)
	var seq int64
	for range 20 {
		appendSynced(t, p, "k", seq, 50)
		seq += 50
	}
	logFile := filepath.Join(dir, "t-0", "00000000000000000000.log")
	st, err := os.Stat(logFile)
	require.NoError(t, err)
	require.Equal(t, int64(segment.DefaultZeroAheadBytes), st.Size(), "zeros written ahead of the data")
	require.NoError(t, b.Close())

	st, err = os.Stat(logFile)
	require.NoError(t, err)
	require.Less(t, st.Size(), int64(segment.DefaultZeroAheadBytes), "Close trims the zeros")

	b = openBroker(t, dir, nil) // reopened without the option: same data
	p, err = b.Partition("t", 0)
	require.NoError(t, err)
	recs := readAll(t, p)
	require.Len(t, recs, int(seq))
	for i, r := range recs {
		require.Equal(t, int64(i), r.offset)
		require.Equal(t, int64(i), r.seq)
	}
}

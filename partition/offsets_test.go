package partition

import (
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/log"
)

func TestListOffsets(t *testing.T) {
	p := openPartition(t, t.TempDir(), nil)
	for i, ts := range []int64{1000, 2000, 3000} { // records ts, ts+1
		_, err := p.Append(makeBatch(t, "k", int64(2*i), 2, 16, ts))
		require.NoError(t, err)
	}
	require.NoError(t, p.Flush())
	_, err := p.Append(makeBatch(t, "k", 6, 2, 16, 4000)) // unsynced
	require.NoError(t, err)

	tests := []struct {
		name string
		ts   int64
		want int64
	}{
		{"earliest", Earliest, 0},
		{"latest is the high watermark", Latest, 6},
		{"before everything", 0, 0},
		{"exact", 2000, 2},
		{"inside a batch", 2001, 3},
		{"between batches", 2500, 4},
		{"last visible", 3001, 5},
		{"only unsynced records qualify", 3500, NoOffset},
		{"after everything", 9000, NoOffset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.ListOffsets(tc.ts)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	_, err = p.ListOffsets(-5)
	require.Error(t, err)

	require.NoError(t, p.Flush())
	got, err := p.ListOffsets(3500)
	require.NoError(t, err)
	require.Equal(t, int64(6), got)
	got, err = p.ListOffsets(Latest)
	require.NoError(t, err)
	require.Equal(t, int64(8), got)
}

// clock is a settable clock for retention and LogAppendTime.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestRetentionWhileFetcherHoldsView(t *testing.T) {
	clk := &clock{now: time.UnixMilli(10_000_000)}
	size := len(makeBatch(t, "k", 0, 2, 16, 0))
	p := openPartition(t, t.TempDir(), &Config{
		Now: clk.Now,
		Log: log.Config{SegmentBytes: int64(2 * size), RetentionMs: time.Hour},
	})
	old := clk.Now().Add(-2 * time.Hour).UnixMilli()
	for i := range 4 { // two old segments of two batches each
		_, err := p.Append(makeBatch(t, "k", int64(2*i), 2, 16, old+int64(2*i)))
		require.NoError(t, err)
	}
	_, err := p.Append(makeBatch(t, "k", 8, 2, 16, clk.Now().UnixMilli())) // a fresh segment
	require.NoError(t, err)
	require.NoError(t, p.Flush())
	require.Equal(t, 3, p.Stats().Log.Segments)

	res, err := p.Fetch(t.Context(), 0, 1, 1<<20, 0)
	require.NoError(t, err)
	before := string(res.View.Data) // a copy, to compare with later

	n, err := p.ApplyRetention()
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, int64(8), p.LogStartOffset())

	// The held View still reads the deleted segment's data.
	require.Equal(t, before, string(res.View.Data))
	require.Equal(t, []int64{0, 1, 2, 3}, offsets(decodeAll(t, res.View.Data, 0)))
	res.View.Release()

	_, err = p.Fetch(t.Context(), 0, 1, 1<<20, 0)
	require.ErrorIs(t, err, ErrOffsetOutOfRange)
	earliest, err := p.ListOffsets(Earliest)
	require.NoError(t, err)
	require.Equal(t, int64(8), earliest)
	got, _ := fetchNow(t, p, 8)
	require.Equal(t, []int64{8, 9}, offsets(got))
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, (*Config)(nil).Validate())
	require.NoError(t, (&Config{}).Validate())
	err := (&Config{MaxMessageBytes: -1}).Validate()
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.Contains(t, err.Error(), "MaxMessageBytes (max.message.bytes)")
	err = (&Config{Log: log.Config{SegmentBytes: 1}}).Validate()
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.ErrorIs(t, err, log.ErrInvalidConfig)
	_, err = Open(t.TempDir(), "t", 0, &Config{MaxMessageBytes: -1})
	require.ErrorIs(t, err, ErrInvalidConfig)
}

// TestIdleFootprint keeps the per-partition struct lean: a broker holds
// ten thousand of them.
func TestIdleFootprint(t *testing.T) {
	size := unsafe.Sizeof(Partition{})
	t.Logf("Partition struct: %d bytes", size)
	require.LessOrEqual(t, size, uintptr(256))
}

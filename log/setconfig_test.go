package log

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/fs"
)

func TestSetConfigSegmentBytesRollsNextAppend(t *testing.T) {
	cfg := &Config{FS: noSyncFS{fs.Default}} // 1 GiB segments
	l := openLog(t, t.TempDir(), cfg)
	appendN(t, l, 10, 3, 100, 1000)
	require.Equal(t, 1, l.Segments())

	c := *cfg
	c.SegmentBytes = 200
	require.NoError(t, l.SetConfig(c))
	require.Equal(t, 1, l.Segments(), "SetConfig itself does not roll")
	appendN(t, l, 1, 1, 100, 1000)
	require.Equal(t, 2, l.Segments(), "the next append rolls by the new segment.bytes")
	require.Equal(t, uint64(1), l.Stats().Rolls)
	appendN(t, l, 4, 1, 100, 1000)
	require.Greater(t, l.Segments(), 3)
	require.Equal(t, l.EndOffset(), readAll(t, l, 0))

	// Back up: no more rolls for small appends.
	require.NoError(t, l.SetConfig(Config{}))
	segs := l.Segments()
	appendN(t, l, 20, 3, 100, 1000)
	require.Equal(t, segs, l.Segments())
}

func TestSetConfigRetentionMs(t *testing.T) {
	clk := newClock()
	now := clk.Now().UnixMilli()
	cfg := smallConfig()
	cfg.Now = clk.Now // retention.ms: default 7 days
	l := openLog(t, t.TempDir(), cfg)
	for i := range 100 {
		_, _, err := l.Append(makeBatch(t, int64(i), 1, 40, now-2*time.Hour.Milliseconds()))
		require.NoError(t, err)
	}
	require.Greater(t, l.Segments(), 2)
	n, err := l.ApplyRetention()
	require.NoError(t, err)
	require.Zero(t, n, "two-hour-old data is kept for 7 days")

	c := *cfg
	c.RetentionMs = time.Hour
	require.NoError(t, l.SetConfig(c))
	n, err = l.ApplyRetention()
	require.NoError(t, err)
	require.Positive(t, n)
	require.Equal(t, int64(100), l.StartOffset(), "every segment expired, the active one rolled first")
	require.Equal(t, int64(100), l.EndOffset())
}

func TestSetConfigFlushMessages(t *testing.T) {
	l := openLog(t, t.TempDir(), smallConfig()) // no flush policy
	appendN(t, l, 10, 1, 40, 1000)
	require.Zero(t, l.Stats().Syncs)
	require.Zero(t, l.SyncedOffset())

	c := *smallConfig()
	c.FlushMessages = 5
	require.NoError(t, l.SetConfig(c))
	// 10 unsynced already: the next append syncs.
	appendN(t, l, 1, 1, 40, 1000)
	require.Equal(t, uint64(1), l.Stats().Syncs)
	require.Equal(t, int64(11), l.SyncedOffset())
	appendN(t, l, 4, 1, 40, 1000)
	require.Equal(t, uint64(1), l.Stats().Syncs)
	appendN(t, l, 1, 1, 40, 1000)
	require.Equal(t, uint64(2), l.Stats().Syncs)
	require.Equal(t, int64(16), l.SyncedOffset())
}

func TestSetConfigFlushMs(t *testing.T) {
	clk := newClock()
	cfg := smallConfig()
	cfg.Now = clk.Now
	l := openLog(t, t.TempDir(), cfg)
	appendN(t, l, 3, 1, 40, 1000)
	clk.Advance(time.Hour)
	require.NoError(t, l.MaybeFlush())
	require.Zero(t, l.Stats().Syncs, "no flush.ms: MaybeFlush does nothing")

	c := *cfg
	c.FlushMs = time.Second
	require.NoError(t, l.SetConfig(c))
	appendN(t, l, 1, 1, 40, 1000) // starts the flush.ms clock
	clk.Advance(2 * time.Second)
	require.NoError(t, l.MaybeFlush())
	require.Equal(t, uint64(1), l.Stats().Syncs)
	require.Equal(t, int64(4), l.SyncedOffset())
}

func TestSetConfigInvalidChangesNothing(t *testing.T) {
	l := openLog(t, t.TempDir(), smallConfig())
	before := l.dyn.Load()
	for _, tc := range []struct {
		cfg   Config
		field string
	}{
		{Config{SegmentBytes: 1}, "SegmentBytes (segment.bytes)"},
		{Config{SegmentBytes: 100, SegmentMs: -1}, "SegmentMs (segment.ms)"},
		{Config{SegmentBytes: 100, SegmentIndexBytes: 8}, "SegmentIndexBytes (segment.index.bytes)"},
		{Config{SegmentBytes: 100, IndexIntervalBytes: -1}, "IndexIntervalBytes (index.interval.bytes)"},
		{Config{SegmentBytes: 100, FlushMessages: -1}, "FlushMessages (flush.messages)"},
		{Config{SegmentBytes: 100, FlushMs: -time.Second}, "FlushMs (flush.ms)"},
	} {
		err := l.SetConfig(tc.cfg)
		require.ErrorIs(t, err, ErrInvalidConfig)
		require.ErrorContains(t, err, tc.field)
		require.Same(t, before, l.dyn.Load(), "nothing applied")
	}
	// The log still rolls by its old segment.bytes (2048), not 100.
	appendN(t, l, 5, 1, 40, 1000)
	require.Equal(t, 1, l.Segments())
}

func TestSetConfigIgnoresStaticFields(t *testing.T) {
	cfg := smallConfig()
	l := openLog(t, t.TempDir(), cfg)
	c := *cfg
	c.FS = nil
	c.Now = func() time.Time { panic("SetConfig's Now must be ignored") }
	c.Checkpoint = &Checkpoint{LogStartOffset: -1} // invalid, but ignored
	c.SegmentBytes = 300
	require.NoError(t, l.SetConfig(c))
	appendN(t, l, 10, 1, 100, 1000)
	require.Greater(t, l.Segments(), 2)
	require.Equal(t, l.EndOffset(), readAll(t, l, 0))
	// The new segments' index settings came along, the FS did not change.
	d := l.dyn.Load()
	require.Equal(t, 300, int(d.SegmentBytes))
	require.Equal(t, cfg.FS, d.seg.FS)
	require.Equal(t, 256, d.seg.IndexIntervalBytes)
	require.Equal(t, 4096, d.seg.MaxIndexBytes)
}

func TestSetConfigAppendZeroAlloc(t *testing.T) {
	l := openLog(t, t.TempDir(), &Config{FS: noSyncFS{fs.Default}})
	c := Config{FlushMs: time.Hour, FlushMessages: 1 << 40}
	require.NoError(t, l.SetConfig(c))
	b := makeBatch(t, 0, 1, 40, 1000)
	_, _, err := l.Append(b)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(500, func() {
		if _, _, err := l.Append(b); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}

// TestSetConfigConcurrent changes the config while appends, syncs, reads,
// flushes and retention run (for the race detector), then checks the log.
func TestSetConfigConcurrent(t *testing.T) {
	clk := newClock()
	cfg := smallConfig()
	cfg.Now = clk.Now
	cfg.RetentionMs = -1
	l := openLog(t, t.TempDir(), cfg)

	const appends = 2000
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() { // the only appender: offsets equal ids
		defer wg.Done()
		defer close(done)
		for range appends {
			next := l.EndOffset()
			if _, _, err := l.Append(makeBatch(t, next, 1, 40, clk.Now().UnixMilli())); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		configs := []Config{
			{SegmentBytes: 500, FlushMessages: 7, RetentionMs: -1},
			{SegmentBytes: 4096, FlushMs: time.Millisecond, IndexIntervalBytes: 64, RetentionMs: -1},
			{SegmentMs: time.Millisecond, SegmentIndexBytes: 48, RetentionMs: -1},
			{RetentionMs: -1, RetentionBytes: 1 << 30},
		}
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			c := configs[i%len(configs)]
			c.FS = cfg.FS
			if err := l.SetConfig(c); err != nil {
				t.Error(err)
				return
			}
			clk.Advance(time.Millisecond)
			time.Sleep(50 * time.Microsecond)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := l.Sync(); err != nil {
				t.Error(err)
				return
			}
			if err := l.MaybeFlush(); err != nil {
				t.Error(err)
				return
			}
			if _, err := l.ApplyRetention(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			end := l.EndOffset()
			if end == 0 {
				continue
			}
			v, err := l.Read(end-1, 4096, -1)
			if err != nil {
				t.Error(err)
				return
			}
			v.Release()
		}
	}()
	wg.Wait()
	require.Equal(t, int64(appends), l.EndOffset())
	require.Equal(t, int64(0), l.StartOffset())
	require.Equal(t, int64(appends), readAll(t, l, 0))
	require.NoError(t, l.Sync())
	require.Equal(t, int64(appends), l.SyncedOffset())
}

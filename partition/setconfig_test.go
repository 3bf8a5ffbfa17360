package partition

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/log"
)

func TestSetConfigMaxMessageBytes(t *testing.T) {
	p := openPartition(t, t.TempDir(), nil)
	b := makeBatch(t, "k", 0, 5, 100, 0)
	_, err := p.Append(b)
	require.NoError(t, err)

	require.NoError(t, p.SetConfig(Config{MaxMessageBytes: 100}))
	res, err := p.Append(makeBatch(t, "k", 5, 5, 100, 0))
	require.ErrorIs(t, err, ErrRecordTooLarge)
	require.ErrorContains(t, err, "max.message.bytes is 100")
	require.Equal(t, int64(-1), res.BaseOffset)
	require.Equal(t, int64(5), p.LogEndOffset())

	require.NoError(t, p.SetConfig(Config{})) // back to the default
	_, err = p.Append(makeBatch(t, "k", 5, 5, 100, 0))
	require.NoError(t, err)
}

func TestSetConfigLogAppendTime(t *testing.T) {
	clk := &clock{now: time.UnixMilli(1_700_000_000_123)}
	p := openPartition(t, t.TempDir(), &Config{Now: clk.Now})
	res, err := p.Append(makeBatch(t, "k", 0, 2, 16, 1000))
	require.NoError(t, err)
	require.Equal(t, int64(-1), res.LogAppendTime)

	require.NoError(t, p.SetConfig(Config{LogAppendTime: true}))
	res, err = p.Append(makeBatch(t, "k", 2, 2, 16, 1000))
	require.NoError(t, err)
	require.Equal(t, clk.Now().UnixMilli(), res.LogAppendTime)

	require.NoError(t, p.SetConfig(Config{}))
	res, err = p.Append(makeBatch(t, "k", 4, 2, 16, 1000))
	require.NoError(t, err)
	require.Equal(t, int64(-1), res.LogAppendTime)

	require.NoError(t, p.Flush())
	var got []rec
	for next := int64(0); next < p.HighWatermark(); next = got[len(got)-1].offset + 1 {
		more, _ := fetchNow(t, p, next) // the stamped batch rolls by segment.ms: several reads
		got = append(got, more...)
	}
	require.Len(t, got, 6)
	stamped := clk.Now().UnixMilli()
	require.Equal(t, []int64{1000, 1001, stamped, stamped, 1000, 1001},
		[]int64{got[0].ts, got[1].ts, got[2].ts, got[3].ts, got[4].ts, got[5].ts})
}

func TestSetConfigUnsafeExposeUnsynced(t *testing.T) {
	p := openPartition(t, t.TempDir(), nil)
	appendN(t, p, "k", 0, 3, 2)
	require.Equal(t, int64(0), p.HighWatermark(), "not synced, not visible")

	// On: the high watermark jumps to the log end offset at once, and
	// a waiting fetcher wakes.
	fetched := make(chan error, 1)
	go func() {
		res, err := p.Fetch(t.Context(), 0, 1, 1<<20, time.Minute)
		if err == nil {
			res.View.Release()
		}
		fetched <- err
	}()
	time.Sleep(10 * time.Millisecond) // let the fetcher wait (it works without)
	require.NoError(t, p.SetConfig(Config{UnsafeExposeUnsynced: true}))
	require.Equal(t, int64(6), p.HighWatermark())
	require.Zero(t, p.Stats().Log.SyncedOffset)
	select {
	case err := <-fetched:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting fetcher was not woken")
	}
	appendN(t, p, "k", 6, 1, 2)
	require.Equal(t, int64(8), p.HighWatermark())

	// Off: the high watermark does not drop below what was exposed, and
	// stops following the log end offset.
	require.NoError(t, p.SetConfig(Config{}))
	require.Equal(t, int64(8), p.HighWatermark())
	appendN(t, p, "k", 8, 1, 2)
	require.Equal(t, int64(8), p.HighWatermark())
	got, _ := fetchNow(t, p, 0)
	require.Len(t, got, 8)
	require.NoError(t, p.Flush())
	require.Equal(t, int64(10), p.HighWatermark())
}

func TestSetConfigLog(t *testing.T) {
	p := openPartition(t, t.TempDir(), nil)
	appendN(t, p, "k", 0, 5, 2)
	require.Equal(t, 1, p.Stats().Log.Segments)
	require.NoError(t, p.SetConfig(Config{Log: log.Config{SegmentBytes: log.MinSegmentBytes}}))
	appendN(t, p, "k", 10, 3, 2)
	require.Equal(t, 4, p.Stats().Log.Segments, "every append rolls by the new segment.bytes")
	require.NoError(t, p.Flush())
	got, _ := fetchNow(t, p, 0)
	require.NotEmpty(t, got)
}

func TestSetConfigInvalidChangesNothing(t *testing.T) {
	p := openPartition(t, t.TempDir(), nil)
	for _, tc := range []struct {
		cfg    Config
		field  string
		logErr bool
	}{
		{Config{LogAppendTime: true, UnsafeExposeUnsynced: true, MaxMessageBytes: -1}, "MaxMessageBytes (max.message.bytes)", false},
		{Config{LogAppendTime: true, UnsafeExposeUnsynced: true, ProducerIDExpiration: -1}, "ProducerIDExpiration (producer.id.expiration.ms)", false},
		{Config{LogAppendTime: true, UnsafeExposeUnsynced: true, MaxMessageBytes: 10, Log: log.Config{SegmentBytes: log.MinSegmentBytes, FlushMs: -1}}, "FlushMs (flush.ms)", true},
	} {
		err := p.SetConfig(tc.cfg)
		require.ErrorIs(t, err, ErrInvalidConfig)
		require.ErrorContains(t, err, tc.field)
		if tc.logErr {
			require.ErrorIs(t, err, log.ErrInvalidConfig)
		}
	}
	// Nothing applied: default max.message.bytes, CreateTime, synced
	// visibility, 1 GiB segments.
	res := appendN(t, p, "k", 0, 3, 20)
	require.Equal(t, int64(-1), res.LogAppendTime)
	require.Equal(t, int64(0), p.HighWatermark())
	require.Equal(t, 1, p.Stats().Log.Segments)

	// Static fields are ignored, not validated.
	require.NoError(t, p.SetConfig(Config{Log: log.Config{Checkpoint: &log.Checkpoint{RecoveryPoint: -1}}}))
}

func TestSetConfigAppendZeroAlloc(t *testing.T) {
	p := openPartition(t, t.TempDir(), nil)
	require.NoError(t, p.SetConfig(Config{LogAppendTime: true, MaxMessageBytes: 1 << 20, UnsafeExposeUnsynced: true}))
	b := makeBatch(t, "k", 0, 1, 16, 0)
	_, err := p.Append(b)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(500, func() {
		b[22] &^= 0x08 // a producer's batch has no LogAppendTime bit
		fixCRC(b)
		if _, err := p.Append(b); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}

// TestSetConfigConcurrent reconfigures the partition while it is appended
// to and fetched from (for the race detector); the high watermark must
// never go down.
func TestSetConfigConcurrent(t *testing.T) {
	p := openPartition(t, t.TempDir(), &Config{Log: log.Config{SegmentBytes: 1000}})
	const appends = 1000
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range appends {
			if _, err := p.Append(makeBatch(t, "k", int64(i), 1, 16, 1000)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		configs := []Config{
			{UnsafeExposeUnsynced: true, Log: log.Config{SegmentBytes: 500}},
			{LogAppendTime: true, Log: log.Config{FlushMessages: 3}},
			{ProducerIDExpiration: time.Minute, Log: log.Config{SegmentBytes: 2000, FlushMs: time.Millisecond}},
		}
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			if err := p.SetConfig(configs[i%len(configs)]); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		var last int64
		for {
			select {
			case <-done:
				return
			default:
			}
			if hw := p.HighWatermark(); hw < last {
				t.Errorf("high watermark went down from %d to %d", last, hw)
				return
			} else {
				last = hw
			}
			if err := p.Flush(); err != nil {
				t.Error(err)
				return
			}
			if last > 0 {
				res, err := p.Fetch(t.Context(), last-1, 1, 1<<20, 0)
				if err != nil {
					t.Error(err)
					return
				}
				res.View.Release()
			}
		}
	}()
	wg.Wait()
	require.NoError(t, p.Flush())
	require.Equal(t, int64(appends), p.HighWatermark())
	got, _ := fetchNow(t, p, 0)
	require.NotEmpty(t, got)
}

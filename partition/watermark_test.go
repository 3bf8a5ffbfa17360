package partition

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/fs/errorfs"
	"github.com/samsalog/samsa/log"
)

func TestHighWatermarkIsSyncedOffset(t *testing.T) {
	p := openPartition(t, t.TempDir(), nil)
	require.Equal(t, int64(0), p.HighWatermark())
	appendN(t, p, "k", 0, 3, 2)
	require.Equal(t, int64(6), p.LogEndOffset())
	require.Equal(t, int64(0), p.HighWatermark(), "unsynced data below the high watermark")
	require.Equal(t, int64(0), p.LastStableOffset())

	// Nothing visible: not at 0, not between HW and LEO.
	for _, off := range []int64{0, 3, 6} {
		got, res := fetchNow(t, p, off)
		require.Empty(t, got, "offset %d", off)
		require.Equal(t, int64(0), res.HighWatermark)
		require.Equal(t, int64(6), res.LogEndOffset)
	}
	latest, err := p.ListOffsets(Latest)
	require.NoError(t, err)
	require.Equal(t, int64(0), latest)

	require.NoError(t, p.Flush())
	require.Equal(t, int64(6), p.HighWatermark())
	got, res := fetchNow(t, p, 0)
	require.Len(t, got, 6)
	require.Equal(t, int64(6), res.HighWatermark)
	require.Equal(t, int64(6), res.LastStableOffset)
	for i, r := range got {
		require.Equal(t, int64(i), r.offset)
		require.Equal(t, int64(i), r.seq)
	}

	// Appended past the HW again: a fetch stops at the HW.
	appendN(t, p, "k", 6, 2, 2)
	got, res = fetchNow(t, p, 4)
	require.Equal(t, []int64{4, 5}, offsets(got))
	require.Equal(t, int64(6), res.HighWatermark)
	require.Equal(t, int64(10), res.LogEndOffset)
}

func TestUnsafeExposeUnsynced(t *testing.T) {
	dirty := 0
	p := openPartition(t, t.TempDir(), &Config{UnsafeExposeUnsynced: true, OnDirty: func(*Partition) { dirty++ }})
	appendN(t, p, "k", 0, 3, 2)
	require.Equal(t, int64(6), p.HighWatermark())
	require.Equal(t, int64(0), p.Stats().Log.SyncedOffset, "exposed, but not synced")
	require.Equal(t, 1, dirty, "unsynced data still goes to the flusher")
	got, _ := fetchNow(t, p, 0)
	require.Len(t, got, 6)

	// acks=all still means synced.
	require.NoError(t, p.WaitSynced(t.Context(), 5))
	require.Equal(t, int64(6), p.Stats().Log.SyncedOffset)
}

func TestWaitSynced(t *testing.T) {
	p := openPartition(t, t.TempDir(), nil)
	ctx := t.Context()
	require.NoError(t, p.Sync(ctx), "nothing appended")
	res := appendN(t, p, "k", 0, 2, 3)
	require.NoError(t, p.WaitSynced(ctx, res.LastOffset))
	require.Equal(t, int64(6), p.HighWatermark())
	require.NoError(t, p.WaitSynced(ctx, 0), "already synced")

	_, err := p.Append(makeBatch(t, "k", 6, 1, 8, 0))
	require.NoError(t, err)
	require.ErrorIs(t, p.WaitSynced(ctx, 7), ErrOffsetOutOfRange, "never appended")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, p.WaitSynced(cancelled, 6), context.Canceled)
	require.NoError(t, p.WaitSynced(cancelled, 5), "synced needs no waiting")

	// Many producers waiting at once share fdatasyncs.
	for i := range 20 {
		_, err := p.Append(makeBatch(t, "k", int64(7+i), 1, 8, 0))
		require.NoError(t, err)
	}
	before := p.Stats().Log.Syncs
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() { require.NoError(t, p.WaitSynced(ctx, int64(7+i))) })
	}
	wg.Wait()
	require.Equal(t, int64(27), p.HighWatermark())
	require.LessOrEqual(t, p.Stats().Log.Syncs-before, uint64(2))
}

func TestFailedSync(t *testing.T) {
	efs := errorfs.New(nil)
	p := openPartition(t, t.TempDir(), &Config{Log: log.Config{FS: efs}})
	appendN(t, p, "k", 0, 1, 2)
	require.NoError(t, p.Flush())
	res := appendN(t, p, "k", 2, 1, 2)
	efs.SetInjector(func(op errorfs.Op, path string) error {
		if op == errorfs.OpSync && strings.HasSuffix(path, ".log") {
			return errorfs.ErrInjected
		}
		return nil
	})
	err := p.WaitSynced(t.Context(), res.LastOffset)
	require.ErrorIs(t, err, log.ErrFailed)
	require.ErrorIs(t, err, errorfs.ErrInjected)
	require.Equal(t, int64(2), p.HighWatermark(), "HW moved past a failed sync")
	require.ErrorIs(t, p.Flush(), log.ErrFailed)
	_, err = p.Append(makeBatch(t, "k", 4, 1, 8, 0))
	require.ErrorIs(t, err, log.ErrFailed)
	got, _ := fetchNow(t, p, 0)
	require.Equal(t, []int64{0, 1}, offsets(got), "reads go on below the HW")
	require.ErrorIs(t, p.Close(), log.ErrFailed)
}

func offsets(rs []rec) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.offset
	}
	return out
}

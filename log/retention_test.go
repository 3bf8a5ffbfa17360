package log

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/fs/errorfs"
	"github.com/samsalog/samsa/segment"
)

func TestRetentionByTime(t *testing.T) {
	clk := newClock()
	now := clk.Now().UnixMilli()
	dir := t.TempDir()
	cfg := smallConfig()
	cfg.Now = clk.Now
	cfg.RetentionMs = time.Hour
	l := openLog(t, dir, cfg)
	// Records 0..99 two hours old, 100..199 now.
	for i := range 200 {
		ts := now - 2*time.Hour.Milliseconds()
		if i >= 100 {
			ts = now
		}
		_, _, err := l.Append(makeBatch(t, int64(i), 1, 40, ts))
		require.NoError(t, err)
	}
	require.NoError(t, l.Roll())
	segsBefore := *l.segs.Load()
	// The oldest segment's data, held by a reader across the deletion.
	v, err := l.Read(0, 1<<20, -1)
	require.NoError(t, err)
	saved := bytes.Clone(v.Data)
	firstLog := segsBefore[0].Path()

	n, err := l.ApplyRetention()
	require.NoError(t, err)
	require.Positive(t, n)
	// Every deleted segment held only old records; the first kept one
	// holds offset 100 or starts at or before it.
	start := l.StartOffset()
	require.LessOrEqual(t, start, int64(100))
	require.Equal(t, segsBefore[n].BaseOffset(), start)
	require.Equal(t, uint64(n), l.Stats().DeletedSegments)
	_, err = l.Read(0, 1<<20, -1)
	require.ErrorIs(t, err, ErrOffsetOutOfRange)
	require.Equal(t, l.EndOffset(), readAll(t, l, start))

	// The reader's View still holds valid data, and the deleted files
	// stay (renamed) until it is released.
	require.Equal(t, saved, v.Data)
	offs, _ := decodeAll(t, v.Data)
	require.Equal(t, int64(0), offs[0])
	_, err = os.Stat(firstLog)
	require.True(t, errors.Is(err, os.ErrNotExist))
	_, err = os.Stat(firstLog + segment.DeletedSuffix)
	require.NoError(t, err)
	v.Release()
	_, err = os.Stat(firstLog + segment.DeletedSuffix)
	require.True(t, errors.Is(err, os.ErrNotExist))

	// Nothing more to delete now; in two hours everything goes, the
	// active segment (rolled first) too, but an empty active segment stays.
	n, err = l.ApplyRetention()
	require.NoError(t, err)
	require.Zero(t, n)
	clk.Advance(2 * time.Hour)
	_, err = l.ApplyRetention()
	require.NoError(t, err)
	require.Equal(t, 1, l.Segments())
	require.Equal(t, l.EndOffset(), l.StartOffset())
	require.Zero(t, l.active.Size())
	appendN(t, l, 3, 1, 10, now)
	require.Equal(t, l.EndOffset(), readAll(t, l, l.StartOffset()))

	// The start offset survives a reopen.
	start = l.StartOffset()
	require.NoError(t, l.Close())
	l2 := openLog(t, dir, cfg)
	require.Equal(t, start, l2.StartOffset())
}

func TestRetentionByBytes(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig()
	cfg.RetentionBytes = 5000
	l := openLog(t, dir, cfg)
	appendN(t, l, 300, 3, 40, time.Now().UnixMilli())
	total := l.Stats().Bytes
	require.Greater(t, total, int64(20000))
	n, err := l.ApplyRetention()
	require.NoError(t, err)
	require.Positive(t, n)
	st := l.Stats()
	require.GreaterOrEqual(t, st.Bytes, int64(5000))
	// Deleting one more would go below the limit.
	segs := *l.segs.Load()
	require.Less(t, st.Bytes-segs[0].Size(), int64(5000))
	require.Equal(t, segs[0].BaseOffset(), l.StartOffset())
	require.Equal(t, l.EndOffset(), readAll(t, l, l.StartOffset()))
	n, err = l.ApplyRetention()
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestDeleteRecordsBeforeDeletesSegments(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, smallConfig())
	appendN(t, l, 100, 3, 40, 0)
	segs := *l.segs.Load()
	cut := segs[3].BaseOffset() + 1
	n, err := l.DeleteRecordsBefore(cut)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, cut, l.StartOffset())
	_, err = l.Read(cut-1, 1, -1)
	require.ErrorIs(t, err, ErrOffsetOutOfRange)
	v, err := l.Read(cut, 1, -1)
	require.NoError(t, err)
	v.Release()
	// Survives an unclean reopen (checkpointed at once).
	l2 := openLog(t, crashCopy(t, dir), smallConfig())
	require.Equal(t, cut, l2.StartOffset())
}

// TestDeleteRecordsBeforeCheckpointFails: a start offset the checkpoint
// could not record is an error, and no segment is deleted for it.
func TestDeleteRecordsBeforeCheckpointFails(t *testing.T) {
	efs := errorfs.New(nil)
	cfg := smallConfig()
	cfg.FS = efs
	l := openLog(t, t.TempDir(), cfg)
	appendN(t, l, 100, 3, 40, 0)
	segs := *l.segs.Load()
	cut := segs[3].BaseOffset() + 1
	boom := errors.New("boom")
	efs.SetInjector(errorfs.FailAlways(errorfs.OpRename, boom))
	n, err := l.DeleteRecordsBefore(cut)
	require.ErrorIs(t, err, boom)
	require.Zero(t, n)
	require.Len(t, *l.segs.Load(), len(segs), "no segment deleted")
	efs.SetInjector(nil)
}

// TestConcurrentReadersWithRetention reads from many goroutines while
// one appends, rolls and applies retention: readers either get valid
// batches or ErrOffsetOutOfRange for offsets retention removed.
func TestConcurrentReadersWithRetention(t *testing.T) {
	cfg := smallConfig()
	cfg.RetentionBytes = 8000
	l := openLog(t, t.TempDir(), cfg)
	appendN(t, l, 20, 3, 40, 0)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Go(func() {
			next := int64(0)
			for {
				select {
				case <-stop:
					return
				default:
				}
				v, err := l.Read(next, 1000, -1)
				if errors.Is(err, ErrOffsetOutOfRange) {
					next = l.StartOffset()
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				offs, ids := decodeAll(t, v.Data)
				v.Release()
				for i, o := range offs {
					if o != ids[i] {
						t.Errorf("reader %d: offset %d carries id %d", r, o, ids[i])
						return
					}
					next = max(next, o+1)
				}
				if _, err := l.OffsetForTimestamp(next); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range 300 {
		appendN(t, l, 1, 3, 40, 0)
		if i%20 == 0 {
			_, err := l.ApplyRetention()
			require.NoError(t, err)
		}
		if i%50 == 0 {
			require.NoError(t, l.Sync())
		}
	}
	close(stop)
	wg.Wait()
	require.Positive(t, l.StartOffset())
}

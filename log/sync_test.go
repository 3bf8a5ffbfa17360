package log

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/internal/fs/errorfs"
)

func TestSyncAdvancesSyncedOffset(t *testing.T) {
	cfs := newCountingFS()
	l := openLog(t, t.TempDir(), &Config{FS: cfs})
	appendN(t, l, 5, 2, 10, 0)
	require.Equal(t, int64(0), l.SyncedOffset())
	before := cfs.logSyncs.Load()
	require.NoError(t, l.Sync())
	require.Equal(t, l.EndOffset(), l.SyncedOffset())
	require.Equal(t, before+1, cfs.logSyncs.Load())
	// Nothing new: no fdatasync.
	require.NoError(t, l.Sync())
	require.Equal(t, before+1, cfs.logSyncs.Load())
}

func TestFlushMessages(t *testing.T) {
	cfs := newCountingFS()
	l := openLog(t, t.TempDir(), &Config{FS: cfs, FlushMessages: 10})
	before := cfs.logSyncs.Load()
	for i := range 100 {
		_, _, err := l.Append(makeBatch(t, int64(i), 1, 10, 0))
		require.NoError(t, err)
		// Never more than FlushMessages-1 records unsynced after Append.
		require.Less(t, l.EndOffset()-l.SyncedOffset(), int64(10))
	}
	require.Equal(t, int64(10), cfs.logSyncs.Load()-before)
	require.Equal(t, uint64(10), l.Stats().Syncs)

	// A batch of many records counts them all.
	_, _, err := l.Append(makeBatch(t, 100, 25, 10, 0))
	require.NoError(t, err)
	require.Equal(t, l.EndOffset(), l.SyncedOffset())
}

func TestFlushMs(t *testing.T) {
	clk := newClock()
	cfs := newCountingFS()
	l := openLog(t, t.TempDir(), &Config{FS: cfs, FlushMs: time.Second, Now: clk.Now})
	before := cfs.logSyncs.Load()
	require.NoError(t, l.MaybeFlush()) // nothing unsynced
	appendN(t, l, 3, 1, 10, 0)
	clk.Advance(500 * time.Millisecond)
	require.NoError(t, l.MaybeFlush())
	require.Equal(t, before, cfs.logSyncs.Load())
	require.Equal(t, int64(0), l.SyncedOffset())

	clk.Advance(500 * time.Millisecond)
	require.NoError(t, l.MaybeFlush())
	require.Equal(t, before+1, cfs.logSyncs.Load())
	require.Equal(t, int64(3), l.SyncedOffset())
	require.NoError(t, l.MaybeFlush())
	require.Equal(t, before+1, cfs.logSyncs.Load())

	// Checked on Append too: the oldest unsynced data decides.
	appendN(t, l, 1, 1, 10, 0) // starts the clock
	clk.Advance(999 * time.Millisecond)
	appendN(t, l, 1, 1, 10, 0)
	require.Equal(t, int64(3), l.SyncedOffset())
	clk.Advance(time.Millisecond)
	appendN(t, l, 1, 1, 10, 0)
	require.Equal(t, int64(6), l.SyncedOffset())
	require.Equal(t, before+2, cfs.logSyncs.Load())
}

func TestGroupCommit(t *testing.T) {
	cfs := newCountingFS()
	cfs.syncDelay = 2 * time.Millisecond // a disk, not a RAM disk
	l := openLog(t, t.TempDir(), &Config{FS: cfs, SegmentBytes: 64 << 10})
	before := cfs.logSyncs.Load()
	const writers, perWriter = 32, 30
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				_, last, err := l.Append(makeBatch(t, 0, 1+(w+i)%3, 50, 0))
				if err == nil {
					err = l.Sync()
				}
				if err == nil && l.SyncedOffset() <= last {
					t.Errorf("Sync returned before offset %d was synced (synced %d)", last, l.SyncedOffset())
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	st := l.Stats()
	calls := int64(writers * perWriter)
	syncs := cfs.logSyncs.Load() - before
	t.Logf("%d Sync calls, %d fdatasyncs of .log files (%d by Sync), %d segments", calls, syncs, st.Syncs, st.Segments)
	require.Equal(t, st.EndOffset, st.SyncedOffset)
	require.Less(t, syncs, calls/4, "group commit should share fdatasyncs")
	require.Equal(t, l.EndOffset(), readAllLoose(t, l))
}

func TestFailedFsync(t *testing.T) {
	dir := t.TempDir()
	efs := errorfs.New(nil)
	l, err := Open(dir, &Config{FS: efs, SegmentBytes: 4096})
	require.NoError(t, err)
	appendN(t, l, 40, 3, 40, 0)
	require.NoError(t, l.Sync())
	acked := l.EndOffset()
	require.Equal(t, acked, l.SyncedOffset())
	require.Greater(t, l.Segments(), 1)

	appendN(t, l, 5, 1, 40, 0)
	efs.SetInjector(func(op errorfs.Op, path string) error {
		if op == errorfs.OpSync && strings.HasSuffix(path, ".log") {
			return errorfs.ErrInjected
		}
		return nil
	})
	err = l.Sync()
	require.ErrorIs(t, err, ErrFailed)
	require.ErrorIs(t, err, errorfs.ErrInjected)
	efs.SetInjector(nil) // the disk "recovers": the log must not.

	require.Equal(t, acked, l.SyncedOffset())
	require.True(t, l.Stats().Failed)
	for range 3 {
		_, _, err = l.Append(makeBatch(t, 0, 1, 10, 0))
		require.ErrorIs(t, err, ErrFailed)
		require.ErrorIs(t, l.Sync(), ErrFailed)
	}
	require.ErrorIs(t, l.Roll(), ErrFailed)
	_, err = l.ApplyRetention()
	require.ErrorIs(t, err, ErrFailed)
	// Reads go on.
	require.Equal(t, l.EndOffset(), readAll(t, l, 0))
	require.ErrorIs(t, l.Close(), ErrFailed)
	require.False(t, l.Checkpoint().Clean)

	// Reopen: not a clean shutdown; the acknowledged data is there.
	l2 := openLog(t, dir, &Config{SegmentBytes: 4096})
	st := l2.Stats()
	require.False(t, st.CleanOpen)
	require.GreaterOrEqual(t, l2.EndOffset(), acked)
	require.Equal(t, l2.EndOffset(), readAll(t, l2, 0))
}

func TestFailedFsyncConcurrentWaiters(t *testing.T) {
	efs := errorfs.New(nil)
	cfs := &countingFS{FS: efs, syncDelay: 5 * time.Millisecond}
	l := openLog(t, t.TempDir(), &Config{FS: cfs})
	appendN(t, l, 1, 1, 10, 0)
	efs.SetInjector(errorfs.FailOnce(errorfs.OpSync, nil))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, _, err := l.Append(makeBatch(t, 0, 1, 10, 0))
			if err == nil {
				err = l.Sync()
			}
			if err == nil {
				t.Errorf("a Sync reported success after a failed fsync (synced %d, end %d)", l.SyncedOffset(), l.EndOffset())
			}
		})
	}
	wg.Wait()
	require.ErrorIs(t, l.Sync(), ErrFailed)
}

func TestFailedRollSeal(t *testing.T) {
	efs := errorfs.New(nil)
	l := openLog(t, t.TempDir(), &Config{FS: efs})
	appendN(t, l, 3, 1, 10, 0)
	efs.SetInjector(errorfs.FailAlways(errorfs.OpSync, nil))
	require.ErrorIs(t, l.Roll(), ErrFailed)
	efs.SetInjector(nil)
	_, _, err := l.Append(makeBatch(t, 0, 1, 10, 0))
	require.ErrorIs(t, err, ErrFailed)
	require.Equal(t, int64(0), l.SyncedOffset())
}

func TestCloseDuringAppendsAndSyncs(t *testing.T) {
	l, err := Open(t.TempDir(), &Config{FlushMessages: 1, FS: &countingFS{FS: noSyncFS{fs.Default}, syncDelay: time.Millisecond}})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				_, last, err := l.Append(makeBatch(t, 0, 1, 10, 0))
				if err == nil {
					err = l.Sync()
				}
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Error(err)
					}
					return
				}
				if l.SyncedOffset() <= last {
					t.Errorf("offset %d acknowledged, synced only below %d", last, l.SyncedOffset())
				}
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, l.Close())
	wg.Wait()
	require.Equal(t, l.EndOffset(), l.SyncedOffset())
}

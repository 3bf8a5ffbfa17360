package partition

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/log"
)

// fetchResult is a Fetch's outcome, sent back by a fetching goroutine.
type fetchResult struct {
	recs    []rec
	n       int
	res     FetchResult
	err     error
	elapsed time.Duration
}

// goFetch starts a Fetch in a goroutine; its outcome arrives on the
// returned channel, decoded, its View released.
func goFetch(t *testing.T, ctx context.Context, p *Partition, offset int64, minBytes, maxBytes int, maxWait time.Duration) <-chan fetchResult {
	ch := make(chan fetchResult, 1)
	go func() {
		start := time.Now()
		res, err := p.Fetch(ctx, offset, minBytes, maxBytes, maxWait)
		out := fetchResult{res: res, err: err, elapsed: time.Since(start), n: res.View.Len()}
		if err == nil {
			out.recs = decodeAll(t, res.View.Data, offset)
		}
		res.View.Release()
		ch <- out
	}()
	return ch
}

// pending reports whether no result has arrived on ch. Called after
// synctest.Wait, it means the fetch is blocked.
func pending(ch <-chan fetchResult) bool {
	select {
	case r := <-ch:
		panic(r) // test bug or unexpected result: fail loudly
	default:
		return true
	}
}

func TestFetchWakesOnAppend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := openPartition(t, t.TempDir(), nil)
		ch := goFetch(t, t.Context(), p, 0, 1, 1<<20, time.Hour)
		synctest.Wait()
		require.True(t, pending(ch))

		appendN(t, p, "k", 0, 1, 3)
		synctest.Wait()
		require.True(t, pending(ch), "woken by unsynced data")

		require.NoError(t, p.Flush())
		r := <-ch
		require.NoError(t, r.err)
		require.Equal(t, []int64{0, 1, 2}, offsets(r.recs))
		// No time passed in the bubble: the fetcher was woken by the
		// flush itself, not by a timer or a polling loop.
		require.Zero(t, r.elapsed)
		require.Equal(t, int64(3), r.res.HighWatermark)
	})
}

func TestFetchMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := openPartition(t, t.TempDir(), nil)
		appendN(t, p, "k", 0, 1, 2) // unsynced: not visible
		ch := goFetch(t, t.Context(), p, 0, 1, 1<<20, 500*time.Millisecond)
		r := <-ch
		require.NoError(t, r.err)
		require.Zero(t, r.n)
		require.Equal(t, 500*time.Millisecond, r.elapsed)
		require.Equal(t, int64(2), r.res.LogEndOffset)

		// Waiting at the log end offset, too.
		require.NoError(t, p.Flush())
		r = <-goFetch(t, t.Context(), p, 2, 1, 1<<20, time.Second)
		require.NoError(t, r.err)
		require.Zero(t, r.n)
		require.Equal(t, time.Second, r.elapsed)

		// No wait at all.
		r = <-goFetch(t, t.Context(), p, 2, 1, 1<<20, 0)
		require.NoError(t, r.err)
		require.Zero(t, r.elapsed)
	})
}

func TestFetchContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := openPartition(t, t.TempDir(), nil)
		ctx, cancel := context.WithCancel(t.Context())
		ch := goFetch(t, ctx, p, 0, 1, 1<<20, time.Hour)
		synctest.Wait()
		require.True(t, pending(ch))
		cancel()
		r := <-ch
		require.ErrorIs(t, r.err, context.Canceled)
		require.Zero(t, r.elapsed)

		ctx, cancel2 := context.WithTimeout(t.Context(), time.Second)
		defer cancel2()
		r = <-goFetch(t, ctx, p, 0, 1, 1<<20, time.Hour)
		require.ErrorIs(t, r.err, context.DeadlineExceeded)
		require.Equal(t, time.Second, r.elapsed)

		// A context already done fails at once, data or not.
		appendN(t, p, "k", 0, 1, 1)
		require.NoError(t, p.Flush())
		_, err := p.Fetch(ctx, 0, 1, 1<<20, 0)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestFetchMinBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := openPartition(t, t.TempDir(), nil)
		size := len(makeBatch(t, "k", 0, 2, 16, 0))
		ch := goFetch(t, t.Context(), p, 0, 3*size, 1<<20, time.Hour)
		for i := range 2 {
			appendN(t, p, "k", int64(2*i), 1, 2)
			require.NoError(t, p.Flush())
			synctest.Wait()
			require.True(t, pending(ch), "answered with %d of %d batches", i+1, 3)
		}
		appendN(t, p, "k", 4, 1, 2)
		require.NoError(t, p.Flush())
		r := <-ch
		require.NoError(t, r.err)
		require.Equal(t, 3*size, r.n)
		require.Equal(t, []int64{0, 1, 2, 3, 4, 5}, offsets(r.recs))
		require.Zero(t, r.elapsed)

		// maxWait passes: what there is, though less than minBytes.
		r = <-goFetch(t, t.Context(), p, 2, 10*size, 1<<20, time.Second)
		require.NoError(t, r.err)
		require.Equal(t, 2*size, r.n)
		require.Equal(t, time.Second, r.elapsed)

		// More available than maxBytes lets one answer hold: no waiting
		// for minBytes, the answer cannot grow.
		r = <-goFetch(t, t.Context(), p, 0, 10*size, size, time.Hour)
		require.NoError(t, r.err)
		require.Equal(t, size, r.n)
		require.Zero(t, r.elapsed)

		// minBytes 0 or 1: any data at once.
		for _, minBytes := range []int{-1, 0, 1} {
			r = <-goFetch(t, t.Context(), p, 5, minBytes, 1<<20, time.Hour)
			require.NoError(t, r.err)
			require.Equal(t, []int64{5}, offsets(r.recs))
			require.Zero(t, r.elapsed)
		}
	})
}

func TestFetchSegmentBoundary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		size := len(makeBatch(t, "k", 0, 2, 16, 0))
		// One batch per segment: a read returns one segment's data.
		p := openPartition(t, t.TempDir(), &Config{Log: log.Config{SegmentBytes: int64(size)}})
		appendN(t, p, "k", 0, 3, 2)
		require.NoError(t, p.Flush())
		require.Equal(t, 3, p.Stats().Log.Segments)
		// Kafka's DelayedFetch answers at once when the fetch offset's
		// segment is older than the HW's: the data is there, in the next
		// segment, and the next fetch gets it.
		r := <-goFetch(t, t.Context(), p, 0, 3*size, 1<<20, time.Hour)
		require.NoError(t, r.err)
		require.Equal(t, []int64{0, 1}, offsets(r.recs))
		require.Zero(t, r.elapsed)
	})
}

func TestFetchOutOfRange(t *testing.T) {
	p := openPartition(t, t.TempDir(), nil)
	appendN(t, p, "k", 0, 2, 2)
	_, err := p.Fetch(t.Context(), 5, 1, 1<<20, time.Hour)
	require.ErrorIs(t, err, ErrOffsetOutOfRange)
	require.ErrorIs(t, err, log.ErrOffsetOutOfRange)
	_, err = p.Fetch(t.Context(), -1, 1, 1<<20, time.Hour)
	require.ErrorIs(t, err, ErrOffsetOutOfRange)
	require.NoError(t, p.Flush())

	_, err = p.DeleteRecordsBefore(5)
	require.ErrorIs(t, err, ErrOffsetOutOfRange, "past the HW")
	_, err = p.DeleteRecordsBefore(2)
	require.NoError(t, err)
	require.Equal(t, int64(2), p.LogStartOffset())
	_, err = p.Fetch(t.Context(), 1, 1, 1<<20, time.Hour)
	require.ErrorIs(t, err, ErrOffsetOutOfRange)
	got, res := fetchNow(t, p, 2)
	require.Equal(t, []int64{2, 3}, offsets(got))
	require.Equal(t, int64(2), res.LogStartOffset)
}

func TestCloseWakesFetchers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := openPartition(t, t.TempDir(), nil)
		appendN(t, p, "k", 0, 1, 2)
		var chs []<-chan fetchResult
		for _, off := range []int64{0, 1, 2} {
			chs = append(chs, goFetch(t, t.Context(), p, off, 1<<20, 1<<20, time.Hour))
		}
		synctest.Wait()
		for _, ch := range chs {
			require.True(t, pending(ch))
		}
		require.NoError(t, p.Close())
		for _, ch := range chs {
			r := <-ch
			require.ErrorIs(t, r.err, ErrClosed)
			require.ErrorIs(t, r.err, log.ErrClosed)
			require.Zero(t, r.elapsed)
		}
	})
}

func TestClosed(t *testing.T) {
	dir := t.TempDir()
	p := openPartition(t, dir, nil)
	res := appendN(t, p, "k", 0, 2, 2)
	require.Equal(t, int64(0), p.HighWatermark())
	require.NoError(t, p.Close())
	require.NoError(t, p.Close())
	require.Equal(t, int64(4), p.HighWatermark(), "Close synced everything")
	require.NoError(t, p.WaitSynced(t.Context(), res.LastOffset), "synced by Close")

	_, err := p.Append(makeBatch(t, "k", 4, 1, 8, 0))
	require.ErrorIs(t, err, ErrClosed)
	_, err = p.Fetch(t.Context(), 0, 1, 1<<20, 0)
	require.ErrorIs(t, err, ErrClosed)
	_, err = p.ListOffsets(Earliest)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, p.Flush(), ErrClosed)
	_, err = p.DeleteRecordsBefore(1)
	require.ErrorIs(t, err, ErrClosed)
	_, err = p.ApplyRetention()
	require.ErrorIs(t, err, ErrClosed)
	require.True(t, p.Checkpoint().Clean)

	// Reopened, everything kept is visible at once.
	q := openPartition(t, dir, nil)
	require.Equal(t, int64(4), q.HighWatermark())
	require.Equal(t, "orders", q.Topic())
	require.Equal(t, int32(3), q.ID())
	require.Equal(t, dir, q.Dir())
	got, _ := fetchNow(t, q, 0)
	require.Equal(t, []int64{0, 1, 2, 3}, offsets(got))

	require.NoError(t, q.Delete())
	_, err = q.Append(makeBatch(t, "k", 4, 1, 8, 0))
	require.True(t, errors.Is(err, ErrClosed))
	require.NoDirExists(t, dir)
}

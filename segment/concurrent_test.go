package segment

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/record"
)

// verifyView checks every byte of a View: whole CRC-valid batches with
// consecutive offsets, whose record values carry their offsets.
func verifyView(data []byte, from int64) error {
	var dec record.Decoder
	var recs []record.Record
	next := int64(-1)
	for len(data) > 0 {
		h, batch, rest, err := record.NextBatch(data)
		if err != nil {
			return err
		}
		if next >= 0 && h.BaseOffset != next {
			return errGap
		}
		if h.LastOffset() < from {
			return errGap
		}
		_, recs, err = dec.Decode(batch, recs[:0])
		if err != nil {
			return err
		}
		for _, r := range recs {
			if int64(binary.BigEndian.Uint64(r.Value)) != r.Offset {
				return errGap
			}
		}
		next = h.NextOffset()
		data = rest
	}
	return nil
}

var errGap = &CorruptError{File: "test", Err: record.ErrCorrupt}

func TestConcurrentReadersWhileAppendingAndSealing(t *testing.T) {
	// A small first mapping forces many remaps: use large batches.
	s, err := Create(t.TempDir(), 0, Config{IndexIntervalBytes: 1024, PreallocateBytes: 1 << 20})
	require.NoError(t, err)
	defer s.Close()
	const writes = 1500
	batches := make([][]byte, 0, writes)
	next := int64(0)
	for i := range writes {
		n := 1 + i%50
		b := makeBatch(t, next, n, 100+i%300, next)
		batches = append(batches, b)
		next += int64(n)
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	var reads, bytesRead atomic.Int64
	errs := make(chan error, 16)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var held []View
			for i := 0; !done.Load() || i < 50; i++ {
				end := s.NextOffset()
				if end == 0 {
					continue
				}
				off := (int64(i)*7919 + int64(g)*104729) % end
				v, err := s.Read(off, 1+(i%64)*4096, 1<<62, true)
				if err != nil {
					errs <- err
					return
				}
				if len(v.Data) == 0 {
					errs <- errGap
					return
				}
				if err := verifyView(v.Data, off); err != nil {
					errs <- err
					return
				}
				reads.Add(1)
				bytesRead.Add(int64(len(v.Data)))
				// Hold some views across remaps and the seal.
				if i%17 == 0 && len(held) < 8 {
					held = append(held, v)
				} else {
					v.Release()
				}
			}
			for _, v := range held {
				if err := verifyView(v.Data, 0); err != nil && err != errGap {
					errs <- err
				}
				v.Release()
			}
		}()
	}
	for i, b := range batches {
		_, err := s.Append(b, header(t, b))
		require.NoError(t, err)
		if i%100 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	require.Greater(t, s.Size(), int64(4*minMapBytes), "grew the mapping several times")
	require.NoError(t, s.Seal())
	time.Sleep(5 * time.Millisecond)
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Positive(t, reads.Load())
	t.Logf("%d reads, %d bytes", reads.Load(), bytesRead.Load())
	s.mapsMu.Lock()
	live := s.liveMaps
	s.mapsMu.Unlock()
	require.Equal(t, 1, live, "retired mappings were unmapped")
}

func TestTruncateWaitsForViews(t *testing.T) {
	s, err := Create(t.TempDir(), 0, smallConfig())
	require.NoError(t, err)
	defer s.Close()
	bs := appendBatches(t, s, 50, 3, 100, 0)
	v, err := s.Read(bs[40].base, 1<<20, 1<<62, false)
	require.NoError(t, err)
	truncated := make(chan error)
	go func() { truncated <- s.TruncateTo(bs[30].pos) }()
	select {
	case err := <-truncated:
		t.Fatalf("TruncateTo returned under a View: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	// Unpublished already: new readers see the new end.
	require.Equal(t, bs[30].base, s.NextOffset())
	require.Equal(t, concat(bs[40:]), v.Data)
	v.Release()
	require.NoError(t, <-truncated)
	require.Equal(t, bs[30].pos, s.Size())
}

func TestConcurrentLazyLoadAndEvict(t *testing.T) {
	dir := t.TempDir()
	s, err := Create(dir, 0, smallConfig())
	require.NoError(t, err)
	bs := appendBatches(t, s, 100, 3, 100, 0)
	require.NoError(t, s.Seal())
	require.NoError(t, s.Close())
	s = reopen(t, dir, 0, smallConfig(), false)
	var wg sync.WaitGroup
	var failed atomic.Value
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				b := bs[(i*31+g)%len(bs)]
				v, err := s.Read(b.base, 1, 1<<62, true)
				if err != nil {
					failed.Store(err)
					return
				}
				if string(v.Data) != string(b.data) {
					failed.Store(errGap)
				}
				v.Release()
			}
		}()
	}
	for range 50 {
		require.NoError(t, s.Evict())
		time.Sleep(100 * time.Microsecond)
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		t.Fatal(err)
	}
}

package partition

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/record"
)

// fixCRC recomputes the CRC of the batch after a test edited it.
func fixCRC(b []byte) []byte {
	binary.BigEndian.PutUint32(b[17:], record.ComputeCRC(b))
	return b
}

func TestAppendValidation(t *testing.T) {
	good := func(t *testing.T) []byte { return makeBatch(t, "k", 0, 3, 16, 1000) }
	tests := []struct {
		name  string
		batch func(t *testing.T) []byte
		want  []error
	}{
		{"short header", func(t *testing.T) []byte { return good(t)[:20] },
			[]error{ErrInvalidRecord, record.ErrTruncated}},
		{"bad magic", func(t *testing.T) []byte { b := good(t); b[16] = 1; return b },
			[]error{ErrInvalidRecord, record.ErrUnsupportedMagic}},
		{"crc mismatch", func(t *testing.T) []byte { b := good(t); b[len(b)-1] ^= 0xff; return b },
			[]error{ErrInvalidRecord, record.ErrCRC, record.ErrCorrupt}},
		{"truncated", func(t *testing.T) []byte { b := good(t); return b[:len(b)-1] },
			[]error{ErrInvalidRecord, record.ErrTruncated}},
		{"two batches", func(t *testing.T) []byte { return append(good(t), good(t)...) },
			[]error{ErrInvalidRecord}},
		{"count above offset range", func(t *testing.T) []byte {
			b := good(t)
			binary.BigEndian.PutUint32(b[57:], 4)
			return fixCRC(b)
		}, []error{ErrInvalidRecord}},
		{"offset range above count", func(t *testing.T) []byte {
			b := good(t)
			binary.BigEndian.PutUint32(b[23:], 5)
			return fixCRC(b)
		}, []error{ErrInvalidRecord}},
		{"no records", func(t *testing.T) []byte {
			b := good(t)
			binary.BigEndian.PutUint32(b[23:], 0)
			binary.BigEndian.PutUint32(b[57:], 0)
			return fixCRC(b)
		}, []error{ErrInvalidRecord}},
		{"control batch", func(t *testing.T) []byte {
			return record.AppendControlBatch(nil, record.ControlCommit, 7, 0, 0, 1000)
		}, []error{ErrInvalidRecord}},
		{"producer id without sequence", func(t *testing.T) []byte {
			b := good(t)
			binary.BigEndian.PutUint64(b[43:], 7)
			return fixCRC(b)
		}, []error{ErrInvalidRecord}},
		{"transactional without producer id", func(t *testing.T) []byte {
			b := good(t)
			b[22] |= 0x10
			return fixCRC(b)
		}, []error{ErrInvalidRecord}},
		{"transactional (not supported yet)", func(t *testing.T) []byte {
			var enc record.Encoder
			b, err := enc.AppendBatch(nil, []record.Record{{Value: []byte("v")}}, record.BatchOptions{
				Idempotent: true, ProducerID: 7, Transactional: true})
			require.NoError(t, err)
			return b
		}, []error{ErrInvalidRecord}},
		{"log append time from producer", func(t *testing.T) []byte {
			b := good(t)
			b[22] |= 0x08
			return fixCRC(b)
		}, []error{ErrInvalidTimestamp, ErrInvalidRecord}},
		{"too large", func(t *testing.T) []byte { return makeBatch(t, "k", 0, 1, 2000, 1000) },
			[]error{ErrRecordTooLarge}},
		{"too large and corrupt", func(t *testing.T) []byte {
			b := makeBatch(t, "k", 0, 1, 2000, 1000)
			b[len(b)-1] ^= 0xff
			return b
		}, []error{ErrRecordTooLarge}},
	}
	p := openPartition(t, t.TempDir(), &Config{MaxMessageBytes: 1024})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := p.Append(tc.batch(t))
			require.Error(t, err)
			for _, want := range tc.want {
				require.ErrorIs(t, err, want)
			}
			if !errors.Is(err, ErrInvalidRecord) {
				require.ErrorIs(t, err, ErrRecordTooLarge)
			}
			require.Contains(t, err.Error(), "partition: ")
			require.Equal(t, AppendResult{BaseOffset: -1, LastOffset: -1, LogAppendTime: -1, LogStartOffset: -1}, res)
		})
	}
	require.Zero(t, p.LogEndOffset(), "a rejected batch was appended")

	// The accepted shapes: a producer's batch, with any base offset
	// (overwritten), and an idempotent one (a new producer ID: any
	// sequence).
	b := good(t)
	binary.BigEndian.PutUint64(b[0:], 12345)
	res, err := p.Append(b)
	require.NoError(t, err)
	require.Equal(t, AppendResult{BaseOffset: 0, LastOffset: 2, LogAppendTime: -1, LogStartOffset: 0}, res)
	var enc record.Encoder
	b, err = enc.AppendBatch(nil, []record.Record{{Value: []byte("v")}}, record.BatchOptions{Idempotent: true, ProducerID: 7})
	require.NoError(t, err)
	res, err = p.Append(b)
	require.NoError(t, err)
	require.Equal(t, int64(3), res.BaseOffset)
	// The exact limit is accepted.
	b = makeBatch(t, "k", 0, 1, 16, 0)
	q := openPartition(t, t.TempDir(), &Config{MaxMessageBytes: int32(len(b))})
	_, err = q.Append(b)
	require.NoError(t, err)
}

func TestLogAppendTime(t *testing.T) {
	clock := time.UnixMilli(1_700_000_000_123)
	p := openPartition(t, t.TempDir(), &Config{LogAppendTime: true, Now: func() time.Time { return clock }})
	b := makeBatch(t, "k", 0, 3, 16, 1000)
	res, err := p.Append(b)
	require.NoError(t, err)
	require.Equal(t, clock.UnixMilli(), res.LogAppendTime)
	require.NoError(t, p.Flush())

	got, fr := fetchNow(t, p, 0)
	require.Len(t, got, 3)
	for i, r := range got {
		require.Equal(t, int64(i), r.offset)
		require.Equal(t, clock.UnixMilli(), r.ts, "record %d", i)
	}
	h, err := record.CheckBatch(b) // the caller's bytes were stamped in place, CRC valid
	require.NoError(t, err)
	require.True(t, h.Attributes.LogAppendTime())
	require.Equal(t, clock.UnixMilli(), h.MaxTimestamp)
	require.Equal(t, int64(3), fr.HighWatermark)

	// CreateTime keeps the producer's timestamps.
	q := openPartition(t, t.TempDir(), nil)
	res, err = q.Append(makeBatch(t, "k", 0, 3, 16, 1000))
	require.NoError(t, err)
	require.Equal(t, int64(-1), res.LogAppendTime)
	require.NoError(t, q.Flush())
	got, _ = fetchNow(t, q, 0)
	require.Equal(t, []int64{1000, 1001, 1002}, []int64{got[0].ts, got[1].ts, got[2].ts})
}

func TestAppendAllocs(t *testing.T) {
	for _, lat := range []bool{false, true} {
		t.Run(fmt.Sprintf("logAppendTime=%v", lat), func(t *testing.T) {
			dirty := 0
			p := openPartition(t, t.TempDir(), &Config{LogAppendTime: lat, OnDirty: func(*Partition) { dirty++ }})
			b := makeBatch(t, "k", 0, 10, 100, 1000)
			_, err := p.Append(slices.Clone(b)) // warm up: mappings, index
			require.NoError(t, err)
			allocs := testing.AllocsPerRun(500, func() {
				if lat { // a producer's batch has no LogAppendTime bit
					b[22] &^= 0x08
					fixCRC(b)
				}
				if _, err := p.Append(b); err != nil {
					t.Fatal(err)
				}
			})
			require.Zero(t, allocs)
			require.Equal(t, 1, dirty)
		})
	}
}

func TestOnDirtyOncePerDirtyPeriod(t *testing.T) {
	var calls []int64
	var p *Partition
	p = openPartition(t, t.TempDir(), &Config{OnDirty: func(q *Partition) {
		require.Same(t, p, q)
		calls = append(calls, q.LogEndOffset())
	}})
	appendN(t, p, "k", 0, 5, 2)
	require.Equal(t, []int64{2}, calls)
	require.True(t, p.Stats().Dirty)

	require.NoError(t, p.Flush())
	require.False(t, p.Stats().Dirty)
	require.NoError(t, p.Flush()) // nothing to do
	appendN(t, p, "k", 10, 3, 2)
	require.Equal(t, []int64{2, 12}, calls)

	// Synced by the caller before the flusher came: the flusher still
	// finds the flag set, and Flush does no sync.
	require.NoError(t, p.Sync(t.Context()))
	syncs := p.Stats().Log.Syncs
	require.NoError(t, p.Flush())
	require.Equal(t, syncs, p.Stats().Log.Syncs)

	// Data synced by the log's own flush policy does not make the
	// partition dirty.
	calls = nil
	q := openPartition(t, t.TempDir(), &Config{Log: logFlushEvery(1), OnDirty: func(*Partition) { calls = append(calls, 0) }})
	appendN(t, q, "k", 0, 3, 1)
	require.Empty(t, calls)
	require.Equal(t, int64(3), q.HighWatermark())
}

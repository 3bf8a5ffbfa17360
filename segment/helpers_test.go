package segment

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/record"
)

// batchSpec describes an appended batch.
type batchSpec struct {
	base, last int64
	pos        int64
	maxTs      int64
	data       []byte
}

// makeBatch encodes n records of valueSize bytes at offsets base.., with
// timestamps ts, ts+1, ...
func makeBatch(t testing.TB, base int64, n, valueSize int, ts int64) []byte {
	t.Helper()
	var enc record.Encoder
	recs := make([]record.Record, n)
	for i := range recs {
		v := make([]byte, valueSize)
		if valueSize >= 8 {
			binary.BigEndian.PutUint64(v, uint64(base+int64(i)))
		}
		recs[i] = record.Record{Value: v, Timestamp: time.UnixMilli(ts + int64(i))}
	}
	b, err := enc.AppendBatch(nil, recs, record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch})
	require.NoError(t, err)
	record.PutBaseOffset(b, base)
	return b
}

func header(t testing.TB, b []byte) record.BatchHeader {
	t.Helper()
	h, err := record.CheckBatch(b)
	require.NoError(t, err)
	return h
}

// appendBatches appends count batches of 1..maxRecs records (deterministic)
// starting at s.NextOffset() with timestamps from ts0.
func appendBatches(t testing.TB, s *Segment, count, maxRecs, valueSize int, ts0 int64) []batchSpec {
	t.Helper()
	var out []batchSpec
	next := s.NextOffset()
	for i := range count {
		n := 1 + i%maxRecs
		b := makeBatch(t, next, n, valueSize, ts0+next)
		h := header(t, b)
		pos, err := s.Append(b, h)
		require.NoError(t, err)
		out = append(out, batchSpec{base: next, last: h.LastOffset(), pos: pos, maxTs: h.MaxTimestamp, data: b})
		next = h.NextOffset()
	}
	return out
}

// checkView checks v holds whole, CRC-valid batches and returns their headers.
func checkView(t testing.TB, data []byte) []record.BatchHeader {
	t.Helper()
	var hs []record.BatchHeader
	for len(data) > 0 {
		h, _, rest, err := record.NextBatch(data)
		require.NoError(t, err)
		hs = append(hs, h)
		data = rest
	}
	return hs
}

// concat joins the data of batches.
func concat(bs []batchSpec) []byte {
	var buf bytes.Buffer
	for _, b := range bs {
		buf.Write(b.data)
	}
	return buf.Bytes()
}

// writeLog creates the segment of base offset 0 in dir with count batches
// (1..4 records, 60-byte values, timestamp = 1000 + offset), seals it if
// seal, closes it and returns its batches.
func writeLog(t *testing.T, dir string, cfg Config, count int, seal bool) []batchSpec {
	t.Helper()
	s, err := Create(dir, 0, cfg)
	require.NoError(t, err)
	bs := appendBatches(t, s, count, 4, 60, 1_000)
	if seal {
		require.NoError(t, s.Seal())
	}
	require.NoError(t, s.Close())
	return bs
}

func smallConfig() Config {
	return Config{IndexIntervalBytes: 256, MaxIndexBytes: 64 << 10, PreallocateBytes: 64 << 10}
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms) }

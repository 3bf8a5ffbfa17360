package partition

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/log"
	"github.com/samsalog/samsa/record"
)

// openPartition opens a partition in dir and closes it at the end of the
// test.
func openPartition(t testing.TB, dir string, cfg *Config) *Partition {
	t.Helper()
	p, err := Open(dir, "orders", 3, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// makeBatch encodes n records with key key whose values carry the
// sequence numbers seq, seq+1, ... (8 bytes, padded to valueSize), with
// timestamps ts, ts+1, ...
func makeBatch(t testing.TB, key string, seq int64, n, valueSize int, ts int64) []byte {
	t.Helper()
	var enc record.Encoder
	recs := make([]record.Record, n)
	for i := range recs {
		v := make([]byte, max(valueSize, 8))
		binary.BigEndian.PutUint64(v, uint64(seq+int64(i)))
		recs[i] = record.Record{Key: []byte(key), Value: v, Timestamp: time.UnixMilli(ts + int64(i))}
	}
	b, err := enc.AppendBatch(nil, recs, record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch})
	require.NoError(t, err)
	return b
}

// rec is a decoded record: enough to check order and content.
type rec struct {
	offset int64
	key    string
	seq    int64
	ts     int64
}

// decodeAll decodes the batches in data, checking each batch's CRC, and
// returns the records at or past from.
func decodeAll(t testing.TB, data []byte, from int64) []rec {
	t.Helper()
	var d record.Decoder
	var recs []record.Record
	var out []rec
	for len(data) > 0 {
		h, batch, rest, err := record.NextBatch(data)
		require.NoError(t, err)
		_, recs, err = d.Decode(batch, recs[:0])
		require.NoError(t, err)
		require.Equal(t, int32(0), h.LeaderEpoch)
		for _, r := range recs {
			if r.Offset < from {
				continue
			}
			out = append(out, rec{offset: r.Offset, key: string(r.Key), seq: int64(binary.BigEndian.Uint64(r.Value)), ts: r.Timestamp.UnixMilli()})
		}
		data = rest
	}
	return out
}

// fetchNow fetches without waiting and decodes what it got.
func fetchNow(t testing.TB, p *Partition, offset int64) ([]rec, FetchResult) {
	t.Helper()
	res, err := p.Fetch(context.Background(), offset, 1, 1<<20, 0)
	require.NoError(t, err)
	defer res.View.Release()
	return decodeAll(t, res.View.Data, offset), res
}

// appendN appends count batches of n records each under key, numbered from
// seq, and returns the last result.
func appendN(t testing.TB, p *Partition, key string, seq int64, count, n int) AppendResult {
	t.Helper()
	var res AppendResult
	for i := range count {
		var err error
		res, err = p.Append(makeBatch(t, key, seq+int64(i*n), n, 16, time.Now().UnixMilli()))
		require.NoError(t, err)
	}
	return res
}

// logFlushEvery returns a log config that syncs every n messages.
func logFlushEvery(n int64) log.Config { return log.Config{FlushMessages: n} }

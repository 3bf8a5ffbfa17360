package consumer

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/record"
)

// snapshot is a deep copy of what a record returned by Poll held then.
type snapshot struct {
	offset     int64
	key, value []byte
	headers    []record.Header
}

func snap(r *record.Record) snapshot {
	s := snapshot{offset: r.Offset, key: bytes.Clone(r.Key), value: bytes.Clone(r.Value)}
	for _, h := range r.Headers {
		s.headers = append(s.headers, record.Header{Key: h.Key, Value: bytes.Clone(h.Value)})
	}
	return s
}

func requireIntact(t *testing.T, when string, recs []*record.Record, want []snapshot) {
	t.Helper()
	require.Len(t, recs, len(want))
	for i, r := range recs {
		got := snap(r)
		require.Equal(t, want[i], got, "%s: record %d (offset %d)", when, i, want[i].offset)
	}
}

// TestPolledRecordsOwnTheirBytes checks that records returned by Poll stay
// intact (key, value, header values) after later Polls, after Polls that
// reread the same data through the consumer's reused buffers (a Seek back,
// with MaxPollRecords cutting through batches so that decoded records wait
// in the partition's buffer), after Close, and after the broker is closed
// (the log unmapped). Both uncompressed batches (copied out of the mapping)
// and compressed ones (decompressed into fresh buffers) are covered.
func TestPolledRecordsOwnTheirBytes(t *testing.T) {
	b := openBroker(t, "t", 1)
	part, err := b.Partition("t", 0)
	require.NoError(t, err)
	const n, batch = 400, 7
	var enc record.Encoder
	for i, nb := 0, 0; i < n; i, nb = i+batch, nb+1 {
		recs := make([]record.Record, min(batch, n-i))
		for j := range recs {
			o := i + j
			recs[j] = record.Record{
				Key:   []byte(fmt.Sprintf("key-%d", o)),
				Value: bytes.Repeat([]byte{byte(o)}, 50+o%40),
			}
			if o%3 == 0 {
				recs[j].Headers = []record.Header{{Key: "h", Value: []byte(fmt.Sprintf("hv-%d", o))}}
			}
		}
		opts := record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch}
		if nb%3 == 2 {
			opts.Compression = record.CompressionGzip
		}
		buf, err := enc.AppendBatch(nil, recs, opts)
		require.NoError(t, err)
		res, err := part.Append(buf)
		require.NoError(t, err)
		require.NoError(t, part.WaitSynced(context.Background(), res.LastOffset))
	}

	c, err := New(b, &Config{AutoOffsetReset: OffsetResetEarliest, MaxPollRecords: 5})
	require.NoError(t, err)
	require.NoError(t, c.Assign([]TopicPartition{tp("t", 0)}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Keep every Poll's result with a deep copy taken at once.
	var kept []*record.Record
	var want []snapshot
	for len(kept) < n {
		recs, err := c.Poll(ctx)
		require.NoError(t, err)
		require.LessOrEqual(t, len(recs), 5)
		for _, r := range recs {
			kept = append(kept, r)
			want = append(want, snap(r))
		}
	}
	for i, s := range want {
		require.Equal(t, int64(i), s.offset)
		require.Equal(t, fmt.Sprintf("key-%d", i), string(s.key))
	}
	requireIntact(t, "after the Polls", kept, want)

	// Reread everything twice, from offset 0 and from mid-batch offsets, so
	// that the consumer's buffers and slabs are reused; the first records
	// must not change.
	for _, from := range []int64{0, 3, 200} {
		require.NoError(t, c.Seek(tp("t", 0), from))
		again := pollN(t, c, n-int(from), 10*time.Second)
		for i, r := range again {
			require.Equal(t, want[int(from)+i], snap(r), "reread from %d", from)
		}
		requireIntact(t, fmt.Sprintf("after rereading from %d", from), kept, want)
	}

	require.NoError(t, c.Close())
	requireIntact(t, "after Close", kept, want)
	require.NoError(t, b.Close())
	requireIntact(t, "after the broker's Close", kept, want)
}

package consumer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/record"
)

// TestReuseRecords: with ReuseRecords, each Poll returns the right records
// (every field, none left over from the record the struct held before),
// records stay intact until the next Poll even across a Seek, and later
// Polls reuse the same record structs.
func TestReuseRecords(t *testing.T) {
	b := openBroker(t, "t", 1)
	part, err := b.Partition("t", 0)
	require.NoError(t, err)
	var enc record.Encoder
	const n, batch = 600, 40
	for i := 0; i < n; i += batch {
		recs := make([]record.Record, batch)
		for j := range recs {
			off := i + j
			recs[j] = record.Record{Value: []byte(fmt.Sprintf("v%d", off)), Timestamp: time.UnixMilli(int64(1_700_000_000_000 + off))}
			if off < n/2 {
				recs[j].Key = []byte(fmt.Sprintf("k%d", off))
				recs[j].Headers = []record.Header{{Key: "h", Value: []byte(fmt.Sprint(off))}}
			}
		}
		buf, err := enc.AppendBatch(nil, recs, record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch})
		require.NoError(t, err)
		res, err := part.Append(buf)
		require.NoError(t, err)
		require.NoError(t, part.WaitSynced(context.Background(), res.LastOffset))
	}

	c, err := New(b, &Config{AutoOffsetReset: OffsetResetEarliest, MaxPollRecords: 25, ReuseRecords: true})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Assign([]TopicPartition{tp("t", 0)}))
	ctx := context.Background()
	check := func(r *record.Record, off int64) {
		t.Helper()
		require.Equal(t, off, r.Offset)
		require.Equal(t, "t", r.Topic)
		require.Equal(t, fmt.Sprintf("v%d", off), string(r.Value))
		require.Equal(t, int64(1_700_000_000_000+off), r.Timestamp.UnixMilli())
		if off < n/2 {
			require.Equal(t, fmt.Sprintf("k%d", off), string(r.Key))
			require.Len(t, r.Headers, 1)
			require.Equal(t, fmt.Sprint(off), string(r.Headers[0].Value))
		} else {
			require.Nil(t, r.Key, "offset %d", off)
			require.Nil(t, r.Headers, "offset %d", off)
		}
	}
	structs := map[*record.Record]bool{}
	reused := 0
	next := int64(0)
	for next < n {
		recs, err := c.Poll(ctx)
		require.NoError(t, err)
		require.NotEmpty(t, recs)
		for _, r := range recs {
			check(r, next)
			if structs[r] {
				reused++
			}
			structs[r] = true
			next++
		}
		if next == 300 {
			// A Seek between Polls drops the partition's buffer: what the
			// last Poll returned stays intact until the next Poll.
			require.NoError(t, c.Seek(tp("t", 0), next))
			for i, r := range recs {
				check(r, next-int64(len(recs))+int64(i))
			}
		}
	}
	require.Positive(t, reused, "later Polls reuse the record structs")
	require.LessOrEqual(t, len(structs), 25+recSlabRecords)

	// A Records loop reads the same with reuse.
	require.NoError(t, c.Seek(tp("t", 0), 0))
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next = 0
	for r, err := range c.Records(rctx) {
		require.NoError(t, err)
		check(r, next)
		next++
		if next == n {
			break
		}
	}
}

// TestReuseRecordsPollAllocs: with ReuseRecords, a Poll that returns
// buffered records allocates nothing.
func TestReuseRecordsPollAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	b := openBroker(t, "t", 1)
	produce(t, b, "t", 0, 20_000, 100)
	c, err := New(b, &Config{AutoOffsetReset: OffsetResetEarliest, ReuseRecords: true})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Assign([]TopicPartition{tp("t", 0)}))
	ctx := context.Background()
	_, err = c.Poll(ctx) // warm up: slab, result slice
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := c.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}

// TestReuseRecordsNotForConsume: the handler API refuses ReuseRecords.
func TestReuseRecordsNotForConsume(t *testing.T) {
	b := openBroker(t, "t", 1)
	c, err := New(b, &Config{Group: "g", Topics: []string{"t"}, ReuseRecords: true})
	require.NoError(t, err)
	defer c.Close()
	require.ErrorIs(t, c.Consume(context.Background(), nil), ErrInvalidConfig)
}

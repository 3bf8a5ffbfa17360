package consumer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	samsa "github.com/samsalog/samsa"
	"github.com/samsalog/samsa/record"
)

// openBroker opens a broker in a temp dir with topic holding parts
// partitions, closed at cleanup.
func openBroker(t testing.TB, topic string, parts int32) *samsa.Broker {
	t.Helper()
	b, err := samsa.Open(t.TempDir(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	if topic != "" {
		require.NoError(t, b.CreateTopic(topic, &samsa.TopicConfig{Partitions: parts}))
	}
	return b
}

// produce appends n records to topic/p in batches of batch, values
// "p<p>-<offset-from-start+i>", and waits until they are synced (visible).
// It returns the offset of the first.
func produce(t testing.TB, b *samsa.Broker, topic string, p int32, n, batch int) int64 {
	t.Helper()
	part, err := b.Partition(topic, p)
	require.NoError(t, err)
	var enc record.Encoder
	first := int64(-1)
	start := part.LogEndOffset()
	for i := 0; i < n; i += batch {
		k := min(batch, n-i)
		recs := make([]record.Record, k)
		for j := range recs {
			recs[j] = record.Record{Key: []byte(fmt.Sprintf("k%d", j)), Value: []byte(fmt.Sprintf("p%d-%d", p, start+int64(i+j)))}
		}
		buf, err := enc.AppendBatch(nil, recs, record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch})
		require.NoError(t, err)
		res, err := part.Append(buf)
		require.NoError(t, err)
		if first < 0 {
			first = res.BaseOffset
		}
		require.NoError(t, part.WaitSynced(context.Background(), res.LastOffset))
	}
	return first
}

// pollN polls until n records arrived or the timeout passes.
func pollN(t testing.TB, c *Consumer, n int, timeout time.Duration) []*record.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []*record.Record
	for len(out) < n {
		recs, err := c.Poll(ctx)
		require.NoError(t, err, "after %d of %d records", len(out), n)
		out = append(out, recs...)
	}
	return out
}

func tp(topic string, p int32) TopicPartition { return TopicPartition{topic, p} }

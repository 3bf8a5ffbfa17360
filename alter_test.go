package samsa

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/partition"
)

// TestAlterTopicConfigLiveMaxMessageBytes: a lower max.message.bytes
// rejects the next larger append on every running partition, without a
// reopen; deleting the override lifts it again.
func TestAlterTopicConfigLiveMaxMessageBytes(t *testing.T) {
	b := openBroker(t, t.TempDir(), nil)
	require.NoError(t, b.CreateTopic("t", &TopicConfig{Partitions: 3}))
	big := func(seq int64) []byte { return makeBatch(t, "k", seq, 5, time.Now()) }
	require.Greater(t, len(big(0)), 100)
	for id := range int32(3) {
		p, err := b.Partition("t", id)
		require.NoError(t, err)
		_, err = p.Append(big(0))
		require.NoError(t, err)
	}

	require.NoError(t, b.AlterTopicConfig("t", map[string]string{"max.message.bytes": "100"}))
	for id := range int32(3) {
		p, err := b.Partition("t", id)
		require.NoError(t, err)
		_, err = p.Append(big(5))
		require.ErrorIs(t, err, partition.ErrRecordTooLarge, "partition %d", id)
		require.Equal(t, int64(5), p.LogEndOffset())
	}

	require.NoError(t, b.AlterTopicConfig("t", map[string]string{"max.message.bytes": ""}))
	p, err := b.Partition("t", 0)
	require.NoError(t, err)
	_, err = p.Append(big(5))
	require.NoError(t, err)
}

// TestAlterTopicConfigLiveTimestampTypeAndExpose: message.timestamp.type
// and samsa.unsafe.expose.unsynced apply to the next append.
func TestAlterTopicConfigLiveTimestampTypeAndExpose(t *testing.T) {
	clock := newTestClock(time.UnixMilli(1_700_000_000_000))
	b := openBroker(t, t.TempDir(), &Config{now: clock.Now, FlushInterval: time.Hour})
	require.NoError(t, b.CreateTopic("t", nil))
	p, err := b.Partition("t", 0)
	require.NoError(t, err)
	res, err := p.Append(makeBatch(t, "k", 0, 1, time.UnixMilli(1000)))
	require.NoError(t, err)
	require.Equal(t, int64(-1), res.LogAppendTime)
	require.Zero(t, p.HighWatermark(), "not synced yet: the flusher waits an hour")

	require.NoError(t, b.AlterTopicConfig("t", map[string]string{
		"message.timestamp.type":       "LogAppendTime",
		"samsa.unsafe.expose.unsynced": "true",
	}))
	require.Equal(t, int64(1), p.HighWatermark(), "exposed at once")
	res, err = p.Append(makeBatch(t, "k", 1, 1, time.UnixMilli(1000)))
	require.NoError(t, err)
	require.Equal(t, clock.Now().UnixMilli(), res.LogAppendTime)
	require.Equal(t, int64(2), p.HighWatermark())
}

// TestAlterTopicConfigLiveRetention: a lower retention.ms is applied by
// the broker's next background retention run, without a reopen.
func TestAlterTopicConfigLiveRetention(t *testing.T) {
	clock := newTestClock(time.Now())
	b := openBroker(t, t.TempDir(), &Config{
		RetentionCheckInterval: 5 * time.Millisecond,
		now:                    clock.Now,
	})
	require.NoError(t, b.CreateTopic("t", &TopicConfig{SegmentBytes: 200})) // retention.ms: 7 days
	p, err := b.Partition("t", 0)
	require.NoError(t, err)
	for i := range 10 {
		res, err := p.Append(makeBatch(t, "k", int64(i*3), 3, clock.Now()))
		require.NoError(t, err)
		require.NoError(t, p.WaitSynced(context.Background(), res.LastOffset))
	}
	require.Greater(t, p.Stats().Log.Segments, 3)

	clock.Advance(time.Hour)
	require.Never(t, func() bool { return p.LogStartOffset() != 0 },
		50*time.Millisecond, 5*time.Millisecond, "an hour is within the 7 days")

	require.NoError(t, b.AlterTopicConfig("t", map[string]string{"retention.ms": "60000"}))
	require.Eventually(t, func() bool { return p.LogStartOffset() == 30 },
		10*time.Second, time.Millisecond, "background retention did not apply the new retention.ms")
	d, err := b.DescribeTopic("t")
	require.NoError(t, err)
	require.Equal(t, time.Minute, d.Config.RetentionMs)
	require.Equal(t, 1, d.PartitionDetails[0].Segments)
}

package samsa

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/group"
)

func TestBrokerConsumerOffsetsTopic(t *testing.T) {
	dir := t.TempDir()
	b := openBroker(t, dir, &Config{OffsetsTopicPartitions: 3})

	d, err := b.DescribeTopic(ConsumerOffsetsTopic)
	require.NoError(t, err)
	require.True(t, d.Internal)
	require.Equal(t, int32(3), d.Partitions)
	require.Equal(t, CleanupCompact, d.Config.CleanupPolicy)
	names, err := b.ListTopics()
	require.NoError(t, err)
	require.Empty(t, names, "ListTopics hides internal topics")
	_, err = b.PartitionForProduce(ConsumerOffsetsTopic, 0)
	require.ErrorIs(t, err, ErrInternalTopic)
	_, err = b.Partition(ConsumerOffsetsTopic, 0)
	require.ErrorIs(t, err, ErrInternalTopic)
	require.ErrorIs(t, b.CreatePartitions(ConsumerOffsetsTopic, 5), ErrInternalTopic)

	// Commits go to the offsets topic and survive a restart.
	require.NoError(t, b.CreateTopic("orders", &TopicConfig{Partitions: 2}))
	p0, err := b.Partition("orders", 0)
	require.NoError(t, err)
	appendSynced(t, p0, "k", 0, 10)
	c := b.Coordinator()
	ctx := context.Background()
	res, err := c.Join(ctx, group.JoinRequest{Group: "billing", Topics: []string{"orders"}, Assignors: []group.Assignor{group.Range()}})
	require.NoError(t, err)
	require.Equal(t, []group.TopicPartitions{{Topic: "orders", Partitions: []int32{0, 1}}}, res.Assignment)
	require.NoError(t, c.Commit(ctx, "billing", res.MemberID, res.Generation,
		map[group.TopicPartition]group.OffsetAndMetadata{{Topic: "orders", Partition: 0}: {Offset: 4, Metadata: "m"}}))
	d, err = b.DescribeTopic(ConsumerOffsetsTopic)
	require.NoError(t, err)
	var written int64
	for _, pd := range d.PartitionDetails {
		written += pd.LogEndOffset
	}
	require.Equal(t, int64(1), written)

	lag, err := b.GroupLag("billing")
	require.NoError(t, err)
	require.Equal(t, int64(6), lag.Total)
	require.Equal(t, []group.PartitionLag{
		{TopicPartition: group.TopicPartition{Topic: "orders", Partition: 0}, MemberID: res.MemberID, Committed: 4, HighWatermark: 10, Lag: 6},
		{TopicPartition: group.TopicPartition{Topic: "orders", Partition: 1}, MemberID: res.MemberID, Committed: -1, HighWatermark: 0, Lag: -1},
	}, lag.Partitions)

	// Growing a subscribed topic rebalances the group.
	require.NoError(t, c.Heartbeat("billing", res.MemberID, res.Generation))
	require.NoError(t, b.CreatePartitions("orders", 3))
	require.ErrorIs(t, c.Heartbeat("billing", res.MemberID, res.Generation), group.ErrRebalanceInProgress)
	res2, err := c.Join(ctx, group.JoinRequest{Group: "billing", MemberID: res.MemberID, Topics: []string{"orders"},
		Assignors: []group.Assignor{group.Range()}, Owned: res.Assignment, Generation: res.Generation})
	require.NoError(t, err)
	require.Equal(t, []group.TopicPartitions{{Topic: "orders", Partitions: []int32{0, 1, 2}}}, res2.Assignment)

	require.NoError(t, b.Close())
	require.ErrorIs(t, c.Heartbeat("billing", res.MemberID, res2.Generation), group.ErrClosed)
	_, err = b.GroupLag("billing")
	require.ErrorIs(t, err, ErrClosed)

	// The next Open keeps the existing partition count and loads the
	// commit.
	b = openBroker(t, dir, nil)
	d, err = b.DescribeTopic(ConsumerOffsetsTopic)
	require.NoError(t, err)
	require.Equal(t, int32(3), d.Partitions)
	got, err := b.Coordinator().FetchOffsets("billing", nil)
	require.NoError(t, err)
	require.Len(t, got, 1)
	o := got[group.TopicPartition{Topic: "orders", Partition: 0}]
	require.Equal(t, int64(4), o.Offset)
	require.Equal(t, "m", o.Metadata)
}

package samsa

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/group"
)

// TestBrokerCompactsOffsetsTopic: the retention ticker compacts
// __consumer_offsets once commits pass the trigger (16 MiB by default),
// and the next Open replays the same offsets from the new log start.
func TestBrokerCompactsOffsetsTopic(t *testing.T) {
	dir := t.TempDir()
	cfg := &Config{RetentionCheckInterval: 10 * time.Millisecond}
	b := openBroker(t, dir, cfg)
	require.NoError(t, b.CreateTopic("orders", &TopicConfig{Partitions: 16}))
	c := b.Coordinator()
	ctx := context.Background()
	off, err := b.lookupPartition(ConsumerOffsetsTopic, 0)
	require.NoError(t, err)

	// Commits of 16 offsets with 4000 bytes of metadata each, ~64 KiB a
	// commit, until the ticker compacts (at 16 MiB, 2x the live set being
	// smaller).
	meta := strings.Repeat("m", 4000)
	commits := 0
	for off.LogStartOffset() == 0 {
		require.Less(t, commits, 1000, "no compaction after %d commits", commits)
		m := make(map[group.TopicPartition]group.OffsetAndMetadata, 16)
		for p := range int32(16) {
			m[group.TopicPartition{Topic: "orders", Partition: p}] = group.OffsetAndMetadata{Offset: int64(commits), Metadata: meta}
		}
		require.NoError(t, c.Commit(ctx, "billing", "", -1, m))
		commits++
	}
	// Not before the trigger: the metadata alone is 97.5 % of each
	// record (keys and headers are the rest).
	require.GreaterOrEqual(t, int64(commits)*16*4000, int64(group.DefaultCompactionMinBytes)*95/100)
	require.Zero(t, b.Stats().RetentionErrors)
	want, err := c.FetchOffsets("billing", nil)
	require.NoError(t, err)
	require.Len(t, want, 16)

	// An explicit compaction, then a reopen: the replay reads from the log
	// start, a snapshot of 16 records and the commits after it.
	_, err = c.CompactOffsets(ctx)
	require.NoError(t, err)
	start := off.LogStartOffset()
	require.Equal(t, off.LogEndOffset()-16, start)
	require.NoError(t, b.Close())

	b = openBroker(t, dir, cfg)
	off, err = b.lookupPartition(ConsumerOffsetsTopic, 0)
	require.NoError(t, err)
	require.Equal(t, start, off.LogStartOffset())
	got, err := b.Coordinator().FetchOffsets("billing", nil)
	require.NoError(t, err)
	require.Len(t, got, 16)
	for tp, o := range want {
		require.Equal(t, o.Offset, got[tp].Offset, "%v", tp)
		require.Equal(t, o.Metadata, got[tp].Metadata, "%v", tp)
		require.True(t, o.CommitTime.Equal(got[tp].CommitTime), "%v", tp)
	}
}

package group

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/log"
	"github.com/samsalog/samsa/partition"
	"github.com/samsalog/samsa/record"
)

// BenchmarkReplay measures NewCoordinator's replay of an offsets partition
// holding the given number of commits (one record each, auto-commit style:
// 10 groups of 10 partitions committing over and over), before and after a
// compaction. It reports the bytes the partition holds on disk, with
// segments of 1 MiB.
func BenchmarkReplay(b *testing.B) {
	for _, commits := range []int{10_000, 100_000} {
		for _, compacted := range []bool{false, true} {
			b.Run(fmt.Sprintf("commits=%d/compacted=%v", commits, compacted), func(b *testing.B) {
				dir := b.TempDir()
				p, err := partition.Open(filepath.Join(dir, "__consumer_offsets-0"), "__consumer_offsets", 0,
					&partition.Config{Log: log.Config{SegmentBytes: 1 << 20}})
				require.NoError(b, err)
				parts := []*partition.Partition{p}
				fillOffsets(b, parts[0], commits)
				cfg := &CoordinatorConfig{Offsets: parts, PartitionCount: func(string) int32 { return 10 }}
				if compacted {
					c, err := NewCoordinator(cfg)
					require.NoError(b, err)
					_, err = c.CompactOffsets(context.Background())
					require.NoError(b, err)
					require.NoError(b, c.Close())
				}
				for b.Loop() {
					c, err := NewCoordinator(cfg)
					if err != nil {
						b.Fatal(err)
					}
					_ = c.Close()
				}
				st := parts[0].Stats()
				b.ReportMetric(float64(st.Log.Bytes), "disk-bytes")
				b.ReportMetric(float64(st.LogEndOffset-st.LogStartOffset), "replayed-records")
				closeOffsets(b, parts)
			})
		}
	}
}

// fillOffsets appends n offset commit records to p, 100 a batch, without
// the coordinator (and its sync per commit).
func fillOffsets(tb testing.TB, p *partition.Partition, n int) {
	tb.Helper()
	var enc record.Encoder
	now := time.Now().Truncate(time.Millisecond)
	for i := 0; i < n; i += 100 {
		recs := make([]record.Record, 0, 100)
		for j := i; j < min(i+100, n); j++ {
			g, tp := fmt.Sprintf("group-%d", j%10), TopicPartition{"topic", int32(j / 10 % 10)}
			recs = append(recs, record.Record{
				Key:       appendOffsetKey(nil, g, tp.Topic, tp.Partition),
				Value:     appendOffsetValue(nil, OffsetAndMetadata{Offset: int64(j), CommitTime: now}),
				Timestamp: now,
			})
		}
		batch, err := enc.AppendBatch(nil, recs, record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch})
		require.NoError(tb, err)
		_, err = p.Append(batch)
		require.NoError(tb, err)
	}
	require.NoError(tb, p.Sync(context.Background()))
}

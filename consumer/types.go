package consumer

import (
	"cmp"
	"fmt"
	"slices"
)

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String returns "topic-partition", Kafka's spelling.
func (tp TopicPartition) String() string { return fmt.Sprintf("%s-%d", tp.Topic, tp.Partition) }

func compareTP(a, b TopicPartition) int {
	if c := cmp.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}

func sortTPs(tps []TopicPartition) []TopicPartition {
	slices.SortFunc(tps, compareTP)
	return tps
}

// Offset is a committed offset: the offset of the next record to consume
// (the last one processed plus one), with the leader epoch of the last
// consumed record (-1 if unknown) and an application's metadata string
// (at most 4096 bytes, offset.metadata.max.bytes).
type Offset struct {
	Offset      int64
	LeaderEpoch int32
	Metadata    string
}

// PartitionLag is the lag of one partition of a group.
type PartitionLag struct {
	// HighWatermark is the partition's high watermark.
	HighWatermark int64
	// Committed is the group's committed offset, -1 if none.
	Committed int64
	// Lag is HighWatermark minus Committed; with no committed offset,
	// HighWatermark minus the log start offset (everything retained is
	// unconsumed).
	Lag int64
}

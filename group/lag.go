package group

import (
	"fmt"
	"slices"
)

// PartitionLag is one partition's lag in a group (a line of
// kafka-consumer-groups --describe).
type PartitionLag struct {
	TopicPartition
	// MemberID is the member the partition is assigned to in the current
	// generation, "" if none.
	MemberID string
	// Committed is the group's committed offset, -1 if none.
	Committed int64
	// HighWatermark is the partition's high watermark, -1 if unknown
	// (the topic or partition no longer exists).
	HighWatermark int64
	// Lag is HighWatermark - Committed, at least 0; -1 when either is
	// unknown.
	Lag int64
}

// GroupLag is a group's lag: per partition, and in total.
type GroupLag struct {
	Group string
	// Partitions are the partitions the group has a committed offset for
	// or has assigned to a member, sorted by topic and partition.
	Partitions []PartitionLag
	// Total is the sum of the known lags (Lag >= 0).
	Total int64
}

// Lag returns the lag of group name: for every partition it has a
// committed offset for or assigned to a member, the high watermark minus
// the committed offset. highWatermark returns a partition's high
// watermark, false if it does not exist; it is called without the
// coordinator's locks held. The Broker's GroupLag passes its partitions'
// high watermarks. Errors: ErrUnknownGroup, ErrClosed.
func (c *Coordinator) Lag(name string, highWatermark func(topic string, partition int32) (int64, bool)) (GroupLag, error) {
	g, err := c.lockGroup(name, false)
	if err != nil {
		return GroupLag{}, err
	}
	if g == nil {
		return GroupLag{}, fmt.Errorf("%w: %q", ErrUnknownGroup, name)
	}
	rows := make(map[TopicPartition]*PartitionLag)
	row := func(tp TopicPartition) *PartitionLag {
		r := rows[tp]
		if r == nil {
			r = &PartitionLag{TopicPartition: tp, Committed: -1, HighWatermark: -1, Lag: -1}
			rows[tp] = r
		}
		return r
	}
	for tp, e := range g.offsets {
		row(tp).Committed = e.Offset
	}
	for _, m := range g.members {
		for _, tps := range m.assignment {
			for _, p := range tps.Partitions {
				row(TopicPartition{Topic: tps.Topic, Partition: p}).MemberID = m.id
			}
		}
	}
	g.mu.Unlock()

	out := GroupLag{Group: name, Partitions: make([]PartitionLag, 0, len(rows))}
	for _, r := range rows {
		if hw, ok := highWatermark(r.Topic, r.Partition); ok {
			r.HighWatermark = hw
			if r.Committed >= 0 {
				r.Lag = max(hw-r.Committed, 0)
				out.Total += r.Lag
			}
		}
		out.Partitions = append(out.Partitions, *r)
	}
	slices.SortFunc(out.Partitions, func(a, b PartitionLag) int {
		return compareTopicPartitions(a.TopicPartition, b.TopicPartition)
	})
	return out, nil
}

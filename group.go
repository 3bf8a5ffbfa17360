package samsa

// The broker's group coordinator: the internal topic __consumer_offsets
// and the group.Coordinator over its partitions.
//
// Open creates the topic (compacted, Config.OffsetsTopicPartitions
// partitions) if it does not exist, then builds the coordinator, which
// replays the topic to load the committed offsets. Close closes the
// coordinator first, before the partitions, so no commit starts on a
// closing partition. Topic changes tell the coordinator (PartitionsChanged)
// so that groups subscribed to the topic rebalance. The topic is compacted
// by the coordinator, not by a log cleaner: the retention ticker calls
// group.Coordinator.MaybeCompactOffsets (background.go).

import (
	"fmt"

	"github.com/samsalog/samsa/group"
)

// offsetsSegmentBytes is offsets.topic.segment.bytes, Kafka's default: the
// offsets topic rolls sooner than user topics, for compaction (a segment
// is deleted once a compaction cuts the log past its end).
const offsetsSegmentBytes = 100 << 20

// openCoordinator creates the offsets topic if needed and starts the group
// coordinator. Called by Open once the partitions are open.
func (b *Broker) openCoordinator() error {
	t := b.topicMap()[ConsumerOffsetsTopic]
	if t == nil {
		var err error
		t, err = b.createTopic(ConsumerOffsetsTopic, &TopicConfig{
			Partitions:    b.cfg.OffsetsTopicPartitions,
			CleanupPolicy: CleanupCompact,
			SegmentBytes:  offsetsSegmentBytes,
		})
		if err != nil {
			return fmt.Errorf("samsa: create %s: %w", ConsumerOffsetsTopic, err)
		}
	} else if n := int32(len(t.parts)); n != b.cfg.OffsetsTopicPartitions {
		b.logger.Info("samsa: keeping the existing partition count of the offsets topic",
			"topic", ConsumerOffsetsTopic, "partitions", n, "configured", b.cfg.OffsetsTopicPartitions)
	}
	c, err := group.NewCoordinator(&group.CoordinatorConfig{
		Offsets:        t.parts,
		PartitionCount: b.userPartitionCount,
		Now:            b.cfg.now,
		Logger:         b.logger,
	})
	if err != nil {
		return fmt.Errorf("samsa: start group coordinator: %w", err)
	}
	b.coord = c
	return nil
}

// userPartitionCount is the coordinator's PartitionCount: the partition
// count of a user topic, 0 for an unknown or internal one. It takes no
// lock.
func (b *Broker) userPartitionCount(topic string) int32 {
	t := b.topicMap()[topic]
	if t == nil || t.meta.internal() {
		return 0
	}
	return int32(len(t.parts))
}

// partitionsChanged tells the coordinator that topic was created, deleted
// or grown. Safe before the coordinator exists (Open creating the offsets
// topic).
func (b *Broker) partitionsChanged(topic string) {
	if b.coord != nil && !IsInternalTopic(topic) {
		b.coord.PartitionsChanged(topic)
	}
}

// Coordinator returns the broker's group coordinator, through which
// consumers join groups and commit offsets (package consumer uses it).
// It belongs to the broker: do not Close it. After the broker's Close its
// methods return group.ErrClosed.
func (b *Broker) Coordinator() *group.Coordinator { return b.coord }

// GroupLag returns the lag of the consumer group name: per partition it
// has committed an offset for or assigned to a member, the high watermark
// minus the committed offset, and the total. See group.Coordinator.Lag.
// Errors: group.ErrUnknownGroup, ErrClosed.
func (b *Broker) GroupLag(name string) (group.GroupLag, error) {
	if err := b.checkOpen(); err != nil {
		return group.GroupLag{}, err
	}
	return b.coord.Lag(name, func(topic string, p int32) (int64, bool) {
		part, err := b.lookupPartition(topic, p)
		if err != nil {
			return 0, false
		}
		return part.HighWatermark(), true
	})
}

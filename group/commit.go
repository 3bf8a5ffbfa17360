package group

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/samsalog/samsa/record"
)

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// OffsetAndMetadata is a committed offset (Kafka's OffsetAndMetadata).
type OffsetAndMetadata struct {
	// Offset is the offset of the next record to consume: the last
	// processed record's offset plus one.
	Offset int64
	// LeaderEpoch is the leader epoch of the last consumed record, -1 for
	// none.
	LeaderEpoch int32
	// Metadata is a free string kept with the offset, at most
	// CoordinatorConfig.MaxMetadataBytes bytes.
	Metadata string
	// CommitTime is when the coordinator stored the commit, to the
	// millisecond; set by the coordinator (a value passed in is ignored).
	CommitTime time.Time
}

// Commit stores offsets for group (Kafka's OffsetCommit), durably: the
// commit is appended to the group's partition of the offsets topic as one
// record batch (all of it or nothing), synced, and only then applied, so
// that FetchOffsets and a coordinator reopened after a crash agree with
// what Commit acknowledged.
//
// A member commits with the member ID and generation of its last Join, and
// only partitions of its assignment in that generation; while the group
// rebalances it may still commit for the generation that is ending. A
// commit with generation -1 and member ID "" is a simple (admin) commit
// (Kafka 8.4): it is allowed only while the group has no members, and
// creates the group if needed.
//
// A rejected commit is never applied and nothing of it is written:
// ErrUnknownMember (unknown member, or a simple commit into a group with
// members), ErrFencedInstance, ErrIllegalGeneration (an older or newer
// generation, or a generation for a group that does not exist),
// ErrNotAssigned (a partition outside the member's assignment),
// ErrInvalidCommit (also for a partition that does not exist),
// ErrMetadataTooLarge, ErrInvalidGroupID, ErrClosed,
// ctx.Err() (checked before the append: once appended, Commit waits for the
// sync, one bounded disk operation, whatever ctx does). The offsets
// partition's errors pass through (partition.ErrRecordTooLarge for a commit
// of more than about 10,000 partitions; log.ErrFailed): after an append or
// sync error the commit is not applied, but may survive in the log and be
// loaded by the next NewCoordinator.
//
// A commit also counts as a heartbeat of the member.
func (c *Coordinator) Commit(ctx context.Context, groupName, memberID string, generation int32, offsets map[TopicPartition]OffsetAndMetadata) error {
	return c.commit(ctx, groupName, memberID, generation, offsets, false)
}

// ResetOffsets sets offsets of the group name as an administrator does
// (kafka-consumer-groups --reset-offsets): a simple commit, allowed only
// when the group has no members. Errors: ErrGroupNotEmpty, and Commit's.
func (c *Coordinator) ResetOffsets(ctx context.Context, name string, offsets map[TopicPartition]OffsetAndMetadata) error {
	return c.commit(ctx, name, "", -1, offsets, true)
}

func (c *Coordinator) commit(ctx context.Context, name, memberID string, generation int32, offsets map[TopicPartition]OffsetAndMetadata, admin bool) error {
	if name == "" {
		return fmt.Errorf("%w: empty group", ErrInvalidGroupID)
	}
	tps := make([]TopicPartition, 0, len(offsets))
	for tp, o := range offsets {
		switch {
		case tp.Topic == "" || tp.Partition < 0 || o.Offset < 0:
			return fmt.Errorf("%w: topic %q partition %d offset %d", ErrInvalidCommit, tp.Topic, tp.Partition, o.Offset)
		case len(o.Metadata) > c.cfg.MaxMetadataBytes:
			return fmt.Errorf("%w: %d bytes for %s-%d, at most %d", ErrMetadataTooLarge, len(o.Metadata), tp.Topic, tp.Partition, c.cfg.MaxMetadataBytes)
		case len(tp.Topic) > 1<<15-1:
			return fmt.Errorf("%w: topic name of %d bytes", ErrInvalidCommit, len(tp.Topic))
		case tp.Partition >= c.cfg.PartitionCount(tp.Topic):
			return fmt.Errorf("%w: unknown topic or partition %s-%d", ErrInvalidCommit, tp.Topic, tp.Partition)
		}
		tps = append(tps, tp)
	}
	if len(name) > 1<<15-1 {
		return fmt.Errorf("%w: group name of %d bytes", ErrInvalidGroupID, len(name))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	simple := generation < 0 && memberID == ""
	g, err := c.lockGroup(name, simple)
	if err != nil {
		return err
	}
	if g == nil {
		if memberID != "" {
			return fmt.Errorf("%w: %q in group %q (no such group)", ErrUnknownMember, memberID, name)
		}
		return fmt.Errorf("%w: %d for group %q, which does not exist", ErrIllegalGeneration, generation, name)
	}
	if err := c.validateCommitLocked(g, memberID, generation, tps, simple, admin); err != nil {
		g.mu.Unlock()
		return err
	}
	if len(tps) == 0 {
		g.mu.Unlock()
		return nil
	}
	sortTopicPartitions(tps)
	now := c.cfg.Now().Truncate(time.Millisecond)
	recs := make([]record.Record, len(tps))
	vals := make([]OffsetAndMetadata, len(tps))
	for i, tp := range tps {
		o := offsets[tp]
		o.CommitTime = now
		vals[i] = o
		recs[i] = record.Record{
			Key:       appendOffsetKey(nil, name, tp.Topic, tp.Partition),
			Value:     appendOffsetValue(nil, o),
			Timestamp: now,
		}
	}
	// The append happens under the group's lock: no rebalance can end
	// between the checks above and the commit's place in the log, so a
	// commit is valid for the generation in force at its log position,
	// as in Kafka. The sync (possibly shared with other commits) happens
	// without it.
	//
	// Until it is applied the commit is in flight: a compaction of the
	// offsets partition (compact.go), which restates the group's offsets
	// under its lock, must restate these values, not the older ones in
	// g.offsets, or it would write the older value after this commit in
	// the log.
	res, err := c.appendRecords(g.op, recs)
	if err == nil {
		g.inflight = append(g.inflight, inflightCommit{base: res.BaseOffset, tps: tps, vals: vals})
	}
	g.mu.Unlock()
	if err != nil {
		return fmt.Errorf("group: commit for group %q: %w", name, err)
	}
	if c.testCommitAppended != nil {
		c.testCommitAppended()
	}
	err = g.op.p.WaitSynced(context.WithoutCancel(ctx), res.LastOffset)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeInflightLocked(res.BaseOffset)
	if err != nil {
		// The log is failed (or closed): no compaction can follow.
		return fmt.Errorf("group: commit for group %q: %w", name, err)
	}
	if g.dead {
		// Deleted (after our append: DeleteGroup's tombstones follow this
		// commit in the log, so replay deletes it too) or closed.
		return nil
	}
	for i, tp := range tps {
		at := res.BaseOffset + int64(i)
		if old, ok := g.offsets[tp]; !ok || old.logOffset < at {
			g.offsets[tp] = offsetEntry{OffsetAndMetadata: vals[i], logOffset: at}
		}
	}
	return nil
}

// removeInflightLocked forgets the in-flight commit appended at base (g.mu
// held).
func (g *group) removeInflightLocked(base int64) {
	for i := range g.inflight {
		if g.inflight[i].base == base {
			g.inflight = slices.Delete(g.inflight, i, i+1)
			return
		}
	}
}

// validateCommitLocked checks that the commit may be applied (g.mu held).
func (c *Coordinator) validateCommitLocked(g *group, memberID string, generation int32, tps []TopicPartition, simple, admin bool) error {
	if simple {
		if len(g.members) > 0 {
			if admin {
				return fmt.Errorf("%w: %q has %d members", ErrGroupNotEmpty, g.name, len(g.members))
			}
			return fmt.Errorf("%w: simple commit (generation -1, no member id) to group %q, which has %d members",
				ErrUnknownMember, g.name, len(g.members))
		}
		return nil
	}
	m, err := g.memberLocked(memberID)
	if err != nil {
		return err
	}
	if generation != g.generation {
		return fmt.Errorf("%w: %d for member %q of group %q, whose generation is %d",
			ErrIllegalGeneration, generation, memberID, g.name, g.generation)
	}
	for _, tp := range tps {
		if _, ok := m.assigned[tp]; !ok {
			return fmt.Errorf("%w: %s-%d to member %q of group %q in generation %d",
				ErrNotAssigned, tp.Topic, tp.Partition, memberID, g.name, generation)
		}
	}
	m.heard(time.Now())
	return nil
}

// memberLocked returns the member id of g, or ErrFencedInstance or
// ErrUnknownMember (g.mu held).
func (g *group) memberLocked(id string) (*member, error) {
	if m := g.members[id]; m != nil {
		return m, nil
	}
	if inst, ok := g.fenced[id]; ok {
		return nil, fmt.Errorf("%w: member %q of group %q was replaced by a newer member with instance id %q",
			ErrFencedInstance, id, g.name, inst)
	}
	return nil, fmt.Errorf("%w: %q in group %q", ErrUnknownMember, id, g.name)
}

// FetchOffsets returns the committed offsets of group for tps (Kafka's
// OffsetFetch); nil tps means every partition the group has an offset for.
// A partition without a committed offset is left out of the map; a group
// the coordinator does not know gives an empty map. Commit's acknowledged
// offsets are visible at once. The map is the caller's. Errors: ErrClosed.
func (c *Coordinator) FetchOffsets(group string, tps []TopicPartition) (map[TopicPartition]OffsetAndMetadata, error) {
	g, err := c.lockGroup(group, false)
	if err != nil {
		return nil, err
	}
	out := make(map[TopicPartition]OffsetAndMetadata)
	if g == nil {
		return out, nil
	}
	defer g.mu.Unlock()
	if tps == nil {
		for tp, e := range g.offsets {
			out[tp] = e.OffsetAndMetadata
		}
		return out, nil
	}
	for _, tp := range tps {
		if e, ok := g.offsets[tp]; ok {
			out[tp] = e.OffsetAndMetadata
		}
	}
	return out, nil
}

func compareTopicPartitions(a, b TopicPartition) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}

func sortTopicPartitions(tps []TopicPartition) { slices.SortFunc(tps, compareTopicPartitions) }

// cloneTopicPartitions deep-copies tps.
func cloneTopicPartitions(tps []TopicPartitions) []TopicPartitions {
	if tps == nil {
		return nil
	}
	out := make([]TopicPartitions, len(tps))
	for i, tp := range tps {
		out[i] = TopicPartitions{Topic: tp.Topic, Partitions: slices.Clone(tp.Partitions)}
	}
	return out
}

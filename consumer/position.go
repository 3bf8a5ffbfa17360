package consumer

import (
	"fmt"
	"time"

	samsa "github.com/samsalog/samsa"
	"github.com/samsalog/samsa/partition"
)

// NoOffset is what OffsetsForTimes gives a partition with no record at or
// after the time asked for (Kafka answers null).
const NoOffset = partition.NoOffset

// Seek sets the position of an assigned partition: the next Poll returns
// records from offset on. An offset out of range is found at the next
// fetch and handled per AutoOffsetReset. Errors: ErrNotAssigned; ErrClosed;
// ErrInvalidConfig for a negative offset.
func (c *Consumer) Seek(tp TopicPartition, offset int64) error {
	if offset < 0 {
		return fmt.Errorf("%w: seek %s to negative offset %d", ErrInvalidConfig, tp, offset)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	s := c.parts[tp]
	if s == nil {
		return fmt.Errorf("%w: %s", ErrNotAssigned, tp)
	}
	s.seekLocked(offset)
	s.dead = false
	c.signal()
	return nil
}

// SeekToBeginning moves the positions of tps (none: every assigned
// partition) to the log start offset, evaluated lazily at the next Poll or
// Position as in Kafka. Errors: ErrNotAssigned (nothing changes then).
func (c *Consumer) SeekToBeginning(tps ...TopicPartition) error {
	return c.seekReset(tps, OffsetResetEarliest)
}

// SeekToEnd moves the positions of tps (none: every assigned partition) to
// the high watermark, evaluated lazily at the next Poll or Position, so the
// consumer reads only records produced afterwards. Errors: ErrNotAssigned.
func (c *Consumer) SeekToEnd(tps ...TopicPartition) error {
	return c.seekReset(tps, OffsetResetLatest)
}

func (c *Consumer) seekReset(tps []TopicPartition, to OffsetReset) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if len(tps) == 0 {
		tps = c.ownedLocked()
	}
	for _, tp := range tps {
		if c.parts[tp] == nil {
			return fmt.Errorf("%w: %s", ErrNotAssigned, tp)
		}
	}
	for _, tp := range tps {
		s := c.parts[tp]
		s.seekLocked(-1)
		s.reset, s.dead = to, false
	}
	c.signal()
	return nil
}

// Position returns the offset of the next record Poll would return for an
// assigned partition, resolving it first if needed (committed offset, else
// AutoOffsetReset), as Kafka's position() does. Errors: ErrNotAssigned;
// ErrNoOffset with AutoOffsetReset none; ErrClosed.
func (c *Consumer) Position(tp TopicPartition) (int64, error) {
	c.mu.Lock()
	s := c.parts[tp]
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return 0, ErrClosed
	}
	if s == nil {
		return 0, fmt.Errorf("%w: %s", ErrNotAssigned, tp)
	}
	if err := c.resolvePositions(); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.pos < 0 {
		return 0, errWrap(tp, ErrNoOffset)
	}
	return s.pos, nil
}

// OffsetsForTimes returns, for each partition (assigned or not), the
// offset of its first record whose timestamp is at or after the time
// given, or NoOffset if no visible record is that recent (Kafka's
// offsetsForTimes). Seek to the result to replay from a point in time.
// Errors: samsa.ErrUnknownTopic; the partitions' I/O errors.
func (c *Consumer) OffsetsForTimes(times map[TopicPartition]time.Time) (map[TopicPartition]int64, error) {
	out := make(map[TopicPartition]int64, len(times))
	for tp, t := range times {
		p, err := c.b.Partition(tp.Topic, tp.Partition)
		if err != nil {
			return nil, fmt.Errorf("consumer: %s: %w", tp, err)
		}
		ts := max(t.UnixMilli(), 0)
		off, err := p.ListOffsets(ts)
		if err != nil {
			return nil, errWrap(tp, err)
		}
		out[tp] = off
	}
	return out, nil
}

// Lag returns the lag of each assigned partition: its high watermark minus
// the group's committed offset (see PartitionLag), read now. Without a
// Group, Committed is the consumer's position instead (-1 if unknown).
// Errors: the coordinator's; ErrClosed.
func (c *Consumer) Lag() (map[TopicPartition]PartitionLag, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	type pp struct {
		tp  TopicPartition
		p   *partition.Partition
		pos int64
	}
	var ps []pp
	for _, s := range c.order {
		ps = append(ps, pp{s.tp, s.p, s.pos})
	}
	c.mu.Unlock()
	var committed map[TopicPartition]Offset
	if c.coord != nil {
		tps := make([]TopicPartition, len(ps))
		for i, p := range ps {
			tps[i] = p.tp
		}
		var err error
		if committed, err = c.coord.fetchOffsets(c.cfg.Group, tps); err != nil {
			return nil, err
		}
	}
	out := make(map[TopicPartition]PartitionLag, len(ps))
	for _, p := range ps {
		at := p.pos
		if c.coord != nil {
			at = -1
			if o, ok := committed[p.tp]; ok {
				at = o.Offset
			}
		}
		out[p.tp] = lagOf(p.p, at)
	}
	return out, nil
}

// lagOf computes a partition's lag for a committed offset (-1: none).
func lagOf(p *partition.Partition, committed int64) PartitionLag {
	hw := p.HighWatermark()
	from := committed
	if from < 0 {
		from = p.LogStartOffset()
	}
	return PartitionLag{HighWatermark: hw, Committed: committed, Lag: max(hw-from, 0)}
}

// GroupLag returns the lag of a consumer group over every partition of
// topics: each partition's high watermark minus the group's committed
// offset (see PartitionLag), and their sum. It needs no member of the
// group to be running. Errors: ErrGroupUnavailable; samsa.ErrUnknownTopic;
// the coordinator's.
func GroupLag(b *samsa.Broker, groupID string, topics ...string) (map[TopicPartition]PartitionLag, int64, error) {
	coord := brokerCoordinator(b)
	if coord == nil {
		return nil, 0, ErrGroupUnavailable
	}
	var tps []TopicPartition
	var ps []*partition.Partition
	for _, t := range topics {
		d, err := b.DescribeTopic(t)
		if err != nil {
			return nil, 0, fmt.Errorf("consumer: group lag: %w", err)
		}
		for i := range d.Partitions {
			p, err := b.Partition(t, i)
			if err != nil {
				return nil, 0, fmt.Errorf("consumer: group lag: %w", err)
			}
			tps = append(tps, TopicPartition{t, i})
			ps = append(ps, p)
		}
	}
	committed, err := coord.fetchOffsets(groupID, tps)
	if err != nil {
		return nil, 0, err
	}
	out := make(map[TopicPartition]PartitionLag, len(tps))
	var total int64
	for i, tp := range tps {
		at := int64(-1)
		if o, ok := committed[tp]; ok {
			at = o.Offset
		}
		l := lagOf(ps[i], at)
		out[tp] = l
		total += l.Lag
	}
	return out, total, nil
}

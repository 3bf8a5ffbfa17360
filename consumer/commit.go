package consumer

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Commit commits the positions of every assigned partition that has one:
// the offsets after the records Poll has returned (Kafka's commitSync()).
// It returns once the coordinator has made them durable. Commit after
// processing what Poll returned for at-least-once delivery.
//
// Errors: ErrNoGroup; ErrCommitFailed when the consumer is no longer a
// member of the group's current generation (a rebalance has moved on; the
// next Poll rejoins, and the Revoked or Lost callback tells what was
// taken); ctx.Err(); ErrClosed; the coordinator's I/O errors.
func (c *Consumer) Commit(ctx context.Context) error {
	return c.commitPositions(ctx, nil)
}

// CommitOffsets commits the given offsets, each the offset of the next
// record to consume (the last processed plus one), for partitions the
// consumer is assigned or not (Kafka's commitSync(offsets)). Errors: those
// of Commit; ErrInvalidConfig for a metadata string over 4096 bytes.
func (c *Consumer) CommitOffsets(ctx context.Context, offsets map[TopicPartition]Offset) error {
	if len(offsets) == 0 {
		return nil
	}
	return c.commit(ctx, offsets)
}

// CommitAsync commits offsets (nil: the current positions, as Commit) in
// the background and calls done, if not nil, with what it committed and
// the error (see Commit). Asynchronous commits run one at a time, in the
// order of the calls, so a later commit is never overwritten by an earlier
// one; done is called from a goroutine of the consumer, in that order, with
// no lock held. Close waits for commits in flight.
func (c *Consumer) CommitAsync(offsets map[TopicPartition]Offset, done func(map[TopicPartition]Offset, error)) {
	if offsets == nil {
		offsets = c.positions(nil)
	} else {
		offsets = maps.Clone(offsets)
	}
	c.enqueueCommit(asyncCommit{offsets: offsets, done: done})
}

// Committed returns the group's committed offsets for tps; partitions with
// none are missing from the map. Errors: ErrNoGroup; the coordinator's.
func (c *Consumer) Committed(tps ...TopicPartition) (map[TopicPartition]Offset, error) {
	if c.coord == nil {
		return nil, ErrNoGroup
	}
	return c.coord.fetchOffsets(c.cfg.Group, tps)
}

// positions returns the positions of tps (nil: every assigned partition)
// that have one, as offsets to commit.
func (c *Consumer) positions(tps []TopicPartition) map[TopicPartition]Offset {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[TopicPartition]Offset{}
	if c.marks != nil { // Consume: the handler's marks
		for tp, o := range c.marks {
			if tps == nil || slices.Contains(tps, tp) {
				out[tp] = o
			}
		}
		return out
	}
	add := func(s *partState) {
		if s != nil && s.pos >= 0 {
			out[s.tp] = Offset{Offset: s.pos, LeaderEpoch: s.epoch}
		}
	}
	if tps == nil {
		for _, s := range c.order {
			add(s)
		}
	}
	for _, tp := range tps {
		add(c.parts[tp])
	}
	return out
}

func (c *Consumer) commitPositions(ctx context.Context, tps []TopicPartition) error {
	offsets := c.positions(tps)
	if len(offsets) == 0 {
		if c.coord == nil {
			return ErrNoGroup
		}
		return nil
	}
	return c.commit(ctx, offsets)
}

// commit sends offsets with the member's identity: the current generation
// in a subscription, Kafka's "simple" commit (no member, generation -1)
// with Assign.
func (c *Consumer) commit(ctx context.Context, offsets map[TopicPartition]Offset) error {
	if c.coord == nil {
		return ErrNoGroup
	}
	for tp, o := range offsets {
		if len(o.Metadata) > maxCommitMetadataBytes {
			return fmt.Errorf("%w: %s: commit metadata of %d bytes, over offset.metadata.max.bytes (%d)",
				ErrInvalidConfig, tp, len(o.Metadata), maxCommitMetadataBytes)
		}
	}
	c.mu.Lock()
	member, gen := "", int32(-1)
	if c.subscribing() {
		member, gen = c.grp.memberID, c.grp.generation
	}
	c.mu.Unlock()
	if err := c.coord.commit(ctx, c.cfg.Group, member, gen, offsets); err != nil {
		return c.commitError(err)
	}
	return nil
}

// maybeAutoCommit commits the positions asynchronously when
// AutoCommit.Interval has passed since the last auto-commit (Kafka's
// maybeAutoCommitOffsetsAsync at the start of poll): at-least-once, since
// the positions are those after the records earlier Polls returned.
func (c *Consumer) maybeAutoCommit() {
	if c.cfg.AutoCommit.Disable || c.coord == nil {
		return
	}
	c.mu.Lock()
	due := time.Since(c.grp.lastAutoCommit) >= c.cfg.AutoCommit.Interval
	if due {
		c.grp.lastAutoCommit = time.Now()
	}
	c.mu.Unlock()
	if !due {
		return
	}
	offsets := c.positions(nil)
	if len(offsets) == 0 {
		return
	}
	c.enqueueCommit(asyncCommit{offsets: offsets, done: func(_ map[TopicPartition]Offset, err error) {
		if err != nil {
			c.log.Warn("consumer: auto-commit failed", "group", c.cfg.Group, "err", err)
		}
	}})
}

type asyncCommit struct {
	offsets map[TopicPartition]Offset
	done    func(map[TopicPartition]Offset, error)
}

// enqueueCommit queues an asynchronous commit; one goroutine, started when
// the queue becomes non-empty and ending when it is empty, runs them in
// order.
func (c *Consumer) enqueueCommit(a asyncCommit) {
	c.asyncMu.Lock()
	if c.asyncClosed {
		c.asyncMu.Unlock()
		if a.done != nil {
			a.done(a.offsets, ErrClosed)
		}
		return
	}
	c.asyncQueue = append(c.asyncQueue, a)
	start := !c.asyncRunning
	c.asyncRunning = true
	if start {
		c.asyncWG.Add(1)
	}
	c.asyncMu.Unlock()
	if start {
		go c.runAsyncCommits()
	}
}

func (c *Consumer) runAsyncCommits() {
	defer c.asyncWG.Done()
	for {
		c.asyncMu.Lock()
		if len(c.asyncQueue) == 0 {
			c.asyncRunning = false
			c.asyncMu.Unlock()
			return
		}
		a := c.asyncQueue[0]
		c.asyncQueue[0] = asyncCommit{}
		c.asyncQueue = c.asyncQueue[1:]
		c.asyncMu.Unlock()
		var err error
		if len(a.offsets) > 0 {
			err = c.commit(context.Background(), a.offsets)
		} else if c.coord == nil {
			err = ErrNoGroup
		}
		if a.done != nil {
			a.done(a.offsets, err)
		}
	}
}

package consumer

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"

	"github.com/samsalog/samsa/record"
)

// GroupHandler is the Sarama-style way to consume as a group member
// (Sarama's ConsumerGroupHandler): for each generation of the group, Setup
// runs once, then ConsumeClaim runs in its own goroutine for each assigned
// partition until the generation ends (a rebalance or the end of Consume),
// then Cleanup runs once they have all returned.
type GroupHandler interface {
	// Setup is called at the start of a session, before ConsumeClaim.
	Setup(*Session) error
	// ConsumeClaim processes one partition's records: range over
	// claim.Records() and mark what is processed (Session.MarkRecord). It
	// must return when the iteration ends (the session is over).
	ConsumeClaim(*Session, *Claim) error
	// Cleanup is called at the end of a session, once every ConsumeClaim
	// has returned, before the marked offsets are committed.
	Cleanup(*Session) error
}

// Session is one generation of the group as a GroupHandler sees it. Its
// methods are safe for concurrent use by the ConsumeClaim goroutines.
type Session struct {
	c          *Consumer
	ctx        context.Context
	cancel     context.CancelFunc
	memberID   string
	generation int32
	claims     map[string][]int32
}

// Context returns the session's context, done when the session ends.
func (s *Session) Context() context.Context { return s.ctx }

// Claims returns the partitions of this session, by topic.
func (s *Session) Claims() map[string][]int32 { return s.claims }

// MemberID returns the consumer's member ID in the group.
func (s *Session) MemberID() string { return s.memberID }

// GenerationID returns the session's generation.
func (s *Session) GenerationID() int32 { return s.generation }

// MarkRecord marks rec as processed: the offset after it is committed at
// the next commit (auto-commit, Commit, the end of the session).
func (s *Session) MarkRecord(rec *record.Record, metadata string) {
	s.MarkOffset(rec.Topic, rec.Partition, rec.Offset+1, metadata)
}

// MarkOffset marks offset (the next record to consume) for commit. A mark
// lower than the current one is ignored, as in Sarama.
func (s *Session) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	tp := TopicPartition{topic, partition}
	if cur, ok := s.c.marks[tp]; !ok || offset > cur.Offset {
		s.c.marks[tp] = Offset{Offset: offset, LeaderEpoch: -1, Metadata: metadata}
	}
}

// Commit commits the marked offsets now, synchronously.
func (s *Session) Commit() error { return s.c.commitPositions(s.ctx, nil) }

// Claim is one partition of a session.
type Claim struct {
	tp      TopicPartition
	ch      chan *record.Record
	done    chan struct{} // closed when ConsumeClaim returned
	initial int64
	s       *Session
}

// Topic returns the claimed partition's topic.
func (c *Claim) Topic() string { return c.tp.Topic }

// Partition returns the claimed partition's number.
func (c *Claim) Partition() int32 { return c.tp.Partition }

// InitialOffset returns the offset the claim started at (-1 if unknown).
func (c *Claim) InitialOffset() int64 { return c.initial }

// Records returns an iterator over the claim's records, in offset order;
// it ends when the session ends. Sarama's claim.Messages(), as a range loop.
func (c *Claim) Records() iter.Seq[*record.Record] {
	return func(yield func(*record.Record) bool) {
		for {
			select {
			case r, ok := <-c.ch:
				if !ok || !yield(r) {
					return
				}
			case <-c.s.ctx.Done():
				return
			}
		}
	}
}

// handlerRun is the state of Consume.
type handlerRun struct {
	h      GroupHandler
	sess   *Session
	claims map[TopicPartition]*Claim
	wg     sync.WaitGroup
	err    error
	errMu  sync.Mutex
}

// Consume runs h as this consumer's group handler until ctx ends or a
// handler method fails: it polls, runs a session per generation (see
// GroupHandler) and hands each partition's records to its ConsumeClaim.
// Rebalances end the session and start the next inside Consume: the caller
// calls Consume once. What is committed is what the handler marked (at
// the AutoCommit.Interval, at the end of each session, and on
// Session.Commit), not the positions; at a session's end the positions go
// back to the committed offsets, so records handed out but not marked are
// delivered again (at-least-once). Errors: the handler's; ErrSubscribed
// unless the consumer subscribes through a group; ErrClosed. A ctx that
// ends returns nil.
func (c *Consumer) Consume(ctx context.Context, h GroupHandler) error {
	if !c.subscribing() || c.coord == nil {
		return ErrSubscribed
	}
	if c.cfg.ReuseRecords {
		return fmt.Errorf("%w: ReuseRecords cannot be used with Consume (handlers hold records across Polls)", ErrInvalidConfig)
	}
	run := &handlerRun{h: h}
	c.mu.Lock()
	c.marks = map[TopicPartition]Offset{}
	c.hooks = run
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.hooks = nil
		c.mu.Unlock()
	}()
	// A consumer already in a group starts a session for what it owns.
	c.mu.Lock()
	joined := c.grp.joined
	c.mu.Unlock()
	if joined {
		run.start(c, ctx)
	}
	var err error
	for {
		if err = run.failed(); err != nil {
			break
		}
		var recs []*record.Record
		recs, err = c.Poll(ctx)
		if err != nil {
			break
		}
		for _, r := range recs {
			cl := run.claims[TopicPartition{r.Topic, r.Partition}]
			if cl == nil {
				continue
			}
			select {
			case cl.ch <- r:
			case <-cl.done:
			case <-ctx.Done():
			}
		}
	}
	run.end(c, context.Background())
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = run.failed()
	}
	return err
}

func (run *handlerRun) failed() error {
	run.errMu.Lock()
	defer run.errMu.Unlock()
	return run.err
}

func (run *handlerRun) fail(err error, sess *Session) {
	run.errMu.Lock()
	if run.err == nil {
		run.err = err
	}
	run.errMu.Unlock()
	sess.cancel()
}

// start begins a session over the current assignment.
func (run *handlerRun) start(c *Consumer, ctx context.Context) {
	sctx, cancel := context.WithCancel(ctx)
	c.mu.Lock()
	sess := &Session{c: c, ctx: sctx, cancel: cancel, memberID: c.grp.memberID,
		generation: c.grp.generation, claims: map[string][]int32{}}
	run.claims = map[TopicPartition]*Claim{}
	for _, s := range c.order {
		sess.claims[s.tp.Topic] = append(sess.claims[s.tp.Topic], s.tp.Partition)
		run.claims[s.tp] = &Claim{tp: s.tp, ch: make(chan *record.Record, 64), done: make(chan struct{}), initial: s.pos, s: sess}
	}
	c.mu.Unlock()
	run.sess = sess
	if err := run.h.Setup(sess); err != nil {
		run.fail(err, sess)
		return
	}
	for _, cl := range run.claims {
		run.wg.Add(1)
		go func() {
			defer run.wg.Done()
			defer close(cl.done)
			if err := run.h.ConsumeClaim(sess, cl); err != nil {
				run.fail(err, sess)
			}
		}()
	}
}

// end finishes the session: ConsumeClaims return, Cleanup, commit the
// marks, positions back to the committed offsets.
func (run *handlerRun) end(c *Consumer, ctx context.Context) {
	sess := run.sess
	if sess == nil {
		return
	}
	run.sess = nil
	sess.cancel()
	run.wg.Wait()
	if err := run.h.Cleanup(sess); err != nil {
		run.fail(err, sess)
	}
	if err := c.commitPositions(ctx, nil); err != nil && !errors.Is(err, ErrNoGroup) {
		c.log.Warn("consumer: commit at the end of a session failed", "group", c.cfg.Group, "err", err)
	}
	c.mu.Lock()
	for _, s := range c.order {
		s.seekLocked(-1) // resume from the committed offsets
	}
	c.mu.Unlock()
	run.claims = nil
}

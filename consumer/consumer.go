package consumer

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"sync"
	"time"

	samsa "github.com/samsalog/samsa"
	"github.com/samsalog/samsa/partition"
	"github.com/samsalog/samsa/record"
	"github.com/samsalog/samsa/segment"
)

// Consumer reads records from partitions of a Broker: partitions it is
// assigned directly (Assign), or those its group's coordinator assigns it
// for a subscription (Config.Topics, Config.TopicPattern).
//
// A Consumer is safe for concurrent use: Seek, Pause, Commit and the
// others may be called while another goroutine waits in Poll (which they
// wake). Poll itself is serialized: concurrent Polls take turns. Records
// returned by Poll are the caller's: they do not alias the log and stay
// valid after later Polls and after Close (unless Config.ReuseRecords).
type Consumer struct {
	b     *samsa.Broker
	cfg   Config
	coord coordinator
	log   *slog.Logger

	closeCtx    context.Context // cancelled by Close: interrupts a Join in progress
	closeCancel context.CancelFunc

	pollMu sync.Mutex // one Poll (and so one rebalance) at a time

	mu     sync.Mutex // guards everything below
	closed bool
	wake   chan struct{} // cap 1: Seek, Resume, Assign, rebalance needs, Close wake a waiting Poll
	parts  map[TopicPartition]*partState
	order  []*partState // the assignment, sorted
	rr     int          // round-robin start in order
	manual bool         // Assign was called

	marks map[TopicPartition]Offset // Consume: what the handler marked; commits use these instead of positions
	hooks *handlerRun               // Consume: sessions end before a rebalance and start after it

	recSlab []record.Record // unused tail of the slab Poll carves results from

	// With Config.ReuseRecords: every Poll carves from slabBase again and
	// returns outBuf again; Views whose records a Poll returned are
	// released at the next Poll (or Close), not when their data is used
	// up, since the returned records alias them.
	slabBase []record.Record
	outBuf   []*record.Record
	retired  []segment.View

	grp groupState

	asyncMu      sync.Mutex
	asyncQueue   []asyncCommit
	asyncRunning bool
	asyncClosed  bool // set by Close once it has committed: later async commits fail
	asyncWG      sync.WaitGroup

	hbWG sync.WaitGroup
}

// New returns a Consumer of b configured by cfg (nil: every default, no
// group). With Config.Topics or Config.TopicPattern it subscribes through
// Config.Group; it joins the group at the first Poll. Otherwise call Assign.
//
// New starts no goroutine; the first join starts one heartbeat goroutine,
// which Close stops. Errors: ErrInvalidConfig; ErrGroupUnavailable for a
// Group on a broker without a group coordinator.
func New(b *samsa.Broker, cfg *Config) (*Consumer, error) {
	var coord coordinator
	if cfg != nil && cfg.Group != "" {
		coord = brokerCoordinator(b)
		if coord == nil {
			return nil, fmt.Errorf("%w: group %q", ErrGroupUnavailable, cfg.Group)
		}
	}
	return newConsumer(b, cfg, coord)
}

// newConsumer is New with the coordinator handed in (tests use a fake).
func newConsumer(b *samsa.Broker, cfg *Config, coord coordinator) (*Consumer, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: nil broker", ErrInvalidConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Consumer{
		b:     b,
		cfg:   cfg.withDefaults(),
		coord: coord,
		wake:  make(chan struct{}, 1),
		parts: map[TopicPartition]*partState{},
	}
	c.log = c.cfg.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.closeCtx, c.closeCancel = context.WithCancel(context.Background())
	c.grp.generation = -1
	c.grp.lastPollEnd = time.Now()
	c.grp.lastAutoCommit = time.Now()
	if c.subscribing() {
		c.grp.needJoin = true
	}
	return c, nil
}

// subscribing reports a group subscription (as opposed to Assign).
func (c *Consumer) subscribing() bool {
	return c.cfg.Group != "" && (len(c.cfg.Topics) > 0 || c.cfg.TopicPattern != nil)
}

// signal wakes a Poll waiting for data.
func (c *Consumer) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Assign sets the partitions the consumer reads, replacing any earlier
// assignment (Kafka's assign); Assign(nil) clears it. Partitions kept from
// the previous assignment keep their positions; new ones start at the
// group's committed offset (with a Group) or per AutoOffsetReset. It does
// not join a group, and there are no rebalance callbacks.
//
// Errors: ErrSubscribed on a subscribing consumer; samsa.ErrUnknownTopic
// for a topic or partition that does not exist (nothing is changed then);
// ErrClosed.
func (c *Consumer) Assign(tps []TopicPartition) error {
	if c.subscribing() {
		return ErrSubscribed
	}
	ps := make([]*partition.Partition, len(tps))
	for i, tp := range tps {
		p, err := c.b.Partition(tp.Topic, tp.Partition)
		if err != nil {
			return fmt.Errorf("consumer: assign %s: %w", tp, err)
		}
		ps[i] = p
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.manual = true
	c.setAssignmentLocked(tps, ps)
	c.signal()
	return nil
}

// setAssignmentLocked makes tps (with their partitions ps, or looked up if
// ps is nil) the assignment, keeping the state of partitions already held.
func (c *Consumer) setAssignmentLocked(tps []TopicPartition, ps []*partition.Partition) {
	keep := make(map[TopicPartition]*partState, len(tps))
	for i, tp := range tps {
		if _, dup := keep[tp]; dup {
			continue
		}
		if old := c.parts[tp]; old != nil {
			keep[tp] = old
			continue
		}
		var p *partition.Partition
		if ps != nil {
			p = ps[i]
		} else {
			var err error
			if p, err = c.b.Partition(tp.Topic, tp.Partition); err != nil {
				// A topic deleted between the assignment and now: the
				// coordinator will rebalance it away.
				c.log.Warn("consumer: assigned partition unavailable", "partition", tp.String(), "err", err)
				continue
			}
		}
		keep[tp] = newPartState(tp, p)
		if c.cfg.ReuseRecords {
			keep[tp].retired = &c.retired
		}
	}
	for tp, old := range c.parts {
		if keep[tp] != old {
			old.dropBuffer()
		}
	}
	c.parts = keep
	c.order = c.order[:0]
	for _, s := range keep {
		c.order = append(c.order, s)
	}
	sortParts(c.order)
	c.rr = 0
}

// Assignment returns the partitions currently assigned, sorted.
func (c *Consumer) Assignment() []TopicPartition {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ownedLocked()
}

// Poll returns the next records of the assigned partitions, at most
// MaxPollRecords of them, in offset order within each partition, taking
// partitions in turn so that none starves. It waits until records are
// available (and, for Fetch.MinBytes above 1, until that many bytes are or
// Fetch.MaxWait passed since the first ones came), or ctx ends (then it
// returns ctx.Err() and no records), or Close is called (ErrClosed).
// Waiting costs no CPU: Poll sleeps until a partition's high watermark
// advances.
//
// Returned records are copies: they stay valid after the next Poll and
// after Close (with Config.ReuseRecords, only until the next Poll). Each
// returned record advances its partition's position past it; a record
// returned is "consumed" for Commit and auto-commit.
//
// In a group, Poll is where the membership is kept up: it joins at the
// first call and rejoins when the heartbeat goroutine reports a rebalance,
// running the rebalance callbacks in the calling goroutine in this order:
// (eager protocol) auto-commit, Revoked(every owned partition), join,
// Assigned(new assignment); (cooperative protocol) join, then, if the new
// assignment takes partitions away, auto-commit, Revoked(those) and a
// second join; Assigned(added partitions). When the consumer finds it lost
// its membership (session expired, fenced, or MaxPollInterval passed
// between Polls) it calls Lost(owned) instead of Revoked, commits nothing,
// and rejoins. The application never has to restart its loop. With
// auto-commit, Poll also commits the positions every AutoCommit.Interval.
//
// A join waits for the group's rebalance: until every member has rejoined
// and, for a group that was empty, the coordinator's initial rebalance
// delay (100 ms by default) has passed. When ctx ends first, Poll returns
// ctx.Err() and the join stays pending under the member ID the coordinator
// gave: the next Poll continues the same join (as Kafka's consumer keeps
// its JoinGroup request across polls), so Polls with contexts shorter than
// a rebalance still join, without a new member or an extra rebalance (a
// first join not continued within SessionTimeout is dropped by the
// coordinator, and the next Poll joins anew). The callbacks run in the
// Poll that completes the join.
//
// Errors: ctx.Err(); ErrClosed; ErrNoOffset or ErrOffsetOutOfRange (naming
// the partition) with AutoOffsetReset none; record.ErrCorrupt for damaged
// data; the group's errors (a fenced static member).
func (c *Consumer) Poll(ctx context.Context) ([]*record.Record, error) {
	c.pollMu.Lock()
	defer c.pollMu.Unlock()
	if err := c.beginPoll(); err != nil {
		return nil, err
	}
	defer c.endPoll()
	return c.poll(ctx)
}

func (c *Consumer) poll(ctx context.Context) ([]*record.Record, error) {
	var deadline time.Time // when some bytes arrived but fewer than MinBytes
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if c.coord != nil {
			if err := c.maintainGroup(ctx); err != nil {
				return nil, err
			}
		}
		avail, err := c.fill()
		if err != nil {
			return nil, err
		}
		if avail > 0 && (avail >= c.cfg.Fetch.MinBytes || (!deadline.IsZero() && !time.Now().Before(deadline))) {
			if out, err := c.drain(); err != nil || len(out) > 0 {
				return out, err
			}
			continue // only control batches or records below the position
		}
		if avail > 0 && deadline.IsZero() {
			deadline = time.Now().Add(c.cfg.Fetch.MaxWait)
		}
		if err := c.wait(ctx, deadline); err != nil {
			return nil, err
		}
	}
}

// Records returns an iterator over the records Poll returns, for range
// loops:
//
//	for rec, err := range c.Records(ctx) {
//		if err != nil {
//			return err // ctx ended, ErrClosed, ...
//		}
//		process(rec)
//	}
//
// It yields each record with a nil error, and ends after yielding (nil,
// err) for the first error of Poll, including ctx.Err() when ctx ends.
// Breaking out of the loop early rewinds each partition's position to its
// first record not yet yielded, so nothing is skipped. The iterator is not
// safe for concurrent use; it may be ranged over again.
func (c *Consumer) Records(ctx context.Context) iter.Seq2[*record.Record, error] {
	return func(yield func(*record.Record, error) bool) {
		for {
			recs, err := c.Poll(ctx)
			if err != nil {
				yield(nil, err)
				return
			}
			for i, r := range recs {
				if !yield(r, nil) {
					c.rewind(recs[i+1:])
					return
				}
			}
		}
	}
}

// rewind moves positions back to the first of recs per partition, if the
// position is still where returning recs left it.
func (c *Consumer) rewind(recs []*record.Record) {
	if len(recs) == 0 {
		return
	}
	first := map[TopicPartition]int64{}
	last := map[TopicPartition]int64{}
	for _, r := range recs {
		tp := TopicPartition{r.Topic, r.Partition}
		if _, ok := first[tp]; !ok {
			first[tp] = r.Offset
		}
		last[tp] = r.Offset
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for tp, off := range first {
		if s := c.parts[tp]; s != nil && s.pos == last[tp]+1 {
			s.seekLocked(off)
		}
	}
}

// Close leaves the group at once (unless the consumer is a static member),
// so that the others rebalance without waiting for a session timeout; a
// consumer whose join is pending (a Poll's ctx ended during a rebalance)
// leaves under its pending member ID, so no member is left behind.
// Before that, with auto-commit, it commits the positions, then calls the
// Revoked callback with the owned partitions (in the calling goroutine).
// A Poll waiting in another goroutine returns ErrClosed. Close waits for
// asynchronous commits in flight and for the heartbeat goroutine. Calling
// Close again returns nil. Errors: the final commit's.
func (c *Consumer) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.closeCancel()
	c.signal()
	c.stopHeartbeat()

	c.pollMu.Lock() // a Poll in progress has seen closed by now
	defer c.pollMu.Unlock()
	var err error
	if c.coord != nil {
		err = c.closeGroup()
	}
	c.mu.Lock()
	for _, s := range c.order {
		s.dropBuffer()
	}
	c.releaseRetiredLocked()
	c.parts = map[TopicPartition]*partState{}
	c.order = nil
	c.mu.Unlock()
	c.asyncMu.Lock()
	c.asyncClosed = true
	c.asyncMu.Unlock()
	c.asyncWG.Wait()
	return err
}

// beginPoll marks the consumer as polling (for max.poll.interval.ms).
func (c *Consumer) beginPoll() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.grp.inPoll = true
	if c.cfg.ReuseRecords {
		// The caller gives up the previous Poll's records now.
		c.releaseRetiredLocked()
		if c.slabBase == nil {
			// A Poll carves at most MaxPollRecords records plus the
			// tail of the last batch it decodes (moved out at once).
			c.slabBase = make([]record.Record, 0, c.cfg.MaxPollRecords+recSlabRecords)
			c.outBuf = make([]*record.Record, 0, c.cfg.MaxPollRecords)
		}
		c.recSlab = c.slabBase[:0]
	}
	return nil
}

// releaseRetiredLocked releases the Views kept for ReuseRecords.
func (c *Consumer) releaseRetiredLocked() {
	for i := range c.retired {
		c.retired[i].Release()
		c.retired[i] = segment.View{}
	}
	c.retired = c.retired[:0]
}

func (c *Consumer) endPoll() {
	c.mu.Lock()
	c.grp.inPoll = false
	c.grp.lastPollEnd = time.Now()
	c.mu.Unlock()
}

// Pause stops Poll from returning records of tps (they stay assigned and
// keep their positions) until Resume: for flow control. Errors:
// ErrNotAssigned (nothing is paused then).
func (c *Consumer) Pause(tps ...TopicPartition) error {
	return c.setPaused(tps, true)
}

// Resume undoes Pause. Errors: ErrNotAssigned (nothing is resumed then).
func (c *Consumer) Resume(tps ...TopicPartition) error {
	return c.setPaused(tps, false)
}

func (c *Consumer) setPaused(tps []TopicPartition, paused bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, tp := range tps {
		if c.parts[tp] == nil {
			return fmt.Errorf("%w: %s", ErrNotAssigned, tp)
		}
	}
	for _, tp := range tps {
		c.parts[tp].paused = paused
	}
	c.signal()
	return nil
}

// Paused returns the paused partitions, sorted.
func (c *Consumer) Paused() []TopicPartition {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []TopicPartition
	for _, s := range c.order {
		if s.paused {
			out = append(out, s.tp)
		}
	}
	return out
}

// errWrap names the partition in an error.
func errWrap(tp TopicPartition, err error) error {
	return fmt.Errorf("consumer: %s: %w", tp, err)
}

// isClosedPartition reports a partition closed under the consumer (its
// topic deleted, or the broker closed).
func isClosedPartition(err error) bool { return errors.Is(err, partition.ErrClosed) }

package consumer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/samsalog/samsa/group"
)

// groupState is the consumer's membership, guarded by Consumer.mu.
type groupState struct {
	memberID   string
	generation int32
	protocol   group.RebalanceProtocol
	joined     bool // a member of generation `generation`
	joining    bool // a Join is in progress (no heartbeats meanwhile)
	needJoin   bool // rejoin at the next Poll: a rebalance is in progress
	lost       bool // membership lost: call Lost, not Revoked
	resetID    bool // the coordinator forgot the member ID: join as new
	fatal      error
	topics     []string // the subscription sent at the last join
	notify     <-chan struct{}
	// pending is set when a Join ended with Poll's ctx and the
	// coordinator kept the member in its round under memberID: the next
	// Poll continues that join with the same ID (KIP-394), and a
	// heartbeat's illegal generation meanwhile means the round completed
	// with the member in it, not that it lost its partitions.
	pending bool

	inPoll         bool
	lastPollEnd    time.Time
	lastAutoCommit time.Time

	hbStop chan struct{} // nil until the heartbeat goroutine runs
}

// maintainGroup runs the group upkeep that Kafka's consumer runs inside
// poll: joins and rebalances with their callbacks, and auto-commits.
// Called at the start of Poll and after each wait.
func (c *Consumer) maintainGroup(ctx context.Context) error {
	c.checkNotify()
	for range 100 {
		c.mu.Lock()
		g := &c.grp
		if c.closed {
			c.mu.Unlock()
			return ErrClosed
		}
		if g.fatal != nil {
			err := g.fatal
			c.mu.Unlock()
			return err
		}
		sub := c.subscribing()
		if !sub || !(g.needJoin || g.lost || !g.joined) {
			c.mu.Unlock()
			break
		}
		c.mu.Unlock()
		if err := c.rebalance(ctx); err != nil {
			return err
		}
	}
	c.maybeAutoCommit()
	return nil
}

// ownedLocked returns the assigned partitions, sorted.
func (c *Consumer) ownedLocked() []TopicPartition {
	out := make([]TopicPartition, len(c.order))
	for i, s := range c.order {
		out[i] = s.tp
	}
	return out
}

// subscriptionTopics returns Config.Topics plus the existing topics that
// TopicPattern matches, sorted and without duplicates.
func (c *Consumer) subscriptionTopics() []string {
	topics := append([]string(nil), c.cfg.Topics...)
	if c.cfg.TopicPattern != nil {
		all, err := c.b.ListTopics()
		if err == nil {
			for _, t := range all {
				if c.cfg.TopicPattern.MatchString(t) {
					topics = append(topics, t)
				}
			}
		}
	}
	slices.Sort(topics)
	return slices.Compact(topics)
}

// rebalance runs one join round and the callbacks around it (see Poll).
func (c *Consumer) rebalance(ctx context.Context) error {
	c.mu.Lock()
	hooks := c.hooks
	c.mu.Unlock()
	if hooks != nil {
		hooks.end(c, ctx) // a Consume session ends before the group moves on
		defer func() {
			c.mu.Lock()
			joined := c.grp.joined
			c.mu.Unlock()
			if joined && hooks.failed() == nil {
				hooks.start(c, ctx)
			}
		}()
	}
	c.mu.Lock()
	g := &c.grp
	owned := c.ownedLocked()
	lost, wasJoined := g.lost, g.joined
	eager := g.protocol == group.Eager
	c.mu.Unlock()

	switch {
	case lost:
		if len(owned) > 0 && c.cfg.Rebalance.Lost != nil {
			c.cfg.Rebalance.Lost(ctx, owned)
		}
		c.mu.Lock()
		c.setAssignmentLocked(nil, nil)
		g.lost, g.joined = false, false
		if g.resetID {
			g.memberID, g.resetID = "", false
		}
		g.generation = -1
		c.mu.Unlock()
		owned = nil
	case wasJoined && eager && len(owned) > 0:
		c.revoke(ctx, owned)
		owned = nil
	}

	topics := c.subscriptionTopics()
	c.mu.Lock()
	req := joinRequest{
		Group: c.cfg.Group, MemberID: g.memberID, InstanceID: c.cfg.InstanceID,
		Topics: topics, Assignors: c.cfg.Assignors,
		SessionTimeout: c.cfg.SessionTimeout, RebalanceTimeout: c.cfg.MaxPollInterval,
		Generation: g.generation,
	}
	if !eager || !wasJoined {
		req.Owned = c.ownedLocked()
	}
	g.needJoin, g.joining = false, true
	c.mu.Unlock()

	jctx, stop := mergeCancel(ctx, c.closeCtx)
	res, err := c.coord.join(jctx, req)
	stop()

	c.mu.Lock()
	g.joining, g.pending = false, false
	if err != nil {
		g.needJoin = true
		if res.MemberID != "" {
			// ctx ended first, and the member waits in the round under
			// this ID: the next Poll rejoins with it, which continues
			// the same join, and Close leaves with it.
			g.memberID, g.pending = res.MemberID, true
		}
		kind := c.coord.kind(err)
		switch {
		case c.closed:
			c.mu.Unlock()
			return ErrClosed
		case kind == kindUnknownMember || kind == kindIllegalGeneration:
			// Join again, as a new member for an unknown one.
			g.lost = len(c.order) > 0
			g.resetID = kind == kindUnknownMember
			if !g.lost && g.resetID {
				g.memberID = ""
			}
			c.mu.Unlock()
			return nil
		case kind == kindRebalance:
			c.mu.Unlock()
			return nil
		case kind == kindFenced:
			g.fatal = fmt.Errorf("consumer: group %q: %w", c.cfg.Group, err)
			c.mu.Unlock()
			return g.fatal
		}
		c.mu.Unlock()
		if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
			return cerr // Poll's ctx ended: Poll returns ctx.Err() as documented
		}
		return fmt.Errorf("consumer: join group %q: %w", c.cfg.Group, err)
	}
	g.memberID, g.generation, g.joined, g.topics = res.MemberID, res.Generation, true, topics
	g.protocol = res.RebalanceProtocol
	g.notify = c.coord.rebalanceNotify(c.cfg.Group, res.MemberID)
	assignment := sortTPs(slices.Clone(res.Assignment))
	current := c.ownedLocked()
	c.mu.Unlock()
	c.startHeartbeat()

	revoked := minus(current, assignment)
	added := minus(assignment, current)
	if len(revoked) > 0 {
		c.revoke(ctx, revoked)
		// The revoked partitions go to their new owners in a second round.
		c.mu.Lock()
		g.needJoin = true
		c.mu.Unlock()
	}
	c.mu.Lock()
	keep := minus(c.ownedLocked(), revoked)
	c.setAssignmentLocked(append(keep, added...), nil)
	c.mu.Unlock()
	c.log.Info("consumer: joined group", "group", c.cfg.Group, "member", res.MemberID,
		"generation", res.Generation, "protocol", res.Protocol, "assigned", len(assignment))
	if c.cfg.Rebalance.Assigned != nil {
		c.cfg.Rebalance.Assigned(ctx, added)
	}
	return nil
}

// revoke commits (with auto-commit) and calls Revoked for tps, then drops
// them from the assignment.
func (c *Consumer) revoke(ctx context.Context, tps []TopicPartition) {
	if !c.cfg.AutoCommit.Disable {
		if err := c.commitPositions(ctx, tps); err != nil {
			c.log.Warn("consumer: commit before revocation failed", "group", c.cfg.Group, "err", err)
		}
	}
	if c.cfg.Rebalance.Revoked != nil {
		c.cfg.Rebalance.Revoked(ctx, tps)
	}
	c.mu.Lock()
	c.setAssignmentLocked(minus(c.ownedLocked(), tps), nil)
	c.mu.Unlock()
}

// closeGroup is Close's part for the group: commit, Revoked, LeaveGroup.
func (c *Consumer) closeGroup() error {
	ctx := context.Background()
	var err error
	c.mu.Lock()
	g := &c.grp
	owned := c.ownedLocked()
	joined, lost, member := g.joined, g.lost, g.memberID
	manual := c.manual
	c.mu.Unlock()
	if !c.cfg.AutoCommit.Disable && (manual || (joined && !lost)) && len(owned) > 0 {
		err = c.commitPositions(ctx, owned)
	}
	if !c.subscribing() {
		return err
	}
	if len(owned) > 0 {
		if lost || !joined {
			if c.cfg.Rebalance.Lost != nil {
				c.cfg.Rebalance.Lost(ctx, owned)
			}
		} else if c.cfg.Rebalance.Revoked != nil {
			c.cfg.Rebalance.Revoked(ctx, owned)
		}
	}
	if member != "" && c.cfg.InstanceID == "" {
		if lerr := c.coord.leave(c.cfg.Group, member); lerr != nil && c.coord.kind(lerr) == kindOther {
			c.log.Warn("consumer: leave group failed", "group", c.cfg.Group, "err", lerr)
		}
	}
	c.mu.Lock()
	g.joined = false
	c.mu.Unlock()
	return err
}

// minus returns the elements of a not in b, in a's order.
func minus(a, b []TopicPartition) []TopicPartition {
	in := make(map[TopicPartition]bool, len(b))
	for _, tp := range b {
		in[tp] = true
	}
	var out []TopicPartition
	for _, tp := range a {
		if !in[tp] {
			out = append(out, tp)
		}
	}
	return out
}

// mergeCancel returns a context done when either a or b is.
func mergeCancel(a, b context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	return ctx, func() { stop(); cancel() }
}

// startHeartbeat starts the heartbeat goroutine if it is not running.
func (c *Consumer) startHeartbeat() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.grp.hbStop != nil || c.closed {
		return
	}
	stop := make(chan struct{})
	c.grp.hbStop = stop
	c.hbWG.Add(1)
	go func() {
		defer c.hbWG.Done()
		c.heartbeatLoop(stop)
	}()
}

func (c *Consumer) stopHeartbeat() {
	c.mu.Lock()
	stop := c.grp.hbStop
	c.grp.hbStop = nil
	c.mu.Unlock()
	if stop != nil {
		close(stop)
	}
	c.hbWG.Wait()
}

// heartbeatLoop is the consumer's one background goroutine in a group: it
// heartbeats every HeartbeatInterval, reacts to the coordinator's rebalance
// notice, leaves the group when Poll is not called within MaxPollInterval,
// and (with a TopicPattern) looks for new matching topics every
// MetadataMaxAge. It never runs callbacks: it flags what Poll must do and
// wakes it.
func (c *Consumer) heartbeatLoop(stop <-chan struct{}) {
	hb := time.NewTicker(c.cfg.HeartbeatInterval)
	defer hb.Stop()
	var metaC <-chan time.Time
	if c.cfg.TopicPattern != nil {
		meta := time.NewTicker(c.cfg.MetadataMaxAge)
		defer meta.Stop()
		metaC = meta.C
	}
	for {
		c.mu.Lock()
		notify := c.grp.notify
		c.mu.Unlock()
		select {
		case <-stop:
			return
		case <-notify:
			c.rebalanceNoticed(notify)
		case <-hb.C:
			c.heartbeat()
		case <-metaC:
			topics := c.subscriptionTopics()
			c.mu.Lock()
			if c.grp.joined && !slices.Equal(topics, c.grp.topics) {
				c.grp.needJoin = true
			}
			c.mu.Unlock()
			c.signal()
		}
	}
}

// checkNotify handles, at the start of Poll, a RebalanceNotify channel
// that closed since the last check, without waiting for the heartbeat
// goroutine to see it.
func (c *Consumer) checkNotify() {
	c.mu.Lock()
	notify := c.grp.notify
	c.mu.Unlock()
	if notify == nil {
		return
	}
	select {
	case <-notify:
		c.rebalanceNoticed(notify)
	default:
	}
}

// rebalanceNoticed handles the closing of the RebalanceNotify channel
// notify: a rebalance started, or the member was removed (session expired)
// or fenced. A heartbeat tells which before Poll acts on it, so that a
// removed member calls Lost, not Revoked.
func (c *Consumer) rebalanceNoticed(notify <-chan struct{}) {
	c.mu.Lock()
	if c.grp.notify != notify {
		c.mu.Unlock()
		return
	}
	c.grp.notify = nil
	c.mu.Unlock()
	c.heartbeat()
	c.mu.Lock()
	if c.grp.joined && !c.grp.joining {
		c.grp.needJoin = true
	}
	c.mu.Unlock()
	c.signal()
}

// heartbeat sends one heartbeat, or leaves the group if the application
// has not polled within MaxPollInterval.
func (c *Consumer) heartbeat() {
	c.mu.Lock()
	g := &c.grp
	if !g.joined || g.joining || g.lost || g.memberID == "" {
		c.mu.Unlock()
		return
	}
	member, gen := g.memberID, g.generation
	if !g.inPoll && time.Since(g.lastPollEnd) > c.cfg.MaxPollInterval {
		// Kafka's consumer does the same: the application is stuck, so
		// give the partitions to members that are not.
		g.lost, g.joined = true, false
		g.resetID = c.cfg.InstanceID == ""
		c.mu.Unlock()
		c.log.Warn("consumer: Poll not called within MaxPollInterval: leaving the group",
			"group", c.cfg.Group, "member", member, "max_poll_interval", c.cfg.MaxPollInterval)
		if c.cfg.InstanceID == "" {
			_ = c.coord.leave(c.cfg.Group, member)
		}
		c.signal()
		return
	}
	c.mu.Unlock()
	err := c.coord.heartbeat(c.cfg.Group, member, gen)
	if err == nil {
		return
	}
	kind := c.coord.kind(err)
	c.mu.Lock()
	if g.generation == gen && g.memberID == member && g.joined && !g.joining {
		switch {
		case kind == kindRebalance, kind == kindIllegalGeneration && g.pending:
			// A rebalance, or the one the member is pending in has
			// completed with it: the next Join gets its assignment.
			g.needJoin = true
		case kind == kindUnknownMember, kind == kindIllegalGeneration:
			g.lost, g.joined = true, false
			g.resetID = kind == kindUnknownMember
		case kind == kindFenced:
			g.fatal = fmt.Errorf("consumer: group %q: %w", c.cfg.Group, err)
		default:
			c.log.Warn("consumer: heartbeat failed", "group", c.cfg.Group, "err", err)
		}
	}
	c.mu.Unlock()
	c.signal()
}

// commitError classifies a commit's error: a member of an old generation
// gets ErrCommitFailed and rejoins at the next Poll.
func (c *Consumer) commitError(err error) error {
	switch c.coord.kind(err) {
	case kindRebalance, kindUnknownMember, kindIllegalGeneration:
		c.mu.Lock()
		if c.subscribing() && c.grp.joined {
			c.grp.needJoin = true
		}
		c.mu.Unlock()
		c.signal()
		return fmt.Errorf("%w: %w", ErrCommitFailed, err)
	case kindNotAssigned:
		return fmt.Errorf("%w: %w", ErrCommitFailed, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("consumer: commit: %w", err)
}

package group

// Membership and rebalances: Join, Heartbeat, Leave, the rounds and their
// timers. Everything here runs with the group's mu held unless said
// otherwise; functions that need it end in Locked.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// round is one rebalance: the join phase of a generation. It ends when
// every known member has joined (and the initial delay, if any, has
// passed) or at its deadline; then the assignment is computed and every
// waiting Join answered through results, errs and err, written before
// done is closed.
type round struct {
	done       chan struct{}
	results    map[string]JoinResult // by member ID, for members waiting at the end
	errs       map[string]error      // by member ID: removed or fenced while waiting
	err        error                 // for everyone: the coordinator closed, or the assignor failed
	deadline   time.Time             // the rebalance timeout: members not joined by then are removed
	delayUntil time.Time             // the initial delay of a round from Empty; zero when none pending
}

// result returns the answer of the round to member id.
func (r *round) result(id string) (JoinResult, error) {
	if err := r.errs[id]; err != nil {
		return JoinResult{}, err
	}
	if r.err != nil {
		return JoinResult{}, r.err
	}
	res, ok := r.results[id]
	if !ok {
		return JoinResult{}, fmt.Errorf("%w: %q was removed during the rebalance", ErrUnknownMember, id)
	}
	return res, nil
}

// Join joins the member to the group and returns its assignment for the
// new generation: Kafka's JoinGroup and SyncGroup in one call. It blocks
// until the rebalance completes: until every known member has rejoined,
// or the largest rebalance timeout of the members passes (members that did
// not rejoin by then are removed, except static ones, which keep their
// place until their session expires); for a group that was empty, also
// until InitialRebalanceDelay has passed without a new member joining.
// Then the generation is incremented, the protocol chosen by vote (among
// the protocols every member lists, each member votes for its first
// choice; most votes wins, ties go to the leader's preference), and the
// leader's Assignor computes the assignment in-process (no leader round
// trip, so the leader's userdata extensions are not consulted).
//
// Without a rebalance, Join returns at once with the current generation
// and assignment when the group is stable and the member rejoins with its
// subscription and protocols unchanged: a known member, or a static member
// restarting under the same InstanceID within its session timeout (its
// previous member ID is then fenced: ErrFencedInstance). It also returns
// at once, under a cooperative protocol, to a member that was in the
// round that completed last without waiting for its answer (its ctx
// ended, see below) and rejoins unchanged while the next rebalance (such
// as the cooperative follow-up) is in progress: it gets its assignment of
// that generation, which tells it what to revoke, and must then rejoin.
//
// A Join that starts a rebalance makes every other member's Heartbeat
// return ErrRebalanceInProgress and closes their RebalanceNotify channels;
// they must call Join too. Under a cooperative protocol, a member whose
// assignment shrank must give up the partitions it lost (stop fetching
// them, commit) and then rejoin: the coordinator starts that follow-up
// rebalance itself at once, so its new owner gets the partition in the
// next generation.
//
// When ctx ends before the round completes, Join returns ctx.Err() and,
// in JoinResult.MemberID, the member's ID (nothing else), also for a member
// that joined with MemberID "" (a ctx done before the call changes
// nothing and returns no ID): the member stays in the group, and the
// caller continues its join by calling Join again with that ID, as Kafka's
// consumer keeps its JoinGroup request across polls. That call waits for
// the same round if it is still in progress (no new round starts), or
// returns at once the member's assignment if the round completed
// meanwhile. A member created by the Join whose ctx ended is pending, as
// after Kafka's MEMBER_ID_REQUIRED (KIP-394): the round waits for it to
// rejoin with its ID, up to the rebalance timeout, and it is removed (the
// round then goes on without it) if it does not rejoin within its session
// timeout, counted from when Join returned. A known member that stops
// waiting still counts as joined: the round completes without waiting for
// it, and Heartbeat keeps its session alive meanwhile. A caller that gives
// up on the group calls Leave with the ID. The member's session timer is
// paused while it waits in Join.
//
// Errors: ErrInvalidGroupID, ErrInvalidSessionTimeout,
// ErrInconsistentProtocol, ErrUnknownMember, ErrFencedInstance, ErrClosed,
// ctx.Err(), or the assignor's error (wrapped).
func (c *Coordinator) Join(ctx context.Context, req JoinRequest) (JoinResult, error) {
	if req.Group == "" {
		return JoinResult{}, fmt.Errorf("%w: empty group", ErrInvalidGroupID)
	}
	session := req.SessionTimeout
	if session == 0 {
		session = DefaultSessionTimeout
	}
	if session < c.cfg.MinSessionTimeout || session > c.cfg.MaxSessionTimeout {
		return JoinResult{}, fmt.Errorf("%w: %v is outside [%v, %v]",
			ErrInvalidSessionTimeout, session, c.cfg.MinSessionTimeout, c.cfg.MaxSessionTimeout)
	}
	rebalance := req.RebalanceTimeout
	if rebalance <= 0 {
		rebalance = DefaultRebalanceTimeout
	}
	names, err := protocolNames(req.Assignors)
	if err != nil {
		return JoinResult{}, err
	}
	topics := normalizeTopics(req.Topics)
	if err := ctx.Err(); err != nil {
		return JoinResult{}, err
	}
	g, err := c.lockGroup(req.Group, true)
	if err != nil {
		return JoinResult{}, err
	}
	m, res, done, err := c.joinLocked(g, &req, names, topics, session, rebalance)
	if err != nil || done {
		g.mu.Unlock()
		return res, err
	}
	r, id := g.round, m.id
	c.maybeCompleteLocked(g)
	g.mu.Unlock()

	select {
	case <-r.done:
		return r.result(id)
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-r.done:
		return r.result(id)
	default:
	}
	if g.members[id] != m {
		// Removed or fenced meanwhile (r.errs says which): the ID is
		// of no use.
		return JoinResult{}, ctx.Err()
	}
	if g.round == r && m.waiting {
		m.waiting = false
		// Its session runs from now: a member that does not come back
		// is removed one session timeout later.
		m.heard(time.Now())
		if m.firstJoin {
			// Pending (KIP-394): the round waits for it to rejoin with
			// the ID, as Kafka's client does after MEMBER_ID_REQUIRED.
			m.joined = false
		}
	}
	return JoinResult{MemberID: id}, ctx.Err()
}

// joinLocked handles a Join up to the wait: it returns the member, and
// done with the result when the Join is answered at once (no rebalance);
// otherwise the member has joined g.round.
func (c *Coordinator) joinLocked(g *group, req *JoinRequest, names, topics []string, session, rebalance time.Duration) (m *member, res JoinResult, done bool, err error) {
	now := time.Now()
	switch {
	case req.MemberID == "" && req.InstanceID != "" && g.instances[req.InstanceID] != "":
		// A static member restarting: it takes over its instance's
		// member, whose old ID is fenced (KIP-345).
		m = g.members[g.instances[req.InstanceID]]
		if err := g.checkProtocolsLocked(names, m); err != nil {
			return nil, JoinResult{}, false, err
		}
		old := m.id
		m.id = newMemberID(req.InstanceID)
		delete(g.members, old)
		g.members[m.id] = m
		g.instances[req.InstanceID] = m.id
		g.unfenceLocked(req.InstanceID)
		g.fenced[old] = req.InstanceID
		if g.leader == old {
			g.leader = m.id
		}
		if m.waiting && g.round != nil {
			g.round.errs[old] = fmt.Errorf("%w: member %q of group %q was replaced by a new member with instance id %q",
				ErrFencedInstance, old, g.name, req.InstanceID)
			m.waiting = false
		}
		m.wake() // the old process learns it must stop
		m.session, m.rebalance = session, rebalance
		m.firstJoin = false // the instance is known: it keeps its place
		m.heard(now)
		c.log.Info("group: static member rejoined", "group", g.name, "instance", req.InstanceID, "member", m.id, "fenced", old)
		if g.state == StateStable && m.sameMetadata(topics, names) {
			m.missed = false
			return m, g.currentResultLocked(m), true, nil
		}
		m.update(req, names, topics)
	case req.MemberID == "":
		if err := g.checkProtocolsLocked(names, nil); err != nil {
			return nil, JoinResult{}, false, err
		}
		prefix := req.ClientID
		if req.InstanceID != "" {
			prefix = req.InstanceID
		}
		m = &member{id: newMemberID(prefix), instanceID: req.InstanceID, firstJoin: true, session: session, rebalance: rebalance}
		for g.members[m.id] != nil {
			m.id = newMemberID(prefix)
		}
		m.update(req, names, topics)
		m.heard(now)
		g.members[m.id] = m
		if m.instanceID != "" {
			g.instances[m.instanceID] = m.id
		}
		mm := m
		m.timer = c.afterFunc(session, func() { c.onSessionTimer(g, mm) })
		if r := g.round; r != nil && !r.delayUntil.IsZero() {
			// Kafka's delayed initial join: each new member extends the
			// wait, up to the rebalance timeout.
			r.delayUntil = minTime(now.Add(c.cfg.InitialRebalanceDelay), r.deadline)
			c.armLocked(g)
		}
		c.log.Debug("group: new member", "group", g.name, "member", m.id, "instance", m.instanceID)
	default:
		if m, err = g.memberLocked(req.MemberID); err != nil {
			return nil, JoinResult{}, false, err
		}
		if req.InstanceID != m.instanceID {
			return nil, JoinResult{}, false, fmt.Errorf("%w: member %q of group %q has instance id %q, not %q",
				ErrFencedInstance, m.id, g.name, m.instanceID, req.InstanceID)
		}
		if err := g.checkProtocolsLocked(names, m); err != nil {
			return nil, JoinResult{}, false, err
		}
		m.session, m.rebalance = session, rebalance
		m.firstJoin = false
		m.heard(now)
		if m.sameMetadata(topics, names) {
			if g.state == StateStable {
				m.missed = false
				return m, g.currentResultLocked(m), true, nil
			}
			if m.missed && g.rebalProto == Cooperative && !m.joined {
				// It was in the round that just completed but had
				// stopped waiting, and the group is already in the
				// cooperative follow-up round. Its assignment of the
				// generation it missed tells it what to revoke: joining
				// the follow-up without it, it would keep claiming
				// those partitions and need one more round.
				m.missed = false
				return m, g.currentResultLocked(m), true, nil
			}
		}
		m.update(req, names, topics)
	}
	if g.state != StatePreparingRebalance {
		c.prepareLocked(g, "member "+m.id+" joined")
	}
	if !m.joined {
		m.joined = true
		g.joinSeq++
		m.joinSeq = g.joinSeq
	}
	m.waiting, m.missed = true, false
	return m, JoinResult{}, false, nil
}

// update stores the subscription of a Join in the member.
func (m *member) update(req *JoinRequest, names, topics []string) {
	m.topics = topics
	m.names = names
	m.assignors = slices.Clone(req.Assignors)
	m.owned = cloneTopicPartitions(req.Owned)
	m.ownedGen = req.Generation
}

// currentResultLocked is the answer to a rejoin that needs no rebalance.
func (g *group) currentResultLocked(m *member) JoinResult {
	return JoinResult{
		MemberID:          m.id,
		Generation:        g.generation,
		Protocol:          g.protocol,
		RebalanceProtocol: g.rebalProto,
		Assignment:        cloneTopicPartitions(m.assignment),
		Leader:            g.leader == m.id,
	}
}

// checkProtocolsLocked checks that names share a protocol with the
// protocols every member but except supports.
func (g *group) checkProtocolsLocked(names []string, except *member) error {
	common := []string(nil)
	first := true
	for _, o := range g.members {
		if o == except {
			continue
		}
		if first {
			common = slices.Clone(o.names)
			first = false
			continue
		}
		common = slices.DeleteFunc(common, func(n string) bool { return !slices.Contains(o.names, n) })
	}
	if first {
		return nil // no other member
	}
	for _, n := range names {
		if slices.Contains(common, n) {
			return nil
		}
	}
	return fmt.Errorf("%w: group %q uses %v, the member offers %v", ErrInconsistentProtocol, g.name, common, names)
}

// prepareLocked starts a rebalance (PreparingRebalance): every member must
// rejoin.
func (c *Coordinator) prepareLocked(g *group, reason string) {
	if g.state == StatePreparingRebalance {
		return
	}
	fromEmpty := g.state == StateEmpty
	g.state = StatePreparingRebalance
	now := time.Now()
	r := &round{done: make(chan struct{}), results: make(map[string]JoinResult), errs: make(map[string]error)}
	var timeout time.Duration
	for _, m := range g.members {
		timeout = max(timeout, m.rebalance)
		m.joined = false
		m.wake()
	}
	r.deadline = now.Add(timeout)
	if fromEmpty && c.cfg.InitialRebalanceDelay > 0 {
		r.delayUntil = minTime(now.Add(c.cfg.InitialRebalanceDelay), r.deadline)
	}
	g.round = r
	c.armLocked(g)
	c.log.Info("group: preparing rebalance", "group", g.name, "generation", g.generation, "reason", reason)
}

// armLocked sets the group's timer to the round's next deadline.
func (c *Coordinator) armLocked(g *group) {
	r := g.round
	next := r.deadline
	if !r.delayUntil.IsZero() && r.delayUntil.Before(next) {
		next = r.delayUntil
	}
	if g.timer != nil {
		g.timer.Stop()
	}
	g.timer = c.afterFunc(time.Until(next), func() { c.onRoundTimer(g, r) })
}

// onRoundTimer runs at a deadline of round r: the initial delay ended, or
// the rebalance timeout.
func (c *Coordinator) onRoundTimer(g *group, r *round) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dead || g.round != r {
		return
	}
	now := time.Now()
	if !r.delayUntil.IsZero() && !now.Before(r.delayUntil) {
		r.delayUntil = time.Time{}
	}
	if !now.Before(r.deadline) {
		c.completeLocked(g, true)
		return
	}
	c.maybeCompleteLocked(g)
	if g.round == r {
		c.armLocked(g)
	}
}

// maybeCompleteLocked completes the round if every member has joined and
// no initial delay is pending.
func (c *Coordinator) maybeCompleteLocked(g *group) {
	r := g.round
	if r == nil {
		return
	}
	if len(g.members) > 0 {
		if !r.delayUntil.IsZero() {
			return
		}
		for _, m := range g.members {
			if !m.joined {
				return
			}
		}
	}
	c.completeLocked(g, false)
}

// completeLocked ends the round: removes the dynamic members that did not
// rejoin (timedOut), bumps the generation, votes, assigns and answers.
func (c *Coordinator) completeLocked(g *group, timedOut bool) {
	r := g.round
	g.round = nil
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	if timedOut {
		for _, m := range g.sortedMembersLocked() {
			if !m.joined && m.instanceID == "" {
				c.removeLocked(g, m, "did not rejoin within the rebalance timeout")
			}
		}
	}
	g.generation++
	if len(g.members) == 0 {
		g.state, g.protocol, g.leader = StateEmpty, "", ""
		close(r.done)
		c.log.Info("group: empty", "group", g.name, "generation", g.generation)
		return
	}
	members := g.sortedMembersLocked()
	g.pickLeaderLocked(members)
	proto, assignor := g.voteLocked()
	in := make([]Member, len(members))
	parts := make(map[string]int32)
	for i, m := range members {
		in[i] = Member{ID: m.id, InstanceID: m.instanceID, Topics: m.topics, OwnedPartitions: m.owned, Generation: m.ownedGen}
		for _, t := range m.topics {
			if _, ok := parts[t]; !ok {
				if n := c.cfg.PartitionCount(t); n > 0 {
					parts[t] = n
				}
			}
		}
	}
	a, err := assignor.Assign(in, parts)
	var revoked map[string][]TopicPartitions
	if err == nil && assignor.Protocol() == Cooperative {
		// The built-in cooperative assignor already withholds moving
		// partitions; a user's may not. Adjusting again is a no-op then.
		a, revoked = CooperativeAdjust(in, a)
	}
	if err != nil {
		r.err = fmt.Errorf("group: assignor %q of group %q: %w", proto, g.name, err)
		c.log.Warn("group: assignor failed", "group", g.name, "assignor", proto, "err", err)
	}
	g.state, g.protocol, g.rebalProto = StateStable, proto, assignor.Protocol()
	now := time.Now()
	for _, m := range members {
		m.setAssignment(a[m.id]) // nil when the assignor failed
		if m.joined {
			m.heard(now)
		}
		if m.waiting {
			r.results[m.id] = g.currentResultLocked(m)
		}
		m.missed = m.joined && !m.waiting
		m.joined, m.waiting, m.firstJoin = false, false, false
	}
	close(r.done)
	c.log.Info("group: stable", "group", g.name, "generation", g.generation, "protocol", proto,
		"members", len(members), "leader", g.leader)
	if len(revoked) > 0 {
		c.prepareLocked(g, "cooperative follow-up: partitions revoked")
	}
}

// sortedMembersLocked returns the members sorted by ID.
func (g *group) sortedMembersLocked() []*member {
	out := make([]*member, 0, len(g.members))
	for _, m := range g.members {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *member) int { return strings.Compare(a.id, b.id) })
	return out
}

// pickLeaderLocked keeps the leader if it rejoined, otherwise makes the
// first member to have joined this round the leader (the first to have
// joined at all if none did).
func (g *group) pickLeaderLocked(members []*member) {
	if l := g.members[g.leader]; l != nil && l.joined {
		return
	}
	var best *member
	for _, m := range members {
		switch {
		case best == nil:
			best = m
		case m.joined != best.joined:
			if m.joined {
				best = m
			}
		case m.joinSeq < best.joinSeq:
			best = m
		}
	}
	g.leader = best.id
}

// voteLocked chooses the group's protocol: among the protocols every
// member lists (in the leader's order), each member votes for the first it
// lists; most votes wins, ties going to the leader's preference. It
// returns the name and the leader's Assignor of that name.
func (g *group) voteLocked() (string, Assignor) {
	leader := g.members[g.leader]
	var cands []string
	for _, n := range leader.names {
		all := true
		for _, m := range g.members {
			if !slices.Contains(m.names, n) {
				all = false
				break
			}
		}
		if all {
			cands = append(cands, n)
		}
	}
	if len(cands) == 0 {
		// Join keeps a common protocol; this cannot happen.
		return leader.names[0], leader.assignors[0]
	}
	votes := make([]int, len(cands))
	for _, m := range g.members {
		for _, n := range m.names {
			if i := slices.Index(cands, n); i >= 0 {
				votes[i]++
				break
			}
		}
	}
	best := 0
	for i := range votes {
		if votes[i] > votes[best] {
			best = i
		}
	}
	return cands[best], leader.assignors[slices.Index(leader.names, cands[best])]
}

// removeLocked removes m from the group, without starting a rebalance
// (triggerLocked does).
func (c *Coordinator) removeLocked(g *group, m *member, reason string) {
	m.removed = true
	if m.timer != nil {
		m.timer.Stop()
	}
	delete(g.members, m.id)
	if m.instanceID != "" && g.instances[m.instanceID] == m.id {
		delete(g.instances, m.instanceID)
		g.unfenceLocked(m.instanceID)
	}
	if m.waiting && g.round != nil {
		g.round.errs[m.id] = fmt.Errorf("%w: %q removed from group %q: %s", ErrUnknownMember, m.id, g.name, reason)
	}
	m.waiting = false
	m.wake()
	if g.leader == m.id {
		g.leader = ""
	}
	c.log.Info("group: member removed", "group", g.name, "member", m.id, "reason", reason)
}

// unfenceLocked forgets the member IDs fenced by instance's rejoins.
func (g *group) unfenceLocked(instance string) {
	maps.DeleteFunc(g.fenced, func(_, inst string) bool { return inst == instance })
}

// triggerLocked reacts to a change of membership: a stable group
// rebalances, a rebalancing one may now be complete.
func (c *Coordinator) triggerLocked(g *group, reason string) {
	if g.state == StateStable {
		c.prepareLocked(g, reason)
	}
	// The last member may have gone: the round is complete at once.
	c.maybeCompleteLocked(g)
}

// onSessionTimer runs at or after m's session deadline.
func (c *Coordinator) onSessionTimer(g *group, m *member) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dead || m.removed {
		return
	}
	now := time.Now()
	if m.waiting {
		m.heard(now) // waiting in Join is being alive
	}
	if now.Before(m.deadline) {
		m.timer.Reset(m.deadline.Sub(now))
		return
	}
	c.removeLocked(g, m, "session timeout")
	c.triggerLocked(g, "member "+m.id+" session expired")
}

// Heartbeat tells the coordinator the member is alive (Kafka's
// Heartbeat): it pushes the session deadline to now plus the session
// timeout. Heartbeats run in the consumer, not in the user's goroutine, so
// a slow poll loop does not expire the session (max.poll.interval.ms is
// the consumer's to enforce, by calling Leave).
//
// Errors: ErrRebalanceInProgress (the member must Join; its session timer
// is still reset), ErrIllegalGeneration, ErrUnknownMember,
// ErrFencedInstance, ErrClosed.
func (c *Coordinator) Heartbeat(group, memberID string, generation int32) error {
	g, err := c.lockGroup(group, false)
	if err != nil {
		return err
	}
	if g == nil {
		return fmt.Errorf("%w: %q (no group %q)", ErrUnknownMember, memberID, group)
	}
	defer g.mu.Unlock()
	m, err := g.memberLocked(memberID)
	if err != nil {
		return err
	}
	m.heard(time.Now())
	if generation != g.generation {
		return fmt.Errorf("%w: %d for member %q of group %q, whose generation is %d",
			ErrIllegalGeneration, generation, memberID, group, g.generation)
	}
	if g.state == StatePreparingRebalance {
		return fmt.Errorf("%w: group %q", ErrRebalanceInProgress, group)
	}
	return nil
}

// RebalanceNotify returns a channel that is closed when the member must
// call Join: a rebalance started (or is in progress and the member has not
// rejoined), the member was removed or fenced, or the coordinator closed.
// It lets a consumer react at once instead of at its next Heartbeat. The
// channel is closed already if that is the case now; a closed channel is
// returned for an unknown member too (Join tells why). Call it again after
// each Join.
func (c *Coordinator) RebalanceNotify(group, memberID string) <-chan struct{} {
	g, err := c.lockGroup(group, false)
	if err != nil || g == nil {
		return closedChan()
	}
	defer g.mu.Unlock()
	m := g.members[memberID]
	if m == nil || (g.state == StatePreparingRebalance && !m.waiting) {
		return closedChan()
	}
	if m.notify == nil {
		m.notify = make(chan struct{})
	}
	return m.notify
}

func closedChan() <-chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}

// Leave removes the member from the group at once (Kafka's LeaveGroup),
// which rebalances. A consumer calls it when it closes (dynamic members
// only: a static member that leaves gives up the point of being static)
// and when max.poll.interval.ms passes without a poll, with the ID a Join
// cut short by its ctx returned if it has no other. Errors:
// ErrUnknownMember, ErrFencedInstance, ErrClosed.
func (c *Coordinator) Leave(group, memberID string) error {
	g, err := c.lockGroup(group, false)
	if err != nil {
		return err
	}
	if g == nil {
		return fmt.Errorf("%w: %q (no group %q)", ErrUnknownMember, memberID, group)
	}
	defer g.mu.Unlock()
	m, err := g.memberLocked(memberID)
	if err != nil {
		return err
	}
	c.removeLocked(g, m, "left the group")
	c.triggerLocked(g, "member "+memberID+" left")
	return nil
}

// PartitionsChanged tells the coordinator that topic's partition count
// changed (or that it was created or deleted): every stable group with a
// member subscribed to it rebalances. The Broker calls it.
func (c *Coordinator) PartitionsChanged(topic string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	groups := make([]*group, 0, len(c.groups))
	for _, g := range c.groups {
		groups = append(groups, g)
	}
	c.mu.Unlock()
	for _, g := range groups {
		g.mu.Lock()
		if !g.dead && g.state == StateStable {
			for _, m := range g.members {
				if _, ok := slices.BinarySearch(m.topics, topic); ok {
					c.prepareLocked(g, "partition count of topic "+topic+" changed")
					break
				}
			}
		}
		g.mu.Unlock()
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

package group

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Defaults of a JoinRequest's timeouts.
const (
	// DefaultSessionTimeout is session.timeout.ms's default (Kafka 3.0 and
	// later).
	DefaultSessionTimeout = 45 * time.Second
	// DefaultRebalanceTimeout is max.poll.interval.ms's default, which the
	// Java consumer sends as its rebalance timeout.
	DefaultRebalanceTimeout = 5 * time.Minute
)

// JoinRequest is a member's JoinGroup (and SyncGroup: the coordinator
// computes the assignment itself, see Coordinator.Join).
type JoinRequest struct {
	// Group is group.id. Required.
	Group string
	// MemberID is the member ID a previous Join returned; "" for a member
	// joining for the first time (or a static member restarting).
	MemberID string
	// InstanceID is group.instance.id: "" for a dynamic member. A static
	// member that restarts (MemberID "") with the instance ID of a member
	// still in the group takes its place and, if its subscription is
	// unchanged and the group is stable, gets its assignment back without
	// a rebalance (KIP-345).
	InstanceID string
	// ClientID is client.id, the prefix of a new member ID. Default
	// "consumer".
	ClientID string
	// Topics are the topics the member subscribes to.
	Topics []string
	// Assignors are the assignors the member supports, in order of
	// preference (partition.assignment.strategy); each protocol name at
	// most once. Required. The group uses the protocol that every member
	// supports and most members prefer, run with the leader's Assignor.
	Assignors []Assignor
	// SessionTimeout is session.timeout.ms: the member is removed when
	// the coordinator hears nothing from it (Heartbeat, Join, Commit) for
	// this long. Default DefaultSessionTimeout; it must lie within the
	// coordinator's [MinSessionTimeout, MaxSessionTimeout].
	SessionTimeout time.Duration
	// RebalanceTimeout is how long a rebalance waits for this member to
	// rejoin (the Java consumer sends max.poll.interval.ms). Default
	// DefaultRebalanceTimeout.
	RebalanceTimeout time.Duration
	// Owned are the partitions the member holds: its assignment of
	// generation Generation (nil for none, or after an eager
	// revocation). The sticky assignors keep them in place; the
	// cooperative one never moves a partition while it is owned.
	Owned []TopicPartitions
	// Generation is the generation Owned was assigned in; -1 for none.
	Generation int32
}

// JoinResult is the answer to a Join: the member's identity and its
// assignment for the generation.
type JoinResult struct {
	// MemberID is the member's ID, to pass to every later call.
	MemberID string
	// Generation is the group's generation; commits and heartbeats name
	// it.
	Generation int32
	// Protocol is the name of the assignor the group voted for.
	Protocol string
	// RebalanceProtocol is that assignor's protocol. With Cooperative,
	// the member keeps consuming what stays in its assignment and gives
	// up only the rest.
	RebalanceProtocol RebalanceProtocol
	// Assignment is the member's partitions, sorted as in an Assignment.
	Assignment []TopicPartitions
	// Leader reports that this member is the group leader (the member
	// whose Assignor ran).
	Leader bool
}

// member is one member of a group. Guarded by its group's mu.
type member struct {
	id, instanceID string
	topics         []string // sorted, unique
	assignors      []Assignor
	names          []string // protocol names of assignors, in order
	session        time.Duration
	rebalance      time.Duration
	owned          []TopicPartitions
	ownedGen       int32

	// assignment is the member's partitions in the group's current
	// generation (nil before its first one), and assigned the lookup
	// table of it that commits check.
	assignment []TopicPartitions
	assigned   map[TopicPartition]struct{}

	// joined is set when the member has joined the round in progress;
	// waiting while its Join call waits for the round's answer.
	joined  bool
	waiting bool
	joinSeq uint64 // order of joining, for picking a leader
	// firstJoin is set while the only Join of the member is the one that
	// created it (MemberID ""): if that Join's ctx ends before the round
	// does, the member becomes pending (KIP-394): it keeps its ID, and the
	// round waits for it to rejoin with it, until its session expires.
	firstJoin bool
	// missed is set when the member was in the last round (joined) but
	// not waiting in Join when it completed: it has not seen the result
	// of the current generation.
	missed bool

	// deadline is when the session expires, unless the member is heard
	// from again; timer fires at or after it (sessionTimer).
	deadline time.Time
	timer    *time.Timer
	removed  bool

	// notify is closed when the member must rejoin (RebalanceNotify);
	// nil until asked for.
	notify chan struct{}
}

// sameMetadata reports whether req subscribes to the same topics with the
// same protocols as m: a rejoin with it needs no rebalance.
func (m *member) sameMetadata(topics, names []string) bool {
	return slices.Equal(m.topics, topics) && slices.Equal(m.names, names)
}

// setAssignment records the member's assignment in a new generation.
func (m *member) setAssignment(a []TopicPartitions) {
	m.assignment = a
	m.assigned = make(map[TopicPartition]struct{})
	for _, tp := range a {
		for _, p := range tp.Partitions {
			m.assigned[TopicPartition{Topic: tp.Topic, Partition: p}] = struct{}{}
		}
	}
}

// wake closes the member's notify channel, if any.
func (m *member) wake() {
	if m.notify != nil {
		close(m.notify)
		m.notify = nil
	}
}

// normalizeTopics returns topics sorted, without duplicates or empty
// names, in a new slice.
func normalizeTopics(topics []string) []string {
	out := slices.Clone(topics)
	out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
	slices.Sort(out)
	return slices.Compact(out)
}

// protocolNames checks a member's assignors and returns their names.
func protocolNames(assignors []Assignor) ([]string, error) {
	if len(assignors) == 0 {
		return nil, fmt.Errorf("%w: no assignors", ErrInconsistentProtocol)
	}
	names := make([]string, len(assignors))
	for i, a := range assignors {
		if a == nil {
			return nil, fmt.Errorf("%w: assignor %d is nil", ErrInconsistentProtocol, i)
		}
		names[i] = a.Name()
		if names[i] == "" || slices.Contains(names[:i], names[i]) {
			return nil, fmt.Errorf("%w: assignor name %q empty or listed twice", ErrInconsistentProtocol, names[i])
		}
	}
	return names, nil
}

// newMemberID returns a new member ID: prefix, '-', and 26 random
// characters, as Kafka's clientId-UUID (instanceId-UUID for a static
// member).
func newMemberID(prefix string) string {
	if prefix == "" {
		prefix = "consumer"
	}
	return prefix + "-" + strings.ToLower(rand.Text())
}

// heard pushes the member's session deadline to now plus its session
// timeout: it is alive.
func (m *member) heard(now time.Time) { m.deadline = now.Add(m.session) }

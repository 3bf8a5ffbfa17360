package group

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidMember is returned by the built-in assignors when the members
// handed to Assign are not a valid group: an empty member ID, two members
// with the same ID, or two static members with the same InstanceID. The
// coordinator never builds such a group, so it marks a bug in the caller.
var ErrInvalidMember = errors.New("group: invalid member")

// ErrInvalidPartitionCount is returned by the built-in assignors when a
// topic of the partitions map has a negative partition count.
var ErrInvalidPartitionCount = errors.New("group: invalid partition count")

// RebalanceProtocol is how a group moves partitions between generations
// (Kafka's ConsumerPartitionAssignor.RebalanceProtocol).
type RebalanceProtocol int8

const (
	// Eager is the classic protocol: every member gives up all its
	// partitions before it rejoins, and the new assignment starts from
	// nothing owned. Range, RoundRobin and Sticky are eager.
	Eager RebalanceProtocol = iota
	// Cooperative is KIP-429's incremental protocol: members keep
	// consuming what they own while they rejoin and give up only the
	// partitions their new assignment leaves out; a partition that moves
	// between members is assigned to nobody in the round that revokes
	// it, and to its new owner in a follow-up rebalance.
	// CooperativeSticky is cooperative.
	Cooperative
)

// String returns "eager" or "cooperative", the names Kafka logs.
func (p RebalanceProtocol) String() string {
	switch p {
	case Eager:
		return "eager"
	case Cooperative:
		return "cooperative"
	}
	return fmt.Sprintf("RebalanceProtocol(%d)", int8(p))
}

// TopicPartitions names partitions of one topic.
type TopicPartitions struct {
	Topic      string
	Partitions []int32
}

// Member is one group member as the group leader sees it when it assigns
// partitions: its JoinGroup subscription (Kafka's
// ConsumerProtocolSubscription v2) plus its identity.
type Member struct {
	// ID is the member ID the coordinator handed out; it must be unique
	// and non-empty. It keys the Assignment.
	ID string
	// InstanceID is group.instance.id for a static member (KIP-345), ""
	// for a dynamic one. Static members sort before dynamic ones, by
	// InstanceID, so a static member that restarts under a new ID keeps
	// its place in Range and RoundRobin.
	InstanceID string
	// Topics are the topics the member subscribes to. Topics missing from
	// the partitions map handed to Assign are ignored, as are duplicates.
	Topics []string
	// UserData is the opaque user data of the subscription for this
	// protocol. The built-in assignors read it only in one case: Sticky
	// decodes it as Kafka's StickyAssignorUserData (see
	// EncodeStickyUserData) when OwnedPartitions is empty.
	UserData []byte
	// OwnedPartitions are the partitions the member held when it
	// rejoined: its assignment of generation Generation. The sticky
	// assignors keep them where they can; the cooperative one never
	// hands a partition to another member while this one still claims
	// it.
	OwnedPartitions []TopicPartitions
	// Generation is the group generation in which OwnedPartitions were
	// assigned (Kafka uses -1 for none). When two members claim the same
	// partition, the higher generation wins; at equal generations
	// neither does (KIP-341).
	Generation int32
}

// Assignment maps each member ID to the partitions assigned to it, topics
// in ascending byte order and each topic's partitions ascending, with no
// empty TopicPartitions. Every member handed to Assign has an entry; one
// that gets nothing maps to nil.
type Assignment map[string][]TopicPartitions

// Assignor splits the partitions of the subscribed topics among the
// members of a group. The coordinator calls it on the leader's behalf at
// every rebalance.
//
// Users may implement it; group/assignortest checks an implementation
// against the contract below. The built-in assignors are stateless and
// safe for concurrent use.
type Assignor interface {
	// Name is the protocol name members advertise in JoinGroup and vote
	// on: "range", "roundrobin", "sticky", "cooperative-sticky" for the
	// built-ins. It must be unique within a member's list of assignors.
	Name() string
	// Protocol is the rebalance protocol the assignor needs. A consumer
	// rebalances cooperatively only if every assignor it lists is
	// Cooperative (see CommonProtocol).
	Protocol() RebalanceProtocol
	// Assign returns the assignment for members over partitions, which
	// maps each topic to its partition count (partitions 0 to count-1).
	// It must hand each partition of a subscribed topic to at most one
	// member subscribed to that topic, and to exactly one once nothing
	// is being revoked; return an entry for every member, in the sorted
	// form described at Assignment; depend only on the input, not on
	// the order of members, of their Topics or of their
	// OwnedPartitions; and leave its arguments unmodified.
	Assign(members []Member, partitions map[string]int32) (Assignment, error)
}

// Range returns Kafka's RangeAssignor ("range"), eager: topic by topic,
// the partitions are cut into consecutive ranges, one per subscribed
// member in member order, the first P%M members getting one partition
// more than the others. With several topics the members first in order
// collect the extras of every topic. Its output matches Java's exactly.
func Range() Assignor { return rangeAssignor{} }

// RoundRobin returns Kafka's RoundRobinAssignor ("roundrobin"), eager:
// the partitions of all subscribed topics, sorted by topic and partition,
// are dealt one by one to the members in member order, skipping members
// not subscribed to a partition's topic. Its output matches Java's
// exactly.
func RoundRobin() Assignor { return roundRobinAssignor{} }

// Sticky returns Kafka's StickyAssignor ("sticky", KIP-54), eager: the
// assignment is balanced first and then keeps as many partitions as it can
// with the members that owned them (OwnedPartitions, or the previous
// assignment in UserData). See CooperativeSticky for the algorithm and
// its differences from Java.
func Sticky() Assignor { return stickyAssignor{} }

// CooperativeSticky returns Kafka's CooperativeStickyAssignor
// ("cooperative-sticky", KIP-429), cooperative: it computes the sticky
// assignment and then leaves out, for this round, every partition that a
// member other than its new owner still owns (CooperativeAdjust). The
// old owner revokes it and keeps consuming everything else; the group
// then rebalances again and the freed partition goes to its new owner.
//
// The sticky target is built as follows. Ownership claims are read from
// OwnedPartitions and Generation; a claim counts only for a subscribed
// topic that exists; of several claims on one partition the highest
// generation wins and a tie drops them all. Claimed partitions stay with
// their owner; the others are handed out topic by topic, topics with the
// fewest subscribers first, each partition to its subscriber with the
// fewest partitions (ties go to the first in member order). Then, while
// some member has two or more partitions more than a member that could
// take one of them, the member with the most gives one partition to the
// least loaded subscriber of its topic, preferring partitions it did not
// own before and, among owned ones, the highest partition number, so
// that it keeps its lowest as Java's trimming does. When all members
// subscribe to the same topics the result is balanced within one
// partition and moves the fewest partitions any balanced assignment
// could; otherwise it is balanced in Kafka's sense: no member could take
// a partition from a member with two or more more. Like Java's, this
// does not look for chains of moves (A to B to C), so with differing
// subscriptions a better balanced assignment can exist.
//
// Cost: O(P log M) for a group that needs no moves, plus O(M) per
// partition moved when all members subscribe to the same topics; with
// differing subscriptions a move can cost O(P + T*M) in the worst case.
//
// Java iterates members in HashMap order (reference 7.7), which no other
// program can reproduce, so where the input leaves a choice our output
// can differ from Java's while being just as valid, balanced and sticky;
// we break every tie by member order instead. Java also ignores every
// claim of a member whose generation is below the highest one when all
// subscriptions are equal; we keep those claims unless a newer one
// conflicts, which keeps more partitions in place and is safe because an
// unconflicted claim has no other owner.
func CooperativeSticky() Assignor { return stickyAssignor{cooperative: true} }

// DefaultAssignors returns the assignors a consumer lists when it is
// configured with none: Range, then CooperativeSticky, Kafka's default
// partition.assignment.strategy since 3.0. A group whose members all use
// the default votes for range (each member's first choice) and
// rebalances eagerly, as Java consumers do; listing CooperativeSticky
// alone (franz-go's default) opts into incremental rebalances. We keep
// Kafka's list so that code written against samsa behaves the same when
// it is pointed at a Kafka cluster, and so that a group can move to
// cooperative-sticky by a rolling change of its members' lists, the
// upgrade path KIP-429 designed this default for. Each call returns a new
// slice.
func DefaultAssignors() []Assignor {
	return []Assignor{Range(), CooperativeSticky()}
}

// Lookup returns the built-in assignor with the given protocol name, or
// false if there is none.
func Lookup(name string) (Assignor, bool) {
	switch name {
	case "range":
		return Range(), true
	case "roundrobin":
		return RoundRobin(), true
	case "sticky":
		return Sticky(), true
	case "cooperative-sticky":
		return CooperativeSticky(), true
	}
	return nil, false
}

// CommonProtocol returns the protocol a member that lists assignors
// rebalances with: Cooperative if every one of them is cooperative,
// otherwise Eager (Kafka's ConsumerCoordinator picks the highest
// protocol all its assignors support). It returns Eager for an empty
// list.
func CommonProtocol(assignors []Assignor) RebalanceProtocol {
	if len(assignors) == 0 {
		return Eager
	}
	for _, a := range assignors {
		if a.Protocol() != Cooperative {
			return Eager
		}
	}
	return Cooperative
}

// compareMembers orders members as Java's AbstractPartitionAssignor
// MemberInfo does: static members first, by instance ID, then dynamic
// members by member ID. Java compares strings by UTF-16 code units and we
// by bytes; the two orders differ only between characters above U+FFFF
// and those in U+E000..U+FFFF.
func compareMembers(a, b *Member) int {
	switch sa, sb := a.InstanceID != "", b.InstanceID != ""; {
	case sa && sb:
		if c := strings.Compare(a.InstanceID, b.InstanceID); c != 0 {
			return c
		}
	case sa:
		return -1
	case sb:
		return 1
	}
	return strings.Compare(a.ID, b.ID)
}

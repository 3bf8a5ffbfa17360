package consumer

import (
	"context"
	"time"

	"github.com/samsalog/samsa/group"
)

// coordinator is what a Consumer needs of the broker's group coordinator
// (package group, plan/API.md "group coordinator (issue 5)"). It is an
// interface so that the consumer's group logic compiles and is tested
// without the coordinator; coordinator_broker.go adapts *group.Coordinator
// to it.
type coordinator interface {
	// join is group.Coordinator.Join. When ctx ends first it returns
	// ctx.Err() with the member ID in the result, if the coordinator kept
	// the member in the round (a pending join, continued by joining again
	// with that ID); the other fields are zero.
	join(ctx context.Context, req joinRequest) (joinResult, error)
	heartbeat(group, member string, generation int32) error
	// rebalanceNotify returns a channel closed when member must rejoin, or
	// nil if the coordinator has none (heartbeats then tell).
	rebalanceNotify(group, member string) <-chan struct{}
	leave(group, member string) error
	commit(ctx context.Context, group, member string, generation int32, offsets map[TopicPartition]Offset) error
	fetchOffsets(group string, tps []TopicPartition) (map[TopicPartition]Offset, error)
	// kind classifies an error of the calls above.
	kind(err error) errKind
}

type errKind int

const (
	kindOther             errKind = iota
	kindRebalance                 // rebalance in progress: rejoin, keep the member ID
	kindUnknownMember             // the coordinator forgot the member: partitions lost, new member ID
	kindIllegalGeneration         // stale generation: partitions lost, rejoin with the same ID
	kindFenced                    // static member replaced by a newer instance: fatal
	kindNotAssigned               // commit for a partition the member does not own
)

type joinRequest struct {
	Group, MemberID, InstanceID string
	Topics                      []string
	Assignors                   []group.Assignor
	SessionTimeout              time.Duration
	RebalanceTimeout            time.Duration
	Owned                       []TopicPartition
	Generation                  int32
}

type joinResult struct {
	MemberID          string
	Generation        int32
	Protocol          string
	RebalanceProtocol group.RebalanceProtocol
	Assignment        []TopicPartition
}

package consumer

import (
	"context"
	"errors"

	samsa "github.com/samsalog/samsa"
	"github.com/samsalog/samsa/group"
)

// brokerCoordinator adapts the broker's *group.Coordinator (API.md "group
// coordinator (issue 5)") to the consumer's coordinator interface.
func brokerCoordinator(b *samsa.Broker) coordinator {
	c := b.Coordinator()
	if c == nil {
		return nil
	}
	return groupCoordinator{c}
}

type groupCoordinator struct{ c *group.Coordinator }

func toGroupTPs(tps []TopicPartition) []group.TopicPartitions {
	var out []group.TopicPartitions
	for _, tp := range sortTPs(append([]TopicPartition(nil), tps...)) {
		if n := len(out); n > 0 && out[n-1].Topic == tp.Topic {
			out[n-1].Partitions = append(out[n-1].Partitions, tp.Partition)
			continue
		}
		out = append(out, group.TopicPartitions{Topic: tp.Topic, Partitions: []int32{tp.Partition}})
	}
	return out
}

func fromGroupTPs(in []group.TopicPartitions) []TopicPartition {
	var out []TopicPartition
	for _, t := range in {
		for _, p := range t.Partitions {
			out = append(out, TopicPartition{t.Topic, p})
		}
	}
	return out
}

func (g groupCoordinator) join(ctx context.Context, req joinRequest) (joinResult, error) {
	res, err := g.c.Join(ctx, group.JoinRequest{
		Group: req.Group, MemberID: req.MemberID, InstanceID: req.InstanceID,
		Topics: req.Topics, Assignors: req.Assignors,
		SessionTimeout: req.SessionTimeout, RebalanceTimeout: req.RebalanceTimeout,
		Owned: toGroupTPs(req.Owned), Generation: req.Generation,
	})
	if err != nil {
		// With ctx.Err(): the ID of the member, pending in the round.
		return joinResult{MemberID: res.MemberID}, err
	}
	return joinResult{MemberID: res.MemberID, Generation: res.Generation, Protocol: res.Protocol,
		RebalanceProtocol: res.RebalanceProtocol, Assignment: fromGroupTPs(res.Assignment)}, nil
}

func (g groupCoordinator) heartbeat(grp, member string, gen int32) error {
	return g.c.Heartbeat(grp, member, gen)
}

func (g groupCoordinator) rebalanceNotify(grp, member string) <-chan struct{} {
	return g.c.RebalanceNotify(grp, member)
}

func (g groupCoordinator) leave(grp, member string) error { return g.c.Leave(grp, member) }

func (g groupCoordinator) commit(ctx context.Context, grp, member string, gen int32, offsets map[TopicPartition]Offset) error {
	m := make(map[group.TopicPartition]group.OffsetAndMetadata, len(offsets))
	for tp, o := range offsets {
		// CommitTime is the coordinator's to set.
		m[group.TopicPartition{Topic: tp.Topic, Partition: tp.Partition}] = group.OffsetAndMetadata{
			Offset: o.Offset, LeaderEpoch: o.LeaderEpoch, Metadata: o.Metadata}
	}
	return g.c.Commit(ctx, grp, member, gen, m)
}

func (g groupCoordinator) fetchOffsets(grp string, tps []TopicPartition) (map[TopicPartition]Offset, error) {
	in := make([]group.TopicPartition, len(tps))
	for i, tp := range tps {
		in[i] = group.TopicPartition{Topic: tp.Topic, Partition: tp.Partition}
	}
	got, err := g.c.FetchOffsets(grp, in)
	if err != nil {
		return nil, err
	}
	out := make(map[TopicPartition]Offset, len(got))
	for tp, o := range got {
		out[TopicPartition{tp.Topic, tp.Partition}] = Offset{Offset: o.Offset, LeaderEpoch: o.LeaderEpoch, Metadata: o.Metadata}
	}
	return out, nil
}

func (groupCoordinator) kind(err error) errKind {
	switch {
	case err == nil:
		return kindOther
	case errors.Is(err, group.ErrRebalanceInProgress):
		return kindRebalance
	case errors.Is(err, group.ErrUnknownMember):
		return kindUnknownMember
	case errors.Is(err, group.ErrIllegalGeneration):
		return kindIllegalGeneration
	case errors.Is(err, group.ErrFencedInstance):
		return kindFenced
	case errors.Is(err, group.ErrNotAssigned):
		return kindNotAssigned
	}
	return kindOther
}

package consumer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	samsa "github.com/samsalog/samsa"
	"github.com/samsalog/samsa/group"
)

// fakeCoord is an in-memory stand-in for group.Coordinator with the
// classic protocol's rules that the consumer depends on: a join starts a
// round that completes when every known member has rejoined (or left); the
// generation then goes up and everyone gets its assignment; heartbeats of
// members not yet rejoined say "rebalance in progress"; commits are checked
// against the generation. No session timeouts.
type fakeCoord struct {
	b *samsa.Broker

	mu       sync.Mutex
	gen      int32
	nextID   int
	members  map[string]*fakeMember
	inRound  map[string]bool
	roundC   chan struct{} // closed when the round completes; nil when stable
	results  map[string]joinResult
	notify   map[string]chan struct{}
	offsets  map[string]map[TopicPartition]Offset
	commits  int
	leaves   int
	rounds   int
	protocol string
}

type fakeMember struct {
	req joinRequest
}

var (
	errFakeRebalance = errors.New("fake: rebalance in progress")
	errFakeUnknown   = errors.New("fake: unknown member")
	errFakeIllegal   = errors.New("fake: illegal generation")
)

func newFakeCoord(b *samsa.Broker) *fakeCoord {
	return &fakeCoord{b: b, members: map[string]*fakeMember{}, notify: map[string]chan struct{}{},
		offsets: map[string]map[TopicPartition]Offset{}}
}

func (f *fakeCoord) startRoundLocked() {
	if f.roundC != nil {
		return
	}
	f.roundC = make(chan struct{})
	f.inRound = map[string]bool{}
	for id, ch := range f.notify {
		close(ch)
		delete(f.notify, id)
	}
}

func (f *fakeCoord) maybeCompleteLocked() {
	if f.roundC == nil {
		return
	}
	for id := range f.members {
		if !f.inRound[id] {
			return
		}
	}
	f.gen++
	f.rounds++
	f.results = map[string]joinResult{}
	if len(f.members) > 0 {
		var ms []group.Member
		topics := map[string]int32{}
		var first joinRequest
		ids := make([]string, 0, len(f.members))
		for id := range f.members {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for i, id := range ids {
			m := f.members[id]
			if i == 0 {
				first = m.req
			}
			for _, t := range m.req.Topics {
				if d, err := f.b.DescribeTopic(t); err == nil {
					topics[t] = d.Partitions
				}
			}
			var owned []group.TopicPartitions
			for _, tp := range m.req.Owned {
				owned = append(owned, group.TopicPartitions{Topic: tp.Topic, Partitions: []int32{tp.Partition}})
			}
			ms = append(ms, group.Member{ID: id, Topics: m.req.Topics, OwnedPartitions: owned, Generation: m.req.Generation})
		}
		a := first.Assignors[0]
		f.protocol = a.Name()
		asg, err := a.Assign(ms, topics)
		if err != nil {
			panic(err)
		}
		for _, id := range ids {
			var tps []TopicPartition
			for _, t := range asg[id] {
				for _, p := range t.Partitions {
					tps = append(tps, TopicPartition{t.Topic, p})
				}
			}
			f.results[id] = joinResult{MemberID: id, Generation: f.gen, Protocol: a.Name(), RebalanceProtocol: a.Protocol(), Assignment: tps}
		}
	}
	close(f.roundC)
	f.roundC = nil
}

func (f *fakeCoord) join(ctx context.Context, req joinRequest) (joinResult, error) {
	f.mu.Lock()
	id := req.MemberID
	if id == "" {
		f.nextID++
		id = fmt.Sprintf("member-%03d", f.nextID)
	} else if f.members[id] == nil {
		f.mu.Unlock()
		return joinResult{}, errFakeUnknown
	}
	req.MemberID = id
	f.members[id] = &fakeMember{req: req}
	f.startRoundLocked()
	f.inRound[id] = true
	done := f.roundC
	f.maybeCompleteLocked()
	f.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return joinResult{}, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	res, ok := f.results[id]
	if !ok {
		return joinResult{}, errFakeUnknown
	}
	return res, nil
}

func (f *fakeCoord) heartbeat(_, member string, gen int32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.members[member] == nil:
		return errFakeUnknown
	case f.roundC != nil:
		return errFakeRebalance
	case gen != f.gen:
		return errFakeIllegal
	}
	return nil
}

func (f *fakeCoord) rebalanceNotify(_, member string) <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan struct{})
	if f.roundC != nil || f.members[member] == nil {
		close(ch)
		return ch
	}
	f.notify[member] = ch
	return ch
}

func (f *fakeCoord) leave(_, member string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.members[member] == nil {
		return errFakeUnknown
	}
	f.leaves++
	delete(f.members, member)
	if ch := f.notify[member]; ch != nil {
		close(ch)
		delete(f.notify, member)
	}
	f.startRoundLocked()
	f.maybeCompleteLocked()
	return nil
}

func (f *fakeCoord) commit(_ context.Context, grp, member string, gen int32, offsets map[TopicPartition]Offset) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if gen >= 0 || member != "" {
		if f.members[member] == nil {
			return errFakeUnknown
		}
		if gen != f.gen {
			return errFakeIllegal
		}
	}
	if f.offsets[grp] == nil {
		f.offsets[grp] = map[TopicPartition]Offset{}
	}
	for tp, o := range offsets {
		f.offsets[grp][tp] = o
	}
	f.commits++
	return nil
}

func (f *fakeCoord) fetchOffsets(grp string, tps []TopicPartition) (map[TopicPartition]Offset, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[TopicPartition]Offset{}
	for _, tp := range tps {
		if o, ok := f.offsets[grp][tp]; ok {
			out[tp] = o
		}
	}
	return out, nil
}

func (*fakeCoord) kind(err error) errKind {
	switch {
	case errors.Is(err, errFakeRebalance):
		return kindRebalance
	case errors.Is(err, errFakeUnknown):
		return kindUnknownMember
	case errors.Is(err, errFakeIllegal):
		return kindIllegalGeneration
	}
	return kindOther
}

func (f *fakeCoord) committed(grp string, tp TopicPartition) (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.offsets[grp][tp]
	return o.Offset, ok
}

func (f *fakeCoord) memberCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.members)
}

package group

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNewCoordinatorConfig(t *testing.T) {
	_, err := NewCoordinator(nil)
	require.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewCoordinator(&CoordinatorConfig{})
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.ErrorContains(t, err, "Offsets")
	require.ErrorContains(t, err, "PartitionCount")
}

func TestJoinLeaveRejoinGenerations(t *testing.T) {
	e := newEnv(t, 1, map[string]int32{"t": 4}, nil)
	c := e.c
	ctx := context.Background()

	a, err := c.Join(ctx, req("", []string{"t"}))
	require.NoError(t, err)
	require.Equal(t, int32(1), a.Generation)
	require.Equal(t, "range", a.Protocol)
	require.True(t, a.Leader)
	require.Equal(t, []TopicPartitions{{Topic: "t", Partitions: []int32{0, 1, 2, 3}}}, a.Assignment)
	require.NoError(t, c.Heartbeat("g", a.MemberID, 1))

	// A second member: the first must rejoin.
	bch := joinAsync(c, req("", []string{"t"}))
	require.Eventually(t, func() bool {
		return isErr(c.Heartbeat("g", a.MemberID, 1), ErrRebalanceInProgress)
	}, 5*time.Second, time.Millisecond)
	select {
	case <-c.RebalanceNotify("g", a.MemberID):
	default:
		t.Fatal("RebalanceNotify not closed during a rebalance")
	}
	a2, err := c.Join(ctx, rejoin(req("", []string{"t"}), a))
	require.NoError(t, err)
	b := <-bch
	require.NoError(t, b.err)
	require.Equal(t, int32(2), a2.Generation)
	require.Equal(t, int32(2), b.res.Generation)
	require.Equal(t, a.MemberID, a2.MemberID)
	require.True(t, a2.Leader)
	require.False(t, b.res.Leader)
	require.ElementsMatch(t, []TopicPartition{{"t", 0}, {"t", 1}, {"t", 2}, {"t", 3}},
		append(tps(a2.Assignment), tps(b.res.Assignment)...))
	require.Len(t, tps(a2.Assignment), 2)
	require.ErrorIs(t, c.Heartbeat("g", a.MemberID, 1), ErrIllegalGeneration)
	require.NoError(t, c.Heartbeat("g", b.res.MemberID, 2))

	// A known member rejoining a stable group unchanged: no rebalance.
	same, err := c.Join(ctx, rejoin(req("", []string{"t"}), b.res))
	require.NoError(t, err)
	require.Equal(t, b.res, same)

	// The leader leaves: b rebalances alone and becomes the leader.
	require.NoError(t, c.Leave("g", a.MemberID))
	require.ErrorIs(t, c.Heartbeat("g", a.MemberID, 2), ErrUnknownMember)
	require.ErrorIs(t, c.Heartbeat("g", b.res.MemberID, 2), ErrRebalanceInProgress)
	b3, err := c.Join(ctx, rejoin(req("", []string{"t"}), b.res))
	require.NoError(t, err)
	require.Equal(t, int32(3), b3.Generation)
	require.True(t, b3.Leader)
	require.Len(t, tps(b3.Assignment), 4)

	// The last member leaves: Empty, the generation still moves.
	require.NoError(t, c.Leave("g", b3.MemberID))
	d, err := c.DescribeGroup("g")
	require.NoError(t, err)
	require.Equal(t, StateEmpty, d.State)
	require.Equal(t, int32(4), d.Generation)
	require.Empty(t, d.Members)

	// A subscription change of a member rebalances.
	e.counts.set("u", 2)
	x, err := c.Join(ctx, req("", []string{"t"}))
	require.NoError(t, err)
	require.Equal(t, int32(5), x.Generation)
	x2, err := c.Join(ctx, rejoin(req("", []string{"t", "u"}), x))
	require.NoError(t, err)
	require.Equal(t, int32(6), x2.Generation)
	require.Len(t, tps(x2.Assignment), 6)
}

func isErr(err, target error) bool { return err != nil && errorsIs(err, target) }

func TestJoinValidation(t *testing.T) {
	e := newEnv(t, 1, map[string]int32{"t": 1}, &CoordinatorConfig{MinSessionTimeout: time.Second, MaxSessionTimeout: time.Minute})
	c := e.c
	ctx := context.Background()
	_, err := c.Join(ctx, JoinRequest{Assignors: []Assignor{Range()}})
	require.ErrorIs(t, err, ErrInvalidGroupID)
	r := req("", []string{"t"})
	r.SessionTimeout = time.Millisecond
	_, err = c.Join(ctx, r)
	require.ErrorIs(t, err, ErrInvalidSessionTimeout)
	r.SessionTimeout = time.Hour
	_, err = c.Join(ctx, r)
	require.ErrorIs(t, err, ErrInvalidSessionTimeout)
	_, err = c.Join(ctx, JoinRequest{Group: "g", SessionTimeout: 10 * time.Second})
	require.ErrorIs(t, err, ErrInconsistentProtocol)
	_, err = c.Join(ctx, req("", nil, Range(), Range()))
	require.ErrorIs(t, err, ErrInconsistentProtocol)
	r = req("nobody", []string{"t"})
	r.SessionTimeout = 10 * time.Second
	_, err = c.Join(ctx, r)
	require.ErrorIs(t, err, ErrUnknownMember)
	require.ErrorIs(t, c.Heartbeat("nogroup", "x", 1), ErrUnknownMember)
	require.ErrorIs(t, c.Leave("nogroup", "x"), ErrUnknownMember)
	_, err = c.DescribeGroup("nogroup")
	require.ErrorIs(t, err, ErrUnknownGroup)
}

func TestProtocolVote(t *testing.T) {
	rr, rg, st := RoundRobin(), Range(), Sticky()
	for _, tc := range []struct {
		name    string
		members [][]Assignor // first member joins first and leads
		want    string
	}{
		{"majority", [][]Assignor{{rg, rr}, {rr, rg}, {rr, rg}}, "roundrobin"},
		{"only common", [][]Assignor{{rg, rr}, {rg, rr}, {rr}}, "roundrobin"},
		{"tie goes to the leader", [][]Assignor{{rg, rr}, {rr, rg}}, "range"},
		{"tie goes to the leader 2", [][]Assignor{{rr, rg}, {rg, rr}}, "roundrobin"},
		{"common third choice", [][]Assignor{{rg, st, rr}, {st, rr}, {rr, st}}, "sticky"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 1, map[string]int32{"t": 3}, nil)
			first, err := e.c.Join(context.Background(), req("", []string{"t"}, tc.members[0]...))
			require.NoError(t, err)
			var chans []<-chan joinOutcome
			for _, as := range tc.members[1:] {
				chans = append(chans, joinAsync(e.c, req("", []string{"t"}, as...)))
			}
			// The leader rejoins once every other member is in the round.
			require.Eventually(t, func() bool {
				d, _ := e.c.DescribeGroup("g")
				return len(d.Members) == len(tc.members)
			}, 5*time.Second, time.Millisecond)
			res, err := e.c.Join(context.Background(), rejoin(req("", []string{"t"}, tc.members[0]...), first))
			require.NoError(t, err)
			require.Equal(t, tc.want, res.Protocol)
			require.True(t, res.Leader)
			for _, ch := range chans {
				o := <-ch
				require.NoError(t, o.err)
				require.Equal(t, tc.want, o.res.Protocol)
				require.Equal(t, res.Generation, o.res.Generation)
			}
		})
	}

	e := newEnv(t, 1, map[string]int32{"t": 3}, nil)
	_, err := e.c.Join(context.Background(), req("", []string{"t"}, rg))
	require.NoError(t, err)
	_, err = e.c.Join(context.Background(), req("", []string{"t"}, st, rr))
	require.ErrorIs(t, err, ErrInconsistentProtocol)
}

// stableTwo builds group "g" with two members over topic t (2
// partitions, range): a owns t-0, b owns t-1, generation 2.
func stableTwo(t *testing.T, e *testEnv) (a, b JoinResult) {
	t.Helper()
	ctx := context.Background()
	a1, err := e.c.Join(ctx, req("", []string{"t"}))
	require.NoError(t, err)
	bch := joinAsync(e.c, req("", []string{"t"}))
	require.Eventually(t, func() bool { return isErr(e.c.Heartbeat("g", a1.MemberID, 1), ErrRebalanceInProgress) },
		5*time.Second, time.Millisecond)
	a, err = e.c.Join(ctx, rejoin(req("", []string{"t"}), a1))
	require.NoError(t, err)
	o := <-bch
	require.NoError(t, o.err)
	b = o.res
	if tps(a.Assignment)[0].Partition != 0 {
		a, b = b, a
	}
	require.Equal(t, []TopicPartition{{"t", 0}}, tps(a.Assignment))
	require.Equal(t, []TopicPartition{{"t", 1}}, tps(b.Assignment))
	require.Equal(t, int32(2), a.Generation)
	return a, b
}

func TestCommitRejected(t *testing.T) {
	e := newEnv(t, 1, map[string]int32{"t": 2}, nil)
	c := e.c
	ctx := context.Background()
	a, b := stableTwo(t, e)
	off := func(o int64) OffsetAndMetadata { return OffsetAndMetadata{Offset: o, LeaderEpoch: -1} }

	require.NoError(t, c.Commit(ctx, "g", a.MemberID, 2, map[TopicPartition]OffsetAndMetadata{{"t", 0}: off(10)}))
	end := e.logEnd()
	require.Equal(t, int64(1), end)

	for name, tc := range map[string]struct {
		member string
		gen    int32
		tp     TopicPartition
		want   error
	}{
		"older generation":   {a.MemberID, 1, TopicPartition{"t", 0}, ErrIllegalGeneration},
		"newer generation":   {a.MemberID, 3, TopicPartition{"t", 0}, ErrIllegalGeneration},
		"not owned":          {a.MemberID, 2, TopicPartition{"t", 1}, ErrNotAssigned},
		"no such partition":  {a.MemberID, 2, TopicPartition{"t", 7}, ErrInvalidCommit},
		"unknown member":     {"ghost", 2, TopicPartition{"t", 0}, ErrUnknownMember},
		"simple with member": {"", -1, TopicPartition{"t", 0}, ErrUnknownMember},
		"negative offset":    {a.MemberID, 2, TopicPartition{"t", 0}, ErrInvalidCommit},
	} {
		t.Run(name, func(t *testing.T) {
			o := off(99)
			if name == "negative offset" {
				o.Offset = -5
			}
			err := c.Commit(ctx, "g", tc.member, tc.gen, map[TopicPartition]OffsetAndMetadata{tc.tp: o, {"t", 0}: o})
			require.ErrorIs(t, err, tc.want)
			got, err := c.FetchOffsets("g", nil)
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.Equal(t, int64(10), got[TopicPartition{"t", 0}].Offset, "never applied")
			require.Equal(t, end, e.logEnd(), "nothing written")
		})
	}
	err := c.Commit(ctx, "g", a.MemberID, 2, map[TopicPartition]OffsetAndMetadata{{"t", 0}: {Offset: 1, Metadata: string(make([]byte, 5000))}})
	require.ErrorIs(t, err, ErrMetadataTooLarge)
	require.ErrorIs(t, c.Commit(ctx, "nogroup", "", 3, nil), ErrIllegalGeneration)
	require.ErrorIs(t, c.Commit(ctx, "g", "", -1, map[TopicPartition]OffsetAndMetadata{{"nosuchtopic", 0}: off(1)}), ErrInvalidCommit)
	require.ErrorIs(t, c.ResetOffsets(ctx, "g", map[TopicPartition]OffsetAndMetadata{{"t", 0}: off(0)}), ErrGroupNotEmpty)
	require.ErrorIs(t, c.DeleteGroup(ctx, "g"), ErrGroupNotEmpty)

	// After a rebalance moves t-1 to a, b's commit for it is rejected.
	require.NoError(t, c.Leave("g", b.MemberID))
	require.ErrorIs(t, c.Commit(ctx, "g", b.MemberID, 2, map[TopicPartition]OffsetAndMetadata{{"t", 1}: off(5)}), ErrUnknownMember)
	// While the group rebalances, a may still commit for generation 2.
	require.NoError(t, c.Commit(ctx, "g", a.MemberID, 2, map[TopicPartition]OffsetAndMetadata{{"t", 0}: off(11)}))
	a3, err := c.Join(ctx, rejoin(req("", []string{"t"}), a))
	require.NoError(t, err)
	require.Equal(t, int32(3), a3.Generation)
	require.ErrorIs(t, c.Commit(ctx, "g", a.MemberID, 2, map[TopicPartition]OffsetAndMetadata{{"t", 0}: off(12)}), ErrIllegalGeneration)
	require.NoError(t, c.Commit(ctx, "g", a.MemberID, 3, map[TopicPartition]OffsetAndMetadata{{"t", 1}: off(7), {"t", 0}: off(12)}))
	got, err := c.FetchOffsets("g", []TopicPartition{{"t", 0}, {"t", 1}, {"t", 2}})
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, int64(12), got[TopicPartition{"t", 0}].Offset)
	require.Equal(t, int64(7), got[TopicPartition{"t", 1}].Offset)
	require.Equal(t, int32(-1), got[TopicPartition{"t", 1}].LeaderEpoch)
}

func TestCommitsDurableAcrossRestart(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	e := newEnv(t, 3, map[string]int32{"t": 8}, &CoordinatorConfig{Now: func() time.Time { return now }})
	ctx := context.Background()
	want := map[string]map[TopicPartition]OffsetAndMetadata{}
	for i := range 10 {
		g := fmt.Sprintf("group-%d", i)
		want[g] = map[TopicPartition]OffsetAndMetadata{}
		for round := range 3 {
			offs := map[TopicPartition]OffsetAndMetadata{}
			for p := range int32(8) {
				o := OffsetAndMetadata{Offset: int64(100*i + 10*round + int(p)), LeaderEpoch: int32(round), Metadata: fmt.Sprintf("m%d", round)}
				offs[TopicPartition{"t", p}] = o
				o.CommitTime = now
				want[g][TopicPartition{"t", p}] = o
			}
			require.NoError(t, e.c.Commit(ctx, g, "", -1, offs))
		}
	}
	// A member-made commit too.
	res, err := e.c.Join(ctx, JoinRequest{Group: "live", Topics: []string{"t"}, Assignors: []Assignor{RoundRobin()}})
	require.NoError(t, err)
	require.NoError(t, e.c.Commit(ctx, "live", res.MemberID, res.Generation, map[TopicPartition]OffsetAndMetadata{{"t", 3}: {Offset: 42}}))
	want["live"] = map[TopicPartition]OffsetAndMetadata{{"t", 3}: {Offset: 42, CommitTime: now}}
	// A deleted group stays deleted.
	require.NoError(t, e.c.Commit(ctx, "gone", "", -1, map[TopicPartition]OffsetAndMetadata{{"t", 0}: {Offset: 1}}))
	require.NoError(t, e.c.DeleteGroup(ctx, "gone"))
	_, err = e.c.DescribeGroup("gone")
	require.ErrorIs(t, err, ErrUnknownGroup)

	check := func() {
		for g, offs := range want {
			got, err := e.c.FetchOffsets(g, nil)
			require.NoError(t, err)
			require.Len(t, got, len(offs), g)
			for tp, o := range offs {
				require.Equal(t, o.Offset, got[tp].Offset, "%s %v", g, tp)
				require.Equal(t, o.Metadata, got[tp].Metadata)
				require.Equal(t, o.LeaderEpoch, got[tp].LeaderEpoch)
				require.True(t, o.CommitTime.Equal(got[tp].CommitTime))
			}
		}
		got, err := e.c.FetchOffsets("gone", nil)
		require.NoError(t, err)
		require.Empty(t, got)
	}
	check()
	e.reopen(t)
	check()
	groups, err := e.c.ListGroups()
	require.NoError(t, err)
	require.Len(t, groups, 11)
	require.NotContains(t, groups, "gone")
	d, err := e.c.DescribeGroup("live")
	require.NoError(t, err)
	require.Equal(t, StateEmpty, d.State, "membership is not restored")
	require.NoError(t, e.c.ResetOffsets(ctx, "live", map[TopicPartition]OffsetAndMetadata{{"t", 3}: {Offset: 0}}))
	got, err := e.c.FetchOffsets("live", nil)
	require.NoError(t, err)
	require.Equal(t, int64(0), got[TopicPartition{"t", 3}].Offset)
}

func TestPartitionsChangedRebalances(t *testing.T) {
	e := newEnv(t, 1, map[string]int32{"t": 2, "other": 1}, nil)
	ctx := context.Background()
	a, err := e.c.Join(ctx, req("", []string{"t"}))
	require.NoError(t, err)
	require.Len(t, tps(a.Assignment), 2)

	e.counts.set("other", 5)
	e.c.PartitionsChanged("other")
	require.NoError(t, e.c.Heartbeat("g", a.MemberID, a.Generation), "unsubscribed topic: no rebalance")

	e.counts.set("t", 4)
	e.c.PartitionsChanged("t")
	require.ErrorIs(t, e.c.Heartbeat("g", a.MemberID, a.Generation), ErrRebalanceInProgress)
	a2, err := e.c.Join(ctx, rejoin(req("", []string{"t"}), a))
	require.NoError(t, err)
	require.Equal(t, a.Generation+1, a2.Generation)
	require.Equal(t, []TopicPartitions{{Topic: "t", Partitions: []int32{0, 1, 2, 3}}}, a2.Assignment)
}

func TestCooperativeKeepsUnmovedPartitions(t *testing.T) {
	e := newEnv(t, 1, map[string]int32{"t": 4}, nil)
	c := e.c
	ctx := context.Background()
	coop := func() JoinRequest { return req("", []string{"t"}, CooperativeSticky()) }

	a1, err := c.Join(ctx, coop())
	require.NoError(t, err)
	require.Equal(t, Cooperative, a1.RebalanceProtocol)
	require.Len(t, tps(a1.Assignment), 4)

	bch := joinAsync(c, coop())
	require.Eventually(t, func() bool { return isErr(c.Heartbeat("g", a1.MemberID, 1), ErrRebalanceInProgress) },
		5*time.Second, time.Millisecond)
	a2, err := c.Join(ctx, rejoin(coop(), a1))
	require.NoError(t, err)
	b := <-bch
	require.NoError(t, b.err)
	// Round 2: a keeps two, the two moving to b are withheld.
	require.Equal(t, int32(2), a2.Generation)
	require.Len(t, tps(a2.Assignment), 2)
	require.Subset(t, tps(a1.Assignment), tps(a2.Assignment), "a keeps what does not move")
	require.Empty(t, b.res.Assignment, "nothing is given while its owner still holds it")

	// The follow-up rebalance has started by itself.
	require.ErrorIs(t, c.Heartbeat("g", a2.MemberID, 2), ErrRebalanceInProgress)
	// a may commit what it kept, for generation 2, not what it gave up.
	kept := tps(a2.Assignment)
	revoked := slices.DeleteFunc(tps(a1.Assignment), func(tp TopicPartition) bool { return slices.Contains(kept, tp) })
	require.NoError(t, c.Commit(ctx, "g", a2.MemberID, 2, map[TopicPartition]OffsetAndMetadata{kept[0]: {Offset: 3}}))
	require.ErrorIs(t, c.Commit(ctx, "g", a2.MemberID, 2, map[TopicPartition]OffsetAndMetadata{revoked[0]: {Offset: 3}}), ErrNotAssigned)

	bch = joinAsync(c, rejoin(coop(), b.res))
	a3, err := c.Join(ctx, rejoin(coop(), a2))
	require.NoError(t, err)
	b3 := <-bch
	require.NoError(t, b3.err)
	require.Equal(t, int32(3), a3.Generation)
	require.Equal(t, tps(a2.Assignment), tps(a3.Assignment), "a's partitions never moved")
	require.ElementsMatch(t, revoked, tps(b3.res.Assignment))
	require.NoError(t, c.Heartbeat("g", a3.MemberID, 3), "no further rebalance")
}

func TestJoinCanceled(t *testing.T) {
	e := newEnv(t, 1, map[string]int32{"t": 2}, nil)
	c := e.c
	a, err := c.Join(context.Background(), req("", []string{"t"}))
	require.NoError(t, err)
	// b's Join waits for a; b gives up: it gets its member ID back and
	// stays pending, so a's rejoin waits for b until b leaves.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan joinOutcome, 1)
	go func() {
		res, err := c.Join(ctx, req("", []string{"t"}))
		done <- joinOutcome{res, err}
	}()
	require.Eventually(t, func() bool { return isErr(c.Heartbeat("g", a.MemberID, 1), ErrRebalanceInProgress) },
		5*time.Second, time.Millisecond)
	cancel()
	b := <-done
	require.ErrorIs(t, b.err, context.Canceled)
	require.NotEmpty(t, b.res.MemberID, "the pending member's ID")
	require.Zero(t, b.res.Generation)
	a2ch := joinAsync(c, rejoin(req("", []string{"t"}), a))
	require.NoError(t, c.Leave("g", b.res.MemberID))
	a2 := <-a2ch
	require.NoError(t, a2.err)
	require.Len(t, tps(a2.res.Assignment), 2)
	d, err := c.DescribeGroup("g")
	require.NoError(t, err)
	require.Len(t, d.Members, 1)
}

func TestCloseFailsWaitingJoins(t *testing.T) {
	e := newEnv(t, 1, map[string]int32{"t": 2}, nil)
	c := e.c
	a, err := c.Join(context.Background(), req("", []string{"t"}))
	require.NoError(t, err)
	bch := joinAsync(c, req("", []string{"t"}))
	notify := c.RebalanceNotify("g", a.MemberID)
	<-notify
	require.NoError(t, c.Close())
	require.ErrorIs(t, (<-bch).err, ErrClosed)
	require.NoError(t, c.Close())
	require.ErrorIs(t, c.Heartbeat("g", a.MemberID, 1), ErrClosed)
	require.ErrorIs(t, c.Commit(context.Background(), "g", "", -1, nil), ErrClosed)
	_, err = c.FetchOffsets("g", nil)
	require.ErrorIs(t, err, ErrClosed)
	_, err = c.Join(context.Background(), req("", []string{"t"}))
	require.ErrorIs(t, err, ErrClosed)
	_, err = c.ListGroups()
	require.ErrorIs(t, err, ErrClosed)
	<-c.RebalanceNotify("g", a.MemberID)
}

func TestLag(t *testing.T) {
	e := newEnv(t, 1, map[string]int32{"t": 3}, nil)
	ctx := context.Background()
	a, err := e.c.Join(ctx, req("", []string{"t"}))
	require.NoError(t, err)
	require.NoError(t, e.c.Commit(ctx, "g", a.MemberID, a.Generation, map[TopicPartition]OffsetAndMetadata{{"t", 0}: {Offset: 4}, {"t", 1}: {Offset: 10}}))
	hw := map[TopicPartition]int64{{"t", 0}: 10, {"t", 1}: 10, {"t", 2}: 7}
	lag, err := e.c.Lag("g", func(topic string, p int32) (int64, bool) {
		v, ok := hw[TopicPartition{topic, p}]
		return v, ok
	})
	require.NoError(t, err)
	require.Equal(t, int64(6), lag.Total)
	require.Equal(t, []PartitionLag{
		{TopicPartition{"t", 0}, a.MemberID, 4, 10, 6},
		{TopicPartition{"t", 1}, a.MemberID, 10, 10, 0},
		{TopicPartition{"t", 2}, a.MemberID, -1, 7, -1},
	}, lag.Partitions)
	_, err = e.c.Lag("nogroup", nil)
	require.ErrorIs(t, err, ErrUnknownGroup)
}

// TestConcurrentMembership runs members that join, rebalance and leave
// concurrently while committing, under -race; at the end the group
// settles and every partition has exactly one owner.
func TestConcurrentMembership(t *testing.T) {
	for _, proto := range []Assignor{Range(), CooperativeSticky()} {
		t.Run(proto.Name(), func(t *testing.T) {
			e := newEnv(t, 2, map[string]int32{"a": 6, "b": 7}, nil)
			c := e.c
			seed := rand.Uint64()
			t.Logf("seed %d", seed)
			var wg sync.WaitGroup
			errs := make(chan error, 100)
			start := func(ctx context.Context, i int) *loopMember {
				m := &loopMember{c: c, req: JoinRequest{Group: "g", Topics: []string{"a", "b"}, Assignors: []Assignor{proto},
					Generation: -1, ClientID: fmt.Sprintf("m%d", i)}}
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- m.run(ctx, func(m *loopMember, res JoinResult) {
						offs := map[TopicPartition]OffsetAndMetadata{}
						for _, tp := range tps(res.Assignment) {
							offs[tp] = OffsetAndMetadata{Offset: int64(res.Generation)}
						}
						err := c.Commit(ctx, "g", res.MemberID, res.Generation, offs)
						if err != nil && !isErr(err, ErrIllegalGeneration) && !isErr(err, ErrUnknownMember) &&
							!isErr(err, ErrNotAssigned) && ctx.Err() == nil {
							errs <- fmt.Errorf("commit: %w", err)
						}
					})
				}()
				return m
			}
			rng := rand.New(rand.NewPCG(seed, 0))
			type live struct {
				m      *loopMember
				cancel context.CancelFunc
			}
			var members []live
			for i := range 40 {
				if len(members) > 2 && rng.IntN(3) == 0 {
					k := rng.IntN(len(members))
					members[k].cancel()
					members = slices.Delete(members, k, k+1)
					continue
				}
				ctx, cancel := context.WithCancel(context.Background())
				members = append(members, live{start(ctx, i), cancel})
			}
			// Settle: every live member has the group's generation.
			settled := assertEventually(t, func() bool {
				d, err := c.DescribeGroup("g")
				if err != nil || d.State != StateStable || len(d.Members) != len(members) {
					return false
				}
				for _, l := range members {
					if l.m.result().Generation != d.Generation {
						return false
					}
				}
				return true
			}, 20*time.Second)
			if !settled {
				d, err := c.DescribeGroup("g")
				t.Logf("group: %+v %v", d, err)
				for _, l := range members {
					t.Logf("member %+v", l.m.result())
				}
				for len(errs) > 0 {
					t.Logf("member error: %v", <-errs)
				}
				t.FailNow()
			}
			owners := map[TopicPartition]string{}
			for _, l := range members {
				res := l.m.result()
				for _, tp := range tps(res.Assignment) {
					require.NotContains(t, owners, tp, "partition owned twice")
					owners[tp] = res.MemberID
				}
			}
			require.Len(t, owners, 13)
			for _, l := range members {
				l.cancel()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			d, err := c.DescribeGroup("g")
			require.NoError(t, err)
			require.Equal(t, StateEmpty, d.State)
		})
	}
}

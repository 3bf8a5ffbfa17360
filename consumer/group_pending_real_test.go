package consumer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	samsa "github.com/samsalog/samsa"
	"github.com/samsalog/samsa/group"
)

// Tests of the consumer's join against the broker's real group
// coordinator, in synctest bubbles: the coordinator's session, rebalance
// and initial-delay timers run on the bubble's fake clock, so the
// durations checked are exact and the tests take no wall-clock time.

// rebalanceLog records one consumer's rebalance callbacks.
type rebalanceLog struct {
	mu     sync.Mutex
	events []string
}

func (l *rebalanceLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, fmt.Sprintf(format, args...))
}

func (l *rebalanceLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

func (l *rebalanceLog) callbacks() RebalanceCallbacks {
	return RebalanceCallbacks{
		Assigned: func(_ context.Context, tps []TopicPartition) { l.add("assigned %d", len(tps)) },
		Revoked:  func(_ context.Context, tps []TopicPartition) { l.add("revoked %d", len(tps)) },
		Lost:     func(_ context.Context, tps []TopicPartition) { l.add("lost %d", len(tps)) },
	}
}

// realMember is a consumer of the broker's coordinator, with its log.
type realMember struct {
	c   *Consumer
	log *rebalanceLog
}

func newRealMember(t *testing.T, b *samsa.Broker, cfg Config) *realMember {
	t.Helper()
	m := &realMember{log: &rebalanceLog{}}
	cfg.Group, cfg.Topics = "g", []string{"t"}
	cfg.Rebalance = m.log.callbacks()
	c, err := New(b, &cfg)
	require.NoError(t, err)
	m.c = c
	return m
}

func (m *realMember) memberID() string {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	return m.c.grp.memberID
}

// pollLoop polls c with a ctx of d per Poll until stop is called, which
// waits for the loop to end. Errors other than a Poll's ctx ending go to
// errs.
func pollLoop(c *Consumer, d time.Duration, errs chan<- error) (stop func()) {
	return pollLoopGap(c, d, 0, errs)
}

// pollLoopGap is pollLoop with the application busy for gap after each
// Poll.
func pollLoopGap(c *Consumer, d, gap time.Duration, errs chan<- error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			pctx, pcancel := context.WithTimeout(ctx, d)
			_, err := c.Poll(pctx)
			pcancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				select {
				case errs <- err:
				default:
				}
				return
			}
			if gap > 0 {
				select {
				case <-time.After(gap):
				case <-ctx.Done():
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// waitFor sleeps (on the bubble's clock) in steps of 5ms until cond holds
// or limit passed; it returns how long that took.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// covers reports whether the members' assignments are disjoint and cover
// n partitions of "t", with sizes (sorted) partitions each, in any order.
func covers(n int, sizes []int, ms ...*realMember) bool {
	seen := map[TopicPartition]bool{}
	var got []int
	for _, m := range ms {
		a := m.c.Assignment()
		got = append(got, len(a))
		for _, tp := range a {
			if seen[tp] {
				return false
			}
			seen[tp] = true
		}
	}
	slices.Sort(got)
	return len(seen) == n && slices.Equal(got, sizes)
}

func describe(t *testing.T, b *samsa.Broker) group.GroupDescription {
	t.Helper()
	d, err := b.Coordinator().DescribeGroup("g")
	require.NoError(t, err)
	return d
}

// TestShortPollsJoin: consumers whose every Poll has a ctx (15ms) far
// shorter than the coordinator's initial rebalance delay (100ms) join one
// generation together, each with one member ID throughout: the join a
// Poll's ctx cuts short continues in the next Poll. A fourth consumer
// joining the stable group costs one round (plus the follow-up of the
// cooperative protocol), not one per Poll, and nobody loses its
// partitions: heartbeats of a member whose rejoin is pending do not take
// the generation the round moved to for a lost membership.
func TestShortPollsJoin(t *testing.T) {
	for _, tc := range []struct {
		name      string
		assignors []group.Assignor
		rounds    int32 // generations the fourth member costs
	}{
		{"eager", nil, 1},
		{"cooperative", []group.Assignor{group.CooperativeSticky()}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { testShortPollsJoin(t, tc.assignors, tc.rounds) })
		})
	}
}

func testShortPollsJoin(t *testing.T, assignors []group.Assignor, rounds int32) {
	b, err := samsa.Open(t.TempDir(), nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close()) }()
	require.NoError(t, b.CreateTopic("t", &samsa.TopicConfig{Partitions: 6}))
	produce(t, b, "t", 0, 10, 10)
	// Each Poll gets 10ms, and the application works 20ms between two:
	// heartbeats (every 5ms) come between the Polls of a pending join.
	const poll, gap = 10 * time.Millisecond, 20 * time.Millisecond
	cfg := Config{AutoOffsetReset: OffsetResetEarliest, HeartbeatInterval: 5 * time.Millisecond,
		SessionTimeout: time.Second, Fetch: FetchConfig{MaxWait: 5 * time.Millisecond}, Assignors: assignors}
	errs := make(chan error, 8)
	var ms []*realMember
	var stops []func()
	defer func() { // on failure: no goroutine outlives the bubble
		for i, stop := range stops {
			stop()
			_ = ms[i].c.Close()
		}
	}()
	for range 3 {
		m := newRealMember(t, b, cfg)
		ms = append(ms, m)
		stops = append(stops, pollLoopGap(m.c, poll, gap, errs))
	}
	took := waitFor(t, "three members assigned", time.Second, func() bool { return covers(6, []int{2, 2, 2}, ms...) })
	require.LessOrEqual(t, took, 100*time.Millisecond+poll+gap, "the initial delay and a Poll")
	ids := map[string]bool{}
	for _, m := range ms {
		ids[m.memberID()] = true
		require.Equal(t, []string{"assigned 2"}, m.log.get())
	}
	d := describe(t, b)
	require.Equal(t, int32(1), d.Generation, "one round for the three")
	require.Len(t, d.Members, 3, "no member left behind by a Poll's ctx")

	// A fourth member: every partition finds an owner again.
	m4 := newRealMember(t, b, cfg)
	ms = append(ms, m4)
	stops = append(stops, pollLoopGap(m4.c, poll, gap, errs))
	waitFor(t, "four members assigned", time.Second, func() bool { return covers(6, []int{1, 1, 2, 2}, ms...) })
	time.Sleep(100 * time.Millisecond) // a few more Polls change nothing
	require.True(t, covers(6, []int{1, 1, 2, 2}, ms...))
	d = describe(t, b)
	require.Equal(t, 1+rounds, d.Generation)
	require.Len(t, d.Members, 4)
	for _, m := range ms {
		for _, ev := range m.log.get() {
			require.NotContains(t, ev, "lost")
		}
	}
	for _, m := range ms[:3] {
		require.True(t, ids[m.memberID()], "same member ID")
	}
	// Cooperative: the joiner's partitions come in the follow-up round.
	ev := m4.log.get()
	require.Equal(t, fmt.Sprintf("assigned %d", len(m4.c.Assignment())), ev[len(ev)-1])
	require.Len(t, ev, int(rounds))

	for i, stop := range stops {
		stop()
		require.NoError(t, ms[i].c.Close())
	}
	stops = nil
	require.Empty(t, errs)
	require.Equal(t, group.StateEmpty, describe(t, b).State, "every member left")
}

// TestClosePendingJoinLeaves: a consumer whose join is pending (its Poll's
// ctx ended while the group waited for another member) leaves under its
// pending member ID at Close, whether Close comes between Polls or during
// one; the round then completes without it.
func TestClosePendingJoinLeaves(t *testing.T) {
	for _, during := range []bool{false, true} {
		t.Run(fmt.Sprintf("duringPoll=%v", during), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b, err := samsa.Open(t.TempDir(), nil)
				require.NoError(t, err)
				defer func() { require.NoError(t, b.Close()) }()
				require.NoError(t, b.CreateTopic("t", &samsa.TopicConfig{Partitions: 4}))
				cfg := Config{HeartbeatInterval: 100 * time.Millisecond}
				a := newRealMember(t, b, cfg)
				defer a.c.Close()
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_, _ = a.c.Poll(ctx)
				cancel()
				require.Len(t, a.c.Assignment(), 4)

				// x joins; a does not poll, so the round waits for it.
				x := newRealMember(t, b, cfg)
				if during {
					polled := make(chan error, 1)
					go func() {
						_, err := x.c.Poll(context.Background())
						polled <- err
					}()
					synctest.Wait() // x waits in Join
					require.Len(t, describe(t, b).Members, 2)
					require.NoError(t, x.c.Close())
					require.ErrorIs(t, <-polled, ErrClosed)
				} else {
					ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
					_, err = x.c.Poll(ctx)
					cancel()
					require.ErrorIs(t, err, context.DeadlineExceeded)
					require.Equal(t, context.DeadlineExceeded, err, "Poll returns ctx.Err() itself")
					require.NotEmpty(t, x.memberID(), "pending")
					require.Len(t, describe(t, b).Members, 2)
					require.NoError(t, x.c.Close())
				}
				d := describe(t, b)
				require.Len(t, d.Members, 1, "no ghost member")
				require.Empty(t, x.log.get())

				ctx, cancel = context.WithTimeout(context.Background(), time.Second)
				_, _ = a.c.Poll(ctx)
				cancel()
				require.Len(t, a.c.Assignment(), 4)
				require.Equal(t, int32(2), describe(t, b).Generation)
			})
		})
	}
}

// TestMembershipLostRealCoordinator: a member that stops being heard from
// is removed by the coordinator, its partitions go to the other member in
// the next generation, and its own next Poll calls Lost (not Revoked) and
// rejoins as a new member. Two ways to stop: its heartbeats stop (the
// process frozen: no Poll and no heartbeat, simulated by stopping the
// heartbeat goroutine), so the coordinator expires its session; or it does
// not Poll within MaxPollInterval, so its heartbeat goroutine leaves the
// group.
func TestMembershipLostRealCoordinator(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frozen bool
	}{{"session-expired", true}, {"max-poll-interval", false}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b, err := samsa.Open(t.TempDir(), nil)
				require.NoError(t, err)
				defer func() { require.NoError(t, b.Close()) }()
				require.NoError(t, b.CreateTopic("t", &samsa.TopicConfig{Partitions: 4}))
				cfg := Config{SessionTimeout: time.Second, HeartbeatInterval: 100 * time.Millisecond,
					MaxPollInterval: 3 * time.Second}
				errs := make(chan error, 4)
				a, x := newRealMember(t, b, cfg), newRealMember(t, b, cfg)
				stopA, stopX := pollLoop(a.c, 20*time.Millisecond, errs), pollLoop(x.c, 20*time.Millisecond, errs)
				waitFor(t, "both assigned", time.Second, func() bool { return covers(4, []int{2, 2}, a, x) })
				gen := describe(t, b).Generation
				oldID := a.memberID()

				stopA()
				start := time.Now()
				if tc.frozen {
					a.c.stopHeartbeat()
				}
				waitFor(t, "x owns every partition", 10*time.Second, func() bool { return covers(4, []int{4}, x) })
				gone := time.Since(start)
				d := describe(t, b)
				require.Equal(t, gen+1, d.Generation, "the next generation")
				require.Len(t, d.Members, 1)
				if tc.frozen {
					// Expired one session after its last heartbeat, which
					// was at most a heartbeat interval before it froze.
					require.Greater(t, gone, cfg.SessionTimeout-cfg.HeartbeatInterval)
					require.LessOrEqual(t, gone, cfg.SessionTimeout+100*time.Millisecond)
				} else {
					require.Greater(t, gone, cfg.MaxPollInterval)
					require.LessOrEqual(t, gone, cfg.MaxPollInterval+cfg.HeartbeatInterval+100*time.Millisecond)
				}
				require.Equal(t, []string{"assigned 2"}, a.log.get(), "a has not polled since")
				require.Len(t, a.c.Assignment(), 2, "a does not know yet")

				// a's next Poll: Lost, then a new member, then its share.
				stopA = pollLoop(a.c, 20*time.Millisecond, errs)
				waitFor(t, "both assigned again", 2*time.Second, func() bool { return covers(4, []int{2, 2}, a, x) })
				require.Equal(t, []string{"assigned 2", "lost 2", "assigned 2"}, a.log.get())
				require.NotEqual(t, oldID, a.memberID(), "rejoined as a new member")
				require.Equal(t, []string{"assigned 2", "revoked 2", "assigned 4", "revoked 4", "assigned 2"}, x.log.get())
				require.Equal(t, gen+2, describe(t, b).Generation)

				stopA()
				stopX()
				require.NoError(t, a.c.Close())
				require.NoError(t, x.c.Close())
				require.Empty(t, errs)
			})
		})
	}
}

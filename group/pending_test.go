package group

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// A Join whose ctx ends before its round completes keeps the member in the
// group (KIP-394's pending member for one created by that Join): the
// caller continues the join with the ID Join returned. These tests run in
// synctest bubbles, so the durations they check are exact.

// joinCtxAsync is joinAsync under ctx.
func joinCtxAsync(ctx context.Context, c *Coordinator, r JoinRequest) <-chan joinOutcome {
	ch := make(chan joinOutcome, 1)
	go func() {
		res, err := c.Join(ctx, r)
		ch <- joinOutcome{res, err}
	}()
	return ch
}

// joinFor is Join under a ctx that ends after d.
func joinFor(c *Coordinator, r JoinRequest, d time.Duration) (JoinResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.Join(ctx, r)
}

func TestCanceledJoinContinuesInTheSameRound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 1, map[string]int32{"t": 4}, &CoordinatorConfig{InitialRebalanceDelay: 3 * time.Second})
		c := e.c
		r := req("", []string{"t"})
		start := time.Now()
		ach := joinAsync(c, r)

		// b's first Join gives up after 1s, within the initial delay.
		b, err := joinFor(c, r, time.Second)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NotEmpty(t, b.MemberID)
		require.Zero(t, b.Generation)
		require.Nil(t, b.Assignment)

		// It comes back at 2s with its ID: the same round, whose delay
		// the rejoin does not extend.
		time.Sleep(time.Second)
		b2, err := c.Join(context.Background(), rejoin(r, b))
		require.NoError(t, err)
		a := <-ach
		require.NoError(t, a.err)
		require.Equal(t, 3*time.Second, time.Since(start), "the round ends with the initial delay")
		require.Equal(t, b.MemberID, b2.MemberID)
		require.Equal(t, int32(1), b2.Generation, "the generation it would have had waiting")
		require.Equal(t, int32(1), a.res.Generation)
		require.Len(t, tps(a.res.Assignment), 2)
		require.Len(t, tps(b2.Assignment), 2)
		d, err := c.DescribeGroup("g")
		require.NoError(t, err)
		require.Len(t, d.Members, 2)
		require.Equal(t, StateStable, d.State)

		// A known member that gives up stays joined: the round completes
		// without waiting for it, and its next Join returns its share of
		// that generation at once.
		xch := joinAsync(c, r) // a third member: a rebalance
		<-c.RebalanceNotify("g", a.res.MemberID)
		_, err = joinFor(c, rejoin(r, a.res), time.Second)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		b3, err := c.Join(context.Background(), rejoin(r, b2))
		require.NoError(t, err)
		x := <-xch
		require.NoError(t, x.err)
		require.Equal(t, int32(2), b3.Generation)
		before := time.Now()
		a2, err := c.Join(context.Background(), rejoin(r, a.res))
		require.NoError(t, err)
		require.Equal(t, before, time.Now(), "no wait")
		require.Equal(t, int32(2), a2.Generation)
		require.Equal(t, 4, len(tps(a2.Assignment))+len(tps(b3.Assignment))+len(tps(x.res.Assignment)))
		require.NoError(t, c.Heartbeat("g", a2.MemberID, 2), "no further rebalance")
	})
}

func TestPendingMemberExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 1, map[string]int32{"t": 4}, &CoordinatorConfig{InitialRebalanceDelay: 3 * time.Second})
		c := e.c
		r := req("", []string{"t"})
		r.RebalanceTimeout = time.Minute
		start := time.Now()
		ach := joinAsync(c, r)

		// b gives up at 1s and never comes back: the round waits for it
		// past the initial delay, until its session (10s, from 1s) ends.
		pending := r
		pending.SessionTimeout = 10 * time.Second
		b, err := joinFor(c, pending, time.Second)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NotEmpty(t, b.MemberID)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		d, err := c.DescribeGroup("g")
		require.NoError(t, err)
		require.Equal(t, StatePreparingRebalance, d.State, "the round waits for the pending member")
		require.Len(t, d.Members, 2)

		a := <-ach
		require.NoError(t, a.err)
		require.Equal(t, 11*time.Second, time.Since(start), "one session after b's Join returned")
		require.Equal(t, int32(1), a.res.Generation)
		require.Len(t, tps(a.res.Assignment), 4, "the round completed without b")
		require.ErrorIs(t, c.Heartbeat("g", b.MemberID, 1), ErrUnknownMember)
		_, err = c.Join(context.Background(), rejoin(pending, b))
		require.ErrorIs(t, err, ErrUnknownMember)
	})
}

func TestPendingMemberBoundedByRebalanceTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 1, map[string]int32{"t": 4}, nil)
		c := e.c
		r := req("", []string{"t"})
		r.SessionTimeout, r.RebalanceTimeout = 20*time.Minute, 30*time.Second
		a, err := c.Join(context.Background(), r)
		require.NoError(t, err)

		// b joins (a rebalance) and gives up at once; a rejoins. Its
		// session is long: the rebalance timeout ends the wait, and
		// removes b as any dynamic member that did not rejoin.
		start := time.Now()
		b, err := joinFor(c, r, time.Millisecond)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		a2, err := c.Join(context.Background(), rejoin(r, a))
		require.NoError(t, err)
		require.Equal(t, 30*time.Second, time.Since(start))
		require.Equal(t, int32(2), a2.Generation)
		require.Len(t, tps(a2.Assignment), 4)
		require.ErrorIs(t, c.Heartbeat("g", b.MemberID, 2), ErrUnknownMember)
	})
}

func TestPendingMemberLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 1, map[string]int32{"t": 4}, nil)
		c := e.c
		r := req("", []string{"t"})
		a, err := c.Join(context.Background(), r)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		bch := joinCtxAsync(ctx, c, r)
		synctest.Wait()
		cancel()
		b := <-bch
		require.ErrorIs(t, b.err, context.Canceled)
		a2ch := joinAsync(c, rejoin(r, a))
		synctest.Wait()
		require.NoError(t, c.Leave("g", b.res.MemberID), "a pending member leaves with the returned ID")
		a2 := <-a2ch
		require.NoError(t, a2.err)
		require.Equal(t, int32(2), a2.res.Generation)
		require.Len(t, tps(a2.res.Assignment), 4)
	})
}

// TestCooperativeMissedResult: a member whose Join gave up while its round
// completed, and whose assignment shrank in it, learns that assignment
// when it comes back during the follow-up round, so the partition it gave
// up reaches its new owner in that follow-up, not one round later.
func TestCooperativeMissedResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 1, map[string]int32{"t": 6}, &CoordinatorConfig{InitialRebalanceDelay: time.Second})
		c := e.c
		ctx := context.Background()
		r := req("", []string{"t"}, CooperativeSticky())
		ach, xch := joinAsync(c, r), joinAsync(c, r)
		a, x := (<-ach).res, (<-xch).res
		require.Equal(t, int32(1), a.Generation)
		require.Len(t, tps(a.Assignment), 3)
		require.Len(t, tps(x.Assignment), 3)

		// y joins; a gives up on its rejoin, then x rejoins, which
		// completes generation 2: a and x each revoke one partition for
		// y, and the follow-up round starts at once.
		ych := joinAsync(c, r)
		<-c.RebalanceNotify("g", a.MemberID)
		_, err := joinFor(c, rejoin(r, a), time.Second)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		x2, err := c.Join(ctx, rejoin(r, x))
		require.NoError(t, err)
		require.Equal(t, int32(2), x2.Generation)
		require.Len(t, tps(x2.Assignment), 2)
		y := <-ych
		require.NoError(t, y.err)
		require.Empty(t, y.res.Assignment, "withheld until a and x revoke")

		// a comes back with generation 1's partitions: it gets
		// generation 2's answer at once.
		before := time.Now()
		a2, err := c.Join(ctx, rejoin(r, a))
		require.NoError(t, err)
		require.Equal(t, before, time.Now())
		require.Equal(t, int32(2), a2.Generation)
		require.Len(t, tps(a2.Assignment), 2)

		// The follow-up: y gets both partitions, in generation 3.
		a3ch := joinAsync(c, rejoin(r, a2))
		x3ch := joinAsync(c, rejoin(r, x2))
		y3, err := c.Join(ctx, rejoin(r, y.res))
		require.NoError(t, err)
		a3, x3 := <-a3ch, <-x3ch
		require.NoError(t, a3.err)
		require.NoError(t, x3.err)
		require.Equal(t, int32(3), y3.Generation)
		require.Len(t, tps(y3.Assignment), 2)
		require.Equal(t, a2.Assignment, a3.res.Assignment)
		require.Equal(t, x2.Assignment, x3.res.Assignment)
		require.NoError(t, c.Heartbeat("g", y3.MemberID, 3), "no further rebalance")
	})
}

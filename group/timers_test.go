package group

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// The timed logic (session expiry, rebalance timeout, initial delay) runs
// in synctest bubbles: time is fake and advances only when every goroutine
// of the bubble is blocked, so the assertions below are exact, and the
// tests take no wall-clock time.

func TestSessionExpiryRebalances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 1, map[string]int32{"t": 2}, nil)
		c := e.c
		ctx := context.Background()
		r := req("", []string{"t"})
		r.SessionTimeout = 10 * time.Second
		a1, err := c.Join(ctx, r)
		require.NoError(t, err)
		bch := joinAsync(c, r)
		<-c.RebalanceNotify("g", a1.MemberID)
		a2, err := c.Join(ctx, rejoin(r, a1))
		require.NoError(t, err)
		b := <-bch
		require.NoError(t, b.err)
		require.Equal(t, int32(2), a2.Generation)
		start := time.Now()

		// a heartbeats every 3s; b never does.
		notify := c.RebalanceNotify("g", a2.MemberID)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-notify:
					return
				case <-time.After(3 * time.Second):
					if err := c.Heartbeat("g", a2.MemberID, 2); err != nil {
						return
					}
				}
			}
		}()
		<-notify
		<-done
		require.Equal(t, 10*time.Second, time.Since(start), "b expires exactly one session after it was last heard")
		require.ErrorIs(t, c.Heartbeat("g", b.res.MemberID, 2), ErrUnknownMember)
		require.ErrorIs(t, c.Heartbeat("g", a2.MemberID, 2), ErrRebalanceInProgress)
		a3, err := c.Join(ctx, rejoin(r, a2))
		require.NoError(t, err)
		require.Equal(t, int32(3), a3.Generation)
		require.Len(t, tps(a3.Assignment), 2)

		// A member that keeps heartbeating never expires.
		time.Sleep(time.Hour)
		require.ErrorIs(t, c.Heartbeat("g", a3.MemberID, 3), ErrUnknownMember, "a stopped heartbeating: expired")
	})
}

func TestRebalanceTimeoutRemovesStragglers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 1, map[string]int32{"t": 6}, &CoordinatorConfig{InitialRebalanceDelay: time.Second})
		c := e.c
		ctx := context.Background()
		dyn := req("", []string{"t"})
		dyn.SessionTimeout, dyn.RebalanceTimeout = 20*time.Minute, 30*time.Second
		static := dyn
		static.InstanceID = "static-1"

		// a (dynamic), s (static) and x (dynamic) in generation 1.
		ach := joinAsync(c, dyn)
		sch := joinAsync(c, static)
		xch := joinAsync(c, dyn)
		a, s, x := <-ach, <-sch, <-xch
		require.NoError(t, a.err)
		require.NoError(t, s.err)
		require.NoError(t, x.err)
		require.Equal(t, int32(1), a.res.Generation)
		require.Equal(t, int32(1), s.res.Generation)

		// d joins; a rejoins; s and x never do.
		start := time.Now()
		dch := joinAsync(c, dyn)
		<-c.RebalanceNotify("g", a.res.MemberID)
		a2ch := joinAsync(c, rejoin(dyn, a.res))
		d, a2 := <-dch, <-a2ch
		require.NoError(t, d.err)
		require.NoError(t, a2.err)
		require.Equal(t, 30*time.Second, time.Since(start), "the round ends at the rebalance timeout")
		require.Equal(t, int32(2), a2.res.Generation)

		// x (dynamic) was removed; s (static) stays, with its share.
		require.ErrorIs(t, c.Heartbeat("g", x.res.MemberID, 1), ErrUnknownMember)
		desc, err := c.DescribeGroup("g")
		require.NoError(t, err)
		require.Len(t, desc.Members, 3)
		var sAssigned []TopicPartitions
		for _, m := range desc.Members {
			if m.InstanceID == "static-1" {
				sAssigned = m.Assignment
			}
		}
		require.Len(t, tps(sAssigned), 2)
		require.Len(t, tps(a2.res.Assignment), 2)
		require.Len(t, tps(d.res.Assignment), 2)

		// s restarts within its session: its partitions, no rebalance.
		s2, err := c.Join(ctx, static)
		require.NoError(t, err)
		require.Equal(t, int32(2), s2.Generation)
		require.Equal(t, sAssigned, s2.Assignment)
		require.NoError(t, c.Heartbeat("g", a2.res.MemberID, 2))
	})
}

func TestInitialRebalanceDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 1, map[string]int32{"t": 4}, &CoordinatorConfig{InitialRebalanceDelay: 3 * time.Second})
		c := e.c
		start := time.Now()
		ach := joinAsync(c, req("", []string{"t"}))
		time.Sleep(2 * time.Second)
		bch := joinAsync(c, req("", []string{"t"}))
		a, b := <-ach, <-bch
		require.NoError(t, a.err)
		require.NoError(t, b.err)
		require.Equal(t, 5*time.Second, time.Since(start), "each new member extends the delay")
		require.Equal(t, int32(1), a.res.Generation, "one generation for both")
		require.Equal(t, int32(1), b.res.Generation)
		require.Len(t, tps(a.res.Assignment), 2)

		// The delay is bounded by the rebalance timeout.
		r := req("", []string{"t"})
		r.Group, r.RebalanceTimeout = "bounded", 4*time.Second
		start = time.Now()
		var chans []<-chan joinOutcome
		for range 5 {
			chans = append(chans, joinAsync(c, r))
			time.Sleep(2 * time.Second)
		}
		first := <-chans[0]
		require.NoError(t, first.err)
		require.LessOrEqual(t, time.Since(start), 10*time.Second)
		for _, ch := range chans[1:] {
			<-ch
		}
	})
}

func TestStaticMemberRejoinKeepsAssignment(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 1, map[string]int32{"t": 4}, &CoordinatorConfig{InitialRebalanceDelay: time.Second})
		c := e.c
		ctx := context.Background()
		static := req("", []string{"t"})
		static.InstanceID, static.SessionTimeout = "instance-1", 10*time.Second
		dyn := req("", []string{"t"})
		dyn.SessionTimeout = 20 * time.Minute

		sch, dch := joinAsync(c, static), joinAsync(c, dyn)
		s, d := <-sch, <-dch
		require.NoError(t, s.err)
		require.NoError(t, d.err)
		gen := s.res.Generation
		require.Len(t, tps(s.res.Assignment), 2)

		// The static member's process dies (no Leave) and a new one
		// starts 6s later, within the 10s session.
		time.Sleep(6 * time.Second)
		s2, err := c.Join(ctx, static)
		require.NoError(t, err)
		require.Equal(t, gen, s2.Generation, "no generation bump")
		require.Equal(t, s.res.Assignment, s2.Assignment)
		require.NotEqual(t, s.res.MemberID, s2.MemberID)
		require.NoError(t, c.Heartbeat("g", d.res.MemberID, gen), "no rebalance")
		require.ErrorIs(t, c.Heartbeat("g", s.res.MemberID, gen), ErrFencedInstance)
		require.ErrorIs(t, c.Commit(ctx, "g", s.res.MemberID, gen, nil), ErrFencedInstance)
		require.NoError(t, c.Commit(ctx, "g", s2.MemberID, gen,
			map[TopicPartition]OffsetAndMetadata{tps(s2.Assignment)[0]: {Offset: 1}}))

		// Its session counts from the rejoin: it expires 10s later.
		time.Sleep(9 * time.Second)
		require.NoError(t, c.Heartbeat("g", d.res.MemberID, gen))
		time.Sleep(2 * time.Second)
		require.ErrorIs(t, c.Heartbeat("g", d.res.MemberID, gen), ErrRebalanceInProgress)
		require.ErrorIs(t, c.Heartbeat("g", s2.MemberID, gen), ErrUnknownMember)

		// A static member restarting with another subscription
		// rebalances.
		s3ch := joinAsync(c, static)
		synctest.Wait() // s3 waits in the round for d
		d2, err := c.Join(ctx, rejoin(dyn, d.res))
		require.NoError(t, err)
		s3 := <-s3ch
		require.NoError(t, s3.err)
		require.Equal(t, gen+1, s3.res.Generation)
		require.Equal(t, gen+1, d2.Generation)

		// A static member restarting with another subscription
		// rebalances.
		changed := static
		changed.Topics = []string{"t", "u"}
		s4ch := joinAsync(c, changed)
		<-c.RebalanceNotify("g", d2.MemberID)
		d3, err := c.Join(ctx, rejoin(dyn, d2))
		require.NoError(t, err)
		s4 := <-s4ch
		require.NoError(t, s4.err)
		require.Equal(t, gen+2, d3.Generation)
		require.Equal(t, gen+2, s4.res.Generation)
		require.ErrorIs(t, c.Heartbeat("g", s3.res.MemberID, gen+1), ErrFencedInstance)
	})
}

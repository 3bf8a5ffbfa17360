package consumer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	samsa "github.com/samsalog/samsa"
	"github.com/samsalog/samsa/group"
)

func groupConsumer(t testing.TB, b *samsa.Broker, f *fakeCoord, cfg Config) *Consumer {
	t.Helper()
	if cfg.Group == "" {
		cfg.Group = "g"
	}
	if cfg.AutoOffsetReset == "" {
		cfg.AutoOffsetReset = OffsetResetEarliest
	}
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = 20 * time.Millisecond
	}
	if cfg.Fetch.MaxWait == 0 {
		cfg.Fetch.MaxWait = 50 * time.Millisecond
	}
	c, err := newConsumer(b, &cfg, f)
	require.NoError(t, err)
	return c
}

func TestGroupSubscribeCommitResume(t *testing.T) {
	b := openBroker(t, "t", 4)
	for p := range int32(4) {
		produce(t, b, "t", p, 25, 5)
	}
	f := newFakeCoord(b)
	var assigned []TopicPartition
	c := groupConsumer(t, b, f, Config{Topics: []string{"t"}, AutoCommit: AutoCommitConfig{Disable: true},
		Rebalance: RebalanceCallbacks{Assigned: func(_ context.Context, tps []TopicPartition) { assigned = tps }}})
	recs := pollN(t, c, 100, 10*time.Second)
	require.Len(t, recs, 100)
	require.Len(t, assigned, 4)
	require.NoError(t, c.Commit(context.Background()))
	off, ok := f.committed("g", tp("t", 2))
	require.True(t, ok)
	require.EqualValues(t, 25, off)
	got, err := c.Committed(tp("t", 2))
	require.NoError(t, err)
	require.EqualValues(t, 25, got[tp("t", 2)].Offset)
	lag, err := c.Lag()
	require.NoError(t, err)
	require.EqualValues(t, 0, lag[tp("t", 0)].Lag)
	require.NoError(t, c.Close())
	require.Equal(t, 0, f.memberCount(), "Close leaves the group")

	produce(t, b, "t", 0, 5, 5)
	c2 := groupConsumer(t, b, f, Config{Topics: []string{"t"}})
	defer c2.Close()
	recs = pollN(t, c2, 5, 10*time.Second)
	require.EqualValues(t, 25, recs[0].Offset, "resumes at the committed offset")
}

func TestGroupRebalanceCallbackOrderEager(t *testing.T) {
	b := openBroker(t, "t", 4)
	f := newFakeCoord(b)
	var mu sync.Mutex
	var events []string
	cb := func(name string) RebalanceCallbacks {
		return RebalanceCallbacks{
			Revoked: func(_ context.Context, tps []TopicPartition) {
				mu.Lock()
				events = append(events, fmt.Sprintf("%s revoked %d", name, len(tps)))
				mu.Unlock()
			},
			Assigned: func(_ context.Context, tps []TopicPartition) {
				mu.Lock()
				events = append(events, fmt.Sprintf("%s assigned %d", name, len(tps)))
				mu.Unlock()
			},
		}
	}
	c1 := groupConsumer(t, b, f, Config{Topics: []string{"t"}, Rebalance: cb("c1")})
	defer c1.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, _ = c1.Poll(ctx)
	cancel()
	require.Len(t, c1.Assignment(), 4)

	c2 := groupConsumer(t, b, f, Config{Topics: []string{"t"}, Rebalance: cb("c2")})
	defer c2.Close()
	var wg sync.WaitGroup
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, c := range []*Consumer{c1, c2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && len(c.Assignment()) != 2 {
				_, _ = c.Poll(ctx)
			}
		}()
	}
	wg.Wait()
	require.Len(t, c1.Assignment(), 2)
	require.Len(t, c2.Assignment(), 2)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"c1 assigned 4", "c1 revoked 4", "c1 assigned 2"}, filter(events, "c1"))
	require.Equal(t, []string{"c2 assigned 2"}, filter(events, "c2"))
}

func filter(events []string, prefix string) []string {
	var out []string
	for _, e := range events {
		if len(e) >= len(prefix) && e[:len(prefix)] == prefix {
			out = append(out, e)
		}
	}
	return out
}

func TestGroupPatternPicksUpNewTopics(t *testing.T) {
	b := openBroker(t, "ev-a", 1)
	require.NoError(t, b.CreateTopic("other", nil))
	f := newFakeCoord(b)
	c := groupConsumer(t, b, f, Config{TopicPattern: regexp.MustCompile(`^ev-`), MetadataMaxAge: 20 * time.Millisecond})
	defer c.Close()
	produce(t, b, "ev-a", 0, 1, 1)
	produce(t, b, "other", 0, 1, 1)
	recs := pollN(t, c, 1, 5*time.Second)
	require.Equal(t, "ev-a", recs[0].Topic)
	require.NoError(t, b.CreateTopic("ev-b", nil))
	produce(t, b, "ev-b", 0, 1, 1)
	recs = pollN(t, c, 1, 5*time.Second)
	require.Equal(t, "ev-b", recs[0].Topic)
	require.ElementsMatch(t, []TopicPartition{tp("ev-a", 0), tp("ev-b", 0)}, c.Assignment())
}

// TestGroupChurnAtLeastOnce runs consumers joining and leaving a group
// while a producer writes: every record is consumed at least once, in
// order per partition within an assignment, and redelivered only after a
// rebalance.
func TestGroupChurnAtLeastOnce(t *testing.T) {
	for _, tc := range []struct {
		name      string
		consumers int
		assignors []group.Assignor
	}{
		{"consumers=1", 1, nil},
		{"consumers=4/eager", 4, nil},
		{"consumers=8/cooperative", 8, []group.Assignor{group.CooperativeSticky()}},
		{"consumers=32/eager", 32, nil},
	} {
		t.Run(tc.name, func(t *testing.T) { testChurn(t, tc.consumers, tc.assignors) })
	}
}

func testChurn(t *testing.T, consumers int, assignors []group.Assignor) {
	const parts = 8
	const perPart = 400
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	b := openBroker(t, "t", parts)
	f := newFakeCoord(b)

	var seenMu sync.Mutex
	seen := make([]map[int64]int, parts)
	for i := range seen {
		seen[i] = map[int64]int{}
	}
	var violations atomic.Int64

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	run := func(id int, life time.Duration) {
		defer wg.Done()
		var rebalances atomic.Int64
		cfg := Config{Topics: []string{"t"}, Assignors: assignors, AutoCommit: AutoCommitConfig{Disable: id%2 == 0, Interval: 20 * time.Millisecond},
			Rebalance: RebalanceCallbacks{
				Revoked: func(context.Context, []TopicPartition) { rebalances.Add(1) },
				Lost:    func(context.Context, []TopicPartition) { rebalances.Add(1) },
			}}
		c := groupConsumer(t, b, f, cfg)
		defer c.Close()
		last := map[int32]int64{}
		lastGen := map[int32]int64{}
		lctx, lcancel := context.WithTimeout(ctx, life)
		defer lcancel()
		for {
			recs, err := c.Poll(lctx)
			if err != nil {
				return
			}
			gen := rebalances.Load()
			seenMu.Lock()
			for _, r := range recs {
				seen[r.Partition][r.Offset]++
				if prev, ok := last[r.Partition]; ok && r.Offset <= prev && lastGen[r.Partition] == gen {
					violations.Add(1)
				}
				last[r.Partition], lastGen[r.Partition] = r.Offset, gen
			}
			seenMu.Unlock()
			if id%2 == 0 {
				_ = c.Commit(lctx) // manual commit after processing
			}
		}
	}
	// A long-lived consumer, plus churn.
	wg.Add(1)
	go run(0, time.Hour)
	prodDone := make(chan struct{})
	go func() {
		defer close(prodDone)
		for i := 0; i < perPart; i += 20 {
			for p := range int32(parts) {
				produce(t, b, "t", p, 20, 20)
			}
		}
	}()
	for i := 1; i < consumers; i++ {
		wg.Add(1)
		go run(i, time.Duration(50+rng.IntN(300))*time.Millisecond)
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
	}
	<-prodDone
	deadline := time.Now().Add(20 * time.Second)
	for {
		seenMu.Lock()
		missing := 0
		for p := range parts {
			for o := range int64(perPart) {
				if seen[p][o] == 0 {
					missing++
				}
			}
		}
		seenMu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records never consumed", missing)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	require.Zero(t, violations.Load(), "order violated without a rebalance")
	t.Logf("rounds %d, commits %d", f.rounds, f.commits)
}

// TestMaxPollIntervalLeavesGroup: a consumer that stops polling leaves the
// group from its heartbeat goroutine; its next Poll reports the partitions
// lost and rejoins. Timed with synctest.
func TestMaxPollIntervalLeavesGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := samsa.Open(t.TempDir(), nil)
		require.NoError(t, err)
		defer b.Close()
		require.NoError(t, b.CreateTopic("t", &samsa.TopicConfig{Partitions: 2}))
		f := newFakeCoord(b)
		var lost atomic.Int64
		c := groupConsumer(t, b, f, Config{Topics: []string{"t"}, MaxPollInterval: time.Second,
			HeartbeatInterval: 100 * time.Millisecond,
			Rebalance:         RebalanceCallbacks{Lost: func(context.Context, []TopicPartition) { lost.Add(1) }}})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, _ = c.Poll(ctx)
		cancel()
		require.Equal(t, 1, f.memberCount())
		time.Sleep(1500 * time.Millisecond) // not polling
		synctest.Wait()
		require.Equal(t, 0, f.memberCount(), "left the group")
		ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, _ = c.Poll(ctx)
		cancel()
		require.EqualValues(t, 1, lost.Load())
		require.Equal(t, 1, f.memberCount(), "rejoined")
		require.Len(t, c.Assignment(), 2)
	})
}

// TestAutoCommitInterval: positions of records returned by earlier Polls
// are committed once AutoCommit.Interval passed, at the next Poll.
func TestAutoCommitInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := samsa.Open(t.TempDir(), nil)
		require.NoError(t, err)
		defer b.Close()
		require.NoError(t, b.CreateTopic("t", nil))
		produce(t, b, "t", 0, 10, 10)
		f := newFakeCoord(b)
		c := groupConsumer(t, b, f, Config{Topics: []string{"t"}, HeartbeatInterval: time.Second})
		defer c.Close()
		recs := pollN(t, c, 10, time.Minute)
		require.Len(t, recs, 10)
		_, ok := f.committed("g", tp("t", 0))
		require.False(t, ok, "not before the interval")
		time.Sleep(DefaultAutoCommitInterval)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		_, _ = c.Poll(ctx)
		cancel()
		synctest.Wait()
		off, ok := f.committed("g", tp("t", 0))
		require.True(t, ok)
		require.EqualValues(t, 10, off)
	})
}

func TestCommitAsyncOrder(t *testing.T) {
	b := openBroker(t, "t", 1)
	f := newFakeCoord(b)
	c, err := newConsumer(b, &Config{Group: "g"}, f)
	require.NoError(t, err)
	defer c.Close()
	var got []int64
	var mu sync.Mutex
	done := make(chan struct{})
	for i := range 20 {
		c.CommitAsync(map[TopicPartition]Offset{tp("t", 0): {Offset: int64(i)}}, func(m map[TopicPartition]Offset, err error) {
			require.NoError(t, err)
			mu.Lock()
			got = append(got, m[tp("t", 0)].Offset)
			if len(got) == 20 {
				close(done)
			}
			mu.Unlock()
		})
	}
	<-done
	for i := range got {
		require.EqualValues(t, i, got[i])
	}
	off, _ := f.committed("g", tp("t", 0))
	require.EqualValues(t, 19, off)
}

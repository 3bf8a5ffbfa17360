package consumer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	samsa "github.com/samsalog/samsa"
	"github.com/samsalog/samsa/group"
	"github.com/samsalog/samsa/record"
)

// TestGroupChurnRealCoordinator is TestGroupChurnAtLeastOnce against the
// broker's real group coordinator (New, not the fake): members join and
// leave while a producer writes, committing manually after processing and
// in Revoked. Each delivery is tagged with an ownership period (one
// Assigned..Revoked/Lost span of one partition in one member); the test
// checks that every produced offset is consumed, that within a period the
// offsets of a partition are delivered contiguously and in order, that an
// offset is delivered twice only in two different periods (after a
// rebalance), and that a period starts at the offset committed before it
// began or later (redelivery bounded by the commits).
func TestGroupChurnRealCoordinator(t *testing.T) {
	for _, tc := range []struct {
		name      string
		members   int
		perPart   int
		assignors []group.Assignor
	}{
		{"members=1/range", 1, 300, nil},
		{"members=4/cooperative", 4, 300, []group.Assignor{group.CooperativeSticky()}},
		{"members=16/cooperative", 16, 200, []group.Assignor{group.CooperativeSticky()}},
		{"members=32/eager-range", 32, 100, []group.Assignor{group.Range()}},
	} {
		t.Run(tc.name, func(t *testing.T) { testChurnReal(t, tc.members, tc.perPart, tc.assignors) })
	}
}

// churnDelivery is one delivery of one offset: the ownership period it
// happened in.
type churnDelivery struct {
	period int64
	member int
}

type churnState struct {
	mu         sync.Mutex
	deliveries [][][]churnDelivery // [partition][offset]
	committed  []int64             // highest successfully committed offset per partition
	problems   []string
	periods    atomic.Int64
}

func (s *churnState) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.problems) < 20 {
		s.problems = append(s.problems, fmt.Sprintf(format, args...))
	}
}

// churnPeriod is one member's ownership of one partition.
type churnPeriod struct {
	id    int64
	start int64 // committed offset when the period began
	last  int64 // last offset delivered, -1 before the first
	done  int64 // offset committed by this member in this period
}

func testChurnReal(t *testing.T, members, perPart int, assignors []group.Assignor) {
	const parts = 8
	const topic = "t"
	// Each Poll gets 30ms, less than the coordinator's initial rebalance
	// delay (100ms) and than most rounds: a join that a Poll's ctx cuts
	// short stays pending under its member ID and the next Poll
	// continues it.
	const pollTimeout = 30 * time.Millisecond
	const produceFor = 1500 * time.Millisecond // the producer's pace; the churn spans it
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	b, err := samsa.Open(t.TempDir(), nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close()) }()
	require.NotNil(t, b.Coordinator())
	require.NoError(t, b.CreateTopic(topic, &samsa.TopicConfig{Partitions: parts}))

	st := &churnState{deliveries: make([][][]churnDelivery, parts), committed: make([]int64, parts)}
	for p := range st.deliveries {
		st.deliveries[p] = make([][]churnDelivery, perPart)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Every goroutine (producer, churn, members) is in wg, waited for on
	// every way out, before the broker closes.
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()

	// The producer: perPart records per partition, in small batches spread
	// over the churn.
	prodErr := make(chan error, 1)
	startProducer := func() {
		defer wg.Done()
		prodErr <- func() error {
			var enc record.Encoder
			const batch = 10
			for i := 0; i < perPart; i += batch {
				for p := range int32(parts) {
					part, err := b.Partition(topic, p)
					if err != nil {
						return err
					}
					recs := make([]record.Record, min(batch, perPart-i))
					for j := range recs {
						recs[j] = record.Record{Value: fmt.Appendf(nil, "p%d-%d", p, i+j)}
					}
					buf, err := enc.AppendBatch(nil, recs, record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch})
					if err != nil {
						return err
					}
					res, err := part.Append(buf)
					if err != nil {
						return err
					}
					if err := part.WaitSynced(ctx, res.LastOffset); err != nil {
						return err
					}
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(produceFor / time.Duration(perPart/batch)): // pacing, not synchronization
				}
			}
			return nil
		}()
	}

	var live atomic.Int64
	firstAssigned := make(chan struct{}) // closed when member 0 first owns every partition
	var firstOnce sync.Once
	run := func(id int, life time.Duration) {
		defer wg.Done()
		periods := map[int32]*churnPeriod{}
		// A lazy member commits only every third Poll and not in Revoked,
		// so that its successors reread what it processed: redeliveries
		// across periods, bounded by its last commit.
		lazy := id%4 == 3
		polls := 0
		var c *Consumer
		commitPeriods := func(cctx context.Context, tps []TopicPartition) {
			offs := map[TopicPartition]Offset{}
			for _, tp := range tps {
				pd := periods[tp.Partition]
				if pd != nil && pd.last+1 > pd.done {
					offs[tp] = Offset{Offset: pd.last + 1, LeaderEpoch: -1}
				}
			}
			if len(offs) == 0 {
				return
			}
			if err := c.CommitOffsets(cctx, offs); err != nil {
				return // a rebalance or a lost membership: the next owner rereads
			}
			st.mu.Lock()
			for tp, o := range offs {
				periods[tp.Partition].done = o.Offset
				st.committed[tp.Partition] = max(st.committed[tp.Partition], o.Offset)
			}
			st.mu.Unlock()
		}
		end := func(tps []TopicPartition) {
			for _, tp := range tps {
				delete(periods, tp.Partition)
			}
		}
		cfg := &Config{
			Group: "g", Topics: []string{topic}, Assignors: assignors,
			AutoOffsetReset:   OffsetResetEarliest,
			AutoCommit:        AutoCommitConfig{Disable: true},
			SessionTimeout:    5 * time.Second,
			HeartbeatInterval: 50 * time.Millisecond,
			MaxPollInterval:   5 * time.Second,
			MaxPollRecords:    50,
			Fetch:             FetchConfig{MaxWait: 20 * time.Millisecond},
			Rebalance: RebalanceCallbacks{
				Assigned: func(_ context.Context, tps []TopicPartition) {
					st.mu.Lock()
					defer st.mu.Unlock()
					for _, tp := range tps {
						if periods[tp.Partition] != nil {
							st.problems = append(st.problems, fmt.Sprintf("member %d: %v assigned twice", id, tp))
						}
						periods[tp.Partition] = &churnPeriod{id: st.periods.Add(1), start: st.committed[tp.Partition], last: -1}
					}
					if id == 0 && len(periods) == parts {
						firstOnce.Do(func() { close(firstAssigned) })
					}
				},
				Revoked: func(cctx context.Context, tps []TopicPartition) {
					if !lazy {
						commitPeriods(cctx, tps)
					}
					end(tps)
				},
				Lost: func(_ context.Context, tps []TopicPartition) { end(tps) },
			},
		}
		c, err := New(b, cfg)
		if err != nil {
			st.fail("member %d: New: %v", id, err)
			return
		}
		live.Add(1)
		defer live.Add(-1)
		lctx, lcancel := context.WithTimeout(ctx, life)
		defer lcancel()
		for lctx.Err() == nil {
			pctx, pcancel := context.WithTimeout(lctx, pollTimeout)
			recs, err := c.Poll(pctx)
			pcancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				st.fail("member %d: Poll: %v", id, err)
				break
			}
			if len(recs) == 0 {
				continue
			}
			touched := map[TopicPartition]bool{}
			st.mu.Lock()
			for _, r := range recs {
				p := r.Partition
				if want := fmt.Sprintf("p%d-%d", p, r.Offset); string(r.Value) != want {
					st.problems = append(st.problems, fmt.Sprintf("member %d: offset %d holds %q, want %q", id, r.Offset, r.Value, want))
				}
				pd := periods[p]
				if pd == nil {
					st.problems = append(st.problems, fmt.Sprintf("member %d: record %d of partition %d outside an ownership period", id, r.Offset, p))
					continue
				}
				switch {
				case pd.last < 0 && r.Offset < pd.start:
					st.problems = append(st.problems, fmt.Sprintf("member %d: period %d of partition %d starts at %d, before the committed %d",
						id, pd.id, p, r.Offset, pd.start))
				case pd.last >= 0 && r.Offset != pd.last+1:
					st.problems = append(st.problems, fmt.Sprintf("member %d: period %d of partition %d: offset %d after %d",
						id, pd.id, p, r.Offset, pd.last))
				}
				pd.last = r.Offset
				if r.Offset >= 0 && r.Offset < int64(perPart) {
					st.deliveries[p][r.Offset] = append(st.deliveries[p][r.Offset], churnDelivery{period: pd.id, member: id})
				}
				touched[TopicPartition{topic, p}] = true
			}
			st.mu.Unlock()
			tps := make([]TopicPartition, 0, len(touched))
			for tp := range touched {
				tps = append(tps, tp)
			}
			if polls++; !lazy || polls%3 == 0 {
				commitPeriods(lctx, tps) // manual commit after processing
			}
		}
		// Close commits in Revoked and leaves the group.
		if err := c.Close(); err != nil {
			st.fail("member %d: Close: %v", id, err)
		}
	}

	// Member 0 lives until the end; the others join at random times, live
	// a random while and leave (some overlap, some rejoin under a new ID).
	// The churn starts once member 0 has joined: joiners arriving during
	// the initial rebalance delay of the empty group would only extend it
	// (up to the rebalance timeout), as in Kafka.
	wg.Add(1)
	go run(0, time.Hour)
	select {
	case <-firstAssigned:
	case <-time.After(10 * time.Second):
		t.Fatal("member 0 was not assigned every partition")
	}
	wg.Add(2)
	go startProducer()
	churnDone := make(chan struct{})
	go func() {
		defer wg.Done()
		defer close(churnDone)
		for i := 1; i < members; i++ {
			life := time.Duration(200+rng.IntN(600)) * time.Millisecond
			gap := time.Duration(rng.Int64N(int64(2 * produceFor / time.Duration(members))))
			wg.Add(1)
			go run(i, life)
			select {
			case <-ctx.Done():
				return
			case <-time.After(gap): // staggering, not synchronization
			}
		}
	}()

	select {
	case err := <-prodErr:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("producer did not finish")
	}
	<-churnDone

	// Wait (with a deadline) until every produced offset was delivered.
	missing := func() (n int, first string) {
		st.mu.Lock()
		defer st.mu.Unlock()
		for p := range parts {
			for o := range perPart {
				if len(st.deliveries[p][o]) == 0 {
					if n == 0 {
						first = fmt.Sprintf("partition %d offset %d", p, o)
					}
					n++
				}
			}
		}
		return n, first
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, first := missing()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			st.mu.Lock()
			t.Logf("problems: %q", st.problems)
			st.mu.Unlock()
			t.Fatalf("%d records never consumed (first: %s), %d members live", n, first, live.Load())
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
	cancel()
	wg.Wait()

	st.mu.Lock()
	defer st.mu.Unlock()
	require.Empty(t, st.problems)
	dups, redelivered := 0, 0
	for p := range parts {
		for o := range perPart {
			ds := st.deliveries[p][o]
			seen := map[int64]bool{}
			for _, d := range ds {
				require.False(t, seen[d.period], "partition %d offset %d delivered twice in period %d (member %d): %v", p, o, d.period, d.member, ds)
				seen[d.period] = true
			}
			if len(ds) > 1 {
				redelivered++
				dups += len(ds) - 1
			}
		}
	}
	if members > 1 {
		require.Greater(t, st.periods.Load(), int64(parts), "partitions moved between members")
	}
	t.Logf("%d ownership periods, %d offsets redelivered (%d extra deliveries) of %d", st.periods.Load(), redelivered, dups, parts*perPart)
}

// Command consumer-group shows a consumer group at work: several consumers
// share the partitions of one topic, and the group's coordinator moves
// partitions between them as members come and go. Each member prints what it
// is assigned and what it gives up, through its rebalance callbacks:
//
//	go run ./examples/consumer-group [-dir DIR] [-records N]
//
// Four members join one by one, then the second one leaves. Between two
// changes a producer writes a fifth of the records and the program waits
// until they have all been consumed. It ends once every record has been
// consumed at least once, and prints how many records each member consumed.
// Offsets are committed automatically, before partitions are revoked and when
// a member leaves, so a partition's next owner starts where its previous
// owner stopped: each record is normally consumed exactly once (the group
// guarantees at least once).
//
// Without -dir the data goes to a temporary directory that is removed at the
// end; with -dir it stays there, and a second run's group starts after the
// records the first run's group committed.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/consumer"
	"github.com/samsalog/samsa/producer"
	"github.com/samsalog/samsa/record"
)

const (
	topic      = "clicks"
	groupID    = "click-counters"
	partitions = 6
	members    = 4
)

func main() {
	dir := flag.String("dir", "", "data directory to keep (default: a temporary directory, removed at the end)")
	n := flag.Int("records", 1000, "records to produce and consume")
	flag.Parse()
	if err := run(*dir, *n, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "consumer-group:", err)
		os.Exit(1)
	}
}

// run is the whole program, callable from the test.
func run(dir string, n int, w io.Writer) error {
	if n < 5 {
		return errors.New("-records must be at least 5")
	}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "samsa-consumer-group-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := &syncWriter{w: w} // members print from their own goroutines

	b, err := samsa.Open(dir, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	err = b.CreateTopic(topic, &samsa.TopicConfig{Partitions: partitions})
	if err != nil && !errors.Is(err, samsa.ErrTopicExists) {
		return err
	}
	p, err := producer.New(b, nil)
	if err != nil {
		return err
	}
	defer p.Close()

	g := &group{b: b, out: out, seen: make([]int, n)}
	defer g.stopAll()
	// The run's records are numbered from the topic's current end, so that
	// a second run with -dir tells its records from the first run's.
	first, err := endOffsets(b)
	if err != nil {
		return err
	}
	produced := 0
	step := func(what string, change func() error) error {
		fmt.Fprintf(out, "--- %s\n", what)
		if err := change(); err != nil {
			return err
		}
		if err := g.waitBalanced(ctx); err != nil {
			return err
		}
		// A fifth of the records, the last step what is left.
		k := n / 5
		if produced+2*k > n {
			k = n - produced
		}
		recs := make([]*record.Record, k)
		for i := range recs {
			j := produced + i
			recs[i] = &record.Record{
				Topic: topic,
				Key:   fmt.Appendf(nil, "user-%d", j%17),
				Value: fmt.Appendf(nil, "%d %d", first, j), // run, record number
			}
		}
		if err := p.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			return err
		}
		produced += k
		return g.waitConsumed(ctx, produced)
	}
	for m := 1; m <= members; m++ {
		if err := step(fmt.Sprintf("member-%d joins", m), func() error { return g.start(ctx, m, first) }); err != nil {
			return err
		}
	}
	if err := step("member-2 leaves", func() error { return g.stop(2) }); err != nil {
		return err
	}
	fmt.Fprintln(out, "--- the members leave")
	g.stopAll()

	fmt.Fprintln(out, "---")
	total, again := 0, 0
	for _, c := range g.seen {
		total += c
		again += max(c-1, 0)
	}
	for m := 1; m <= members; m++ {
		fmt.Fprintf(out, "member-%d consumed %d records\n", m, g.counts[m])
	}
	fmt.Fprintf(out, "%d records produced, all consumed: %d consumptions, %d of them again\n", n, total, again)
	if err := p.Close(); err != nil {
		return err
	}
	return b.Close()
}

// endOffsets returns the sum of the topic's log end offsets.
func endOffsets(b *samsa.Broker) (int64, error) {
	d, err := b.DescribeTopic(topic)
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, pd := range d.PartitionDetails {
		sum += pd.LogEndOffset
	}
	return sum, nil
}

// group keeps the members and what they consumed.
type group struct {
	b   *samsa.Broker
	out io.Writer

	mu      sync.Mutex
	members map[int]*member
	counts  [members + 1]int // records consumed, by member number
	seen    []int            // times each record of this run was consumed
}

// member is one running consumer of the group.
type member struct {
	c     *consumer.Consumer
	owned map[consumer.TopicPartition]bool // under group.mu
	stop  context.CancelFunc
	done  chan error
}

// start starts member m: a consumer of the group, polling in a goroutine of
// its own. Its callbacks print its assignment changes.
func (g *group) start(ctx context.Context, m int, run int64) error {
	name := fmt.Sprintf("member-%d", m)
	mb := &member{owned: map[consumer.TopicPartition]bool{}, done: make(chan error, 1)}
	c, err := consumer.New(g.b, &consumer.Config{
		Group:             groupID,
		Topics:            []string{topic},
		AutoOffsetReset:   consumer.OffsetResetEarliest,
		HeartbeatInterval: 50 * time.Millisecond,
		SessionTimeout:    10 * time.Second,
		MaxPollInterval:   10 * time.Second, // also the rebalance timeout
		Rebalance: consumer.RebalanceCallbacks{
			Assigned: func(_ context.Context, tps []consumer.TopicPartition) {
				g.change(name, mb, "assigned", tps, true)
			},
			Revoked: func(_ context.Context, tps []consumer.TopicPartition) {
				g.change(name, mb, "revoked", tps, false)
			},
			Lost: func(_ context.Context, tps []consumer.TopicPartition) {
				g.change(name, mb, "lost", tps, false)
			},
		},
	})
	if err != nil {
		return err
	}
	mb.c = c
	pctx, stop := context.WithCancel(ctx)
	mb.stop = stop
	g.mu.Lock()
	if g.members == nil {
		g.members = map[int]*member{}
	}
	g.members[m] = mb
	g.mu.Unlock()
	go func() { mb.done <- g.poll(pctx, m, mb, run) }()
	return nil
}

// poll is member m's loop: it counts each record of this run it consumes.
func (g *group) poll(ctx context.Context, m int, mb *member, run int64) error {
	for {
		recs, err := mb.c.Poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped
			}
			return err
		}
		g.mu.Lock()
		for _, r := range recs {
			r0, i, ok := parse(r.Value)
			if !ok || r0 != run || i >= len(g.seen) {
				continue // an earlier run's record, which its group did not commit
			}
			g.seen[i]++
			g.counts[m]++
		}
		g.mu.Unlock()
	}
}

// parse reads a record's value: the run's first offset and the record's
// number.
func parse(v []byte) (run int64, i int, ok bool) {
	a, b, ok := strings.Cut(string(v), " ")
	if !ok {
		return 0, 0, false
	}
	r, err1 := strconv.ParseInt(a, 10, 64)
	j, err2 := strconv.Atoi(b)
	return r, j, err1 == nil && err2 == nil
}

// change applies and prints an assignment change of a member.
func (g *group) change(name string, mb *member, what string, tps []consumer.TopicPartition, add bool) {
	g.mu.Lock()
	for _, tp := range tps {
		if add {
			mb.owned[tp] = true
		} else {
			delete(mb.owned, tp)
		}
	}
	owned := sorted(mb.owned)
	g.mu.Unlock()
	if len(tps) == 0 {
		return
	}
	fmt.Fprintf(g.out, "%s: %s %s, owns %s\n", name, what, partitionList(tps), partitionList(owned))
}

// stop stops member m: its poll loop ends, then Close commits its offsets,
// revokes its partitions and leaves the group at once.
func (g *group) stop(m int) error {
	g.mu.Lock()
	mb := g.members[m]
	delete(g.members, m)
	g.mu.Unlock()
	if mb == nil {
		return nil
	}
	mb.stop()
	err := <-mb.done
	return errors.Join(err, mb.c.Close())
}

// stopAll stops the members left.
func (g *group) stopAll() {
	for m := 1; m <= members; m++ {
		if err := g.stop(m); err != nil {
			fmt.Fprintf(g.out, "member-%d: %v\n", m, err)
		}
	}
}

// waitBalanced waits until the running members own every partition between
// them, each at least one: the rebalance after a change has completed.
func (g *group) waitBalanced(ctx context.Context) error {
	return waitFor(ctx, "the group to rebalance", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		all := 0
		for _, mb := range g.members {
			if len(mb.owned) == 0 {
				return false
			}
			all += len(mb.owned)
		}
		return all == partitions
	})
}

// waitConsumed waits until the first n records of the run have been consumed.
func (g *group) waitConsumed(ctx context.Context, n int) error {
	return waitFor(ctx, fmt.Sprintf("%d records to be consumed", n), func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, c := range g.seen[:n] {
			if c == 0 {
				return false
			}
		}
		return true
	})
}

// waitFor checks cond every few milliseconds until it holds or ctx ends.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

func sorted(set map[consumer.TopicPartition]bool) []consumer.TopicPartition {
	var tps []consumer.TopicPartition
	for tp := range set {
		tps = append(tps, tp)
	}
	slices.SortFunc(tps, func(a, b consumer.TopicPartition) int {
		return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return tps
}

// partitionList formats partitions as "[clicks-0 clicks-3]".
func partitionList(tps []consumer.TopicPartition) string {
	s := make([]string, len(tps))
	for i, tp := range tps {
		s[i] = tp.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

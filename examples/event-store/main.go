// Command event-store uses a topic as the event store of bank accounts:
// every change to an account is an event ("deposit" or "withdraw", with an
// amount) appended under the account's key, so that all the events of an
// account are in one partition, in order. An account's balance is not stored
// anywhere: it is rebuilt by replaying the events.
//
//	go run ./examples/event-store [-dir DIR] [-events N] [-accounts A]
//
// The program
//
//  1. rebuilds the balances by replaying the topic from its beginning (empty
//     on a first run; with -dir, a second run starts from the first run's
//     accounts);
//  2. starts a projection: a consumer that goes on from where the replay
//     stopped and keeps the balances current as events arrive;
//  3. handles N random commands, checking each withdrawal against the
//     command side's own balances (no account goes below zero) and appending
//     the resulting events with a producer;
//  4. waits until the projection has applied every event, checks that its
//     balances are the command side's, and prints them;
//  5. closes the broker, opens it again and replays the whole topic once
//     more: the balances come back from the disk alone.
//
// Without -dir the data goes to a temporary directory that is removed at the
// end; with -dir it stays there.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/consumer"
	"github.com/samsalog/samsa/producer"
	"github.com/samsalog/samsa/record"
)

const topic = "account-events"

func main() {
	dir := flag.String("dir", "", "data directory to keep (default: a temporary directory, removed at the end)")
	n := flag.Int("events", 2000, "commands to handle")
	accounts := flag.Int("accounts", 8, "number of accounts")
	flag.Parse()
	if err := run(*dir, *n, *accounts, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "event-store:", err)
		os.Exit(1)
	}
}

// Event is one change to an account, the value of a record whose key is the
// account.
type Event struct {
	Type   string `json:"type"` // "deposit" or "withdraw"
	Amount int64  `json:"amount"`
}

// Balances maps accounts to their balances, in cents.
type Balances map[string]int64

// Apply folds one event record into the balances.
func (bs Balances) Apply(r *record.Record) error {
	var e Event
	if err := json.Unmarshal(r.Value, &e); err != nil {
		return fmt.Errorf("%s-%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
	}
	switch e.Type {
	case "deposit":
		bs[string(r.Key)] += e.Amount
	case "withdraw":
		bs[string(r.Key)] -= e.Amount
	default:
		return fmt.Errorf("%s-%d@%d: unknown event type %q", r.Topic, r.Partition, r.Offset, e.Type)
	}
	return nil
}

// run is the whole program, callable from the test.
func run(dir string, n, accounts int, out io.Writer) error {
	if n < 0 || accounts <= 0 {
		return errors.New("-events must not be negative and -accounts must be positive")
	}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "samsa-event-store-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	b, err := samsa.Open(dir, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	err = b.CreateTopic(topic, &samsa.TopicConfig{Partitions: 4})
	if err != nil && !errors.Is(err, samsa.ErrTopicExists) {
		return err
	}

	// 1. Replay.
	c, err := consumer.New(b, nil) // no group: the state is rebuilt from the beginning every time
	if err != nil {
		return err
	}
	defer c.Close()
	begin := time.Now()
	state := Balances{}
	replayed, err := replay(ctx, b, c, state)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "replayed %d events of %d accounts in %v\n", replayed, len(state), time.Since(begin).Round(time.Millisecond))

	// 2. The projection: the replay's consumer goes on in the background.
	proj := &projection{state: state, c: c}
	pctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- proj.run(pctx) }()
	stopProjection := sync.OnceValue(func() error {
		stop()
		return <-done
	})
	defer stopProjection()

	// 3. Commands, checked against the command side's own state.
	model := maps.Clone(state)
	p, err := producer.New(b, nil) // acks=all: an event is durable when its callback runs
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(replayed), uint64(n)))
	var mu sync.Mutex
	var failed error
	refused := 0
	for range n {
		acct := fmt.Sprintf("acct-%02d", rng.IntN(accounts))
		e := Event{Type: "deposit", Amount: 100 * int64(1+rng.IntN(50))}
		if rng.IntN(3) == 0 {
			e = Event{Type: "withdraw", Amount: 100 * int64(1+rng.IntN(80))}
			if model[acct] < e.Amount {
				refused++ // the command is refused: no event
				continue
			}
		}
		v, err := json.Marshal(e)
		if err != nil {
			return err
		}
		r := &record.Record{Topic: topic, Key: []byte(acct), Value: v}
		if err := model.Apply(r); err != nil {
			return err
		}
		p.Produce(ctx, r, func(r *record.Record, err error) {
			if err != nil {
				mu.Lock()
				failed = errors.Join(failed, fmt.Errorf("append %s %s: %w", r.Key, r.Value, err))
				mu.Unlock()
			}
		})
	}
	if err := p.Close(); err != nil { // delivers the events and waits for them
		return err
	}
	if failed != nil {
		return failed
	}
	fmt.Fprintf(out, "handled %d commands: %d events appended, %d withdrawals refused\n", n, n-refused, refused)

	// 4. Wait for the projection to catch up, and compare.
	if err := proj.waitCaughtUp(ctx, b); err != nil {
		return err
	}
	if err := stopProjection(); err != nil {
		return err
	}
	if !maps.Equal(state, model) {
		return fmt.Errorf("the projection's balances %v differ from the command side's %v", state, model)
	}
	fmt.Fprintf(out, "projection applied %d events, balances:\n", proj.applied)
	for _, acct := range slices.Sorted(maps.Keys(state)) {
		fmt.Fprintf(out, "  %s %10.2f\n", acct, float64(state[acct])/100)
	}
	if err := c.Close(); err != nil {
		return err
	}
	if err := b.Close(); err != nil {
		return err
	}

	// 5. Reopen and replay: the state is in the events on disk.
	b2, err := samsa.Open(dir, nil)
	if err != nil {
		return err
	}
	defer b2.Close()
	c2, err := consumer.New(b2, nil)
	if err != nil {
		return err
	}
	defer c2.Close()
	again := Balances{}
	all, err := replay(ctx, b2, c2, again)
	if err != nil {
		return err
	}
	if !maps.Equal(again, model) {
		return fmt.Errorf("after reopening, replay gave %v, want %v", again, model)
	}
	fmt.Fprintf(out, "reopened: replaying %d events gives the same balances\n", all)
	if err := c2.Close(); err != nil {
		return err
	}
	return b2.Close()
}

// replay assigns c every partition of the topic from its beginning and
// applies every event up to the high watermarks of the moment to state. c
// stays assigned, positioned after them.
func replay(ctx context.Context, b *samsa.Broker, c *consumer.Consumer, state Balances) (int, error) {
	d, err := b.DescribeTopic(topic)
	if err != nil {
		return 0, err
	}
	tps := make([]consumer.TopicPartition, d.Partitions)
	for i := range tps {
		tps[i] = consumer.TopicPartition{Topic: topic, Partition: int32(i)}
	}
	if err := c.Assign(tps); err != nil {
		return 0, err
	}
	if err := c.SeekToBeginning(); err != nil {
		return 0, err
	}
	n := 0
	for {
		lag, err := c.Lag() // without a group: high watermark minus position
		if err != nil {
			return n, err
		}
		behind := int64(0)
		for _, l := range lag {
			behind += l.Lag
		}
		if behind == 0 {
			return n, nil
		}
		recs, err := c.Poll(ctx)
		if err != nil {
			return n, err
		}
		for _, r := range recs {
			if err := state.Apply(r); err != nil {
				return n, err
			}
		}
		n += len(recs)
	}
}

// projection keeps state current with the events its consumer polls.
type projection struct {
	c *consumer.Consumer

	mu      sync.Mutex
	state   Balances
	applied int
}

// run applies events until ctx ends.
func (p *projection) run(ctx context.Context) error {
	for {
		recs, err := p.c.Poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		p.mu.Lock()
		for _, r := range recs {
			if err := p.state.Apply(r); err != nil {
				p.mu.Unlock()
				return err
			}
		}
		p.applied += len(recs)
		p.mu.Unlock()
	}
}

// waitCaughtUp waits until the projection's consumer has read up to the
// topic's log end offsets (every event appended so far is synced: the
// producer used acks=all).
func (p *projection) waitCaughtUp(ctx context.Context, b *samsa.Broker) error {
	d, err := b.DescribeTopic(topic)
	if err != nil {
		return err
	}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		caughtUp := true
		for _, pd := range d.PartitionDetails {
			pos, err := p.c.Position(consumer.TopicPartition{Topic: topic, Partition: pd.Partition})
			if err != nil {
				return err
			}
			caughtUp = caughtUp && pos >= pd.LogEndOffset
		}
		if caughtUp {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the projection: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

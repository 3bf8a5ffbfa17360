package consumer_test

import (
	"context"
	"fmt"
	"os"
	"time"

	samsa "github.com/samsalog/samsa"
	"github.com/samsalog/samsa/consumer"
	"github.com/samsalog/samsa/record"
)

// setup opens a broker in a temporary directory with topic "orders" of
// partitions partitions holding n records "order-i" (produced round-robin)
// with timestamps one second apart from base.
func setup(partitions int32, n int, base time.Time) (*samsa.Broker, func()) {
	dir, err := os.MkdirTemp("", "samsa-example")
	if err != nil {
		panic(err)
	}
	b, err := samsa.Open(dir, nil)
	if err != nil {
		panic(err)
	}
	if err := b.CreateTopic("orders", &samsa.TopicConfig{Partitions: partitions}); err != nil {
		panic(err)
	}
	var enc record.Encoder
	for i := range n {
		p, _ := b.Partition("orders", int32(i)%partitions)
		batch, _ := enc.AppendBatch(nil, []record.Record{{
			Value: []byte(fmt.Sprintf("order-%d", i)), Timestamp: base.Add(time.Duration(i) * time.Second)}},
			record.BatchOptions{})
		res, err := p.Append(batch)
		if err != nil {
			panic(err)
		}
		if err := p.WaitSynced(context.Background(), res.LastOffset); err != nil {
			panic(err)
		}
	}
	return b, func() { b.Close(); os.RemoveAll(dir) }
}

// Reading a partition from the beginning, without a group.
func Example_readFromBeginning() {
	b, done := setup(1, 3, time.Now())
	defer done()

	c, err := consumer.New(b, &consumer.Config{AutoOffsetReset: consumer.OffsetResetEarliest})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	if err := c.Assign([]consumer.TopicPartition{{Topic: "orders", Partition: 0}}); err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n := 0
	for rec, err := range c.Records(ctx) {
		if err != nil {
			panic(err)
		}
		fmt.Println(rec.Offset, string(rec.Value))
		if n++; n == 3 {
			break
		}
	}
	// Output:
	// 0 order-0
	// 1 order-1
	// 2 order-2
}

// A tight read loop with ReuseRecords: Poll allocates nothing, and each
// record is valid until the next Poll, so what is kept is copied.
func Example_reuseRecords() {
	b, done := setup(1, 3, time.Now())
	defer done()

	c, err := consumer.New(b, &consumer.Config{AutoOffsetReset: consumer.OffsetResetEarliest, ReuseRecords: true})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	if err := c.Assign([]consumer.TopicPartition{{Topic: "orders", Partition: 0}}); err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var kept []string
	for len(kept) < 3 {
		recs, err := c.Poll(ctx)
		if err != nil {
			panic(err)
		}
		for _, rec := range recs {
			kept = append(kept, string(rec.Value)) // a copy: rec.Value is reused
		}
	}
	fmt.Println(kept[:3])
	// Output:
	// [order-0 order-1 order-2]
}

// A consumer group member that commits after processing each batch: after
// a crash, the group resumes at the last commit (at-least-once).
func Example_groupManualCommit() {
	b, done := setup(2, 4, time.Now())
	defer done()

	c, err := consumer.New(b, &consumer.Config{
		Group:           "billing",
		Topics:          []string{"orders"},
		AutoOffsetReset: consumer.OffsetResetEarliest,
		AutoCommit:      consumer.AutoCommitConfig{Disable: true},
	})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	processed := 0
	for processed < 4 {
		recs, err := c.Poll(ctx)
		if err != nil {
			panic(err)
		}
		processed += len(recs) // process them here
		if err := c.Commit(ctx); err != nil {
			panic(err)
		}
	}
	committed, _ := c.Committed(consumer.TopicPartition{Topic: "orders", Partition: 0},
		consumer.TopicPartition{Topic: "orders", Partition: 1})
	fmt.Println(processed, committed[consumer.TopicPartition{Topic: "orders", Partition: 0}].Offset,
		committed[consumer.TopicPartition{Topic: "orders", Partition: 1}].Offset)
	// Output:
	// 4 2 2
}

// Replaying from a point in time: find the offsets with OffsetsForTimes,
// then Seek.
func Example_seekToTimestamp() {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b, done := setup(1, 10, base)
	defer done()

	c, err := consumer.New(b, nil)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	tp := consumer.TopicPartition{Topic: "orders", Partition: 0}
	if err := c.Assign([]consumer.TopicPartition{tp}); err != nil {
		panic(err)
	}
	offsets, err := c.OffsetsForTimes(map[consumer.TopicPartition]time.Time{tp: base.Add(7 * time.Second)})
	if err != nil {
		panic(err)
	}
	if err := c.Seek(tp, offsets[tp]); err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	recs, err := c.Poll(ctx)
	if err != nil {
		panic(err)
	}
	for _, r := range recs {
		fmt.Println(r.Offset, r.Timestamp.UTC().Format(time.TimeOnly))
	}
	// Output:
	// 7 00:00:07
	// 8 00:00:08
	// 9 00:00:09
}

// Rebalance callbacks run inside Poll, in Poll's goroutine: commit or
// flush state in Revoked, load state or Seek in Assigned.
func Example_rebalanceCallbacks() {
	b, done := setup(3, 3, time.Now())
	defer done()

	c, err := consumer.New(b, &consumer.Config{
		Group:           "audit",
		Topics:          []string{"orders"},
		AutoOffsetReset: consumer.OffsetResetEarliest,
		Rebalance: consumer.RebalanceCallbacks{
			Assigned: func(_ context.Context, tps []consumer.TopicPartition) {
				fmt.Println("assigned", tps)
			},
			Revoked: func(_ context.Context, tps []consumer.TopicPartition) {
				fmt.Println("revoked", tps)
			},
		},
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for n := 0; n < 3; {
		recs, err := c.Poll(ctx)
		if err != nil {
			panic(err)
		}
		n += len(recs)
	}
	c.Close() // revokes (after committing) and leaves the group
	// Output:
	// assigned [orders-0 orders-1 orders-2]
	// revoked [orders-0 orders-1 orders-2]
}

// printer is a Sarama-style handler: it prints each record and marks it.
type printer struct{ seen chan string }

func (printer) Setup(*consumer.Session) error   { return nil }
func (printer) Cleanup(*consumer.Session) error { return nil }
func (p printer) ConsumeClaim(s *consumer.Session, claim *consumer.Claim) error {
	for rec := range claim.Records() {
		p.seen <- string(rec.Value)
		s.MarkRecord(rec, "")
	}
	return nil
}

// The Sarama-style handler: Setup, ConsumeClaim per partition, Cleanup,
// with marked offsets committed by the session. Consume runs until ctx
// ends, across rebalances.
func Example_handler() {
	b, done := setup(1, 3, time.Now())
	defer done()

	c, err := consumer.New(b, &consumer.Config{
		Group: "printer", Topics: []string{"orders"}, AutoOffsetReset: consumer.OffsetResetEarliest,
	})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	h := printer{seen: make(chan string)}
	errc := make(chan error, 1)
	go func() { errc <- c.Consume(ctx, h) }()
	for range 3 {
		fmt.Println(<-h.seen)
	}
	cancel()
	if err := <-errc; err != nil {
		panic(err)
	}
	committed, _ := c.Committed(consumer.TopicPartition{Topic: "orders", Partition: 0})
	fmt.Println("committed", committed[consumer.TopicPartition{Topic: "orders", Partition: 0}].Offset)
	// Output:
	// order-0
	// order-1
	// order-2
	// committed 3
}

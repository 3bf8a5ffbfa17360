package samsa_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/consumer"
	"github.com/samsalog/samsa/producer"
	"github.com/samsalog/samsa/record"
)

// The whole module in one page: a broker on a data directory, a topic of
// three partitions, an idempotent acks=all producer, and a consumer group
// member reading everything back. Records with the same key go to the same
// partition (Kafka's murmur2), so each key's records come back in the order
// they were produced.
func Example() {
	dir, err := os.MkdirTemp("", "samsa-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	b, err := samsa.Open(dir, nil) // nil: Kafka's defaults
	if err != nil {
		panic(err)
	}
	defer b.Close()
	if err := b.CreateTopic("orders", &samsa.TopicConfig{Partitions: 3}); err != nil {
		panic(err)
	}

	// Produce: acks=all (synced before the result is in) and idempotent.
	p, err := producer.New(b, nil)
	if err != nil {
		panic(err)
	}
	var recs []*record.Record
	for i := range 6 {
		recs = append(recs, &record.Record{
			Topic: "orders",
			Key:   fmt.Appendf(nil, "user-%d", i%2),
			Value: fmt.Appendf(nil, "order-%d", i),
		})
	}
	if err := p.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		panic(err)
	}
	if err := p.Close(); err != nil {
		panic(err)
	}

	// Consume in a group; a new group starts at the beginning with earliest.
	c, err := consumer.New(b, &consumer.Config{
		Group:           "billing",
		Topics:          []string{"orders"},
		AutoOffsetReset: consumer.OffsetResetEarliest,
	})
	if err != nil {
		panic(err)
	}
	byKey := map[string][]string{}
	n := 0
	for r, err := range c.Records(ctx) {
		if err != nil {
			panic(err)
		}
		byKey[string(r.Key)] = append(byKey[string(r.Key)], string(r.Value))
		if n++; n == len(recs) {
			break
		}
	}
	if err := c.Close(); err != nil { // commits the positions, leaves the group
		panic(err)
	}
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		fmt.Println(k, byKey[k])
	}
	// Output:
	// user-0 [order-0 order-2 order-4]
	// user-1 [order-1 order-3 order-5]
}

// Committed offsets and records survive a restart: a group that committed
// offset 2 resumes there after the broker is closed and opened again, and
// the reopen after a clean Close scans no data.
func Example_restart() {
	dir, err := os.MkdirTemp("", "samsa-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tp := consumer.TopicPartition{Topic: "events", Partition: 0}
	cfg := &consumer.Config{
		Group:           "audit",
		Topics:          []string{"events"},
		AutoOffsetReset: consumer.OffsetResetEarliest,
		AutoCommit:      consumer.AutoCommitConfig{Disable: true},
	}

	// First run: four records, of which the group processes two.
	b, err := samsa.Open(dir, nil)
	if err != nil {
		panic(err)
	}
	p, err := producer.New(b, nil) // "events" is auto-created, one partition
	if err != nil {
		panic(err)
	}
	for _, v := range []string{"a", "b", "c", "d"} {
		if err := p.ProduceSync(ctx, &record.Record{Topic: "events", Value: []byte(v)}).FirstErr(); err != nil {
			panic(err)
		}
	}
	if err := p.Close(); err != nil {
		panic(err)
	}
	c, err := consumer.New(b, cfg)
	if err != nil {
		panic(err)
	}
	if _, err := c.Poll(ctx); err != nil { // joins the group, gets events-0
		panic(err)
	}
	// Processed "a" and "b": commit the offset of the next record to read.
	if err := c.CommitOffsets(ctx, map[consumer.TopicPartition]consumer.Offset{tp: {Offset: 2}}); err != nil {
		panic(err)
	}
	if err := c.Close(); err != nil { // auto-commit is off: Close commits nothing
		panic(err)
	}
	if err := b.Close(); err != nil {
		panic(err)
	}

	// Second run: the same directory, the same group.
	b, err = samsa.Open(dir, nil)
	if err != nil {
		panic(err)
	}
	defer b.Close()
	d, err := b.DescribeTopic("events")
	if err != nil {
		panic(err)
	}
	fmt.Println("clean reopen:", b.Stats().CleanOpen, "high watermark:", d.PartitionDetails[0].HighWatermark)
	c, err = consumer.New(b, cfg)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	for n := 0; n < 2; {
		recs, err := c.Poll(ctx)
		if err != nil {
			panic(err)
		}
		for _, r := range recs {
			fmt.Println(r.Offset, string(r.Value))
		}
		n += len(recs)
	}
	// Output:
	// clean reopen: true high watermark: 4
	// 2 c
	// 3 d
}

// Command quickstart is samsa in one page: it opens a broker on a data
// directory, creates a topic, produces a few thousand keyed records with an
// idempotent acks=all producer, closes and reopens the broker, and consumes
// every new record back in a consumer group, checking per-key order and
// committing its offsets. It is the README's first command:
//
//	go run ./examples/quickstart [-dir DIR] [-records N] [-partitions P]
//
// Without -dir the data goes to a temporary directory that is removed at
// the end; with -dir it stays there (for `ls`, or for Kafka's own
// kafka-dump-log to read), and a second run appends to it and consumes
// from the offsets the first run committed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/consumer"
	"github.com/samsalog/samsa/producer"
	"github.com/samsalog/samsa/record"
)

const (
	topic = "quickstart"
	users = 10 // distinct keys
)

func main() {
	dir := flag.String("dir", "", "data directory to keep (default: a temporary directory, removed at the end)")
	n := flag.Int("records", 5000, "records to write")
	parts := flag.Int("partitions", 3, "partitions of the topic, when it is created")
	flag.Parse()
	if err := run(*dir, *n, int32(*parts), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run is the whole program, callable from the test.
func run(dir string, n int, partitions int32, out io.Writer) error {
	if n <= 0 || partitions <= 0 {
		return errors.New("-records and -partitions must be positive")
	}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "samsa-quickstart-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	wrote, err := produce(ctx, dir, n, partitions, out)
	if err != nil {
		return err
	}
	// consume reopens the directory: after a clean Close nothing is
	// scanned, and topics, offsets and committed group offsets survive.
	return consume(ctx, dir, n, wrote, out)
}

// produce writes n records "user-K" -> "event I" through an idempotent
// acks=all producer and returns how long it took until every record was
// acknowledged (synced to disk).
func produce(ctx context.Context, dir string, n int, partitions int32, out io.Writer) (time.Duration, error) {
	b, err := samsa.Open(dir, nil) // nil: Kafka's defaults
	if err != nil {
		return 0, err
	}
	defer b.Close()
	// Small segments so that the example shows several of them.
	err = b.CreateTopic(topic, &samsa.TopicConfig{Partitions: partitions, SegmentBytes: 16 << 10})
	switch {
	case errors.Is(err, samsa.ErrTopicExists):
		fmt.Fprintf(out, "topic %q exists: appending to it\n", topic)
	case err != nil:
		return 0, err
	}

	p, err := producer.New(b, nil) // acks=all, idempotent, murmur2 on keys: as Kafka 3+
	if err != nil {
		return 0, err
	}
	var failed atomic.Int64
	begin := time.Now()
	for i := range n {
		r := &record.Record{
			Topic: topic,
			Key:   fmt.Appendf(nil, "user-%d", i%users),
			Value: fmt.Appendf(nil, "event %d", i),
		}
		p.Produce(ctx, r, func(r *record.Record, err error) {
			if err != nil {
				failed.Add(1)
				fmt.Fprintf(out, "produce %s: %v\n", r.Value, err)
			}
		})
	}
	// Close delivers what is buffered and waits for every callback.
	if err := p.Close(); err != nil {
		return 0, err
	}
	if f := failed.Load(); f > 0 {
		return 0, fmt.Errorf("%d records failed", f)
	}
	return time.Since(begin), b.Close()
}

// consume reads the n records produce wrote, in a consumer group, checking
// that each key's events come in the order they were produced.
func consume(ctx context.Context, dir string, n int, wrote time.Duration, out io.Writer) error {
	b, err := samsa.Open(dir, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	c, err := consumer.New(b, &consumer.Config{
		Group:           "quickstart",
		Topics:          []string{topic},
		AutoOffsetReset: consumer.OffsetResetEarliest, // a new group starts at the beginning
	})
	if err != nil {
		return err
	}
	begin := time.Now()
	last := map[string]int{} // key -> last event number seen
	got := make([]bool, n)   // event numbers seen: each of this run's once
	seen := 0
	for r, err := range c.Records(ctx) {
		if err != nil {
			c.Close()
			return err
		}
		i, err := strconv.Atoi(strings.TrimPrefix(string(r.Value), "event "))
		if err != nil {
			c.Close()
			return fmt.Errorf("%s-%d offset %d: unexpected value %q", r.Topic, r.Partition, r.Offset, r.Value)
		}
		if i >= n || got[i] {
			c.Close() // an older run's record, or one seen twice: the committed offsets were not honoured
			return fmt.Errorf("%s-%d offset %d: %q is not a new record of this run", r.Topic, r.Partition, r.Offset, r.Value)
		}
		got[i] = true
		if prev, ok := last[string(r.Key)]; ok && i <= prev {
			c.Close()
			return fmt.Errorf("key %s: event %d after event %d", r.Key, i, prev)
		}
		last[string(r.Key)] = i
		if seen++; seen == n {
			break
		}
	}
	read := time.Since(begin)
	if err := c.Commit(ctx); err != nil { // the next run starts after these
		c.Close()
		return err
	}
	if err := c.Close(); err != nil {
		return err
	}

	d, err := b.DescribeTopic(topic)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "produced %d records to %d partitions in %v (acks=all: synced), consumed them in %v\n",
		n, d.Partitions, wrote.Round(time.Microsecond), read.Round(time.Microsecond))
	for _, pd := range d.PartitionDetails {
		fmt.Fprintf(out, "%s-%d: offsets %d..%d, %d segments, %d bytes\n",
			topic, pd.Partition, pd.LogStartOffset, pd.LogEndOffset-1, pd.Segments, pd.SizeBytes)
	}
	fmt.Fprintf(out, "data directory: %s (clean reopen: %v)\n", dir, b.Stats().CleanOpen)
	return nil
}

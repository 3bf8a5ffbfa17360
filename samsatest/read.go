package samsatest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/consumer"
	"github.com/samsalog/samsa/record"
)

// DefaultTimeout is how long Consume and the Expect helpers wait for records
// when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// Options tunes Consume and the Expect helpers; the package-level functions
// of the same names use the zero Options, which means every default. An
// Options value holds no state: one may serve any number of tests at once.
//
//	samsatest.Options{Timeout: 30 * time.Second}.ExpectValues(t, b, "orders", "a", "b")
type Options struct {
	// Timeout bounds the wait for the records, counted from the call.
	// Default DefaultTimeout (5 s).
	Timeout time.Duration
}

func (o Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

// Consume reads topic from its beginning, every partition, without a group,
// until it has n records, and returns them; see Options.Consume.
func Consume(t testing.TB, b *samsa.Broker, topic string, n int) []*record.Record {
	t.Helper()
	return Options{}.Consume(t, b, topic, n)
}

// Consume reads topic from its beginning, every partition, without a consumer
// group (nothing is committed), until it has read n records, and returns them
// sorted by partition and offset. It stops the test with the records it read
// if n do not arrive within o.Timeout, or if reading fails. A topic that does
// not exist yet is waited for.
//
// With several partitions, which n records are read first is not defined:
// for each partition they are its first ones, in offset order.
func (o Options) Consume(t testing.TB, b *samsa.Broker, topic string, n int) []*record.Record {
	t.Helper()
	got, res := read(b, topic, n, false, o.timeout())
	if res.err != nil {
		t.Fatalf("samsatest: consume %d records of topic %q: %v", n, topic, res.err)
	}
	if len(got) < n {
		var s listing
		for _, r := range got {
			s.line(' ', show(r), where(r))
		}
		t.Fatalf("samsatest: topic %q: got %s, want %d (waited %v)%s",
			topic, records(len(got)), n, res.waited, s.String())
	}
	return got
}

// readResult says how a read ended.
type readResult struct {
	parts  int32         // partitions of the topic (0 if it never existed)
	waited time.Duration // from the call to the end of the read
	err    error         // anything but the timeout
}

// read reads topic from the beginning until it has n records or timeout
// passes. With drain it then also reads every record already visible
// (below the high watermarks), so that records beyond the n are found
// without waiting. Records come back sorted by partition and offset.
func read(b *samsa.Broker, topic string, n int, drain bool, timeout time.Duration) (_ []*record.Record, res readResult) {
	begin := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	defer func() { res.waited = time.Since(begin).Round(time.Millisecond) }()

	res.parts, res.err = waitTopic(ctx, b, topic)
	if res.err != nil {
		if errors.Is(res.err, context.DeadlineExceeded) {
			res.err = fmt.Errorf("%w: waited %v for it", samsa.ErrUnknownTopic, timeout)
		}
		return nil, res
	}
	c, err := consumer.New(b, &consumer.Config{AutoOffsetReset: consumer.OffsetResetEarliest})
	if err != nil {
		res.err = err
		return nil, res
	}
	defer c.Close()
	tps := make([]consumer.TopicPartition, res.parts)
	for i := range tps {
		tps[i] = consumer.TopicPartition{Topic: topic, Partition: int32(i)}
	}
	if err := c.Assign(tps); err != nil {
		res.err = err
		return nil, res
	}

	var got []*record.Record
	if n > 0 { // Records waits for a first record
		for rec, err := range c.Records(ctx) {
			if err != nil {
				if !errors.Is(err, context.DeadlineExceeded) {
					res.err = err
				}
				break
			}
			got = append(got, rec)
			if len(got) >= n {
				break
			}
		}
	}
	for drain && len(got) >= n && res.err == nil {
		lag, err := c.Lag() // without a group: high watermark minus position
		if err != nil {
			res.err = err
			break
		}
		var behind int64
		for _, l := range lag {
			behind += l.Lag
		}
		if behind <= 0 {
			break
		}
		recs, err := c.Poll(ctx) // returns at once: records are waiting
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				res.err = err
			}
			break
		}
		got = append(got, recs...)
	}
	slices.SortStableFunc(got, func(a, b *record.Record) int {
		return cmp.Or(cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
	})
	return got, res
}

// waitTopic returns the partition count of topic, waiting for it to be created
// until ctx ends.
func waitTopic(ctx context.Context, b *samsa.Broker, topic string) (int32, error) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		d, err := b.DescribeTopic(topic)
		if err == nil {
			return d.Partitions, nil
		}
		if !errors.Is(err, samsa.ErrUnknownTopic) {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-tick.C:
		}
	}
}

// show formats a record as the failure messages do.
func show(r *record.Record) string {
	return fmt.Sprintf("key=%s value=%s", quote(r.Key), quote(r.Value))
}

// quote quotes b, writing null for nil.
func quote(b []byte) string {
	if b == nil {
		return "null"
	}
	return fmt.Sprintf("%q", b)
}

// where names a record's place: "topic-partition@offset".
func where(r *record.Record) string {
	return fmt.Sprintf("%s-%d@%d", r.Topic, r.Partition, r.Offset)
}

// records says "1 record", "2 records".
func records(n int) string {
	if n == 1 {
		return "1 record"
	}
	return fmt.Sprintf("%d records", n)
}

// Command unit-test is about its test file, router_test.go: how to test code
// that uses samsa with package samsatest. The code under test is Route, a
// small stream processor that reads payments from one topic and routes each
// to an "accepted" or a "rejected" topic. Read router_test.go, and run it:
//
//	go test -v ./examples/unit-test
//
// The program itself runs Route once on a few payments and prints where they
// went:
//
//	go run ./examples/unit-test [-dir DIR]
//
// Without -dir the data goes to a temporary directory that is removed at the
// end; with -dir it stays there.
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
	"time"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/consumer"
	"github.com/samsalog/samsa/producer"
	"github.com/samsalog/samsa/record"
)

// The topics and the consumer group of Route.
const (
	Payments = "payments"
	Accepted = "payments.accepted"
	Rejected = "payments.rejected"
	Group    = "payment-router"
)

// Route routes the payments of topic Payments until ctx ends, as the consumer
// group Group. A payment's value is "AMOUNT CURRENCY", such as "12.50 EUR";
// one with a positive amount of at most two decimals in EUR or USD goes to
// Accepted, with its key, value and headers; any other goes to Rejected with
// its key and the value "REASON: VALUE". Route commits a batch of payments
// once it has routed them (at-least-once), and returns nil when ctx ends, or
// the first error.
func Route(ctx context.Context, b *samsa.Broker) error {
	c, err := consumer.New(b, &consumer.Config{
		Group:           Group,
		Topics:          []string{Payments},
		AutoOffsetReset: consumer.OffsetResetEarliest,
		AutoCommit:      consumer.AutoCommitConfig{Disable: true},
	})
	if err != nil {
		return err
	}
	p, err := producer.New(b, nil)
	if err != nil {
		c.Close()
		return err
	}
	err = route(ctx, c, p)
	return errors.Join(err, p.Close(), c.Close())
}

func route(ctx context.Context, c *consumer.Consumer, p *producer.Producer) error {
	for {
		recs, err := c.Poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		out := make([]*record.Record, len(recs))
		for i, r := range recs {
			out[i] = &record.Record{Topic: Accepted, Key: r.Key, Value: r.Value, Headers: r.Headers}
			if reason := check(string(r.Value)); reason != "" {
				out[i] = &record.Record{Topic: Rejected, Key: r.Key, Value: []byte(reason + ": " + string(r.Value))}
			}
		}
		// Deliver, then commit: a crash in between routes a payment twice,
		// never zero times.
		if err := p.ProduceSync(context.WithoutCancel(ctx), out...).FirstErr(); err != nil {
			return err
		}
		if err := c.Commit(context.WithoutCancel(ctx)); err != nil {
			return err
		}
	}
}

// check returns why a payment is rejected, or "" if it is accepted.
func check(v string) string {
	amount, currency, ok := strings.Cut(v, " ")
	if !ok {
		return "malformed"
	}
	if currency != "EUR" && currency != "USD" {
		return "unsupported currency"
	}
	f, err := strconv.ParseFloat(amount, 64)
	if err != nil {
		return "malformed amount"
	}
	if _, cents, ok := strings.Cut(amount, "."); ok && len(cents) > 2 {
		return "malformed amount"
	}
	if f <= 0 {
		return "amount not positive"
	}
	return ""
}

func main() {
	dir := flag.String("dir", "", "data directory to keep (default: a temporary directory, removed at the end)")
	flag.Parse()
	if err := run(*dir, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "unit-test:", err)
		os.Exit(1)
	}
}

// run is the program, callable from the test: it routes a few payments.
func run(dir string, out io.Writer) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "samsa-unit-test-")
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
	for _, name := range []string{Payments, Accepted, Rejected} {
		if err := b.CreateTopic(name, nil); err != nil && !errors.Is(err, samsa.ErrTopicExists) {
			return err
		}
	}

	p, err := producer.New(b, nil)
	if err != nil {
		return err
	}
	var recs []*record.Record
	for _, kv := range [][2]string{{"alice", "12.50 EUR"}, {"bob", "3 GBP"}, {"alice", "-1 EUR"}, {"carol", "99.99 USD"}} {
		recs = append(recs, &record.Record{Topic: Payments, Key: []byte(kv[0]), Value: []byte(kv[1])})
	}
	if err := errors.Join(p.ProduceSync(ctx, recs...).FirstErr(), p.Close()); err != nil {
		return err
	}

	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- Route(rctx, b) }()
	err = waitRouted(ctx, b)
	stop()
	if err := errors.Join(err, <-done); err != nil {
		return err
	}

	for _, name := range []string{Accepted, Rejected} {
		if err := dump(ctx, b, name, out); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "Route's tests are in examples/unit-test/router_test.go: go test -v ./examples/unit-test")
	return b.Close()
}

// waitRouted waits until Route's group has committed every payment.
func waitRouted(ctx context.Context, b *samsa.Broker) error {
	for {
		_, lag, err := consumer.GroupLag(b, Group, Payments)
		if err == nil && lag == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the payments to be routed: %w", errors.Join(err, ctx.Err()))
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// dump prints the records of the one-partition topic name.
func dump(ctx context.Context, b *samsa.Broker, name string, out io.Writer) error {
	c, err := consumer.New(b, &consumer.Config{AutoOffsetReset: consumer.OffsetResetEarliest})
	if err != nil {
		return err
	}
	defer c.Close()
	tp := consumer.TopicPartition{Topic: name, Partition: 0}
	if err := c.Assign([]consumer.TopicPartition{tp}); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s:\n", name)
	for {
		lag, err := c.Lag()
		if err != nil {
			return err
		}
		if lag[tp].Lag == 0 {
			return c.Close()
		}
		recs, err := c.Poll(ctx)
		if err != nil {
			return err
		}
		for _, r := range recs {
			fmt.Fprintf(out, "  %s: %s\n", r.Key, r.Value)
		}
	}
}

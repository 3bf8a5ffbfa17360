package main

// These are the tests a user of samsa writes for their own code, here Route,
// with package samsatest: each test opens a broker of its own in its
// temporary directory (samsatest.NewBroker), so tests and subtests run in
// parallel; the broker is closed, and the directory removed, when the test
// ends; main_test.go's TestMain checks that no goroutine is left behind.

import (
	"context"
	"testing"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/record"
	"github.com/samsalog/samsa/samsatest"
)

// startRoute runs Route on b until the test ends.
func startRoute(t *testing.T, b *samsa.Broker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Route(ctx, b) }()
	// Registered after NewBroker's, this cleanup runs before the broker is
	// closed.
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Route: %v", err)
		}
	})
}

// newBroker returns a broker with Route's topics, of one partition each, so
// that the Expect helpers check the order of all records.
func newBroker(t *testing.T) *samsa.Broker {
	t.Helper()
	b := samsatest.NewBroker(t, nil)
	for _, name := range []string{Payments, Accepted, Rejected} {
		samsatest.CreateTopic(t, b, name, 1)
	}
	return b
}

func TestRoute(t *testing.T) {
	t.Parallel()
	pay := samsatest.Record
	for _, tc := range []struct {
		name     string
		payments []*record.Record
		accepted []samsatest.Want
		rejected []samsatest.Want
	}{
		{
			name: "none",
		},
		{
			name:     "accepted",
			payments: []*record.Record{pay("alice", "12.50 EUR"), pay("bob", "1 USD")},
			accepted: []samsatest.Want{{Key: "alice", Value: "12.50 EUR"}, {Key: "bob", Value: "1 USD"}},
		},
		{
			name:     "rejected",
			payments: []*record.Record{pay("alice", "12 GBP"), pay("bob", "0 EUR"), pay("carol", "1.234 EUR"), pay("dave", "lots")},
			rejected: []samsatest.Want{
				{Key: "alice", Value: "unsupported currency: 12 GBP"},
				{Key: "bob", Value: "amount not positive: 0 EUR"},
				{Key: "carol", Value: "malformed amount: 1.234 EUR"},
				{Key: "dave", Value: "malformed: lots"},
			},
		},
		{
			name:     "mixed, in order",
			payments: []*record.Record{pay("alice", "1 EUR"), pay("alice", "-1 EUR"), pay("alice", "2 EUR")},
			accepted: []samsatest.Want{{Key: "alice", Value: "1 EUR"}, {Key: "alice", Value: "2 EUR"}},
			rejected: []samsatest.Want{{Key: "alice", Value: "amount not positive: -1 EUR"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBroker(t)
			samsatest.Produce(t, b, Payments, tc.payments...)
			startRoute(t, b)

			// Wait until Route has committed every payment: then its
			// output is complete, and expecting no records means something.
			samsatest.WaitCommitted(t, b, Group, Payments)
			samsatest.Expect(t, b, Accepted, tc.accepted...)
			samsatest.Expect(t, b, Rejected, tc.rejected...)
		})
	}
}

// TestRouteKeepsHeaders checks one record in detail: Consume returns the
// records for any check the Expect helpers do not make.
func TestRouteKeepsHeaders(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	in := samsatest.Record("alice", "5 EUR")
	in.Headers = []record.Header{{Key: "trace-id", Value: []byte("42")}}
	samsatest.Produce(t, b, Payments, in)
	startRoute(t, b)

	got := samsatest.Consume(t, b, Accepted, 1)
	if h := got[0].Headers; len(h) != 1 || h[0].Key != "trace-id" || string(h[0].Value) != "42" {
		t.Errorf("headers %v, want trace-id=42", h)
	}
}

// TestRouteResumes checks that a restarted Route goes on after the payments
// it committed: none is routed twice.
func TestRouteResumes(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	samsatest.ProduceValues(t, b, Payments, "1 EUR", "2 EUR")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Route(ctx, b) }()
	samsatest.WaitCommitted(t, b, Group, Payments)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	samsatest.ProduceValues(t, b, Payments, "3 EUR")
	startRoute(t, b)
	samsatest.WaitCommitted(t, b, Group, Payments)
	samsatest.ExpectValues(t, b, Accepted, "1 EUR", "2 EUR", "3 EUR")
}

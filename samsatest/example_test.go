package samsatest_test

import (
	"testing"
	"time"

	"github.com/samsalog/samsa/samsatest"
)

// A test of code that copies a topic's records, upper-casing them: a broker
// of its own in the test's temporary directory, the input produced, the
// output expected. As the test runs in parallel, each subtest has a broker of
// its own.
func Example() {
	testUpper := func(t *testing.T) {
		for _, tc := range []struct {
			name string
			in   []string
			want []string
		}{
			{"empty", nil, nil},
			{"some", []string{"a", "b"}, []string{"A", "B"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				b := samsatest.NewBroker(t, nil) // closed at the end of the subtest
				samsatest.CreateTopic(t, b, "in", 1)
				samsatest.ProduceValues(t, b, "in", tc.in...)

				// upper(b, "in", "out") is the code under test.

				samsatest.ExpectValues(t, b, "out", tc.want...)
			})
		}
	}
	_ = testUpper
}

// Options changes how long the Expect helpers and Consume wait; the zero
// Options is what the package-level functions use.
func ExampleOptions() {
	testSlow := func(t *testing.T) {
		b := samsatest.NewBroker(t, nil)
		// startSlowWriter(b) writes "done" to "status" within 20 seconds.
		samsatest.Options{Timeout: 30 * time.Second}.Expect(t, b, "status",
			samsatest.Want{Key: "job-1", Value: "done"})
	}
	_ = testSlow
}

package samsatest

import (
	"testing"

	"github.com/samsalog/samsa"
	"go.uber.org/goleak"
)

// NewBroker opens a Broker in a new directory of t.TempDir() with cfg (nil:
// every default) and closes it when the test and its subtests end
// (t.Cleanup), failing the test if Close reports an error. Closing it earlier
// is allowed: the second Close does nothing. It stops the test if the broker
// cannot be opened.
//
// Cleanups run last-in first-out, so producers and consumers created after
// the broker and closed with t.Cleanup are closed before it.
func NewBroker(t testing.TB, cfg *samsa.Config) *samsa.Broker {
	t.Helper()
	b, err := samsa.Open(t.TempDir(), cfg)
	if err != nil {
		t.Fatalf("samsatest: open broker: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("samsatest: close broker in %s: %v", b.Dir(), err)
		}
	})
	return b
}

// CreateTopic creates the topic name with the given number of partitions on b,
// and stops the test if that fails (for example with samsa.ErrTopicExists).
// For other settings call b.CreateTopic with a samsa.TopicConfig.
func CreateTopic(t testing.TB, b *samsa.Broker, name string, partitions int32) {
	t.Helper()
	if err := b.CreateTopic(name, &samsa.TopicConfig{Partitions: partitions}); err != nil {
		t.Fatalf("samsatest: create topic %q with %d partitions: %v", name, partitions, err)
	}
}

// CheckLeaks fails the test if, when it ends, goroutines are running that
// were not running when CheckLeaks was called (goleak.VerifyNone, ignoring the
// goroutines of the moment, retried for a while so that goroutines on their
// way out are not reported).
//
// Call it first in the test, before NewBroker: cleanups run last-in first-out,
// so the check then runs after the broker and everything closed by a later
// t.Cleanup are closed. It cannot tell the goroutines of the test from those
// of tests running at the same time, so use it only in tests that do not call
// t.Parallel and do not run beside parallel ones; VerifyTestMain has no such
// limit.
func CheckLeaks(t testing.TB) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		goleak.VerifyNone(t, ignore)
	})
}

// VerifyTestMain runs the tests of m and then fails the run if goroutines are
// still running (goleak.VerifyTestMain): the leak check for packages whose
// tests run in parallel. Call it from TestMain:
//
//	func TestMain(m *testing.M) { samsatest.VerifyTestMain(m) }
//
// It calls os.Exit and does not return.
func VerifyTestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

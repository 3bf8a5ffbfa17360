package samsatest_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/consumer"
	"github.com/samsalog/samsa/record"
	"github.com/samsalog/samsa/samsatest"
)

func TestMain(m *testing.M) { samsatest.VerifyTestMain(m) }

// fakeTB records the failures the helpers report, as testing/fstest's tests
// check its checker's messages. Methods it does not override (TempDir,
// Cleanup, Logf, ...) go to the real test.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	fatal    bool
	cleanups []func()
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Error(args ...any) { f.Errorf("%s", fmt.Sprint(args...)) }

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	f.mu.Lock()
	f.fatal = true
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

func (f *fakeTB) FailNow() { f.Fatalf("FailNow") }

func (f *fakeTB) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.errors) > 0
}

// Cleanup keeps fn for runCleanups, so that a test can check what cleanups
// report.
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

func (f *fakeTB) runCleanups() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// report returns the failures, with durations blanked out.
func (f *fakeTB) report() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return waited.ReplaceAllString(strings.Join(f.errors, "\n"), "waited D")
}

var waited = regexp.MustCompile(`waited [0-9.]+[a-zµ]+`)

// check runs fn with a fakeTB in its own goroutine (Fatalf ends it) and
// returns the fake once fn has returned or stopped.
func check(t *testing.T, fn func(tb testing.TB)) *fakeTB {
	t.Helper()
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

func TestExpect(t *testing.T) {
	t.Parallel()
	kv := samsatest.Record
	for _, tc := range []struct {
		name       string
		partitions int32
		produce    []*record.Record
		want       []samsatest.Want
	}{
		{"empty", 1, nil, nil},
		{"one partition", 1,
			[]*record.Record{kv("a", "1"), kv("b", "2"), kv("", "3")},
			[]samsatest.Want{{"a", "1"}, {"b", "2"}, {"", "3"}}},
		{"keys in order, partitions interleaved", 4,
			[]*record.Record{kv("a", "1"), kv("b", "1"), kv("a", "2"), kv("c", "1"), kv("b", "2")},
			[]samsatest.Want{{"b", "1"}, {"b", "2"}, {"c", "1"}, {"a", "1"}, {"a", "2"}}},
		{"duplicates", 3,
			[]*record.Record{kv("a", "1"), kv("a", "1"), kv("", "x"), kv("", "x")},
			[]samsatest.Want{{"", "x"}, {"a", "1"}, {"", "x"}, {"a", "1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := samsatest.NewBroker(t, nil)
			samsatest.CreateTopic(t, b, "t", tc.partitions)
			samsatest.Produce(t, b, "t", tc.produce...)
			samsatest.Expect(t, b, "t", tc.want...)
		})
	}
}

func TestProduceAndConsume(t *testing.T) {
	t.Parallel()
	b := samsatest.NewBroker(t, nil)
	samsatest.CreateTopic(t, b, "t", 2)
	in := []*record.Record{samsatest.Record("k", "v1"), samsatest.Record("k", "v2")}
	out := samsatest.Produce(t, b, "t", in...)
	if in[0].Topic != "" || in[0].Offset != 0 {
		t.Errorf("Produce changed its argument: %+v", in[0])
	}
	if out[0].Topic != "t" || out[1].Partition != out[0].Partition || out[1].Offset != out[0].Offset+1 {
		t.Errorf("Produce returned %s-%d@%d and %s-%d@%d, want consecutive offsets of one partition",
			out[0].Topic, out[0].Partition, out[0].Offset, out[1].Topic, out[1].Partition, out[1].Offset)
	}
	vals := samsatest.ProduceValues(t, b, "t", "x", "y", "z")
	if len(vals) != 3 || string(vals[2].Value) != "z" || vals[2].Key != nil {
		t.Errorf("ProduceValues returned %v", vals)
	}
	got := samsatest.Consume(t, b, "t", 5)
	if len(got) != 5 {
		t.Fatalf("Consume returned %d records, want 5", len(got))
	}
	for i := 1; i < len(got); i++ {
		a, c := got[i-1], got[i]
		if a.Partition > c.Partition || a.Partition == c.Partition && a.Offset >= c.Offset {
			t.Errorf("Consume's records not sorted: %s-%d@%d before %s-%d@%d",
				a.Topic, a.Partition, a.Offset, c.Topic, c.Partition, c.Offset)
		}
	}
	samsatest.ExpectValues(t, b, "t", "z", "y", "x", "v1", "v2")
	samsatest.ExpectKeys(t, b, "t", "", "k", "", "", "k")
}

func TestExpectWaitsForRecords(t *testing.T) {
	t.Parallel()
	b := samsatest.NewBroker(t, nil)
	// The topic does not exist yet: Expect waits for it and its records.
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(50 * time.Millisecond)
		samsatest.ProduceValues(t, b, "late", "a") // auto-creates the topic
		time.Sleep(50 * time.Millisecond)
		samsatest.ProduceValues(t, b, "late", "b")
	}()
	samsatest.ExpectValues(t, b, "late", "a", "b")
	<-done
}

func TestExpectFailures(t *testing.T) {
	t.Parallel()
	b := samsatest.NewBroker(t, nil)
	samsatest.CreateTopic(t, b, "one", 1)
	samsatest.Produce(t, b, "one", samsatest.Record("a", "1"), samsatest.Record("b", "2"), samsatest.Record("c", "3"))
	samsatest.CreateTopic(t, b, "four", 4)
	samsatest.Produce(t, b, "four", samsatest.Record("a", "1"), samsatest.Record("a", "2"), samsatest.Record("b", "1"))
	short := samsatest.Options{Timeout: 100 * time.Millisecond}

	for _, tc := range []struct {
		name string
		fn   func(tb testing.TB) bool
		want string
	}{
		{"missing", func(tb testing.TB) bool {
			return short.Expect(tb, b, "one", samsatest.Want{"a", "1"}, samsatest.Want{"b", "2"}, samsatest.Want{"c", "3"}, samsatest.Want{"d", "4"})
		}, `samsatest: topic "one" (in order): got 3 records, want 4 (waited D):
    key="a" value="1"  one-0@0
    key="b" value="2"  one-0@1
    key="c" value="3"  one-0@2
  - key="d" value="4"  missing`},
		{"extra", func(tb testing.TB) bool {
			return short.Expect(tb, b, "one", samsatest.Want{"a", "1"}, samsatest.Want{"c", "3"})
		}, `samsatest: topic "one" (in order): got 3 records, want 2:
    key="a" value="1"  one-0@0
  + key="b" value="2"  one-0@1, not wanted here
    key="c" value="3"  one-0@2`},
		{"order", func(tb testing.TB) bool {
			return short.ExpectValues(tb, b, "one", "1", "3", "2")
		}, `samsatest: topic "one" (in order): got 3 records, as many as wanted, but not those:
    value="1"  one-0@0
  - value="3"  missing
    value="2"  one-0@1
  + value="3"  one-0@2, not wanted here`},
		{"keys", func(tb testing.TB) bool {
			return short.ExpectKeys(tb, b, "one", "a", "b", "x")
		}, `samsatest: topic "one" (in order): got 3 records, as many as wanted, but not those:
    key="a"  one-0@0
    key="b"  one-0@1
  - key="x"  missing
  + key="c"  one-0@2, not wanted here`},
		{"key order", func(tb testing.TB) bool {
			return short.Expect(tb, b, "four", samsatest.Want{"b", "1"}, samsatest.Want{"a", "2"}, samsatest.Want{"a", "1"})
		}, `samsatest: topic "four" (4 partitions: in order per key): records of a key out of order:
    key="b" value="1"  four-P@2
    key="a" value="2"  four-P@1
    key="a" value="1"  four-P@0
  key "a": values in order "1" (four-P@0), "2" (four-P@1); want "2", "1"`},
		{"multiset", func(tb testing.TB) bool {
			return short.ExpectValues(tb, b, "four", "1", "1", "3")
		}, `samsatest: topic "four" (4 partitions: in any order): got 3 records, as many as wanted, but not those:
    value="1"  four-P@0
    value="1"  four-P@2
  - value="3"  missing
  + value="2"  four-P@1, not wanted`},
		{"empty", func(tb testing.TB) bool {
			return short.Expect(tb, b, "one")
		}, `samsatest: topic "one" (in order): got 3 records, want 0:
  + key="a" value="1"  one-0@0, not wanted here
  + key="b" value="2"  one-0@1, not wanted here
  + key="c" value="3"  one-0@2, not wanted here`},
		{"unknown topic", func(tb testing.TB) bool {
			return short.ExpectValues(tb, b, "nope", "a")
		}, `samsatest: topic "nope": reading the records: samsa: unknown topic: waited D for it`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ok bool
			f := check(t, func(tb testing.TB) { ok = tc.fn(tb) })
			if ok {
				t.Errorf("Expect reported success")
			}
			if f.fatal {
				t.Errorf("Expect stopped the test; it should report and go on")
			}
			// The partition of a key depends on the hash: blank it out.
			got := regexp.MustCompile(`four-\d@`).ReplaceAllString(f.report(), "four-P@")
			if got != tc.want {
				t.Errorf("message:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestConsumeTimeout(t *testing.T) {
	t.Parallel()
	b := samsatest.NewBroker(t, nil)
	samsatest.ProduceValues(t, b, "t", "a")
	f := check(t, func(tb testing.TB) {
		samsatest.Options{Timeout: 50 * time.Millisecond}.Consume(tb, b, "t", 2)
		tb.Errorf("Consume returned")
	})
	if m := regexp.MustCompile(`waited (\d+)ms`).FindStringSubmatch(strings.Join(f.errors, "")); m == nil || atoi(m[1]) < 50 {
		t.Errorf("message %q: want it to say it waited at least 50ms", f.errors)
	}
	want := `samsatest: topic "t": got 1 record, want 2 (waited D)
    key=null value="a"  t-0@0`
	if !f.fatal || f.report() != want {
		t.Errorf("fatal %v, message:\n%s\nwant:\n%s", f.fatal, f.report(), want)
	}
}

func TestSetupFailuresStopTheTest(t *testing.T) {
	t.Parallel()
	b := samsatest.NewBroker(t, &samsa.Config{DisableAutoCreateTopics: true})
	samsatest.CreateTopic(t, b, "t", 1)
	for name, fn := range map[string]func(tb testing.TB){
		"CreateTopic exists":    func(tb testing.TB) { samsatest.CreateTopic(tb, b, "t", 1) },
		"CreateTopic bad name":  func(tb testing.TB) { samsatest.CreateTopic(tb, b, "a/b", 1) },
		"Produce unknown topic": func(tb testing.TB) { samsatest.ProduceValues(tb, b, "nope", "a") },
	} {
		f := check(t, func(tb testing.TB) {
			fn(tb)
			tb.Errorf("returned")
		})
		if !f.fatal || !strings.HasPrefix(f.report(), "samsatest: ") {
			t.Errorf("%s: fatal %v, message %q", name, f.fatal, f.report())
		}
	}
}

func TestNewBrokerClosesAtCleanup(t *testing.T) {
	t.Parallel()
	var b *samsa.Broker
	t.Run("sub", func(t *testing.T) {
		b = samsatest.NewBroker(t, nil)
		samsatest.CreateTopic(t, b, "t", 1)
	})
	if _, err := b.ListTopics(); !errors.Is(err, samsa.ErrClosed) {
		t.Errorf("after the subtest, ListTopics: %v, want samsa.ErrClosed", err)
	}
}

// TestCheckLeaks does not run in parallel: CheckLeaks sees every goroutine.
func TestCheckLeaks(t *testing.T) {
	f := &fakeTB{TB: t}
	samsatest.CheckLeaks(f)
	stop := make(chan struct{})
	go func() { <-stop }() // a leak
	f.runCleanups()
	close(stop)
	if !strings.Contains(f.report(), "found unexpected goroutines") {
		t.Errorf("CheckLeaks reported %q, want a leak", f.report())
	}

	f = &fakeTB{TB: t}
	samsatest.CheckLeaks(f)
	b := samsatest.NewBroker(f, nil)
	samsatest.ProduceValues(f, b, "t", "a")
	f.runCleanups() // closes the broker, then checks
	if f.report() != "" {
		t.Errorf("CheckLeaks after a closed broker: %s", f.report())
	}
}

func TestWaitCommitted(t *testing.T) {
	t.Parallel()
	b := samsatest.NewBroker(t, nil)
	samsatest.CreateTopic(t, b, "t", 2)
	samsatest.WaitCommitted(t, b, "g", "t") // nothing to consume: lag 0
	samsatest.Produce(t, b, "t", samsatest.Record("a", "1"), samsatest.Record("a", "2"))

	f := check(t, func(tb testing.TB) {
		samsatest.Options{Timeout: 20 * time.Millisecond}.WaitCommitted(tb, b, "g", "t")
	})
	want := `samsatest: group "g" on topic "t": lag 2 after D, want 0:
  t-P: committed -1, high watermark 2, lag 2`
	got := regexp.MustCompile(`after [0-9.]+[a-zµ]+`).ReplaceAllString(f.report(), "after D")
	got = regexp.MustCompile(`t-\d:`).ReplaceAllString(got, "t-P:")
	if !f.fatal || got != want {
		t.Errorf("fatal %v, message:\n%s\nwant:\n%s", f.fatal, got, want)
	}

	c, err := consumer.New(b, &consumer.Config{Group: "g", Topics: []string{"t"}, AutoOffsetReset: consumer.OffsetResetEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for n := 0; n < 2; {
		recs, err := c.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(recs)
	}
	if err := c.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	samsatest.WaitCommitted(t, b, "g", "t")
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

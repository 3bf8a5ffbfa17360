package partitionertest_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/samsalog/samsa/producer"
	"github.com/samsalog/samsa/producer/partitionertest"
	"github.com/samsalog/samsa/record"
)

// fakeTB records what Run reports instead of failing the test.
type fakeTB struct {
	testing.TB // nil: calling anything not overridden panics
	mu         sync.Mutex
	errs       []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Error(args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprint(args...))
}

func (f *fakeTB) Errorf(format string, args ...any) { f.Error(fmt.Sprintf(format, args...)) }

// stateless turns a function into a PartitionerConstructor.
func stateless(f func(r *record.Record, n int32) (int32, error)) producer.PartitionerConstructor {
	return func(string) producer.Partitioner { return producer.PartitionerFunc(f) }
}

// withNewBatch adds an OnNewBatch method to a stateless partitioner.
type withNewBatch struct {
	producer.PartitionerFunc
	onNewBatch func(int32)
}

func (w withNewBatch) OnNewBatch(prev int32) { w.onNewBatch(prev) }

type withAppend struct {
	producer.PartitionerFunc
	onAppend func(*record.Record, int32, int, bool)
}

func (w withAppend) OnAppend(r *record.Record, p int32, size int, full bool) {
	w.onAppend(r, p, size, full)
}

func randomPartition(_ *record.Record, n int32) (int32, error) { return rand.Int32N(n), nil }

// TestCheckerFailsBrokenPartitioners proves the checker is not vacuous: each
// broken partitioner must make Run report at least one problem, and the
// report must say what is wrong.
func TestCheckerFailsBrokenPartitioners(t *testing.T) {
	tests := []struct {
		name string
		newP producer.PartitionerConstructor
		cfg  *partitionertest.Config
		want string // in some reported problem
	}{
		{
			name: "returns n",
			newP: stateless(func(_ *record.Record, n int32) (int32, error) { return n, nil }),
			want: "want a partition in [0,",
		},
		{
			name: "returns -1",
			newP: stateless(func(*record.Record, int32) (int32, error) { return -1, nil }),
			want: "= -1, want a partition in",
		},
		{
			name: "off by one only for some records",
			newP: stateless(func(r *record.Record, n int32) (int32, error) { return int32(len(r.Value)) % (n + 1), nil }),
			want: "want a partition in",
		},
		{
			name: "fails on n=1",
			newP: stateless(func(_ *record.Record, n int32) (int32, error) { return rand.Int32N(n - 1), nil }),
			want: "panicked",
		},
		{
			name: "panics on nil key",
			newP: stateless(func(r *record.Record, n int32) (int32, error) { return int32(r.Key[0]) % n, nil }),
			want: "panicked",
		},
		{
			name: "errors on valid records",
			newP: stateless(func(*record.Record, int32) (int32, error) { return 0, errors.New("nope") }),
			want: "failed on a valid record: nope",
		},
		{
			name: "modifies the record",
			newP: stateless(func(r *record.Record, n int32) (int32, error) { r.Partition = n - 1; return n - 1, nil }),
			want: "modified the record",
		},
		{
			name: "constructor returns nil",
			newP: func(string) producer.Partitioner { return nil },
			want: "returned nil",
		},
		{
			name: "constructor panics",
			newP: func(string) producer.Partitioner { panic("boom") },
			want: "panicked: boom",
		},
		{
			name: "random claimed key-deterministic",
			newP: stateless(randomPartition),
			cfg:  &partitionertest.Config{KeyDeterministic: true},
			want: "want the same partition every time",
		},
		{
			name: "empty key treated as keyless, key-deterministic",
			newP: stateless(func(r *record.Record, n int32) (int32, error) {
				if len(r.Key) == 0 {
					return rand.Int32N(n), nil
				}
				return producer.KafkaKeyHash(r.Key, n), nil
			}),
			cfg:  &partitionertest.Config{KeyDeterministic: true},
			want: "the empty non-nil key (Kafka hashes it",
		},
		{
			name: "empty key treated as keyless, Kafka hash",
			newP: producer.NewKeyHashPartitioner(func(key []byte, n int32) int32 {
				if len(key) == 0 {
					return 0
				}
				return producer.KafkaKeyHash(key, n)
			}, producer.NewStickyPartitioner),
			cfg:  &partitionertest.Config{KeyHasher: producer.KafkaKeyHash},
			want: "the empty non-nil key",
		},
		{
			name: "Sarama hash claimed as Kafka's",
			newP: producer.NewFNV1aPartitioner,
			cfg:  &partitionertest.Config{KeyHasher: producer.KafkaKeyHash},
			want: "KeyHasher says",
		},
		{
			name: "Kafka hash with abs instead of mask",
			newP: producer.NewKeyHashPartitioner(func(key []byte, n int32) int32 {
				p := int32(producer.Murmur2(key)) % n
				if p < 0 {
					p = -p
				}
				return p
			}, nil),
			cfg:  &partitionertest.Config{KeyHasher: producer.KafkaKeyHash},
			want: "KeyHasher says",
		},
		{
			name: "manual accepting an out-of-range partition",
			newP: stateless(func(r *record.Record, n int32) (int32, error) {
				if r.Partition < 0 || r.Partition >= n {
					return 0, nil
				}
				return r.Partition, nil
			}),
			cfg:  &partitionertest.Config{Manual: true},
			want: "want an error matching producer.ErrInvalidPartition",
		},
		{
			name: "manual with an untyped error",
			newP: stateless(func(r *record.Record, n int32) (int32, error) {
				if r.Partition < 0 || r.Partition >= n {
					return 0, errors.New("bad partition")
				}
				return r.Partition, nil
			}),
			cfg:  &partitionertest.Config{Manual: true},
			want: "does not match producer.ErrInvalidPartition",
		},
		{
			name: "manual ignoring Record.Partition",
			newP: producer.NewRoundRobinPartitioner,
			cfg:  &partitionertest.Config{Manual: true},
			want: "went to",
		},
		{
			name: "OnNewBatch panics",
			newP: func(string) producer.Partitioner {
				return withNewBatch{producer.PartitionerFunc(randomPartition), func(int32) { panic("kaboom") }}
			},
			want: "OnNewBatch",
		},
		{
			name: "OnAppend panics on stale partition",
			newP: func(string) producer.Partitioner {
				var cur int32
				return withAppend{
					func(*record.Record, int32) (int32, error) { return cur, nil },
					func(_ *record.Record, p int32, _ int, _ bool) {
						if p != cur {
							panic("stale")
						}
					},
				}
			},
			cfg:  &partitionertest.Config{Goroutines: 1},
			want: "OnAppend(partition",
		},
		{
			name: "keyed placement depends on keyless traffic",
			newP: func(string) producer.Partitioner {
				var mu sync.Mutex
				keyless := 0
				return producer.PartitionerFunc(func(r *record.Record, n int32) (int32, error) {
					mu.Lock()
					defer mu.Unlock()
					if r.Key == nil {
						keyless++
						return 0, nil
					}
					return (producer.KafkaKeyHash(r.Key, n) + int32(keyless)) % n, nil
				})
			},
			cfg:  &partitionertest.Config{KeyDeterministic: true},
			want: "want the same partition every time",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tb fakeTB
			partitionertest.Run(&tb, tc.newP, tc.cfg)
			if len(tb.errs) == 0 {
				t.Fatal("the checker passed a broken partitioner")
			}
			found := false
			for _, e := range tb.errs {
				if strings.Contains(e, tc.want) {
					found = true
				}
				if !strings.HasPrefix(e, "partitionertest: ") || !strings.Contains(e, "(seed ") {
					t.Errorf("problem without prefix or seed: %s", e)
				}
			}
			if !found {
				t.Errorf("no problem mentions %q; got:\n%s", tc.want, strings.Join(tb.errs, "\n"))
			}
			if len(tb.errs) > 80 {
				t.Errorf("%d problems reported; the checker should cap them", len(tb.errs))
			}
		})
	}
}

func TestCheckPassesAndReplays(t *testing.T) {
	var tb fakeTB
	partitionertest.Run(&tb, producer.NewDefaultPartitioner(0), &partitionertest.Config{KeyHasher: producer.KafkaKeyHash})
	if len(tb.errs) != 0 {
		t.Fatalf("default partitioner failed:\n%s", strings.Join(tb.errs, "\n"))
	}
	// The same seed gives the same report.
	broken := stateless(func(r *record.Record, n int32) (int32, error) { return int32(len(r.Value)) % (n + 1), nil })
	cfg := &partitionertest.Config{Seed: 42, Goroutines: 1}
	a, b := partitionertest.Check(broken, cfg), partitionertest.Check(broken, cfg)
	if a == nil || b == nil || a.Error() != b.Error() {
		t.Fatalf("seeded runs differ:\n%v\n---\n%v", a, b)
	}
	if !strings.Contains(a.Error(), "(seed 42)") {
		t.Fatalf("seed not reported: %v", a)
	}
	if err := partitionertest.Check(nil, nil); err == nil {
		t.Fatal("nil constructor passed")
	}
	bad := &partitionertest.Config{PartitionCounts: []int32{3, 0}}
	if err := partitionertest.Check(producer.NewRoundRobinPartitioner, bad); err == nil || !strings.Contains(err.Error(), "PartitionCounts") {
		t.Fatalf("partition count 0: %v", err)
	}
	// A small configuration runs and passes.
	small := &partitionertest.Config{PartitionCounts: []int32{7}, Records: 10, Goroutines: 2, KeyDeterministic: true}
	if err := partitionertest.Check(producer.NewDefaultPartitioner(0), small); err != nil {
		t.Fatal(err)
	}
}

func ExampleCheck() {
	err := partitionertest.Check(producer.NewDefaultPartitioner(0), &partitionertest.Config{
		KeyHasher: producer.KafkaKeyHash, // keyed records go where the Java client sends them
	})
	fmt.Println(err)
	// Output: <nil>
}

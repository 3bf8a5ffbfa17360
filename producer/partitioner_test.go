package producer

import (
	"errors"
	"math"
	"sync"
	"testing"

	"github.com/samsalog/samsa/record"
)

// builtins are the partitioners of this package, as a producer gets them.
var builtins = []struct {
	name string
	newP PartitionerConstructor
}{
	{"manual", NewManualPartitioner},
	{"roundrobin", NewRoundRobinPartitioner},
	{"random", NewRandomPartitioner},
	{"sticky", NewStickyPartitioner},
	{"uniformsticky", NewUniformStickyPartitioner(100)},
	{"default", NewDefaultPartitioner(0)},
	{"fnv1a", NewFNV1aPartitioner},
	{"keyhash-sticky", NewKeyHashPartitioner(KafkaKeyHash, NewStickyPartitioner)},
	{"keyhash-roundrobin", NewKeyHashPartitioner(SaramaKeyHash, NewRoundRobinPartitioner)},
	{"keyhash-nil", NewKeyHashPartitioner(nil, nil)},
}

func partition(t testing.TB, p Partitioner, r *record.Record, n int32) int32 {
	t.Helper()
	got, err := p.Partition(r, n)
	if err != nil {
		t.Fatalf("Partition(key=%q, %d): %v", r.Key, n, err)
	}
	if got < 0 || got >= n {
		t.Fatalf("Partition(key=%q, %d) = %d, out of range", r.Key, n, got)
	}
	return got
}

func TestManualPartitioner(t *testing.T) {
	tests := []struct {
		name      string
		partition int32
		n         int32
		want      int32
		err       error
	}{
		{"first", 0, 1, 0, nil},
		{"middle", 3, 10, 3, nil},
		{"last", 9, 10, 9, nil},
		{"equal to count", 10, 10, 0, ErrInvalidPartition},
		{"above count", 11, 10, 0, ErrInvalidPartition},
		{"negative", -1, 10, 0, ErrInvalidPartition},
		{"min int32", math.MinInt32, 10, 0, ErrInvalidPartition},
		{"max int32", math.MaxInt32, math.MaxInt32, 0, ErrInvalidPartition},
		{"no partitions", 0, 0, 0, ErrNoPartitions},
	}
	p := NewManualPartitioner("t")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Partition(&record.Record{Partition: tc.partition, Key: []byte("k")}, tc.n)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("Partition(%d of %d) error = %v, want %v", tc.partition, tc.n, err, tc.err)
			}
			if err == nil && got != tc.want {
				t.Fatalf("Partition(%d of %d) = %d, want %d", tc.partition, tc.n, got, tc.want)
			}
		})
	}
	_, err := p.Partition(&record.Record{Partition: 12}, 10)
	if want := "producer: invalid partition: partition 12 of 10"; err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestRoundRobinPerTopic(t *testing.T) {
	a, b := NewRoundRobinPartitioner("a"), NewRoundRobinPartitioner("b")
	r := &record.Record{Key: []byte("ignored")}
	want := []int32{0, 1, 2, 0, 1, 2, 0}
	for i, w := range want {
		if got := partition(t, a, r, 3); got != w {
			t.Fatalf("topic a record %d: partition %d, want %d", i, got, w)
		}
		if i < 2 {
			continue // topic b lags behind and still starts at 0
		}
		if got := partition(t, b, r, 3); got != want[i-2] {
			t.Fatalf("topic b record %d: partition %d, want %d", i-2, got, want[i-2])
		}
	}
	// Growing the topic continues the count modulo the new size.
	c := NewRoundRobinPartitioner("c")
	for range 4 {
		partition(t, c, r, 4)
	}
	if got := partition(t, c, r, 6); got != 4 {
		t.Fatalf("after 4 records, partition of 6 = %d, want 4", got)
	}
}

// TestRoundRobinConcurrent checks that goroutines share one counter: n × k
// records from many goroutines land exactly k times on each partition.
func TestRoundRobinConcurrent(t *testing.T) {
	const n, k, workers = 7, 300, 8
	p := NewRoundRobinPartitioner("t")
	var mu sync.Mutex
	counts := make([]int, n)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			local := make([]int, n)
			for i := w; i < n*k; i += workers {
				got, err := p.Partition(&record.Record{}, n)
				if err != nil || got < 0 || got >= n {
					t.Errorf("Partition = %d, %v", got, err)
					return
				}
				local[got]++
			}
			mu.Lock()
			for i, c := range local {
				counts[i] += c
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	for i, c := range counts {
		if c != k {
			t.Errorf("partition %d got %d records, want %d (counts %v)", i, c, k, counts)
		}
	}
}

func TestRandomPartitionerCoversAll(t *testing.T) {
	p := NewRandomPartitioner("t")
	seen := make(map[int32]int)
	for range 2000 {
		seen[partition(t, p, &record.Record{Key: []byte("same")}, 10)]++
	}
	if len(seen) != 10 {
		t.Fatalf("2000 random picks of 10 partitions hit only %d: %v", len(seen), seen)
	}
	if got := partition(t, p, &record.Record{}, 1); got != 0 {
		t.Fatalf("n=1: %d", got)
	}
}

func TestNoPartitions(t *testing.T) {
	for _, b := range builtins {
		t.Run("partitioner="+b.name, func(t *testing.T) {
			p := b.newP("t")
			for _, n := range []int32{0, -1, math.MinInt32} {
				for _, key := range [][]byte{nil, {}, []byte("k")} {
					_, err := p.Partition(&record.Record{Key: key}, n)
					if !errors.Is(err, ErrNoPartitions) {
						t.Errorf("Partition(key=%v, %d) error = %v, want ErrNoPartitions", key, n, err)
					}
				}
			}
		})
	}
}

func TestOnePartition(t *testing.T) {
	for _, b := range builtins {
		t.Run("partitioner="+b.name, func(t *testing.T) {
			p := b.newP("t")
			for i := range 50 {
				r := &record.Record{Key: []byte{byte(i)}}
				if i%2 == 0 {
					r.Key = nil
				}
				if got := partition(t, p, r, 1); got != 0 {
					t.Fatalf("n=1: %d", got)
				}
				if ba, ok := p.(BatchAware); ok {
					ba.OnNewBatch(0)
				}
				if ba, ok := p.(BytesAware); ok {
					ba.OnAppend(r, 0, 1000, true)
				}
			}
		})
	}
}

func TestPartitionerFunc(t *testing.T) {
	var p Partitioner = PartitionerFunc(func(r *record.Record, n int32) (int32, error) {
		return int32(len(r.Value)) % n, nil
	})
	if got := partition(t, p, &record.Record{Value: []byte("hello")}, 3); got != 2 {
		t.Fatalf("got %d, want 2", got)
	}
	boom := errors.New("boom")
	p = PartitionerFunc(func(*record.Record, int32) (int32, error) { return 0, boom })
	if _, err := p.Partition(&record.Record{}, 3); err != boom {
		t.Fatalf("error %v, want the function's", err)
	}
}

func TestDefaultPartitionerKafkaTable(t *testing.T) {
	p := NewDefaultPartitioner(0)("t")
	for _, tc := range keyTable {
		for i, n := range tableCounts {
			if got := partition(t, p, &record.Record{Key: tc.key}, n); got != tc.java[i] {
				t.Errorf("key %q, n=%d: partition %d, want %d (Java)", tc.key, n, got, tc.java[i])
			}
		}
	}
	for _, v := range saramaMurmur2Vectors {
		if v.p100 < 0 {
			continue
		}
		if got := partition(t, p, &record.Record{Key: []byte(v.key)}, 100); got != v.p100 {
			t.Errorf("key %q, n=100: partition %d, want %d", v.key, got, v.p100)
		}
	}
}

func TestFNV1aPartitionerSaramaTable(t *testing.T) {
	p := NewFNV1aPartitioner("t")
	for _, tc := range keyTable {
		for i, n := range tableCounts {
			if got := partition(t, p, &record.Record{Key: tc.key}, n); got != tc.sarama[i] {
				t.Errorf("key %q, n=%d: partition %d, want %d (Sarama)", tc.key, n, got, tc.sarama[i])
			}
		}
	}
	if got := partition(t, p, &record.Record{Key: []byte("1468509572224")}, 50); got != 48 {
		t.Errorf("MinInt32 hash: partition %d, want 48", got)
	}
	// A nil key is random, like Sarama's: it reaches every partition.
	seen := map[int32]bool{}
	for range 1000 {
		seen[partition(t, p, &record.Record{}, 5)] = true
	}
	if len(seen) != 5 {
		t.Errorf("nil keys reached %d of 5 partitions", len(seen))
	}
}

// TestKeyHashNilVersusEmptyKey: Kafka hashes an empty, non-null key; only a
// null key is keyless.
func TestKeyHashNilVersusEmptyKey(t *testing.T) {
	keyless := PartitionerFunc(func(*record.Record, int32) (int32, error) { return 42, nil })
	p := NewKeyHashPartitioner(KafkaKeyHash, func(string) Partitioner { return keyless })("t")
	if got := partition(t, p, &record.Record{Key: nil}, 100); got != 42 {
		t.Errorf("nil key: %d, want the keyless partitioner's 42", got)
	}
	if got := partition(t, p, &record.Record{Key: []byte{}}, 100); got != 81 {
		t.Errorf("empty key: %d, want murmur2's 81", got)
	}
	if got := partition(t, p, &record.Record{Key: []byte("")[:0:0]}, 10); got != 1 {
		t.Errorf("empty key: %d, want murmur2's 1", got)
	}
}

func TestKeyHashInterfaces(t *testing.T) {
	tests := []struct {
		name         string
		newP         PartitionerConstructor
		batch, bytes bool
	}{
		{"default", NewDefaultPartitioner(0), false, true},
		{"nil keyless", NewKeyHashPartitioner(nil, nil), false, true},
		{"sticky", NewKeyHashPartitioner(KafkaKeyHash, NewStickyPartitioner), true, false},
		{"random", NewKeyHashPartitioner(KafkaKeyHash, NewRandomPartitioner), false, false},
		{"fnv1a", NewFNV1aPartitioner, false, false},
		{"both", NewKeyHashPartitioner(KafkaKeyHash, func(string) Partitioner { return new(bothAware) }), true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.newP("t")
			if _, ok := p.(BatchAware); ok != tc.batch {
				t.Errorf("BatchAware = %v, want %v", ok, tc.batch)
			}
			if _, ok := p.(BytesAware); ok != tc.bytes {
				t.Errorf("BytesAware = %v, want %v", ok, tc.bytes)
			}
		})
	}
	// The strategies themselves.
	for _, b := range []struct {
		name         string
		p            Partitioner
		batch, bytes bool
	}{
		{"manual", NewManualPartitioner("t"), false, false},
		{"roundrobin", NewRoundRobinPartitioner("t"), false, false},
		{"random", NewRandomPartitioner("t"), false, false},
		{"sticky", NewStickyPartitioner("t"), true, false},
		{"uniformsticky", NewUniformStickyPartitioner(0)("t"), false, true},
	} {
		_, batch := b.p.(BatchAware)
		_, bytes := b.p.(BytesAware)
		if batch != b.batch || bytes != b.bytes {
			t.Errorf("%s: BatchAware %v BytesAware %v, want %v %v", b.name, batch, bytes, b.batch, b.bytes)
		}
	}
}

// bothAware records the callbacks it receives.
type bothAware struct {
	mu       sync.Mutex
	newBatch []int32
	appended []string
}

func (b *bothAware) Partition(*record.Record, int32) (int32, error) { return 0, nil }
func (b *bothAware) OnNewBatch(prev int32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.newBatch = append(b.newBatch, prev)
}

func (b *bothAware) OnAppend(r *record.Record, _ int32, _ int, _ bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.appended = append(b.appended, string(r.Value))
}

func TestKeyHashForwarding(t *testing.T) {
	inner := new(bothAware)
	p := NewKeyHashPartitioner(nil, func(string) Partitioner { return inner })("t")
	p.(BatchAware).OnNewBatch(3)
	p.(BatchAware).OnNewBatch(4)
	ba := p.(BytesAware)
	ba.OnAppend(&record.Record{Key: []byte("k"), Value: []byte("keyed")}, 0, 10, false)
	ba.OnAppend(&record.Record{Key: []byte{}, Value: []byte("empty")}, 0, 10, false)
	ba.OnAppend(&record.Record{Value: []byte("keyless")}, 0, 10, false)
	if len(inner.newBatch) != 2 || inner.newBatch[0] != 3 || inner.newBatch[1] != 4 {
		t.Errorf("OnNewBatch forwarded %v, want [3 4]", inner.newBatch)
	}
	if len(inner.appended) != 1 || inner.appended[0] != "keyless" {
		t.Errorf("OnAppend forwarded %v, want only the keyless record", inner.appended)
	}
}

func TestKeyHashOutOfRange(t *testing.T) {
	for _, bad := range []int32{-1, 5, math.MaxInt32} {
		p := NewKeyHashPartitioner(func([]byte, int32) int32 { return bad }, nil)("t")
		_, err := p.Partition(&record.Record{Key: []byte("k")}, 5)
		if !errors.Is(err, ErrInvalidPartition) {
			t.Errorf("hash returning %d: error %v, want ErrInvalidPartition", bad, err)
		}
	}
}

func TestKeyHashNilKeylessPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a nil keyless partitioner")
		}
	}()
	NewKeyHashPartitioner(nil, func(string) Partitioner { return nil })("t")
}

// TestPartitionZeroAlloc: partitioning is per record, on the append path.
func TestPartitionZeroAlloc(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under -cover and -race")
	}
	keyed := &record.Record{Key: []byte("a-little-bit-long-string"), Value: []byte("v"), Partition: 3}
	keyless := &record.Record{Value: []byte("v"), Partition: 3}
	for _, b := range builtins {
		t.Run("partitioner="+b.name, func(t *testing.T) {
			p := b.newP("t")
			ba, _ := p.(BatchAware)
			by, _ := p.(BytesAware)
			i := 0
			allocs := testing.AllocsPerRun(1000, func() {
				r := keyed
				if i%2 == 0 {
					r = keyless
				}
				i++
				got, err := p.Partition(r, 10)
				if err != nil {
					t.Fatal(err)
				}
				if ba != nil && i%50 == 0 {
					ba.OnNewBatch(got)
				}
				if by != nil {
					by.OnAppend(r, got, 100, i%7 == 0)
				}
			})
			if allocs != 0 {
				t.Fatalf("%v allocations per record", allocs)
			}
		})
	}
}

// TestPartitionersConcurrent hammers one partitioner of each kind from many
// goroutines, with the callbacks a producer makes; run under -race.
func TestPartitionersConcurrent(t *testing.T) {
	for _, b := range builtins {
		t.Run("partitioner="+b.name, func(t *testing.T) {
			p := b.newP("t")
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Go(func() {
					for i := range 2000 {
						n := int32(1 + (i/500)*3) // grows: 1, 4, 7, 10
						r := &record.Record{Value: []byte("v"), Partition: int32(w) % n}
						if i%3 == 0 {
							r.Key = []byte{byte(i), byte(w)}
						}
						got, err := p.Partition(r, n)
						if err != nil || got < 0 || got >= n {
							t.Errorf("Partition(n=%d) = %d, %v", n, got, err)
							return
						}
						if ba, ok := p.(BatchAware); ok && i%10 == 0 {
							ba.OnNewBatch(got)
							if got, err = p.Partition(r, n); err != nil || got < 0 || got >= n {
								t.Errorf("Partition after OnNewBatch (n=%d) = %d, %v", n, got, err)
								return
							}
						}
						if ba, ok := p.(BytesAware); ok {
							ba.OnAppend(r, got, 30, i%4 == 0)
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

// Package partitionertest checks that a producer.Partitioner keeps the
// contract the producer relies on, as testing/fstest does for an fs.FS. Run it
// on your own partitioner in a test, under -race:
//
//	func TestMyPartitioner(t *testing.T) {
//		partitionertest.Run(t, NewMyPartitioner, &partitionertest.Config{KeyDeterministic: true})
//	}
//
// # What is checked
//
//   - The constructor returns a non-nil Partitioner for each topic, and the
//     partitioners of two topics used in turn stay independent.
//   - Every record gets a partition in [0, n) and no error, for each count in
//     Config.PartitionCounts (1 included: the answer must be 0), for records
//     with a nil key (keyless), an empty non-nil key, short and long keys, nil
//     and non-nil values and headers, and with Record.Partition set to a valid
//     partition. Partition does not panic and does not modify the record.
//   - The same instance keeps working when the partition count grows between
//     calls, as it does when partitions are added to a topic.
//   - The producer's callbacks, if the partitioner has them, are driven as a
//     producer would: a simulated accumulator calls OnNewBatch
//     (producer.BatchAware) when a record would start a new batch and then
//     partitions the record again, and calls OnAppend (producer.BytesAware)
//     after each append, with stale partitions now and then. They must not
//     panic, and partitioning must stay in range.
//   - Concurrent use: Config.Goroutines goroutines share one instance and do
//     all of the above at once. Data races are found only under -race.
//   - With Config.KeyDeterministic or Config.KeyHasher: records with equal
//     non-nil keys go to the same partition for the same count, across calls,
//     instances, topics, goroutines and whatever keyless traffic and callbacks
//     came before. An empty non-nil key is a key (Kafka hashes it); only a nil
//     key may be placed freely. With Config.KeyHasher, every key goes exactly
//     where the hasher says (use producer.KafkaKeyHash to prove Java-client
//     placement).
//   - With Config.Manual: each record goes to its Record.Partition, and an
//     out-of-range Record.Partition fails with an error matching
//     producer.ErrInvalidPartition.
//
// Distribution (balance) is not checked: a partitioner may legitimately send
// everything to one partition for a while.
package partitionertest

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/samsalog/samsa/producer"
	"github.com/samsalog/samsa/record"
)

// Config says what the partitioner under test promises beyond the contract
// of producer.Partitioner, and how hard to check. A nil *Config means all
// defaults. Config is read, never modified.
type Config struct {
	// KeyDeterministic says that records with equal non-nil keys (the empty
	// key included) go to the same partition for the same partition count,
	// whatever happened before, as key hashing does. Default false.
	KeyDeterministic bool

	// KeyHasher, if set, is where every record with a non-nil key must go,
	// for example producer.KafkaKeyHash for Kafka's placement. It implies
	// KeyDeterministic. Default nil.
	KeyHasher producer.KeyHasher

	// Manual says that the partitioner places each record on its
	// Record.Partition, as producer.NewManualPartitioner does: checked both
	// ways, including the error for an out-of-range partition. Default false.
	Manual bool

	// PartitionCounts are the partition counts to check. Default
	// 1, 2, 3, 10, 100 and 1000; each must be >= 1.
	PartitionCounts []int32

	// Records is the number of records partitioned per check and partition
	// count. Default 1000.
	Records int

	// Goroutines is the number of goroutines sharing one partitioner in the
	// concurrency check. Default 8.
	Goroutines int

	// Seed seeds the generated records, so that a failure can be replayed.
	// Default 0: a random seed, printed with any failure.
	Seed uint64
}

// maxErrors bounds the problems reported per check.
const maxErrors = 10

// Check runs every check on the partitioners newP builds and returns nil, or
// an error joining (errors.Join) one error per problem found, each naming its
// check, partition count and record, and the seed that replays it. It
// recovers panics of the partitioner and reports them as problems. An invalid
// Config is an error before anything runs. Check is safe for concurrent use.
func Check(newP producer.PartitionerConstructor, cfg *Config) error {
	c := defaults(cfg)
	if newP == nil {
		return errors.New("partitionertest: nil PartitionerConstructor")
	}
	for _, n := range c.PartitionCounts {
		if n < 1 {
			return fmt.Errorf("partitionertest: Config.PartitionCounts: %d is not a partition count (want >= 1)", n)
		}
	}
	ch := &checker{cfg: c, newP: newP}
	ch.run("constructor", ch.checkConstructor)
	ch.run("topics", ch.checkTopics)
	ch.run("range", ch.checkRange)
	ch.run("growing", ch.checkGrowing)
	if c.KeyDeterministic {
		ch.run("keys", ch.checkKeys)
	}
	if c.Manual {
		ch.run("manual", ch.checkManual)
	}
	ch.run("concurrent", ch.checkConcurrent)
	if len(ch.errs) == 0 {
		return nil
	}
	for i, err := range ch.errs {
		ch.errs[i] = fmt.Errorf("%w (seed %d)", err, c.Seed)
	}
	return errors.Join(ch.errs...)
}

// Run calls Check and reports each problem with t.Error, so the test fails
// but goes on. Run it in a test under -race.
func Run(t testing.TB, newP producer.PartitionerConstructor, cfg *Config) {
	t.Helper()
	err := Check(newP, cfg)
	if err == nil {
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			t.Error(e)
		}
		return
	}
	t.Error(err)
}

func defaults(cfg *Config) Config {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.KeyHasher != nil {
		c.KeyDeterministic = true
	}
	if len(c.PartitionCounts) == 0 {
		c.PartitionCounts = []int32{1, 2, 3, 10, 100, 1000}
	} else {
		c.PartitionCounts = slices.Clone(c.PartitionCounts)
	}
	if c.Records <= 0 {
		c.Records = 1000
	}
	if c.Goroutines <= 0 {
		c.Goroutines = 8
	}
	if c.Seed == 0 {
		c.Seed = rand.Uint64() | 1
	}
	return c
}

// checker holds one Check run. errs is only appended to under mu.
type checker struct {
	cfg  Config
	newP producer.PartitionerConstructor

	mu      sync.Mutex
	check   string // the check running, for messages
	errs    []error
	dropped int
	stream  uint64 // next PCG stream, so that each generator differs
}

// run runs one check, turning a panic that escapes it into a problem.
func (c *checker) run(name string, f func()) {
	c.mu.Lock()
	c.check, c.dropped = name, 0
	before := len(c.errs)
	c.mu.Unlock()
	func() {
		defer func() {
			if v := recover(); v != nil {
				c.errorf("panic: %v", v)
			}
		}()
		f()
	}()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropped > 0 && len(c.errs) > before {
		c.errs = append(c.errs, fmt.Errorf("partitionertest: %s: and %d more problems", name, c.dropped))
	}
}

func (c *checker) errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	prefix := "partitionertest: " + c.check + ": "
	for _, e := range c.errs {
		if strings.HasPrefix(e.Error(), prefix) {
			n++
		}
	}
	if n >= maxErrors {
		c.dropped++
		return
	}
	c.errs = append(c.errs, fmt.Errorf(prefix+format, args...))
}

func (c *checker) rng() *rand.Rand {
	c.mu.Lock()
	c.stream++
	s := c.stream
	c.mu.Unlock()
	return rand.New(rand.NewPCG(c.cfg.Seed, s))
}

// newPartitioner calls the constructor, reporting a panic or nil result.
func (c *checker) newPartitioner(topic string) (p producer.Partitioner) {
	defer func() {
		if v := recover(); v != nil {
			c.errorf("constructor(%q) panicked: %v", topic, v)
			p = nil
		}
	}()
	p = c.newP(topic)
	if p == nil {
		c.errorf("constructor(%q) returned nil", topic)
	}
	return p
}

// partition calls p.Partition, recovering a panic.
func partition(p producer.Partitioner, r *record.Record, n int32) (part int32, panicked any, err error) {
	defer func() {
		if v := recover(); v != nil {
			panicked = v
		}
	}()
	part, err = p.Partition(r, n)
	return part, nil, err
}

// call partitions r and reports a panic, an error or a result out of range
// or that modified r; ok is false if it reported a problem.
func (c *checker) call(p producer.Partitioner, r *record.Record, n int32) (int32, bool) {
	before := snapshot(r)
	part, panicked, err := partition(p, r, n)
	switch {
	case panicked != nil:
		c.errorf("n=%d: Partition(%s) panicked: %v", n, describe(r), panicked)
		return 0, false
	case err != nil:
		c.errorf("n=%d: Partition(%s) failed on a valid record: %v", n, describe(r), err)
		return 0, false
	case part < 0 || part >= n:
		c.errorf("n=%d: Partition(%s) = %d, want a partition in [0, %d)", n, describe(r), part, n)
		return 0, false
	case !before.equal(r):
		c.errorf("n=%d: Partition(%s) modified the record", n, describe(r))
		return part, false
	}
	return part, true
}

// protect calls f, reporting a panic as a problem of the callback named.
func (c *checker) protect(name string, f func()) {
	defer func() {
		if v := recover(); v != nil {
			c.errorf("%s panicked: %v", name, v)
		}
	}()
	f()
}

func (c *checker) checkConstructor() {
	for _, topic := range []string{"partitionertest-a", "partitionertest-b", ""} {
		c.newPartitioner(topic)
	}
}

// checkTopics interleaves the partitioners of two topics on different
// partition counts: state kept per topic must not leak between them.
func (c *checker) checkTopics() {
	a := c.newPartitioner("partitionertest-a")
	b := c.newPartitioner("partitionertest-b")
	if a == nil || b == nil {
		return
	}
	rng := c.rng()
	accA, accB := newAccumulator(c, a, rng), newAccumulator(c, b, rng)
	for i := range 200 {
		n := int32(1 + i%5)
		accA.produce(genRecord(rng, "partitionertest-a", n), n)
		accB.produce(genRecord(rng, "partitionertest-b", n+3), n+3)
	}
}

// checkRange partitions records one by one through a simulated accumulator,
// with a fresh instance per partition count.
func (c *checker) checkRange() {
	rng := c.rng()
	for _, n := range c.cfg.PartitionCounts {
		topic := fmt.Sprintf("partitionertest-range-%d", n)
		p := c.newPartitioner(topic)
		if p == nil {
			return
		}
		acc := newAccumulator(c, p, rng)
		for range c.cfg.Records {
			r := genRecord(rng, topic, n)
			part, ok := acc.produce(r, n)
			if ok && n == 1 && part != 0 {
				c.errorf("n=1: partition %d", part)
			}
		}
	}
}

// checkGrowing keeps one instance while the partition count grows.
func (c *checker) checkGrowing() {
	const topic = "partitionertest-growing"
	p := c.newPartitioner(topic)
	if p == nil {
		return
	}
	rng := c.rng()
	acc := newAccumulator(c, p, rng)
	counts := slices.Clone(c.cfg.PartitionCounts)
	slices.Sort(counts)
	for _, n := range counts {
		for range max(c.cfg.Records/10, 10) {
			acc.produce(genRecord(rng, topic, n), n)
		}
	}
}

// testKeys are the keys whose placement must be deterministic: the empty
// key (hashed by Kafka, unlike a nil key), every tail length of murmur2,
// bytes with the high bit set, and some random ones.
func testKeys(rng *rand.Rand) [][]byte {
	keys := [][]byte{
		{}, {0}, {0xff}, []byte("21"), []byte("foo"), []byte("abcd"), []byte("foobar"),
		[]byte("a-little-bit-long-string"), []byte("1468509572224"), {0x80, 0x81, 0xfe, 0xff, 0x7f},
	}
	for range 20 {
		keys = append(keys, randBytes(rng, 1+rng.IntN(64)))
	}
	return keys
}

// checkKeys places each key with several instances, in between keyless
// traffic and callbacks, and wants one answer per key and count.
func (c *checker) checkKeys() {
	rng := c.rng()
	keys := testKeys(rng)
	for _, n := range c.cfg.PartitionCounts {
		want := make([]int32, len(keys))
		for i := range want {
			want[i] = -1
		}
		for inst := range 4 {
			topic := fmt.Sprintf("partitionertest-keys-%d-%d", n, inst)
			p := c.newPartitioner(topic)
			if p == nil {
				return
			}
			acc := newAccumulator(c, p, rng)
			for round := range 3 {
				for i, key := range keys {
					// Keyless and other traffic first, to move any state.
					for range rng.IntN(8) {
						acc.produce(genRecord(rng, topic, n), n)
					}
					r := genRecord(rng, topic, n)
					r.Key = slices.Clone(key)
					if r.Key == nil {
						r.Key = []byte{}
					}
					got, ok := acc.produce(r, n)
					if !ok {
						continue
					}
					c.checkKey(key, n, got, &want[i], fmt.Sprintf("instance %d, round %d", inst, round))
				}
			}
		}
	}
}

// checkKey compares one keyed placement with the hasher, or with the first
// placement seen for the key (*first, -1 if none yet).
func (c *checker) checkKey(key []byte, n, got int32, first *int32, where string) {
	what := keyDesc(key)
	if h := c.cfg.KeyHasher; h != nil {
		if want := h(key, n); got != want {
			c.errorf("n=%d: %s went to partition %d, KeyHasher says %d (%s)", n, what, got, want, where)
		}
		return
	}
	switch {
	case *first < 0:
		*first = got
	case got != *first:
		c.errorf("n=%d: %s went to partition %d, earlier to %d (%s); want the same partition every time", n, what, got, *first, where)
	}
}

func (c *checker) checkManual() {
	rng := c.rng()
	for _, n := range c.cfg.PartitionCounts {
		p := c.newPartitioner("partitionertest-manual")
		if p == nil {
			return
		}
		for range min(c.cfg.Records, 100) {
			r := genRecord(rng, "partitionertest-manual", n)
			if got, ok := c.call(p, r, n); ok && got != r.Partition {
				c.errorf("n=%d: record with Partition %d went to %d", n, r.Partition, got)
			}
		}
		for _, bad := range []int32{-1, n, n + 1, math.MinInt32, math.MaxInt32} {
			if bad >= 0 && bad < n {
				continue
			}
			r := genRecord(rng, "partitionertest-manual", n)
			r.Partition = bad
			got, panicked, err := partition(p, r, n)
			switch {
			case panicked != nil:
				c.errorf("n=%d: Partition(Partition %d) panicked: %v", n, bad, panicked)
			case err == nil:
				c.errorf("n=%d: Partition(Partition %d) = %d, want an error matching producer.ErrInvalidPartition", n, bad, got)
			case !errors.Is(err, producer.ErrInvalidPartition):
				c.errorf("n=%d: Partition(Partition %d) error %q does not match producer.ErrInvalidPartition", n, bad, err)
			}
		}
	}
}

// checkConcurrent shares one instance among goroutines that each run their
// own simulated accumulator, with the partition count growing midway.
func (c *checker) checkConcurrent() {
	const topic = "partitionertest-concurrent"
	p := c.newPartitioner(topic)
	if p == nil {
		return
	}
	counts := slices.Clone(c.cfg.PartitionCounts)
	slices.Sort(counts)
	lo, hi := counts[0], counts[len(counts)-1]
	rngs := make([]*rand.Rand, c.cfg.Goroutines)
	for i := range rngs {
		rngs[i] = c.rng()
	}
	keys := testKeys(c.rng())
	var mu sync.Mutex
	placements := map[[2]int]map[int32]bool{} // (count index, key index) -> partitions seen
	var wg sync.WaitGroup
	for g := range c.cfg.Goroutines {
		wg.Go(func() {
			defer func() {
				if v := recover(); v != nil {
					c.errorf("goroutine %d panicked: %v", g, v)
				}
			}()
			rng := rngs[g]
			acc := newAccumulator(c, p, rng)
			for i := range c.cfg.Records {
				n, ni := lo, 0
				if i >= c.cfg.Records/2 {
					n, ni = hi, 1
				}
				r := genRecord(rng, topic, n)
				ki := -1
				if c.cfg.KeyDeterministic && rng.IntN(4) == 0 {
					ki = rng.IntN(len(keys))
					r.Key = slices.Clone(keys[ki])
					if r.Key == nil {
						r.Key = []byte{}
					}
				}
				got, ok := acc.produce(r, n)
				if ok && ki >= 0 {
					mu.Lock()
					k := [2]int{ni, ki}
					if placements[k] == nil {
						placements[k] = map[int32]bool{}
					}
					placements[k][got] = true
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for k, seen := range placements {
		n := lo
		if k[0] == 1 {
			n = hi
		}
		key := keys[k[1]]
		if h := c.cfg.KeyHasher; h != nil {
			want := h(key, n)
			for got := range seen {
				if got != want {
					c.errorf("n=%d: %s went to partition %d, KeyHasher says %d (concurrently)", n, keyDesc(key), got, want)
				}
			}
		} else if len(seen) > 1 {
			c.errorf("n=%d: %s went to %d different partitions %v; want the same partition every time (concurrently)",
				n, keyDesc(key), len(seen), slices.Sorted(maps.Keys(seen)))
		}
	}
}

// accumulator simulates what a producer does around the partitioner: one
// open batch per partition with a byte capacity, the KIP-480 new-batch
// protocol for a BatchAware partitioner and KIP-794 accounting for a
// BytesAware one, with a stale report now and then. One per goroutine.
type accumulator struct {
	c     *checker
	p     producer.Partitioner
	nb    producer.BatchAware
	ba    producer.BytesAware
	rng   *rand.Rand
	fill  map[int32]int // bytes in the open batch of each partition
	limit int           // batch capacity
}

func newAccumulator(c *checker, p producer.Partitioner, rng *rand.Rand) *accumulator {
	a := &accumulator{c: c, p: p, rng: rng, fill: map[int32]int{}, limit: 256 + rng.IntN(2048)}
	a.nb, _ = p.(producer.BatchAware)
	a.ba, _ = p.(producer.BytesAware)
	return a
}

// produce partitions r for n partitions and "appends" it; ok is false if
// a problem was reported.
func (a *accumulator) produce(r *record.Record, n int32) (int32, bool) {
	part, ok := a.c.call(a.p, r, n)
	if !ok {
		return 0, false
	}
	size := recordSize(r)
	if a.nb != nil && a.fill[part]+size > a.limit {
		a.c.protect(fmt.Sprintf("OnNewBatch(%d)", part), func() { a.nb.OnNewBatch(part) })
		if part, ok = a.c.call(a.p, r, n); !ok {
			return 0, false
		}
	}
	full := false
	if a.fill[part]+size > a.limit {
		a.fill[part] = 0 // the full batch is sent, a new one opened
	}
	a.fill[part] += size
	if a.fill[part] >= a.limit*3/4 {
		full = true
	}
	if a.ba != nil {
		a.c.protect(fmt.Sprintf("OnAppend(partition %d)", part), func() { a.ba.OnAppend(r, part, size, full) })
	}
	// Stale and odd reports, as racing producer goroutines make.
	if a.rng.IntN(16) == 0 {
		stale := a.rng.Int32N(n)
		if a.nb != nil {
			a.c.protect(fmt.Sprintf("OnNewBatch(%d) (stale)", stale), func() { a.nb.OnNewBatch(stale) })
		}
		if a.ba != nil {
			a.c.protect(fmt.Sprintf("OnAppend(partition %d) (stale)", stale), func() { a.ba.OnAppend(r, stale, size, a.rng.IntN(2) == 0) })
		}
	}
	return part, true
}

// recordSize approximates the record's size in a batch.
func recordSize(r *record.Record) int {
	n := record.MaxRecordOverhead + len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += 10 + len(h.Key) + len(h.Value)
	}
	return n
}

// genRecord returns a valid record of topic for n partitions: a nil key a
// third of the time, sometimes an empty key, values and headers of all
// kinds, Partition in [0, n).
func genRecord(rng *rand.Rand, topic string, n int32) *record.Record {
	r := &record.Record{Topic: topic, Partition: rng.Int32N(n), Offset: -1, LeaderEpoch: record.NoLeaderEpoch}
	switch rng.IntN(6) {
	case 0, 1:
		// nil key: keyless
	case 2:
		r.Key = []byte{}
	default:
		r.Key = randBytes(rng, 1+rng.IntN(40))
	}
	switch rng.IntN(4) {
	case 0:
		// nil value: a tombstone
	case 1:
		r.Value = []byte{}
	default:
		r.Value = randBytes(rng, rng.IntN(200))
	}
	if rng.IntN(4) == 0 {
		r.Headers = []record.Header{{Key: "h", Value: randBytes(rng, rng.IntN(8))}, {Key: "nil"}}
	}
	return r
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := rng.Uint64()
		for j := i; j < min(i+8, n); j++ {
			b[j] = byte(v)
			v >>= 8
		}
	}
	return b
}

// recordSnapshot is what Partition must leave unchanged.
type recordSnapshot struct {
	topic     string
	partition int32
	key       []byte
	keyNil    bool
	value     []byte
	headers   int
}

func snapshot(r *record.Record) recordSnapshot {
	return recordSnapshot{topic: r.Topic, partition: r.Partition, key: slices.Clone(r.Key),
		keyNil: r.Key == nil, value: slices.Clone(r.Value), headers: len(r.Headers)}
}

func (s recordSnapshot) equal(r *record.Record) bool {
	return s.topic == r.Topic && s.partition == r.Partition && s.keyNil == (r.Key == nil) &&
		string(s.key) == string(r.Key) && string(s.value) == string(r.Value) && s.headers == len(r.Headers)
}

// keyDesc names a non-nil key in a problem report.
func keyDesc(key []byte) string {
	if len(key) == 0 {
		return "the empty non-nil key (Kafka hashes it; only a nil key is keyless)"
	}
	return fmt.Sprintf("key %q", key)
}

func describe(r *record.Record) string {
	key := "nil"
	switch {
	case r.Key == nil:
	case len(r.Key) == 0:
		key = "empty"
	case len(r.Key) > 16:
		key = fmt.Sprintf("%q...", r.Key[:16])
	default:
		key = fmt.Sprintf("%q", r.Key)
	}
	return fmt.Sprintf("key %s, %d value bytes, Partition %d", key, len(r.Value), r.Partition)
}

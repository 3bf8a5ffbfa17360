package producer

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/samsalog/samsa"
	part "github.com/samsalog/samsa/partition"
	"github.com/samsalog/samsa/record"
	"github.com/stretchr/testify/require"
)

// openBroker opens a broker in a fresh t.TempDir(), closed at the end of
// the test (after the producers, which are registered later).
func openBroker(t testing.TB, cfg *samsa.Config) *samsa.Broker {
	t.Helper()
	b, err := samsa.Open(t.TempDir(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return b
}

// newTestProducer returns a producer closed at the end of the test; hook
// nil means the partition's Append.
func newTestProducer(t testing.TB, b *samsa.Broker, cfg *Config, hook func(*part.Partition, []byte) (part.AppendResult, error)) *Producer {
	t.Helper()
	if hook == nil {
		hook = appendToPartition
	}
	p, err := newProducer(b, cfg, hook)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// createTopic creates topic with n partitions.
func createTopic(t testing.TB, b *samsa.Broker, topic string, n int32) {
	t.Helper()
	require.NoError(t, b.CreateTopic(topic, &samsa.TopicConfig{Partitions: n}))
}

// fetched is a record read back with its batch's header.
type fetched struct {
	rec record.Record
	h   record.BatchHeader
}

// readPartition syncs partition pid of topic and returns every record in it.
func readPartition(t testing.TB, b *samsa.Broker, topic string, pid int32) []fetched {
	t.Helper()
	pt, err := b.Partition(topic, pid)
	require.NoError(t, err)
	require.NoError(t, pt.Sync(context.Background()))
	var out []fetched
	var dec record.Decoder
	off := pt.LogStartOffset()
	for off < pt.HighWatermark() {
		f, err := pt.Fetch(context.Background(), off, 1, 1<<20, 0)
		require.NoError(t, err)
		data := f.View.Data
		for len(data) > 0 {
			h, batch, rest, err := record.NextBatch(data)
			require.NoError(t, err)
			_, recs, err := dec.Decode(batch, nil)
			require.NoError(t, err)
			for _, r := range recs {
				if r.Offset >= off {
					r.Key = append([]byte(nil), r.Key...)
					r.Value = append([]byte(nil), r.Value...)
					out = append(out, fetched{rec: r, h: h})
				}
			}
			off = h.NextOffset()
			data = rest
		}
		f.View.Release()
	}
	return out
}

// results collects callbacks and checks each runs once.
type results struct {
	t    testing.TB
	mu   sync.Mutex
	got  map[*record.Record]error
	seen map[*record.Record]int
	n    int
	wg   sync.WaitGroup
}

func newResults(t testing.TB) *results {
	return &results{t: t, got: map[*record.Record]error{}, seen: map[*record.Record]int{}}
}

// cb returns a callback to produce with: add one to the wait group first.
func (rs *results) cb() func(*record.Record, error) {
	rs.wg.Add(1)
	return func(r *record.Record, err error) {
		rs.mu.Lock()
		rs.seen[r]++
		if rs.seen[r] > 1 {
			rs.t.Errorf("callback ran %d times for %p", rs.seen[r], r)
		}
		rs.got[r] = err
		rs.n++
		rs.mu.Unlock()
		rs.wg.Done()
	}
}

func (rs *results) wait(t testing.TB) {
	t.Helper()
	done := make(chan struct{})
	go func() { rs.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("callbacks did not all run")
	}
}

func (rs *results) errOf(r *record.Record) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.got[r]
}

func (rs *results) count() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.n
}

// value returns a 100-byte value starting with i.
func value(i int) []byte {
	v := make([]byte, 100)
	v[0], v[1], v[2], v[3] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
	return v
}

func valueIndex(v []byte) int {
	return int(v[0])<<24 | int(v[1])<<16 | int(v[2])<<8 | int(v[3])
}

package samsa

import (
	"context"
	"encoding/binary"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/partition"
	"github.com/samsalog/samsa/record"
)

// openBroker opens a broker in dir and closes it at the end of the test
// (a test that closes it itself gets nil from the second Close).
func openBroker(t testing.TB, dir string, cfg *Config) *Broker {
	t.Helper()
	b, err := Open(dir, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// makeBatch encodes n records keyed key whose values carry the sequence
// numbers seq, seq+1, ... in their first 8 bytes, with timestamp ts.
func makeBatch(t testing.TB, key string, seq int64, n int, ts time.Time) []byte {
	t.Helper()
	var enc record.Encoder
	recs := make([]record.Record, n)
	for i := range recs {
		v := make([]byte, 16)
		binary.BigEndian.PutUint64(v, uint64(seq+int64(i)))
		recs[i] = record.Record{Key: []byte(key), Value: v, Timestamp: ts}
	}
	b, err := enc.AppendBatch(nil, recs, record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch})
	require.NoError(t, err)
	return b
}

// fetched is one record read back.
type fetched struct {
	offset int64
	key    string
	seq    int64
}

// decodeBatches decodes data's batches and returns the records at or past
// from.
func decodeBatches(t testing.TB, data []byte, from int64) []fetched {
	t.Helper()
	var d record.Decoder
	var recs []record.Record
	var out []fetched
	for len(data) > 0 {
		h, err := record.ParseBatchHeader(data)
		require.NoError(t, err)
		_, recs, err = d.Decode(data[:h.Size()], recs[:0])
		require.NoError(t, err)
		for _, r := range recs {
			if r.Offset >= from {
				out = append(out, fetched{r.Offset, string(r.Key), int64(binary.BigEndian.Uint64(r.Value))})
			}
		}
		data = data[h.Size():]
	}
	return out
}

// readAll fetches every record of p below its high watermark.
func readAll(t testing.TB, p *partition.Partition) []fetched {
	t.Helper()
	var out []fetched
	off := p.LogStartOffset()
	for off < p.HighWatermark() {
		res, err := p.Fetch(context.Background(), off, 1, 1<<20, 0)
		require.NoError(t, err)
		recs := decodeBatches(t, res.View.Data, off)
		res.View.Release()
		require.NotEmpty(t, recs)
		out = append(out, recs...)
		off = recs[len(recs)-1].offset + 1
	}
	return out
}

// appendSynced appends a batch of n records to p and waits until it is
// synced (acks=all).
func appendSynced(t testing.TB, p *partition.Partition, key string, seq int64, n int) partition.AppendResult {
	t.Helper()
	res, err := p.Append(makeBatch(t, key, seq, n, time.Now()))
	require.NoError(t, err)
	require.NoError(t, p.WaitSynced(context.Background(), res.LastOffset))
	return res
}

// openFDs counts the process's open file descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(es)
}

// mappingsOf counts the process's memory mappings of files under dir.
func mappingsOf(t testing.TB, dir string) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip("no /proc/self/maps")
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, dir) {
			n++
		}
	}
	return n
}

// crash abandons b as a crash of the process would, as far as the data
// directory can tell: the background work stops, and the partitions'
// files are closed without the broker writing checkpoints or the
// clean-shutdown marker. (Closing a partition syncs it, which a real crash
// does not; the registry and checkpoint files are what these tests check.)
func (b *Broker) crash() {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		close(b.stop)
		b.wg.Wait()
		for _, p := range allPartitions(b.topicMap()) {
			_ = p.Close()
		}
		_ = b.lock.Release()
		b.closeErr = ErrClosed
	})
}

// testClock is a clock tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock(t time.Time) *testClock { return &testClock{now: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// decoder decodes batches without a testing.TB, for goroutines.
type decoder struct {
	d    record.Decoder
	recs []record.Record
}

func newDecoder() *decoder { return &decoder{} }

func (d *decoder) decode(data []byte, from int64) ([]fetched, error) {
	var out []fetched
	for len(data) > 0 {
		h, err := record.ParseBatchHeader(data)
		if err != nil {
			return nil, err
		}
		_, d.recs, err = d.d.Decode(data[:h.Size()], d.recs[:0])
		if err != nil {
			return nil, err
		}
		for _, r := range d.recs {
			if r.Offset >= from {
				out = append(out, fetched{r.Offset, string(r.Key), int64(binary.BigEndian.Uint64(r.Value))})
			}
		}
		data = data[h.Size():]
	}
	return out, nil
}

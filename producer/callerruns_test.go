package producer

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/samsalog/samsa/record"
	"github.com/stretchr/testify/require"
)

// TestCallerRunsAppendsOnProduce checks the caller-runs path: with acks=1,
// no compression and a linger of an hour, the Produce call that fills a
// batch of an idle partition appends it and runs its callbacks before it
// returns, with no sender involved.
func TestCallerRunsAppendsOnProduce(t *testing.T) {
	b := openBroker(t, nil)
	createTopic(t, b, "t", 1)
	p := newTestProducer(t, b, &Config{Acks: AcksLeader, Flush: FlushConfig{Bytes: 1024}, Linger: time.Hour, DeliveryTimeout: 2 * time.Hour}, nil)
	var mu sync.Mutex
	var order []int
	recs := make([]*record.Record, 100)
	for i := range recs {
		recs[i] = &record.Record{Topic: "t", Value: value(i)}
		p.Produce(context.Background(), recs[i], func(r *record.Record, err error) {
			require.NoError(t, err)
			mu.Lock()
			order = append(order, valueIndex(r.Value))
			mu.Unlock()
		})
		// Nothing but this goroutine appends (no linger, no sender): what
		// is appended is delivered when Produce returns.
		st := p.Stats()
		mu.Lock()
		n := len(order)
		mu.Unlock()
		require.EqualValues(t, st.Records, n, "record %d: callbacks of appended batches ran in Produce", i)
	}
	st := p.Stats()
	require.Greater(t, st.Batches, uint64(5), "full batches appended by Produce, without linger")
	require.NoError(t, p.Flush(context.Background()))
	require.Len(t, order, 100)
	for i, v := range order {
		require.Equal(t, i, v, "callbacks in order")
		require.EqualValues(t, i, recs[i].Offset)
	}
}

// TestCallerRunsConcurrentOrder has many goroutines fill batches of a few
// partitions at once, caller-runs and senders (linger) mixed: per
// partition, each goroutine's records are appended and called back in the
// order it produced them, and every callback runs exactly once.
func TestCallerRunsConcurrentOrder(t *testing.T) {
	for _, acks := range []Acks{AcksLeader, AcksAll} {
		for _, linger := range []time.Duration{time.Hour, time.Millisecond} {
			t.Run(fmt.Sprintf("acks=%s/linger=%v", acks, linger), func(t *testing.T) {
				testCallerRunsConcurrentOrder(t, acks, linger)
			})
		}
	}
}

func testCallerRunsConcurrentOrder(t *testing.T, acks Acks, linger time.Duration) {
	const parts, goroutines, perG = 3, 8, 1500
	b := openBroker(t, nil)
	createTopic(t, b, "t", parts)
	p := newTestProducer(t, b, &Config{Acks: acks, Flush: FlushConfig{Bytes: 2048}, Linger: linger,
		DeliveryTimeout: 2 * time.Hour, Partitioner: NewManualPartitioner}, nil)
	rs := newResults(t)
	var mu sync.Mutex
	last := map[[2]int]int{}      // {goroutine, partition}: last index called back
	lastOff := map[[2]int]int64{} // and its offset
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				pid := int32((g + i/7) % parts)
				r := &record.Record{Topic: "t", Partition: pid, Key: []byte{byte(g)}, Value: value(i)}
				cb := rs.cb()
				p.Produce(context.Background(), r, func(r *record.Record, err error) {
					if err == nil {
						k := [2]int{int(r.Key[0]), int(r.Partition)}
						mu.Lock()
						if prev, ok := last[k]; ok && (prev >= valueIndex(r.Value) || lastOff[k] >= r.Offset) {
							t.Errorf("goroutine %d, partition %d: record %d (offset %d) called back after %d (offset %d)",
								k[0], k[1], valueIndex(r.Value), r.Offset, prev, lastOff[k])
						}
						last[k], lastOff[k] = valueIndex(r.Value), r.Offset
						mu.Unlock()
					}
					cb(r, err)
				})
			}
		})
	}
	wg.Wait()
	require.NoError(t, p.Flush(context.Background()))
	rs.wait(t)
	require.Len(t, rs.got, goroutines*perG)
	for _, err := range rs.got {
		require.NoError(t, err)
	}
	total := 0
	for pid := range int32(parts) {
		got := readPartition(t, b, "t", pid)
		total += len(got)
		prev := map[byte]int{}
		for _, f := range got {
			g, i := f.rec.Key[0], valueIndex(f.rec.Value)
			if j, ok := prev[g]; ok {
				require.Greater(t, i, j, "partition %d, goroutine %d: appended in order", pid, g)
			}
			prev[g] = i
		}
	}
	require.Equal(t, goroutines*perG, total, "every record stored once")
}

// TestCallerRunsRetryHandsOff checks that a caller-runs append failing
// with a retriable error is retried by a sender, in order and without
// duplicates (idempotence), every callback once.
func TestCallerRunsRetryHandsOff(t *testing.T) {
	b := openBroker(t, nil)
	createTopic(t, b, "t", 1)
	hook, calls := lostAckHook(func(n int64) bool { return n == 2 || n == 5 })
	p := newTestProducer(t, b, &Config{Acks: AcksLeader, Flush: FlushConfig{Bytes: 1024}, Linger: time.Hour,
		DeliveryTimeout: 2 * time.Hour, Retry: RetryConfig{Backoff: 1}}, hook)
	rs := newResults(t)
	recs := make([]*record.Record, 200)
	for i := range recs {
		recs[i] = &record.Record{Topic: "t", Value: value(i)}
		p.Produce(context.Background(), recs[i], rs.cb())
	}
	require.NoError(t, p.Flush(context.Background()))
	rs.wait(t)
	for i, r := range recs {
		require.NoError(t, rs.errOf(r))
		require.EqualValues(t, i, r.Offset)
	}
	st := p.Stats()
	require.EqualValues(t, 2, st.Retries)
	require.EqualValues(t, 2, st.Duplicates)
	require.EqualValues(t, st.Batches+2, calls.Load())
	got := readPartition(t, b, "t", 0)
	require.Len(t, got, 200, "stored once")
	for i, f := range got {
		require.Equal(t, i, valueIndex(f.rec.Value))
	}
}

// TestCallerRunsProduceFromCallback produces from callbacks, which may run
// inside a caller-runs Produce: no deadlock, every callback once.
func TestCallerRunsProduceFromCallback(t *testing.T) {
	b := openBroker(t, nil)
	createTopic(t, b, "t", 2)
	p := newTestProducer(t, b, &Config{Acks: AcksLeader, Flush: FlushConfig{Bytes: 1024}, Linger: time.Hour,
		DeliveryTimeout: 2 * time.Hour, Partitioner: NewManualPartitioner}, nil)
	rs := newResults(t)
	for i := range 300 {
		cb := rs.cb()
		inner := rs.cb()
		p.Produce(context.Background(), &record.Record{Topic: "t", Partition: int32(i % 2), Value: value(i)}, func(r *record.Record, err error) {
			p.Produce(context.Background(), &record.Record{Topic: "t", Partition: 1 - r.Partition, Value: value(i)}, inner)
			cb(r, err)
		})
	}
	// Records produced by callbacks during Flush may fill new batches.
	require.Eventually(t, func() bool {
		require.NoError(t, p.Flush(context.Background()))
		return rs.count() == 600
	}, 10*time.Second, time.Millisecond)
	rs.wait(t)
	for _, err := range rs.got {
		require.NoError(t, err)
	}
}

package producer

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	part "github.com/samsalog/samsa/partition"
	"github.com/samsalog/samsa/record"
	"github.com/stretchr/testify/require"
)

// lostAckHook appends every batch, and for the batches lose says so of,
// reports a retriable error as if the acknowledgement had been lost: the
// producer appends the same encoded batch again.
func lostAckHook(lose func(n int64) bool) (func(*part.Partition, []byte) (part.AppendResult, error), *atomic.Int64) {
	var calls atomic.Int64
	return func(pt *part.Partition, batch []byte) (part.AppendResult, error) {
		n := calls.Add(1)
		res, err := pt.Append(batch)
		if err == nil && lose(n) {
			return part.AppendResult{}, fmt.Errorf("ack lost: %w", errRetriable)
		}
		return res, err
	}, &calls
}

func TestIdempotentRetryIsDeduplicated(t *testing.T) {
	b := openBroker(t, nil)
	createTopic(t, b, "t", 1)
	hook, calls := lostAckHook(func(n int64) bool { return n == 2 }) // the second batch's first ack
	p := newTestProducer(t, b, &Config{Acks: AcksLeader, Retry: RetryConfig{Backoff: 1}}, hook)

	for batch := range 3 {
		recs := make([]*record.Record, 5)
		for i := range recs {
			recs[i] = &record.Record{Topic: "t", Value: value(batch*5 + i)}
		}
		require.NoError(t, p.ProduceSync(context.Background(), recs...).FirstErr())
		for i, r := range recs {
			require.Equal(t, int64(batch*5+i), r.Offset, "the retried batch keeps its original offsets")
		}
	}
	require.EqualValues(t, 4, calls.Load())
	st := p.Stats()
	require.EqualValues(t, 1, st.Retries)
	require.EqualValues(t, 1, st.Duplicates)

	got := readPartition(t, b, "t", 0)
	require.Len(t, got, 15, "stored once")
	id, epoch := p.ProducerID()
	seq := int32(0)
	for i, f := range got {
		require.Equal(t, i, valueIndex(f.rec.Value))
		require.Equal(t, id, f.h.ProducerID)
		require.Equal(t, epoch, f.h.ProducerEpoch)
		if f.h.BaseOffset == f.rec.Offset {
			require.Equal(t, seq, f.h.BaseSequence, "sequences continue across batches and retries")
			seq += f.h.NumRecords
		}
	}
}

func TestIdempotentOrderAcrossBatchesAndRestarts(t *testing.T) {
	b := openBroker(t, nil)
	createTopic(t, b, "t", 3)
	// Every third batch loses its acknowledgement once.
	hook, _ := lostAckHook(func(n int64) bool { return n%3 == 0 })
	ids := map[int64]bool{}
	next := 0
	for run := range 3 {
		p := newTestProducer(t, b, &Config{Acks: AcksAll, Flush: FlushConfig{Bytes: 512}, Retry: RetryConfig{Backoff: 1},
			Partitioner: NewRoundRobinPartitioner}, hook)
		id, _ := p.ProducerID()
		require.False(t, ids[id], "run %d: a producer ID is never reused", run)
		ids[id] = true
		rs := newResults(t)
		for range 600 {
			p.Produce(context.Background(), &record.Record{Topic: "t", Value: value(next)}, rs.cb())
			next++
		}
		require.NoError(t, p.Close())
		rs.wait(t)
		for r, err := range rs.got {
			require.NoError(t, err, "record %d", valueIndex(r.Value))
		}
	}
	total := 0
	for pid := range int32(3) {
		got := readPartition(t, b, "t", pid)
		total += len(got)
		last := -1
		for _, f := range got {
			v := valueIndex(f.rec.Value)
			require.Greater(t, v, last, "partition %d out of order", pid)
			require.Equal(t, int(pid), v%3)
			last = v
		}
	}
	require.Equal(t, next, total, "every record once")
}

func TestNonIdempotentBatches(t *testing.T) {
	b := openBroker(t, nil)
	p := newTestProducer(t, b, &Config{DisableIdempotence: true}, nil)
	id, epoch := p.ProducerID()
	require.EqualValues(t, -1, id)
	require.EqualValues(t, -1, epoch)
	require.NoError(t, p.ProduceSync(context.Background(), &record.Record{Topic: "t", Value: []byte("v")}).FirstErr())
	got := readPartition(t, b, "t", 0)
	require.Len(t, got, 1)
	require.EqualValues(t, record.NoProducerID, got[0].h.ProducerID)
	require.EqualValues(t, record.NoSequence, got[0].h.BaseSequence)
}

func TestOutOfOrderSequenceFailsRecords(t *testing.T) {
	b := openBroker(t, nil)
	createTopic(t, b, "t", 1)
	p := newTestProducer(t, b, &Config{Acks: AcksLeader}, nil)
	require.NoError(t, p.ProduceSync(context.Background(), &record.Record{Topic: "t", Value: []byte("a")}).FirstErr())
	// Another instance of the same producer ID, skipping sequences, makes
	// the partition's state disagree with this producer's.
	ps := (*(*p.topics.Load())["t"].parts.Load())[0]
	ps.mu.Lock()
	ps.nextSeq += 10 // only the sender touches it; no batch is in flight
	ps.mu.Unlock()
	res := p.ProduceSync(context.Background(), &record.Record{Topic: "t", Value: []byte("b")})
	require.ErrorIs(t, res.FirstErr(), ErrOutOfOrderSequence)
}

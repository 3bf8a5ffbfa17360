package producer

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/log"
	part "github.com/samsalog/samsa/partition"
	"github.com/samsalog/samsa/record"
)

// benchRing is one producing goroutine's records: a record is reused only
// after its callback ran, as a real caller must (the producer owns it until
// then), without allocating per record.
type benchRing struct {
	recs []record.Record
	done []atomic.Bool
	fns  []func(*record.Record, error)
	err  *atomic.Pointer[error]
}

func newBenchRing(size int, topic string, errp *atomic.Pointer[error]) *benchRing {
	r := &benchRing{recs: make([]record.Record, size), done: make([]atomic.Bool, size),
		fns: make([]func(*record.Record, error), size), err: errp}
	for i := range r.recs {
		r.recs[i] = record.Record{Topic: topic, Value: make([]byte, 100)}
		r.done[i].Store(true)
		r.fns[i] = func(_ *record.Record, err error) {
			if err != nil {
				keepFirst(r.err, err)
			}
			r.done[i].Store(true)
		}
	}
	return r
}

// keepFirst keeps err in first unless it holds one; err escapes only here,
// not in the callbacks that call it on failure.
func keepFirst(first *atomic.Pointer[error], err error) { first.CompareAndSwap(nil, &err) }

// produce produces n records from the ring.
func (r *benchRing) produce(p *Producer, n int) {
	ctx := context.Background()
	for i := range n {
		j := i % len(r.recs)
		for !r.done[j].Load() {
			runtime.Gosched()
		}
		r.done[j].Store(false)
		rec := &r.recs[j]
		rec.Timestamp = time.Time{}
		p.Produce(ctx, rec, r.fns[j])
	}
}

// BenchmarkProduce measures end-to-end production of 100-byte records:
// Produce until every record is acknowledged (Flush is timed). allocs/op is
// per record.
//
// The first sub-benchmark is the reference the producer's overhead is
// judged against, measured in the same run: the log-level batched append
// with encoding included, as log's BenchmarkAppend/record=100B/batch=100/
// encode=true/sync=none does it (record.Encoder.AppendBatch of 100 records
// of 100 B into a reused buffer, log.Append, one Sync at the end, in a log
// with the default configuration).
func BenchmarkProduce(b *testing.B) {
	b.Run("baseline=log-append/record=100B/batch=100/encode=true/sync=none", benchLogAppend)
	for _, parts := range []int{1, 16} {
		for _, acks := range []Acks{AcksLeader, AcksAll} {
			for _, comp := range []record.Compression{record.CompressionNone, record.CompressionZstd} {
				for _, gs := range []int{1, 16} {
					name := fmt.Sprintf("partitions=%d/acks=%s/compression=%s/goroutines=%d", parts, acks, comp, gs)
					b.Run(name, func(b *testing.B) { benchProduce(b, parts, acks, comp, gs) })
				}
			}
		}
	}
}

// benchLogAppend is log's benchAppend(b, 100, true, false), b.N records
// rather than batches.
func benchLogAppend(b *testing.B) {
	const n = 100
	l, err := log.Open(filepath.Join(b.TempDir(), "log"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	recs := make([]record.Record, n)
	for i := range recs {
		v := make([]byte, 100)
		for j := range v {
			v[j] = byte(i*31 + j)
		}
		recs[i].Value = v
	}
	var enc record.Encoder
	opts := record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch}
	batch, err := enc.AppendBatch(nil, recs, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(batch)) / n)
	b.ResetTimer()
	for i := 0; i < b.N; i += n {
		if batch, err = enc.AppendBatch(batch[:0], recs, opts); err != nil {
			b.Fatal(err)
		}
		if _, _, err := l.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Sync(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func benchProduce(b *testing.B, parts int, acks Acks, comp record.Compression, gs int) {
	br, err := samsa.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	if err := br.CreateTopic("t", &samsa.TopicConfig{Partitions: int32(parts)}); err != nil {
		b.Fatal(err)
	}
	p, err := New(br, &Config{Acks: acks, Compression: comp})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	var firstErr atomic.Pointer[error]
	rings := make([]*benchRing, gs)
	for g := range rings {
		rings[g] = newBenchRing(1<<16/gs, "t", &firstErr)
	}
	// Warm up: topic state, pools, buffers.
	rings[0].produce(p, 10000)
	if err := p.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	handles := make([]*part.Partition, parts)
	for i := range handles {
		handles[i], _ = br.Partition("t", int32(i))
	}
	syncs := func() (n uint64) {
		for _, h := range handles {
			n += h.Stats().Log.Syncs
		}
		return n
	}
	syncs0, st0 := syncs(), p.Stats()

	b.ReportAllocs()
	b.SetBytes(100)
	b.ResetTimer()
	var wg sync.WaitGroup
	for g, r := range rings {
		n := b.N / gs
		if g < b.N%gs {
			n++
		}
		wg.Go(func() { r.produce(p, n) })
	}
	wg.Wait()
	if err := p.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if e := firstErr.Load(); e != nil {
		b.Fatal(*e)
	}
	secs := b.Elapsed().Seconds()
	st := p.Stats()
	batches := st.Batches - st0.Batches
	b.ReportMetric(float64(b.N)/secs, "records/s")
	b.ReportMetric(float64(batches)/secs, "batches/s")
	if acks == AcksAll {
		b.ReportMetric(float64(syncs()-syncs0)/secs, "fsyncs/s")
	}
}

package partition

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/samsalog/samsa/record"
)

// BenchmarkAppend measures Append without syncs (acks=1): validation,
// CRC, the log's write.
func BenchmarkAppend(b *testing.B) {
	for _, recs := range []int{1, 100} {
		for _, lat := range []bool{false, true} {
			b.Run(fmt.Sprintf("records=%d/value=100B/logAppendTime=%v", recs, lat), func(b *testing.B) {
				p := openPartition(b, b.TempDir(), &Config{LogAppendTime: lat})
				batch := makeBatch(b, "k", 0, recs, 100, time.Now().UnixMilli())
				b.SetBytes(int64(len(batch)))
				b.ReportAllocs()
				for b.Loop() {
					batch[22] &^= 0x08 // a producer's batch has no LogAppendTime bit
					fixCRC(batch)
					if _, err := p.Append(batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(recs)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}

// BenchmarkAppendIdempotent measures Append of idempotent batches: the
// producer-state check and update on top of BenchmarkAppend. Each
// iteration sets the next producer's next sequence and recomputes the CRC
// (the producer's work, timed too), so the baseline is producers=0: plain
// batches with the same CRC recompute. Steady state allocates nothing.
func BenchmarkAppendIdempotent(b *testing.B) {
	for _, recs := range []int{1, 100} {
		for _, producers := range []int{0, 1, 1000} {
			b.Run(fmt.Sprintf("records=%d/value=100B/producers=%d", recs, producers), func(b *testing.B) {
				p := openPartition(b, b.TempDir(), nil)
				batch := makeBatch(b, "k", 0, recs, 100, time.Now().UnixMilli())
				seqs := make([]int32, max(producers, 1))
				if producers > 0 {
					// The same batch, with a producer ID and sequence.
					h, err := record.ParseBatchHeader(batch)
					if err != nil {
						b.Fatal(err)
					}
					recs := make([]record.Record, recs)
					for i := range recs {
						recs[i] = record.Record{Key: []byte("k"), Value: make([]byte, 100), Timestamp: time.UnixMilli(h.MaxTimestamp)}
					}
					var enc record.Encoder
					batch, err = enc.AppendBatch(nil, recs, record.BatchOptions{Idempotent: true, LeaderEpoch: record.NoLeaderEpoch})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(int64(len(batch)))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if producers > 0 {
						pid := i % producers
						binary.BigEndian.PutUint64(batch[43:], uint64(pid))
						binary.BigEndian.PutUint32(batch[53:], uint32(seqs[pid]))
						seqs[pid] += int32(recs)
					}
					i++
					fixCRC(batch)
					if _, err := p.Append(batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(recs)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}

// BenchmarkProducerState measures what idempotence adds to an Append:
// check and appended of the producer state for one batch header, without
// the log.
func BenchmarkProducerState(b *testing.B) {
	for _, producers := range []int{1, 1000, 100000} {
		b.Run(fmt.Sprintf("producers=%d", producers), func(b *testing.B) {
			s := newProducerStates(DefaultProducerIDExpiration, false)
			seqs := make([]int32, producers)
			h := record.BatchHeader{ProducerEpoch: 0, LastOffsetDelta: 9, NumRecords: 10, MaxTimestamp: 1000}
			off := int64(0)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				pid := i % producers
				i++
				h.ProducerID, h.BaseSequence = int64(pid), seqs[pid]
				if _, dup, err := s.check(h); err != nil || dup {
					b.Fatal(dup, err)
				}
				s.appended(h, off, off+9)
				off += 10
				seqs[pid] += 10
			}
		})
	}
}

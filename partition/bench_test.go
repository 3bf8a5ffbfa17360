package partition

import (
	"fmt"
	"testing"
	"time"
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

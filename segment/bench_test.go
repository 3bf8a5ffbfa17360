package segment

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/samsalog/samsa/record"
)

// benchBatch is a pre-encoded batch of 100 records of 100 bytes.
func benchBatch(b *testing.B) ([]byte, record.BatchHeader) {
	batch := makeBatch(b, 0, 100, 100, time.Now().UnixMilli())
	return batch, header(b, batch)
}

// BenchmarkAppend appends a pre-encoded 100x100B batch, patching its base
// offset as the log does. Segments roll at 1 GiB.
func BenchmarkAppend(b *testing.B) {
	for _, interval := range []int{DefaultIndexIntervalBytes, 1 << 20} {
		b.Run(fmt.Sprintf("records=100/size=100B/interval=%d", interval), func(b *testing.B) {
			benchAppend(b, Config{IndexIntervalBytes: interval})
		})
	}
	// The baseline of the performance goal: the same bytes through bufio
	// and an os.File.
	b.Run("baseline=bufio", func(b *testing.B) {
		batch, _ := benchBatch(b)
		f, err := os.Create(filepath.Join(b.TempDir(), "raw"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		w := bufio.NewWriterSize(f, 1<<20)
		b.ReportAllocs()
		b.SetBytes(int64(len(batch)))
		var written int64
		for b.Loop() {
			if _, err := w.Write(batch); err != nil {
				b.Fatal(err)
			}
			written += int64(len(batch))
			if written > 1<<30 {
				_ = w.Flush()
				_, _ = f.Seek(0, 0)
				written = 0
			}
		}
		_ = w.Flush()
	})
}

// fillSegment writes about size bytes of 100x100B batches.
func fillSegment(b *testing.B, size int64) (*Segment, []int64) {
	batch, h := benchBatch(b)
	s, err := Create(b.TempDir(), 0, Config{})
	if err != nil {
		b.Fatal(err)
	}
	var bases []int64
	for s.Size() < size {
		h.BaseOffset = s.NextOffset()
		record.PutBaseOffset(batch, h.BaseOffset)
		if _, err := s.Append(batch, h); err != nil {
			b.Fatal(err)
		}
		bases = append(bases, h.BaseOffset)
	}
	return s, bases
}

// BenchmarkRead reads a 64 MiB segment: sequentially in 1 MiB fetches, and
// at random offsets (one batch each).
func BenchmarkRead(b *testing.B) {
	for _, sealed := range []bool{false, true} {
		name := map[bool]string{false: "active", true: "sealed"}[sealed]
		s, _ := fillSegment(b, 64<<20)
		if sealed {
			if err := s.Seal(); err != nil {
				b.Fatal(err)
			}
		}
		end := s.NextOffset()
		b.Run("mode=sequential/fetch=1MiB/seg="+name, func(b *testing.B) {
			b.ReportAllocs()
			off := int64(0)
			var n, recs int64
			for b.Loop() {
				v, err := s.Read(off, 1<<20, 1<<62, true)
				if err != nil {
					b.Fatal(err)
				}
				if len(v.Data) == 0 {
					off = 0
					v.Release()
					continue
				}
				// The next offset is in the last batch's header.
				data := v.Data
				var last record.BatchHeader
				for len(data) > 0 {
					last, _ = record.ParseBatchHeader(data)
					recs += int64(last.NumRecords)
					data = data[last.Size():]
				}
				n += int64(len(v.Data))
				off = last.NextOffset()
				v.Release()
			}
			b.SetBytes(n / int64(b.N))
			b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
		})
		b.Run("mode=random/seg="+name, func(b *testing.B) {
			b.ReportAllocs()
			x := uint64(88172645463325252)
			for b.Loop() {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				v, err := s.Read(int64(x%uint64(end)), 1, 1<<62, true)
				if err != nil || len(v.Data) == 0 {
					b.Fatal(err, len(v.Data))
				}
				v.Release()
			}
		})
		_ = s.Close()
	}
}

// benchAppend appends pre-encoded batches to segments of cfg, rolling at 1 GiB.
func benchAppend(b *testing.B, cfg Config) {
	dir := b.TempDir()
	batch, h := benchBatch(b)
	var s *Segment
	roll := func() {
		if s != nil {
			_ = s.Close()
		}
		var err error
		s, err = Create(dir, h.BaseOffset, cfg)
		if err != nil {
			b.Fatal(err)
		}
	}
	roll()
	b.ReportAllocs()
	b.SetBytes(int64(len(batch)))
	for b.Loop() {
		if !s.CanFit(len(batch)) || s.Size() > 1<<30 {
			b.StopTimer()
			roll()
			b.StartTimer()
		}
		h.BaseOffset = s.NextOffset()
		record.PutBaseOffset(batch, h.BaseOffset)
		if _, err := s.Append(batch, h); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "records/s")
	_ = s.Close()
}

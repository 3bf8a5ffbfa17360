package record_test

import (
	"fmt"
	"testing"

	"github.com/samsalog/samsa/record"
)

var benchShapes = []struct{ records, value int }{{100, 100}, {1000, 1000}}

func benchRecords(n, value int) []record.Record {
	recs := sampleRecords(42, n, value)
	for i := range recs {
		recs[i].Headers = nil
		if recs[i].Value == nil {
			recs[i].Value = make([]byte, value)
		}
	}
	return recs
}

func BenchmarkEncode(b *testing.B) {
	for _, codec := range allCodecs {
		for _, s := range benchShapes {
			b.Run(fmt.Sprintf("codec=%s/records=%d/value=%dB", codec, s.records, s.value), func(b *testing.B) {
				recs := benchRecords(s.records, s.value)
				var enc record.Encoder
				opts := record.BatchOptions{Compression: codec}
				dst, err := enc.AppendBatch(nil, recs, opts)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(s.records * s.value))
				b.ReportAllocs()
				for b.Loop() {
					dst, err = enc.AppendBatch(dst[:0], recs, opts)
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(dst)), "batch-bytes")
			})
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, codec := range allCodecs {
		for _, s := range benchShapes {
			b.Run(fmt.Sprintf("codec=%s/records=%d/value=%dB", codec, s.records, s.value), func(b *testing.B) {
				recs := benchRecords(s.records, s.value)
				var enc record.Encoder
				batch, err := enc.AppendBatch(nil, recs, record.BatchOptions{Compression: codec})
				if err != nil {
					b.Fatal(err)
				}
				var dec record.Decoder
				out := make([]record.Record, 0, s.records)
				b.SetBytes(int64(s.records * s.value))
				b.ReportAllocs()
				for b.Loop() {
					_, out, err = dec.Decode(batch, out[:0])
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkCheckBatch(b *testing.B) {
	var enc record.Encoder
	batch, err := enc.AppendBatch(nil, benchRecords(100, 100), record.BatchOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := record.CheckBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
}

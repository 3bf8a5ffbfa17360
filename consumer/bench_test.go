package consumer

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	samsa "github.com/samsalog/samsa"
	"github.com/samsalog/samsa/record"
)

// preproduce appends n records of size bytes to topic/0 in batches of
// batch records, then syncs once.
func preproduce(b testing.TB, br *samsa.Broker, topic string, n, size, batch int) {
	part, err := br.Partition(topic, 0)
	require.NoError(b, err)
	var enc record.Encoder
	recs := make([]record.Record, batch)
	val := make([]byte, size)
	for i := range recs {
		recs[i] = record.Record{Value: val, Timestamp: time.UnixMilli(1_700_000_000_000)}
	}
	var buf []byte
	for i := 0; i < n; i += batch {
		buf, err = enc.AppendBatch(buf[:0], recs[:min(batch, n-i)], record.BatchOptions{})
		require.NoError(b, err)
		_, err = part.Append(buf)
		require.NoError(b, err)
	}
	require.NoError(b, part.Sync(context.Background()))
}

// BenchmarkPoll reads 1M records of 100 B sequentially, once through the
// consumer's Poll (decode + copy out of the mapping) and once at the log
// level (partition.Fetch + record.Decoder, no copy) as the baseline of the
// same run. One op = the whole 1M records.
//
// level=alloc is the floor under Poll's contract (records are copies the
// caller keeps): it fetches the same data, allocates what Poll returns
// (records carved from Poll's slabs, a copy of each batch, a pointer slice
// per 500 records) and fills the records, decoding nothing. With the
// tiny live heap of this benchmark the garbage collector runs every 3 MB
// allocated (gc/op counts its cycles), and its cost, not Poll's code, is
// what separates level=consumer from level=log: compare consumer with
// alloc, and run with GOMAXPROCS=1 or GOGC=400 to see it move.
func BenchmarkPoll(b *testing.B) {
	const n, size, batch = 1_000_000, 100, 100
	br := openBroker(b, "t", 1)
	preproduce(b, br, "t", n, size, batch)
	part, err := br.Partition("t", 0)
	require.NoError(b, err)

	b.Run(fmt.Sprintf("level=log/size=%dB/batch=%d", size, batch), func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(n * size)
		var dec record.Decoder
		var recs []record.Record
		gc := numGC()
		for b.Loop() {
			off, got := int64(0), 0
			for got < n {
				res, err := part.Fetch(context.Background(), off, 1, DefaultMaxPartitionBytes, 0)
				if err != nil {
					b.Fatal(err)
				}
				data := res.View.Data
				for len(data) > 0 {
					var h record.BatchHeader
					h, recs, err = dec.Decode(data, recs[:0])
					if err != nil {
						b.Fatal(err)
					}
					got += len(recs)
					off = h.NextOffset()
					data = data[h.Size():]
				}
				res.View.Release()
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		reportGC(b, gc)
	})

	b.Run(fmt.Sprintf("level=alloc/size=%dB/batch=%d", size, batch), func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(n * size)
		gc := numGC()
		var sink []*record.Record
		for b.Loop() {
			var slab []record.Record
			off, got := int64(0), 0
			for got < n {
				res, err := part.Fetch(context.Background(), off, 1, DefaultMaxPartitionBytes, 0)
				if err != nil {
					b.Fatal(err)
				}
				data := res.View.Data
				for len(data) > 0 && got < n {
					out := make([]*record.Record, 0, DefaultMaxPollRecords)
					for len(out) < DefaultMaxPollRecords && len(data) > 0 {
						h, err := record.ParseBatchHeader(data)
						if err != nil {
							b.Fatal(err)
						}
						k := int(h.NumRecords)
						recs := carve(&slab, k)[:k]
						handOut(&slab, recs, k)
						cp := append([]byte(nil), data[:h.Size()]...)
						for i := range recs {
							r := &recs[i]
							r.Topic, r.Offset, r.LeaderEpoch = "t", h.BaseOffset+int64(i), h.LeaderEpoch
							r.Value = cp[record.BatchHeaderSize+i*size : record.BatchHeaderSize+(i+1)*size]
							r.Timestamp = time.UnixMilli(h.BaseTimestamp)
							out = append(out, r)
						}
						got += k
						off = h.NextOffset()
						data = data[h.Size():]
					}
					sink = out
				}
				res.View.Release()
			}
		}
		_ = sink
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		reportGC(b, gc)
	})

	for _, reuse := range []bool{false, true} {
		name := fmt.Sprintf("level=consumer/size=%dB/batch=%d", size, batch)
		if reuse {
			// Config.ReuseRecords: records valid until the next Poll.
			name = fmt.Sprintf("level=consumer-reuse/size=%dB/batch=%d", size, batch)
		}
		b.Run(name, func(b *testing.B) {
			c, err := New(br, &Config{AutoOffsetReset: OffsetResetEarliest, ReuseRecords: reuse})
			require.NoError(b, err)
			defer c.Close()
			require.NoError(b, c.Assign([]TopicPartition{{"t", 0}}))
			b.ReportAllocs()
			b.SetBytes(n * size)
			ctx := context.Background()
			gc := numGC()
			for b.Loop() {
				require.NoError(b, c.Seek(TopicPartition{"t", 0}, 0))
				for got := 0; got < n; {
					recs, err := c.Poll(ctx)
					if err != nil {
						b.Fatal(err)
					}
					got += len(recs)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			reportGC(b, gc)
		})
	}
}

// numGC returns the number of garbage collections completed so far.
func numGC() uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NumGC
}

// reportGC reports the garbage collections per op since numGC returned
// before.
func reportGC(b *testing.B, before uint32) {
	b.ReportMetric(float64(numGC()-before)/float64(b.N), "gc/op")
}

// BenchmarkEndToEndLatency measures the time from a producer's Append of
// one record to a consumer's waiting Poll returning it: with the default
// durability (records visible once synced: the producer's WaitSynced puts
// one fdatasync on the path) and on a topic with UnsafeExposeUnsynced.
func BenchmarkEndToEndLatency(b *testing.B) {
	for _, unsafe := range []bool{false, true} {
		name := "durability=synced"
		if unsafe {
			name = "durability=unsynced"
		}
		b.Run(name, func(b *testing.B) {
			br := openBroker(b, "", 0)
			require.NoError(b, br.CreateTopic("lat", &samsa.TopicConfig{UnsafeExposeUnsynced: unsafe}))
			part, err := br.Partition("lat", 0)
			require.NoError(b, err)
			c, err := New(br, nil)
			require.NoError(b, err)
			defer c.Close()
			require.NoError(b, c.Assign([]TopicPartition{{"lat", 0}}))
			_, err = c.Position(TopicPartition{"lat", 0})
			require.NoError(b, err)

			lat := make(chan time.Duration, 1)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					recs, err := c.Poll(ctx)
					if err != nil {
						return
					}
					now := time.Now()
					for _, r := range recs {
						sent := time.Unix(0, int64(binary.BigEndian.Uint64(r.Value)))
						lat <- now.Sub(sent)
					}
				}
			}()
			var enc record.Encoder
			val := make([]byte, 100)
			var buf []byte
			var samples []time.Duration
			for b.Loop() {
				binary.BigEndian.PutUint64(val, uint64(time.Now().UnixNano()))
				buf, err = enc.AppendBatch(buf[:0], []record.Record{{Value: val}}, record.BatchOptions{})
				require.NoError(b, err)
				res, err := part.Append(buf)
				require.NoError(b, err)
				if !unsafe {
					require.NoError(b, part.WaitSynced(ctx, res.LastOffset))
				}
				samples = append(samples, <-lat)
			}
			cancel()
			<-done
			slices.Sort(samples)
			b.ReportMetric(float64(samples[len(samples)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(samples[len(samples)*99/100].Microseconds()), "p99-µs")
		})
	}
}

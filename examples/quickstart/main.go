// Command quickstart opens a broker on a data directory, creates a topic
// of a few partitions, appends a few thousand records to them through the
// partition API, waits until they are synced, closes and reopens the
// broker, and fetches every record back, checking each one. It is the
// README's first command:
//
//	go run ./examples/quickstart [-dir DIR] [-records N] [-partitions P]
//
// Without -dir the data goes to a temporary directory that is removed at
// the end; with -dir it stays there for `ls` and for Kafka's own
// kafka-dump-log tool to read, and a second run appends to it.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/record"
)

const topic = "quickstart"

func main() {
	dir := flag.String("dir", "", "data directory to keep (default: a temporary directory, removed at the end)")
	n := flag.Int("records", 5000, "records to write")
	parts := flag.Int("partitions", 3, "partitions of the topic, when it is created")
	flag.Parse()
	if err := run(*dir, *n, int32(*parts), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run is the whole program, callable from the test.
func run(dir string, n int, partitions int32, out io.Writer) error {
	if n <= 0 || partitions <= 0 {
		return errors.New("-records and -partitions must be positive")
	}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "samsa-quickstart-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	ctx := context.Background()

	b, err := samsa.Open(dir, nil) // nil: Kafka's defaults
	if err != nil {
		return err
	}
	// Small segments so that the example shows several of them.
	err = b.CreateTopic(topic, &samsa.TopicConfig{Partitions: partitions, SegmentBytes: 16 << 10})
	switch {
	case errors.Is(err, samsa.ErrTopicExists):
		fmt.Fprintf(out, "topic %q exists: appending to it\n", topic)
	case err != nil:
		b.Close()
		return err
	}
	d, err := b.DescribeTopic(topic)
	if err != nil {
		b.Close()
		return err
	}
	partitions = d.Partitions
	start := make([]int64, partitions) // where this run's records begin
	for i, pd := range d.PartitionDetails {
		start[i] = pd.LogEndOffset
	}

	// Write: records i go to partition i % partitions, in batches of up to
	// 100 records, each encoded once and appended with one write. The
	// producer package will do this for you; here it is by hand.
	var (
		enc   record.Encoder
		buf   []byte
		begin = time.Now()
		t0    = begin.Add(-time.Hour)
		last  = make([]int64, partitions)
	)
	for p := range partitions {
		part, err := b.Partition(topic, p)
		if err != nil {
			b.Close()
			return err
		}
		recs := make([]record.Record, 0, 100)
		for i := int(p); i < n; {
			recs = recs[:0]
			for ; i < n && len(recs) < cap(recs); i += int(partitions) {
				recs = append(recs, record.Record{
					Key:       fmt.Appendf(nil, "user-%d", i%10),
					Value:     fmt.Appendf(nil, "event %d", i),
					Timestamp: t0.Add(time.Duration(i) * time.Second),
				})
			}
			buf, err = enc.AppendBatch(buf[:0], recs, record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch})
			if err != nil {
				b.Close()
				return err
			}
			res, err := part.Append(buf)
			if err != nil {
				b.Close()
				return err
			}
			last[p] = res.LastOffset
		}
		// acks=all: wait until the records are synced (group commit with
		// the broker's background flusher).
		if err := part.WaitSynced(ctx, last[p]); err != nil {
			b.Close()
			return err
		}
	}
	wrote := time.Since(begin)
	if err := b.Close(); err != nil {
		return err
	}

	// Reopen: after a clean Close nothing is scanned; topics and offsets
	// survive.
	b, err = samsa.Open(dir, nil)
	if err != nil {
		return err
	}
	defer b.Close()

	// Read this run's records back, partition by partition, and check
	// each one.
	begin = time.Now()
	var (
		dec  record.Decoder
		recs []record.Record
		seen int
	)
	for p := range partitions {
		part, err := b.Partition(topic, p)
		if err != nil {
			return err
		}
		want := int(p)
		for offset := start[p]; offset < part.HighWatermark(); {
			res, err := part.Fetch(ctx, offset, 1, 1<<20, 0)
			if err != nil {
				return err
			}
			data := res.View.Data
			for len(data) > 0 {
				var h record.BatchHeader
				if h, err = record.ParseBatchHeader(data); err == nil {
					_, recs, err = dec.Decode(data[:h.Size()], recs[:0])
				}
				if err != nil {
					res.View.Release()
					return err
				}
				for _, r := range recs {
					if r.Offset < offset {
						continue // a fetch starts at the batch holding offset
					}
					if w := fmt.Appendf(nil, "event %d", want); !bytes.Equal(r.Value, w) {
						res.View.Release()
						return fmt.Errorf("partition %d offset %d holds %q, want %q", p, r.Offset, r.Value, w)
					}
					want += int(partitions)
					seen++
				}
				offset = h.NextOffset()
				data = data[h.Size():]
			}
			res.View.Release()
		}
	}
	read := time.Since(begin)
	if seen != n {
		return fmt.Errorf("read %d records back, wrote %d", seen, n)
	}

	d, err = b.DescribeTopic(topic)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %d records to %d partitions in %v (synced), read them back in %v\n",
		n, partitions, wrote.Round(time.Microsecond), read.Round(time.Microsecond))
	for _, pd := range d.PartitionDetails {
		fmt.Fprintf(out, "%s-%d: offsets %d..%d, %d segments, %d bytes\n",
			topic, pd.Partition, pd.LogStartOffset, pd.LogEndOffset-1, pd.Segments, pd.SizeBytes)
	}
	fmt.Fprintf(out, "data directory: %s (clean reopen: %v)\n", dir, b.Stats().CleanOpen)
	return nil
}

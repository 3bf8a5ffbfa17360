// Command quickstart writes a few thousand records to a partition log, syncs
// them, closes and reopens the log, and reads every record back, checking
// each one. It is the README's first command:
//
//	go run ./examples/quickstart [-dir DIR] [-records N]
//
// Without -dir the data goes to a temporary directory that is removed at
// the end; with -dir it stays there for `ls` and for Kafka's own
// kafka-dump-log tool to read.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/samsalog/samsa/log"
	"github.com/samsalog/samsa/record"
)

func main() {
	dir := flag.String("dir", "", "data directory to keep (default: a temporary directory, removed at the end)")
	n := flag.Int("records", 5000, "records to write")
	flag.Parse()
	if err := run(*dir, *n, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run is the whole program, callable from the test.
func run(dir string, n int, out io.Writer) error {
	if n <= 0 {
		return errors.New("-records must be positive")
	}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "samsa-quickstart-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	partDir := filepath.Join(dir, "quickstart-0") // Kafka's <topic>-<partition>

	// Small segments so that the example shows several of them.
	cfg := &log.Config{SegmentBytes: 64 << 10}
	l, err := log.Open(partDir, cfg)
	if err != nil {
		return err
	}
	start := l.EndOffset()

	// Write: batches of 100 records, each batch encoded once and appended
	// with one write; one group-committed fsync at the end.
	var (
		enc   record.Encoder
		buf   []byte
		recs  = make([]record.Record, 0, 100)
		begin = time.Now()
		t0    = begin.Add(-time.Hour) // record timestamps, one second apart
	)
	for i := 0; i < n; {
		recs = recs[:0]
		for ; i < n && len(recs) < cap(recs); i++ {
			recs = append(recs, record.Record{
				Key:       fmt.Appendf(nil, "user-%d", i%10),
				Value:     fmt.Appendf(nil, "event %d", i),
				Timestamp: t0.Add(time.Duration(i) * time.Second),
			})
		}
		buf, err = enc.AppendBatch(buf[:0], recs, record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch})
		if err != nil {
			return err
		}
		if _, _, err := l.Append(buf); err != nil {
			return err
		}
	}
	if err := l.Sync(); err != nil {
		return err
	}
	wrote := time.Since(begin)
	if err := l.Close(); err != nil {
		return err
	}

	// Reopen: after a clean close nothing is scanned; offsets survive.
	l, err = log.Open(partDir, cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	if got, want := l.EndOffset(), start+int64(n); got != want {
		return fmt.Errorf("after reopen the log ends at %d, want %d", got, want)
	}

	// Read everything back, batch by batch, and check each record.
	begin = time.Now()
	var (
		dec    record.Decoder
		out2   []record.Record
		offset = start
		seen   int
	)
	for offset < l.EndOffset() {
		v, err := l.Read(offset, 1<<20, -1)
		if err != nil {
			return err
		}
		data := v.Data
		for len(data) > 0 {
			var h record.BatchHeader
			h, out2, err = dec.Decode(data, out2[:0])
			if err != nil {
				v.Release()
				return err
			}
			for _, r := range out2 {
				if r.Offset < offset {
					continue // a read starts at the batch holding offset
				}
				i := int(r.Offset - start)
				if want := fmt.Appendf(nil, "event %d", i); !bytes.Equal(r.Value, want) {
					v.Release()
					return fmt.Errorf("offset %d holds %q, want %q", r.Offset, r.Value, want)
				}
				seen++
			}
			offset = h.NextOffset()
			data = data[h.Size():]
		}
		v.Release()
	}
	read := time.Since(begin)
	if seen != n {
		return fmt.Errorf("read %d records back, wrote %d", seen, n)
	}

	// ListOffsets by time: the record written half-way.
	mid := t0.Add(time.Duration(n/2) * time.Second)
	at, err := l.OffsetForTimestamp(mid.UnixMilli())
	if err != nil {
		return err
	}
	// In a fresh log it is exactly the record written half-way; in a log
	// that a previous run filled it may be an older record with a later time.
	if want := start + int64(n/2); at != want && (start == 0 || at > want) {
		return fmt.Errorf("offset for %s is %d, want %d", mid.Format(time.RFC3339), at, want)
	}

	entries, err := os.ReadDir(partDir)
	if err != nil {
		return err
	}
	segments := 0
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".log" {
			segments++
		}
	}
	fmt.Fprintf(out, "wrote %d records in %v (synced), read them back in %v\n", n, wrote.Round(time.Microsecond), read.Round(time.Microsecond))
	fmt.Fprintf(out, "offsets %d..%d in %d segments under %s\n", start, l.EndOffset()-1, segments, partDir)
	fmt.Fprintf(out, "record at %s is offset %d\n", mid.UTC().Format(time.RFC3339), at)
	return nil
}

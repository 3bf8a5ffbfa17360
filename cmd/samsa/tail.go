package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/samsalog/samsa/record"
	"github.com/samsalog/samsa/segment"
)

// This file is consume's read-only mode: when another process holds the
// directory, consume without --group reads the partitions' segment files
// directly, without the lock, and follows them as the running broker
// appends. It sees what is appended, synced or not.

// tailChunk bounds one read of a segment file.
const tailChunk = 16 << 20

// tailPartition is the read position in one partition's files.
type tailPartition struct {
	dir  string
	id   int32
	seg  int64 // base offset of the segment being read, -1 before any
	pos  int64 // byte position in it
	next int64 // the next offset to print
}

// tailOptions are consume's flags that the read-only mode uses.
type tailOptions struct {
	topic       string
	partition   int   // -1: all
	start       int64 // -2 earliest, -1 latest, else an offset
	maxMessages int
	timeout     time.Duration // 0: none
}

func tailFiles(e *env, o tailOptions, pr *printer, w *bufio.Writer) (int, error) {
	reg, err := readRegistry(e.dir)
	if err != nil {
		return 0, err
	}
	var n int32 = -1
	for _, t := range reg.Topics {
		if t.Name == o.topic {
			n = t.Partitions
		}
	}
	if n < 0 {
		return 0, fmt.Errorf("unknown topic %q", o.topic)
	}
	var parts []*tailPartition
	for p := int32(0); p < n; p++ {
		if o.partition >= 0 && int32(o.partition) != p {
			continue
		}
		tp := &tailPartition{dir: filepath.Join(e.dir, fmt.Sprintf("%s-%d", o.topic, p)), id: p, seg: -1}
		if err := tp.init(o.start); err != nil {
			return 0, err
		}
		parts = append(parts, tp)
	}
	if len(parts) == 0 {
		return 0, fmt.Errorf("topic %s has no partition %d", o.topic, o.partition)
	}
	var dec record.Decoder
	count := 0
	lastRecord := time.Now()
	for o.maxMessages == 0 || count < o.maxMessages {
		printed := 0
		for _, tp := range parts {
			k, err := tp.poll(&dec, o.topic, func(r *record.Record) bool {
				if o.maxMessages > 0 && count >= o.maxMessages {
					return false
				}
				pr.print(r)
				count++
				return true
			})
			printed += k
			if err != nil {
				return count, err
			}
		}
		if err := w.Flush(); err != nil {
			return count, err
		}
		if printed > 0 {
			lastRecord = time.Now()
			continue
		}
		if o.timeout > 0 && time.Since(lastRecord) >= o.timeout {
			break
		}
		select {
		case <-e.ctx.Done():
			return count, nil
		case <-time.After(100 * time.Millisecond):
		}
	}
	return count, nil
}

// init places tp at its start: the earliest offset, the end of the log
// (-1), or the segment holding an offset.
func (tp *tailPartition) init(start int64) error {
	bases, err := segmentBases(tp.dir)
	if err != nil {
		return err
	}
	if len(bases) == 0 {
		tp.next = max(start, 0)
		return nil
	}
	tp.seg, tp.pos, tp.next = bases[0], 0, bases[0]
	switch {
	case start == -2:
	case start == -1:
		tp.seg = bases[len(bases)-1]
		tp.next = tp.seg
		data, err := os.ReadFile(segment.Filename(tp.dir, tp.seg, segment.LogSuffix))
		if err != nil {
			return err
		}
		tp.pos, _ = scanLog(data, func(b batchInfo) error {
			tp.next = b.Header.NextOffset()
			return nil
		})
	default:
		for _, b := range bases {
			if b <= start {
				tp.seg = b
			}
		}
		tp.next = max(start, tp.seg)
	}
	return nil
}

// poll prints the records appended to tp since the last call, through fn,
// which returns false to stop. It returns how many it printed.
func (tp *tailPartition) poll(dec *record.Decoder, topic string, fn func(*record.Record) bool) (int, error) {
	printed := 0
	for {
		if tp.seg < 0 {
			if err := tp.init(tp.next); err != nil || tp.seg < 0 {
				return printed, err
			}
		}
		f, err := os.Open(segment.Filename(tp.dir, tp.seg, segment.LogSuffix))
		if errors.Is(err, fs.ErrNotExist) {
			// Retention deleted the segment: go on at the first one left.
			if err := tp.skipTo(tp.seg + 1); err != nil || tp.seg < 0 {
				return printed, err
			}
			continue
		}
		if err != nil {
			return printed, err
		}
		k, atEnd, err := tp.readSegment(f, dec, topic, fn)
		_ = f.Close()
		printed += k
		if err != nil || !atEnd {
			return printed, err
		}
		// The segment is read to its end: go on in the next one, if any.
		bases, err := segmentBases(tp.dir)
		if err != nil {
			return printed, err
		}
		moved := false
		for _, b := range bases {
			if b > tp.seg {
				tp.seg, tp.pos, moved = b, 0, true
				break
			}
		}
		if !moved {
			return printed, nil
		}
	}
}

// skipTo moves tp to the first segment whose base is at least from.
func (tp *tailPartition) skipTo(from int64) error {
	bases, err := segmentBases(tp.dir)
	if err != nil {
		return err
	}
	for _, b := range bases {
		if b >= from {
			tp.seg, tp.pos, tp.next = b, 0, max(tp.next, b)
			return nil
		}
	}
	return nil
}

// readSegment prints the complete batches of f from tp.pos. atEnd reports
// that it read up to the end of the file's data; it stops quietly at a
// batch still being written.
func (tp *tailPartition) readSegment(f *os.File, dec *record.Decoder, topic string, fn func(*record.Record) bool) (printed int, atEnd bool, err error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, false, err
	}
	var recs []record.Record
	dec.Topic, dec.Partition = topic, tp.id
	for tp.pos < fi.Size() {
		want := min(fi.Size()-tp.pos, tailChunk)
		if h, err := readHeader(f, tp.pos); err == nil && int64(h.Size()) > want {
			want = min(fi.Size()-tp.pos, int64(h.Size()))
		}
		buf := make([]byte, want)
		if _, err := f.ReadAt(buf, tp.pos); err != nil && !errors.Is(err, io.EOF) {
			return printed, false, err
		}
		if allZero(buf) {
			return printed, true, nil
		}
		progressed := false
		for len(buf) > 0 {
			h, batch, rest, err := record.NextBatch(buf)
			if err != nil {
				if progressed {
					break // read on from the new position
				}
				// A batch being written, or damage: try again later.
				return printed, false, nil
			}
			if h.NextOffset() > tp.next && !h.Attributes.Control() {
				_, recs, err = dec.Decode(batch, recs[:0])
				if err != nil {
					return printed, false, fmt.Errorf("%s position %d: %w", segment.Filename(tp.dir, tp.seg, segment.LogSuffix), tp.pos, err)
				}
				for i := range recs {
					if recs[i].Offset < tp.next {
						continue
					}
					if !fn(&recs[i]) {
						return printed, false, nil
					}
					printed++
					tp.next = recs[i].Offset + 1
				}
			}
			tp.next = max(tp.next, h.NextOffset())
			tp.pos += int64(len(batch))
			buf = rest
			progressed = true
			if allZero(buf) {
				break
			}
		}
		if !progressed {
			return printed, false, nil
		}
	}
	return printed, true, nil
}

func readHeader(f *os.File, pos int64) (record.BatchHeader, error) {
	var b [record.BatchHeaderSize]byte
	if _, err := f.ReadAt(b[:], pos); err != nil {
		return record.BatchHeader{}, err
	}
	return record.ParseBatchHeader(b[:])
}

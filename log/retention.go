package log

import (
	"fmt"
	"slices"
	"time"

	"github.com/samsalog/samsa/segment"
)

// ApplyRetention deletes the oldest segments that retention.ms or
// retention.bytes (or a log start offset moved by DeleteRecordsBefore) no
// longer keeps, and returns how many it deleted. Only whole segments are
// deleted, oldest first, stopping at the first one that must stay:
//
//   - by time: its newest batch timestamp (the file's modification time if
//     its batches carry none) is more than RetentionMs before Now;
//   - by size: the log without it is still at least RetentionBytes;
//   - by start offset: all its offsets are below StartOffset.
//
// When every sealed segment goes and the active one qualifies too, the
// active segment is rolled first (as Kafka does), so that it can go as
// well; an empty active segment is never deleted. The log start offset
// moves to the base offset of the first remaining segment.
//
// Crash safety: the segments are first unlisted and the new log start
// offset checkpointed, then each segment's files are renamed with the
// ".deleted" suffix (the directory synced) and removed once no reader holds
// a View of them; Open removes any ".deleted" leftovers. Readers holding a
// View of a deleted segment keep reading valid data until they release it;
// a Read after the deletion gets ErrOffsetOutOfRange.
//
// The log has no goroutines: an owner calls ApplyRetention from a ticker
// (Kafka checks every 5 minutes). Errors: ErrClosed, ErrFailed, I/O errors
// from the deletion (the segment is then unlisted but its files may remain
// until the next Open).
func (l *Log) ApplyRetention() (deleted int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writeErr(); err != nil {
		return 0, err
	}
	now := l.cfg.Now()
	segs := *l.segs.Load()
	n := l.expiredSegments(segs, now)
	if n == len(segs) {
		if l.active.Size() == 0 {
			n--
		} else if err := l.rollLocked(); err != nil {
			return 0, err
		}
	}
	return l.deleteOldestLocked(n, true)
}

// expiredSegments returns how many of the oldest segments retention
// deletes (possibly all, the active one included). Called with mu held.
func (l *Log) expiredSegments(segs []*segment.Segment, now time.Time) int {
	dc := l.dyn.Load()
	var total int64
	for _, s := range segs {
		total += s.Size()
	}
	start := l.start.Load()
	n := 0
	for i, s := range segs {
		belowStart := i+1 < len(segs) && segs[i+1].BaseOffset() <= start
		byTime := dc.RetentionMs >= 0 && now.Sub(newestTime(s)) > dc.RetentionMs
		bySize := dc.RetentionBytes >= 0 && total-s.Size() >= dc.RetentionBytes
		if !belowStart && !byTime && !bySize {
			break
		}
		total -= s.Size()
		n++
	}
	return n
}

// newestTime is the time of a segment's newest batch: its largest
// timestamp, or the .log's modification time when batches carry none.
func newestTime(s *segment.Segment) time.Time {
	if ts, _ := s.MaxTimestamp(); ts >= 0 {
		return time.UnixMilli(ts)
	}
	return s.Created()
}

// DeleteRecordsBefore moves the log start offset up to offset (Kafka's
// DeleteRecords): reads below it fail with ErrOffsetOutOfRange from now
// on, OffsetForTimestamp and Earliest answer at least it, and sealed
// segments wholly below it are deleted at once; the rest of their data goes
// with later retention. The new start offset is checkpointed before this
// returns. It returns the number of segments deleted. An offset at or
// below StartOffset changes nothing; one past EndOffset is
// ErrOffsetOutOfRange. Errors also: ErrClosed, ErrFailed, I/O errors.
func (l *Log) DeleteRecordsBefore(offset int64) (deleted int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writeErr(); err != nil {
		return 0, err
	}
	start, end := l.start.Load(), l.end.Load()
	if offset > end {
		return 0, outOfRange(offset, start, end)
	}
	if offset <= start {
		return 0, nil
	}
	l.start.Store(offset)
	// Checkpointed before any segment goes: a start offset inside the
	// first remaining segment cannot be derived from the files.
	if err := l.writeCheckpoint(false); err != nil {
		return 0, fmt.Errorf("log: delete records: %w", err)
	}
	segs := *l.segs.Load()
	n := 0
	for n+1 < len(segs) && segs[n+1].BaseOffset() <= offset {
		n++
	}
	return l.deleteOldestLocked(n, false)
}

// deleteOldestLocked deletes the n oldest segments, which must all be
// sealed; it checkpoints the start offset first unless the caller just did
// (checkpoint false), and a failed checkpoint is only logged (the files
// then tell the start offset: the base of the first segment left). Called
// with mu held.
//
// Order, for crash safety: (1) publish the list without them and move the
// start offset, so no new reader finds them; (2) checkpoint the start
// offset; (3) rename each segment's files to .deleted, oldest first, .log
// first (segment.Delete), and sync the directory; the files are removed
// when the last View is released. A crash after (1) or (2) leaves the
// segments on disk: reopened, they lie below the checkpointed start offset
// (or, with no checkpoint written, are simply still there) and the next
// retention deletes them again. A crash during (3) leaves .deleted files
// and maybe indexes without a .log, which Open removes; since deletions go
// oldest first, what remains is a contiguous suffix of the log.
func (l *Log) deleteOldestLocked(n int, checkpoint bool) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	segs := *l.segs.Load()
	victims := segs[:n]
	rest := slices.Clone(segs[n:])
	l.segs.Store(&rest)
	if base := rest[0].BaseOffset(); base > l.start.Load() {
		l.start.Store(base)
	}
	if checkpoint {
		l.saveCheckpoint("retention")
	}
	for i, s := range victims {
		l.cfg.Logger.Info("log: deleting segment", "file", s.Path(), "next_offset", s.NextOffset())
		if err := s.Delete(); err != nil {
			l.stats.deleted.Add(uint64(i))
			return i, fmt.Errorf("log: delete segment: %w", err)
		}
	}
	l.stats.deleted.Add(uint64(n))
	return n, nil
}

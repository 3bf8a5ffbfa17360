package segment

import (
	"github.com/samsalog/samsa/record"
)

// Append writes one batch at the end of the .log with a single WriteAt and
// returns the position it was written at. The caller (the log) has validated
// the batch (record.CheckBatch) and assigned its offsets; h is its header.
//
// Index entries follow Kafka's rule: when more than IndexIntervalBytes were
// appended since the last entry, the offset index gets (h.LastOffset(),
// position) and the time index (max timestamp so far, its offset).
//
// The new size and next offset are published only after the write (and the
// index entries) succeeded, so concurrent readers never see part of a batch;
// on any error nothing is published and the next Append writes at the same
// position. A full disk is an error matching fs.ErrNoSpace, from the
// fallocate that reserves the next preallocation chunk or from the write.
//
// Errors: ErrSealed, ErrClosed, ErrFull (see CanFit and FitsOffset; roll
// first), ErrBadBatch, a *CorruptError while a bad tail found by Open or
// Recover awaits TruncateTo, and I/O errors (a full disk may also show at
// the write of an index tail, after the batch was written: the segment then
// refuses appends until reopened).
//
// Allocations: only the indexes' in-memory tails, one 4 KiB array per 512
// offset-index entries and, while timestamps rise, one 6 KiB array per 512
// time-index entries (8 to 20 B per index entry amortized; an index entry
// is added at most once per IndexIntervalBytes appended), plus a few small
// ones while the first tails after an open grow to that size. System calls:
// the write, plus once per preallocation chunk (fallocate) and once per
// ZeroAheadBytes block (the write of its zeros), when the
// mapping doubles (mmap, only once the segment was read), and once per 512
// index entries (the write of each index's tail: open, pwrite, close).
func (s *Segment) Append(batch []byte, h record.BatchHeader) (int64, error) {
	switch {
	case s.closed.Load():
		return 0, ErrClosed
	case s.sealed.Load():
		return 0, ErrSealed
	case s.failed != nil:
		return 0, s.failed
	case s.tailErr != nil:
		return 0, s.tailErr
	}
	n := int64(len(batch))
	if n != int64(h.Size()) || n < record.BatchHeaderSize {
		return 0, ErrBadBatch
	}
	next := s.next.Load()
	if h.BaseOffset < next {
		return 0, ErrBadBatch
	}
	pos := s.size.Load()
	end := pos + n
	if end > MaxSize || h.LastOffset()-s.base > maxRelOffset || s.off.IsFull() || s.tim.IsFull() {
		return 0, ErrFull
	}
	if h.BaseOffset != next {
		// Batches are contiguous until compaction exists: recovery and
		// reads take a gap for damage (see checkOffsets).
		return 0, ErrBadBatch
	}
	if end > s.allocated && s.cfg.PreallocateBytes > 0 {
		if err := s.reserve(end); err != nil {
			return 0, err
		}
	}
	if end > s.zeroed {
		if err := s.zeroAhead(end); err != nil {
			return 0, err
		}
	}
	if _, err := s.f.WriteAt(batch, pos); err != nil {
		return 0, &appendError{path: s.logPath, err: err}
	}
	s.zeroed = max(s.zeroed, end)
	if err := s.growMapping(end); err != nil {
		return 0, err
	}
	last := h.LastOffset()
	s.publishTs(h.MaxTimestamp, last)
	if pos == 0 {
		s.firstTs.Store(h.MaxTimestamp)
	}
	if s.sinceIndex > int64(s.cfg.IndexIntervalBytes) {
		written := s.off.Written()
		if err := s.off.Append(last, pos); err != nil {
			s.failed = &appendError{path: s.offPath, err: err}
			return 0, s.failed
		}
		ts, tsOff := s.MaxTimestamp()
		if err := s.tim.MaybeAppend(ts, tsOff); err != nil {
			s.failed = &appendError{path: s.timePath, err: err}
			return 0, s.failed
		}
		if s.off.Written() != written {
			// The offset index just wrote its tail (once per 512
			// entries): write the time index's too, so that a process
			// crash never leaves the time index's file behind the offset
			// index's, which is what lets Open fill in lost entries from
			// its walk (see walkTail).
			if err := s.tim.Flush(); err != nil {
				s.failed = &appendError{path: s.timePath, err: err}
				return 0, s.failed
			}
		}
		s.sinceIndex = 0
	}
	s.sinceIndex += n
	s.size.Store(end)
	s.next.Store(h.NextOffset())
	return pos, nil
}

// appendError wraps an I/O error of Append without fmt (which would format
// eagerly); it is built only on failure.
type appendError struct {
	path string
	err  error
}

func (e *appendError) Error() string { return "segment: append to " + e.path + ": " + e.err.Error() }
func (e *appendError) Unwrap() error { return e.err }

// reserve extends the preallocated space of the .log to cover end, in whole
// chunks, with one fallocate (keeping the file size: readers and recovery
// see only written bytes).
func (s *Segment) reserve(end int64) error {
	chunk := int64(s.cfg.PreallocateBytes)
	newEnd := (end + chunk - 1) / chunk * chunk
	newEnd = min(newEnd, MaxSize)
	if err := s.f.Allocate(s.allocated, newEnd-s.allocated); err != nil {
		return &appendError{path: s.logPath, err: err}
	}
	s.allocated = newEnd
	return nil
}

// zeroBlock is the source of the zero writes of zeroAhead (read only:
// never written, so its pages stay the kernel's shared zero page and cost
// no memory).
var zeroBlock [1 << 20]byte

// zeroAhead writes zeros over the part of the reserved space from the
// zeroed mark to the end of the ZeroAheadBytes block that holds end (the
// end of the batch about to be written), skipping the blocks the batch
// covers entirely. The mark moves before each write, so that bytes a
// failed write may have left past the data are still trimmed by Seal and
// Close.
func (s *Segment) zeroAhead(end int64) error {
	block := int64(s.cfg.ZeroAheadBytes)
	if block <= 0 {
		return nil
	}
	// Never below the published size: zeros go only where no batch is.
	from := max(s.zeroed, s.size.Load(), end/block*block)
	to := min((end+block-1)/block*block, s.allocated)
	for from < to {
		n := min(to-from, int64(len(zeroBlock)))
		s.zeroed = max(s.zeroed, from+n)
		if _, err := s.f.WriteAt(zeroBlock[:n], from); err != nil {
			return &appendError{path: s.logPath, err: err}
		}
		from += n
	}
	return nil
}

// trimZeros cuts the .log of an active segment to its published size when
// this handle wrote past it (zeros ahead, or a failed write): no reader
// touches bytes past the published size, so every mapping stays valid.
func (s *Segment) trimZeros() error {
	size := s.size.Load()
	if s.zeroed <= size {
		return nil
	}
	if err := s.f.Truncate(size); err != nil {
		return err
	}
	s.zeroed = size
	s.allocated = min(s.allocated, size) // truncate gave the reservation back
	return nil
}

// growMapping replaces the active mapping by a longer one when size no
// longer fits it. An active segment not read yet has no mapping: the first
// Read maps it.
func (s *Segment) growMapping(size int64) error {
	if m := s.cur.Load(); m == nil || int64(len(m.data)) >= size {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.cur.Load(); m == nil || int64(len(m.data)) >= size {
		return nil // closed, or a reader grew it meanwhile
	}
	return s.mapLocked(size)
}

// retireMapping replaces the current mapping (if any) by a new one of the
// published size, so that the Views that may cover bytes past it are all
// on older mappings (see TruncateTo).
func (s *Segment) retireMapping() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.Load() == nil {
		return nil
	}
	return s.mapLocked(0)
}

// CanFit reports whether a batch of n bytes can be appended without the
// .log passing MaxSize and without an index being full: when it is false the
// log rolls a new segment first.
func (s *Segment) CanFit(n int) bool {
	return s.size.Load()+int64(n) <= MaxSize && !s.IsFull()
}

// FitsOffset reports whether lastOffset can be stored in this segment's
// indexes (relative to the base offset in 32 bits). When it is false the log
// rolls a new segment first.
func (s *Segment) FitsOffset(lastOffset int64) bool {
	return lastOffset >= s.base && lastOffset-s.base <= maxRelOffset
}

// IsFull reports whether the offset or the time index of an active segment
// is full (a sealed segment is never full: it takes no appends anyway).
func (s *Segment) IsFull() bool {
	if s.sealed.Load() || s.off == nil {
		return false
	}
	return s.off.IsFull() || s.tim.IsFull()
}

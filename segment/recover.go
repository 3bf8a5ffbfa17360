package segment

import (
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/samsalog/samsa/index"
	"github.com/samsalog/samsa/internal/mmap"
	"github.com/samsalog/samsa/record"
)

// maxRelOffset is the largest offset relative to the base that the indexes
// can store.
const maxRelOffset = math.MaxInt32

// ScanResult is what a validating scan of a .log found.
type ScanResult struct {
	// ValidBytes is the end of the last valid batch: every byte before it
	// belongs to a batch that passed validation.
	ValidBytes int64
	// NextOffset is the last offset of the last valid batch plus one, or
	// the base offset when there is none.
	NextOffset int64
	// Batches is the number of valid batches.
	Batches int
	// MaxTimestamp is the largest batch MaxTimestamp (-1 when none), and
	// OffsetOfMaxTimestamp the last offset of the first batch carrying it.
	MaxTimestamp, OffsetOfMaxTimestamp int64
	// Err says why the scan stopped before the end of the file (a
	// *CorruptError with the file and position, matching ErrCorrupt; it
	// also matches record.ErrTruncated when the last batch is cut short by
	// the end of the file, the usual torn tail), or nil when the whole
	// file is valid.
	Err error

	firstTs    int64
	sinceIndex int64
}

// Recover scans the .log from position 0 and rebuilds both indexes from
// scratch (Kafka's LogSegment.recover). Each batch must pass record.CheckBatch
// (length, magic, CRC-32C), have a base offset equal to the previous batch's
// next offset (the first batch: to the segment's base offset, or prevNext if
// that is higher), and a last offset whose distance from the base fits the
// indexes' 32-bit relative offsets. A gap between batches is damage (a
// raised base offset, which the CRC does not cover): until compaction
// exists, a segment's batches are contiguous. Index entries are added with
// the append rule (index.interval.bytes).
//
// Recover stops at the first invalid batch and reports it in ScanResult.Err;
// it truncates nothing: the caller decides whether the bytes past
// ScanResult.ValidBytes are a torn tail (TruncateTo) or damage to report.
// Until then Append refuses. The published size, next offset and max
// timestamp become those of the valid prefix; for a sealed segment the
// rebuilt indexes are sealed.
//
// The returned error is for I/O failures, not for what the bytes contain.
// Recover is a step of opening a log: it must not run while the segment is
// read (on a sealed segment that was already read it returns ErrInUse).
func (s *Segment) Recover(prevNext int64) (ScanResult, error) {
	if s.closed.Load() {
		return ScanResult{}, ErrClosed
	}
	if s.sealed.Load() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.res != nil {
			return ScanResult{}, ErrInUse
		}
		f, err := s.cfg.FS.OpenFile(s.logPath, os.O_RDONLY, 0)
		if err != nil {
			return ScanResult{}, fmt.Errorf("segment: recover: %w", err)
		}
		defer f.Close()
		fileSize, err := s.statLog(f)
		if err != nil {
			return ScanResult{}, err
		}
		r, err := s.rebuildSealed(f, fileSize, prevNext)
		if err != nil {
			return r, err
		}
		s.indexSuspect.Store(false)
		s.publish(stateOf(r))
		return r, nil
	}
	if s.failed != nil {
		return ScanResult{}, s.failed
	}
	fi, err := s.f.Stat()
	if err != nil {
		return ScanResult{}, fmt.Errorf("segment: recover: %w", err)
	}
	fileSize := min(fi.Size(), MaxSize)
	r, err := s.rebuild(s.f, fileSize, prevNext, s.off, s.tim)
	if err != nil {
		return r, err
	}
	s.indexSuspect.Store(false)
	if err := s.growMapping(r.ValidBytes); err != nil {
		return r, err
	}
	s.publish(stateOf(r))
	s.sinceIndex = r.sinceIndex
	s.allocated = min(s.allocated, r.ValidBytes)
	s.zeroed = r.ValidBytes // bytes past it are TruncateTo's to decide, not Close's to trim
	s.tailErr = r.Err
	return r, nil
}

// scan validates data (a whole .log) and rebuilds off and tim.
func (s *Segment) scan(data []byte, prevNext int64, off *index.OffsetIndex, tim *index.TimeIndex) (ScanResult, error) {
	r := ScanResult{NextOffset: s.base, MaxTimestamp: -1, OffsetOfMaxTimestamp: s.base, firstTs: -1}
	indexing := off != nil // nil indexes: validate only (see locate)
	if indexing {
		if err := off.Reset(); err != nil {
			return r, fmt.Errorf("segment: recover %s: %w", s.offPath, err)
		}
		if err := tim.Reset(); err != nil {
			return r, fmt.Errorf("segment: recover %s: %w", s.timePath, err)
		}
	}
	next := max(prevNext, s.base)
	interval := int64(s.cfg.IndexIntervalBytes)
	var pos, since int64
	for pos < int64(len(data)) {
		h, err := record.CheckBatch(data[pos:])
		if err == nil {
			err = s.checkOffsets(h, next)
		}
		if err != nil {
			r.Err = corruptAt(s.logPath, pos, err)
			break
		}
		last := h.LastOffset()
		if h.MaxTimestamp > r.MaxTimestamp {
			r.MaxTimestamp, r.OffsetOfMaxTimestamp = h.MaxTimestamp, last
		}
		if r.Batches == 0 {
			r.firstTs = h.MaxTimestamp
		}
		if since > interval && indexing {
			if err := off.Append(last, pos); err != nil {
				if !errors.Is(err, index.ErrIndexFull) {
					return r, fmt.Errorf("segment: recover %s: %w", s.offPath, err)
				}
				indexing = false // a full index only costs longer scans
			}
			if err := tim.MaybeAppend(r.MaxTimestamp, r.OffsetOfMaxTimestamp); err != nil && !errors.Is(err, index.ErrIndexFull) {
				return r, fmt.Errorf("segment: recover %s: %w", s.timePath, err)
			}
			since = 0
		}
		size := int64(h.Size())
		since += size
		pos += size
		next = h.NextOffset()
		r.NextOffset = next
		r.Batches++
	}
	r.ValidBytes = pos
	r.sinceIndex = since
	return r, nil
}

// TruncateTo cuts the .log of an active segment to size, which must be a
// batch boundary (a ScanResult.ValidBytes, or a position an earlier Append
// returned), drops the index entries past it and republishes the size, next
// offset and max timestamp of what remains. It clears the refusal to append
// that Open or Recover set after finding a bad tail.
//
// Views hold their bytes: when size is below the published size, TruncateTo
// first stops publishing the bytes past size, then waits until every View
// that could cover them is released, and only then truncates the file. The
// new end is found by walking the batch headers from position 0.
func (s *Segment) TruncateTo(size int64) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.sealed.Load() {
		return ErrSealed
	}
	if s.failed != nil {
		return s.failed
	}
	fi, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("segment: truncate: %w", err)
	}
	fileSize := fi.Size()
	if size < 0 || size > fileSize {
		return fmt.Errorf("segment: truncate %s to %d: outside [0, %d]", s.logPath, size, fileSize)
	}
	// Walk the headers below size to find the new end state.
	data, err := mmap.Map(s.f.Fd(), int(size))
	if err != nil {
		return fmt.Errorf("segment: truncate %s: %w", s.logPath, err)
	}
	st := walkState{next: s.base, maxTs: -1, maxOff: s.base, firstTs: -1, size: size}
	var pos int64
	for pos < size {
		h, err := record.ParseBatchHeader(data[pos:])
		if err == nil && pos+int64(h.Size()) > size {
			err = fmt.Errorf("segment: truncate %s to %d: not a batch boundary", s.logPath, size)
		}
		if err != nil {
			_ = mmap.Unmap(data)
			return fmt.Errorf("segment: truncate %s to %d: at %d: %w", s.logPath, size, pos, err)
		}
		if pos == 0 {
			st.firstTs = h.MaxTimestamp
		}
		if h.MaxTimestamp > st.maxTs {
			st.maxTs, st.maxOff = h.MaxTimestamp, h.LastOffset()
		}
		st.next = h.NextOffset()
		pos += int64(h.Size())
	}
	if err := mmap.Unmap(data); err != nil {
		return fmt.Errorf("segment: truncate %s: %w", s.logPath, err)
	}
	if err := s.off.TruncateTo(st.next); err != nil {
		return fmt.Errorf("segment: truncate %s: %w", s.offPath, err)
	}
	if err := s.tim.TruncateTo(st.next); err != nil {
		return fmt.Errorf("segment: truncate %s: %w", s.timePath, err)
	}
	if size < s.size.Load() {
		// Unpublish first (a reader that acquires a mapping from now on
		// reads the lower size), then retire the current mapping and wait
		// for every older one: only they can back Views past size. (With
		// no current mapping there is no older one either; a reader that
		// maps the .log from now on maps the lower size.)
		s.publish(st)
		if err := s.retireMapping(); err != nil {
			return err
		}
		s.waitMaps(1)
	}
	if err := s.f.Truncate(size); err != nil {
		return fmt.Errorf("segment: truncate %s: %w", s.logPath, err)
	}
	if err := s.growMapping(size); err != nil {
		return err
	}
	s.publish(st)
	s.allocated, s.zeroed = size, size
	if _, pos, ok := s.off.LastEntry(); ok {
		s.sinceIndex = size - pos
	} else {
		s.sinceIndex = size
	}
	s.tailErr = nil
	return nil
}

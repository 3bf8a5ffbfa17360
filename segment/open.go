package segment

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/samsalog/samsa/index"
	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/internal/mmap"
	"github.com/samsalog/samsa/record"
)

// Open opens the existing segment with base offset base in dir without
// scanning its .log: the published end is found from the last offset-index
// entry by walking the batch headers after it (at most about one index
// interval of headers), and the max timestamp from the last time-index entry
// and those headers. No CRC is checked here; Recover does that.
//
// active=true opens the segment for appends: the .log read-write (the one
// file descriptor an idle active segment holds), the indexes writable
// (holding no descriptor, and no mapping while their entries fit their
// in-memory tails); the .log is mapped by the first Read. Index entries a
// process crash lost (those still in memory) are filled in from the header
// walk, which then covers them. If the header walk
// stops before the end of the file (a torn tail after a crash, or damage),
// Open still succeeds and publishes the whole batches it found, but Append
// returns the walk's *CorruptError until Recover and TruncateTo have decided
// what the bytes are: after an unclean stop the log recovers the active
// segment anyway.
//
// active=false opens a sealed segment lazily: after Open no file descriptor
// and no mapping is held; the first Read maps the .log and the indexes, and
// Evict lets them go again. A header walk that stops before the end of the
// file is an error matching ErrCorrupt, located by a validating scan (the
// first bad batch, not where the walk lost its way).
//
// The walk checks the offsets of the headers it reads as Recover does (the
// first batch starts at the base offset, each batch at the previous one's
// next offset: no gaps, see the package documentation).
//
// Indexes are caches. A missing index, one that fails its sanity check, one
// whose last entry does not point at a batch with that last offset, or a
// time index whose last entry (ts, o) does not name the last offset of a
// batch with MaxTimestamp ts, is rebuilt by a full validating scan of the
// .log (as Recover); for a sealed segment a scan that does not reach the
// end of the file is an ErrCorrupt. Entries before the last are checked
// when reads use them (see Read).
func Open(dir string, base int64, cfg Config, active bool) (*Segment, error) {
	if base < 0 {
		return nil, fmt.Errorf("segment: negative base offset %d", base)
	}
	s := newSegment(dir, base, cfg)
	if active {
		if err := s.openActive(); err != nil {
			s.closeWriter()
			return nil, err
		}
		return s, nil
	}
	if err := s.openSealed(); err != nil {
		return nil, err
	}
	s.sealed.Store(true)
	return s, nil
}

func (s *Segment) openActive() error {
	f, err := s.cfg.FS.OpenFile(s.logPath, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("segment: open: %w", err)
	}
	s.f = f
	fileSize, err := s.statLog(f)
	if err != nil {
		return err
	}
	rebuild := false
	if s.off, s.tim, err = s.openWritableIndexes(false); err != nil {
		if s.off, s.tim, err = s.openWritableIndexes(true); err != nil {
			return err
		}
		rebuild = true
	}
	var st walkState
	if !rebuild {
		st, rebuild, err = s.walkTail(f, fileSize, s.off, s.tim, true)
		if err != nil {
			return err
		}
	}
	if rebuild {
		r, err := s.rebuild(f, fileSize, s.base, s.off, s.tim)
		if err != nil {
			return err
		}
		st = stateOf(r)
	}
	s.publish(st)
	s.sinceIndex = st.sinceIndex
	s.tailErr = st.stop
	s.startActive()
	return nil
}

func (s *Segment) openSealed() error {
	f, err := s.cfg.FS.OpenFile(s.logPath, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("segment: open: %w", err)
	}
	defer f.Close()
	fileSize, err := s.statLog(f)
	if err != nil {
		return err
	}
	st, rebuild := walkState{}, true
	off, oerr := index.OpenOffsetIndex(s.cfg.FS, s.offPath, s.base, s.cfg.MaxIndexBytes, false)
	tim, terr := index.OpenTimeIndex(s.cfg.FS, s.timePath, s.base, s.cfg.MaxIndexBytes, false)
	if oerr == nil && terr == nil {
		st, rebuild, err = s.walkTail(f, fileSize, off, tim, false)
	}
	if off != nil {
		_ = off.Close()
	}
	if tim != nil {
		_ = tim.Close()
	}
	if err != nil {
		return err
	}
	if rebuild {
		r, err := s.rebuildSealed(f, fileSize, s.base)
		if err != nil {
			return err
		}
		st = stateOf(r)
	}
	if st.stop != nil {
		if !rebuild {
			// The header walk only covers the batches after the last
			// index entry, and stops where a damaged length or offset
			// makes it lose its way, possibly past the damaged batch:
			// locate the first bad batch with a validating scan (error
			// path only).
			if r, err := s.locate(f, fileSize); err != nil {
				return err
			} else if r.Err != nil {
				return r.Err
			}
		}
		return st.stop
	}
	s.publish(st)
	return nil
}

// locate runs a validating scan (as Recover, without touching the indexes)
// over the first fileSize bytes of f, to find the first bad batch.
func (s *Segment) locate(f fs.File, fileSize int64) (ScanResult, error) {
	return s.rebuild(f, fileSize, s.base, nil, nil)
}

func (s *Segment) statLog(f fs.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("segment: stat: %w", err)
	}
	s.created = fi.ModTime()
	if fi.Size() > MaxSize {
		return 0, corruptAt(s.logPath, MaxSize, fmt.Errorf("file size %d exceeds %d", fi.Size(), int64(MaxSize)))
	}
	return fi.Size(), nil
}

// walkState is what Open learns about a .log.
type walkState struct {
	size, next    int64
	maxTs, maxOff int64
	firstTs       int64
	sinceIndex    int64
	stop          error // why the walk ended before the end of the file
}

func stateOf(r ScanResult) walkState {
	return walkState{
		size: r.ValidBytes, next: r.NextOffset,
		maxTs: r.MaxTimestamp, maxOff: r.OffsetOfMaxTimestamp,
		firstTs: r.firstTs, sinceIndex: r.sinceIndex, stop: r.Err,
	}
}

func (s *Segment) publish(st walkState) {
	s.resetTs(st.maxTs, st.maxOff)
	s.firstTs.Store(st.firstTs)
	s.size.Store(st.size)
	s.next.Store(st.next)
}

// walkTail walks the batch headers from the last offset-index entry to the
// end of the file. rebuild reports indexes that disagree with the .log.
//
// Where the append rule would have added an entry after the last one (more
// than an index interval of batches follows it), the index lost entries: a
// process crash loses those still held in memory (up to 512 per index).
// With fill (writable indexes) the walk adds them itself, by the append
// rule, instead of asking for a rebuild: the walk covers exactly the lost
// part, at the cost of reading its headers, while a rebuild would read the
// whole .log, and after a crash the log's recovery scans the active
// segment again anyway. The time index can be filled in the same walk
// because Append writes its tail whenever the offset index writes its own,
// so its file is never behind the offset index's: its last entry holds the
// max timestamp as of the walk's start (checked at that batch, as without
// fill). Without fill (a sealed segment, whose indexes were complete when
// synced at Seal), lost entries mean a rebuild.
func (s *Segment) walkTail(r io.ReaderAt, fileSize int64, off *index.OffsetIndex, tim *index.TimeIndex, fill bool) (st walkState, rebuild bool, err error) {
	if off.SanityCheck() != nil || tim.SanityCheck() != nil {
		return st, true, nil
	}
	st = walkState{next: s.base, maxTs: -1, maxOff: s.base, firstTs: -1}
	entryOff, pos, haveEntry := off.LastEntry()
	if haveEntry && (pos <= 0 || pos >= fileSize) {
		return st, true, nil
	}
	lastTs, lastTsOff, haveTs := tim.LastEntry()
	if haveTs {
		st.maxTs, st.maxOff = lastTs, lastTsOff
	}
	var hdr [record.BatchHeaderSize]byte
	if fileSize >= record.BatchHeaderSize {
		if _, err := r.ReadAt(hdr[:], 0); err != nil {
			return st, false, fmt.Errorf("segment: read %s: %w", s.logPath, err)
		}
		h, err := record.ParseBatchHeader(hdr[:])
		if err == nil && h.BaseOffset != s.base {
			// The first batch does not start at the segment's base
			// offset: the scan of a rebuild reports it.
			return st, true, nil
		}
		if err == nil {
			st.firstTs = h.MaxTimestamp
		}
	}
	start := pos
	if !haveEntry {
		start, pos = 0, 0
		st.next = s.base
	}
	interval := int64(s.cfg.IndexIntervalBytes)
	since := int64(0) // bytes appended since the last index entry, as Append counts them
	for pos < fileSize {
		if fileSize-pos < record.BatchHeaderSize {
			st.stop = corruptAt(s.logPath, pos, fmt.Errorf("%w: %d bytes at end of file", record.ErrTruncated, fileSize-pos))
			break
		}
		if _, err := r.ReadAt(hdr[:], pos); err != nil {
			return st, false, fmt.Errorf("segment: read %s: %w", s.logPath, err)
		}
		h, err := record.ParseBatchHeader(hdr[:])
		if err == nil && pos+int64(h.Size()) > fileSize {
			err = fmt.Errorf("%w: batch of %d bytes, %d left in file", record.ErrTruncated, h.Size(), fileSize-pos)
		}
		if err == nil {
			want := st.next
			if haveEntry && pos == start {
				// The base offset of the entry's batch is checked through
				// its last offset, the entry's key, below.
				want = h.BaseOffset
			}
			err = s.checkOffsets(h, want)
		}
		if haveEntry && pos == start {
			if err != nil || h.LastOffset() != entryOff {
				return st, true, nil // the index does not describe this file
			}
			if h.MaxTimestamp >= 0 && (!haveTs || h.MaxTimestamp > st.maxTs) {
				// The time index got (max so far) when this entry was
				// written: it lost entries.
				return st, true, nil
			}
		}
		if err != nil {
			st.stop = corruptAt(s.logPath, pos, err)
			break
		}
		if h.MaxTimestamp > st.maxTs {
			st.maxTs, st.maxOff = h.MaxTimestamp, h.LastOffset()
		}
		if since > interval && pos != start {
			// The append rule would have added an entry for this batch:
			// the index lost entries (zeroed, missing).
			if !fill {
				return st, true, nil
			}
			if off.Append(h.LastOffset(), pos) != nil || tim.MaybeAppend(st.maxTs, st.maxOff) != nil {
				return st, true, nil
			}
			since = 0
		}
		since += int64(h.Size())
		st.next = h.NextOffset()
		pos += int64(h.Size())
	}
	if st.maxTs >= 0 && st.maxOff >= st.next {
		return st, true, nil // time index points past the data
	}
	if haveTs && !s.timeEntryHolds(r, pos, off, lastTs, lastTsOff) {
		return st, true, nil // the time index does not describe this file
	}
	st.size = pos
	st.sinceIndex = since
	return st, false, nil
}

// timeEntryHolds reports whether the time-index entry (ts, o) describes the
// first end bytes of the .log: o must be the last offset of a batch whose
// MaxTimestamp is ts (the batch that first carried the max timestamp when
// the entry was written). The batch is found through the offset index (its
// entry checked too), so this reads about an index interval of headers.
func (s *Segment) timeEntryHolds(r io.ReaderAt, end int64, off *index.OffsetIndex, ts, o int64) bool {
	key, pos := off.Lookup(o)
	want := int64(-1) // base offset expected at pos; -1: an offset-index entry's batch, checked by its key
	switch {
	case pos == 0:
		want = s.base
	case pos < 0 || pos >= end:
		return false
	}
	var hdr [record.BatchHeaderSize]byte
	for end-pos >= record.BatchHeaderSize {
		if _, err := r.ReadAt(hdr[:], pos); err != nil {
			return false // the rebuild reports it
		}
		h, err := record.ParseBatchHeader(hdr[:])
		switch {
		case err != nil, int64(h.Size()) > end-pos:
			return false
		case want < 0 && h.LastOffset() != key, want >= 0 && h.BaseOffset != want:
			return false
		case h.LastOffset() >= o:
			return h.LastOffset() == o && h.MaxTimestamp == ts
		}
		want = h.NextOffset()
		pos += int64(h.Size())
	}
	return false
}

// checkOffsets checks a batch's offsets against the segment and the previous
// batch: its base offset must be next, the previous batch's next offset (or
// the segment's base offset for the first batch). Batches are contiguous
// because nothing removes records from the middle of a segment yet; when
// compaction lands, gaps become legal (base offset above next) and other
// checks must take over (see the package documentation).
func (s *Segment) checkOffsets(h record.BatchHeader, next int64) error {
	switch {
	case h.BaseOffset < s.base:
		return fmt.Errorf("base offset %d below the segment's base offset %d", h.BaseOffset, s.base)
	case h.BaseOffset != next:
		return offsetsError(h, next)
	case h.LastOffset()-s.base > maxRelOffset:
		return fmt.Errorf("last offset %d does not fit a relative offset from base %d", h.LastOffset(), s.base)
	}
	return nil
}

// rebuildSealed rebuilds the indexes of a sealed segment from a full scan.
func (s *Segment) rebuildSealed(f fs.File, fileSize, prevNext int64) (ScanResult, error) {
	off, tim, err := s.openWritableIndexes(true)
	if err != nil {
		return ScanResult{}, err
	}
	defer off.Close()
	defer tim.Close()
	r, err := s.rebuild(f, fileSize, prevNext, off, tim)
	if err != nil {
		return r, err
	}
	if r.MaxTimestamp >= 0 {
		if err := tim.MaybeAppend(r.MaxTimestamp, r.OffsetOfMaxTimestamp); err != nil && !errors.Is(err, index.ErrIndexFull) {
			return r, fmt.Errorf("segment: rebuild %s: %w", s.timePath, err)
		}
	}
	for _, x := range []interface {
		Seal() error
		Sync() error
	}{off, tim} {
		if err := x.Seal(); err != nil {
			return r, fmt.Errorf("segment: rebuild: %w", err)
		}
		if err := x.Sync(); err != nil {
			return r, fmt.Errorf("segment: rebuild: %w", err)
		}
	}
	return r, nil
}

// rebuild maps the first fileSize bytes of f and scans them, rebuilding
// off and tim.
func (s *Segment) rebuild(f fs.File, fileSize, prevNext int64, off *index.OffsetIndex, tim *index.TimeIndex) (ScanResult, error) {
	data, err := mmap.Map(f.Fd(), int(fileSize))
	if err != nil {
		return ScanResult{}, fmt.Errorf("segment: %s: %w", s.logPath, err)
	}
	r, err := s.scan(data, prevNext, off, tim)
	if uerr := mmap.Unmap(data); err == nil && uerr != nil {
		err = fmt.Errorf("segment: %s: %w", s.logPath, uerr)
	}
	return r, err
}

package segment

import (
	"fmt"
	"os"

	"github.com/samsalog/samsa/index"
	"github.com/samsalog/samsa/internal/mmap"
	"github.com/samsalog/samsa/record"
)

// Read returns whole batches starting with the batch that contains offset
// (found by a floor lookup in the offset index and a walk over the batch
// headers after it). It stops before a batch whose base offset is at least
// maxOffset and before the total would pass maxBytes; with minOne the first
// batch is returned even when it alone is larger than maxBytes. The View
// may start with records below offset (whole batches); the caller skips
// them.
//
// Offset at or past NextOffset, or at or past maxOffset, gives an empty
// View and no error; offset below the base offset reads from the start.
//
// Everything returned was checked against its neighbours (DESIGN, "crash
// safety"): each header parses and its batch ends inside the published
// data, the first batch of the segment starts at the base offset, and each
// batch starts at the next offset of the one before it (see Recover for
// why there are no gaps). The index entry a read starts from is checked
// too: the batch at its position must parse and end at its key; an entry
// that fails is not trusted (the read walks from position 0 instead, and
// the index is rebuilt: see Close). A batch that fails these checks is a
// *CorruptError naming the file and its position; when good batches come
// before it they are returned and the next Read reports it. The CRC is
// not checked here (decoding does).
//
// Read makes no system call and does not allocate once the segment is
// mapped (except for an error): the first Read of a segment maps the .log
// (and, for a sealed segment, opens the indexes; also the first after
// Evict). The View must be released. Safe for concurrent use, also with
// Append, Seal and the growth of the mapping.
func (s *Segment) Read(offset int64, maxBytes int, maxOffset int64, minOne bool) (View, error) {
	m, next, size, err := s.acquire()
	if err != nil {
		return View{}, err
	}
	if offset >= next || offset >= maxOffset || size == 0 || (maxBytes <= 0 && !minOne) {
		m.release()
		return View{}, nil
	}
	data := m.data[:size]
	// pos is the batch to parse next and want its base offset; key >= 0
	// while pos is an index entry's position not checked yet (its batch's
	// base offset is unknown, its last offset must be key).
	pos, want, key := int64(0), s.base, int64(-1)
	if offset > s.base {
		if k, p := m.res.off.Lookup(offset); p > 0 && p < size {
			pos, key = p, k
		}
	}
	fellBack := false
	// Find the batch whose last offset is at least offset.
	var h record.BatchHeader
	for {
		if pos >= size {
			m.release()
			return View{}, nil
		}
		h, err = headerAt(data, pos)
		if key >= 0 {
			if err != nil || h.LastOffset() != key {
				// The entry does not describe the .log: walk from the
				// start, which is always right.
				pos, want, key, fellBack = 0, s.base, -1, true
				continue
			}
			key = -1
		} else if err == nil && h.BaseOffset != want {
			err = offsetsError(h, want)
		}
		if err != nil {
			m.release()
			return View{}, corruptAt(s.logPath, pos, err)
		}
		if h.LastOffset() >= offset {
			break
		}
		want = h.NextOffset()
		pos += int64(h.Size())
	}
	if fellBack {
		// The walk from the start found the batch without meeting damage:
		// the index entry was wrong.
		s.indexSuspect.Store(true)
	}
	start, end := pos, pos
	budget := int64(maxBytes)
	for {
		if h.BaseOffset >= maxOffset {
			break
		}
		bs := int64(h.Size())
		if end+bs-start > budget && !(minOne && end == start) {
			break
		}
		end += bs
		if end >= size {
			break
		}
		want = h.NextOffset()
		h, err = headerAt(data, end)
		if err != nil || h.BaseOffset != want {
			// Return what is good (end > start here); the next Read,
			// starting at this batch, reports the damage.
			break
		}
	}
	if end == start {
		m.release()
		return View{}, nil
	}
	return View{Data: data[start:end:end], m: m}, nil
}

// headerAt parses the batch header at pos of the published data and checks
// the batch ends inside it. The error is the cause alone (no allocation):
// the caller locates it with corruptAt.
func headerAt(data []byte, pos int64) (record.BatchHeader, error) {
	h, err := record.ParseBatchHeader(data[pos:])
	if err == nil && int64(h.Size()) > int64(len(data))-pos {
		err = record.ErrTruncated
	}
	return h, err
}

// offsetsError is why a batch whose base offset is not want does not
// follow its predecessor (or, for the first batch, the segment's base).
func offsetsError(h record.BatchHeader, want int64) error {
	if h.BaseOffset < want {
		return fmt.Errorf("base offset %d below expected %d", h.BaseOffset, want)
	}
	return fmt.Errorf("base offset %d leaves a gap after %d (no gaps before compaction)", h.BaseOffset, want)
}

// acquire returns the current mapping with a reference taken, and the next
// offset and size published when it was taken (never past the mapping).
// The first Read maps the .log (of an active segment too); a mapping
// shorter than the published size (a reader mapped the active .log while
// the writer appended past it) is replaced by a longer one.
func (s *Segment) acquire() (*mapping, int64, int64, error) {
	for {
		m := s.cur.Load()
		if m == nil {
			if err := s.load(0); err != nil {
				return nil, 0, 0, err
			}
			continue
		}
		if !m.tryAcquire() {
			continue // retired under us; the segment already holds a new one
		}
		next := s.next.Load() // next before size: see Segment
		size := s.size.Load()
		if size <= int64(len(m.data)) {
			return m, next, size, nil
		}
		m.release()
		if err := s.load(size); err != nil {
			return nil, 0, 0, err
		}
	}
}

// load makes the current mapping cover at least size bytes (and the
// published size), mapping the .log if it is not mapped.
func (s *Segment) load(size int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	if m := s.cur.Load(); m != nil && int64(len(m.data)) >= size {
		return nil
	}
	return s.mapLocked(size)
}

// mapLocked maps the .log again, for at least size bytes and the published
// size, makes that the current mapping and drops the segment's reference
// to the old one, which is unmapped when its last View is released. A
// sealed segment that is not loaded also opens its indexes, read-only.
// s.mu is held.
func (s *Segment) mapLocked(size int64) error {
	data, err := s.mapLog(size)
	if err != nil {
		return err
	}
	if s.res == nil {
		if s.indexSuspect.Load() {
			// A reader found an index entry that does not describe the
			// .log: rebuild the indexes before loading them again.
			if err := s.rebuildSuspect(); err != nil {
				_ = mmap.Unmap(data)
				return err
			}
		}
		off, err := index.OpenOffsetIndex(s.cfg.FS, s.offPath, s.base, s.cfg.MaxIndexBytes, false)
		if err != nil {
			_ = mmap.Unmap(data)
			return fmt.Errorf("segment: load: %w", err)
		}
		tim, err := index.OpenTimeIndex(s.cfg.FS, s.timePath, s.base, s.cfg.MaxIndexBytes, false)
		if err != nil {
			_ = off.Close()
			_ = mmap.Unmap(data)
			return fmt.Errorf("segment: load: %w", err)
		}
		s.res = newResources(s, off, tim)
		s.lastRes = s.res
	}
	if old := s.cur.Swap(newMapping(data, s.res)); old != nil {
		return old.release()
	}
	return nil
}

// rebuildSuspect rebuilds the indexes of a sealed segment that is not
// loaded, by a validating scan of its published bytes (as Recover). The
// indexes stay suspect when the scan meets damage: reads report it, and
// the next Open decides. s.mu is held.
func (s *Segment) rebuildSuspect() error {
	f, err := s.cfg.FS.OpenFile(s.logPath, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("segment: load: %w", err)
	}
	defer f.Close()
	r, err := s.rebuildSealed(f, s.size.Load(), s.base)
	if err != nil {
		return err
	}
	if r.Err == nil {
		s.indexSuspect.Store(false)
	}
	return nil
}

// mapLog maps the .log: through the write handle of an active segment,
// with a length that doubles as the segment grows (readers never touch the
// pages past the published size, so the mapping may pass the end of the
// file); or, for a sealed segment, through a descriptor opened for it and
// closed at once, exactly its size (the mapping outlives the descriptor: a
// sealed segment holds none).
func (s *Segment) mapLog(size int64) ([]byte, error) {
	s.fileMu.RLock()
	defer s.fileMu.RUnlock()
	if s.f != nil {
		data, err := mmap.Map(s.f.Fd(), mapLen(max(size, s.size.Load())))
		if err != nil {
			return nil, fmt.Errorf("segment: %s: %w", s.logPath, err)
		}
		return data, nil
	}
	f, err := s.cfg.FS.OpenFile(s.logPath, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("segment: load: %w", err)
	}
	data, err := mmap.Map(f.Fd(), int(s.size.Load()))
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		_ = mmap.Unmap(data)
		return nil, fmt.Errorf("segment: load %s: %w", s.logPath, err)
	}
	return data, nil
}

// Evict lets a sealed segment's mapping and indexes go, so that a process
// with many segments keeps its mappings bounded; the next Read loads them
// again. Views still held stay valid. Evict of an active or unloaded segment
// is a no-op. Like Close, it is a writer operation (not concurrent with
// Seal, Close or Delete); Reads may run concurrently.
func (s *Segment) Evict() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sealed.Load() || s.closed.Load() || s.f != nil {
		return nil
	}
	var err error
	if m := s.cur.Swap(nil); m != nil {
		err = m.release()
	}
	if s.res != nil {
		if rerr := s.res.release(); err == nil {
			err = rerr
		}
		s.res = nil
	}
	s.off, s.tim = nil, nil
	if err != nil {
		return fmt.Errorf("segment: evict %s: %w", s.logPath, err)
	}
	return nil
}

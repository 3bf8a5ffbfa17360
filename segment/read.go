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
// A batch header that fails parsing in the published part of the .log is a
// *CorruptError.
//
// Read makes no system call and does not allocate once the segment is
// mapped: the first Read of a segment maps the .log (and, for a sealed
// segment, opens the indexes; also the first after Evict). The View must be released. Safe for
// concurrent use, also with Append, Seal and the growth of the mapping.
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
	pos := int64(0)
	if offset > s.base {
		if _, p := m.res.off.Lookup(offset); p > 0 && p < size {
			pos = p
		}
	}
	// Find the batch whose last offset is at least offset.
	var h record.BatchHeader
	for {
		if pos >= size {
			m.release()
			return View{}, nil
		}
		h, err = s.header(data, pos)
		if err != nil {
			m.release()
			return View{}, err
		}
		if h.LastOffset() >= offset {
			break
		}
		pos += int64(h.Size())
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
		h, err = s.header(data, end)
		if err != nil {
			if end > start {
				break // return what is good; the next Read reports the damage
			}
			m.release()
			return View{}, err
		}
	}
	if end == start {
		m.release()
		return View{}, nil
	}
	return View{Data: data[start:end:end], m: m}, nil
}

// header parses the batch header at pos of the published data and checks
// the batch ends inside it.
func (s *Segment) header(data []byte, pos int64) (record.BatchHeader, error) {
	h, err := record.ParseBatchHeader(data[pos:])
	if err == nil && int64(h.Size()) > int64(len(data))-pos {
		err = record.ErrTruncated
	}
	if err != nil {
		return h, corruptAt(s.logPath, pos, err)
	}
	return h, nil
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

package index

import (
	"encoding/binary"
	"fmt"

	"github.com/samsalog/samsa/internal/fs"
)

// TimeEntrySize is the size of one .timeindex entry: timestamp i64 BE,
// relative offset u32 BE.
const TimeEntrySize = 12

// TimeIndex is a segment's time index (Kafka's .timeindex): sparse entries
// (T, O) meaning no record at or before offset O has a timestamp above T.
// Timestamps strictly increase, offsets do not decrease.
//
// Concurrency: as OffsetIndex. Lookup, LastEntry, Entries, IsFull,
// BaseOffset and SanityCheck are safe at any time from any goroutine.
type TimeIndex struct {
	c       core
	lastTs  int64  // writer side: the last entry, valid when entries > 0
	lastRel uint32 //
}

// OpenTimeIndex opens the time index at path; writable and maxBytes
// (rounded down to a multiple of 12) work as in OpenOffsetIndex.
func OpenTimeIndex(fsys fs.FS, path string, baseOffset int64, maxBytes int, writable bool) (*TimeIndex, error) {
	x := &TimeIndex{}
	if err := x.c.init(fsys, path, baseOffset, maxBytes, TimeEntrySize, 8, writable); err != nil {
		return nil, err
	}
	x.refreshLast()
	return x, nil
}

func (x *TimeIndex) refreshLast() {
	x.lastTs, x.lastRel = -1, 0
	if s, ok := x.c.writerSnap(); ok && s.n > 0 {
		e := s.entry(s.n-1, TimeEntrySize)
		x.lastTs, x.lastRel = int64(binary.BigEndian.Uint64(e)), binary.BigEndian.Uint32(e[8:])
	}
}

// BaseOffset returns the segment's base offset.
func (x *TimeIndex) BaseOffset() int64 { return x.c.base }

// Entries returns the number of entries readers can see.
func (x *TimeIndex) Entries() int { return int(x.c.n.Load()) }

// IsFull reports whether the segment must roll: as in Kafka, the last slot
// is kept for the final entry MaybeAppend writes when the segment is
// sealed, so the index is full one slot early. A sealed index is full.
func (x *TimeIndex) IsFull() bool { return x.c.n.Load() >= x.c.capN.Load()-1 }

// MaybeAppend adds the entry (ts, offset) if ts is greater than the last
// entry's timestamp (-1 when empty), and otherwise does nothing: ts is the
// greatest timestamp seen in the segment so far, offset the last offset of
// the batch that carried it. The entry (0, BaseOffset()) is not written
// either: its bytes are all zero, which is how an unwritten slot looks, and
// without it lookups merely start at the segment's beginning. The reserved
// last slot may be used (see IsFull). The entry goes into the in-memory
// tail, as with OffsetIndex.Append. Errors: ErrNotIncreasing (offset below
// the last entry's, as Kafka), ErrOutOfRange, ErrIndexFull, ErrReadOnly,
// ErrClosed, or the error of the write of a full tail (a full disk matches
// fs.ErrNoSpace). No system call and no allocation, except once per 512
// entries (and while the first tail grows), as OffsetIndex.Append.
func (x *TimeIndex) MaybeAppend(ts, offset int64) error {
	c := &x.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.writerCheck(); err != nil {
		return err
	}
	rel, err := c.relOf(offset)
	if err != nil {
		return err
	}
	if c.n.Load() > 0 && rel < x.lastRel {
		return fmt.Errorf("%w: %s: offset %d after %d", ErrNotIncreasing, c.path, offset, c.base+int64(x.lastRel))
	}
	if ts <= x.lastTs || (ts == 0 && rel == 0) {
		return nil
	}
	var e [TimeEntrySize]byte
	binary.BigEndian.PutUint64(e[0:], uint64(ts))
	binary.BigEndian.PutUint32(e[8:], rel)
	if err := c.appendEntry(e[:]); err != nil {
		return err
	}
	x.lastTs, x.lastRel = ts, rel
	return nil
}

// Written returns how many entries are in the file, as
// OffsetIndex.Written.
func (x *TimeIndex) Written() int { return x.c.writtenEntries() }

// Lookup returns the entry with the greatest timestamp <= ts: a reader
// looking for the first record at or after ts starts at entryOffset's
// batch (through the offset index). With no such entry it returns
// (-1, BaseOffset()). Safe to call concurrently with every other method;
// no allocation, no system call.
func (x *TimeIndex) Lookup(ts int64) (entryTs, offset int64) {
	c := &x.c
	g := c.acquire()
	if g == nil {
		return -1, c.base
	}
	s := c.snap(g)
	// The number of entries with timestamp <= ts: in the tail if its first
	// entry qualifies, else in the mapped part.
	var k int
	if s.n > s.m && int64(binary.BigEndian.Uint64(s.tail)) <= ts {
		k = s.m + upperTs(s.tail, s.n-s.m, ts)
	} else {
		k = upperTs(s.d, s.m, ts)
	}
	if k == 0 {
		g.release()
		return -1, c.base
	}
	e := s.entry(k-1, TimeEntrySize)
	t, rel := int64(binary.BigEndian.Uint64(e)), binary.BigEndian.Uint32(e[8:])
	g.release()
	return t, c.base + int64(rel)
}

// upperTs returns the number of the first n time entries of d whose
// timestamp is <= ts (the timestamps increase).
func upperTs(d []byte, n int, ts int64) int {
	lo, hi := 0, n
	for lo < hi { // first entry with timestamp > ts
		mid := int(uint(lo+hi) >> 1)
		if int64(binary.BigEndian.Uint64(d[mid*TimeEntrySize:])) <= ts {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// LastEntry returns the last entry; ok is false (and the result is
// (-1, BaseOffset())) when there is none. Safe for concurrent use.
func (x *TimeIndex) LastEntry() (ts, offset int64, ok bool) {
	c := &x.c
	g := c.acquire()
	if g == nil {
		return -1, c.base, false
	}
	defer g.release()
	s := c.snap(g)
	if s.n == 0 {
		return -1, c.base, false
	}
	e := s.entry(s.n-1, TimeEntrySize)
	return int64(binary.BigEndian.Uint64(e)), c.base + int64(binary.BigEndian.Uint32(e[8:])), true
}

// TruncateTo drops the entries whose offset is >= offset, as
// OffsetIndex.TruncateTo.
func (x *TimeIndex) TruncateTo(offset int64) error {
	x.c.mu.Lock()
	defer x.c.mu.Unlock()
	err := x.c.truncateRel(offset - x.c.base)
	x.refreshLast()
	return err
}

// Reset drops every entry and makes the index writable, as
// OffsetIndex.Reset.
func (x *TimeIndex) Reset() error {
	x.c.mu.Lock()
	defer x.c.mu.Unlock()
	err := x.c.reset()
	x.refreshLast()
	return err
}

// Seal trims the file and makes the index read-only, as OffsetIndex.Seal.
// Append the segment's final entry with MaybeAppend first.
func (x *TimeIndex) Seal() error {
	x.c.mu.Lock()
	defer x.c.mu.Unlock()
	return x.c.seal()
}

// SanityCheck verifies the whole index: its size is a whole number of
// entries, timestamps strictly increase from 0 up, offsets do not decrease.
// Errors: ErrCorruptIndex, ErrClosed. See OffsetIndex.SanityCheck.
func (x *TimeIndex) SanityCheck() error {
	prevTs := int64(-1)
	var prevRel uint32
	return x.c.check(func(e []byte) bool {
		ts, rel := int64(binary.BigEndian.Uint64(e)), binary.BigEndian.Uint32(e[8:])
		if ts <= prevTs || rel < prevRel {
			return false
		}
		prevTs, prevRel = ts, rel
		return true
	})
}

// Flush writes the entries still held in memory to the file with one
// WriteAt, without syncing it, as OffsetIndex.Flush.
func (x *TimeIndex) Flush() error {
	x.c.mu.Lock()
	defer x.c.mu.Unlock()
	return x.c.flushWriter()
}

// Sync flushes the pending entries and the file to stable storage, as
// OffsetIndex.Sync.
func (x *TimeIndex) Sync() error {
	x.c.mu.Lock()
	defer x.c.mu.Unlock()
	return x.c.sync()
}

// Close flushes the pending entries and releases the mapping, as
// OffsetIndex.Close.
func (x *TimeIndex) Close() error {
	x.c.mu.Lock()
	defer x.c.mu.Unlock()
	return x.c.close()
}

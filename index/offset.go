package index

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/samsalog/samsa/internal/fs"
)

// OffsetEntrySize is the size of one .index entry: relative offset u32 BE,
// position u32 BE.
const OffsetEntrySize = 8

// OffsetIndex is a segment's offset index (Kafka's .index): sparse entries
// mapping a batch's last offset to the byte position of the batch in the
// .log file, strictly increasing in both.
//
// Concurrency: one goroutine at a time may call the writer-side methods
// (Append, Flush, TruncateTo, Reset, Seal, Sync, Close); they are also
// serialized by an internal mutex. Lookup, LastEntry, Entries, IsFull,
// BaseOffset and SanityCheck may be called from any goroutine at any time,
// including while the writer appends, truncates, seals or closes: a reader
// never touches an unmapped or truncated region (see the package
// documentation).
type OffsetIndex struct {
	c       core
	lastRel uint32 // writer side: the last entry, valid when entries > 0
	lastPos uint32
}

// OpenOffsetIndex opens the offset index at path for the segment whose base
// offset is baseOffset.
//
// writable (the active segment): the file is created if missing and sized
// to maxBytes rounded down to a multiple of 8 with Truncate alone (sparse:
// no block is reserved, and a full disk is an error matching fs.ErrNoSpace
// from the write of a tail, never a SIGBUS). Its end is found from its
// contents (the first all-zero slot), never from its size, cheaply: the
// search is bounded by where the file's data ends (SEEK_HOLE), so an index
// without entries costs no read and one with up to 512 entries one read.
// Up to 512 entries are read into memory and the file is not mapped until
// more are written; a larger index is mapped read-only (MADV_RANDOM). No
// file descriptor is kept: writes open the file, and close it. A file
// larger than maxBytes keeps its entries and loses its empty slots.
//
// !writable (a sealed segment): the file must exist (errors.Is(err,
// os.ErrNotExist) otherwise); it was trimmed by Seal, so its size gives the
// end and only the last slot is read, unless that slot is zero (it was not
// trimmed) and the end is then found from the contents. Nothing is scanned
// and no file descriptor is kept: only the mapping. maxBytes is the
// capacity used if the index is Reset.
//
// Open does not verify the entries: call SanityCheck.
func OpenOffsetIndex(fsys fs.FS, path string, baseOffset int64, maxBytes int, writable bool) (*OffsetIndex, error) {
	x := &OffsetIndex{}
	if err := x.c.init(fsys, path, baseOffset, maxBytes, OffsetEntrySize, 0, writable); err != nil {
		return nil, err
	}
	x.refreshLast()
	return x, nil
}

// refreshLast reloads the writer's copy of the last entry.
func (x *OffsetIndex) refreshLast() {
	x.lastRel, x.lastPos = 0, 0
	if s, ok := x.c.writerSnap(); ok && s.n > 0 {
		e := s.entry(s.n-1, OffsetEntrySize)
		x.lastRel, x.lastPos = binary.BigEndian.Uint32(e), binary.BigEndian.Uint32(e[4:])
	}
}

// BaseOffset returns the segment's base offset.
func (x *OffsetIndex) BaseOffset() int64 { return x.c.base }

// Entries returns the number of entries readers can see.
func (x *OffsetIndex) Entries() int { return int(x.c.n.Load()) }

// IsFull reports whether Append would fail with ErrIndexFull: every slot is
// used. A sealed index is always full.
func (x *OffsetIndex) IsFull() bool { return x.c.n.Load() >= x.c.capN.Load() }

// Append adds the entry (offset, position): offset is the last offset of
// the batch that starts at byte position of the .log. Both must be greater
// than the last entry's, the position greater than 0 (the segment's first
// batch, at 0, never gets an entry: it is the implicit (baseOffset, 0)).
// The entry goes into the in-memory tail and is published to readers at
// once; it reaches the file when the tail is full (512 entries, written
// with one WriteAt by the append that finds it full), or at Flush, Sync,
// Seal or Close. Errors: ErrIndexFull, ErrNotIncreasing, ErrOutOfRange,
// ErrReadOnly, ErrClosed, or the error of the write of a full tail (a full
// disk matches fs.ErrNoSpace; the entry is then not added). No system call
// except once per 512 entries (the write of the full tail: open, WriteAt,
// close; the first one also maps the file). One allocation per 512 entries
// (a new tail), plus a few while the first tail after an open grows from 8
// entries to 512.
func (x *OffsetIndex) Append(offset, position int64) error {
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
	if position < 0 || position > math.MaxUint32 {
		return fmt.Errorf("%w: %s: position %d", ErrOutOfRange, c.path, position)
	}
	if n := c.n.Load(); (n > 0 && rel <= x.lastRel) || uint32(position) <= x.lastPos {
		return fmt.Errorf("%w: %s: (%d, %d) after (%d, %d)", ErrNotIncreasing, c.path,
			offset, position, c.base+int64(x.lastRel), x.lastPos)
	}
	var e [OffsetEntrySize]byte
	binary.BigEndian.PutUint32(e[0:], rel)
	binary.BigEndian.PutUint32(e[4:], uint32(position))
	if err := c.appendEntry(e[:]); err != nil {
		return err
	}
	x.lastRel, x.lastPos = rel, uint32(position)
	return nil
}

// Written returns how many entries are in the file: the first Written() of
// Entries(); the others are in memory until the next write of the tail.
// A caller that wants two indexes to lose the same entries in a crash can
// Flush the second when the first's Written() changes.
func (x *OffsetIndex) Written() int { return x.c.writtenEntries() }

// Lookup returns the entry with the greatest offset <= offset: where a
// reader of offset starts scanning batch headers. With no such entry it
// returns (BaseOffset(), 0), the segment's first batch. The position is
// what the file says: the caller checks it against the .log's size.
// Safe to call concurrently with every other method; no allocation, no
// system call.
func (x *OffsetIndex) Lookup(offset int64) (entryOffset, position int64) {
	c := &x.c
	base := c.base
	if offset < base {
		return base, 0
	}
	g := c.acquire()
	if g == nil {
		return base, 0
	}
	target := uint32(math.MaxUint32)
	if offset-base < math.MaxUint32 {
		target = uint32(offset - base)
	}
	s := c.snap(g)
	// The number of entries with key <= target: in the tail if its first
	// entry qualifies, else in the mapped part.
	var k int
	if s.n > s.m && binary.BigEndian.Uint32(s.tail) <= target {
		k = s.m + upperU32(s.tail, s.n-s.m, target)
	} else {
		k = upperU32(s.d, s.m, target)
	}
	if k == 0 {
		g.release()
		return base, 0
	}
	e := s.entry(k-1, OffsetEntrySize)
	rel, pos := binary.BigEndian.Uint32(e), binary.BigEndian.Uint32(e[4:])
	g.release()
	return base + int64(rel), int64(pos)
}

// upperU32 returns the number of the first n offset entries of d whose key
// is <= target (the keys increase).
func upperU32(d []byte, n int, target uint32) int {
	lo, hi := 0, n
	for lo < hi { // first entry with key > target
		mid := int(uint(lo+hi) >> 1)
		if binary.BigEndian.Uint32(d[mid*OffsetEntrySize:]) <= target {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// LastEntry returns the last entry; ok is false (and the result is
// (BaseOffset(), 0)) when there is none. Safe for concurrent use.
func (x *OffsetIndex) LastEntry() (offset, position int64, ok bool) {
	c := &x.c
	g := c.acquire()
	if g == nil {
		return c.base, 0, false
	}
	defer g.release()
	s := c.snap(g)
	if s.n == 0 {
		return c.base, 0, false
	}
	e := s.entry(s.n-1, OffsetEntrySize)
	return c.base + int64(binary.BigEndian.Uint32(e)), int64(binary.BigEndian.Uint32(e[4:])), true
}

// TruncateTo drops the entries whose offset is >= offset. On a writable
// index the dropped slots are zeroed (after the readers that could see them
// have left), so the end found at the next open is right; on a sealed index
// the file is cut to the remaining entries, after the longer mapping was
// replaced and its last reader left. Errors: ErrClosed, or the file's.
func (x *OffsetIndex) TruncateTo(offset int64) error {
	x.c.mu.Lock()
	defer x.c.mu.Unlock()
	err := x.c.truncateRel(offset - x.c.base)
	x.refreshLast()
	return err
}

// Reset drops every entry, whatever the state of the file (a failed
// SanityCheck): the file is cut to nothing and sized to maxBytes again
// (sparse), so the index is writable afterwards even if it was sealed; the
// caller appends the rebuilt entries and seals it again. Concurrent readers
// see no entries from the start of the call. Errors: ErrClosed, the
// file's.
func (x *OffsetIndex) Reset() error {
	x.c.mu.Lock()
	defer x.c.mu.Unlock()
	err := x.c.reset()
	x.refreshLast()
	return err
}

// Seal makes the index read-only: the pending entries are flushed (see
// Flush; on error the index stays writable), the file is trimmed to its
// entries and mapped at exactly that size. The longer mapping (if any) is
// unmapped, and the file cut, only after the last concurrent reader left
// it. A sealed index is full. Sealing twice is a no-op. Seal does not
// sync: call Sync.
func (x *OffsetIndex) Seal() error {
	x.c.mu.Lock()
	defer x.c.mu.Unlock()
	return x.c.seal()
}

// SanityCheck verifies the whole index: its size is a whole number of
// entries, offsets strictly increase from the base offset, positions
// strictly increase from above 0. It reads every entry (about a
// nanosecond each once in memory) and holds up a concurrent Seal or
// TruncateTo meanwhile. It does not know the .log: the caller also checks
// that LastEntry's position lies inside the .log. Errors: ErrCorruptIndex,
// ErrClosed.
func (x *OffsetIndex) SanityCheck() error {
	var prevRel int64 = -1
	var prevPos int64
	return x.c.check(func(e []byte) bool {
		rel, pos := int64(binary.BigEndian.Uint32(e)), int64(binary.BigEndian.Uint32(e[4:]))
		if rel <= prevRel || pos <= prevPos {
			return false
		}
		prevRel, prevPos = rel, pos
		return true
	})
}

// Flush writes the entries still held in memory (at most 512) to the file
// with one WriteAt, without syncing it: a process that stops afterwards,
// even uncleanly, leaves them in the file (a machine crash may still lose
// them: see Sync). Appends flush by themselves every 512 entries, and Sync,
// Seal and Close flush. On error the entries stay pending and published,
// and the next Flush writes them again. No-op on a sealed index.
// Errors: ErrClosed, that of an earlier failed TruncateTo or Reset (the
// index is unusable until a Reset succeeds), or the write's (a full disk
// matches fs.ErrNoSpace).
func (x *OffsetIndex) Flush() error {
	x.c.mu.Lock()
	defer x.c.mu.Unlock()
	return x.c.flushWriter()
}

// Sync flushes the pending entries (see Flush) and then the file to stable
// storage (fdatasync, through a descriptor opened for it). An index with
// nothing written since it was opened or last synced has nothing to sync.
func (x *OffsetIndex) Sync() error {
	x.c.mu.Lock()
	defer x.c.mu.Unlock()
	return x.c.sync()
}

// Close flushes the pending entries (see Flush; they are lost if that
// write fails, and its error is returned), then releases the mapping (after
// the last concurrent reader left it). A writable index is not
// trimmed: reopened writable, its end is found from its contents; call Seal
// first to trim. Lookups after Close find no entry. Closing twice is a
// no-op.
func (x *OffsetIndex) Close() error {
	x.c.mu.Lock()
	defer x.c.mu.Unlock()
	return x.c.close()
}

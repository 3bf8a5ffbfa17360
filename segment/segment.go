package segment

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsalog/samsa/index"
	"github.com/samsalog/samsa/internal/fs"
)

// File suffixes of a segment's files.
const (
	LogSuffix       = ".log"
	IndexSuffix     = ".index"
	TimeIndexSuffix = ".timeindex"
	// DeletedSuffix is appended to the name of each file of a segment
	// being deleted (Kafka's ".deleted"). A log that finds such files at
	// open removes them: the deletion was decided before a crash.
	DeletedSuffix = ".deleted"
)

// Defaults of Config.
const (
	DefaultIndexIntervalBytes = 4096
	DefaultMaxIndexBytes      = 10 << 20
	DefaultPreallocateBytes   = 4 << 20
	// DefaultZeroAheadBytes is the block to turn Config.ZeroAheadBytes on
	// with (the option is off by default).
	DefaultZeroAheadBytes = 1 << 20
)

// MaxSize is the largest a .log may grow: index entries store 32-bit
// positions (Kafka's limit, Int32.MaxValue).
const MaxSize = math.MaxInt32

// minMapBytes is the smallest mapping of an active segment; it doubles as
// the segment grows past it.
const minMapBytes = 1 << 20

// Config configures a segment. The zero value means every default.
type Config struct {
	// IndexIntervalBytes is index.interval.bytes: an index entry is added
	// when more than this many bytes were appended since the last one.
	// Default 4096.
	IndexIntervalBytes int
	// MaxIndexBytes is segment.index.bytes: the capacity of each index
	// while the segment is active (the file is sized to it, sparse: no
	// disk space is reserved). Default 10 MiB.
	MaxIndexBytes int
	// PreallocateBytes is the chunk in which the .log's disk space is
	// reserved ahead of the writes (fallocate, keeping the file size), so
	// that a full disk is an fs.ErrNoSpace from Append at a chunk boundary
	// and never a fault. One fallocate per chunk; default 4 MiB. Negative
	// disables preallocation (a full disk is then reported by the write).
	PreallocateBytes int
	// ZeroAheadBytes is the block in which the reserved space of the
	// .log is written with zeros ahead of the appends: before a write
	// whose end passes the zeroed mark, the block holding its end (aligned
	// to ZeroAheadBytes, inside the reserved space) is written with zeros,
	// one pwrite per block, so that the batches written there land in the
	// large page-cache folios that write made, whose writeback (the next
	// fdatasync) costs less than that of the small folios of the batches'
	// own writes. The file's size then runs ahead of its data by up to one
	// block until Seal or Close trims it (see the package documentation).
	// One extra write per block. Default 0: off (a file copied from a
	// live segment then holds only batches); DefaultZeroAheadBytes (1 MiB)
	// is the value to turn it on with. It needs preallocation
	// (PreallocateBytes > 0): nothing is zeroed past the reserved space.
	ZeroAheadBytes int
	// FS is the filesystem; nil means fs.Default.
	FS fs.FS
}

func (c Config) withDefaults() Config {
	if c.IndexIntervalBytes <= 0 {
		c.IndexIntervalBytes = DefaultIndexIntervalBytes
	}
	if c.MaxIndexBytes <= 0 {
		c.MaxIndexBytes = DefaultMaxIndexBytes
	}
	if c.PreallocateBytes == 0 {
		c.PreallocateBytes = DefaultPreallocateBytes
	}
	c.FS = fs.Or(c.FS)
	return c
}

// Filename returns the path of the segment file with base offset base and the
// given suffix in dir: the base offset as 20 zero-padded decimal digits, as
// Kafka names them ("00000000000000000042.log").
func Filename(dir string, base int64, suffix string) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", base, suffix))
}

// Segment is one segment of a partition's log: a .log file of record batches
// and its offset and time indexes.
//
// Concurrency: one writer at a time calls Append, Seal, TruncateTo,
// Recover, Evict, Close and Delete (the log holds a mutex); any number of
// goroutines may call Read, FindOffsetByTimestamp, Sync and the accessors
// concurrently with the writer and with each other. Recover must run before
// the segment is read.
type Segment struct {
	dir      string
	base     int64
	cfg      Config
	logPath  string
	offPath  string
	timePath string
	created  time.Time

	// Writer state, owned by the single writer (active segments only).
	f          fs.File // .log, read-write; nil once sealed
	off        *index.OffsetIndex
	tim        *index.TimeIndex
	sealed     atomic.Bool
	allocated  int64 // end of the space reserved with fallocate
	zeroed     int64 // end of what this handle wrote to the .log, zeros ahead included (>= size while appending)
	sinceIndex int64 // bytes appended since the last index entry
	failed     error // sticky: an index write failed after a log write
	tailErr    error // Open found bytes past the last whole batch; Append refuses until TruncateTo/Recover

	// Published state, read by readers without locks. The writer stores
	// size before next; readers load next before size.
	size    atomic.Int64
	next    atomic.Int64
	firstTs atomic.Int64
	tsMu    sync.Mutex
	maxTs   int64
	maxOff  int64

	cur atomic.Pointer[mapping] // nil: not loaded (sealed, lazily) or closed

	// indexSuspect is set by a reader that found an index entry that
	// does not describe the .log (reads do not trust it, see Read): the
	// indexes are rebuilt when the segment is loaded again (after Evict)
	// and, since Close removes their files, by the next Open.
	indexSuspect atomic.Bool

	mu      sync.Mutex   // lazy load, close, delete, mapping swaps
	fileMu  sync.RWMutex // Sync (read) against closing f (write)
	closed  atomic.Bool
	res     *resources // the segment's reference; nil when not loaded
	lastRes *resources // the most recent resources, kept after Close to know if readers remain
	deleted atomic.Bool

	mapsMu   sync.Mutex
	mapsCond sync.Cond
	liveMaps int
}

func newSegment(dir string, base int64, cfg Config) *Segment {
	s := &Segment{
		dir:      dir,
		base:     base,
		cfg:      cfg.withDefaults(),
		logPath:  Filename(dir, base, LogSuffix),
		offPath:  Filename(dir, base, IndexSuffix),
		timePath: Filename(dir, base, TimeIndexSuffix),
		maxTs:    -1,
		maxOff:   base,
	}
	s.mapsCond.L = &s.mapsMu
	s.next.Store(base)
	s.firstTs.Store(-1)
	return s
}

// Create creates the files of a new, empty, active segment with base offset
// base in dir (which must exist). Existing files of that name are an error.
func Create(dir string, base int64, cfg Config) (*Segment, error) {
	if base < 0 {
		return nil, fmt.Errorf("segment: negative base offset %d", base)
	}
	s := newSegment(dir, base, cfg)
	fsys := s.cfg.FS
	f, err := fsys.OpenFile(s.logPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("segment: create: %w", err)
	}
	s.f = f
	s.created = time.Now()
	if s.off, s.tim, err = s.openWritableIndexes(true); err != nil {
		_ = f.Close()
		_ = fsys.Remove(s.logPath)
		return nil, err
	}
	s.startActive()
	return s, nil
}

// openWritableIndexes opens (creating if needed) both indexes for writing;
// fresh removes whatever was there first.
func (s *Segment) openWritableIndexes(fresh bool) (*index.OffsetIndex, *index.TimeIndex, error) {
	fsys := s.cfg.FS
	if fresh {
		for _, p := range []string{s.offPath, s.timePath} {
			if err := fsys.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, nil, fmt.Errorf("segment: %w", err)
			}
		}
	}
	off, err := index.OpenOffsetIndex(fsys, s.offPath, s.base, s.cfg.MaxIndexBytes, true)
	if err != nil {
		return nil, nil, fmt.Errorf("segment: open offset index: %w", err)
	}
	tim, err := index.OpenTimeIndex(fsys, s.timePath, s.base, s.cfg.MaxIndexBytes, true)
	if err != nil {
		_ = off.Close()
		return nil, nil, fmt.Errorf("segment: open time index: %w", err)
	}
	return off, tim, nil
}

// startActive creates the resources of a writable segment. The .log is
// not mapped here: the first Read maps it (see acquire), so an idle active
// segment holds one file descriptor (the .log's, for appends) and no
// mapping. The published size must be set.
func (s *Segment) startActive() {
	s.allocated = s.size.Load()
	s.zeroed = s.allocated
	s.res = newResources(s, s.off, s.tim)
	s.lastRes = s.res
}

// closeWriter closes the writer-side handles after a failed start.
func (s *Segment) closeWriter() {
	if s.f != nil {
		_ = s.f.Close()
		s.f = nil
	}
	if s.off != nil {
		_ = s.off.Close()
		s.off = nil
	}
	if s.tim != nil {
		_ = s.tim.Close()
		s.tim = nil
	}
}

// mapLen is the length to map for a .log of size bytes: a power of two, at
// least minMapBytes, so that growing to MaxSize remaps about a dozen times.
func mapLen(size int64) int {
	n := int64(minMapBytes)
	for n < size {
		n <<= 1
	}
	return int(n)
}

// BaseOffset returns the segment's base offset: a lower bound of its offsets
// and the number in its file names.
func (s *Segment) BaseOffset() int64 { return s.base }

// NextOffset returns the last offset of the published data plus one, or
// BaseOffset when the segment is empty.
func (s *Segment) NextOffset() int64 { return s.next.Load() }

// Size returns the number of bytes of the .log that are published
// (readable).
func (s *Segment) Size() int64 { return s.size.Load() }

// MaxTimestamp returns the largest batch MaxTimestamp in the segment and the
// last offset of the batch that carried it (the first such batch); ts is -1
// and offset BaseOffset when the segment is empty.
func (s *Segment) MaxTimestamp() (ts, offset int64) {
	s.tsMu.Lock()
	ts, offset = s.maxTs, s.maxOff
	s.tsMu.Unlock()
	return ts, offset
}

// FirstBatchTimestamp returns the MaxTimestamp of the first batch (what
// Kafka's segment.ms roll compares with), or -1 if the segment is empty.
func (s *Segment) FirstBatchTimestamp() int64 { return s.firstTs.Load() }

// Created returns when the segment was created (Create) or the .log's
// modification time (Open): the fallback of segment.ms when batches carry no
// timestamps.
func (s *Segment) Created() time.Time { return s.created }

// Sealed reports whether the segment takes no more appends.
func (s *Segment) Sealed() bool { return s.sealed.Load() }

// Path returns the path of the segment's .log file.
func (s *Segment) Path() string { return s.logPath }

func (s *Segment) publishTs(ts, lastOffset int64) {
	s.tsMu.Lock()
	if ts > s.maxTs {
		s.maxTs, s.maxOff = ts, lastOffset
	}
	s.tsMu.Unlock()
}

func (s *Segment) resetTs(ts, off int64) {
	s.tsMu.Lock()
	s.maxTs, s.maxOff = ts, off
	s.tsMu.Unlock()
}

// Sync makes the published bytes of the .log durable (fdatasync). Indexes
// are not synced: they are caches, rebuilt from the .log after an unclean
// stop. Sync of a sealed segment is a no-op (Seal synced it). Sync is safe
// to call concurrently with Append and with the other writer operations
// (a group commit syncs outside the append lock); bytes appended while it
// runs may or may not be covered.
func (s *Segment) Sync() error {
	s.fileMu.RLock()
	defer s.fileMu.RUnlock()
	if s.closed.Load() {
		return ErrClosed
	}
	if s.f == nil {
		return nil
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("segment: sync %s: %w", s.logPath, err)
	}
	return nil
}

// closeFile closes the .log's write handle, excluding Sync.
func (s *Segment) closeFile() error {
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// Seal ends appends: it writes the final time-index entry (the segment's max
// timestamp), trims both indexes and the .log's preallocated space to their
// real sizes, syncs the .log and the indexes and closes the write handle.
// Readers are not disturbed: they keep reading through the same mapping.
// Sealing a sealed segment is a no-op.
func (s *Segment) Seal() error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.sealed.Load() {
		return nil
	}
	if ts, off := s.MaxTimestamp(); ts >= 0 {
		if err := s.tim.MaybeAppend(ts, off); err != nil && !errors.Is(err, index.ErrIndexFull) {
			return fmt.Errorf("segment: seal %s: %w", s.timePath, err)
		}
	}
	if err := s.off.Seal(); err != nil {
		return fmt.Errorf("segment: seal %s: %w", s.offPath, err)
	}
	if err := s.tim.Seal(); err != nil {
		return fmt.Errorf("segment: seal %s: %w", s.timePath, err)
	}
	// Truncating to the current size drops the blocks reserved past it
	// and the zeros written ahead (ZeroAheadBytes), before the sync that
	// makes the new size durable: the log creates the successor only
	// after Seal returns, so a segment that has a successor never keeps
	// a zero tail, whatever the crash point. No reader ever touches bytes
	// past the size, so the mapping (longer than the file) stays valid.
	size := s.size.Load()
	if err := s.f.Truncate(size); err != nil {
		return fmt.Errorf("segment: seal %s: %w", s.logPath, err)
	}
	s.zeroed, s.allocated = size, size
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("segment: seal %s: %w", s.logPath, err)
	}
	if err := s.off.Sync(); err != nil {
		return fmt.Errorf("segment: seal %s: %w", s.offPath, err)
	}
	if err := s.tim.Sync(); err != nil {
		return fmt.Errorf("segment: seal %s: %w", s.timePath, err)
	}
	err := s.closeFile()
	s.sealed.Store(true)
	if err != nil {
		return fmt.Errorf("segment: seal %s: %w", s.logPath, err)
	}
	return nil
}

// Close releases the segment: it writes the index entries still held in
// memory to the index files (also while Views are held), closes the write
// handle and drops the segment's reference to its mapping and indexes. It
// does not wait for readers: Views still held stay valid, and the mapping
// and indexes are closed when the last one is released. Close does not
// sync (see Sync and Seal). An active segment's .log is first cut to its
// published size if the zeros written ahead (ZeroAheadBytes) run past it,
// so that the next Open finds the data end at the end of the file; a
// failure there is returned (after closing everything) and means the
// stop was not clean. Later calls return ErrClosed, except Close itself
// which is a no-op.
func (s *Segment) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil
	}
	return s.closeLocked()
}

func (s *Segment) closeLocked() error {
	var err error
	if !s.sealed.Load() && !s.deleted.Load() && s.off != nil {
		// Write the index entries still in memory now, not when the last
		// View lets the indexes go: a clean stop must leave them in the
		// files even while a reader holds a View.
		err = s.flushIndexes()
		if terr := s.trimZeros(); err == nil && terr != nil {
			err = terr
		}
	}
	s.closed.Store(true)
	if ferr := s.closeFile(); err == nil {
		err = ferr
	}
	if s.indexSuspect.Load() && !s.deleted.Load() {
		// A reader found an index entry that does not describe the .log:
		// drop the indexes (caches), so that the next Open rebuilds them.
		// Best effort: reads check every entry they use anyway.
		for _, p := range []string{s.offPath, s.timePath} {
			_ = s.cfg.FS.Remove(p)
		}
	}
	if m := s.cur.Swap(nil); m != nil {
		if merr := m.release(); err == nil {
			err = merr
		}
	}
	if s.res != nil {
		if rerr := s.res.release(); err == nil {
			err = rerr
		}
		s.res = nil
	}
	s.off, s.tim = nil, nil
	if err != nil {
		return fmt.Errorf("segment: close %s: %w", s.logPath, err)
	}
	return nil
}

// flushIndexes writes the index entries held in memory to the files of an
// active segment.
func (s *Segment) flushIndexes() error {
	err := s.off.Flush()
	if terr := s.tim.Flush(); err == nil {
		err = terr
	}
	return err
}

// Delete closes the segment and deletes its files. The files are first
// renamed with DeletedSuffix (and the directory synced), so that a crash
// leaves names the log recognises as decided deletions; they are removed as
// soon as no View of the segment is held any more, at once if none is (the
// removal then happens in the last View's Release, and an error there is
// dropped: the log removes leftover .deleted files when it opens).
func (s *Segment) Delete() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deleted.Load() {
		return nil
	}
	if !s.closed.Load() && !s.sealed.Load() && s.off != nil {
		// The indexes hold no descriptor: what they keep in memory must
		// reach their files before the files are renamed, or their Close
		// would try to write to names that are gone.
		if err := s.flushIndexes(); err != nil {
			return fmt.Errorf("segment: delete: %w", err)
		}
	}
	var err error
	for _, p := range s.paths() {
		if rerr := s.cfg.FS.Rename(p, p+DeletedSuffix); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = rerr
		}
	}
	if err != nil {
		return fmt.Errorf("segment: delete: %w", err)
	}
	if err := s.cfg.FS.SyncDir(s.dir); err != nil {
		return fmt.Errorf("segment: delete: %w", err)
	}
	s.deleted.Store(true)
	if !s.closed.Load() {
		if cerr := s.closeLocked(); cerr != nil {
			err = cerr
		}
	}
	// Either this load sees the last reference gone, or the last release
	// (which decrements before it checks deleted) sees deleted set: one
	// of the two removes the files (both may; a missing file is fine).
	if r := s.lastRes; r == nil || r.refs.Load() == 0 {
		if rerr := s.removeDeletedFiles(); err == nil {
			err = rerr
		}
	}
	return err
}

func (s *Segment) paths() [3]string { return [3]string{s.logPath, s.offPath, s.timePath} }

func (s *Segment) removeDeletedFiles() error {
	var err error
	for _, p := range s.paths() {
		if rerr := s.cfg.FS.Remove(p + DeletedSuffix); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = fmt.Errorf("segment: delete: %w", rerr)
		}
	}
	return err
}

func (s *Segment) mapOpened() {
	s.mapsMu.Lock()
	s.liveMaps++
	s.mapsMu.Unlock()
}

func (s *Segment) mapClosed() {
	s.mapsMu.Lock()
	s.liveMaps--
	s.mapsCond.Broadcast()
	s.mapsMu.Unlock()
}

// waitMaps blocks until at most n mappings are alive.
func (s *Segment) waitMaps(n int) {
	s.mapsMu.Lock()
	for s.liveMaps > n {
		s.mapsCond.Wait()
	}
	s.mapsMu.Unlock()
}

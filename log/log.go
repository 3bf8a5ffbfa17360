package log

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/record"
	"github.com/samsalog/samsa/segment"
)

// Special timestamps of OffsetForTimestamp, as in Kafka's ListOffsets.
const (
	// Latest asks OffsetForTimestamp for the log end offset.
	Latest int64 = -1
	// Earliest asks OffsetForTimestamp for the log start offset.
	Earliest int64 = -2
	// NoOffset is what OffsetForTimestamp returns when no record has a
	// timestamp at or after the one asked for (Kafka answers -1 too).
	NoOffset int64 = -1
)

// Log is one partition's log: an ordered list of segments in one directory,
// the last of which (the active segment) takes appends.
//
// A Log is safe for concurrent use. Appends, rolls and retention are
// serialized by one mutex (one writer at a time); reads (Read,
// OffsetForTimestamp, the offset accessors, Stats) take no lock shared with
// the writer: the segment list is an immutable slice published atomically,
// and a segment's readable end is published after its bytes are written.
// Sync callers share fdatasyncs (group commit). A Log starts no goroutines.
type Log struct {
	dir string
	// cfg is the Config given to Open, with defaults. Only its static
	// fields (FS, Logger, Now, Checkpoint) are read from it; the dynamic
	// ones, which SetConfig changes, are read from dyn.
	cfg  Config
	dyn  atomic.Pointer[dynConfig] // never nil after Open; never modified once published
	fsys fs.FS

	// Published to lock-free readers.
	segs    atomic.Pointer[[]*segment.Segment] // sorted by base offset; never modified once published
	start   atomic.Int64                       // log start offset
	end     atomic.Int64                       // log end offset: next offset to assign
	synced  atomic.Int64                       // recovery point: offsets below are durable
	closing atomic.Bool                        // Close began: writers get ErrClosed
	closed  atomic.Bool                        // segments are closed: reads fail with ErrClosed
	failed  atomic.Bool                        // an fsync failed; see gs.err

	// unsyncedSince is the UnixNano time of the oldest append not yet
	// covered by a finished or in-flight sync, 0 if none (flush.ms).
	unsyncedSince atomic.Int64

	// mu serializes writers: Append, Roll, ApplyRetention,
	// DeleteRecordsBefore, Close, and a sync leader's snapshot. Lock order:
	// mu, then fsyncMu, then gs.mu.
	mu            sync.Mutex
	active        *segment.Segment // last of segs
	activeCreated time.Time        // by cfg.Now, for segment.ms without timestamps
	cleanClose    bool             // Close finished with everything synced

	// fsyncMu is held while the active segment is fsynced by a sync
	// leader, and while a segment is sealed or closed, so that a segment
	// is never sealed or closed under an fdatasync of it.
	fsyncMu sync.Mutex

	gs groupSync

	stats counters
}

// counters are the Stats that change after Open.
type counters struct {
	syncs        atomic.Uint64
	syncRequests atomic.Uint64
	rolls        atomic.Uint64
	deleted      atomic.Uint64

	// Set once by Open.
	cleanOpen         bool
	recoveredSegments int
	recoveredBytes    int64
	truncatedBytes    int64
}

// Stats is a snapshot of a log's state and counters.
type Stats struct {
	// Segments is the number of segments.
	Segments int
	// Bytes is the total size of the segments' .log files.
	Bytes int64
	// StartOffset, EndOffset and SyncedOffset are as the methods of the
	// same names return.
	StartOffset, EndOffset, SyncedOffset int64
	// Syncs counts the fdatasyncs issued for Sync and the flush policy
	// (shared by concurrent callers; rolls and Close not counted).
	Syncs uint64
	// SyncRequests counts Sync calls, explicit or from the flush policy.
	SyncRequests uint64
	// Rolls counts segment rolls since Open.
	Rolls uint64
	// DeletedSegments counts segments deleted by retention since Open.
	DeletedSegments uint64
	// CleanOpen reports that Open found a clean-shutdown checkpoint and
	// scanned no data.
	CleanOpen bool
	// RecoveredSegments and RecoveredBytes count the segments and bytes
	// Open scanned and validated.
	RecoveredSegments int
	RecoveredBytes    int64
	// TruncatedBytes counts the bytes of torn tail Open cut.
	TruncatedBytes int64
	// Failed reports that an fsync failed (see ErrFailed).
	Failed bool
}

// Dir returns the log's directory.
func (l *Log) Dir() string { return l.dir }

// StartOffset returns the log start offset: the first offset that can be
// read.
func (l *Log) StartOffset() int64 { return l.start.Load() }

// EndOffset returns the log end offset: the offset the next appended record
// gets. Records below it are readable.
func (l *Log) EndOffset() int64 { return l.end.Load() }

// SyncedOffset returns the recovery point: every record below it is on
// stable storage (fdatasync returned), and survives a crash of the process
// or of the machine. It never decreases while the log is open.
func (l *Log) SyncedOffset() int64 { return l.synced.Load() }

// Segments returns the number of segments.
func (l *Log) Segments() int { return len(*l.segs.Load()) }

// Stats returns a snapshot of the log's state and counters.
func (l *Log) Stats() Stats {
	segs := *l.segs.Load()
	var size int64
	for _, s := range segs {
		size += s.Size()
	}
	return Stats{
		Segments:          len(segs),
		Bytes:             size,
		StartOffset:       l.start.Load(),
		EndOffset:         l.end.Load(),
		SyncedOffset:      l.synced.Load(),
		Syncs:             l.stats.syncs.Load(),
		SyncRequests:      l.stats.syncRequests.Load(),
		Rolls:             l.stats.rolls.Load(),
		DeletedSegments:   l.stats.deleted.Load(),
		CleanOpen:         l.stats.cleanOpen,
		RecoveredSegments: l.stats.recoveredSegments,
		RecoveredBytes:    l.stats.recoveredBytes,
		TruncatedBytes:    l.stats.truncatedBytes,
		Failed:            l.failed.Load(),
	}
}

// Checkpoint returns the log's recovery state for an owner that keeps it
// (Config.Checkpoint): the current recovery point and log start offset,
// with Clean=false while the log is open and Clean=true once Close has
// synced everything. Persist it and hand it back in Config.Checkpoint at the
// next Open.
func (l *Log) Checkpoint() Checkpoint {
	l.mu.Lock()
	clean := l.cleanClose
	l.mu.Unlock()
	return Checkpoint{RecoveryPoint: l.synced.Load(), LogStartOffset: l.start.Load(), Clean: clean}
}

// Append appends batch, which must be exactly one valid magic-v2 record
// batch (record.CheckBatch: size, magic, CRC), and returns the offsets of
// its first and last records. It assigns the offsets by writing the log end
// offset into the batch's baseOffset field, in place (the CRC does not
// cover it): the caller's bytes are modified. Append rolls a new segment
// first when the active one is full by segment.bytes, segment.ms, its index
// or its 32-bit relative offsets.
//
// In steady state Append does one write(2) and allocates nothing. When
// FlushMessages or FlushMs say so it then syncs (group commit with
// concurrent Sync callers) before returning. Without such a sync, the batch
// is readable and survives a crash of the process once Append returns, but
// it is durable only once SyncedOffset passes lastOffset.
//
// Errors: ErrInvalidBatch; ErrClosed; ErrFailed after a failed fsync
// (including one Append triggered itself: the offsets are then returned
// with the error, and the batch may or may not survive a machine crash); a
// write error such as fs.ErrNoSpace leaves the log as it was (nothing is
// published) and the log usable.
func (l *Log) Append(batch []byte) (baseOffset, lastOffset int64, err error) {
	h, err := record.CheckBatch(batch)
	if err != nil {
		return -1, -1, fmt.Errorf("log: append: %w: %w", ErrInvalidBatch, err)
	}
	return l.AppendChecked(batch, h)
}

// AppendChecked is Append for a caller that has just validated batch
// itself: h is what record.CheckBatch returned for it, and batch has not
// changed since except in fields the CRC does not cover or by a function
// that recomputes the CRC (record.SetLogAppendTime; h.MaxTimestamp then
// updated to match). It skips Append's CRC pass over the batch (a second
// one when the caller checked it, as partition.Append does). A batch that
// does not match h is still refused when its size or offsets disagree, but
// one with a wrong CRC is written as it is and reads back as corrupt: the
// check is the caller's.
func (l *Log) AppendChecked(batch []byte, h record.BatchHeader) (baseOffset, lastOffset int64, err error) {
	if h.Size() != len(batch) {
		return -1, -1, fmt.Errorf("log: append: %w: %d bytes after the batch", ErrInvalidBatch, len(batch)-h.Size())
	}
	if h.LastOffsetDelta < 0 {
		return -1, -1, fmt.Errorf("log: append: %w: last offset delta %d", ErrInvalidBatch, h.LastOffsetDelta)
	}
	l.mu.Lock()
	if err := l.writeErr(); err != nil {
		l.mu.Unlock()
		return -1, -1, err
	}
	base := l.end.Load()
	last := base + int64(h.LastOffsetDelta)
	dc := l.dyn.Load() // one config for the whole append, however SetConfig races
	var now time.Time
	if dc.FlushMs > 0 || l.active.FirstBatchTimestamp() < 0 {
		now = l.cfg.Now()
	}
	if l.shouldRoll(dc, &h, len(batch), last, now) {
		if err := l.rollLocked(); err != nil {
			l.mu.Unlock()
			return -1, -1, err
		}
	}
	record.PutBaseOffset(batch, base)
	h.BaseOffset = base
	if _, err := l.active.Append(batch, h); err != nil {
		if !errors.Is(err, segment.ErrFull) {
			l.mu.Unlock()
			return -1, -1, fmt.Errorf("log: append: %w", err)
		}
		// The segment knows a limit better than shouldRoll did: roll
		// and retry once.
		if err := l.rollLocked(); err != nil {
			l.mu.Unlock()
			return -1, -1, err
		}
		if _, err := l.active.Append(batch, h); err != nil {
			l.mu.Unlock()
			return -1, -1, fmt.Errorf("log: append: %w", err)
		}
	}
	l.end.Store(last + 1)
	needSync := dc.FlushMessages > 0 && last+1-l.synced.Load() >= dc.FlushMessages
	if dc.FlushMs > 0 {
		since := l.unsyncedSince.Load()
		if since == 0 {
			l.unsyncedSince.Store(now.UnixNano())
		} else if now.UnixNano()-since >= int64(dc.FlushMs) {
			needSync = true
		}
	}
	l.mu.Unlock()
	if needSync {
		if err := l.syncTo(last + 1); err != nil {
			return base, last, err
		}
	}
	return base, last, nil
}

// shouldRoll reports whether the active segment must be rolled before
// appending a batch of n bytes with header h and last offset last (Kafka's
// LogSegment.shouldRoll), by the config dc. Called with mu held.
func (l *Log) shouldRoll(dc *dynConfig, h *record.BatchHeader, n int, last int64, now time.Time) bool {
	a := l.active
	if a.Sealed() {
		return true // a roll sealed it but failed to create the next segment
	}
	size := a.Size()
	if size == 0 {
		return false
	}
	if size > dc.SegmentBytes-int64(n) {
		return true
	}
	if !a.FitsOffset(last) || !a.CanFit(n) {
		return true
	}
	if first := a.FirstBatchTimestamp(); first >= 0 {
		return h.MaxTimestamp-first > dc.SegmentMs.Milliseconds()
	}
	return now.Sub(l.activeCreated) > dc.SegmentMs
}

// Roll seals the active segment (trimming its indexes and syncing it) and
// starts a new one at the log end offset, unless the active segment is
// empty. Errors: ErrClosed; ErrFailed if the seal's fsync fails (the log is
// then failed); an error creating the new segment leaves the old one sealed
// and the next Append retries.
func (l *Log) Roll() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writeErr(); err != nil {
		return err
	}
	if l.active.Size() == 0 && !l.active.Sealed() {
		return nil
	}
	return l.rollLocked()
}

// rollLocked seals the active segment and creates the next one. Called with
// mu held.
//
// Crash points: the old segment is sealed and synced before the new one is
// created, so a segment that has a successor was durable in full before the
// successor existed; damage in it is therefore never a torn tail. Seal
// also cuts the zeros written ahead (Config.ZeroAheadBytes) before that
// sync, so a segment with a successor, or below the recovery point, never
// ends in zeros: only the last segment can, which recovery scans. A crash
// after the seal and before the create leaves the sealed segment last: it is
// reopened as the active segment. The directory is synced after the create
// so that the new segment cannot vanish from under data counted as synced.
func (l *Log) rollLocked() error {
	old := l.active
	if !old.Sealed() {
		l.fsyncMu.Lock()
		err := old.Seal()
		l.fsyncMu.Unlock()
		if err != nil {
			return l.fail(fmt.Errorf("log: roll: %w", err))
		}
	}
	next := l.end.Load()
	l.advanceSynced(next)
	seg, err := segment.Create(l.dir, next, l.dyn.Load().seg)
	if err != nil {
		return fmt.Errorf("log: roll: %w", err)
	}
	if err := l.fsys.SyncDir(l.dir); err != nil {
		_ = seg.Close()
		return l.fail(fmt.Errorf("log: roll: %w", err))
	}
	l.active = seg
	l.activeCreated = l.cfg.Now()
	segs := append(slices.Clip(*l.segs.Load()), seg)
	l.segs.Store(&segs)
	l.unsyncedSince.Store(0)
	l.stats.rolls.Add(1)
	l.saveCheckpoint("roll")
	return nil
}

// saveCheckpoint writes the unclean checkpoint with the current recovery
// point and log start offset, if the log keeps its own. A failure is only
// logged: the previous checkpoint stays in place (atomic replace), and an
// older recovery point only means more scanning after a crash. Called with
// mu held.
func (l *Log) saveCheckpoint(why string) {
	if err := l.writeCheckpoint(false); err != nil {
		l.cfg.Logger.Warn("log: checkpoint not written", "dir", l.dir, "after", why, "err", err)
	}
}

func (l *Log) writeCheckpoint(clean bool) error {
	if l.cfg.Checkpoint != nil {
		return nil
	}
	cp := Checkpoint{RecoveryPoint: l.synced.Load(), LogStartOffset: l.start.Load(), Clean: clean}
	return writeCheckpointFile(l.fsys, l.dir, cp)
}

// Read returns whole batches starting with the one that holds offset: as
// many as fit in maxBytes, but always at least one (Kafka's KIP-74 "min one
// message", so a consumer cannot stall on a big batch), and none whose base
// offset is at or past maxOffset (pass the high watermark; a negative
// maxOffset means no limit). The first batch may hold offsets below the one
// asked for; callers skip them. Batches come from one segment: at a segment
// boundary a read returns the rest of the segment and the next read moves
// on.
//
// The View aliases the segment's read-only mapping without a copy and must
// be released; the data stays valid until then, even if retention deletes
// the segment. Read takes no lock shared with Append and, when the segment
// is mapped, makes no system call and no allocation.
//
// Errors: ErrOffsetOutOfRange when offset is below StartOffset or above
// EndOffset (offset == EndOffset returns an empty View); ErrClosed.
func (l *Log) Read(offset int64, maxBytes int, maxOffset int64) (segment.View, error) {
	if maxOffset < 0 {
		maxOffset = math.MaxInt64
	}
	for {
		if l.closed.Load() {
			return segment.View{}, ErrClosed
		}
		start := l.start.Load()
		end := l.end.Load()
		segs := *l.segs.Load()
		if offset < start || offset > end {
			return segment.View{}, outOfRange(offset, start, end)
		}
		if offset == end {
			return segment.View{}, nil
		}
		i := floorSegment(segs, offset)
		if i < 0 {
			// Retention removed the segment between the loads above.
			continue
		}
		v, err, retry := readFrom(segs[i:], offset, maxBytes, maxOffset)
		if retry {
			continue
		}
		return v, err
	}
}

// readFrom reads offset from the first of segs that has data at or past
// it. retry reports a segment closed under the reader (retention or Close):
// the caller reloads the segment list.
func readFrom(segs []*segment.Segment, offset int64, maxBytes int, maxOffset int64) (v segment.View, err error, retry bool) {
	for _, s := range segs {
		if offset >= s.NextOffset() {
			continue // past this segment's data, or in a gap: next segment
		}
		if s.BaseOffset() >= maxOffset {
			return segment.View{}, nil, false
		}
		v, err := s.Read(offset, maxBytes, maxOffset, true)
		if errors.Is(err, segment.ErrClosed) {
			return segment.View{}, nil, true
		}
		if err != nil {
			return segment.View{}, fmt.Errorf("log: read offset %d: %w", offset, err), false
		}
		return v, nil, false
	}
	return segment.View{}, nil, false
}

func outOfRange(offset, start, end int64) error {
	return fmt.Errorf("%w: offset %d, log has [%d, %d)", ErrOffsetOutOfRange, offset, start, end)
}

// floorSegment returns the index of the last segment whose base offset is
// <= offset, or -1 if there is none.
func floorSegment(segs []*segment.Segment, offset int64) int {
	lo, hi := 0, len(segs) // invariant: segs[:lo] have base <= offset, segs[hi:] > offset
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if segs[m].BaseOffset() <= offset {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// OffsetForTimestamp answers Kafka's ListOffsets: for Earliest the log
// start offset, for Latest the log end offset, and for a timestamp ts >= 0
// (Unix milliseconds) the offset of the first record whose timestamp is at
// or after ts, found through the time indexes (the first segment whose
// largest timestamp reaches ts, then the first record there with a
// timestamp >= ts). When no record qualifies it returns NoOffset (-1) and no
// error, as Kafka does. Safe concurrently with appends; no lock shared with
// the writer. Errors: ErrClosed, a negative ts other than Earliest and
// Latest, I/O errors from a segment.
func (l *Log) OffsetForTimestamp(ts int64) (int64, error) {
	switch {
	case ts == Earliest:
		return l.start.Load(), nil
	case ts == Latest:
		return l.end.Load(), nil
	case ts < 0:
		return NoOffset, fmt.Errorf("log: offset for timestamp: invalid timestamp %d", ts)
	}
retry:
	for {
		if l.closed.Load() {
			return NoOffset, ErrClosed
		}
		start := l.start.Load()
		for _, s := range *l.segs.Load() {
			if s.NextOffset() <= start {
				continue
			}
			if maxTs, _ := s.MaxTimestamp(); maxTs < ts {
				continue
			}
			off, found, err := s.FindOffsetByTimestamp(ts)
			if errors.Is(err, segment.ErrClosed) {
				continue retry
			}
			if err != nil {
				return NoOffset, fmt.Errorf("log: offset for timestamp %d: %w", ts, err)
			}
			if found {
				return max(off, start), nil
			}
		}
		return NoOffset, nil
	}
}

// Close syncs and seals the active segment, closes every segment and, if
// everything was synced, records a clean shutdown (the checkpoint with
// Clean=true, in the log's own checkpoint file or in Checkpoint() for an
// owner), so that the next Open scans nothing. Views still held stay valid
// until released. Appends and syncs racing with Close either complete
// before it or fail with ErrClosed; later calls fail with ErrClosed. After
// a failed fsync Close still closes everything but returns the ErrFailed
// error and records no clean shutdown. Closing a closed log returns nil.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing.Load() {
		return nil
	}
	l.closing.Store(true)
	var err error
	if l.failed.Load() {
		err = l.failure()
	} else {
		l.fsyncMu.Lock()
		serr := l.active.Seal()
		l.fsyncMu.Unlock()
		if serr != nil {
			err = l.fail(fmt.Errorf("log: close: %w", serr))
		} else {
			l.advanceSynced(l.end.Load())
		}
	}
	l.fsyncMu.Lock()
	l.closed.Store(true)
	cerr := closeAll(*l.segs.Load())
	l.fsyncMu.Unlock()
	l.gs.wake()
	if err != nil {
		return err
	}
	if cerr != nil {
		return fmt.Errorf("log: close: %w", cerr)
	}
	if werr := l.writeCheckpoint(true); werr != nil {
		return fmt.Errorf("log: close: %w", werr)
	}
	l.cleanClose = true
	return nil
}

func closeAll(segs []*segment.Segment) error {
	var err error
	for _, s := range segs {
		if cerr := s.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Delete closes the log and removes its directory with everything in it.
// The directory is first renamed to "<dir>.deleted" (and its parent
// synced), so a crash leaves either the whole log or a directory an owner
// recognises by its suffix and removes. Views still held stay valid.
func (l *Log) Delete() error {
	if err := l.Close(); err != nil && !errors.Is(err, ErrFailed) {
		return err
	}
	trash := l.dir + segment.DeletedSuffix
	if err := l.fsys.RemoveAll(trash); err != nil {
		return fmt.Errorf("log: delete: %w", err)
	}
	if err := l.fsys.Rename(l.dir, trash); err != nil {
		return fmt.Errorf("log: delete: %w", err)
	}
	if err := l.fsys.SyncDir(parentDir(l.dir)); err != nil {
		return fmt.Errorf("log: delete: %w", err)
	}
	if err := l.fsys.RemoveAll(trash); err != nil {
		return fmt.Errorf("log: delete: %w", err)
	}
	return nil
}

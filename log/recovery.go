package log

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/samsalog/samsa/segment"
)

// Open opens the log in dir, creating the directory and an empty log if
// needed, and recovers it after an unclean stop. The procedure, one
// function per step (see the package documentation for the reasoning):
//
//  1. createDir
//  2. loadCheckpoint
//  3. removeLeftovers
//  4. listSegments
//  5. openSegments
//  6. recoverSegments (skipped after a clean shutdown, see isClean)
//  7. checkOffsets
//  8. ensureActiveSegment
//  9. syncRecovered
//  10. markOpen
//
// Errors: ErrInvalidConfig (from cfg.Validate); ErrCorrupt (a *CorruptError
// naming the file and byte position) for damage recovery must not cut;
// I/O errors. On error nothing is left open.
func Open(dir string, cfg *Config) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := cfg.withDefaults()
	l := &Log{
		dir:  dir,
		cfg:  c,
		fsys: c.FS,
	}
	l.dyn.Store(newDynConfig(&c))
	l.gs.cond.L = &l.gs.mu
	r := &recovery{l: l}
	if err := r.run(); err != nil {
		_ = closeAll(r.segs)
		return nil, err
	}
	return l, nil
}

// recovery is the state of one Open.
type recovery struct {
	l     *Log
	cp    Checkpoint // what the previous run left
	found bool       // a checkpoint was found
	bases []int64
	segs  []*segment.Segment
	clean bool // recovery scan skipped
	// scanned is the index of the first segment recoverSegments scanned,
	// len(segs) if none.
	scanned int
}

func (r *recovery) run() error {
	steps := []func() error{
		r.createDir,
		r.loadCheckpoint,
		r.removeLeftovers,
		r.listSegments,
		r.openSegments,
		r.recoverSegments,
		r.checkOffsets,
		r.ensureActiveSegment,
		r.syncRecovered,
		r.markOpen,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// createDir (step 1) creates the log's directory if it does not exist.
func (r *recovery) createDir() error {
	if err := r.l.fsys.MkdirAll(r.l.dir, 0o755); err != nil {
		return fmt.Errorf("log: open: %w", err)
	}
	return nil
}

// loadCheckpoint (step 2) reads the recovery point, log start offset and
// clean-shutdown flag: from Config.Checkpoint, or from the log's own file.
// No checkpoint means recovery from offset 0 (every segment is scanned).
func (r *recovery) loadCheckpoint() error {
	if cp := r.l.cfg.Checkpoint; cp != nil {
		r.cp, r.found = *cp, true
		return nil
	}
	cp, found, err := readCheckpointFile(r.l.fsys, r.l.dir)
	if err != nil {
		return err
	}
	r.cp, r.found = cp, found
	return nil
}

// removeLeftovers (step 3) finishes what a crash interrupted: files with
// the ".deleted" suffix (a retention deletion was decided and the segment
// already unlisted: finish it), ".tmp" files (an atomic replace that did
// not reach its rename: the old file is intact), and index files whose .log
// is gone (a deletion renamed the .log first, then crashed). The directory
// is synced if anything was removed.
func (r *recovery) removeLeftovers() error {
	l := r.l
	entries, err := l.fsys.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("log: open: %w", err)
	}
	logs := make(map[string]bool)
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), segment.LogSuffix); ok {
			logs[name] = true
		}
	}
	removed := 0
	for _, e := range entries {
		name := e.Name()
		var why string
		switch {
		case strings.HasSuffix(name, segment.DeletedSuffix):
			why = "deletion interrupted"
		case strings.HasSuffix(name, ".tmp"):
			why = "atomic replace interrupted"
		case strings.HasSuffix(name, segment.IndexSuffix) || strings.HasSuffix(name, segment.TimeIndexSuffix):
			if logs[strings.TrimSuffix(strings.TrimSuffix(name, segment.IndexSuffix), segment.TimeIndexSuffix)] {
				continue
			}
			why = "index without its .log"
		default:
			continue
		}
		if err := l.fsys.RemoveAll(filepath.Join(l.dir, name)); err != nil {
			return fmt.Errorf("log: open: remove leftover: %w", err)
		}
		l.cfg.Logger.Info("log: removed leftover file", "dir", l.dir, "file", name, "why", why)
		removed++
	}
	if removed > 0 {
		if err := l.fsys.SyncDir(l.dir); err != nil {
			return fmt.Errorf("log: open: %w", err)
		}
	}
	return nil
}

// listSegments (step 4) finds the segments: files named by a 20-digit base
// offset and ".log", sorted by base offset.
func (r *recovery) listSegments() error {
	entries, err := r.l.fsys.ReadDir(r.l.dir)
	if err != nil {
		return fmt.Errorf("log: open: %w", err)
	}
	for _, e := range entries {
		num, ok := strings.CutSuffix(e.Name(), segment.LogSuffix)
		if !ok || len(num) != 20 || e.IsDir() {
			continue
		}
		base, err := strconv.ParseInt(num, 10, 64)
		if err != nil || base < 0 {
			continue
		}
		r.bases = append(r.bases, base)
	}
	slices.Sort(r.bases)
	return nil
}

// openSegments (step 5) opens every segment without scanning its data:
// the last one active (writable), the others sealed and lazily (no file
// held until read). A sealed segment whose tail does not parse, or whose
// index must be rebuilt and its data fails validation, is ErrCorrupt.
func (r *recovery) openSegments() error {
	for i, base := range r.bases {
		active := i == len(r.bases)-1
		s, err := segment.Open(r.l.dir, base, r.l.dyn.Load().seg, active)
		if err != nil {
			path := segment.Filename(r.l.dir, base, segment.LogSuffix)
			if errors.Is(err, segment.ErrCorrupt) {
				return corruptFrom(err, path)
			}
			return fmt.Errorf("log: open %s: %w", path, err)
		}
		r.segs = append(r.segs, s)
	}
	return nil
}

// isClean reports whether the previous run ended with a successful Close
// that left the segments exactly as found now: the checkpoint says clean,
// its recovery point is the log end offset, and the active segment's file
// holds nothing past its last whole batch.
func (r *recovery) isClean() bool {
	if !r.found || !r.cp.Clean {
		return false
	}
	if len(r.segs) == 0 {
		return true
	}
	last := r.segs[len(r.segs)-1]
	if last.NextOffset() != r.cp.RecoveryPoint {
		return false
	}
	fi, err := r.l.fsys.Stat(last.Path())
	return err == nil && fi.Size() == last.Size()
}

// recoverSegments (step 6) validates, after an unclean stop, every segment
// from the one holding the recovery point onwards, oldest first
// (segment.Recover: length, magic, CRC and offsets of every batch, indexes
// rebuilt). Where validation stops before the end of a file:
//
//   - in the last (active) segment, at or past the recovery point, the
//     bytes are a torn tail, written but never synced: they are cut
//     (cutTornTail);
//   - anywhere else, they are ErrCorrupt naming the file and position. A
//     sealed segment was synced in full before its successor was created,
//     and data below the recovery point was synced: neither can be torn by
//     a crash, and cutting them would drop acknowledged records.
func (r *recovery) recoverSegments() error {
	l := r.l
	r.scanned = len(r.segs)
	if r.clean = r.isClean(); r.clean {
		l.stats.cleanOpen = true
		return nil
	}
	if len(r.segs) == 0 {
		return nil
	}
	rp := r.cp.RecoveryPoint
	first := max(floorSegment(r.segs, rp), 0)
	r.scanned = first
	l.cfg.Logger.Info("log: recovering after unclean shutdown", "dir", l.dir,
		"recovery_point", rp, "segments", len(r.segs)-first)
	prevNext := r.segs[first].BaseOffset()
	if first > 0 {
		prevNext = r.segs[first-1].NextOffset()
	}
	for i := first; i < len(r.segs); i++ {
		s := r.segs[i]
		if i > 0 && prevNext > s.BaseOffset() {
			// The predecessor ends past this segment's base: the damage is
			// in the predecessor (the scan of this segment would blame its
			// own first batch).
			return r.overlap(i)
		}
		res, err := s.Recover(prevNext)
		if err != nil {
			return fmt.Errorf("log: recover %s: %w", s.Path(), err)
		}
		l.stats.recoveredSegments++
		l.stats.recoveredBytes += res.ValidBytes
		if res.Err != nil {
			if i != len(r.segs)-1 || res.NextOffset < rp {
				return corruptFrom(res.Err, s.Path())
			}
			if err := r.cutTornTail(s, res); err != nil {
				return err
			}
		}
		prevNext = s.NextOffset()
	}
	return nil
}

// cutTornTail truncates the active segment after its last valid batch.
func (r *recovery) cutTornTail(s *segment.Segment, res segment.ScanResult) error {
	l := r.l
	fi, err := l.fsys.Stat(s.Path())
	if err != nil {
		return fmt.Errorf("log: recover: %w", err)
	}
	l.cfg.Logger.Warn("log: cutting torn tail", "file", s.Path(), "position", res.ValidBytes,
		"bytes", fi.Size()-res.ValidBytes, "next_offset", res.NextOffset, "cause", res.Err)
	if err := s.TruncateTo(res.ValidBytes); err != nil {
		return fmt.Errorf("log: recover: %w", err)
	}
	l.stats.truncatedBytes += fi.Size() - res.ValidBytes
	return nil
}

// checkOffsets (step 7) checks what no scan checked: segments do not
// overlap (each starts at or after the previous one's end; gaps are
// allowed), and the log does not end below the recovery point (synced data
// missing).
func (r *recovery) checkOffsets() error {
	for i := 1; i < len(r.segs); i++ {
		if r.segs[i-1].NextOffset() > r.segs[i].BaseOffset() {
			return r.overlap(i)
		}
	}
	end := r.cp.LogStartOffset
	if n := len(r.segs); n > 0 {
		end = r.segs[n-1].NextOffset()
	}
	if end < r.cp.RecoveryPoint {
		file, pos := r.l.dir, int64(-1)
		if n := len(r.segs); n > 0 {
			file, pos = r.segs[n-1].Path(), r.segs[n-1].Size()
		}
		return &CorruptError{File: file, Position: pos,
			Err: fmt.Errorf("log ends at offset %d, below the recovery point %d: synced data is missing", end, r.cp.RecoveryPoint)}
	}
	return nil
}

// overlap reports segment i-1, whose offsets run past the base offset of
// segment i. Where the predecessor was not scanned (a sealed segment below
// the recovery point, or a clean open), a validating scan of it locates the
// damaged batch (error path only: it rebuilds that segment's indexes);
// otherwise the error names the predecessor's end.
func (r *recovery) overlap(i int) error {
	prev, s := r.segs[i-1], r.segs[i]
	if i-1 < r.scanned || r.clean {
		if res, err := prev.Recover(prev.BaseOffset()); err == nil && res.Err != nil {
			return corruptFrom(res.Err, prev.Path())
		}
	}
	return &CorruptError{File: prev.Path(), Position: prev.Size(),
		Err: fmt.Errorf("offsets up to %d overlap the next segment, based at %d", prev.NextOffset()-1, s.BaseOffset())}
}

// ensureActiveSegment (step 8) creates the first segment of an empty log,
// at the log start offset.
func (r *recovery) ensureActiveSegment() error {
	if len(r.segs) > 0 {
		return nil
	}
	s, err := segment.Create(r.l.dir, r.cp.LogStartOffset, r.l.dyn.Load().seg)
	if err != nil {
		return fmt.Errorf("log: open: %w", err)
	}
	r.segs = append(r.segs, s)
	if err := r.l.fsys.SyncDir(r.l.dir); err != nil {
		return fmt.Errorf("log: open: %w", err)
	}
	return nil
}

// syncRecovered (step 9) makes what recovery kept durable, so that the
// recovery point can be the log end offset: the scanned data may be pages
// a crashed process wrote and nobody synced. Sealed segments were synced by
// their seal; the active one is synced here (which also makes a cut tail's
// new size durable).
func (r *recovery) syncRecovered() error {
	if r.scanned >= len(r.segs) {
		return nil
	}
	active := r.segs[len(r.segs)-1]
	if err := active.Sync(); err != nil {
		return fmt.Errorf("log: open: %w", err)
	}
	return nil
}

// markOpen (step 10) publishes the recovered state and, if the log keeps
// its own checkpoint, replaces it with an unclean one (recovery point = log
// end offset) before any append can happen: a crash from now on must not
// find a clean marker. An owner keeping the checkpoint must do the same
// with Log.Checkpoint().
func (r *recovery) markOpen() error {
	l := r.l
	active := r.segs[len(r.segs)-1]
	end := active.NextOffset()
	start := max(r.cp.LogStartOffset, r.segs[0].BaseOffset())
	if start > end {
		l.cfg.Logger.Warn("log: log start offset past the end; using the end", "dir", l.dir,
			"log_start_offset", start, "end", end)
		start = end
	}
	segs := slices.Clip(r.segs)
	l.segs.Store(&segs)
	l.active = active
	l.activeCreated = active.Created()
	l.start.Store(start)
	l.end.Store(end)
	l.synced.Store(end)
	if err := l.writeCheckpoint(false); err != nil {
		return fmt.Errorf("log: open: %w", err)
	}
	return nil
}

// corruptFrom turns a segment's corruption error into a *CorruptError of
// this package, keeping its file and position.
func corruptFrom(err error, file string) error {
	var ce *segment.CorruptError
	if errors.As(err, &ce) {
		return &CorruptError{File: ce.File, Position: ce.Position, Err: err}
	}
	return &CorruptError{File: file, Position: -1, Err: err}
}

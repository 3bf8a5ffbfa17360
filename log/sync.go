package log

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
)

// groupSync is the state of group commit: at most one sync leader at a time
// runs an fdatasync; callers whose data it (or a finished sync) covers wait
// for it instead of issuing their own.
type groupSync struct {
	mu       sync.Mutex
	cond     sync.Cond // signalled when a sync finishes or the log fails or closes
	inFlight bool      // a leader is syncing
	err      error     // sticky failure, wraps ErrFailed
}

func (g *groupSync) wake() {
	g.mu.Lock()
	g.cond.Broadcast()
	g.mu.Unlock()
}

// Sync makes every record appended before the call durable (fdatasync of
// the active segment; rolled-out segments were synced when they were
// sealed), so that SyncedOffset reaches the EndOffset seen at the call.
//
// Group commit: concurrent callers share fdatasyncs. If a sync already
// finished or in flight covers the caller's data the caller only waits for
// it; otherwise one waiting caller becomes the leader, snapshots the end of
// the log and syncs for everyone waiting. Appends go on during the
// fdatasync.
//
// After a failed fsync the log is failed: this and every later Sync (and
// Append, Roll, ...) returns an error matching ErrFailed and wrapping the
// cause, even for data synced before, and SyncedOffset stops moving.
// ErrClosed after Close.
func (l *Log) Sync() error {
	if l.closing.Load() {
		return ErrClosed
	}
	return l.syncTo(l.end.Load())
}

// MaybeFlush syncs if FlushMs is set and the oldest unsynced data is at
// least FlushMs old, and does nothing otherwise: the log has no goroutine of
// its own, so an owner calls it from a ticker (one for all its logs). It
// returns what Sync would (ErrFailed after a failed fsync, ErrClosed).
func (l *Log) MaybeFlush() error {
	if err := l.writeErr(); err != nil {
		return err
	}
	maxAge := l.dyn.Load().FlushMs
	if maxAge <= 0 {
		return nil
	}
	since := l.unsyncedSince.Load()
	if since == 0 || l.cfg.Now().UnixNano()-since < int64(maxAge) {
		return nil
	}
	return l.syncTo(l.end.Load())
}

// writeErr returns what a writer (Append, Roll, retention, MaybeFlush)
// fails with now: ErrClosed once Close began, the sticky failure after a
// failed fsync, nil otherwise.
func (l *Log) writeErr() error {
	if l.closing.Load() {
		return ErrClosed
	}
	if l.failed.Load() {
		return l.failure()
	}
	return nil
}

// syncTo returns once every offset below target is durable, issuing an
// fdatasync only if no finished or in-flight one covers target. Must not be
// called with mu held (the leader takes mu for its snapshot).
func (l *Log) syncTo(target int64) error {
	l.stats.syncRequests.Add(1)
	g := &l.gs
	g.mu.Lock()
	for {
		if g.err != nil {
			err := g.err
			g.mu.Unlock()
			return err
		}
		if l.synced.Load() >= target {
			g.mu.Unlock()
			return nil
		}
		if !g.inFlight {
			// Lead: sync for everyone waiting, including data appended
			// after target up to the snapshot.
			g.inFlight = true
			g.mu.Unlock()
			end, err := l.flushActive()
			g.mu.Lock()
			g.inFlight = false
			switch {
			case errors.Is(err, ErrClosed):
				// Close synced everything it sealed: data covered by that
				// is durable; anything else cannot be synced any more.
				g.cond.Broadcast()
				g.mu.Unlock()
				if l.synced.Load() >= target {
					return nil
				}
				return err
			case err != nil:
				l.failLocked(err)
			default:
				if end > l.synced.Load() {
					l.synced.Store(end)
				}
			}
			g.cond.Broadcast()
			continue
		}
		g.cond.Wait()
	}
}

// flushActive fdatasyncs the active segment and returns the log end offset
// that sync covers. Only the sync leader calls it.
//
// Interleavings: the snapshot (active segment, end offset) is taken under
// mu, so it is consistent: every byte below end is in that segment or in an
// earlier one, and earlier ones were synced by Seal before any byte went
// into a later one. fsyncMu is taken before mu is released, so a Roll or
// Close cannot seal or close the segment under the fdatasync (they wait for
// it). Appends continue during the fdatasync; they are not covered by it and
// the next leader picks them up.
func (l *Log) flushActive() (int64, error) {
	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		return 0, ErrClosed
	}
	seg := l.active
	end := l.end.Load()
	// Data appended from now on is younger than this sync: the next
	// Append restarts the flush.ms clock.
	l.unsyncedSince.Store(0)
	l.fsyncMu.Lock()
	l.mu.Unlock()
	err := seg.Sync()
	l.fsyncMu.Unlock()
	l.stats.syncs.Add(1)
	if err != nil {
		return 0, fmt.Errorf("log: sync: %w", err)
	}
	return end, nil
}

// advanceSynced raises the recovery point to end unless the log failed.
func (l *Log) advanceSynced(end int64) {
	g := &l.gs
	g.mu.Lock()
	if g.err == nil && end > l.synced.Load() {
		l.synced.Store(end)
		g.cond.Broadcast()
	}
	g.mu.Unlock()
}

// fail marks the log failed with cause (unless it already is) and returns
// the failure error.
func (l *Log) fail(cause error) error {
	g := &l.gs
	g.mu.Lock()
	l.failLocked(cause)
	err := g.err
	g.cond.Broadcast()
	g.mu.Unlock()
	return err
}

func (l *Log) failLocked(cause error) {
	if l.gs.err != nil {
		return
	}
	l.gs.err = fmt.Errorf("%w: %w", ErrFailed, cause)
	l.failed.Store(true)
	l.cfg.Logger.Error("log: fsync failed; the log accepts no more writes", "dir", l.dir, "err", cause)
}

// failure returns the sticky failure error.
func (l *Log) failure() error {
	g := &l.gs
	g.mu.Lock()
	err := g.err
	g.mu.Unlock()
	return err
}

func parentDir(dir string) string { return filepath.Dir(filepath.Clean(dir)) }

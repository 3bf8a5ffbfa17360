package partition

import (
	"context"
	"fmt"
)

// HighWatermark returns the high watermark: the offset below which records
// are visible to Fetch and ListOffsets. By default it is the log's synced
// offset, so every visible record is on stable storage; with
// UnsafeExposeUnsynced it is the log end offset. It never decreases while
// the partition is open. A single atomic load.
func (p *Partition) HighWatermark() int64 { return p.hw.Load() }

// LastStableOffset returns the last stable offset (LSO), the bound of a
// read_committed consumer: the first offset of the earliest open
// transaction, or the high watermark when none is open. Until transactions
// exist it is always the high watermark.
func (p *Partition) LastStableOffset() int64 { return p.txns.lastStable(p.hw.Load()) }

// visibleEnd is what the high watermark may be now: the synced offset, or
// with UnsafeExposeUnsynced the log end offset (published by the log after
// the bytes are written, so everything below it is readable).
func (p *Partition) visibleEnd() int64 {
	if p.exposeUnsynced.Load() {
		return p.log.EndOffset()
	}
	return p.log.SyncedOffset()
}

// refreshHighWatermark raises the high watermark to visibleEnd and wakes
// the fetchers if it moved. Called after every log call that may sync
// (append with a flush policy, a roll, Sync, retention, Close).
func (p *Partition) refreshHighWatermark() {
	to := p.visibleEnd()
	for {
		cur := p.hw.Load()
		if to <= cur {
			return
		}
		// A CAS, not a store: concurrent refreshers (Flush, WaitSynced,
		// appends) may compute their targets in any order, and the high
		// watermark must only go up.
		if p.hw.CompareAndSwap(cur, to) {
			p.broadcast()
			return
		}
	}
}

// broadcast wakes every fetcher waiting on the current wake channel.
//
// The order that makes it lose no wake-up: an advancer stores the new high
// watermark, then takes waitMu to close the channel; a fetcher takes waitMu
// to get the channel, then loads the high watermark. Either the fetcher got
// the channel before the advancer closed it (it wakes), or after (it loads
// the new high watermark and does not wait).
func (p *Partition) broadcast() {
	p.waitMu.Lock()
	if p.wake != nil {
		close(p.wake)
		p.wake = nil
	}
	for _, ch := range p.notify {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	p.waitMu.Unlock()
}

// Notify registers ch to receive a value, without blocking, whenever the
// high watermark advances, the log start offset moves, or the partition
// closes: the events that can end a Fetch's wait. It lets one goroutine
// wait on many partitions at once (a consumer's Poll) with one channel, no
// goroutine per partition and no polling: give ch a buffer of one, call
// Notify on every partition, then re-check each partition's condition
// (HighWatermark, LogStartOffset) before receiving from ch, since events
// before the registration are not replayed. A send that finds ch full is
// dropped, which loses nothing: ch is already due to wake its reader.
//
// stop unregisters ch; call it once the wait is over. Registering the same
// channel twice needs two stops. Safe for concurrent use.
func (p *Partition) Notify(ch chan<- struct{}) (stop func()) {
	p.waitMu.Lock()
	p.notify = append(p.notify, ch)
	p.waitMu.Unlock()
	return func() {
		p.waitMu.Lock()
		for i, c := range p.notify {
			if c == ch {
				last := len(p.notify) - 1
				p.notify[i] = p.notify[last]
				p.notify[last] = nil
				p.notify = p.notify[:last]
				break
			}
		}
		if len(p.notify) == 0 {
			p.notify = nil
		}
		p.waitMu.Unlock()
	}
}

// subscribe returns the channel closed at the next advance of the high
// watermark (or Close). The caller must check its condition after
// subscribing and before waiting.
func (p *Partition) subscribe() <-chan struct{} {
	p.waitMu.Lock()
	if p.wake == nil {
		p.wake = make(chan struct{})
	}
	ch := p.wake
	p.waitMu.Unlock()
	return ch
}

// Flush is the owner's background flusher's call, after OnDirty queued the
// partition: it syncs the log if anything appended is unsynced (group
// commit with concurrent Sync and WaitSynced callers), advances the high
// watermark and wakes the fetchers. It re-arms OnDirty before syncing, so
// data appended during the sync queues the partition again.
//
// With acks=1 producers no one else asks for a sync: the owner's flusher
// running Flush within a few milliseconds of OnDirty is what keeps the high
// watermark moving, and bounds the loss window of UnsafeExposeUnsynced.
//
// Errors: log.ErrFailed (wrapping the fsync's cause) when a sync failed,
// now or before: the log accepts no more appends and the high watermark
// stops; ErrClosed.
func (p *Partition) Flush() error {
	if p.closed.Load() {
		return ErrClosed
	}
	// Reset before the sync reads the log end offset: an append that
	// finishes after the reset sets dirty again and calls OnDirty; one
	// that finished before is covered by this sync.
	p.dirty.Store(false)
	var err error
	if p.log.SyncedOffset() < p.log.EndOffset() {
		err = p.log.Sync()
	}
	p.refreshHighWatermark()
	return wrapLog(err)
}

// Sync makes every record appended before the call durable and visible:
// when it returns nil the synced offset and the high watermark have reached
// the log end offset seen at the call. It is acks=all for a whole
// partition; see WaitSynced.
func (p *Partition) Sync(ctx context.Context) error {
	return p.WaitSynced(ctx, p.log.EndOffset()-1)
}

// WaitSynced returns nil once the record at offset is on stable storage,
// and so below the high watermark (the acks=all wait of a producer, with
// offset its batch's last offset). If it is not yet, WaitSynced syncs the
// log: concurrent callers, Flush and the log's flush policy share
// fdatasyncs (group commit), so many producers waiting at once cost one or
// two syncs. An offset below the synced offset returns at once, an offset
// of -1 (nothing appended) too.
//
// ctx is checked before syncing; the sync itself, one bounded disk
// operation shared with other callers, is not interrupted.
//
// Errors: ctx.Err(); ErrOffsetOutOfRange for an offset at or past the log
// end offset (never appended); log.ErrFailed when a sync failed (the log is
// then failed: whether the record survives a power loss is unknown);
// ErrClosed, unless Close synced the record.
func (p *Partition) WaitSynced(ctx context.Context, offset int64) error {
	if offset < p.log.SyncedOffset() {
		p.refreshHighWatermark()
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if end := p.log.EndOffset(); offset >= end {
		return fmt.Errorf("%w: wait for offset %d, log end offset is %d", ErrOffsetOutOfRange, offset, end)
	}
	err := p.log.Sync()
	p.refreshHighWatermark()
	if offset < p.log.SyncedOffset() {
		return nil // Close may have synced it even if Sync saw the log closed
	}
	if err == nil {
		// Cannot happen: Sync covers the log end offset seen before it.
		return fmt.Errorf("partition: offset %d not synced after sync", offset)
	}
	return wrapLog(err)
}

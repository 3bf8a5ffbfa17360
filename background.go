package samsa

// The background work a Broker owns: three goroutines in all, however many
// partitions there are, started by Open and stopped (and waited for) by
// Close.
//
//   - the flusher: a partition that holds appended but unsynced data queues
//     itself once (partition.Config.OnDirty); the flusher wakes on the first
//     one, waits Config.FlushInterval so that more appends share the fsync,
//     then flushes the queued partitions (syncing them and moving their
//     high watermarks), a few at a time. Idle, it sleeps; it never scans
//     the partitions.
//   - the retention ticker: every Config.RetentionCheckInterval, compacts
//     the partitions of __consumer_offsets that have grown enough (the
//     group coordinator re-appends their live offsets and moves their log
//     start; see group.Coordinator.MaybeCompactOffsets), then applies
//     retention.ms and retention.bytes to every partition.
//   - the checkpoint ticker: every Config.CheckpointInterval, writes the
//     checkpoint files.

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/samsalog/samsa/group"
	"github.com/samsalog/samsa/partition"
)

// flusher is the queue of partitions waiting for the background flusher.
type flusher struct {
	mu    sync.Mutex
	queue []*partition.Partition
	wake  chan struct{} // capacity 1: a queue became non-empty
}

// markDirty queues p; it is partition.Config.OnDirty, called at most once
// per partition between two flushes, outside the partition's locks.
func (f *flusher) markDirty(p *partition.Partition) {
	f.mu.Lock()
	f.queue = append(f.queue, p)
	first := len(f.queue) == 1
	f.mu.Unlock()
	if first {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

// take empties the queue and returns what it held.
func (f *flusher) take(buf []*partition.Partition) []*partition.Partition {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append(buf[:0], f.queue...)
	clear(f.queue)
	f.queue = f.queue[:0]
	return out
}

// reset drops the queue (after Close: the partitions are closed).
func (f *flusher) reset() {
	f.mu.Lock()
	f.queue = nil
	f.mu.Unlock()
}

// startBackground starts the broker's goroutines.
func (b *Broker) startBackground() {
	b.wg.Add(3)
	go b.runFlusher()
	go b.runTicker(b.cfg.RetentionCheckInterval, b.applyRetention)
	go b.runTicker(b.cfg.CheckpointInterval, b.checkpointTick)
}

func (b *Broker) runFlusher() {
	defer b.wg.Done()
	timer := time.NewTimer(b.cfg.FlushInterval)
	timer.Stop()
	defer timer.Stop()
	var batch []*partition.Partition
	for {
		select {
		case <-b.stop:
			return
		case <-b.flush.wake:
		}
		timer.Reset(b.cfg.FlushInterval)
		select {
		case <-b.stop:
			return
		case <-timer.C:
		}
		batch = b.flush.take(batch)
		b.flushPartitions(batch)
		clear(batch)
	}
}

// flushPartitions flushes ps, a few at a time: each flush is an fdatasync,
// and fdatasyncs of different files overlap well.
func (b *Broker) flushPartitions(ps []*partition.Partition) {
	if len(ps) == 0 {
		return
	}
	b.stats.flushRounds.Add(1)
	_ = runParallel(len(ps), closeWorkers(), func(i int) error {
		p := ps[i]
		err := p.Flush()
		switch {
		case err == nil:
			b.stats.flushedPartitions.Add(1)
		case errors.Is(err, partition.ErrClosed):
			// Its topic was deleted or the broker is closing: Close
			// syncs what is left.
		default:
			// The partition reports it to its appenders too (a failed
			// fsync fails the log); say it once here.
			b.stats.flushErrors.Add(1)
			b.logger.Error("samsa: background flush failed", "topic", p.Topic(), "partition", p.ID(), "err", err)
		}
		return nil
	})
}

// runTicker calls fn every interval until Close.
func (b *Broker) runTicker(interval time.Duration, fn func()) {
	defer b.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			fn()
		}
	}
}

// applyRetention compacts the offsets topic where it has grown enough (see
// group.Coordinator.MaybeCompactOffsets), then applies retention to every
// partition, stopping early if the broker closes.
func (b *Broker) applyRetention() {
	b.stats.retentionRuns.Add(1)
	b.compactOffsets()
	for _, t := range b.topicMap() {
		for _, p := range t.parts {
			select {
			case <-b.stop:
				return
			default:
			}
			n, err := p.ApplyRetention()
			b.stats.deletedSegments.Add(uint64(max(n, 0)))
			if err != nil && !errors.Is(err, partition.ErrClosed) {
				b.stats.retentionErrors.Add(1)
				b.logger.Error("samsa: retention failed", "topic", p.Topic(), "partition", p.ID(), "err", err)
			}
			if n > 0 {
				b.logger.Debug("samsa: retention deleted segments", "topic", p.Topic(), "partition", p.ID(), "segments", n)
			}
		}
	}
}

// compactOffsets is the retention pass's call into the group coordinator:
// it keeps __consumer_offsets bounded, since samsa has no log cleaner.
// Close closes the coordinator first, which stops a compaction in
// progress (group.ErrClosed) before the partitions close.
func (b *Broker) compactOffsets() {
	res, err := b.coord.MaybeCompactOffsets(context.Background())
	b.stats.deletedSegments.Add(uint64(res.DeletedSegments))
	if err != nil && !errors.Is(err, group.ErrClosed) && !errors.Is(err, partition.ErrClosed) {
		b.stats.retentionErrors.Add(1)
		b.logger.Error("samsa: compaction of the offsets topic failed", "topic", ConsumerOffsetsTopic, "err", err)
	}
}

// checkpointTick writes the checkpoint files.
func (b *Broker) checkpointTick() {
	b.adminMu.Lock()
	defer b.adminMu.Unlock()
	if b.closed.Load() {
		return
	}
	if err := b.writeCheckpointsLocked(); err != nil {
		b.logger.Error("samsa: checkpoint failed", "err", err)
		return
	}
	b.staleCheckpoint = false
}

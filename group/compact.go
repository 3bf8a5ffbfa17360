package group

// Compaction of the offsets topic, done by the coordinator itself with the
// log's crash-safe primitives instead of a general log cleaner.
//
// # Procedure, per offsets partition p
//
//  1. Under c.mu, read cut := p.LogEndOffset() and list the groups stored
//     in p. A group that is not in the list has no record below cut that
//     is still needed: a group leaves c.groups only by DeleteGroup, after
//     its tombstones are appended, and a group created after the list is
//     created after cut was read, so all its records are at or past cut.
//  2. For each listed group, under its lock: re-append its live offsets,
//     one record per live key (tombstoned keys are simply absent), in
//     batches of at most snapshotBatchBytes. A group found deleted is
//     skipped (its tombstones are at or past cut, DeleteGroup having
//     removed it after step 1); one found dead because Close ran stops
//     the compaction before step 4.
//  3. Sync the partition up to the last record re-appended.
//  4. p.DeleteRecordsBefore(cut): the log start offset moves to cut (and
//     is checkpointed), and the sealed segments wholly below it are
//     deleted at once, by the log's crash-safe .deleted protocol. The
//     rest of the old data (in the segment holding cut) goes with the
//     compaction after that segment is sealed.
//
// # Ordering
//
// The hazard: a commit for key K is appended before the snapshot of its
// group, but its sync has not finished, so it is not yet applied to
// g.offsets. Restating g.offsets would append K's older value after the
// commit: a replay would end with the older value, and a committed offset
// would go back after a restart. So step 2 restates, per key, the newest
// value appended, not the newest applied: Commit records its values in
// g.inflight, under the group's lock, in the same critical section as its
// append, and removes them when it applies them (or fails). Since both the
// commit's append and the snapshot's are made under the group's lock, the
// snapshot's value of K is the value of K's last record before it, and
// every later record of K is a later commit or tombstone. For every key,
// the last record in the log therefore carries the newest value, and
// commits keep their generation checks: nothing about them changes.
//
// # Crash safety
//
// Replaying any suffix of the log that starts at or below cut gives the
// same map as a full replay: a key whose last record is below cut is a
// tombstone's (a live key of a listed group is restated past cut). Hence:
//   - a crash during step 2 or 3 leaves the old log plus a partial
//     snapshot, which only restates current values: a full replay is
//     right, whether or not the snapshot's tail survived;
//   - the snapshot is synced (step 3) before step 4 checkpoints the new
//     log start, so a replay from cut always finds the snapshot;
//   - a crash during step 4 leaves either the old log start (full replay)
//     or cut, with some segments below it not yet deleted (they are below
//     the log start: never read, deleted by the next retention pass), or
//     .deleted files that the log's Open removes.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsalog/samsa/partition"
	"github.com/samsalog/samsa/record"
)

// snapshotBatchBytes bounds the batches of a snapshot (estimated), well
// under the offsets partitions' max.message.bytes (1 MiB by default): a
// group may hold offsets for more partitions than one commit can carry.
const snapshotBatchBytes = 256 << 10

// Estimated framing of a record and of a batch, for the live-set size
// kept between compactions and for cutting batches.
const (
	recordOverhead = 16 // length, attributes, deltas, key and value lengths, headers count
	batchOverhead  = record.BatchHeaderSize
)

// offsetsPart is one offsets partition with its compaction state.
type offsetsPart struct {
	p *partition.Partition
	// dirty counts the bytes of the batches of commits and tombstones
	// appended since the last compaction (after NewCoordinator: every
	// byte its replay read), live the bytes of the last snapshot (after
	// NewCoordinator: an estimate of the live set).
	dirty, live atomic.Int64
	// compacting serializes the compactions of the partition. Lock order:
	// compacting, then c.mu, then a group's mu.
	compacting sync.Mutex
}

// due reports whether the partition has grown enough to be compacted.
func (op *offsetsPart) due(minBytes int64) bool {
	return minBytes >= 0 && op.dirty.Load() > max(minBytes, 2*op.live.Load())
}

// CompactionResult is what a compaction of the offsets topic did.
type CompactionResult struct {
	// Partitions is the number of offsets partitions compacted.
	Partitions int
	// Records and Bytes are the live offsets re-appended and the size of
	// their batches.
	Records int
	Bytes   int64
	// DeletedSegments is the number of segments deleted below the new log
	// start offsets.
	DeletedSegments int
}

func (r *CompactionResult) add(o CompactionResult) {
	r.Partitions += o.Partitions
	r.Records += o.Records
	r.Bytes += o.Bytes
	r.DeletedSegments += o.DeletedSegments
}

// MaybeCompactOffsets compacts the offsets partitions that have grown past
// their trigger: the bytes of commits and tombstones appended since the
// partition's last compaction (since NewCoordinator: all it replayed)
// exceed max(CompactionMinBytes, 2x the size of its live set, as last
// measured). A partition then holds its live set plus at most about that
// much, and NewCoordinator's replay reads no more; compaction writes the
// live set once per at least twice its size of new commits. The owner
// calls it from a ticker (the Broker's retention ticker does); it starts no
// goroutine. Errors are those of CompactOffsets, joined over partitions.
func (c *Coordinator) MaybeCompactOffsets(ctx context.Context) (CompactionResult, error) {
	return c.compact(ctx, func(op *offsetsPart) bool { return op.due(c.cfg.CompactionMinBytes) })
}

// CompactOffsets compacts every offsets partition now, whatever its
// growth: it re-appends the live committed offsets of every group stored
// in the partition (one record per key; deleted keys are left out), syncs
// them, then moves the partition's log start offset to where the snapshot
// begins, deleting the sealed segments wholly below it. Afterwards
// NewCoordinator's replay reads the snapshot and the commits after it, and
// loads the same offsets as before. Commits, fetches and rebalances go on
// meanwhile; each group's lock is held while its own records are appended.
//
// A crash at any point leaves a log whose replay loads the offsets
// acknowledged before it (see compact.go for the ordering and crash
// argument). On error the log start offset has not moved, except after an
// error deleting a segment (the start has moved; the files are removed at
// the next retention pass or Open).
//
// Errors, joined over partitions: ErrClosed (also when Close runs
// meanwhile: the log start offset is then left alone), ctx.Err() (checked
// between groups and before the sync), and the offsets partitions'
// append, sync and delete errors.
func (c *Coordinator) CompactOffsets(ctx context.Context) (CompactionResult, error) {
	return c.compact(ctx, func(*offsetsPart) bool { return true })
}

// compact compacts the partitions for which want returns true.
func (c *Coordinator) compact(ctx context.Context, want func(*offsetsPart) bool) (CompactionResult, error) {
	var (
		total CompactionResult
		errs  []error
	)
	for _, op := range c.parts {
		if !want(op) {
			continue
		}
		res, err := c.compactPartition(ctx, op)
		total.add(res)
		if err != nil {
			if errors.Is(err, ErrClosed) || ctx.Err() != nil {
				return total, errors.Join(append(errs, err)...)
			}
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// compactPartition compacts one offsets partition (see the procedure at the
// top of this file).
func (c *Coordinator) compactPartition(ctx context.Context, op *offsetsPart) (CompactionResult, error) {
	op.compacting.Lock()
	defer op.compacting.Unlock()
	start := time.Now()
	p := op.p
	// Step 1.
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return CompactionResult{}, ErrClosed
	}
	cut := p.LogEndOffset()
	var groups []*group
	for _, g := range c.groups {
		if g.op == op {
			groups = append(groups, g)
		}
	}
	c.mu.Unlock()
	from := p.LogStartOffset()
	if cut <= from {
		return CompactionResult{}, nil
	}
	dirty := op.dirty.Load()
	slices.SortFunc(groups, func(a, b *group) int { return strings.Compare(a.name, b.name) })

	// Step 2.
	var res CompactionResult
	last := cut - 1
	for _, g := range groups {
		if err := ctx.Err(); err != nil {
			return CompactionResult{}, err
		}
		g.mu.Lock()
		if g.dead {
			// Deleted (its tombstones are past cut), or closed: checked
			// below, before anything is deleted.
			g.mu.Unlock()
			continue
		}
		n, bytes, end, err := c.snapshotGroupLocked(g)
		g.mu.Unlock()
		res.Records += n
		res.Bytes += bytes
		if err != nil {
			return CompactionResult{}, fmt.Errorf("group: compact %s-%d: group %q: %w", p.Topic(), p.ID(), g.name, err)
		}
		last = max(last, end)
	}
	if c.isClosed() {
		// A group skipped as dead may have been closed, not deleted: its
		// records below cut were not restated.
		return CompactionResult{}, ErrClosed
	}

	// Step 3.
	if err := p.WaitSynced(ctx, last); err != nil {
		return CompactionResult{}, fmt.Errorf("group: compact %s-%d: %w", p.Topic(), p.ID(), err)
	}

	// Step 4.
	deleted, err := p.DeleteRecordsBefore(cut)
	res.DeletedSegments = deleted
	if p.LogStartOffset() >= cut {
		res.Partitions = 1
		op.dirty.Add(-dirty)
		op.live.Store(res.Bytes)
		c.log.Info("group: compacted offsets partition", "topic", p.Topic(), "partition", p.ID(),
			"log_start_offset", cut, "records_dropped", cut-from, "live_records", res.Records,
			"live_bytes", res.Bytes, "deleted_segments", deleted, "took", time.Since(start))
	}
	if err != nil {
		return res, fmt.Errorf("group: compact %s-%d: delete records before %d: %w", p.Topic(), p.ID(), cut, err)
	}
	return res, nil
}

// liveOffset is one key of a snapshot.
type liveOffset struct {
	tp TopicPartition
	o  OffsetAndMetadata
}

// newestOffsetsLocked returns g's offsets with, per key, the newest value
// appended to the log: an in-flight commit's value wins over the applied
// one it follows. Sorted by topic and partition. g.mu held.
func (g *group) newestOffsetsLocked() []liveOffset {
	newest := g.offsets
	if len(g.inflight) > 0 {
		newest = maps.Clone(g.offsets)
		for _, ic := range g.inflight {
			for i, tp := range ic.tps {
				at := ic.base + int64(i)
				if e, ok := newest[tp]; !ok || e.logOffset < at {
					newest[tp] = offsetEntry{OffsetAndMetadata: ic.vals[i], logOffset: at}
				}
			}
		}
	}
	out := make([]liveOffset, 0, len(newest))
	for tp, e := range newest {
		out = append(out, liveOffset{tp: tp, o: e.OffsetAndMetadata})
	}
	slices.SortFunc(out, func(a, b liveOffset) int { return compareTopicPartitions(a.tp, b.tp) })
	return out
}

// snapshotGroupLocked re-appends the newest value of each of g's keys to its
// offsets partition (step 2), in batches of about snapshotBatchBytes at
// most, and returns the records and bytes appended and the last offset
// (-1 if none). g.mu held: no commit of g can be appended meanwhile.
func (c *Coordinator) snapshotGroupLocked(g *group) (n int, bytes, last int64, err error) {
	last = -1
	live := g.newestOffsetsLocked()
	var (
		recs []record.Record
		size int
	)
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		res, b, err := c.appendBatch(g.op.p, recs)
		if err != nil {
			return err
		}
		n += len(recs)
		bytes += int64(b)
		last = res.LastOffset
		recs, size = recs[:0], 0
		return nil
	}
	for _, l := range live {
		key := appendOffsetKey(nil, g.name, l.tp.Topic, l.tp.Partition)
		val := appendOffsetValue(nil, l.o)
		rs := len(key) + len(val) + recordOverhead
		if len(recs) > 0 && size+rs > snapshotBatchBytes {
			if err := flush(); err != nil {
				return n, bytes, last, err
			}
		}
		// The record keeps the commit's time, as Kafka's cleaner keeps a
		// record's timestamp.
		recs = append(recs, record.Record{Key: key, Value: val, Timestamp: l.o.CommitTime})
		size += rs
	}
	return n, bytes, last, flush()
}

// estimateLive sets each partition's live size from the offsets just
// loaded: what a snapshot would append. Called by NewCoordinator.
func (c *Coordinator) estimateLive() {
	for _, g := range c.groups {
		size := int64(batchOverhead)
		for tp, e := range g.offsets {
			size += int64(offsetRecordSize(g.name, tp, e.OffsetAndMetadata))
		}
		g.op.live.Add(size)
	}
}

// offsetRecordSize estimates the encoded size of an offset commit record.
func offsetRecordSize(group string, tp TopicPartition, o OffsetAndMetadata) int {
	const key = 2 + 2 + 2 + 4     // version, two string lengths, partition
	const val = 2 + 8 + 4 + 2 + 8 // version, offset, epoch, metadata length, time
	return key + len(group) + len(tp.Topic) + val + len(o.Metadata) + recordOverhead
}

package producer

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	part "github.com/samsalog/samsa/partition"
	"github.com/samsalog/samsa/record"
)

// The accumulator: per topic a partitioner and the partitions' states, per
// partition an open batch that Produce appends records to, a queue of
// closed batches waiting for a sender, and the list of every batch not yet
// completed (for Flush). A record is encoded into its batch's buffer on
// Produce (encode.go), so the caller may reuse its slices at once; a
// sender writes the header, compressing the batch once if asked
// (sender.go).

// topicState is what the producer keeps per topic. Immutable once published
// but for parts, which grows when the topic gains partitions.
type topicState struct {
	name        string
	partitioner Partitioner
	batchAware  BatchAware // nil unless the partitioner implements it
	bytesAware  BytesAware // nil unless the partitioner implements it
	parts       atomic.Pointer[[]*partState]
}

// partState is the producer's state for one partition.
type partState struct {
	topic *topicState
	id    int32
	part  *part.Partition

	mu sync.Mutex
	// closed is set by Close: no record is added after it.
	closed bool
	// open is the batch records are appended to, nil if none. It holds at
	// least one record.
	open *batch
	// queue holds closed batches waiting for a sender, oldest first.
	queue []*batch
	// live holds every batch created and not yet completed, oldest first
	// (the open one, queued ones, ones being appended or synced). Flush
	// waits on it.
	live []*batch
	// created counts the batches created; a batch's id is the count after
	// its creation, so ids increase.
	created uint64
	// scheduled is set while the partition is in the append queue or a
	// sender is appending its batches: one sender at a time, so batches
	// are appended in order.
	scheduled bool
	// awaiting holds the appended batches waiting for their sync (acks=all)
	// in order, and syncing is set while the partition is in the sync queue
	// or a syncer works on it.
	awaiting []*batch
	syncing  bool

	// nextSeq is the sequence number of the next record to append
	// (idempotence). Only the sender holding the partition (scheduled)
	// touches it.
	nextSeq int32
}

// entry is what a batch keeps of each record besides its encoding: the
// caller's record and callback, for delivery.
type entry struct {
	rec *record.Record
	fn  func(*record.Record, error)
}

// batch is one partition's batch of records, from its creation in Produce
// to its completion.
type batch struct {
	ps      *partState
	id      uint64
	created time.Duration // since Producer.start
	// reserved is the buffer memory the batch holds until it completes.
	reserved int64
	// limit is the encoded size past which no record is added.
	limit int
	// baseTS and maxTS are the first and the largest record timestamps,
	// Unix ms.
	baseTS, maxTS int64
	// sendNow marks a batch ready as soon as it is created (Linger < 0):
	// a sender takes it, closing it, when it gets to the partition.
	sendNow bool
	pooled  bool

	// buf holds the encoded batch: 61 bytes for the header, which the
	// sender writes, then the records as Produce encoded them. len(buf)
	// is the batch's exact uncompressed size.
	buf     []byte
	hkeys   []string // header keys, in order, for the compressed path
	entries []entry

	// Set by the sender.
	res part.AppendResult
	err error
}

// fits returns the size of r's body as the next record of b, and whether
// r fits in b.
func (b *batch) fits(ts int64, s recordSizes) (int, bool) {
	base := b.baseTS
	if len(b.entries) == 0 {
		base = ts
	}
	body := s.bodyAt(ts, base, len(b.entries))
	return body, len(b.buf)+sizeOf(body) <= b.limit
}

// add encodes r into b. b.ps.mu is held (or b is not yet published).
func (b *batch) add(r *record.Record, fn func(*record.Record, error), ts int64, body int, keepRec bool) {
	if len(b.entries) == 0 {
		b.baseTS, b.maxTS = ts, ts
	} else if ts > b.maxTS {
		b.maxTS = ts
	}
	b.buf = appendRecord(b.buf, r, body, ts-b.baseTS, len(b.entries))
	for i := range r.Headers {
		b.hkeys = append(b.hkeys, r.Headers[i].Key)
	}
	if !keepRec {
		r, fn = nil, nil // acks=0: the callback has run, nothing to deliver
	}
	b.entries = append(b.entries, entry{rec: r, fn: fn})
}

// reset empties b for reuse, dropping every reference to callers' data.
func (b *batch) reset() {
	clear(b.entries)
	clear(b.hkeys)
	*b = batch{
		pooled:  b.pooled,
		buf:     b.buf[:record.BatchHeaderSize],
		hkeys:   b.hkeys[:0],
		entries: b.entries[:0],
	}
}

// appendRecord adds r, already partitioned to parts[pid], to its
// partition's open batch, creating a batch if needed (which may wait for
// buffer memory). ts is r's timestamp (Unix ms), stamped by produce when
// stamp is set. It returns the partition, or nil if r failed (its callback
// has then run).
func (p *Producer) appendRecord(ctx context.Context, topic *topicState, parts []*partState, pid int32, r *record.Record,
	fn func(*record.Record, error), s recordSizes, ts int64, stamp bool) *partState {
	ps := parts[pid]
	repartitioned := false
	for {
		ps.mu.Lock()
		if ps.closed {
			ps.mu.Unlock()
			p.fail(r, fn, ErrClosed)
			return nil
		}
		if b := ps.open; b != nil {
			if body, ok := b.fits(ts, s); ok {
				run := p.addLocked(ps, b, r, fn, ts, body)
				ps.mu.Unlock()
				p.accepted(r, fn)
				if run {
					p.callerRun(ps)
				}
				return ps
			}
		}
		if topic.batchAware == nil || repartitioned {
			ps.mu.Unlock()
			break
		}
		// Java's abortOnNewBatch: tell the partitioner, partition again,
		// and append wherever that says, without asking twice.
		ps.mu.Unlock()
		repartitioned = true
		topic.batchAware.OnNewBatch(pid)
		var err error
		if pid, err = p.partition(topic, parts, r); err != nil {
			p.fail(r, fn, err)
			return nil
		}
		ps = parts[pid]
	}

	nb, err := p.newBatch(ctx, s)
	if err != nil {
		p.fail(r, fn, err)
		return nil
	}
	// A new batch reads the clock: its creation time, and a fresh stamp
	// for a record that opens a batch after a quiet spell.
	created := p.refreshClock()
	if stamp {
		ts = p.clockMS.Load()
		r.Timestamp = time.UnixMilli(ts)
	}
	ps.mu.Lock()
	if ps.closed {
		ps.mu.Unlock()
		p.discard(nb)
		p.fail(r, fn, ErrClosed)
		return nil
	}
	if b := ps.open; b != nil {
		// Another goroutine opened a batch meanwhile: use it if it has
		// room, else close it.
		if body, ok := b.fits(ts, s); ok {
			run := p.addLocked(ps, b, r, fn, ts, body)
			ps.mu.Unlock()
			p.discard(nb)
			p.accepted(r, fn)
			if run {
				p.callerRun(ps)
			}
			return ps
		}
		p.sealLocked(ps, b)
	}
	ps.created++
	nb.ps, nb.id, nb.created = ps, ps.created, created
	nb.sendNow = p.cfg.Linger < 0
	ps.open = nb
	ps.live = append(ps.live, nb)
	id := nb.id
	run := p.addLocked(ps, nb, r, fn, ts, s.bodyAt(ts, ts, 0))
	if nb.sendNow && ps.open == nb {
		p.scheduleLocked(ps)
	}
	ps.mu.Unlock()
	if p.cfg.Linger > 0 && !run {
		p.timer.push(lingerEntry{ps: ps, b: nb, id: id, deadline: created + p.cfg.Linger})
	}
	p.accepted(r, fn)
	if run {
		p.callerRun(ps)
	}
	return ps
}

// addLocked adds r to ps's open batch b, tells a BytesAware partitioner
// (under the lock, as Java's accumulator does, so that r is not yet
// delivered), and closes b if a record of the same size would not fit.
//
// It returns true when the caller is to append the closed batch itself
// (caller-runs, see callerRun): b filled up, caller-runs is on (acks=1, no
// compression), and no sender holds or awaits the partition. ps is then marked
// scheduled, as it would be for a sender, so that nothing else appends its
// batches until callerRun is done.
func (p *Producer) addLocked(ps *partState, b *batch, r *record.Record, fn func(*record.Record, error), ts int64, body int) (callerRuns bool) {
	size := sizeOf(body)
	b.add(r, fn, ts, body, p.cfg.Acks != AcksNone)
	full := len(b.buf)+size > b.limit
	if ba := ps.topic.bytesAware; ba != nil {
		ba.OnAppend(r, ps.id, size, full || len(ps.queue) > 0)
	}
	if !full {
		return false
	}
	callerRuns = p.callerRuns && !ps.scheduled
	if callerRuns {
		ps.scheduled = true // ours: sealLocked does not queue ps for a sender
	}
	p.sealLocked(ps, b)
	return callerRuns
}

// accepted finishes Produce for a record added to a batch: with acks=0 the
// record is delivered now.
func (p *Producer) accepted(r *record.Record, fn func(*record.Record, error)) {
	if p.cfg.Acks != AcksNone {
		return
	}
	r.Offset = -1
	if len(p.cfg.Interceptors) > 0 {
		p.onAck(r, nil)
	}
	fn(r, nil)
}

// sealLocked closes ps's open batch b and queues it for a sender.
func (p *Producer) sealLocked(ps *partState, b *batch) {
	if ps.open == b {
		ps.open = nil
	}
	ps.queue = append(ps.queue, b)
	p.scheduleLocked(ps)
}

// scheduleLocked puts ps in the append queue unless it is there or being
// appended already.
func (p *Producer) scheduleLocked(ps *partState) {
	if !ps.scheduled {
		ps.scheduled = true
		p.appendQ.push(ps)
	}
}

// sendNow closes ps's open batch, if any, so that it is sent without
// waiting for linger.
func (p *Producer) sendNow(ps *partState) {
	ps.mu.Lock()
	if b := ps.open; b != nil {
		p.sealLocked(ps, b)
	}
	ps.mu.Unlock()
}

// newBatch returns an empty batch with room for a first record of sizes s,
// holding its share of buffer memory: Flush.Bytes (batch.size), or the
// record's batch if larger, as Kafka's BufferPool allocates.
func (p *Producer) newBatch(ctx context.Context, s recordSizes) (*batch, error) {
	need := record.BatchHeaderSize + s.maxSize()
	limit := max(p.batchLimit, need)
	if err := p.mem.reserve(ctx, int64(limit), p.cfg.MaxBlock, p.closingCh, &p.stats.bufferWaits); err != nil {
		return nil, err
	}
	var b *batch
	if limit == p.batchLimit {
		b = p.free.get(p.batchLimit)
	} else {
		b = &batch{buf: make([]byte, record.BatchHeaderSize, limit)}
	}
	b.reserved = int64(limit)
	b.limit = limit
	return b, nil
}

// discard returns an unused batch and its memory.
func (p *Producer) discard(b *batch) {
	p.mem.release(b.reserved)
	p.recycle(b)
}

// recycle returns b to the free list if it came from there.
func (p *Producer) recycle(b *batch) {
	if !b.pooled {
		return
	}
	b.reset()
	p.free.put(b)
}

// freeList keeps completed batches, with their buffers, for reuse: Kafka's
// BufferPool. A sync.Pool would be emptied by every GC, and a producer's
// batches would then grow their buffers again; the list keeps at most max
// batches, so an idle producer holds a bounded amount.
type freeList struct {
	mu      sync.Mutex
	batches []*batch
	max     int
}

func (f *freeList) get(size int) *batch {
	f.mu.Lock()
	if n := len(f.batches); n > 0 {
		b := f.batches[n-1]
		f.batches[n-1] = nil
		f.batches = f.batches[:n-1]
		f.mu.Unlock()
		return b
	}
	f.mu.Unlock()
	return &batch{pooled: true, buf: make([]byte, record.BatchHeaderSize, size)}
}

func (f *freeList) put(b *batch) {
	f.mu.Lock()
	if len(f.batches) < f.max {
		f.batches = append(f.batches, b)
	}
	f.mu.Unlock()
}

// memory is buffer.memory: a budget of bytes that batches take while they
// live. Reserving takes one atomic operation when there is room.
type memory struct {
	limit int64
	used  atomic.Int64

	mu      sync.Mutex
	waiting int           // under mu
	ch      chan struct{} // closed at the next release; under mu
	waiters atomic.Bool   // waiting > 0
}

func (m *memory) tryReserve(n int64) bool {
	for {
		u := m.used.Load()
		if u+n > m.limit {
			return false
		}
		if m.used.CompareAndSwap(u, n+u) {
			return true
		}
	}
}

// reserve takes n bytes, waiting until they are free, maxBlock passes
// (ErrBufferFull), ctx ends (its error) or closing is closed (ErrClosed).
func (m *memory) reserve(ctx context.Context, n int64, maxBlock time.Duration, closing <-chan struct{}, waits *atomic.Uint64) error {
	if m.tryReserve(n) {
		return nil
	}
	waits.Add(1)
	t := time.NewTimer(maxBlock)
	defer t.Stop()
	m.mu.Lock()
	m.waiting++
	// Published before the retry below: a release that the retry misses
	// sees waiters set and closes ch (both are sequentially consistent).
	m.waiters.Store(true)
	defer func() {
		m.mu.Lock()
		m.waiting--
		if m.waiting == 0 {
			m.waiters.Store(false)
		}
		m.mu.Unlock()
	}()
	for {
		if m.tryReserve(n) {
			m.mu.Unlock()
			return nil
		}
		if m.ch == nil {
			m.ch = make(chan struct{})
		}
		ch := m.ch
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return fmt.Errorf("%w (%v, %d bytes wanted, %d of %d in use)", ErrBufferFull, maxBlock, n, m.used.Load(), m.limit)
		case <-closing:
			return ErrClosed
		}
		m.mu.Lock()
	}
}

// release gives n bytes back and wakes the waiters.
func (m *memory) release(n int64) {
	m.used.Add(-n)
	if m.waiters.Load() {
		m.mu.Lock()
		if m.ch != nil {
			close(m.ch)
			m.ch = nil
		}
		m.mu.Unlock()
	}
}

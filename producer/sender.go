package producer

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/samsalog/samsa/internal/fs"
	part "github.com/samsalog/samsa/partition"
	"github.com/samsalog/samsa/record"
)

// The senders: a small pool of goroutines that take partitions with closed
// batches from the append queue, one partition per sender at a time, and
// encode, compress and append its batches in order; with acks=all a second
// pool of syncers waits for each partition's appended batches to be synced
// (WaitSynced: concurrent batches share an fdatasync) while the senders
// append the next ones. Callbacks run on these goroutines, in order per
// partition, with no lock held.

// workQueue is a FIFO of partitions for a pool of workers. A partition is in
// it at most once (partState.scheduled or .syncing).
type workQueue struct {
	mu      sync.Mutex
	cond    sync.Cond
	items   []*partState
	head    int
	stopped bool
}

func (q *workQueue) init() { q.cond.L = &q.mu }

func (q *workQueue) push(ps *partState) {
	q.mu.Lock()
	q.items = append(q.items, ps)
	q.mu.Unlock()
	q.cond.Signal()
}

// pop returns the next partition, waiting for one; false once stopped.
func (q *workQueue) pop() (*partState, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head == len(q.items) {
		if q.stopped {
			return nil, false
		}
		q.cond.Wait()
	}
	ps := q.items[q.head]
	q.items, q.head = dropHead(q.items, q.head)
	return ps, true
}

// dropHead removes items[head], the head of a FIFO kept as a slice and the
// index of its first item, and returns the new slice and head: the slice
// is reused from the start once empty, and compacted once more than half
// of it (and over 1024 items) lies before the head.
func dropHead[T any](items []T, head int) ([]T, int) {
	var zero T
	items[head] = zero
	head++
	if head == len(items) {
		return items[:0], 0
	}
	if head > 1024 && head*2 > len(items) {
		n := copy(items, items[head:])
		clear(items[n:])
		return items[:n], 0
	}
	return items, head
}

func (q *workQueue) stop() {
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// sender is one goroutine's state: an encoder and its buffers.
type sender struct {
	p *Producer
	// caller is set for a caller-runs sender (callerRun): it appends each
	// batch once and hands a batch that failed with a retriable error,
	// with the rest, to the sender pool instead of waiting to retry.
	caller bool
	enc    record.Encoder
	buf    []byte // compressed batches
	recs   []record.Record
	hdrs   []record.Header
	take   []*batch
}

// errRetriable marks an append error as worth a retry. Tests wrap it to
// simulate a lost acknowledgement.
var errRetriable = errors.New("producer: retriable append error")

// retriable reports whether a batch that failed with err may be appended
// again: the partition did not take it, and the cause may pass (a full
// disk, which retention can relieve).
func retriable(err error) bool {
	return errors.Is(err, fs.ErrNoSpace) || errors.Is(err, errRetriable)
}

func (p *Producer) appendWorker() {
	defer p.wg.Done()
	s := &sender{p: p}
	for {
		ps, ok := p.appendQ.pop()
		if !ok {
			return
		}
		s.run(ps)
	}
}

// run appends the batches queued on ps, in order.
func (s *sender) run(ps *partState) {
	p := s.p
	ps.mu.Lock()
	s.take = append(s.take[:0], ps.queue...)
	clear(ps.queue)
	ps.queue = ps.queue[:0]
	if b := ps.open; b != nil && b.sendNow {
		ps.open = nil
		s.take = append(s.take, b)
	}
	ps.mu.Unlock()

	for i, b := range s.take {
		if !s.send(ps, b) {
			// A caller-runs append failed but may be retried: the
			// senders retry it and append the batches after it, in
			// order. ps stays scheduled, now for a sender.
			ps.mu.Lock()
			ps.queue = slices.Insert(ps.queue, 0, s.take[i:]...)
			p.appendQ.push(ps)
			ps.mu.Unlock()
			clear(s.take)
			return
		}
	}
	clear(s.take)

	ps.mu.Lock()
	if len(ps.queue) > 0 || (ps.open != nil && ps.open.sendNow) {
		p.appendQ.push(ps) // still scheduled: to the back, for fairness
	} else {
		ps.scheduled = false
	}
	ps.mu.Unlock()
}

// send encodes b once, appends it (retrying retriable errors until the
// delivery timeout), and hands it on for delivery. It returns false, with
// b neither delivered nor failed, when a caller-runs sender leaves a
// retry to the sender pool.
func (s *sender) send(ps *partState, b *batch) bool {
	p := s.p
	switch {
	case p.aborted.Load():
		b.err = ErrClosed
	case p.now()-b.created > p.cfg.DeliveryTimeout:
		b.err = fmt.Errorf("%w: %d records for %s-%d waited %v", ErrDeliveryTimeout, len(b.entries), ps.topic.name, ps.id, p.cfg.DeliveryTimeout)
	default:
		b.err = s.appendBatch(ps, b)
		if b.err == errHandOff {
			b.err = nil
			return false
		}
	}
	if p.cfg.Acks == AcksAll {
		// Delivered by the partition's syncer, in order with the batches
		// appended before, even if b failed.
		ps.mu.Lock()
		ps.awaiting = append(ps.awaiting, b)
		if !ps.syncing {
			ps.syncing = true
			p.syncQ.push(ps)
		}
		ps.mu.Unlock()
		return true
	}
	p.complete(ps, b)
	return true
}

// errHandOff is appendBatch's answer to a caller-runs sender whose append
// failed with a retriable error: the senders are to retry.
var errHandOff = errors.New("producer: retry on a sender")

// callerRun appends the batches queued on ps on the caller's goroutine, as
// a sender would (caller-runs): Produce calls it, holding no lock, after
// addLocked closed a full batch of a partition that no sender held
// (ps.scheduled was false; addLocked set it). The batch goes to the
// partition without a hand-off to another goroutine, while its buffer is
// still in the caller's cache; per-partition order and one append at a
// time per partition hold as with senders, since ps is scheduled until
// run ends. The records' callbacks (acks=1) then run here, on the
// caller's goroutine, with no lock held, before Produce returns.
func (p *Producer) callerRun(ps *partState) {
	s, _ := p.callers.Get().(*sender)
	if s == nil {
		s = &sender{p: p, caller: true}
	}
	s.run(ps)
	p.callers.Put(s)
}

func (s *sender) appendBatch(ps *partState, b *batch) error {
	p := s.p
	f := batchFields{idempotent: p.idempotent}
	if p.idempotent {
		f.producerID, f.epoch, f.baseSeq = p.producerID, p.producerEpoch, ps.nextSeq
	}
	// The batch's one encoding: its own buffer, with the header written
	// now, or the compressed batch record.Encoder makes of it.
	var enc []byte
	if p.cfg.Compression == record.CompressionNone {
		b.putHeader(f)
		enc = b.buf
	} else {
		var err error
		if s.recs, s.hdrs, err = b.decodeInto(s.recs, s.hdrs); err != nil {
			return err
		}
		enc, err = s.enc.AppendBatch(s.buf[:0], s.recs, record.BatchOptions{
			Compression:   p.cfg.Compression,
			Level:         p.cfg.CompressionLevel,
			Idempotent:    f.idempotent,
			ProducerID:    f.producerID,
			ProducerEpoch: f.epoch,
			BaseSequence:  f.baseSeq,
			LeaderEpoch:   record.NoLeaderEpoch,
		})
		clear(s.recs)
		clear(s.hdrs)
		if err != nil {
			return fmt.Errorf("producer: encode batch for %s-%d: %w", ps.topic.name, ps.id, err)
		}
		s.buf = enc[:0]
	}
	var err error
	for {
		b.res, err = p.appendHook(ps.part, enc)
		p.refreshClock()
		if err == nil || !retriable(err) {
			break
		}
		if s.caller {
			p.stats.retries.Add(1)
			return errHandOff
		}
		if p.aborted.Load() {
			return fmt.Errorf("%w: %w", ErrClosed, err)
		}
		if p.now()+p.cfg.Retry.Backoff-b.created > p.cfg.DeliveryTimeout {
			return fmt.Errorf("%w: %d records for %s-%d, last error: %w", ErrDeliveryTimeout, len(b.entries), ps.topic.name, ps.id, err)
		}
		p.stats.retries.Add(1)
		t := time.NewTimer(p.cfg.Retry.Backoff)
		select {
		case <-t.C:
		case <-p.abortCtx.Done():
		}
		t.Stop()
		unstamp(enc, b.maxTS)
	}
	if err != nil {
		return err
	}
	if p.idempotent {
		// Sequences advance only over appended batches: a refused batch
		// leaves no gap for the next one.
		ps.nextSeq = nextSequence(ps.nextSeq, len(b.entries))
	}
	p.stats.batches.Add(1)
	p.stats.bytes.Add(uint64(len(enc)))
	if b.res.Duplicate {
		p.stats.duplicates.Add(1)
	}
	return nil
}

// nextSequence returns seq advanced by n records, wrapping after
// math.MaxInt32 to 0 as Kafka's sequences do.
func nextSequence(seq int32, n int) int32 {
	next := int64(seq) + int64(n)
	if next > 1<<31-1 {
		next -= 1 << 31
	}
	return int32(next)
}

func (p *Producer) syncWorker() {
	defer p.wg.Done()
	var take []*batch
	for {
		ps, ok := p.syncQ.pop()
		if !ok {
			return
		}
		take = p.syncBatches(ps, take)
	}
}

// syncBatches waits until the batches appended to ps are synced, with one
// WaitSynced for all of them, delivers them in order, and goes on while
// more arrive.
func (p *Producer) syncBatches(ps *partState, take []*batch) []*batch {
	ps.mu.Lock()
	take = append(take[:0], ps.awaiting...)
	clear(ps.awaiting)
	ps.awaiting = ps.awaiting[:0]
	ps.mu.Unlock()

	last := int64(-1)
	for _, b := range take {
		if b.err == nil {
			last = max(last, b.res.LastOffset)
		}
	}
	var err error
	if last >= 0 {
		p.stats.syncWaits.Add(1)
		if err = ps.part.WaitSynced(p.abortCtx, last); err != nil && p.abortCtx.Err() != nil {
			err = fmt.Errorf("%w: appended to %s-%d but not synced before the close deadline", ErrClosed, ps.topic.name, ps.id)
		}
	}
	for _, b := range take {
		if b.err == nil {
			b.err = err
		}
		p.complete(ps, b)
	}
	clear(take)

	ps.mu.Lock()
	if len(ps.awaiting) > 0 {
		p.syncQ.push(ps)
	} else {
		ps.syncing = false
	}
	ps.mu.Unlock()
	return take[:0]
}

// complete delivers b's records: the interceptors' OnAcknowledgement and
// the callbacks run, in record order, with no lock held. It then returns
// b's memory and drops it from its partition.
func (p *Producer) complete(ps *partState, b *batch) {
	err := b.err
	n := uint64(len(b.entries))
	if err != nil {
		p.stats.errors.Add(n)
	} else {
		p.stats.records.Add(n)
	}
	if p.cfg.Acks == AcksNone {
		if err != nil {
			p.deferError(err, len(b.entries))
		}
	} else {
		ics := len(p.cfg.Interceptors) > 0
		var ts time.Time
		if err == nil && b.res.LogAppendTime >= 0 {
			ts = time.UnixMilli(b.res.LogAppendTime)
		}
		for i := range b.entries {
			e := &b.entries[i]
			r := e.rec
			if err == nil {
				r.Offset = b.res.BaseOffset + int64(i)
				if !ts.IsZero() {
					r.Timestamp = ts
				}
			} else {
				r.Offset = -1
			}
			if ics {
				p.onAck(r, err)
			}
			e.fn(r, err)
		}
	}
	p.mem.release(b.reserved)
	p.dropLive(ps, b)
	p.recycle(b)
}

// dropLive removes b from ps.live and wakes Flush.
func (p *Producer) dropLive(ps *partState, b *batch) {
	ps.mu.Lock()
	for i, lb := range ps.live {
		if lb == b {
			copy(ps.live[i:], ps.live[i+1:])
			ps.live[len(ps.live)-1] = nil
			ps.live = ps.live[:len(ps.live)-1]
			break
		}
	}
	ps.mu.Unlock()
	if p.flushWaiters.Load() > 0 {
		p.flushMu.Lock()
		if p.flushCh != nil {
			close(p.flushCh)
			p.flushCh = nil
		}
		p.flushMu.Unlock()
	}
}

// deferError keeps the first error of acks=0 records, whose callbacks have
// run, for the next Flush or Close.
func (p *Producer) deferError(err error, n int) {
	p.deferredMu.Lock()
	if p.deferredErr == nil {
		p.deferredErr = err
	}
	p.deferredN += n
	p.deferredMu.Unlock()
	if p.log != nil {
		p.log.Error("producer: acks=0 records failed after their callbacks ran", "records", n, "error", err)
	}
}

// takeDeferred returns, and forgets, the errors deferError kept.
func (p *Producer) takeDeferred() error {
	p.deferredMu.Lock()
	defer p.deferredMu.Unlock()
	if p.deferredErr == nil {
		return nil
	}
	err := fmt.Errorf("producer: %d acks=0 records failed after their callbacks ran, first: %w", p.deferredN, p.deferredErr)
	p.deferredErr, p.deferredN = nil, 0
	return err
}

// appendToPartition is the default appendHook.
func appendToPartition(pt *part.Partition, batch []byte) (part.AppendResult, error) {
	return pt.Append(batch)
}

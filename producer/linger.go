package producer

import (
	"fmt"
	"sync"
	"time"
)

// One timer goroutine per producer, whatever the number of partitions and
// batches: it closes batches whose linger has passed, fails batches that
// waited in the buffer past the delivery timeout, and notices partitions
// added to the producer's topics.

// lingerEntry is a batch waiting for its linger to pass.
type lingerEntry struct {
	ps       *partState
	b        *batch
	id       uint64
	deadline time.Duration // since Producer.start
}

// lingerQueue is a FIFO of lingerEntries: every batch lingers the same
// time, so creation order is deadline order and no heap is needed.
type lingerQueue struct {
	mu    sync.Mutex
	items []lingerEntry
	head  int
	wake  chan struct{} // cap 1: the queue went from empty to not
}

func (q *lingerQueue) push(e lingerEntry) {
	q.mu.Lock()
	wasEmpty := q.head == len(q.items)
	q.items = append(q.items, e)
	q.mu.Unlock()
	if wasEmpty {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// popDue returns the oldest entry if its deadline is at or before now.
// ok false with next > 0 gives the time until the oldest deadline.
func (q *lingerQueue) popDue(now time.Duration) (e lingerEntry, next time.Duration, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.items) {
		return lingerEntry{}, 0, false
	}
	e = q.items[q.head]
	if e.deadline > now {
		return lingerEntry{}, e.deadline - now, false
	}
	q.items, q.head = dropHead(q.items, q.head)
	return e, 0, true
}

// scanInterval is how often the timer goroutine looks for expired batches
// and new partitions.
func (p *Producer) scanInterval() time.Duration {
	return min(max(p.cfg.DeliveryTimeout/4, time.Millisecond), time.Second)
}

func (p *Producer) timerLoop() {
	defer p.wg.Done()
	scan := p.scanInterval()
	nextScan := p.now() + scan
	t := time.NewTimer(scan)
	defer t.Stop()
	for {
		now := p.refreshClock()
		wait := nextScan - now
		for {
			e, next, ok := p.timer.popDue(now)
			if !ok {
				if next > 0 {
					// Batches are open: keep the clock within a
					// millisecond for the records Produce stamps.
					wait = min(wait, next, time.Millisecond)
				}
				break
			}
			p.lingerPassed(e)
		}
		if now >= nextScan {
			p.expireQueued(now)
			p.refreshTopics()
			nextScan = now + scan
			wait = min(wait, scan)
		}
		t.Reset(max(wait, 0))
		select {
		case <-t.C:
		case <-p.timer.wake:
		case <-p.stop:
			return
		}
	}
}

// lingerPassed closes e's batch if it is still open.
func (p *Producer) lingerPassed(e lingerEntry) {
	ps := e.ps
	ps.mu.Lock()
	// ps.open == e.b first: only then is e.b's id ps's to read (a batch
	// is reused from a pool, possibly by another partition).
	if b := ps.open; b == e.b && b.id == e.id {
		p.sealLocked(ps, b)
	}
	ps.mu.Unlock()
}

// expireQueued fails the batches that have waited in a partition's queue
// longer than the delivery timeout. Batches a sender has taken are its to
// fail.
func (p *Producer) expireQueued(now time.Duration) {
	var expired []*batch
	for _, ts := range *p.topics.Load() {
		for _, ps := range *ts.parts.Load() {
			ps.mu.Lock()
			n := 0
			for n < len(ps.queue) && now-ps.queue[n].created > p.cfg.DeliveryTimeout {
				n++
			}
			if n > 0 {
				expired = append(expired[:0], ps.queue[:n]...)
				rest := copy(ps.queue, ps.queue[n:])
				clear(ps.queue[rest:])
				ps.queue = ps.queue[:rest]
			}
			if b := ps.open; b != nil && now-b.created > p.cfg.DeliveryTimeout {
				ps.open = nil
				expired = append(expired, b)
				n++
			}
			ps.mu.Unlock()
			if n == 0 {
				continue
			}
			for _, b := range expired {
				b.err = fmt.Errorf("%w: %d records for %s-%d waited %v in the buffer", ErrDeliveryTimeout,
					len(b.entries), ps.topic.name, ps.id, p.cfg.DeliveryTimeout)
				p.complete(ps, b)
			}
			clear(expired)
			expired = expired[:0]
		}
	}
}

// refreshTopics notices partitions added to the producer's topics (Kafka
// refreshes metadata for that). It never creates a topic: a topic deleted
// meanwhile stays as the producer knew it, and its records fail.
func (p *Producer) refreshTopics() {
	for name, ts := range *p.topics.Load() {
		n := int32(len(*ts.parts.Load()))
		if _, err := p.b.Partition(name, n); err != nil {
			continue // no partition n: nothing added
		}
		p.growTopic(ts)
	}
}

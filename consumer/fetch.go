package consumer

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/samsalog/samsa/partition"
	"github.com/samsalog/samsa/record"
	"github.com/samsalog/samsa/segment"
)

// partState is the consumer's state for one assigned partition: its
// position and the fetched data not yet returned.
//
// The fetched data is a View of the log's mapping (held between Polls, so
// each batch is decoded once even when MaxPollRecords cuts through it),
// the undecoded rest of it, and the decoded records not yet returned.
// Batches are decoded from copies (see own), so no decoded record aliases
// the mapping and nothing handed to the application does; the View is
// released once its data is all decoded and returned, or on Seek,
// revocation and Close.
type partState struct {
	tp TopicPartition
	p  *partition.Partition

	pos    int64       // next offset to return; -1: unknown, resolve
	reset  OffsetReset // with pos -1: SeekToBeginning/End asked for this; "" = committed, then AutoOffsetReset
	epoch  int32       // leader epoch of the last returned record
	paused bool
	dead   bool  // the partition was closed under us (topic deleted)
	hw     int64 // high watermark at the last fetch
	lso    int64

	view    segment.View
	held    bool
	rest    []byte          // batches of view not decoded yet
	recs    []record.Record // decoded (owning their bytes), recs[ri:] not returned yet; reused
	ri      int
	decNext int64 // NextOffset of the last decoded batch
	dec     record.Decoder

	// retired is set with Config.ReuseRecords: batches are decoded from
	// the View itself (records alias the mapping), and dropBuffer hands
	// the View to the consumer, which releases it at the next Poll.
	retired *[]segment.View
}

func newPartState(tp TopicPartition, p *partition.Partition) *partState {
	s := &partState{tp: tp, p: p, pos: -1, epoch: -1, hw: -1, lso: -1}
	s.dec.Topic = tp.Topic
	s.dec.Partition = tp.Partition
	return s
}

func sortParts(ps []*partState) {
	slices.SortFunc(ps, func(a, b *partState) int { return compareTP(a.tp, b.tp) })
}

// buffered is the number of fetched bytes not yet returned (an estimate
// for fetch.min.bytes: decoded records count by their key and value).
func (s *partState) buffered() int {
	n := len(s.rest)
	for i := s.ri; i < len(s.recs); i++ {
		n += len(s.recs[i].Key) + len(s.recs[i].Value) + 1
	}
	return n
}

func (s *partState) dropBuffer() {
	if s.held {
		if s.retired != nil {
			*s.retired = append(*s.retired, s.view) // released at the next Poll
		} else {
			s.view.Release()
		}
		s.view, s.held = segment.View{}, false
	}
	s.rest = nil
	clear(s.recs) // drop references into the mapping
	s.recs = s.recs[:0]
	s.ri = 0
}

// seekLocked moves the position to off, dropping fetched data.
func (s *partState) seekLocked(off int64) {
	s.dropBuffer()
	s.pos = off
	s.reset = ""
}

// fetchable reports whether Poll may fetch or return records of s.
func (s *partState) fetchable() bool { return !s.paused && !s.dead && s.pos >= 0 }

// fill resolves unknown positions and fetches, without waiting, from every
// fetchable partition whose buffer is empty, within Fetch.MaxBytes; it
// returns the bytes buffered across fetchable partitions.
func (c *Consumer) fill() (int, error) {
	if err := c.resolvePositions(); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, ErrClosed
	}
	total := 0
	for _, s := range c.order {
		if s.fetchable() {
			total += s.buffered()
		}
	}
	n := len(c.order)
	for i := 0; i < n && total < c.cfg.Fetch.MaxBytes; i++ {
		s := c.order[(c.rr+i)%n]
		if !s.fetchable() || s.held || s.ri < len(s.recs) {
			continue
		}
		maxBytes := min(c.cfg.Fetch.MaxPartitionBytes, c.cfg.Fetch.MaxBytes-total)
		res, err := s.p.Fetch(context.Background(), s.pos, 1, maxBytes, 0)
		if err != nil {
			if err := c.fetchErrorLocked(s, err); err != nil {
				return 0, err
			}
			continue
		}
		s.hw, s.lso = res.HighWatermark, res.LastStableOffset
		if len(res.View.Data) == 0 {
			res.View.Release()
			continue
		}
		s.view, s.held, s.rest = res.View, true, res.View.Data
		total += len(s.rest)
	}
	return total, nil
}

// fetchErrorLocked handles a Fetch error: out of range resets the position
// per AutoOffsetReset (or is returned with none), a closed partition is
// set aside, anything else is returned.
func (c *Consumer) fetchErrorLocked(s *partState, err error) error {
	switch {
	case errors.Is(err, partition.ErrOffsetOutOfRange):
		if c.cfg.AutoOffsetReset == OffsetResetNone {
			return errWrap(s.tp, err)
		}
		c.log.Info("consumer: position out of range, resetting", "partition", s.tp.String(),
			"position", s.pos, "reset", string(c.cfg.AutoOffsetReset))
		s.dropBuffer()
		s.pos, s.reset = -1, c.cfg.AutoOffsetReset
		c.signal() // resolve at once
		return nil
	case isClosedPartition(err):
		if !s.dead {
			c.log.Warn("consumer: partition closed", "partition", s.tp.String())
		}
		s.dead = true
		s.dropBuffer()
		return nil
	}
	return errWrap(s.tp, err)
}

// resolvePositions gives every assigned partition without a position one:
// the group's committed offset, else AutoOffsetReset (or the reset a
// SeekToBeginning/End asked for).
func (c *Consumer) resolvePositions() error {
	c.mu.Lock()
	var need []*partState
	for _, s := range c.order {
		if s.pos < 0 && !s.dead {
			need = append(need, s)
		}
	}
	c.mu.Unlock()
	if len(need) == 0 {
		return nil
	}
	var committed map[TopicPartition]Offset
	if c.coord != nil {
		var tps []TopicPartition
		for _, s := range need {
			if s.reset == "" {
				tps = append(tps, s.tp)
			}
		}
		if len(tps) > 0 {
			var err error
			if committed, err = c.coord.fetchOffsets(c.cfg.Group, tps); err != nil {
				return err
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range need {
		if s.pos >= 0 || c.parts[s.tp] != s { // sought or revoked meanwhile
			continue
		}
		if o, ok := committed[s.tp]; ok && s.reset == "" && o.Offset >= 0 {
			s.pos, s.epoch = o.Offset, o.LeaderEpoch
			continue
		}
		reset := s.reset
		if reset == "" {
			reset = c.cfg.AutoOffsetReset
		}
		var ts int64
		switch reset {
		case OffsetResetEarliest:
			ts = partition.Earliest
		case OffsetResetLatest:
			ts = partition.Latest
		default:
			return errWrap(s.tp, ErrNoOffset)
		}
		off, err := s.p.ListOffsets(ts)
		if err != nil {
			if isClosedPartition(err) {
				s.dead = true
				continue
			}
			return errWrap(s.tp, err)
		}
		s.pos, s.reset = off, ""
	}
	return nil
}

// recSlabRecords bounds the slabs Poll carves the records it returns from.
// A slab is shared by successive Polls (its records are never rewritten
// once handed out), so that returning a batch of 100 records costs one
// allocation, not 100. It holds a whole number of batches of the current
// size where it can, and stays at or under 32 KiB (240 records of 136 B), a
// small-object size class: large pointerful slabs cost more to allocate,
// zero and scan (measured: a 4,096-record slab made Poll slower), and a
// record kept by the application keeps its slab alive.
const recSlabRecords = 240

// drain returns up to MaxPollRecords buffered records, none aliasing the
// mapping, taking partitions round-robin from c.rr.
//
// It counts, from batch headers alone, how many records it will return,
// allocates the result's pointer slice once, then decodes batch by batch
// straight into records carved from c.recSlab. Each uncompressed batch is
// first copied out of the mapping, whole, into an allocation of its own
// (see own), and decoded from the copy, so that keys, values and header
// values alias the copy instead of being copied one by one (records of
// compressed batches alias the fresh buffer the decoder decompresses
// into). Records past MaxPollRecords wait in the partition's buffer for the
// next Poll, still pointing into their batch's copy. So a Poll of 500
// records of batches of 100 costs about 10 allocations, and a record kept
// by the application keeps its batch's copy and its record slab alive, not
// more.
func (c *Consumer) drain() ([]*record.Record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.order)
	count := 0
	for i := 0; i < n && count < c.cfg.MaxPollRecords; i++ {
		if s := c.order[(c.rr+i)%n]; s.fetchable() {
			count += s.estimate(c.cfg.MaxPollRecords - count)
		}
	}
	if count == 0 {
		for _, s := range c.order {
			if s.fetchable() {
				if err := s.skipEmpty(); err != nil {
					return nil, errWrap(s.tp, err)
				}
			}
		}
		return nil, nil
	}
	out := c.outBuf[:0] // ReuseRecords: room for MaxPollRecords, at least count
	if !c.cfg.ReuseRecords {
		out = make([]*record.Record, 0, count)
	}
	need := c.cfg.MaxPollRecords
	for i := 0; i < n && need > 0; i++ {
		s := c.order[(c.rr+i)%n]
		if !s.fetchable() {
			continue
		}
		before := len(out)
		var err error
		out, err = s.take(out, need, &c.recSlab)
		if err != nil {
			if len(out) > 0 {
				break // return what was taken; the error comes back next Poll
			}
			return nil, errWrap(s.tp, err)
		}
		need -= len(out) - before
	}
	if n > 0 {
		c.rr = (c.rr + 1) % n
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// carve returns room for n (at most recSlabRecords) records at the start of
// the unused slab *slab (len 0), with cap n, starting a new slab if it has
// less. Records of it the caller hands out are given up with handOut.
func carve(slab *[]record.Record, n int) []record.Record {
	if cap(*slab) < n {
		size := recSlabRecords
		if n > 0 && n <= size {
			size = size / n * n // whole batches: no tail left over
		}
		*slab = make([]record.Record, 0, max(n, size))
	}
	return (*slab)[:0:n]
}

// handOut gives up the first k records of the slab *slab, which dst (from
// carve) starts with unless Decode reallocated it: later Polls carve only
// what follows.
func handOut(slab *[]record.Record, dst []record.Record, k int) {
	if k > 0 && cap(*slab) > 0 && &dst[:1][0] == &(*slab)[:1][0] {
		*slab = (*slab)[k:k]
	}
}

// estimate returns about how many records (at most max) s can return now,
// from the pending records and the headers of the undecoded batches.
func (s *partState) estimate(max int) (count int) {
	count = len(s.recs) - s.ri
	for rest := s.rest; len(rest) >= record.BatchHeaderSize && count < max; {
		h, err := record.ParseBatchHeader(rest)
		if err != nil || h.Size() > len(rest) {
			count++ // let take report it
			break
		}
		if !h.Attributes.Control() {
			count += int(h.NumRecords)
		}
		rest = rest[h.Size():]
	}
	return min(count, max)
}

// skipEmpty decodes what is buffered when it holds no record to return
// (control batches, records below the position), moving the position on.
func (s *partState) skipEmpty() error {
	for len(s.rest) > 0 && s.ri == len(s.recs) {
		if err := s.decodeOne(); err != nil {
			return err
		}
	}
	s.settle()
	return nil
}

// take appends to out pointers to up to need records of s, carved from
// slab, and advances the position past them. Pending records already own
// their bytes (see own) but sit in s.recs, which is reused: they are moved
// to the slab. Batches are decoded from their own copy into the slab.
func (s *partState) take(out []*record.Record, need int, slab *[]record.Record) ([]*record.Record, error) {
	var last *record.Record
	if k := min(need, len(s.recs)-s.ri); k > 0 {
		dst := carve(slab, k)[:k]
		copy(dst, s.recs[s.ri:s.ri+k])
		clear(s.recs[s.ri : s.ri+k])
		s.ri += k
		need -= k
		handOut(slab, dst, k)
		for i := range dst {
			out = append(out, &dst[i])
		}
		last = &dst[k-1]
	}
	for need > 0 && len(s.rest) > 0 {
		// Decode into the slab; a batch of more records than a slab holds
		// (or a control batch, or a damaged header, whose count is not
		// to be trusted before Decode checks the CRC) gets an array of
		// its own from Decode.
		var dst []record.Record
		if h, err := record.ParseBatchHeader(s.rest); err == nil && !h.Attributes.Control() &&
			h.NumRecords <= recSlabRecords {
			dst = carve(slab, int(h.NumRecords))
		}
		h, recs, err := s.dec.Decode(s.own(), dst)
		if err != nil {
			s.finishTake(last)
			return out, err
		}
		s.rest = s.rest[h.Size():]
		s.decNext = h.NextOffset()
		if h.Attributes.Control() {
			continue // decoded into an array of its own: nothing to clear
		}
		recs = dropBelow(recs, 0, s.pos)
		if extra := len(recs) - need; extra > 0 {
			// Past MaxPollRecords: keep the tail for the next Poll.
			s.recs = append(s.recs[:0], recs[need:]...)
			s.ri = 0
			clear(recs[need:])
			recs = recs[:need]
		}
		if len(recs) == 0 {
			continue
		}
		handOut(slab, recs, len(recs))
		for i := range recs {
			out = append(out, &recs[i])
		}
		need -= len(recs)
		last = &recs[len(recs)-1]
	}
	s.finishTake(last)
	return out, nil
}

// own returns the batch at the start of s.rest (a View of the mapping) in
// memory that records decoded from it may alias for good: a copy of it, in
// an allocation of its own that is never written again. Compressed batches
// (the decoder decompresses them into a fresh buffer), control batches (no
// record of theirs is returned) and damaged headers (Decode reports them)
// are returned as they are; so is every batch with ReuseRecords, whose
// records may alias the View until the next Poll.
func (s *partState) own() []byte {
	rest := s.rest
	if s.retired != nil {
		return rest
	}
	h, err := record.ParseBatchHeader(rest)
	if err != nil || h.Size() > len(rest) || h.Attributes.Control() ||
		h.Attributes.Compression() != record.CompressionNone {
		return rest
	}
	// append, not make+copy: the runtime need not zero what it copies over.
	return append([]byte(nil), rest[:h.Size()]...)
}

// finishTake moves the position past last, the last record taken (nil:
// none), and settles.
func (s *partState) finishTake(last *record.Record) {
	if last != nil {
		s.pos, s.epoch = last.Offset+1, last.LeaderEpoch
	}
	if s.ri == len(s.recs) && s.ri > 0 {
		s.recs, s.ri = s.recs[:0], 0
	}
	s.settle()
}

// decodeOne decodes the next batch of rest into the pending records,
// dropping records below the position and control batches.
func (s *partState) decodeOne() error {
	if s.ri == len(s.recs) && s.ri > 0 {
		clear(s.recs)
		s.recs, s.ri = s.recs[:0], 0
	}
	before := len(s.recs)
	h, recs, err := s.dec.Decode(s.own(), s.recs)
	if err != nil {
		return err
	}
	s.rest = s.rest[h.Size():]
	s.decNext = h.NextOffset()
	if h.Attributes.Control() {
		s.recs = recs[:before]
		return nil
	}
	s.recs = dropBelow(recs, before, s.pos)
	return nil
}

// dropBelow removes from recs[from:], one batch's records in offset order,
// those below pos (a prefix: after a Seek into the batch).
func dropBelow(recs []record.Record, from int, pos int64) []record.Record {
	k := from
	for k < len(recs) && recs[k].Offset < pos {
		k++
	}
	if k == from {
		return recs
	}
	n := copy(recs[from:], recs[k:])
	clear(recs[from+n:])
	return recs[:from+n]
}

// settle moves the position past skipped data once every decoded record is
// returned (after a control batch, or a compacted batch's missing last
// offsets, the position is the batch's next offset, as Kafka's), and
// releases the View once nothing refers to it.
func (s *partState) settle() {
	if s.ri < len(s.recs) {
		return
	}
	if s.decNext > s.pos && s.held {
		s.pos = s.decNext
	}
	if len(s.rest) == 0 {
		s.dropBuffer()
	}
}

// wait sleeps until a fetchable partition's high watermark advances,
// something calls signal (Seek, Resume, Assign, a rebalance, Close),
// deadline passes (if set), Fetch.MaxWait passes (so that auto-commit and
// group upkeep run between rounds), or ctx ends.
//
// It registers one channel with every fetchable partition
// (partition.Notify): no goroutine per partition, no polling.
func (c *Consumer) wait(ctx context.Context, deadline time.Time) error {
	d := c.cfg.Fetch.MaxWait
	if !deadline.IsZero() {
		d = min(d, time.Until(deadline))
	}
	if d <= 0 {
		return nil
	}
	type waiter struct {
		p   *partition.Partition
		pos int64
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	var ws []waiter
	for _, s := range c.order {
		if s.fetchable() && !s.held {
			ws = append(ws, waiter{s.p, s.pos})
		}
	}
	c.mu.Unlock()

	// One channel for every partition: each registers c.wake with
	// partition.Notify, so a wait costs no goroutine per partition. The
	// conditions are re-checked after registering, because events before it
	// are not replayed.
	stops := make([]func(), 0, len(ws))
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	for _, w := range ws {
		stops = append(stops, w.p.Notify(c.wake))
	}
	for _, w := range ws {
		if w.p.HighWatermark() > w.pos || w.p.LogStartOffset() > w.pos {
			return nil
		}
	}
	t := time.NewTimer(d)
	var err error
	select {
	case <-ctx.Done():
		err = ctx.Err()
	case <-c.wake:
	case <-t.C:
	}
	t.Stop()
	return err
}

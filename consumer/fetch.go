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
// the undecoded rest of it, and the decoded records not yet returned,
// which alias the View. Poll copies what it returns, so nothing handed to
// the application aliases the mapping; the View is released once its
// records are all returned, or on Seek, revocation and Close.
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
	recs    []record.Record // decoded, recs[ri:] not returned yet
	ri      int
	decNext int64 // NextOffset of the last decoded batch
	dec     record.Decoder
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
		s.view.Release()
		s.view = segment.View{}
		s.held = false
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

// Slab sizes: Poll carves the records and bytes it returns from slabs
// shared by successive Polls (never rewritten once handed out), so that a
// Poll of 500 records does not cost two large allocations. The price: a
// record kept by the application keeps its slab alive.
const (
	recSlabRecords = 4096
	byteSlabBytes  = 1 << 20
)

// drain returns up to MaxPollRecords buffered records, copied out of the
// mapping, taking partitions round-robin from c.rr.
//
// It first estimates, from batch headers alone, how many records it will
// return and how many bytes they hold, then allocates once (the records, the
// pointers to them, one byte arena), decodes batches straight into the
// result and copies keys, values and header values into the arena. Records
// of compressed batches already own fresh buffers and are not copied. So a
// Poll costs three allocations however many records it returns, and each
// batch is decoded once: records past MaxPollRecords wait in the
// partition's buffer for the next Poll.
func (c *Consumer) drain() ([]*record.Record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.order)
	count, bytes := 0, 0
	for i := 0; i < n && count < c.cfg.MaxPollRecords; i++ {
		if s := c.order[(c.rr+i)%n]; s.fetchable() {
			k, b := s.estimate(c.cfg.MaxPollRecords - count)
			count += k
			bytes += b
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
	if cap(c.recSlab) < count {
		c.recSlab = make([]record.Record, 0, max(count, recSlabRecords))
	}
	if cap(c.byteSlab) < bytes {
		c.byteSlab = make([]byte, 0, max(bytes, byteSlabBytes))
	}
	out := c.recSlab[:0:count]
	arena := c.byteSlab[:0]
	need := c.cfg.MaxPollRecords
	for i := 0; i < n && need > 0; i++ {
		s := c.order[(c.rr+i)%n]
		if !s.fetchable() {
			continue
		}
		before := len(out)
		var err error
		out, arena, err = s.take(out, arena, need)
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
	// Hand the used parts of the slabs to the caller for good: later Polls
	// carve only what follows.
	if len(out) <= cap(c.recSlab) && len(out) > 0 && &out[0] == &c.recSlab[:1][0] {
		c.recSlab = c.recSlab[len(out):len(out)]
	}
	if len(arena) > 0 && len(arena) <= cap(c.byteSlab) && &arena[0] == &c.byteSlab[:1][0] {
		c.byteSlab = c.byteSlab[len(arena):len(arena)]
	} else if len(arena) > 0 {
		c.byteSlab = nil // copyBytes moved to a fresh arena
	}
	if len(out) == 0 {
		return nil, nil
	}
	ptrs := make([]*record.Record, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	return ptrs, nil
}

// estimate returns about how many records (at most max) s can return now
// and an upper bound of the bytes to copy for them, from the pending
// records and the headers of the undecoded batches.
func (s *partState) estimate(max int) (count, bytes int) {
	for i := s.ri; i < len(s.recs) && count < max; i++ {
		count++
		bytes += recordBytes(&s.recs[i])
	}
	for rest := s.rest; len(rest) >= record.BatchHeaderSize && count < max; {
		h, err := record.ParseBatchHeader(rest)
		if err != nil || h.Size() > len(rest) {
			count++ // let take report it
			break
		}
		if !h.Attributes.Control() {
			count += int(h.NumRecords)
			if h.Attributes.Compression() == record.CompressionNone {
				bytes += h.Size()
			}
		}
		rest = rest[h.Size():]
	}
	return min(count, max), bytes
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

// take appends up to need records of s to out, copying their bytes into
// arena, and advances the position past them.
func (s *partState) take(out []record.Record, arena []byte, need int) ([]record.Record, []byte, error) {
	start := len(out)
	// Pending records first: they alias the View (or a compressed
	// batch's buffer), so copy.
	for s.ri < len(s.recs) && need > 0 {
		out = append(out, s.recs[s.ri])
		s.recs[s.ri] = record.Record{}
		s.ri++
		need--
		arena = copyRecord(&out[len(out)-1], arena)
	}
	for need > 0 && len(s.rest) > 0 {
		before := len(out)
		h, recs, err := s.dec.Decode(s.rest, out)
		if err != nil {
			s.finishTake(out[start:])
			return out, arena, err
		}
		s.rest = s.rest[h.Size():]
		s.decNext = h.NextOffset()
		if h.Attributes.Control() {
			clear(recs[before:])
			out = recs[:before]
			continue
		}
		keep := before
		for i := before; i < len(recs); i++ {
			if recs[i].Offset >= s.pos {
				recs[keep] = recs[i]
				keep++
			}
		}
		out = recs[:keep]
		if extra := len(out) - before - need; extra > 0 {
			// Past MaxPollRecords: keep the tail for the next Poll.
			s.recs = append(s.recs[:0], out[len(out)-extra:]...)
			s.ri = 0
			clear(out[len(out)-extra:])
			out = out[:len(out)-extra]
		}
		if h.Attributes.Compression() == record.CompressionNone {
			for i := before; i < len(out); i++ {
				arena = copyRecord(&out[i], arena)
			}
		}
		need -= len(out) - before
	}
	s.finishTake(out[start:])
	return out, arena, nil
}

// finishTake moves the position past the records taken and settles.
func (s *partState) finishTake(taken []record.Record) {
	if len(taken) > 0 {
		last := &taken[len(taken)-1]
		s.pos, s.epoch = last.Offset+1, last.LeaderEpoch
	}
	if s.ri == len(s.recs) && s.ri > 0 {
		s.recs, s.ri = s.recs[:0], 0
	}
	s.settle()
}

// copyRecord moves r's key, value and header values into arena.
func copyRecord(r *record.Record, arena []byte) []byte {
	r.Key, arena = copyBytes(arena, r.Key)
	r.Value, arena = copyBytes(arena, r.Value)
	for h := range r.Headers {
		r.Headers[h].Value, arena = copyBytes(arena, r.Headers[h].Value)
	}
	return arena
}

func recordBytes(r *record.Record) int {
	n := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Value)
	}
	return n
}

// copyBytes copies b to the end of arena and returns the copy, keeping nil
// as nil. When arena is full it starts a new one (the estimate is an upper
// bound, so only after a surprise).
func copyBytes(arena, b []byte) ([]byte, []byte) {
	if b == nil {
		return nil, arena
	}
	if cap(arena)-len(arena) < len(b) {
		arena = make([]byte, 0, max(len(b), 64<<10))
	}
	start := len(arena)
	arena = append(arena, b...)
	return arena[start:len(arena):len(arena)], arena
}

// decodeOne decodes the next batch of rest into the pending records,
// dropping records below the position and control batches.
func (s *partState) decodeOne() error {
	if s.ri == len(s.recs) && s.ri > 0 {
		clear(s.recs)
		s.recs, s.ri = s.recs[:0], 0
	}
	before := len(s.recs)
	h, recs, err := s.dec.Decode(s.rest, s.recs)
	if err != nil {
		return err
	}
	s.rest = s.rest[h.Size():]
	s.decNext = h.NextOffset()
	if h.Attributes.Control() {
		s.recs = recs[:before]
		return nil
	}
	keep := before
	for i := before; i < len(recs); i++ {
		if recs[i].Offset >= s.pos {
			recs[keep] = recs[i]
			keep++
		}
	}
	clear(recs[keep:])
	s.recs = recs[:keep]
	return nil
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

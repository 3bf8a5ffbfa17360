package partition

import (
	"context"
	"fmt"
	"time"

	"github.com/samsalog/samsa/record"
	"github.com/samsalog/samsa/segment"
)

// FetchResult is what Fetch returns: data and the partition's offsets as
// they were when the data was read (Kafka's fetch response for one
// partition).
type FetchResult struct {
	// View holds whole batches starting with the one that contains the
	// fetch offset (its first records may lie below it: skip them), all
	// below HighWatermark. It aliases the log's read-only mapping and must
	// be released (View.Release); its Data stays valid until then, even if
	// retention deletes the segment or the partition is closed. It may be
	// empty (no release needed, but releasing is harmless).
	View segment.View
	// HighWatermark is the high watermark the read was bounded by.
	HighWatermark int64
	// LastStableOffset is the last stable offset at the read (the high
	// watermark until transactions exist).
	LastStableOffset int64
	// LogStartOffset and LogEndOffset are the partition's at the read.
	LogStartOffset, LogEndOffset int64
}

// Fetch returns the batches from offset on that are below the high
// watermark, up to maxBytes (but at least one whole batch, however large:
// Kafka's KIP-74, so that a consumer cannot stall on a big batch; and from
// one segment: at a segment boundary the next fetch moves on).
//
// It long-polls as Kafka's fetch does: it answers at once when at least
// minBytes are available (minBytes below 1 counts as 1, fetch.min.bytes'
// default: any data at all), or when more data is available than one
// answer can hold; otherwise it waits until the high watermark advances
// enough, maxWait passes, or ctx ends. When maxWait passes it returns what
// there is, possibly nothing; maxWait <= 0 never waits. Waiting costs one
// timer and no goroutine: waiters are woken by the advance of the high
// watermark itself (a channel closed on each advance), never by polling.
//
// An offset between the high watermark and the log end offset (appended,
// not yet synced) is valid: Fetch waits for it, as Kafka returns nothing
// for it rather than an error.
//
// Errors: ErrOffsetOutOfRange for an offset below the log start offset
// (deleted by retention) or past the log end offset; ctx.Err() when ctx
// ends first (no data is returned then); ErrClosed, also for a Fetch
// waiting when Close is called; I/O errors reading a segment.
func (p *Partition) Fetch(ctx context.Context, offset int64, minBytes, maxBytes int, maxWait time.Duration) (FetchResult, error) {
	if err := ctx.Err(); err != nil {
		return FetchResult{}, err
	}
	minBytes = max(minBytes, 1)
	res, done, err := p.fetchOnce(offset, minBytes, maxBytes)
	if err != nil || done || maxWait <= 0 {
		return res, err
	}
	res.View.Release()
	timer := time.NewTimer(maxWait)
	defer timer.Stop()
	for {
		// Subscribe first, then look: an advance after the look closes
		// the channel we hold (see broadcast).
		wake := p.subscribe()
		res, done, err = p.fetchOnce(offset, minBytes, maxBytes)
		if err != nil || done {
			return res, err
		}
		// Hold no View while waiting: it would pin its mapping (and a
		// deleted segment's files) for up to maxWait.
		res.View.Release()
		select {
		case <-wake:
		case <-timer.C:
			res, _, err = p.fetchOnce(offset, minBytes, maxBytes)
			return res, err
		case <-ctx.Done():
			return FetchResult{}, ctx.Err()
		}
	}
}

// fetchOnce reads once and reports whether the answer is final: at least
// minBytes, or more data below the high watermark than the answer holds
// (maxBytes or a segment boundary cut it), so waiting would not grow it.
func (p *Partition) fetchOnce(offset int64, minBytes, maxBytes int) (FetchResult, bool, error) {
	if p.closed.Load() {
		return FetchResult{}, true, ErrClosed
	}
	// Load order matters: the high watermark first, so the log end offset
	// loaded after it is at least as large.
	hw := p.hw.Load()
	res := FetchResult{
		HighWatermark:    hw,
		LastStableOffset: p.txns.lastStable(hw),
		LogStartOffset:   p.log.StartOffset(),
		LogEndOffset:     p.log.EndOffset(),
	}
	if offset < res.LogStartOffset || offset > res.LogEndOffset {
		return FetchResult{}, true, outOfRange(offset, res.LogStartOffset, res.LogEndOffset)
	}
	if offset >= hw {
		return res, false, nil
	}
	v, err := p.log.Read(offset, maxBytes, hw)
	if err != nil {
		return FetchResult{}, true, wrapLog(err)
	}
	res.View = v
	n := v.Len()
	if n >= minBytes || n > 0 && nextOffset(v.Data) < hw {
		return res, true, nil
	}
	return res, false, nil
}

// nextOffset returns the offset after the last batch in data (whole,
// validated batches from the log), or -1 if there is none.
func nextOffset(data []byte) int64 {
	next := int64(-1)
	for len(data) >= record.BatchHeaderSize {
		h, err := record.ParseBatchHeader(data)
		if err != nil || h.Size() > len(data) {
			break
		}
		next = h.NextOffset()
		data = data[h.Size():]
	}
	return next
}

// ListOffsets answers Kafka's ListOffsets for a read_uncommitted consumer:
// Earliest gives the log start offset, Latest the high watermark (not the
// log end offset: a consumer is never pointed at records it cannot see),
// and a timestamp ts >= 0 (Unix milliseconds) the offset of the first
// record whose timestamp is at or after ts, or NoOffset if no record below
// the high watermark has one (Kafka filters by its last fetchable offset
// the same way). It takes no lock shared with Append.
// Errors: ErrClosed; a negative ts other than Earliest and Latest; I/O
// errors from a segment.
func (p *Partition) ListOffsets(ts int64) (int64, error) {
	if p.closed.Load() {
		return NoOffset, ErrClosed
	}
	switch ts {
	case Earliest:
		return p.log.StartOffset(), nil
	case Latest:
		return p.hw.Load(), nil
	}
	if ts < 0 {
		return NoOffset, fmt.Errorf("partition: list offsets: invalid timestamp %d", ts)
	}
	hw := p.hw.Load()
	off, err := p.log.OffsetForTimestamp(ts)
	if err != nil {
		return NoOffset, wrapLog(err)
	}
	if off >= hw {
		return NoOffset, nil
	}
	return off, nil
}

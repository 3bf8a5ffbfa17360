package partition

import (
	"fmt"

	"github.com/samsalog/samsa/record"
)

// AppendResult is what Append returns for an appended batch: what Kafka's
// produce response carries for one partition.
type AppendResult struct {
	// BaseOffset and LastOffset are the offsets of the batch's first and
	// last records.
	BaseOffset, LastOffset int64
	// LogAppendTime is the time (Unix milliseconds) the batch was stamped
	// with when the topic uses LogAppendTime, -1 for CreateTime.
	LogAppendTime int64
	// LogStartOffset is the log start offset after the append.
	LogStartOffset int64
	// Duplicate reports a retry of one of the idempotent producer's last
	// five batches (same producer ID, epoch and sequence range), which the
	// partition already has: nothing was appended, and BaseOffset,
	// LastOffset and LogAppendTime are those of the original batch (Kafka
	// answers a duplicate the same way, with no error). Its records may
	// not be synced yet: wait for LastOffset as after any append.
	Duplicate bool
}

// Append validates batch as a Kafka broker validates a producer's batch,
// assigns it offsets and appends it to the log. batch must be exactly one
// magic-v2 record batch; it is modified in place (base offset, partition
// leader epoch 0, and for LogAppendTime topics the timestamp attribute,
// maxTimestamp and CRC), so the caller must not share it with readers.
//
// The checks, in Kafka's order (kafka-internals §1.7, LogValidator):
// a parseable header with magic 2; size at most MaxMessageBytes
// (ErrRecordTooLarge); exactly one whole batch; CRC-32C; record count equal
// to lastOffsetDelta+1 and positive; no control batch (markers are the
// transaction coordinator's); a producer ID only with a sequence, a
// transactional batch only with a producer ID; no LogAppendTime attribute
// from a producer (ErrInvalidTimestamp). The producer's base offset is
// ignored and overwritten. Then, under the append mutex, the
// idempotent-producer and transaction checks (hooks.go), the LogAppendTime
// stamp, and log.Append.
//
// A batch with a producer ID (an idempotent producer's) is checked against
// the producer's state, in Kafka's order (kafka-internals §4.3): a retry
// of one of its last five batches returns the original batch's result with
// Duplicate set and no error, appending nothing; an epoch older than the
// producer's is ErrProducerFenced; a sequence that does not follow the
// producer's last one (or a newer epoch not starting at 0) is
// ErrOutOfOrderSequence. See the package documentation, "Idempotent
// producers".
//
// When Append returns, the records are in the log (they survive a crash of
// the process: acks=1) but visible to Fetch only once synced, unless
// UnsafeExposeUnsynced. Use WaitSynced(ctx, LastOffset) for acks=all.
// Append calls OnDirty when it leaves unsynced data behind and the
// partition was clean.
//
// In steady state Append allocates nothing; it does one write(2) (see
// log.Log.Append).
//
// Errors: ErrRecordTooLarge; ErrInvalidRecord (wrapping the record
// package's error, such as record.ErrCRC); ErrInvalidTimestamp;
// ErrProducerFenced; ErrOutOfOrderSequence;
// ErrClosed; log.ErrFailed after a failed fsync (if the log's flush policy
// synced inside this append and failed, the offsets are returned with the
// error); write errors such as fs.ErrNoSpace, which leave the log usable.
func (p *Partition) Append(batch []byte) (AppendResult, error) {
	failed := AppendResult{BaseOffset: -1, LastOffset: -1, LogAppendTime: -1, LogStartOffset: -1}
	h, err := p.validate(batch)
	if err != nil {
		return failed, err
	}
	res := failed

	p.appendMu.Lock()
	if p.closed.Load() {
		p.appendMu.Unlock()
		return failed, ErrClosed
	}
	// Idempotence (issue 4): check the sequence here, before log.Append,
	// under the append mutex, so that no other batch of the producer can
	// come between the check and the append. A duplicate returns the
	// original batch's result without appending.
	orig, dup, err := p.producers.check(h)
	if err != nil || dup {
		p.appendMu.Unlock()
		if dup {
			orig.LogStartOffset = p.log.StartOffset()
			return orig, nil
		}
		return failed, err
	}
	// Transactions: check the batch against the producer's open
	// transaction here, likewise before log.Append.
	if err := p.txns.check(h); err != nil {
		p.appendMu.Unlock()
		return failed, err
	}
	if p.logAppendTime.Load() {
		// Stamped under the mutex, so that append times follow offsets
		// (as far as the clock does).
		res.LogAppendTime = p.now().UnixMilli()
		record.SetLogAppendTime(batch, res.LogAppendTime)
		h.MaxTimestamp = res.LogAppendTime // as stored, for the producer state
	}
	record.PutLeaderEpoch(batch, 0)                  // one machine, one leader, epoch 0 forever
	base, last, err := p.log.AppendChecked(batch, h) // validate checked the CRC
	if base >= 0 {
		// Appended, even if a sync the flush policy ran failed after.
		if n := p.log.Segments(); n != p.segments {
			// The log rolled (or retention ran since the last append):
			// snapshot the producer state as Kafka does at every roll, at
			// base, the new segment's base offset, with the state before
			// this batch. After a roll everything below base is synced;
			// after retention alone maybe not, and a snapshot past what a
			// power loss leaves of the log is deleted by the next Open.
			// A snapshot is a cache: an error costs a longer replay at
			// the next Open, not this append.
			p.segments = n
			if err := p.snapshotLocked(base); err != nil {
				p.logWarn("partition: producer snapshot not written", "err", err)
			}
		}
		p.producers.appended(h, base, last)
		p.txns.appended(h, base, last)
	}
	p.appendMu.Unlock()

	if base < 0 {
		return failed, wrapLog(err)
	}
	res.BaseOffset, res.LastOffset = base, last
	res.LogStartOffset = p.log.StartOffset()
	p.refreshHighWatermark()
	// OnDirty at most once per dirty period: the flag is reset by Flush
	// before it syncs. The Load first keeps the hot path free of a
	// contended write to the flag.
	if p.log.SyncedOffset() <= last && !p.dirty.Load() && p.dirty.CompareAndSwap(false, true) && p.onDirty != nil {
		p.onDirty(p)
	}
	return res, wrapLog(err)
}

// validate checks a producer's batch as Kafka's broker does before it
// assigns offsets. It reads only the batch, so it runs outside the append
// mutex. It does not allocate unless the batch is rejected.
func (p *Partition) validate(batch []byte) (record.BatchHeader, error) {
	h, err := record.ParseBatchHeader(batch)
	if err != nil {
		return h, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	// Size before CRC, as UnifiedLog.analyzeAndValidateRecords: a batch
	// too large is MESSAGE_TOO_LARGE whatever its contents.
	if maxBytes := p.maxMessageBytes.Load(); int64(h.Size()) > int64(maxBytes) {
		return h, fmt.Errorf("%w: %d bytes, max.message.bytes is %d", ErrRecordTooLarge, h.Size(), maxBytes)
	}
	if len(batch) > h.Size() {
		return h, fmt.Errorf("%w: %d bytes after the batch (one batch per append)", ErrInvalidRecord, len(batch)-h.Size())
	}
	if _, err := record.CheckBatch(batch); err != nil { // whole batch present, CRC
		return h, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	if h.NumRecords <= 0 || int64(h.LastOffsetDelta)+1 != int64(h.NumRecords) {
		return h, fmt.Errorf("%w: %d records but last offset delta %d", ErrInvalidRecord, h.NumRecords, h.LastOffsetDelta)
	}
	if h.Attributes.Control() {
		return h, fmt.Errorf("%w: control batch from a producer", ErrInvalidRecord)
	}
	if h.ProducerID >= 0 && h.BaseSequence < 0 {
		return h, fmt.Errorf("%w: producer id %d without a base sequence", ErrInvalidRecord, h.ProducerID)
	}
	if h.Attributes.Transactional() && h.ProducerID < 0 {
		return h, fmt.Errorf("%w: transactional batch without a producer id", ErrInvalidRecord)
	}
	if h.Attributes.LogAppendTime() {
		// LogValidator.validateTimestamp: only the broker sets it.
		return h, fmt.Errorf("%w: producer set the LogAppendTime attribute", ErrInvalidTimestamp)
	}
	// message.timestamp.before/after.max.ms would be checked here for
	// CreateTime topics; both default to unlimited and are not
	// configurable yet (checking every record needs a decode).
	return h, nil
}

// outOfRange reports offset outside [start, end].
func outOfRange(offset, start, end int64) error {
	return fmt.Errorf("%w: offset %d, partition has [%d, %d]", ErrOffsetOutOfRange, offset, start, end)
}

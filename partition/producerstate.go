package partition

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/samsalog/samsa/record"
)

// producerWindow is how many batches are remembered per producer ID:
// Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN, the reason an
// idempotent producer may have at most five requests in flight.
const producerWindow = 5

// batchMetadata is what is remembered of one of a producer's batches
// (Kafka's BatchMetadata): its sequence range and offsets, from the batch
// header alone.
type batchMetadata struct {
	lastSeq     int32 // sequence of the last record, after wrapping
	offsetDelta int32 // the batch's lastOffsetDelta: records - 1
	lastOffset  int64
	// timestamp is the stored batch's max timestamp: the broker's stamp
	// under LogAppendTime, which a duplicate reports as its LogAppendTime.
	timestamp int64
}

func (b *batchMetadata) firstSeq() int32    { return decrementSequence(b.lastSeq, b.offsetDelta) }
func (b *batchMetadata) firstOffset() int64 { return b.lastOffset - int64(b.offsetDelta) }

// producerEntry is the state of one producer ID (Kafka's
// ProducerStateEntry): its epoch and a ring of its last batches of that
// epoch, oldest first from head.
type producerEntry struct {
	epoch   int16
	n, head int // batches held, index of the oldest
	batches [producerWindow]batchMetadata
	// lastSeen is the time (Unix milliseconds) the producer is aged from
	// for expiry (Kafka's lastTimestamp), valid unless touched. Kafka
	// takes the newest batch's max timestamp, the producer's clock under
	// CreateTime, which expires at the next check the state of a producer
	// writing old timestamps (replaying history, say). samsa takes the
	// broker's clock, without reading it on the append path: an append
	// only sets touched, and the next expiry pass (expire), which reads
	// the clock anyway, sets lastSeen to its time, at or after the last
	// append. So a producer is never expired early, and may live up to
	// one pass interval longer.
	lastSeen int64
	touched  bool
}

// newest returns the producer's newest batch; n must be > 0.
func (e *producerEntry) newest() *batchMetadata {
	return &e.batches[(e.head+e.n-1)%producerWindow]
}

// push remembers b as the newest batch, dropping the oldest of a full
// window.
func (e *producerEntry) push(b batchMetadata) {
	if e.n < producerWindow {
		e.batches[(e.head+e.n)%producerWindow] = b
		e.n++
		return
	}
	e.batches[e.head] = b
	e.head = (e.head + 1) % producerWindow
}

// find returns the remembered batch with exactly this sequence range
// (Kafka's batchWithSequenceRange).
func (e *producerEntry) find(firstSeq, lastSeq int32) (*batchMetadata, bool) {
	for i := range e.n {
		b := &e.batches[(e.head+i)%producerWindow]
		if b.lastSeq == lastSeq && b.firstSeq() == firstSeq {
			return b, true
		}
	}
	return nil, false
}

// producerStates is a partition's idempotent-producer state (Kafka's
// ProducerStateManager without transactions): per producer ID its epoch and
// last five batches. It implements the producerState hook of Append.
//
// check, appended, expire and the snapshot methods must be called under
// the partition's append mutex (or before the partition is shared, at
// Open); only count may be read concurrently.
type producerStates struct {
	m             map[int64]*producerEntry // nil until the first producer
	count         atomic.Int64             // len(m), for Stats
	expiration    time.Duration            // producer.id.expiration.ms
	logAppendTime bool                     // a duplicate reports its batch's timestamp as LogAppendTime
}

var _ producerState = (*producerStates)(nil)

func newProducerStates(expiration time.Duration, logAppendTime bool) *producerStates {
	return &producerStates{expiration: expiration, logAppendTime: logAppendTime}
}

// check validates an idempotent batch against the producer's state, in
// Kafka's order (kafka-internals §4.3, UnifiedLog.analyzeAndValidateProducerState
// and ProducerAppendInfo): a duplicate of one of the last five batches of
// the current epoch first (its original result, dup set), then the epoch
// (ErrProducerFenced for an older one), then the sequence
// (ErrOutOfOrderSequence: a newer epoch must start at 0, the same epoch
// must continue at the last sequence + 1, wrapping after math.MaxInt32).
// A producer ID without state accepts any epoch and sequence (KIP-360).
// It reads only the header and allocates nothing unless it rejects.
func (s *producerStates) check(h record.BatchHeader) (AppendResult, bool, error) {
	if h.ProducerID < 0 {
		return AppendResult{}, false, nil
	}
	if h.ProducerEpoch < 0 {
		return AppendResult{}, false, fmt.Errorf("%w: producer id %d with epoch %d", ErrInvalidRecord, h.ProducerID, h.ProducerEpoch)
	}
	e := s.m[h.ProducerID]
	if e == nil {
		return AppendResult{}, false, nil
	}
	if h.ProducerEpoch == e.epoch {
		if b, ok := e.find(h.BaseSequence, incrementSequence(h.BaseSequence, h.LastOffsetDelta)); ok {
			res := AppendResult{BaseOffset: b.firstOffset(), LastOffset: b.lastOffset, LogAppendTime: -1, Duplicate: true}
			if s.logAppendTime {
				res.LogAppendTime = b.timestamp
			}
			return res, true, nil
		}
	}
	if h.ProducerEpoch < e.epoch {
		return AppendResult{}, false, fmt.Errorf("%w: producer id %d epoch %d, current epoch is %d", ErrProducerFenced, h.ProducerID, h.ProducerEpoch, e.epoch)
	}
	if h.ProducerEpoch != e.epoch {
		if h.BaseSequence != 0 {
			return AppendResult{}, false, fmt.Errorf("%w: producer id %d: new epoch %d must start at sequence 0, got %d", ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, h.BaseSequence)
		}
		return AppendResult{}, false, nil
	}
	if last := e.newest().lastSeq; !inSequence(last, h.BaseSequence) {
		return AppendResult{}, false, fmt.Errorf("%w: producer id %d epoch %d: expected sequence %d, got %d", ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, incrementSequence(last, 1), h.BaseSequence)
	}
	return AppendResult{}, false, nil
}

// appended records a batch that the log holds at [base, last] (Kafka's
// ProducerAppendInfo.appendDataBatch without the checks, which check did).
// h.MaxTimestamp is the stored batch's: the stamp under LogAppendTime.
// An epoch other than the producer's clears its window first. A new
// producer ID allocates its entry; otherwise appended allocates nothing
// and reads no clock.
func (s *producerStates) appended(h record.BatchHeader, base, last int64) {
	s.add(h, last)
}

// replayed records a batch read back from the log at Open, as appended
// did when it was appended; the producer counts as seen at Open.
func (s *producerStates) replayed(h record.BatchHeader) {
	s.add(h, h.LastOffset())
}

func (s *producerStates) add(h record.BatchHeader, last int64) {
	if h.ProducerID < 0 || h.BaseSequence < 0 || h.Attributes.Control() {
		return
	}
	e := s.record(h.ProducerID, h.ProducerEpoch, batchMetadata{
		lastSeq:     incrementSequence(h.BaseSequence, h.LastOffsetDelta),
		offsetDelta: h.LastOffsetDelta,
		lastOffset:  last,
		timestamp:   h.MaxTimestamp,
	})
	e.touched = true
}

// record adds b as pid's newest batch of epoch and returns pid's entry,
// aged from b's timestamp (as loaded from a snapshot, see encodeSnapshot).
func (s *producerStates) record(pid int64, epoch int16, b batchMetadata) *producerEntry {
	e := s.m[pid]
	if e == nil {
		if s.m == nil {
			s.m = make(map[int64]*producerEntry)
		}
		e = &producerEntry{epoch: epoch}
		s.m[pid] = e
		s.count.Store(int64(len(s.m)))
	}
	if e.epoch != epoch {
		// A new epoch starts a new window: batches of the old one can no
		// longer be retried (they would be fenced).
		e.epoch, e.n, e.head = epoch, 0, 0
	}
	e.push(b)
	e.lastSeen = b.timestamp
	return e
}

// expire removes the producers not seen for producer.id.expiration.ms
// (Kafka's removeExpiredProducers; there are no open transactions to keep
// one alive) and returns how many it removed. A producer that appended
// since the last pass is seen now (see producerEntry.lastSeen).
func (s *producerStates) expire(now time.Time) int {
	ms := now.UnixMilli()
	cutoff := ms - s.expiration.Milliseconds()
	n := 0
	for pid, e := range s.m {
		if e.touched {
			e.touched = false
			e.lastSeen = max(e.lastSeen, ms)
			continue
		}
		if e.lastSeen <= cutoff {
			delete(s.m, pid)
			n++
		}
	}
	s.count.Store(int64(len(s.m)))
	return n
}

// dropBefore removes the producers whose newest batch lies wholly below
// the log start offset: their records are gone, so, as in Kafka (KIP-360),
// their state goes too and their next batch is accepted with any sequence.
func (s *producerStates) dropBefore(logStart int64) {
	for pid, e := range s.m {
		if e.newest().lastOffset < logStart {
			delete(s.m, pid)
		}
	}
	s.count.Store(int64(len(s.m)))
}

// producerIDs returns the producer IDs in increasing order, for
// deterministic snapshots.
func (s *producerStates) producerIDs() []int64 {
	ids := make([]int64, 0, len(s.m))
	for pid := range s.m {
		ids = append(ids, pid)
	}
	slices.Sort(ids)
	return ids
}

// incrementSequence returns seq + inc, wrapping past math.MaxInt32 to 0
// (Kafka's DefaultRecordBatch.incrementSequence). inc must be >= 0.
func incrementSequence(seq, inc int32) int32 {
	if seq > math.MaxInt32-inc {
		return inc - (math.MaxInt32 - seq) - 1
	}
	return seq + inc
}

// decrementSequence returns seq - dec, wrapping below 0 to math.MaxInt32
// (Kafka's DefaultRecordBatch.decrementSequence). dec must be >= 0.
func decrementSequence(seq, dec int32) int32 {
	if seq < dec {
		return math.MaxInt32 - (dec - seq) + 1
	}
	return seq - dec
}

// inSequence reports whether next follows last (Kafka's
// ProducerAppendInfo.inSequence).
func inSequence(last, next int32) bool {
	return int64(next) == int64(last)+1 || next == 0 && last == math.MaxInt32
}

package partition

import (
	"errors"
	"fmt"

	"github.com/samsalog/samsa/log"
)

// kindError is a sentinel error that also matches a parent sentinel, so
// that one value answers errors.Is for both (ErrOffsetOutOfRange matches
// log.ErrOffsetOutOfRange, ErrInvalidTimestamp matches ErrInvalidRecord).
type kindError struct {
	msg    string
	parent error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.parent }

var (
	// ErrRecordTooLarge is returned by Append for a batch whose size
	// (counting the 12 bytes of log overhead) exceeds Config.MaxMessageBytes
	// (Kafka's MESSAGE_TOO_LARGE, RecordTooLargeException). The batch is not
	// appended.
	ErrRecordTooLarge = errors.New("partition: record batch too large")

	// ErrInvalidRecord is matched by every error of Append that rejects a
	// batch's contents: not exactly one magic-v2 batch, a CRC mismatch, a
	// record count that disagrees with the offset range, a control batch
	// from a producer, inconsistent producer fields. The error also wraps the
	// cause, so errors.Is(err, record.ErrCRC) or record.ErrCorrupt tells
	// Kafka's CORRUPT_MESSAGE apart from INVALID_RECORD. The batch is not
	// appended.
	ErrInvalidRecord = errors.New("partition: invalid record batch")

	// ErrInvalidTimestamp is returned by Append for a batch whose
	// timestamps the topic does not accept (Kafka's INVALID_TIMESTAMP): a
	// producer must not set the LogAppendTime attribute, only the broker
	// does. It also matches ErrInvalidRecord.
	ErrInvalidTimestamp error = &kindError{msg: "partition: invalid timestamp", parent: ErrInvalidRecord}

	// ErrOffsetOutOfRange is returned by Fetch for an offset below the log
	// start offset or past the log end offset, and by DeleteRecordsBefore
	// for an offset past the high watermark (Kafka's OFFSET_OUT_OF_RANGE).
	// It also matches log.ErrOffsetOutOfRange.
	ErrOffsetOutOfRange error = &kindError{msg: "partition: offset out of range", parent: log.ErrOffsetOutOfRange}

	// ErrClosed is returned by every operation on a Partition after Close,
	// and wakes fetchers waiting in Fetch. It also matches log.ErrClosed.
	ErrClosed error = &kindError{msg: "partition: closed", parent: log.ErrClosed}

	// ErrOutOfOrderSequence is returned by Append for an idempotent batch
	// whose base sequence does not follow the producer's last batch: a gap,
	// a retry older than the last five batches, or a new epoch that does
	// not start at sequence 0 (Kafka's OUT_OF_ORDER_SEQUENCE_NUMBER, 45).
	// The batch is not appended. A producer that sees it for a batch whose
	// predecessors are all acknowledged has lost records: Kafka's Java
	// producer then bumps its epoch and restarts its sequences at 0.
	ErrOutOfOrderSequence = errors.New("partition: out of order sequence number")

	// ErrProducerFenced is returned by Append for an idempotent batch whose
	// producer epoch is older than the one the partition has seen for its
	// producer ID: a newer instance of the producer exists. On produce,
	// Kafka 2.7 and later call this INVALID_PRODUCER_EPOCH (47, KIP-588);
	// PRODUCER_FENCED (90) is the transaction coordinator's answer to an
	// old epoch. The batch is not appended.
	ErrProducerFenced = errors.New("partition: producer fenced")

	// ErrInvalidConfig is matched by every error of Config.Validate and of
	// Open for a bad configuration; the message names the field. An error
	// in Config.Log also matches log.ErrInvalidConfig.
	ErrInvalidConfig = errors.New("partition: invalid config")
)

// wrapLog turns an error of the log into this package's: log.ErrClosed
// becomes ErrClosed and log.ErrOffsetOutOfRange becomes ErrOffsetOutOfRange
// (both still match the log's sentinels); anything else (log.ErrFailed, I/O
// errors) is returned as it is.
func wrapLog(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, log.ErrClosed):
		return ErrClosed
	case errors.Is(err, log.ErrOffsetOutOfRange):
		return fmt.Errorf("%w: %w", ErrOffsetOutOfRange, err)
	}
	return err
}

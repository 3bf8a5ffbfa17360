package partition

import (
	"fmt"

	"github.com/samsalog/samsa/record"
)

// This file holds the two places where the broker-side state of Kafka's
// exactly-once machinery plugs into a partition. Both run inside Append
// under the append mutex, so the check, the log append and the update are
// one step for every other appender. The producer state is implemented by
// *producerStates (producerstate.go, snapshot.go); the transaction state
// has a no-op implementation until its issue lands.

// producerState is the idempotent-producer state of a partition (issue 4):
// per producer ID its epoch and the sequence numbers and offsets of its
// last five batches (kafka-internals §4.2-4.5), kept in .snapshot files.
// Implemented by *producerStates.
type producerState interface {
	// check is called for every validated batch under the append mutex,
	// before log.Append. For a batch with a producer ID it checks, in
	// this order, for a duplicate of one of the last five batches (it
	// returns that batch's original result with dup set, and Append
	// returns it without appending), the epoch (ErrProducerFenced for an
	// older one) and the sequence (ErrOutOfOrderSequence for a gap).
	check(h record.BatchHeader) (orig AppendResult, dup bool, err error)
	// appended is called under the append mutex after log.Append assigned
	// base..last to the batch, to record its sequence range and offsets.
	appended(h record.BatchHeader, base, last int64)
}

// txnState is the transaction state of a partition (the transactions
// issue): the first offset of each open transaction by producer ID, which
// makes the last stable offset (LSO), and the aborted transactions written
// to the .txnindex when an abort marker is appended.
type txnState interface {
	// check is called for every validated batch under the append mutex,
	// before log.Append, after producerState.check. Transactional batches
	// will be checked against the producer's open transaction (KIP-890
	// verification); commit and abort markers arrive through a separate
	// coordinator-only append path, never from Append, which rejects
	// control batches.
	check(h record.BatchHeader) error
	// appended is called under the append mutex after log.Append, to open
	// a transaction at base for the first transactional batch of a
	// producer.
	appended(h record.BatchHeader, base, last int64)
	// lastStable returns the LSO given the high watermark hw: the first
	// offset of the earliest open transaction, or hw when none is open.
	lastStable(hw int64) int64
}

// noTxnState has no transactions: the LSO is the high watermark, and
// transactional batches are refused, since without markers and an LSO a
// read_committed consumer would see uncommitted and aborted data.
type noTxnState struct{}

func (noTxnState) check(h record.BatchHeader) error {
	if h.Attributes.Transactional() {
		return fmt.Errorf("%w: transactional batches are not supported yet", ErrInvalidRecord)
	}
	return nil
}

func (noTxnState) appended(record.BatchHeader, int64, int64) {}

func (noTxnState) lastStable(hw int64) int64 { return hw }

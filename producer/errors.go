package producer

import (
	"errors"

	"github.com/samsalog/samsa"
	part "github.com/samsalog/samsa/partition"
)

// Errors a record's callback can receive, besides those of the partitioner,
// the broker (samsa.ErrUnknownTopic, samsa.ErrInvalidTopicName, ...) and the
// partition (partition.ErrInvalidRecord, partition.ErrClosed, I/O errors).
// Test them with errors.Is.
var (
	// ErrClosed fails a record produced after Close began, and, when
	// CloseContext's context ends before everything is delivered, every
	// record not delivered by then.
	ErrClosed = errors.New("producer: closed")

	// ErrRecordTooLarge fails a record whose batch of one would exceed
	// Config.MaxMessageBytes (max.request.size) or Config.BufferMemory, at
	// once, and the records of a batch the partition refused as larger
	// than the topic's max.message.bytes. It is samsa.ErrRecordTooLarge
	// (and partition.ErrRecordTooLarge) itself. Kafka's
	// RecordTooLargeException.
	ErrRecordTooLarge = samsa.ErrRecordTooLarge

	// ErrBufferFull fails a record for which Produce waited
	// Config.MaxBlock (max.block.ms) for buffer memory in vain. Kafka's
	// TimeoutException from send.
	ErrBufferFull = errors.New("producer: buffer full: no buffer memory within max.block.ms")

	// ErrDeliveryTimeout fails a record that waited longer than
	// Config.DeliveryTimeout (delivery.timeout.ms) to be appended. Kafka's
	// TimeoutException "Expiring N record(s)".
	ErrDeliveryTimeout = errors.New("producer: delivery timeout expired")

	// ErrOutOfOrderSequence fails the records of an idempotent batch whose
	// sequence the partition does not accept (a gap). It is
	// partition.ErrOutOfOrderSequence itself.
	ErrOutOfOrderSequence = part.ErrOutOfOrderSequence

	// ErrProducerFenced fails the records of an idempotent batch whose
	// producer epoch the partition has seen superseded. It is
	// partition.ErrProducerFenced itself.
	ErrProducerFenced = part.ErrProducerFenced
)

// (package doc lives in doc.go)

package producer

import (
	"errors"
	"fmt"

	"github.com/samsalog/samsa/record"
)

// Partitioner picks the partition of a record of one topic. The producer
// creates one Partitioner per topic with a PartitionerConstructor, so an
// implementation keeps its state for that topic only and never needs to key
// it by topic name.
//
// Implementations must be safe for concurrent use: the producer calls
// Partition, and the optional OnNewBatch (BatchAware) and OnAppend
// (BytesAware), from every goroutine that produces to the topic, at the same
// time. Partition runs on the append path for every record, so it should be
// cheap and must not block; the built-in partitioners take no locks and do not
// allocate.
//
// Partition is called with numPartitions >= 1, the topic's partition count.
// The count grows when partitions are added to the topic, and a call racing
// with that may still pass the old, smaller count, so an implementation must
// check any partition it remembers against each call's count. It returns a partition in [0, numPartitions), or an error, which
// fails that record. A result outside the range is reported by the producer as
// ErrInvalidPartition. Partition must not modify r or keep it, or anything it
// points to, after it returns.
//
// The partitioners of this package follow the Java client: see
// NewDefaultPartitioner, and for Sarama's default NewFNV1aPartitioner.
type Partitioner interface {
	Partition(r *record.Record, numPartitions int32) (int32, error)
}

// PartitionerFunc adapts an ordinary function to a Partitioner. It has no
// state of its own, so it is safe for concurrent use if the function is. To
// use it as a producer's partitioner, wrap it in a PartitionerConstructor:
//
//	func(string) producer.Partitioner { return producer.PartitionerFunc(f) }
type PartitionerFunc func(r *record.Record, numPartitions int32) (int32, error)

// Partition returns f(r, numPartitions).
func (f PartitionerFunc) Partition(r *record.Record, numPartitions int32) (int32, error) {
	return f(r, numPartitions)
}

// PartitionerConstructor creates the Partitioner of one topic. The producer
// calls it once per topic, the first time it sees the topic, and keeps the
// result for as long as it runs. It may be called concurrently for different
// topics. Every NewXxxPartitioner function of this package either is a
// PartitionerConstructor (NewRoundRobinPartitioner) or returns one
// (NewDefaultPartitioner(batchSize)).
type PartitionerConstructor func(topic string) Partitioner

// BatchAware is implemented by a Partitioner that wants to hear when the
// producer starts a new batch: the sticky partitioners of KIP-480
// (NewStickyPartitioner) switch partitions then.
//
// The producer calls OnNewBatch(prev) when the record it has just partitioned
// to prev would not fit in prev's open batch (or prev has none), before it
// creates the new batch; it then calls Partition again for the same record and
// appends it to the second result, creating a new batch there if needed
// without calling OnNewBatch again. This is the Java producer's
// abortOnNewBatch protocol. Because goroutines race, prev may already be out
// of date: an implementation should act only if prev is still its current
// choice, so that one batch boundary causes one switch.
type BatchAware interface {
	OnNewBatch(prev int32)
}

// BytesAware is implemented by a Partitioner that counts the bytes appended
// to the partitions it picks: the uniform sticky partitioner of KIP-794
// (NewUniformStickyPartitioner) switches partitions after batch.size bytes.
//
// The producer calls OnAppend after appending r to partition, with size, the
// number of bytes the record adds to its batch, and batchFull, true if the
// partition has a batch ready to send after the append: its last batch is
// full or it holds more than one batch (Java's allBatchesFull). It is called
// for every record of the topic, keyed or not, whoever chose the partition,
// and possibly for a partition the partitioner has since moved away from; an
// implementation ignores what it did not choose. It may run concurrently
// with Partition and with other OnAppend calls.
type BytesAware interface {
	OnAppend(r *record.Record, partition int32, size int, batchFull bool)
}

// ErrInvalidPartition reports a partition outside [0, numPartitions): the
// Record.Partition given to a NewManualPartitioner partitioner, or a result
// of a Partitioner or KeyHasher that is out of range. Errors returned for it
// match it with errors.Is and name the partition and the count.
var ErrInvalidPartition = errors.New("producer: invalid partition")

// ErrNoPartitions is returned by the built-in partitioners when called with
// numPartitions < 1, which the producer never does (every topic has at least
// one partition); it guards callers that drive a partitioner directly.
var ErrNoPartitions = errors.New("producer: no partitions")

// defaultStickyBytes is Kafka's batch.size default, 16384 bytes: how much a
// uniform sticky partitioner sends to one partition before it switches.
const defaultStickyBytes = 16384

// NewDefaultPartitioner returns Kafka's built-in partitioner (the Java
// client's since 3.3): a record with a non-nil key goes to
// KafkaKeyHash(key, n), so the same key lands on the same partition as with
// the Java client, franz-go's default and Sarama's NewMurmur2Partitioner;
// a record with a nil key goes to a uniform sticky partition (KIP-794, see
// NewUniformStickyPartitioner) that changes after batchSize bytes. An empty
// non-nil key is a key and is hashed, as in Kafka. batchSize should be the
// producer's batch.size; <= 0 means Kafka's default, 16384.
//
// It is NewKeyHashPartitioner(KafkaKeyHash,
// NewUniformStickyPartitioner(batchSize)): the partitioners it builds
// implement BytesAware (keyed records are not counted) but not BatchAware,
// are safe for concurrent use and do not allocate in Partition.
func NewDefaultPartitioner(batchSize int) PartitionerConstructor {
	return NewKeyHashPartitioner(KafkaKeyHash, NewUniformStickyPartitioner(batchSize))
}

// errNoPartitions returns ErrNoPartitions with the count given.
func errNoPartitions(numPartitions int32) error {
	return fmt.Errorf("%w: numPartitions %d", ErrNoPartitions, numPartitions)
}

// errInvalidPartition returns ErrInvalidPartition naming p and the count.
func errInvalidPartition(p, numPartitions int32) error {
	return fmt.Errorf("%w: partition %d of %d", ErrInvalidPartition, p, numPartitions)
}

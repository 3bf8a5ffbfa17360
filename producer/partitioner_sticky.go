package producer

import (
	"math"
	"sync/atomic"

	"github.com/samsalog/samsa/record"
)

// The sticky partitioners keep their choice in one int32, read on every
// record and changed with compare-and-swap, so no lock is taken:
//
//	c >= 0   records go to partition c
//	c == -1  no partition chosen yet
//	c <= -2  no partition chosen; the next choice avoids partition -c-2
//
// A switch only marks the current partition as left (leaving(p)); the next
// Partition call picks the new one, because the callbacks that trigger a
// switch do not carry the partition count. -p-2 cannot overflow: p <
// numPartitions <= MaxInt32, so -p-2 >= MinInt32.
const noChoice int32 = -1

// leaving returns the state "no choice, avoid p".
func leaving(p int32) int32 { return -p - 2 }

// choose returns the sticky partition for state c, or picks one (avoiding
// the partition being left, if any) when c holds no usable choice. ok is
// false if the caller must store the returned pick over c.
func choose(c, numPartitions int32) (p int32, ok bool) {
	if c >= 0 && c < numPartitions {
		return c, true
	}
	avoid := int32(-1)
	if c <= -2 {
		avoid = -c - 2
	}
	return pickOther(numPartitions, avoid), false
}

// NewStickyPartitioner is a PartitionerConstructor of KIP-480 sticky
// partitioners, which ignore keys: all records of the topic go to one
// partition, chosen at random, until the producer starts a new batch for it
// (OnNewBatch, see BatchAware); the next record then goes to another
// partition chosen at random (the same one if the topic has one partition).
// Stickiness fills batches faster than round robin or random choice and so
// sends fewer, larger batches, while the long-run spread stays uniform.
//
// This is Java's UniformStickyPartitioner and StickyPartitionCache (Kafka
// 2.4 to 3.2) and franz-go's StickyPartitioner. For Java's 2.4 to 3.2
// DefaultPartitioner (murmur2 for keyed records, sticky for the others) use
// NewKeyHashPartitioner(KafkaKeyHash, NewStickyPartitioner). Kafka 3.3+ uses
// NewUniformStickyPartitioner instead.
//
// OnNewBatch(prev) switches only if prev is still the sticky partition, so
// that goroutines reporting the same batch boundary switch once. A producer
// that never calls OnNewBatch keeps every record on one partition. The
// partitioner is safe for concurrent use, takes no lock and does not allocate.
func NewStickyPartitioner(topic string) Partitioner {
	p := new(stickyPartitioner)
	p.choice.Store(noChoice)
	return p
}

type stickyPartitioner struct {
	choice atomic.Int32 // see noChoice
}

func (s *stickyPartitioner) Partition(_ *record.Record, numPartitions int32) (int32, error) {
	if numPartitions < 1 {
		return 0, errNoPartitions(numPartitions)
	}
	for {
		c := s.choice.Load()
		p, ok := choose(c, numPartitions)
		if ok || s.choice.CompareAndSwap(c, p) {
			return p, nil
		}
		// Another goroutine chose first: use its choice.
	}
}

// OnNewBatch implements BatchAware.
func (s *stickyPartitioner) OnNewBatch(prev int32) {
	if prev >= 0 {
		s.choice.CompareAndSwap(prev, leaving(prev))
	}
}

// NewUniformStickyPartitioner returns a PartitionerConstructor of KIP-794
// uniform sticky partitioners, which ignore keys: all records of the topic go
// to one partition, chosen at random, until batchSize bytes have been
// appended to it (as reported through OnAppend, see BytesAware) and it has a
// batch ready to send (batchFull), or unconditionally once 2 × batchSize
// bytes have been appended (KAFKA-14156); the next record then goes to
// another partition chosen at random. Switching on bytes rather than on new
// batches spreads data evenly even when batches are sent half-empty because
// of linger, which KIP-480's stickiness does not. batchSize should be the
// producer's batch.size; <= 0 means Kafka's default, 16384, and values above
// math.MaxInt32 are capped.
//
// This is the Java producer's built-in keyless partitioning since Kafka 3.3
// (BuiltInPartitioner, and partitioner.ignore.keys=true for keyed records
// too) and franz-go's UniformBytesPartitioner without key hashing. For
// Kafka's default, murmur2 for keyed records, use NewDefaultPartitioner. Two
// differences from Java, both invisible in the long-run distribution:
//
//   - The next partition is uniform among the partitions other than the one
//     being left, so that every switch moves; Java may pick the same one again
//     (probability 1/n).
//   - No adaptive partitioning (partitioner.adaptive.partitioning.enable,
//     partitioner.availability.timeout.ms): Java weights the choice toward
//     brokers with shorter queues and skips unavailable ones; here every
//     partition is local and always available, so the choice is uniform.
//
// OnAppend counts bytes only for the current sticky partition, so late
// reports about records placed before a switch are ignored (and
// NewKeyHashPartitioner does not pass keyed records on at all). A producer
// that never calls OnAppend keeps every record on one partition.
// The partitioner keeps partition and byte count in one atomic word: it is
// safe for concurrent use, takes no lock and does not allocate.
func NewUniformStickyPartitioner(batchSize int) PartitionerConstructor {
	switch {
	case batchSize <= 0:
		batchSize = defaultStickyBytes
	case batchSize > math.MaxInt32:
		batchSize = math.MaxInt32
	}
	size := uint64(batchSize)
	return func(string) Partitioner {
		p := &uniformStickyPartitioner{batchSize: size}
		p.state.Store(packUniform(noChoice, 0))
		return p
	}
}

type uniformStickyPartitioner struct {
	// state is the choice (see noChoice) in the high 32 bits and the bytes
	// appended to it in the low 32 bits, saturating at MaxUint32, which is
	// above 2 × batchSize, so the unconditional switch is always reached.
	state     atomic.Uint64
	batchSize uint64 // in [1, MaxInt32]
	// The state is changed by a CAS for every record appended: padding
	// the struct to two cache lines (its own size class) keeps other
	// objects, such as a sender's, out of its line.
	_ [128 - 16]byte
}

func packUniform(choice int32, produced uint32) uint64 {
	return uint64(uint32(choice))<<32 | uint64(produced)
}

func unpackUniform(s uint64) (choice int32, produced uint32) {
	return int32(uint32(s >> 32)), uint32(s)
}

func (u *uniformStickyPartitioner) Partition(_ *record.Record, numPartitions int32) (int32, error) {
	if numPartitions < 1 {
		return 0, errNoPartitions(numPartitions)
	}
	for {
		s := u.state.Load()
		c, _ := unpackUniform(s)
		p, ok := choose(c, numPartitions)
		if ok || u.state.CompareAndSwap(s, packUniform(p, 0)) {
			return p, nil
		}
	}
}

// OnAppend implements BytesAware.
func (u *uniformStickyPartitioner) OnAppend(_ *record.Record, partition int32, size int, batchFull bool) {
	if partition < 0 {
		return
	}
	add := uint64(0)
	if size > 0 {
		add = uint64(size)
	}
	for {
		s := u.state.Load()
		c, produced := unpackUniform(s)
		if c != partition {
			return // not (or no longer) the sticky partition
		}
		total := uint64(produced) + add
		var next uint64
		if total >= 2*u.batchSize || (batchFull && total >= u.batchSize) {
			next = packUniform(leaving(c), 0)
		} else {
			next = packUniform(c, uint32(min(total, math.MaxUint32)))
		}
		if u.state.CompareAndSwap(s, next) {
			return
		}
	}
}

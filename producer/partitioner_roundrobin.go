package producer

import (
	"sync/atomic"

	"github.com/samsalog/samsa/record"
)

// NewRoundRobinPartitioner is a PartitionerConstructor of partitioners that
// send the records of a topic to partitions 0, 1, ..., n-1, 0, 1, ... in
// turn, ignoring keys, as Kafka's RoundRobinPartitioner and Sarama's
// NewRoundRobinPartitioner do. The counter is per topic (one partitioner per
// topic) and starts at 0. It is shared by all goroutines, so records produced
// concurrently still take turns, in the order they reach the counter; if the
// partition count grows, the sequence continues modulo the new count.
//
// It does not implement BatchAware, so the producer never partitions a record
// twice: Kafka's round robin skips partitions when a new batch makes the Java
// producer call partition() again (KAFKA-9965); this one does not. Partition
// is one atomic add: safe for concurrent use and no allocation.
func NewRoundRobinPartitioner(topic string) Partitioner {
	return new(roundRobinPartitioner)
}

type roundRobinPartitioner struct {
	// next is the number of records partitioned so far. 64 bits, so that it
	// never wraps in practice: a 32-bit counter would break the cycle at 2^32
	// whenever n does not divide it.
	next atomic.Uint64
}

func (p *roundRobinPartitioner) Partition(_ *record.Record, numPartitions int32) (int32, error) {
	if numPartitions < 1 {
		return 0, errNoPartitions(numPartitions)
	}
	n := p.next.Add(1) - 1
	return int32(n % uint64(numPartitions)), nil
}

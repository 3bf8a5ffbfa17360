package producer

import "github.com/samsalog/samsa/record"

// NewManualPartitioner is a PartitionerConstructor of partitioners that send
// each record to its Record.Partition, as Sarama's NewManualPartitioner and
// franz-go's ManualPartitioner do. (Kafka's Java producer uses an explicit
// partition whenever a record has one; Record.Partition has no "unset" value,
// so here the choice is made by picking this partitioner.) A partition outside
// [0, numPartitions) fails the record with ErrInvalidPartition. The topic is
// ignored; the partitioner has no state, is safe for concurrent use and does
// not allocate unless it fails.
func NewManualPartitioner(topic string) Partitioner {
	return manualPartitioner{}
}

type manualPartitioner struct{}

func (manualPartitioner) Partition(r *record.Record, numPartitions int32) (int32, error) {
	if numPartitions < 1 {
		return 0, errNoPartitions(numPartitions)
	}
	if r.Partition < 0 || r.Partition >= numPartitions {
		return 0, errInvalidPartition(r.Partition, numPartitions)
	}
	return r.Partition, nil
}

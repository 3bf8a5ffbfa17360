package producer_test

import (
	"testing"

	"github.com/samsalog/samsa/producer"
	"github.com/samsalog/samsa/producer/partitionertest"
	"github.com/samsalog/samsa/record"
)

// TestPartitionersConformance runs the conformance checker that users run on
// their own partitioners on every built-in one, with what each promises.
func TestPartitionersConformance(t *testing.T) {
	kafka := &partitionertest.Config{KeyHasher: producer.KafkaKeyHash}
	sarama := &partitionertest.Config{KeyHasher: producer.SaramaKeyHash}
	tests := []struct {
		name string
		newP producer.PartitionerConstructor
		cfg  *partitionertest.Config
	}{
		{"manual", producer.NewManualPartitioner, &partitionertest.Config{Manual: true}},
		{"roundrobin", producer.NewRoundRobinPartitioner, nil},
		{"random", producer.NewRandomPartitioner, nil},
		{"sticky", producer.NewStickyPartitioner, nil},
		{"uniformsticky", producer.NewUniformStickyPartitioner(0), nil},
		{"uniformsticky-small", producer.NewUniformStickyPartitioner(1), nil},
		{"default", producer.NewDefaultPartitioner(0), kafka},
		{"default-small", producer.NewDefaultPartitioner(100), kafka},
		{"fnv1a", producer.NewFNV1aPartitioner, sarama},
		{"keyhash-sticky", producer.NewKeyHashPartitioner(producer.KafkaKeyHash, producer.NewStickyPartitioner), kafka},
		{"keyhash-random", producer.NewKeyHashPartitioner(producer.KafkaKeyHash, producer.NewRandomPartitioner), kafka},
		{"keyhash-nil", producer.NewKeyHashPartitioner(nil, nil), kafka},
		{"func", func(string) producer.Partitioner {
			return producer.PartitionerFunc(func(r *record.Record, n int32) (int32, error) {
				return int32(len(r.Value)) % n, nil
			})
		}, nil},
	}
	for _, tc := range tests {
		t.Run("partitioner="+tc.name, func(t *testing.T) {
			t.Parallel()
			partitionertest.Run(t, tc.newP, tc.cfg)
		})
	}
}

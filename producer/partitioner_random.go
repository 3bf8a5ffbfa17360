package producer

import (
	"math/rand/v2"

	"github.com/samsalog/samsa/record"
)

// NewRandomPartitioner is a PartitionerConstructor of partitioners that send
// each record to a partition chosen uniformly at random, ignoring keys, as
// Sarama's NewRandomPartitioner does.
//
// Randomness in this package comes from math/rand/v2's top-level functions,
// which draw from the runtime's per-thread ChaCha8 generators: no lock, no
// memory shared between goroutines, no allocation, seeded by the runtime. A
// generator owned by each partitioner (a rand.PCG) would not be safe for
// concurrent use without a lock. The choices are therefore not reproducible
// from a seed, as in Kafka's clients.
func NewRandomPartitioner(topic string) Partitioner {
	return randomPartitioner{}
}

type randomPartitioner struct{}

func (randomPartitioner) Partition(_ *record.Record, numPartitions int32) (int32, error) {
	if numPartitions < 1 {
		return 0, errNoPartitions(numPartitions)
	}
	return rand.Int32N(numPartitions), nil
}

// pickOther returns a random partition in [0, numPartitions), different from
// avoid if avoid is in range and there is another partition to pick,
// uniformly among the others. It draws once.
func pickOther(numPartitions, avoid int32) int32 {
	if avoid < 0 || avoid >= numPartitions || numPartitions == 1 {
		return rand.Int32N(numPartitions)
	}
	p := rand.Int32N(numPartitions - 1)
	if p >= avoid {
		p++
	}
	return p
}

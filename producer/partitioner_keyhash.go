package producer

import "github.com/samsalog/samsa/record"

// NewKeyHashPartitioner returns a PartitionerConstructor of partitioners that
// send a record with a non-nil key to hash(key, n) and a record with a nil key
// wherever the partitioner that keyless builds for the topic sends it. An
// empty non-nil key is a key and is hashed, as in Kafka; only nil means "no
// key". A nil hash means KafkaKeyHash and a nil keyless means
// NewUniformStickyPartitioner(16384), which together are Kafka's default
// (NewDefaultPartitioner). Other useful pairs:
//
//	NewKeyHashPartitioner(KafkaKeyHash, NewStickyPartitioner)   // Java 2.4-3.2 default, franz-go StickyKeyPartitioner
//	NewKeyHashPartitioner(KafkaKeyHash, NewRandomPartitioner)   // Sarama NewMurmur2Partitioner
//	NewKeyHashPartitioner(SaramaKeyHash, NewRandomPartitioner)  // Sarama default: NewFNV1aPartitioner
//
// The partitioner implements BatchAware and BytesAware exactly when the
// keyless one does, and forwards to it: OnNewBatch always (as Java's
// DefaultPartitioner does, so a keyed record starting a batch on the sticky
// partition moves it too), OnAppend only for records with a nil key, so keyed
// records do not count toward a KIP-794 switch, as in Java. A hash result out
// of range fails the record with ErrInvalidPartition. The partitioner is safe
// for concurrent use if hash and the keyless partitioner are (the built-in
// ones are), and Partition does not allocate if they do not. It panics if
// keyless returns a nil Partitioner.
func NewKeyHashPartitioner(hash KeyHasher, keyless PartitionerConstructor) PartitionerConstructor {
	if hash == nil {
		hash = KafkaKeyHash
	}
	if keyless == nil {
		keyless = NewUniformStickyPartitioner(0)
	}
	return func(topic string) Partitioner {
		kl := keyless(topic)
		if kl == nil {
			panic("producer: keyless PartitionerConstructor returned a nil Partitioner for topic " + topic)
		}
		k := keyHashPartitioner{hash: hash, keyless: kl}
		nb, isBatch := kl.(BatchAware)
		ba, isBytes := kl.(BytesAware)
		switch {
		case isBatch && isBytes:
			return &keyHashBothAware{keyHashBytesAware: keyHashBytesAware{keyHashPartitioner: k, ba: ba}, nb: nb}
		case isBatch:
			return &keyHashBatchAware{keyHashPartitioner: k, nb: nb}
		case isBytes:
			return &keyHashBytesAware{keyHashPartitioner: k, ba: ba}
		default:
			return &k
		}
	}
}

// NewFNV1aPartitioner is a PartitionerConstructor of partitioners that place
// records as Sarama's default partitioner (sarama.NewHashPartitioner) does: a
// record with a non-nil key goes to SaramaKeyHash(key, n), one with a nil key
// to a random partition. Use it to keep the placement of keys that a Sarama
// producer wrote; it differs from Kafka's (NewDefaultPartitioner). It is
// NewKeyHashPartitioner(SaramaKeyHash, NewRandomPartitioner): safe for
// concurrent use and no allocation.
func NewFNV1aPartitioner(topic string) Partitioner {
	return &keyHashPartitioner{hash: SaramaKeyHash, keyless: randomPartitioner{}}
}

type keyHashPartitioner struct {
	hash    KeyHasher
	keyless Partitioner
}

func (k *keyHashPartitioner) Partition(r *record.Record, numPartitions int32) (int32, error) {
	if numPartitions < 1 {
		return 0, errNoPartitions(numPartitions)
	}
	if r.Key == nil {
		return k.keyless.Partition(r, numPartitions)
	}
	p := k.hash(r.Key, numPartitions)
	if p < 0 || p >= numPartitions {
		return 0, errInvalidPartition(p, numPartitions)
	}
	return p, nil
}

// The three wrappers below exist so that a type assertion for BatchAware or
// BytesAware succeeds exactly when the keyless partitioner has the method:
// the producer may skip the new-batch protocol or the byte accounting for a
// partitioner that does not want them.

type keyHashBatchAware struct {
	keyHashPartitioner
	nb BatchAware
}

func (k *keyHashBatchAware) OnNewBatch(prev int32) { k.nb.OnNewBatch(prev) }

type keyHashBytesAware struct {
	keyHashPartitioner
	ba BytesAware
}

func (k *keyHashBytesAware) OnAppend(r *record.Record, partition int32, size int, batchFull bool) {
	if r.Key == nil {
		k.ba.OnAppend(r, partition, size, batchFull)
	}
}

type keyHashBothAware struct {
	keyHashBytesAware
	nb BatchAware
}

func (k *keyHashBothAware) OnNewBatch(prev int32) { k.nb.OnNewBatch(prev) }

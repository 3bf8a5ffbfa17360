package producer

// KeyHasher maps a non-nil record key to a partition in [0, numPartitions),
// always the same one for the same key and count. numPartitions is >= 1.
// A KeyHasher must be safe for concurrent use and should not allocate; see
// NewKeyHashPartitioner.
type KeyHasher func(key []byte, numPartitions int32) int32

// KafkaKeyHash is the Java client's key placement,
// (Murmur2(key) & 0x7fffffff) % numPartitions, shared by franz-go's default
// and Sarama's NewMurmur2Partitioner: a key lands on the same partition as
// with those clients for the same partition count. The sign bit is masked,
// not negated (Kafka's Utils.toPositive). It panics if numPartitions is 0.
func KafkaKeyHash(key []byte, numPartitions int32) int32 {
	return int32(Murmur2(key)&0x7fffffff) % numPartitions
}

// SaramaKeyHash is the key placement of Sarama's default partitioner
// (sarama.NewHashPartitioner): the 32-bit FNV-1a hash of the key, taken as a
// signed int32, remainder numPartitions, negated if negative. It matches
// Sarama, not Kafka: the same key generally goes elsewhere than with
// KafkaKeyHash. A hash of 0x80000000 (math.MinInt32) gives
// 2147483648 % numPartitions, for example 48 of 50, where masking would give 0.
// It panics if numPartitions is 0.
func SaramaKeyHash(key []byte, numPartitions int32) int32 {
	p := int32(fnv1a32(key)) % numPartitions
	if p < 0 {
		p = -p
	}
	return p
}

// fnv1a32 is the 32-bit FNV-1a hash (hash/fnv.New32a), without the
// allocation of a hash.Hash32.
func fnv1a32(b []byte) uint32 {
	const (
		offset32 = 2166136261
		prime32  = 16777619
	)
	h := uint32(offset32)
	for _, c := range b {
		h ^= uint32(c)
		h *= prime32
	}
	return h
}

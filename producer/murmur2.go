package producer

import "encoding/binary"

// Murmur2 returns the 32-bit MurmurHash2 of b exactly as Kafka's Java client
// computes it for key partitioning (org.apache.kafka.common.utils.Utils.murmur2:
// seed 0x9747b28c, 4-byte words read little-endian, tail bytes unsigned). Java
// returns the same bits as a signed int: int32(Murmur2(b)). A nil b hashes like
// an empty one. Murmur2 does not allocate and is safe for concurrent use.
//
// Kafka's partition for a key is (Murmur2(key) & 0x7fffffff) % numPartitions:
// see KafkaKeyHash.
func Murmur2(b []byte) uint32 {
	const (
		seed = 0x9747b28c
		m    = 0x5bd1e995
		r    = 24
	)
	h := seed ^ uint32(len(b))
	for len(b) >= 4 {
		k := binary.LittleEndian.Uint32(b)
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
		b = b[4:]
	}
	// The tail cascades as in Java's switch: the multiply happens once, and
	// only if there is a tail.
	switch len(b) {
	case 3:
		h ^= uint32(b[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(b[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(b[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

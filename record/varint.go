package record

import "math/bits"

// Kafka's varints are protobuf sint32/sint64: zig-zag, then LEB128. Kafka
// rejects an int32 varint longer than 5 bytes and a varlong longer than 10
// (ByteUtils.readVarint/readVarlong); we also reject the value bits that would
// overflow the field in the last permitted byte, so every accepted encoding
// denotes exactly one in-range value.

const (
	maxVarintLen  = 5
	maxVarlongLen = 10
)

func zigzag32(v int32) uint64 { return uint64(uint32((v << 1) ^ (v >> 31))) }
func zigzag64(v int64) uint64 { return uint64((v << 1) ^ (v >> 63)) }

// uvarintSize returns the LEB128 length of u.
func uvarintSize(u uint64) int { return (bits.Len64(u|1) + 6) / 7 }

func varintSize(v int32) int  { return uvarintSize(zigzag32(v)) }
func varlongSize(v int64) int { return uvarintSize(zigzag64(v)) }

// putUvarint writes u at b[0:] and returns the number of bytes written. The
// caller guarantees len(b) >= uvarintSize(u).
func putUvarint(b []byte, u uint64) int {
	if u < 0x80 {
		b[0] = byte(u)
		return 1
	}
	if u < 0x4000 {
		_ = b[1]
		b[0] = byte(u) | 0x80
		b[1] = byte(u >> 7)
		return 2
	}
	i := 0
	for u >= 0x80 {
		b[i] = byte(u) | 0x80
		u >>= 7
		i++
	}
	b[i] = byte(u)
	return i + 1
}

func putVarint(b []byte, v int32) int  { return putUvarint(b, zigzag32(v)) }
func putVarlong(b []byte, v int64) int { return putUvarint(b, zigzag64(v)) }

// readVarint decodes a zig-zag int32 varint from b. n > 0 is the number of
// bytes consumed; n == 0 means b ended inside the varint; n < 0 means the
// encoding is longer than 5 bytes or overflows 32 bits.
func readVarint(b []byte) (v int32, n int) {
	if len(b) > 0 && b[0] < 0x80 {
		u := uint32(b[0])
		return int32(u>>1) ^ -int32(u&1), 1
	}
	var u uint32
	for i := 0; i < maxVarintLen; i++ {
		if i >= len(b) {
			return 0, 0
		}
		c := b[i]
		if i == maxVarintLen-1 && c > 0x0f {
			return 0, -1
		}
		u |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			return int32(u>>1) ^ -int32(u&1), i + 1
		}
	}
	return 0, -1
}

// readVarlong is readVarint for zig-zag int64 varlongs (at most 10 bytes).
func readVarlong(b []byte) (v int64, n int) {
	if len(b) > 0 && b[0] < 0x80 {
		u := uint64(b[0])
		return int64(u>>1) ^ -int64(u&1), 1
	}
	var u uint64
	for i := 0; i < maxVarlongLen; i++ {
		if i >= len(b) {
			return 0, 0
		}
		c := b[i]
		if i == maxVarlongLen-1 && c > 0x01 {
			return 0, -1
		}
		u |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return int64(u>>1) ^ -int64(u&1), i + 1
		}
	}
	return 0, -1
}

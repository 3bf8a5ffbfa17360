package group

// The records of the internal topic __consumer_offsets, byte for byte as
// Kafka writes them (kafka-internals 8.5), so that Kafka's tools read our
// offsets topic and the other way round:
//
//	key   (every record):   int16 key version, then the fields of that version
//	  v0, v1 offset commit:  group string, topic string, partition int32
//	  v2     group metadata: group string
//	value (offset commit):  int16 value version, then
//	  v0: offset int64, metadata string, commitTimestamp int64
//	  v1: offset int64, metadata string, commitTimestamp int64, expireTimestamp int64
//	  v2: as v0
//	  v3: offset int64, leaderEpoch int32, metadata string, commitTimestamp int64
//	a null value (tombstone) deletes the key.
//
// A string is an int16 length then that many bytes (UTF-8); all integers
// are big-endian. We write key v1 and value v3 only, as Kafka does unless
// an explicit expire timestamp is asked for, and we read v0 to v3. Group
// metadata records (key v2) are recognised and skipped: this coordinator
// does not persist membership (see the package documentation).

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
	"unicode/utf16"
)

// Key and value versions of __consumer_offsets records.
const (
	offsetKeyV0       = 0
	offsetKeyV1       = 1
	groupMetadataKey  = 2
	offsetValueV3     = 3
	maxOffsetValueVer = 3
)

// offsetsKey is a decoded key: an offset commit's (group, topic,
// partition), or a group metadata record's group (metadata set).
type offsetsKey struct {
	group     string
	topic     string
	partition int32
	metadata  bool // a group metadata key (version 2): topic and partition unset
}

// appendOffsetKey appends the key v1 of an offset commit.
func appendOffsetKey(dst []byte, group, topic string, partition int32) []byte {
	dst = binary.BigEndian.AppendUint16(dst, offsetKeyV1)
	dst = appendString(dst, group)
	dst = appendString(dst, topic)
	return binary.BigEndian.AppendUint32(dst, uint32(partition))
}

// appendGroupMetadataKey appends the key v2 of a group metadata record.
func appendGroupMetadataKey(dst []byte, group string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, groupMetadataKey)
	return appendString(dst, group)
}

// appendOffsetValue appends the value v3 of an offset commit.
func appendOffsetValue(dst []byte, o OffsetAndMetadata) []byte {
	dst = binary.BigEndian.AppendUint16(dst, offsetValueV3)
	dst = binary.BigEndian.AppendUint64(dst, uint64(o.Offset))
	dst = binary.BigEndian.AppendUint32(dst, uint32(o.LeaderEpoch))
	dst = appendString(dst, o.Metadata)
	return binary.BigEndian.AppendUint64(dst, uint64(o.CommitTime.UnixMilli()))
}

// appendString appends s as a Kafka string. Callers keep s under 32 KiB
// (topic names are at most 249 bytes; groups and metadata are checked).
func appendString(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// decodeOffsetsKey decodes a record key of the offsets topic. Every length
// is bounds-checked; trailing bytes are an error (Kafka's generated
// readers ignore them, but we wrote the record and it would mean damage).
func decodeOffsetsKey(b []byte) (offsetsKey, error) {
	r := reader{b: b}
	v := r.int16()
	var k offsetsKey
	switch v {
	case offsetKeyV0, offsetKeyV1:
		k.group = r.string()
		k.topic = r.string()
		k.partition = r.int32()
	case groupMetadataKey:
		k.group = r.string()
		k.metadata = true
	default:
		if r.err == nil {
			return k, fmt.Errorf("%w: unknown key version %d", ErrCorruptOffsets, v)
		}
	}
	if err := r.done("key"); err != nil {
		return offsetsKey{}, err
	}
	return k, nil
}

// decodeOffsetValue decodes the value of an offset commit, versions 0 to
// 3. A version without a leader epoch gives -1.
func decodeOffsetValue(b []byte) (OffsetAndMetadata, error) {
	r := reader{b: b}
	v := r.int16()
	if r.err == nil && (v < 0 || v > maxOffsetValueVer) {
		return OffsetAndMetadata{}, fmt.Errorf("%w: unknown offset value version %d", ErrCorruptOffsets, v)
	}
	o := OffsetAndMetadata{LeaderEpoch: -1}
	o.Offset = r.int64()
	if v == 3 {
		o.LeaderEpoch = r.int32()
	}
	o.Metadata = r.string()
	ts := r.int64()
	if v == 1 {
		_ = r.int64() // expireTimestamp: offsets do not expire here
	}
	if err := r.done("offset value"); err != nil {
		return OffsetAndMetadata{}, err
	}
	o.CommitTime = time.UnixMilli(ts)
	return o, nil
}

// reader reads big-endian fields, remembering the first error: after it,
// every read returns zero.
type reader struct {
	b   []byte
	err error
}

func (r *reader) need(n int) bool {
	if r.err != nil {
		return false
	}
	if len(r.b) < n {
		r.err = fmt.Errorf("%w: %d bytes left, field needs %d", ErrCorruptOffsets, len(r.b), n)
		return false
	}
	return true
}

func (r *reader) int16() int16 {
	if !r.need(2) {
		return 0
	}
	v := int16(binary.BigEndian.Uint16(r.b))
	r.b = r.b[2:]
	return v
}

func (r *reader) int32() int32 {
	if !r.need(4) {
		return 0
	}
	v := int32(binary.BigEndian.Uint32(r.b))
	r.b = r.b[4:]
	return v
}

func (r *reader) int64() int64 {
	if !r.need(8) {
		return 0
	}
	v := int64(binary.BigEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

// string reads a non-nullable string: a negative length is an error.
func (r *reader) string() string {
	n := r.int16()
	if r.err != nil {
		return ""
	}
	if n < 0 {
		r.err = fmt.Errorf("%w: negative string length %d", ErrCorruptOffsets, n)
		return ""
	}
	if !r.need(int(n)) {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// done returns the first error, or an error if bytes are left over.
func (r *reader) done(what string) error {
	if r.err != nil {
		return fmt.Errorf("%s: %w", what, r.err)
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %s: %d trailing bytes", ErrCorruptOffsets, what, len(r.b))
	}
	return nil
}

// OffsetsPartition returns the partition of the offsets topic, out of
// partitions, that holds group's commits: Kafka's
// abs(javaStringHashCode(group)) % partitions, with Utils.abs mapping
// math.MinInt32 to 0, so that a group lands on the partition a Kafka
// cluster with the same partition count would use ("my-group" is 12 of
// 50). partitions must be positive.
func OffsetsPartition(group string, partitions int) int32 {
	h := javaStringHash(group)
	if h == math.MinInt32 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % int32(partitions)
}

// javaStringHash is Java's String.hashCode: s[0]*31^(n-1) + ... over the
// UTF-16 code units of s, wrapping at 32 bits. Invalid UTF-8 decodes to
// U+FFFD, as Java's decoder of the wire bytes would.
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r1, r2 := utf16.EncodeRune(r); r1 != '\uFFFD' || r2 != '\uFFFD' {
			h = 31*h + int32(r1)
			h = 31*h + int32(r2)
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}

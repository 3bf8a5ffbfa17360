package group

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformedUserData is returned by DecodeStickyUserData for bytes that
// are not a StickyAssignorUserData.
var ErrMalformedUserData = errors.New("group: malformed sticky user data")

// EncodeStickyUserData returns the user data the eager Java
// StickyAssignor puts in its subscription (StickyAssignorUserData v1,
// KIP-341): the partitions the member owns and the generation they were
// assigned in. Layout, big-endian, with no version prefix:
//
//	topics     int32 count, then per topic:
//	  topic      int16 length + bytes
//	  partitions int32 count + int32 each
//	generation int32
//
// The topics are written in the order given; a topic name must be
// shorter than 32768 bytes (Kafka allows 249). A samsa coordinator passes
// ownership in Member.OwnedPartitions and Generation, so this is needed
// only to talk to Kafka-format members or tools.
func EncodeStickyUserData(owned []TopicPartitions, generation int32) []byte {
	n := 8
	for _, tp := range owned {
		n += 2 + len(tp.Topic) + 4 + 4*len(tp.Partitions)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint32(b, uint32(len(owned)))
	for _, tp := range owned {
		b = binary.BigEndian.AppendUint16(b, uint16(len(tp.Topic)))
		b = append(b, tp.Topic...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(tp.Partitions)))
		for _, p := range tp.Partitions {
			b = binary.BigEndian.AppendUint32(b, uint32(p))
		}
	}
	return binary.BigEndian.AppendUint32(b, uint32(generation))
}

// DecodeStickyUserData parses StickyAssignorUserData as Java's
// StickyAssignor does: version 1 carries the generation after the
// partitions; version 0 (before KIP-341) ends after them and decodes
// with generation -1. As in Java, fewer than four bytes after the
// partitions are read as version 0 and bytes after the generation are
// ignored. Lengths are bounds-checked against the input before anything
// is allocated; a negative or overlong one is ErrMalformedUserData. The
// result does not share memory with b.
func DecodeStickyUserData(b []byte) (owned []TopicPartitions, generation int32, err error) {
	d := userDataReader{b: b}
	n := d.count(6) // a topic takes at least 6 bytes
	for i := 0; i < n && d.err == nil; i++ {
		l := d.int16()
		if l < 0 || int(l) > len(d.b) {
			d.fail("topic length %d", l)
			break
		}
		topic := string(d.b[:l])
		d.b = d.b[l:]
		k := d.count(4)
		parts := make([]int32, 0, k)
		for j := 0; j < k; j++ {
			parts = append(parts, d.int32())
		}
		owned = append(owned, TopicPartitions{Topic: topic, Partitions: parts})
	}
	if d.err != nil {
		return nil, 0, d.err
	}
	if len(d.b) < 4 {
		return owned, -1, nil
	}
	return owned, d.int32(), nil
}

// userDataReader reads big-endian fields, remembering the first error.
type userDataReader struct {
	b   []byte
	err error
}

func (d *userDataReader) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformedUserData}, args...)...)
	}
	d.b = nil
}

func (d *userDataReader) int16() int16 {
	if len(d.b) < 2 {
		d.fail("short int16")
		return 0
	}
	v := int16(binary.BigEndian.Uint16(d.b))
	d.b = d.b[2:]
	return v
}

func (d *userDataReader) int32() int32 {
	if len(d.b) < 4 {
		d.fail("short int32")
		return 0
	}
	v := int32(binary.BigEndian.Uint32(d.b))
	d.b = d.b[4:]
	return v
}

// count reads an array length whose elements take at least size bytes
// each, and fails if the rest of the input cannot hold them.
func (d *userDataReader) count(size int) int {
	n := d.int32()
	if d.err != nil {
		return 0
	}
	if n < 0 || int64(n)*int64(size) > int64(len(d.b)) {
		d.fail("array length %d with %d bytes left", n, len(d.b))
		return 0
	}
	return int(n)
}

package producer

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"time"

	"github.com/samsalog/samsa/record"
)

// Batches are encoded incrementally: Produce writes each record, in Kafka's
// magic-v2 record layout (record package doc), straight into its batch's
// buffer behind 61 bytes left for the header, so that a record is copied
// once and an uncompressed batch is appended from that buffer without
// another copy; the sender writes the header and CRC-32C. A compressed
// batch is handed to record.Encoder, which compresses the same records
// once. TestEncodeMatchesRecordEncoder holds the two paths byte-equal to
// Encoder.AppendBatch.

// recordSizes are the parts of a record's encoded size that do not depend
// on its place in a batch.
type recordSizes struct {
	fixed int // key, value and headers with their varint lengths
}

// measure returns r's sizes.
func measure(r *record.Record) recordSizes {
	fixed := bytesSize(len(r.Key), r.Key == nil) + bytesSize(len(r.Value), r.Value == nil) +
		uvarintSize(uint64(len(r.Headers))<<1)
	for i := range r.Headers {
		h := &r.Headers[i]
		fixed += bytesSize(len(h.Key), false) + bytesSize(len(h.Value), h.Value == nil)
	}
	return recordSizes{fixed: fixed}
}

// maxSize is an upper bound of the record's encoded size, whatever its
// place in a batch: Kafka's estimateSizeInBytesUpperBound.
func (s recordSizes) maxSize() int { return record.MaxRecordOverhead + s.fixed }

// bodyAt returns the size of the record after its length varint, as record
// n of a batch whose first record has timestamp base (Unix ms).
func (s recordSizes) bodyAt(ts, base int64, n int) int {
	return 1 + varlongSize(ts-base) + varintSize(int32(n)) + s.fixed
}

// sizeOf returns a record's whole size given its body size.
func sizeOf(body int) int { return uvarintSize(uint64(body)<<1) + body }

func uvarintSize(u uint64) int { return (bits.Len64(u|1) + 6) / 7 }
func varintSize(v int32) int   { return uvarintSize(uint64(uint32((v << 1) ^ (v >> 31)))) }
func varlongSize(v int64) int  { return uvarintSize(uint64((v << 1) ^ (v >> 63))) }
func bytesSize(n int, null bool) int {
	if null {
		return 1
	}
	return uvarintSize(uint64(n)<<1) + n
}

// appendBytes appends a nullable byte field.
func appendBytes(b, v []byte) []byte {
	if v == nil {
		return append(b, 1) // zig-zag(-1)
	}
	b = binary.AppendVarint(b, int64(len(v)))
	return append(b, v...)
}

// appendRecord appends r's encoding, with the body size computed by bodyAt,
// to b. Kafka's zig-zag varints are encoding/binary's signed varints.
func appendRecord(b []byte, r *record.Record, body int, tsDelta int64, offDelta int) []byte {
	b = binary.AppendVarint(b, int64(body))
	b = append(b, 0) // record attributes: unused
	b = binary.AppendVarint(b, tsDelta)
	b = binary.AppendVarint(b, int64(offDelta))
	b = appendBytes(b, r.Key)
	b = appendBytes(b, r.Value)
	b = binary.AppendVarint(b, int64(len(r.Headers)))
	for i := range r.Headers {
		h := &r.Headers[i]
		b = binary.AppendVarint(b, int64(len(h.Key)))
		b = append(b, h.Key...)
		b = appendBytes(b, h.Value)
	}
	return b
}

// batchFields are the header fields the sender sets.
type batchFields struct {
	idempotent bool
	producerID int64
	epoch      int16
	baseSeq    int32
}

// putHeader writes the header of the uncompressed batch in b.buf and its
// CRC: what record.Encoder.AppendBatch writes for the same records.
func (b *batch) putHeader(f batchFields) {
	pid, epoch, seq := int64(record.NoProducerID), int16(record.NoProducerEpoch), int32(record.NoSequence)
	if f.idempotent {
		pid, epoch, seq = f.producerID, f.epoch, f.baseSeq
	}
	record.PutBatchHeader(b.buf, record.BatchHeader{
		Length:          int32(len(b.buf) - record.LogOverhead),
		LeaderEpoch:     record.NoLeaderEpoch,
		Magic:           record.Magic,
		LastOffsetDelta: int32(len(b.entries) - 1),
		BaseTimestamp:   b.baseTS,
		MaxTimestamp:    b.maxTS,
		ProducerID:      pid,
		ProducerEpoch:   epoch,
		BaseSequence:    seq,
		NumRecords:      int32(len(b.entries)),
	})
}

// unstamp undoes what Append may have changed in an encoded batch that
// must be appended again (a retry): for a LogAppendTime topic the
// partition set attribute bit 3 and maxTimestamp, and a producer's batch
// must not carry them. Base offset and leader epoch are overwritten by
// every Append anyway.
func unstamp(enc []byte, maxTS int64) {
	h, err := record.ParseBatchHeader(enc)
	if err != nil || !h.Attributes.LogAppendTime() {
		return // our own encoding: it parses
	}
	h.Attributes &^= record.AttrLogAppendTime
	h.MaxTimestamp = maxTS
	record.PutBatchHeader(enc, h)
}

// decodeInto rebuilds the records of b, aliasing its buffer, into recs and
// hdrs (the sender's scratch), for record.Encoder to compress. It reads
// only what appendRecord wrote.
func (b *batch) decodeInto(recs []record.Record, hdrs []record.Header) ([]record.Record, []record.Header, error) {
	recs, hdrs = recs[:0], hdrs[:0]
	buf := b.buf[record.BatchHeaderSize:]
	keys := b.hkeys
	bad := func(what string) error { return fmt.Errorf("producer: internal error: batch buffer: %s", what) }
	varint := func() int64 {
		v, n := binary.Varint(buf)
		if n <= 0 {
			return -2
		}
		buf = buf[n:]
		return v
	}
	bytes := func() ([]byte, bool) {
		n := varint()
		if n == -1 {
			return nil, true
		}
		if n < 0 || n > int64(len(buf)) {
			return nil, false
		}
		v := buf[:n:n]
		buf = buf[n:]
		return v, true
	}
	for range b.entries {
		if varint() < 0 || len(buf) == 0 {
			return recs, hdrs, bad("record length")
		}
		buf = buf[1:] // attributes
		tsDelta := varint()
		varint() // offset delta: the index
		var r record.Record
		var ok1, ok2 bool
		r.Key, ok1 = bytes()
		r.Value, ok2 = bytes()
		nh := varint()
		if !ok1 || !ok2 || nh < 0 || int(nh) > len(keys) {
			return recs, hdrs, bad("record fields")
		}
		r.Timestamp = time.UnixMilli(b.baseTS + tsDelta)
		if nh > 0 {
			h0 := len(hdrs)
			for range nh {
				k := varint()
				if k < 0 || k > int64(len(buf)) {
					return recs, hdrs, bad("header key")
				}
				buf = buf[k:] // the key is kept as a string in hkeys
				v, ok := bytes()
				if !ok {
					return recs, hdrs, bad("header value")
				}
				hdrs = append(hdrs, record.Header{Key: keys[0], Value: v})
				keys = keys[1:]
			}
			r.Headers = hdrs[h0:len(hdrs):len(hdrs)]
		}
		recs = append(recs, r)
	}
	// Header slices alias hdrs, which may have moved while growing: point
	// them at its final array.
	p := 0
	for i := range recs {
		if n := len(recs[i].Headers); n > 0 {
			recs[i].Headers = hdrs[p : p+n : p+n]
			p += n
		}
	}
	return recs, hdrs, nil
}

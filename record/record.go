package record

import (
	"strconv"
	"strings"
	"time"
)

// Header is one record header: a non-null UTF-8 key and a value that may be
// null (nil) or empty (non-nil, zero length).
type Header struct {
	// Key is the header key. Kafka does not allow a null header key.
	Key string
	// Value is the header value; nil encodes as null (length -1).
	Value []byte
}

// Record is one Kafka record as a library user sees it.
//
// On encode only Key, Value, Headers and Timestamp are used: the offset is the
// record's index in the batch, and topic, partition and leader epoch are not
// part of a record's bytes. On decode every field is filled; see Decoder for
// the lifetime of Key, Value and Headers.
type Record struct {
	// Topic is the topic the record belongs to. Not encoded; filled from
	// Decoder.Topic on decode.
	Topic string
	// Partition is the partition the record belongs to. Not encoded; filled
	// from Decoder.Partition on decode.
	Partition int32
	// Offset is the record's absolute offset, baseOffset + offsetDelta.
	Offset int64
	// Key is the record key; nil encodes as null (length -1), a non-nil empty
	// slice as an empty key.
	Key []byte
	// Value is the record value; nil encodes as null (a tombstone).
	Value []byte
	// Headers are the record headers, in order.
	Headers []Header
	// Timestamp has millisecond precision on the wire. On encode the zero
	// value means "now" (the time AppendBatch is called), as Kafka clients do
	// for an unset timestamp. On decode Kafka's NoTimestamp (-1) becomes the
	// zero value, and a LogAppendTime batch gives every record the batch's
	// MaxTimestamp.
	Timestamp time.Time
	// LeaderEpoch is the partitionLeaderEpoch of the batch that holds the
	// record, NoLeaderEpoch (-1) if none. Not used on encode (it is a batch
	// field: BatchOptions.LeaderEpoch).
	LeaderEpoch int32
}

// Batch format constants.
const (
	// Magic is the only record batch format version this package reads and
	// writes.
	Magic = 2
	// BatchHeaderSize is the size of a magic-v2 batch header (Kafka's
	// RECORD_BATCH_OVERHEAD): the records section starts at this offset.
	BatchHeaderSize = 61
	// LogOverhead is the size of baseOffset + batchLength, the bytes of a
	// batch that its length field does not count (Kafka's LOG_OVERHEAD).
	LogOverhead = 12
	// MaxRecordOverhead is the largest size of a record's framing apart from
	// key, value and headers: 5 length + 1 attributes + 10 timestamp delta + 5
	// offset delta (Kafka's DefaultRecord.MAX_RECORD_OVERHEAD).
	MaxRecordOverhead = 21
	// minRecordSize is the smallest encoded record: length, attributes,
	// timestamp delta, offset delta, key length, value length and header
	// count, one byte each.
	minRecordSize = 7
	// batchLengthMin is the smallest valid batchLength: the header after
	// the length field, with no records.
	batchLengthMin = BatchHeaderSize - LogOverhead
)

// Kafka's "absent" values for batch fields.
const (
	// NoProducerID is the producerId of a non-idempotent batch.
	NoProducerID = -1
	// NoProducerEpoch is the producerEpoch of a non-idempotent batch.
	NoProducerEpoch = -1
	// NoSequence is the baseSequence of a non-idempotent or control batch.
	NoSequence = -1
	// NoLeaderEpoch is the partitionLeaderEpoch a producer sends.
	NoLeaderEpoch = -1
	// NoTimestamp is Kafka's "no timestamp" value, used for the timestamps
	// of an empty batch.
	NoTimestamp = -1
)

// Compression is a batch compression codec, the low three bits of the batch
// attributes.
type Compression int8

// The compression codecs Kafka defines.
const (
	// CompressionNone stores records uncompressed.
	CompressionNone Compression = 0
	// CompressionGzip is an RFC 1952 gzip stream.
	CompressionGzip Compression = 1
	// CompressionSnappy is written in xerial (snappy-java) framing and read in
	// xerial or raw snappy.
	CompressionSnappy Compression = 2
	// CompressionLZ4 is an LZ4 frame with 64 KiB independent blocks.
	CompressionLZ4 Compression = 3
	// CompressionZstd is a standard zstd frame.
	CompressionZstd Compression = 4
)

var compressionNames = [...]string{"none", "gzip", "snappy", "lz4", "zstd"}

// String returns Kafka's name of the codec (the compression.type value):
// "none", "gzip", "snappy", "lz4" or "zstd"; "compression(N)" when unknown.
func (c Compression) String() string {
	if c.valid() {
		return compressionNames[c]
	}
	return "compression(" + strconv.Itoa(int(c)) + ")"
}

func (c Compression) valid() bool { return c >= CompressionNone && c <= CompressionZstd }

// ParseCompression returns the codec named s, case-insensitively: one of the
// String names, or "uncompressed" for none (Kafka's topic-level spelling). An
// unknown name returns ErrUnknownCompression.
func ParseCompression(s string) (Compression, error) {
	ls := strings.ToLower(strings.TrimSpace(s))
	if ls == "uncompressed" {
		return CompressionNone, nil
	}
	for i, n := range compressionNames {
		if ls == n {
			return Compression(i), nil
		}
	}
	return CompressionNone, kindf(ErrUnknownCompression, "%q", s)
}

// Attributes is a batch's int16 attributes field.
type Attributes int16

// Attribute bits (Kafka numbers them from 0).
const (
	// AttrCompressionMask selects the codec bits 0-2.
	AttrCompressionMask Attributes = 0x07
	// AttrLogAppendTime is bit 3: timestamps are the broker's append time.
	AttrLogAppendTime Attributes = 0x08
	// AttrTransactional is bit 4: the batch belongs to a transaction.
	AttrTransactional Attributes = 0x10
	// AttrControl is bit 5: the batch holds control records (markers).
	AttrControl Attributes = 0x20
	// AttrDeleteHorizon is bit 6: baseTimestamp is a compaction delete
	// horizon (KIP-534).
	AttrDeleteHorizon Attributes = 0x40
)

// Compression returns the codec in bits 0-2 (possibly an invalid value 5-7).
func (a Attributes) Compression() Compression { return Compression(a & AttrCompressionMask) }

// LogAppendTime reports whether bit 3 (timestamp type LogAppendTime) is set.
func (a Attributes) LogAppendTime() bool { return a&AttrLogAppendTime != 0 }

// Transactional reports whether bit 4 is set.
func (a Attributes) Transactional() bool { return a&AttrTransactional != 0 }

// Control reports whether bit 5 (control batch) is set.
func (a Attributes) Control() bool { return a&AttrControl != 0 }

// HasDeleteHorizon reports whether bit 6 is set.
func (a Attributes) HasDeleteHorizon() bool { return a&AttrDeleteHorizon != 0 }

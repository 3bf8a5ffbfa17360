package record

import (
	"encoding/binary"
	"hash/crc32"
	"math"
)

// Byte offsets of the magic-v2 batch header fields.
const (
	offBaseOffset      = 0
	offLength          = 8
	offLeaderEpoch     = 12
	offMagic           = 16
	offCRC             = 17
	offAttributes      = 21
	offLastOffsetDelta = 23
	offBaseTimestamp   = 27
	offMaxTimestamp    = 35
	offProducerID      = 43
	offProducerEpoch   = 51
	offBaseSequence    = 53
	offNumRecords      = 57
)

// castagnoli is the CRC-32C table; crc32 uses SSE4.2/ARMv8 CRC instructions
// with it when the CPU has them.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// BatchHeader is the decoded 61-byte header of a magic-v2 record batch.
type BatchHeader struct {
	// BaseOffset is the offset of the record with offsetDelta 0.
	BaseOffset int64
	// Length is the batchLength field: the batch size minus LogOverhead.
	Length int32
	// LeaderEpoch is the partitionLeaderEpoch, NoLeaderEpoch if unset.
	LeaderEpoch int32
	// Magic is the format version; always 2 after a successful parse.
	Magic int8
	// CRC is the stored CRC-32C of bytes [21, Size).
	CRC uint32
	// Attributes holds codec, timestamp type, transactional and control bits.
	Attributes Attributes
	// LastOffsetDelta is LastOffset - BaseOffset.
	LastOffsetDelta int32
	// BaseTimestamp is the first record's timestamp in Unix milliseconds
	// (NoTimestamp for an empty batch, a delete horizon if
	// Attributes.HasDeleteHorizon).
	BaseTimestamp int64
	// MaxTimestamp is the largest record timestamp, or the append time for a
	// LogAppendTime batch, in Unix milliseconds.
	MaxTimestamp int64
	// ProducerID is the idempotent producer's ID, NoProducerID if none.
	ProducerID int64
	// ProducerEpoch is the producer's epoch, NoProducerEpoch if none.
	ProducerEpoch int16
	// BaseSequence is the first record's sequence, NoSequence if none.
	BaseSequence int32
	// NumRecords is the recordsCount field.
	NumRecords int32
}

// Size returns the batch's total size in bytes, LogOverhead + Length.
func (h BatchHeader) Size() int { return LogOverhead + int(h.Length) }

// LastOffset returns the offset of the batch's last record as written by its
// producer (it survives compaction even if that record does not).
func (h BatchHeader) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// NextOffset returns LastOffset + 1, where a reader continues after the batch.
func (h BatchHeader) NextOffset() int64 { return h.LastOffset() + 1 }

// ParseBatchHeader decodes the header at b[0:]. It needs at least
// BatchHeaderSize bytes (else ErrTruncated) and checks that the magic byte is
// 2 (else ErrUnsupportedMagic, which then also matches ErrCorrupt), that
// 49 <= Length <= math.MaxInt32-12 (so Size fits an int32), NumRecords >= 0, LastOffsetDelta >= 0, that BaseOffset >= 0
// and NextOffset does not overflow int64, and that the codec is
// known (else ErrUnknownCompression, also matching ErrCorrupt). It does not
// check the CRC or that b holds the whole batch; see CheckBatch. It does not
// allocate unless it fails.
func ParseBatchHeader(b []byte) (BatchHeader, error) {
	var h BatchHeader
	if len(b) < BatchHeaderSize {
		return h, kindf(ErrTruncated, "%d bytes, need %d for a batch header", len(b), BatchHeaderSize)
	}
	b = b[:BatchHeaderSize]
	h.BaseOffset = int64(binary.BigEndian.Uint64(b[offBaseOffset:]))
	h.Length = int32(binary.BigEndian.Uint32(b[offLength:]))
	h.LeaderEpoch = int32(binary.BigEndian.Uint32(b[offLeaderEpoch:]))
	h.Magic = int8(b[offMagic])
	h.CRC = binary.BigEndian.Uint32(b[offCRC:])
	h.Attributes = Attributes(binary.BigEndian.Uint16(b[offAttributes:]))
	h.LastOffsetDelta = int32(binary.BigEndian.Uint32(b[offLastOffsetDelta:]))
	h.BaseTimestamp = int64(binary.BigEndian.Uint64(b[offBaseTimestamp:]))
	h.MaxTimestamp = int64(binary.BigEndian.Uint64(b[offMaxTimestamp:]))
	h.ProducerID = int64(binary.BigEndian.Uint64(b[offProducerID:]))
	h.ProducerEpoch = int16(binary.BigEndian.Uint16(b[offProducerEpoch:]))
	h.BaseSequence = int32(binary.BigEndian.Uint32(b[offBaseSequence:]))
	h.NumRecords = int32(binary.BigEndian.Uint32(b[offNumRecords:]))
	switch {
	case h.Magic != Magic:
		return h, corruptKindf(ErrUnsupportedMagic, "magic %d", h.Magic)
	case h.Length < batchLengthMin || h.Length > math.MaxInt32-LogOverhead:
		return h, corruptf("batch length %d out of range", h.Length)
	case h.NumRecords < 0:
		return h, corruptf("negative record count %d", h.NumRecords)
	case h.LastOffsetDelta < 0:
		return h, corruptf("negative last offset delta %d", h.LastOffsetDelta)
	case h.BaseOffset < 0 || h.BaseOffset > math.MaxInt64-int64(h.LastOffsetDelta)-1:
		return h, corruptf("base offset %d with last offset delta %d out of range", h.BaseOffset, h.LastOffsetDelta)
	case !h.Attributes.Compression().valid():
		return h, corruptKindf(ErrUnknownCompression, "codec %d", h.Attributes.Compression())
	}
	return h, nil
}

// CheckBatch parses the header at b[0:] (see ParseBatchHeader), checks that b
// holds the whole batch (else ErrTruncated) and that the stored CRC matches
// the CRC-32C of bytes [21, Size) (else ErrCRC). Bytes after the batch are
// ignored. It does not decode records and does not allocate unless it fails.
func CheckBatch(b []byte) (BatchHeader, error) {
	h, err := ParseBatchHeader(b)
	if err != nil {
		return h, err
	}
	if size := h.Size(); len(b) < size {
		return h, kindf(ErrTruncated, "%d bytes, batch length says %d", len(b), size)
	}
	if got := crc32.Checksum(b[offAttributes:h.Size()], castagnoli); got != h.CRC {
		return h, kindf(ErrCRC, "stored %#08x, computed %#08x", h.CRC, got)
	}
	return h, nil
}

// NextBatch checks the batch at the start of b (see CheckBatch) and returns
// its header, the batch bytes b[:Size] and the bytes after it. It is a
// convenience for walking a buffer of concatenated batches:
//
//	for len(buf) > 0 {
//		h, batch, rest, err := record.NextBatch(buf)
//		...
//		buf = rest
//	}
func NextBatch(b []byte) (h BatchHeader, batch, rest []byte, err error) {
	h, err = CheckBatch(b)
	if err != nil {
		return h, nil, b, err
	}
	return h, b[:h.Size()], b[h.Size():], nil
}

// batchEnd returns the end of the batch at b[0:] according to its length
// field, clamped to [offAttributes, len(b)].
func batchEnd(b []byte) int {
	end := len(b)
	if len(b) >= offLeaderEpoch {
		if n := int64(LogOverhead) + int64(int32(binary.BigEndian.Uint32(b[offLength:]))); n < int64(end) {
			end = int(n)
		}
	}
	return max(end, offAttributes)
}

// ComputeCRC returns the CRC-32C of bytes [21, end) of the batch at b[0:],
// where end is LogOverhead + the length field, clamped to len(b). It panics if
// len(b) < 21.
func ComputeCRC(b []byte) uint32 {
	return crc32.Checksum(b[offAttributes:batchEnd(b)], castagnoli)
}

// PutBaseOffset overwrites the baseOffset field of the batch at b[0:]. The
// field is not covered by the CRC, so nothing else changes; this is how a log
// assigns offsets. It panics if len(b) < 8.
func PutBaseOffset(b []byte, off int64) {
	binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(off))
}

// PutLeaderEpoch overwrites the partitionLeaderEpoch field of the batch at
// b[0:]; the field is not covered by the CRC. It panics if len(b) < 16.
func PutLeaderEpoch(b []byte, e int32) {
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(e))
}

// SetLogAppendTime stamps the batch at b[0:] with the broker append time ts
// (Unix milliseconds), as Kafka does for a LogAppendTime topic: it sets
// attribute bit 3, sets maxTimestamp to ts and recomputes the CRC (over
// [21, end) as ComputeCRC). Readers then report ts as every record's
// timestamp. It panics if len(b) < BatchHeaderSize.
func SetLogAppendTime(b []byte, ts int64) {
	_ = b[BatchHeaderSize-1]
	attrs := binary.BigEndian.Uint16(b[offAttributes:]) | uint16(AttrLogAppendTime)
	binary.BigEndian.PutUint16(b[offAttributes:], attrs)
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(ts))
	binary.BigEndian.PutUint32(b[offCRC:], ComputeCRC(b))
}

// PutBatchHeader writes h into the 61-byte header of the batch at b[0:]
// and then the CRC-32C over the rest of the batch (attributes to the end
// given by h.Length, whose records section must already be in place);
// h.CRC is ignored. It is how an encoder that writes records straight into
// a batch buffer (the producer's accumulator) finishes the batch. It does
// not allocate, and panics if b is shorter than LogOverhead + h.Length.
func PutBatchHeader(b []byte, h BatchHeader) {
	b = b[:LogOverhead+int(h.Length)]
	binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(h.BaseOffset))
	binary.BigEndian.PutUint32(b[offLength:], uint32(h.Length))
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(h.LeaderEpoch))
	b[offMagic] = byte(h.Magic)
	binary.BigEndian.PutUint16(b[offAttributes:], uint16(h.Attributes))
	binary.BigEndian.PutUint32(b[offLastOffsetDelta:], uint32(h.LastOffsetDelta))
	binary.BigEndian.PutUint64(b[offBaseTimestamp:], uint64(h.BaseTimestamp))
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(h.MaxTimestamp))
	binary.BigEndian.PutUint64(b[offProducerID:], uint64(h.ProducerID))
	binary.BigEndian.PutUint16(b[offProducerEpoch:], uint16(h.ProducerEpoch))
	binary.BigEndian.PutUint32(b[offBaseSequence:], uint32(h.BaseSequence))
	binary.BigEndian.PutUint32(b[offNumRecords:], uint32(h.NumRecords))
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
}

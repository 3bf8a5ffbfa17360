package record

import (
	"errors"
	"fmt"
)

// ErrCorrupt reports a structurally invalid batch: a bad length, count,
// varint, CRC, magic byte, codec or compressed stream. Every decoding error
// caused by the bytes themselves matches errors.Is(err, ErrCorrupt); the more
// specific ErrTruncated and ErrCRC match it too.
var ErrCorrupt = errors.New("record: corrupt batch")

// ErrTruncated reports input shorter than the batch it starts (fewer than 61
// header bytes, or fewer bytes than the batch length field announces). It
// matches ErrCorrupt: a torn write at the tail of a log looks like this.
var ErrTruncated error = &kindError{msg: "record: truncated batch", parent: ErrCorrupt}

// ErrCRC reports a CRC-32C mismatch over bytes [21, Size) of a batch. It
// matches ErrCorrupt.
var ErrCRC error = &kindError{msg: "record: crc mismatch", parent: ErrCorrupt}

// ErrUnsupportedMagic reports a batch whose magic byte (offset 16) is not 2.
// When returned while parsing a batch it also matches ErrCorrupt, because this
// package only ever writes magic 2.
var ErrUnsupportedMagic = errors.New("record: unsupported magic")

// ErrUnknownCompression reports a codec outside none, gzip, snappy, lz4 and
// zstd, either from ParseCompression or from a batch's attributes (in which
// case the error also matches ErrCorrupt).
var ErrUnknownCompression = errors.New("record: unknown compression")

// ErrTooLarge reports a batch that exceeds a size limit: an encoded batch
// longer than math.MaxInt32 bytes, or a compressed records section that decompresses
// to more than Decoder.MaxDecompressedSize. It does not match ErrCorrupt.
var ErrTooLarge = errors.New("record: batch too large")

// ErrInvalidOptions reports BatchOptions that cannot be encoded, for example
// producer fields set without Idempotent, or a negative producer ID with it.
var ErrInvalidOptions = errors.New("record: invalid batch options")

// ErrEmptyBatch is returned by Encoder.AppendBatch when given no records:
// Kafka clients never write an empty batch.
var ErrEmptyBatch = errors.New("record: empty batch")

// kindError is a sentinel that also matches a parent sentinel.
type kindError struct {
	msg    string
	parent error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.parent }

// corruptf returns an error matching ErrCorrupt with detail.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// kindf returns an error matching kind (and whatever kind matches) with detail.
func kindf(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{kind}, args...)...)
}

// corruptKindf returns an error matching both ErrCorrupt and kind.
func corruptKindf(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %w: "+format, append([]any{ErrCorrupt, kind}, args...)...)
}

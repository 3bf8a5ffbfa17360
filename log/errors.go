package log

import (
	"errors"
	"fmt"
)

// ErrCorrupt is matched (errors.Is) by every error reporting damaged data
// that recovery must not repair: invalid bytes below the recovery point or
// in a sealed segment, segments whose offsets overlap, a log that ends below
// its recovery point, a damaged checkpoint file. Such errors are usually a
// *CorruptError naming the file and the byte position; they also match
// whatever the cause matches (segment.ErrCorrupt, record.ErrCRC, ...).
var ErrCorrupt = errors.New("log: corrupt data")

// ErrOffsetOutOfRange is returned by reads before the log start offset or
// past the log end offset (Kafka's OFFSET_OUT_OF_RANGE).
var ErrOffsetOutOfRange = errors.New("log: offset out of range")

// ErrClosed is returned by every operation on a log after Close (Close
// itself excepted).
var ErrClosed = errors.New("log: closed")

// ErrFailed is matched by the error of every Append, Sync, Roll,
// MaybeFlush, ApplyRetention and Close after an fsync of the log failed:
// the kernel may have dropped the unsynced pages, so nothing written since
// the last successful sync can be reported durable again. The error also
// wraps the failed sync's cause. Reads still work. Reopen the log to
// recover: data past the last successful sync is validated again.
var ErrFailed = errors.New("log: failed after an fsync error")

// ErrInvalidBatch is returned by Append for bytes that are not exactly one
// valid magic-v2 record batch; it also wraps the record package's error.
var ErrInvalidBatch = errors.New("log: invalid batch")

// CorruptError locates damage found while opening a log. It matches
// ErrCorrupt and whatever Err matches.
type CorruptError struct {
	// File is the path of the damaged file.
	File string
	// Position is the byte position in File where the damage starts, -1
	// when it concerns the whole file.
	Position int64
	// Err says what is wrong.
	Err error
}

// Error implements error.
func (e *CorruptError) Error() string {
	if e.Position < 0 {
		return fmt.Sprintf("log: corrupt %s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("log: corrupt %s at byte %d: %v", e.File, e.Position, e.Err)
}

// Unwrap returns ErrCorrupt and the cause, for errors.Is and errors.As.
func (e *CorruptError) Unwrap() []error { return []error{ErrCorrupt, e.Err} }

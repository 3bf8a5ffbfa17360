package segment

import (
	"errors"
	"fmt"

	"github.com/samsalog/samsa/record"
)

// ErrCorrupt reports bytes in a segment's .log that are not a valid batch
// where one is expected: a bad length, magic byte or CRC, offsets that do not
// increase, a batch that runs past the end of the file. Every such error
// matches both errors.Is(err, ErrCorrupt) and errors.Is(err,
// record.ErrCorrupt), and is usually a *CorruptError naming the file and the
// byte position.
var ErrCorrupt error = &sentinel{msg: "segment: corrupt data", also: record.ErrCorrupt}

// ErrSealed is returned by Append on a segment that was sealed (it is no
// longer the active segment of its log).
var ErrSealed = errors.New("segment: sealed")

// ErrFull is returned by Append when the batch does not fit: one of the
// indexes is full, the batch's last offset does not fit the 32-bit relative
// offset of the indexes, or the .log would pass 2 GiB (index positions are
// 32-bit). The log rolls a new segment before this happens (see CanFit).
var ErrFull = errors.New("segment: full")

// ErrClosed is returned by every operation on a segment after Close or
// Delete.
var ErrClosed = errors.New("segment: closed")

// ErrInUse is returned by Recover on a sealed segment that readers have
// already mapped: recovery rebuilds indexes and is a step of opening a log,
// before anyone reads.
var ErrInUse = errors.New("segment: in use")

// ErrBadBatch is returned by Append for a batch whose bytes do not agree with
// its header or with the segment: size mismatch, or a base offset other
// than the segment's next offset (batches are contiguous until compaction
// exists). It is a caller bug, not damage on disk.
var ErrBadBatch = errors.New("segment: bad batch")

// sentinel is an error value that also matches another sentinel.
type sentinel struct {
	msg  string
	also error
}

func (e *sentinel) Error() string        { return e.msg }
func (e *sentinel) Is(target error) bool { return target == e.also }

// CorruptError locates damage in a .log file. It matches ErrCorrupt (and so
// record.ErrCorrupt) and whatever its Err matches (for example
// record.ErrTruncated for a batch cut short by the end of the file, or
// record.ErrCRC).
type CorruptError struct {
	// File is the path of the .log file.
	File string
	// Position is the byte position of the batch that failed validation.
	Position int64
	// Err says why.
	Err error
}

// Error implements error.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("segment: corrupt data in %s at byte %d: %v", e.File, e.Position, e.Err)
}

// Unwrap returns ErrCorrupt and the cause, for errors.Is and errors.As.
func (e *CorruptError) Unwrap() []error { return []error{ErrCorrupt, e.Err} }

func corruptAt(file string, pos int64, err error) error {
	return &CorruptError{File: file, Position: pos, Err: err}
}

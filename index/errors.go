package index

import "errors"

// Errors returned by the index package. Each is matched with errors.Is; the
// returned error usually wraps it with the file name and the values involved.
var (
	// ErrCorruptIndex is returned by SanityCheck when an index file's
	// contents cannot be trusted: its size is not a whole number of
	// entries, or its entries do not strictly increase. The index is a
	// cache: the caller rebuilds it from the log (Reset, then Append).
	ErrCorruptIndex = errors.New("index: corrupt index")

	// ErrIndexFull is returned by Append and MaybeAppend when no slot is
	// left. Callers roll the segment when IsFull reports true, before this
	// can happen.
	ErrIndexFull = errors.New("index: index full")

	// ErrNotIncreasing is returned by Append when the offset or position is
	// not greater than the last entry's (or the position is 0, the implicit
	// entry of the segment's first batch), and by MaybeAppend when the
	// offset is smaller than the last entry's.
	ErrNotIncreasing = errors.New("index: entry not increasing")

	// ErrOutOfRange is returned by Append and MaybeAppend when an offset is
	// below the base offset or more than 2^32-1 above it, or a position is
	// negative or above 2^32-1: it does not fit the file's 32-bit fields.
	ErrOutOfRange = errors.New("index: offset or position out of range")

	// ErrReadOnly is returned by Append and MaybeAppend on a sealed index
	// (opened with writable=false, or after Seal).
	ErrReadOnly = errors.New("index: index is sealed")

	// ErrClosed is returned by every method that needs the file after
	// Close.
	ErrClosed = errors.New("index: index closed")
)

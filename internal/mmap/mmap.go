// Package mmap maps files read-only into memory.
//
// A mapping may be longer than its file: the pages past the end of the
// file must never be touched (that is a SIGBUS), so callers keep their own
// bound of what is readable and grow it only after the bytes are written
// through the file. Writes never go through a mapping, so a full disk is an
// ENOSPC from write(2), never a SIGBUS.
package mmap

import "errors"

// ErrUnsupported is returned on platforms without mmap.
var ErrUnsupported = errors.New("mmap: not supported on this platform")

// pageSize rounds lengths; mappings of length 0 are represented by nil.
const pageSize = 4096

// RoundUp rounds n up to a multiple of the page size.
func RoundUp(n int) int { return (n + pageSize - 1) &^ (pageSize - 1) }

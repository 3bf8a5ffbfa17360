// Package mmap maps files read-only into memory.
//
// A mapping may be longer than its file: the pages past the end of the
// file must never be touched (that is a SIGBUS), so callers keep their own
// bound of what is readable and grow it only after the bytes are written
// through the file. Writes never go through a mapping, so a full disk is an
// ENOSPC from write(2), never a SIGBUS.
//
// Unix only: the package has no fallback for other platforms.
package mmap

//go:build !linux

package fs

import "os"

// datasync is fsync where fdatasync is not offered (darwin's fsync is what
// Go's (*os.File).Sync does: F_FULLFSYNC).
func datasync(f *os.File) error { return f.Sync() }

// allocate is a no-op where fallocate is missing; writes still report ENOSPC.
func allocate(*os.File, int64, int64) error { return nil }

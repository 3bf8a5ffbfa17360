//go:build !linux

package fs

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// datasync is fsync where fdatasync is not offered (darwin's fsync is what
// Go's (*os.File).Sync does: F_FULLFSYNC).
func datasync(f *os.File) error { return f.Sync() }

// allocate is a no-op where fallocate is missing; writes still report ENOSPC.
func allocate(*os.File, int64, int64) error { return nil }

func wrapNoSpace(err error) error {
	if err != nil && errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return err
}

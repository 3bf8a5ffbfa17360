//go:build unix

package mmap

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Map maps length bytes of the file fd, from offset 0, read-only and
// shared. A length of 0 returns nil, nil.
func Map(fd uintptr, length int) ([]byte, error) {
	if length <= 0 {
		return nil, nil
	}
	b, err := unix.Mmap(int(fd), 0, length, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap: map %d bytes: %w", length, err)
	}
	return b, nil
}

// Unmap releases a mapping returned by Map. Unmapping nil is a no-op.
func Unmap(b []byte) error {
	if b == nil {
		return nil
	}
	if err := unix.Munmap(b); err != nil {
		return fmt.Errorf("mmap: unmap: %w", err)
	}
	return nil
}

// Random advises the kernel that b is read at random (madvise
// MADV_RANDOM): a fault reads only the page it needs, no readahead window.
// Indexes are binary searched, so readahead only zero-fills or reads pages
// nobody looks at.
func Random(b []byte) {
	if len(b) > 0 {
		_ = unix.Madvise(b, unix.MADV_RANDOM)
	}
}

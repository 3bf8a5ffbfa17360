package index

import (
	"golang.org/x/sys/unix"

	"github.com/samsalog/samsa/internal/fs"
)

// dataEnd returns an offset of f (of size bytes) past which the file holds
// only holes, which read as zeros: the start of the first hole when no data
// follows it (SEEK_HOLE, SEEK_DATA). ok is false when the filesystem cannot
// tell or data follows the first hole; the caller then searches the whole
// file. A hint to bound a search, never the end itself: the end of an index
// is found from its contents.
func dataEnd(f fs.File, size int64) (end int64, ok bool) {
	fd := int(f.Fd())
	hole, err := unix.Seek(fd, 0, unix.SEEK_HOLE)
	if err != nil || hole < 0 || hole > size {
		return 0, false
	}
	if hole == size {
		return size, true
	}
	if _, err := unix.Seek(fd, hole, unix.SEEK_DATA); err != unix.ENXIO {
		return 0, false // data after the hole (or no answer)
	}
	return hole, true
}

// adviseRandom tells the kernel that f is read at random (no readahead),
// for the probes of the search for the end.
func adviseRandom(f fs.File) {
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_RANDOM)
}

package samsa

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/samsalog/samsa/internal/flock"
)

// lockFileName is the file in a data directory that a Broker holds an
// exclusive flock(2) on while it has the directory open.
const lockFileName = ".lock"

// lockDir takes the exclusive lock of the data directory dir, without
// waiting. If another Broker holds it, from this process or another, the
// error matches ErrDirLocked and names the holder's pid when known; Open
// must fail then before touching any other file. The kernel drops the lock
// when the process dies, so a crash never leaves the directory locked.
func lockDir(dir string) (*flock.Lock, error) {
	l, err := flock.Acquire(filepath.Join(dir, lockFileName))
	if errors.Is(err, flock.ErrLocked) {
		return nil, fmt.Errorf("%w: %w", ErrDirLocked, err)
	}
	if err != nil {
		return nil, fmt.Errorf("samsa: lock data directory %s: %w", dir, err)
	}
	return l, nil
}

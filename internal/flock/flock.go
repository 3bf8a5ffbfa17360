// Package flock takes an exclusive, non-blocking advisory lock on a file
// with flock(2), the way a samsa Broker claims its data directory.
//
// The lock belongs to the open file description, so it conflicts with any
// other flock of the same file: from another process, and from this process
// through a second open(2) of the file (Linux and Darwin both behave so).
// The kernel drops it when the file is closed, and therefore when the
// holding process dies, even by SIGKILL: a lock file is never stale, and
// its existence means nothing; only the lock on it does.
//
// The holder writes its process id into the file, for humans and for the
// error of whoever is refused.
package flock

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// ErrLocked is returned by Acquire when another holder, in this process or
// another, has the lock.
var ErrLocked = errors.New("flock: already locked")

// ErrUnsupported is returned by Acquire on platforms without flock(2).
var ErrUnsupported = errors.New("flock: not supported on this platform")

// Lock is a held lock. Release it once; it is safe for concurrent use.
type Lock struct {
	mu sync.Mutex
	f  *os.File
}

// Acquire creates path if needed and takes an exclusive lock on it without
// waiting. A lock held elsewhere is an error matching ErrLocked whose
// message names the holder's process id when the file records one.
func Acquire(path string) (*Lock, error) {
	// os.OpenFile sets O_CLOEXEC: a child we exec never inherits the lock.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("flock: %w", err)
	}
	if err := lockFile(f); err != nil {
		if errors.Is(err, ErrLocked) {
			err = fmt.Errorf("%w: %s%s", ErrLocked, path, holder(f))
		} else {
			err = fmt.Errorf("flock: lock %s: %w", path, err)
		}
		_ = f.Close()
		return nil, err
	}
	// Record who holds it. Best effort: the lock, not the content, is what
	// excludes others.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// holder describes the process id recorded in a lock file, or "".
func holder(f *os.File) string {
	var buf [32]byte
	n, _ := f.ReadAt(buf[:], 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil || pid <= 0 {
		return ""
	}
	return " (held by pid " + strconv.Itoa(pid) + ")"
}

// Release drops the lock and closes the file. The file is left in place:
// removing it would let a third party lock a new file of the same name
// while a second one still waits on the old one. Releasing twice is a
// no-op.
func (l *Lock) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	// Closing the only descriptor of the open file description releases
	// the lock; unlocking first makes that explicit.
	err := unlockFile(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("flock: %w", cerr)
	}
	return err
}

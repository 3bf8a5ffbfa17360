// Package fs is the filesystem seam of samsa: every file the storage layers
// open, write, sync, rename or delete goes through an FS, so that tests can
// inject faults (a failed fsync, a full disk) without touching the real
// machine. Default is the operating system.
//
// Durability helpers live here too: Sync is fdatasync where the platform has
// it, SyncDir makes a rename or a create durable, and WriteFileAtomic is the
// one way metadata files are replaced (temp file, fsync, rename, fsync dir).
package fs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// ErrNoSpace is matched (errors.Is) by any error caused by a full disk
// (ENOSPC) from a write, an allocation or a sync.
var ErrNoSpace = errors.New("fs: no space left on device")

// File is an open file. It is what *os.File offers, plus Sync as fdatasync
// and Allocate as fallocate.
type File interface {
	io.ReaderAt
	io.WriterAt
	io.Writer
	io.Closer
	// Name returns the path the file was opened with.
	Name() string
	// Stat returns the file's metadata.
	Stat() (os.FileInfo, error)
	// Truncate changes the file's size.
	Truncate(size int64) error
	// Sync flushes the file's data (and the metadata needed to read it
	// back, such as its size) to stable storage: fdatasync on Linux.
	Sync() error
	// Allocate reserves disk space for [off, off+n) without changing the
	// file's size, so that later writes there do not fail for lack of
	// space. A full disk is an error matching ErrNoSpace. Where the
	// platform cannot reserve space it is a no-op.
	Allocate(off, n int64) error
	// Fd returns the file descriptor, for mmap.
	Fd() uintptr
}

// FS is a filesystem. Paths are the operating system's.
type FS interface {
	// OpenFile opens a file as os.OpenFile does.
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// RemoveAll removes a path and everything below it.
	RemoveAll(name string) error
	// Rename renames a file, replacing the target atomically.
	Rename(oldpath, newpath string) error
	// MkdirAll creates a directory and its parents.
	MkdirAll(path string, perm os.FileMode) error
	// ReadDir lists a directory sorted by name.
	ReadDir(name string) ([]os.DirEntry, error)
	// Stat returns a file's metadata.
	Stat(name string) (os.FileInfo, error)
	// SyncDir makes the creations, removals and renames done in a
	// directory durable.
	SyncDir(name string) error
}

// Default is the operating system's filesystem.
var Default FS = osFS{}

// Or returns fsys, or Default when fsys is nil.
func Or(fsys FS) FS {
	if fsys == nil {
		return Default
	}
	return fsys
}

type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, wrapNoSpace(err)
	}
	return osFile{f}, nil
}

func (osFS) Remove(name string) error             { return os.Remove(name) }
func (osFS) RemoveAll(name string) error          { return os.RemoveAll(name) }
func (osFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }
func (osFS) MkdirAll(path string, perm os.FileMode) error {
	return wrapNoSpace(os.MkdirAll(path, perm))
}
func (osFS) ReadDir(name string) ([]os.DirEntry, error) { return os.ReadDir(name) }
func (osFS) Stat(name string) (os.FileInfo, error)      { return os.Stat(name) }

func (osFS) SyncDir(name string) error {
	d, err := os.Open(name)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return wrapNoSpace(err)
}

type osFile struct{ *os.File }

func (f osFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(p, off)
	return n, wrapNoSpace(err)
}

func (f osFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	return n, wrapNoSpace(err)
}

func (f osFile) Sync() error { return wrapNoSpace(datasync(f.File)) }

func (f osFile) Allocate(off, n int64) error { return wrapNoSpace(allocate(f.File, off, n)) }

// wrapNoSpace makes an ENOSPC error also match ErrNoSpace.
func wrapNoSpace(err error) error {
	if err != nil && errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return err
}

// WriteFileAtomic replaces path with data so that a crash at any point
// leaves either the old file or the new one: it writes a temporary file
// beside it, syncs it, renames it over path and syncs the directory.
func WriteFileAtomic(fsys FS, path string, data []byte) error {
	fsys = Or(fsys)
	tmp := path + ".tmp"
	f, err := fsys.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(tmp, path)
	}
	if err != nil {
		_ = fsys.Remove(tmp)
		return err
	}
	return fsys.SyncDir(filepath.Dir(path))
}

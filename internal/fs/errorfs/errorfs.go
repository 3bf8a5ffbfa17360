// Package errorfs wraps an fs.FS and fails chosen operations, for tests of
// what the storage layers do when the disk says no: a failed fsync, a full
// disk, a rename that does not happen.
package errorfs

import (
	"errors"
	"os"
	"sync"

	"github.com/samsalog/samsa/internal/fs"
)

// Op names an operation that can be failed.
type Op string

// The operations an Injector is asked about.
const (
	OpOpen     Op = "open"
	OpWrite    Op = "write" // Write and WriteAt
	OpRead     Op = "read"  // ReadAt
	OpSync     Op = "sync"  // File.Sync
	OpAllocate Op = "allocate"
	OpTruncate Op = "truncate"
	OpRemove   Op = "remove" // Remove and RemoveAll
	OpRename   Op = "rename"
	OpSyncDir  Op = "syncdir"
	OpMkdir    Op = "mkdir"
)

// ErrInjected is the error returned by an injected failure unless the
// Injector returns one of its own.
var ErrInjected = errors.New("errorfs: injected failure")

// Injector decides whether op on path fails: a nil return lets it through.
type Injector func(op Op, path string) error

// FS is an fs.FS whose operations first ask an Injector. The injector can
// be swapped at any time; FS is safe for concurrent use.
type FS struct {
	base fs.FS
	mu   sync.Mutex
	inj  Injector
}

// New wraps base (nil: the OS) with no failures injected yet.
func New(base fs.FS) *FS { return &FS{base: fs.Or(base)} }

// SetInjector replaces the injector; nil stops injecting.
func (e *FS) SetInjector(inj Injector) {
	e.mu.Lock()
	e.inj = inj
	e.mu.Unlock()
}

// FailOnce returns an Injector that fails the first op on any path with err
// (ErrInjected if nil) and lets everything else through.
func FailOnce(op Op, err error) Injector {
	if err == nil {
		err = ErrInjected
	}
	var once sync.Once
	return func(o Op, _ string) error {
		var fail error
		if o == op {
			once.Do(func() { fail = err })
		}
		return fail
	}
}

// FailAlways returns an Injector that fails every op with err (ErrInjected
// if nil).
func FailAlways(op Op, err error) Injector {
	if err == nil {
		err = ErrInjected
	}
	return func(o Op, _ string) error {
		if o == op {
			return err
		}
		return nil
	}
}

func (e *FS) check(op Op, path string) error {
	e.mu.Lock()
	inj := e.inj
	e.mu.Unlock()
	if inj == nil {
		return nil
	}
	return inj(op, path)
}

// OpenFile implements fs.FS.
func (e *FS) OpenFile(name string, flag int, perm os.FileMode) (fs.File, error) {
	if err := e.check(OpOpen, name); err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	f, err := e.base.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &file{File: f, fs: e}, nil
}

// Remove implements fs.FS.
func (e *FS) Remove(name string) error {
	if err := e.check(OpRemove, name); err != nil {
		return err
	}
	return e.base.Remove(name)
}

// RemoveAll implements fs.FS.
func (e *FS) RemoveAll(name string) error {
	if err := e.check(OpRemove, name); err != nil {
		return err
	}
	return e.base.RemoveAll(name)
}

// Rename implements fs.FS.
func (e *FS) Rename(oldpath, newpath string) error {
	if err := e.check(OpRename, oldpath); err != nil {
		return err
	}
	return e.base.Rename(oldpath, newpath)
}

// MkdirAll implements fs.FS.
func (e *FS) MkdirAll(path string, perm os.FileMode) error {
	if err := e.check(OpMkdir, path); err != nil {
		return err
	}
	return e.base.MkdirAll(path, perm)
}

// ReadDir implements fs.FS.
func (e *FS) ReadDir(name string) ([]os.DirEntry, error) { return e.base.ReadDir(name) }

// Stat implements fs.FS.
func (e *FS) Stat(name string) (os.FileInfo, error) { return e.base.Stat(name) }

// SyncDir implements fs.FS.
func (e *FS) SyncDir(name string) error {
	if err := e.check(OpSyncDir, name); err != nil {
		return err
	}
	return e.base.SyncDir(name)
}

type file struct {
	fs.File
	fs *FS
}

func (f *file) WriteAt(p []byte, off int64) (int, error) {
	if err := f.fs.check(OpWrite, f.Name()); err != nil {
		return 0, err
	}
	return f.File.WriteAt(p, off)
}

func (f *file) Write(p []byte) (int, error) {
	if err := f.fs.check(OpWrite, f.Name()); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if err := f.fs.check(OpRead, f.Name()); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

func (f *file) Sync() error {
	if err := f.fs.check(OpSync, f.Name()); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *file) Allocate(off, n int64) error {
	if err := f.fs.check(OpAllocate, f.Name()); err != nil {
		return err
	}
	return f.File.Allocate(off, n)
}

func (f *file) Truncate(size int64) error {
	if err := f.fs.check(OpTruncate, f.Name()); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

//go:build !(linux || darwin)

package flock

import "os"

func lockFile(*os.File) error { return ErrUnsupported }

func unlockFile(*os.File) error { return nil }

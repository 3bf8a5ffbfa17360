//go:build linux || darwin

package samsa

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const envLockDirHelper = "SAMSA_LOCKDIR_HELPER"

// TestLockDirHelperProcess is not a test: TestLockDirOtherProcess runs the
// test binary again with it, to lock a directory from another process. It
// exits 0 if it got the lock, 3 if it was refused with ErrDirLocked, 4 on
// any other error.
func TestLockDirHelperProcess(t *testing.T) {
	dir := os.Getenv(envLockDirHelper)
	if dir == "" {
		t.Skip("helper process for TestLockDirOtherProcess")
	}
	l, err := lockDir(dir)
	switch {
	case errors.Is(err, ErrDirLocked):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(4)
	}
	_ = l.Release()
	os.Exit(0)
}

func lockDirInChild(t *testing.T, dir string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockDirHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envLockDirHelper+"="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), stderr.String()
	}
	require.NoError(t, err)
	return 0, stderr.String()
}

func TestLockDirSameProcess(t *testing.T) {
	dir := t.TempDir()
	l, err := lockDir(dir)
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(dir, ".lock"))

	_, err = lockDir(dir)
	require.ErrorIs(t, err, ErrDirLocked, "a second lock from this process fails at once")
	require.Contains(t, err.Error(), "samsa: data directory is locked by another broker")
	require.Contains(t, err.Error(), filepath.Join(dir, ".lock"))
	require.Contains(t, err.Error(), "held by pid "+strconv.Itoa(os.Getpid()))

	require.NoError(t, l.Release())
	l, err = lockDir(dir)
	require.NoError(t, err)
	require.NoError(t, l.Release())
}

func TestLockDirOtherProcess(t *testing.T) {
	dir := t.TempDir()
	l, err := lockDir(dir)
	require.NoError(t, err)
	code, stderr := lockDirInChild(t, dir)
	require.Equal(t, 3, code, "the child must be refused with ErrDirLocked; stderr: %s", stderr)
	require.Contains(t, stderr, "samsa: data directory is locked by another broker")

	require.NoError(t, l.Release())
	code, stderr = lockDirInChild(t, dir)
	require.Equal(t, 0, code, "stderr: %s", stderr)
}

func TestLockDirMissing(t *testing.T) {
	_, err := lockDir(filepath.Join(t.TempDir(), "missing"))
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrDirLocked)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.Contains(t, err.Error(), "samsa: lock data directory")
}

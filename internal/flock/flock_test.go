//go:build linux || darwin

package flock_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/flock"
)

// Exit codes of the helper process.
const (
	exitAcquired = 0
	exitLocked   = 3
	exitOther    = 4
)

const (
	envPath = "SAMSA_FLOCK_HELPER_PATH"
	envHold = "SAMSA_FLOCK_HELPER_HOLD"
)

// TestHelperProcess is not a test: the tests below run the test binary again
// with -test.run=TestHelperProcess and the path to lock in the environment.
// The child tries to lock the path and exits exitAcquired, exitLocked or
// exitOther. With envHold set it instead prints "locked" once it holds the
// lock and waits for its stdin to close (or to be killed).
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(envPath)
	if path == "" {
		t.Skip("helper process for the cross-process tests")
	}
	l, err := flock.Acquire(path)
	switch {
	case errors.Is(err, flock.ErrLocked):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(exitLocked)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(exitOther)
	}
	if os.Getenv(envHold) != "" {
		fmt.Println("locked")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	}
	if err := l.Release(); err != nil {
		os.Exit(exitOther)
	}
	os.Exit(exitAcquired)
}

func helper(path string, hold bool) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envPath+"="+path)
	if hold {
		cmd.Env = append(cmd.Env, envHold+"=1")
	}
	return cmd
}

// runHelper runs a child that tries to lock path once and returns its exit
// code and stderr.
func runHelper(t *testing.T, path string) (int, string) {
	t.Helper()
	cmd := helper(path, false)
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

func TestAcquireRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	l, err := flock.Acquire(path)
	require.NoError(t, err)

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(os.Getpid())+"\n", string(data))

	require.NoError(t, l.Release())
	require.NoError(t, l.Release(), "second Release is a no-op")

	_, err = os.Stat(path)
	require.NoError(t, err, "the lock file stays in place")

	l2, err := flock.Acquire(path)
	require.NoError(t, err, "a released lock can be taken again")
	require.NoError(t, l2.Release())
}

func TestSameProcessConflicts(t *testing.T) {
	// flock belongs to the open file description, so a second open of the
	// same file in this very process conflicts with the first.
	path := filepath.Join(t.TempDir(), ".lock")
	l, err := flock.Acquire(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Release() })

	for i := range 3 {
		_, err := flock.Acquire(path)
		require.ErrorIs(t, err, flock.ErrLocked, "attempt %d", i)
		require.Contains(t, err.Error(), path)
		require.Contains(t, err.Error(), "held by pid "+strconv.Itoa(os.Getpid()))
	}
	// A refused attempt must not have disturbed the holder's record.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(os.Getpid())+"\n", string(data))
}

func TestAcquireMissingDir(t *testing.T) {
	_, err := flock.Acquire(filepath.Join(t.TempDir(), "nope", ".lock"))
	require.Error(t, err)
	require.NotErrorIs(t, err, flock.ErrLocked)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestOtherProcessConflicts(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")

	code, stderr := runHelper(t, path)
	require.Equal(t, exitAcquired, code, "free lock: child should acquire it; stderr: %s", stderr)

	l, err := flock.Acquire(path)
	require.NoError(t, err)
	code, stderr = runHelper(t, path)
	require.Equal(t, exitLocked, code, "held lock: child must be refused at once; stderr: %s", stderr)
	require.Contains(t, stderr, "held by pid "+strconv.Itoa(os.Getpid()))

	require.NoError(t, l.Release())
	code, stderr = runHelper(t, path)
	require.Equal(t, exitAcquired, code, "released lock: child should acquire it; stderr: %s", stderr)
}

func TestChildHoldsThenDies(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	cmd := helper(path, true)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)

	_, err = flock.Acquire(path)
	require.ErrorIs(t, err, flock.ErrLocked)
	require.Contains(t, err.Error(), "held by pid "+strconv.Itoa(cmd.Process.Pid))

	// SIGKILL: no chance to clean up. The kernel releases the lock with the
	// process's files, so the lock file left behind is not stale.
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	l, err := flock.Acquire(path)
	require.NoError(t, err)
	require.NoError(t, l.Release())
}

package crashtest

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
)

// Environment of a child process, set by Start.
const (
	// ChildEnv names the child's test function: AsChild runs only in
	// the test it names.
	ChildEnv = "SAMSA_CRASHTEST_CHILD"
	// DirEnv is Config.Dir.
	DirEnv = "SAMSA_CRASHTEST_DIR"
	// SeedEnv is Config.Seed, in decimal.
	SeedEnv = "SAMSA_CRASHTEST_SEED"
)

// reportFD is the child's file descriptor of the report pipe: the first
// of exec.Cmd.ExtraFiles.
const reportFD = 3

// Child is the child process's side: what the parent passed, and the
// report pipe. It is safe for concurrent use: each Reportf is one
// write(2), atomic on a pipe up to PIPE_BUF (4 KiB on Linux) bytes.
type Child struct {
	// Dir is Config.Dir of the parent.
	Dir string
	// Seed is Config.Seed of the parent.
	Seed uint64

	reports *os.File
}

// AsChild returns the child's side when this process is a child that
// Start started for t's test function. Otherwise it skips t at once: the
// function is a helper process, not a test, and the skip is expected
// when the whole package's tests run. A malformed environment fails t.
func AsChild(t testing.TB) *Child {
	t.Helper()
	if os.Getenv(ChildEnv) != t.Name() {
		t.Skip("helper process of a crash test; runs only as a child started by crashtest.Start")
	}
	seed, err := strconv.ParseUint(os.Getenv(SeedEnv), 10, 64)
	if err != nil {
		t.Fatalf("crashtest: %s: %v", SeedEnv, err)
	}
	return &Child{Dir: os.Getenv(DirEnv), Seed: seed, reports: os.NewFile(reportFD, "reports")}
}

// Reportf sends the parent one line, format and args as with fmt.Sprintf
// with a newline added, in one write(2), so that a report reaches the
// parent whole or not at all. Report only what has happened: the parent
// may kill the child as soon as the line arrives. Reportf panics when the
// write fails, which means the parent is gone.
func (c *Child) Reportf(format string, args ...any) {
	line := fmt.Appendf(nil, format, args...)
	line = append(line, '\n')
	if _, err := c.reports.Write(line); err != nil {
		panic(fmt.Sprintf("crashtest: report: %v", err)) // the parent is gone
	}
}

// WaitForKill waits for the parent's SIGKILL and does not return. Should
// the parent die first, its end of the child's stdin closes and the child
// exits with status 3, which the parent (if any) counts as a failure.
func (c *Child) WaitForKill() {
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(3)
}

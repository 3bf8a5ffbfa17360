package crashtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Errors of Process.Kill and Process.KillAfter. They come wrapped, with
// the child's output.
var (
	// ErrNotKilled means the child ended by itself, not by the SIGKILL
	// of Kill: it failed, or ran out of work without WaitForKill.
	ErrNotKilled = errors.New("crashtest: the child ended by itself, not by our SIGKILL")
	// ErrDataRace means the race detector reported a data race in the
	// child.
	ErrDataRace = errors.New("crashtest: the race detector found a data race in the child")
	// ErrNoReport means KillAfter's trigger did not fire within
	// ReportTimeout; the child was killed all the same.
	ErrNoReport = errors.New("crashtest: the child did not report in time")
)

// ReportTimeout is how long KillAfter waits for its trigger.
const ReportTimeout = 2 * time.Minute

// Config is what Start needs to start a child.
type Config struct {
	// Test is the name of the child's test function, in the test
	// binary that calls Start. Required.
	Test string
	// Dir is passed to the child as Child.Dir.
	Dir string
	// Seed is passed to the child as Child.Seed.
	Seed uint64
	// Env holds more KEY=value variables for the child, on top of this
	// process's environment.
	Env []string
	// Report, if not nil, is called with each line the child reports,
	// without its newline, in order, on a goroutine of the Process. An
	// error stops the reading (Kill returns it). It is never called
	// after Kill has returned, and everything it did happens before
	// Kill returns.
	Report func(line string) error
}

// Process is a running child, seen from the parent. Its methods are safe
// for concurrent use.
type Process struct {
	cmd        *exec.Cmd
	stdin      io.Closer
	reports    *os.File
	output     bytes.Buffer
	exited     chan struct{}
	waitErr    error
	readerDone chan error

	killOnce sync.Once
	killErr  error
}

// Start starts the test binary again as a child that runs only
// cfg.Test, with cfg's directory, seed and environment, and reads its
// reports. It fails t if the child cannot be started. Until it is
// killed, the child's stdin stays open on a pipe from this process; should
// the test end before Kill, a cleanup of t kills it.
func Start(t testing.TB, cfg *Config) *Process {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatalf("crashtest: %v", err)
	}
	p := &Process{
		cmd:        exec.Command(os.Args[0], "-test.run=^"+cfg.Test+"$", "-test.count=1"),
		reports:    pr,
		exited:     make(chan struct{}),
		readerDone: make(chan error, 1),
	}
	p.cmd.Env = append(os.Environ(),
		ChildEnv+"="+cfg.Test,
		DirEnv+"="+cfg.Dir,
		SeedEnv+"="+strconv.FormatUint(cfg.Seed, 10))
	p.cmd.Env = append(p.cmd.Env, cfg.Env...)
	p.cmd.ExtraFiles = []*os.File{pw}
	p.cmd.Stdout, p.cmd.Stderr = &p.output, &p.output
	// The child reads its stdin to EOF: it exits should this process
	// die, which closes the pipe.
	p.stdin, err = p.cmd.StdinPipe()
	if err == nil {
		err = p.cmd.Start()
	}
	_ = pw.Close() // the child's copy is what keeps the pipe open
	if err != nil {
		_ = pr.Close()
		t.Fatalf("crashtest: starting %s: %v", cfg.Test, err)
	}
	go p.read(cfg.Report)
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { _ = p.Kill() })
	return p
}

// read passes the child's reports to report until the pipe closes (the
// child is gone) or report fails, then drains the pipe.
func (p *Process) read(report func(string) error) {
	sc := bufio.NewScanner(p.reports)
	var err error
	for err == nil && sc.Scan() {
		if report != nil {
			err = report(sc.Text())
		}
	}
	if err == nil {
		err = sc.Err()
	}
	_, _ = io.Copy(io.Discard, p.reports)
	p.readerDone <- err
}

// Exited is closed once the child has exited, whatever the cause.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// KillAfter kills the child delay after trigger is closed, or after
// delay at once if trigger is nil. If the child exits first, it does not
// wait further. If trigger is not closed within ReportTimeout, it kills
// the child then and the error includes ErrNoReport. Otherwise it
// returns what Kill returns.
func (p *Process) KillAfter(trigger <-chan struct{}, delay time.Duration) error {
	if trigger != nil {
		timeout := time.NewTimer(ReportTimeout)
		defer timeout.Stop()
		select {
		case <-trigger:
		case <-p.exited:
		case <-timeout.C:
			return p.kill(ErrNoReport)
		}
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-p.exited:
	}
	return p.Kill()
}

// Kill kills the child with SIGKILL unless it has exited already, waits
// for it and for the last of its reports, and checks how it ended. It
// returns an error, with the child's output, if reading the reports
// failed (the error of Config.Report, or of the pipe), if the child did
// not die of this SIGKILL (ErrNotKilled), or if its output has "DATA
// RACE" in it (ErrDataRace). Later calls return the first call's result.
func (p *Process) Kill() error { return p.kill() }

func (p *Process) kill(errs ...error) error {
	p.killOnce.Do(func() {
		killed := false
		select {
		case <-p.exited:
		default:
			killed = true
			// Should the child exit by itself in between, Kill fails
			// with os.ErrProcessDone and the wait status below says it
			// was not our SIGKILL.
			if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
				errs = append(errs, fmt.Errorf("crashtest: kill: %w", err))
			}
			<-p.exited
		}
		if err := <-p.readerDone; err != nil {
			errs = append(errs, fmt.Errorf("crashtest: reports: %w", err))
		}
		_ = p.reports.Close()
		_ = p.stdin.Close()
		ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !killed || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			errs = append(errs, fmt.Errorf("%w (%v)", ErrNotKilled, p.waitErr))
		}
		out := p.output.String()
		if strings.Contains(out, "DATA RACE") {
			errs = append(errs, ErrDataRace)
		}
		if len(errs) > 0 {
			p.killErr = fmt.Errorf("%w\nthe child's output:\n%s", errors.Join(errs...), out)
		}
	})
	return p.killErr
}

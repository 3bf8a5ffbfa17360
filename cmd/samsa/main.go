// Command samsa is a command-line tool over a samsa data directory,
// modelled on Kafka's scripts:
//
//	samsa [--dir DIR] topics   create|list|describe|alter|delete|add-partitions  (kafka-topics)
//	samsa [--dir DIR] produce  --topic T                (kafka-console-producer)
//	samsa [--dir DIR] consume  --topic T                (kafka-console-consumer)
//	samsa [--dir DIR] groups   list|describe|reset-offsets|delete  (kafka-consumer-groups)
//	samsa dump FILE...                                  (kafka-dump-log)
//	samsa [--dir DIR] verify                            (CRCs, offsets, indexes)
//	samsa [--dir DIR] perf                              (kafka-producer-perf-test,
//	                                                     kafka-consumer-perf-test)
//
// The directory comes from --dir (-d) or the environment variable SAMSA_DIR.
// Every command takes --help. Output is meant for people; --json prints one
// JSON document for scripts, except perf, which prints one JSON object a
// line: a progress line every --reporting-interval (5s), as Kafka's perf
// tools do, then the summary. Errors go to stderr.
//
// groups reset-offsets takes Kafka's --to-earliest, --to-latest,
// --to-offset, --shift-by, --to-datetime and --by-duration (ISO-8601
// PnDTnHnMnS or a Go duration), and is a dry run without --execute.
//
// Exit codes: 0 success, 1 failure (including a verification that found
// problems), 2 usage error or a directory locked by another process.
//
// Commands that change a directory open it as a Broker, which takes its lock;
// when another process holds it they fail at once with exit code 2 and
// "samsa: DIR is in use by another process (pid N)". The read-only commands
// (dump, verify, and on a locked directory topics list/describe and consume
// without --group) read the files without the lock and say so: a running
// broker may be writing. Only "topics create" and "perf" create a directory
// that does not exist yet.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/samsalog/samsa"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what every command gets: the directory and the streams.
type env struct {
	ctx    context.Context
	dir    string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// errf prints "samsa: ..." to stderr.
func (e *env) errf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "samsa: "+format+"\n", args...)
}

// usageError is returned by a command for bad arguments: exit 2.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// exitError carries an exit code without a message (already printed).
type exitError struct{ code int }

func (x exitError) Error() string { return fmt.Sprintf("exit %d", x.code) }

type command struct {
	name    string
	summary string
	run     func(e *env, args []string) error
}

func commands() []command {
	return []command{
		{"topics", "create, list, describe, alter, delete topics, add partitions (kafka-topics)", runTopics},
		{"produce", "produce lines from stdin to a topic (kafka-console-producer)", runProduce},
		{"consume", "print a topic's records, following new ones (kafka-console-consumer)", runConsume},
		{"groups", "list, describe, reset offsets of, delete consumer groups (kafka-consumer-groups)", runGroups},
		{"dump", "print a segment file's batches, records or index entries (kafka-dump-log)", runDump},
		{"verify", "check every batch's CRC, offsets and indexes of a directory", runVerify},
		{"perf", "producer or consumer load test (kafka-producer-perf-test, kafka-consumer-perf-test)", runPerf},
	}
}

func mainUsage(w io.Writer) {
	fmt.Fprintf(w, `Usage: samsa [--dir DIR] <command> [subcommand] [flags]

A command-line tool over a samsa data directory, modelled on Kafka's scripts.

Global flags:
  -d, --dir DIR   the data directory (default $SAMSA_DIR)

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s  %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, `
Run "samsa <command> --help" for a command's flags.
Exit codes: 0 ok, 1 failure or verification failed, 2 usage error or directory in use.
`)
}

// run is the whole program: it parses args and runs a command, writing to
// the streams given, and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, dir: os.Getenv("SAMSA_DIR")}
	fs := flag.NewFlagSet("samsa", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&e.dir, "dir", e.dir, "data directory (default $SAMSA_DIR)")
	fs.StringVar(&e.dir, "d", e.dir, "data directory (shorthand for --dir)")
	fs.Usage = func() { mainUsage(stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 {
		mainUsage(stderr)
		return exitUsage
	}
	if rest[0] == "help" {
		mainUsage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name != rest[0] {
			continue
		}
		return e.exit(c.run(e, rest[1:]))
	}
	e.errf("unknown command %q (see samsa --help)", rest[0])
	return exitUsage
}

// exit maps a command's error to an exit code, printing it.
func (e *env) exit(err error) int {
	var ue usageError
	var xe exitError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &xe):
		return xe.code
	case errors.As(err, &ue):
		e.errf("%s", ue.msg)
		return exitUsage
	case errors.Is(err, samsa.ErrDirLocked):
		e.errf("%s is in use by another process%s", e.dir, lockHolder(err))
		return exitUsage
	default:
		e.errf("%v", err)
		return exitFailure
	}
}

var pidRE = regexp.MustCompile(`pid (\d+)`)

// lockHolder returns " (pid N)" from an ErrDirLocked error, or "".
func lockHolder(err error) string {
	if m := pidRE.FindStringSubmatch(err.Error()); m != nil {
		return " (pid " + m[1] + ")"
	}
	return ""
}

// newFlags returns a FlagSet for a command, printing its usage to stderr
// with a synopsis and a description.
func (e *env) newFlags(name, synopsis, desc string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: samsa %s\n\n%s\n", synopsis, desc)
		var any bool
		fs.VisitAll(func(*flag.Flag) { any = true })
		if any {
			fmt.Fprintf(e.stderr, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses args, allowing flags after positional arguments
// ("dump FILE --print-data-log"). It returns the positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, exitError{exitUsage}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// needDir fails with a usage error when no directory was given.
func (e *env) needDir() error {
	if e.dir == "" {
		return usagef("no data directory: pass --dir DIR or set SAMSA_DIR")
	}
	return nil
}

// openBroker opens an existing directory as a Broker, taking its lock.
// The caller closes it.
func (e *env) openBroker() (*samsa.Broker, error) {
	if err := e.needDir(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(e.dir, "topics.json")); errors.Is(err, fs.ErrNotExist) {
		// Opening would create a data directory: a typo in --dir should
		// not.
		return nil, fmt.Errorf("%s is not a samsa data directory (create a topic first: samsa topics create)", e.dir)
	}
	return samsa.Open(e.dir, &samsa.Config{DisableAutoCreateTopics: true})
}

// createBroker is openBroker that creates the directory if needed.
func (e *env) createBroker() (*samsa.Broker, error) {
	if err := e.needDir(); err != nil {
		return nil, err
	}
	return samsa.Open(e.dir, &samsa.Config{DisableAutoCreateTopics: true})
}

// closeBroker closes b, reporting an error only if err is nil.
func closeBroker(b *samsa.Broker, err *error) {
	if cerr := b.Close(); cerr != nil && *err == nil {
		*err = cerr
	}
}

// subcommand splits "topics create ..." style arguments. A leading flag
// such as --help shows the usage.
func subcommand(e *env, cmd string, subs []string, args []string) (string, []string, error) {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: samsa %s <%s> [flags]\n\nRun \"samsa %s <subcommand> --help\" for its flags.\n",
			cmd, strings.Join(subs, "|"), cmd)
	}
	if len(args) == 0 {
		usage(e.stderr)
		return "", nil, exitError{exitUsage}
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help" {
		usage(e.stderr)
		return "", nil, flag.ErrHelp
	}
	for _, s := range subs {
		if args[0] == s {
			return s, args[1:], nil
		}
	}
	return "", nil, usagef("unknown %s subcommand %q (one of %s)", cmd, args[0], strings.Join(subs, ", "))
}

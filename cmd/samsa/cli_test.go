package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/producer"
	"github.com/samsalog/samsa/record"
	"github.com/samsalog/samsa/segment"
)

// result is the outcome of one command line.
type result struct {
	stdout, stderr string
	code           int
}

// samsaRun runs the command line args over dir in this process.
func samsaRun(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	return samsaRunCtx(t, context.Background(), dir, stdin, args...)
}

func samsaRunCtx(t *testing.T, ctx context.Context, dir, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(ctx, append([]string{"--dir", dir}, args...), strings.NewReader(stdin), &out, &errb)
	return result{out.String(), errb.String(), code}
}

// mustRun runs args and fails the test unless it exits 0.
func mustRun(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	r := samsaRun(t, dir, stdin, args...)
	if r.code != 0 {
		t.Fatalf("samsa %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func wantCode(t *testing.T, r result, code int, what string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", what, r.code, code, r.stdout, r.stderr)
	}
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	return v
}

func TestHelpAndUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--help"}, {"topics", "--help"}, {"topics", "create", "--help"}, {"topics", "list", "-h"},
		{"topics", "describe", "--help"}, {"topics", "alter", "--help"}, {"topics", "delete", "--help"},
		{"topics", "add-partitions", "--help"}, {"produce", "--help"}, {"consume", "--help"},
		{"groups", "--help"}, {"groups", "list", "--help"}, {"groups", "describe", "--help"},
		{"groups", "reset-offsets", "--help"}, {"groups", "delete", "--help"},
		{"dump", "--help"}, {"verify", "--help"}, {"perf", "--help"},
	} {
		r := samsaRun(t, dir, "", args...)
		wantCode(t, r, 0, strings.Join(args, " "))
		if !strings.Contains(r.stderr, "Usage: samsa") {
			t.Errorf("%s: no usage in stderr: %q", strings.Join(args, " "), r.stderr)
		}
	}
	for _, args := range [][]string{
		{}, {"nope"}, {"topics"}, {"topics", "nope"}, {"topics", "create"}, {"produce"},
		{"consume", "--topic", "t", "--format", "xml"}, {"groups", "reset-offsets", "--group", "g"},
		{"dump"}, {"perf", "--topic", "t"}, {"topics", "list", "--bogus-flag"},
	} {
		wantCode(t, samsaRun(t, dir, "", args...), 2, strings.Join(args, " "))
	}
	r := samsaRun(t, filepath.Join(dir, "typo"), "", "topics", "list")
	wantCode(t, r, 1, "list of a missing directory")
	if _, err := os.Stat(filepath.Join(dir, "typo")); err == nil || !strings.Contains(r.stderr, "not a samsa data directory") {
		t.Errorf("list of a missing directory: %+v (stat: %v)", r, err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"topics", "list"}, strings.NewReader(""), &out, &errb); code != 2 && os.Getenv("SAMSA_DIR") == "" {
		t.Errorf("no directory: exit %d, want 2 (%s)", code, errb.String())
	}
}

func TestTopics(t *testing.T) {
	dir := t.TempDir()
	out := mustRun(t, dir, "", "topics", "create", "--topic", "orders", "--partitions", "3", "--config", "retention.ms=3600000")
	if !strings.Contains(out, "Created topic orders") {
		t.Errorf("create: %q", out)
	}
	mustRun(t, dir, "", "topics", "create", "--topic", "audit")
	wantCode(t, samsaRun(t, dir, "", "topics", "create", "--topic", "audit"), 1, "create existing")
	mustRun(t, dir, "", "topics", "create", "--topic", "audit", "--if-not-exists")
	wantCode(t, samsaRun(t, dir, "", "topics", "create", "--topic", "x", "--config", "no.such=1"), 2, "bad config")

	if got := mustRun(t, dir, "", "topics", "list"); got != "audit\norders\n" {
		t.Errorf("list = %q", got)
	}
	names := decodeJSON[[]string](t, mustRun(t, dir, "", "topics", "list", "--json", "--internal"))
	if strings.Join(names, ",") != "__consumer_offsets,audit,orders" {
		t.Errorf("list --json --internal = %v", names)
	}

	mustRun(t, dir, "", "topics", "alter", "--topic", "orders", "--config", "segment.bytes=100000", "--delete-config", "retention.ms")
	mustRun(t, dir, "", "topics", "add-partitions", "--topic", "orders", "--partitions", "5")
	wantCode(t, samsaRun(t, dir, "", "topics", "add-partitions", "--topic", "orders", "--partitions", "2"), 1, "shrink")

	desc := decodeJSON[[]topicJSON](t, mustRun(t, dir, "", "topics", "describe", "--topic", "orders", "--json"))
	if len(desc) != 1 || desc[0].Partitions != 5 || len(desc[0].Details) != 5 ||
		desc[0].Overrides["segment.bytes"] != "100000" || desc[0].Overrides["retention.ms"] != "" {
		t.Errorf("describe --json = %+v", desc)
	}
	text := mustRun(t, dir, "", "topics", "describe")
	if !strings.Contains(text, "Topic: orders") || !strings.Contains(text, "Topic: audit") || !strings.Contains(text, "HIGH-WATERMARK") {
		t.Errorf("describe = %q", text)
	}

	mustRun(t, dir, "", "topics", "delete", "--topic", "audit")
	wantCode(t, samsaRun(t, dir, "", "topics", "delete", "--topic", "audit"), 1, "delete unknown")
	if got := mustRun(t, dir, "", "topics", "list"); got != "orders\n" {
		t.Errorf("list after delete = %q", got)
	}
}

func TestProduceConsume(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "", "topics", "create", "--topic", "t", "--partitions", "1")
	in := "k1=v1\nk2=v2\n=empty-key\n"
	mustRun(t, dir, in, "produce", "--topic", "t", "--key-separator", "=", "--header", "src=cli")
	mustRun(t, dir, "h1:a,h2:b\tplain\n", "produce", "--topic", "t", "--parse-headers")
	wantCode(t, samsaRun(t, dir, "no separator\n", "produce", "--topic", "t", "--parse-key"), 1, "line without key")
	wantCode(t, samsaRun(t, dir, "x\n", "produce", "--topic", "missing"), 1, "unknown topic")

	if got := mustRun(t, dir, "", "consume", "--topic", "t", "--from-beginning", "--max-messages", "4"); got != "v1\nv2\nempty-key\nplain\n" {
		t.Errorf("value format = %q", got)
	}
	got := mustRun(t, dir, "", "consume", "--topic", "t", "--from-beginning", "--max-messages", "4",
		"--format", "key-value", "--key-separator", "|", "--print-headers")
	want := "src:cli\tk1|v1\nsrc:cli\tk2|v2\nsrc:cli\t|empty-key\nh1:a,h2:b\tnull|plain\n"
	if got != want {
		t.Errorf("key-value format = %q, want %q", got, want)
	}
	lines := strings.Split(strings.TrimSpace(mustRun(t, dir, "", "consume", "--topic", "t", "--from-beginning", "--max-messages", "4", "--format", "json")), "\n")
	if len(lines) != 4 {
		t.Fatalf("json format: %d lines", len(lines))
	}
	for i, l := range lines {
		r := decodeJSON[recordJSON](t, l)
		if r.Offset != int64(i) || r.Topic != "t" || r.Timestamp < time.Now().Add(-time.Hour).UnixMilli() {
			t.Errorf("json line %d = %+v", i, r)
		}
		if i == 0 && (r.Key == nil || *r.Key != "k1" || *r.Value != "v1" || len(r.Headers) != 1 || r.Headers[0].Key != "src") {
			t.Errorf("json line 0 = %+v", r)
		}
		if i == 3 && (r.Key != nil || len(r.Headers) != 2) {
			t.Errorf("json line 3 = %+v", r)
		}
	}
	// --partition with --offset starts there; --timeout-ms ends the follow.
	if got := mustRun(t, dir, "", "consume", "--topic", "t", "--partition", "0", "--offset", "2", "--timeout-ms", "200"); got != "empty-key\nplain\n" {
		t.Errorf("--offset 2 = %q", got)
	}
	// Without --from-beginning a consumer starts at the end.
	if got := mustRun(t, dir, "", "consume", "--topic", "t", "--timeout-ms", "100"); got != "" {
		t.Errorf("from the end = %q", got)
	}
}

// TestConsumeFollowsUntilInterrupted cancels the context, as SIGINT does,
// while the consumer waits for new records.
func TestConsumeFollowsUntilInterrupted(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "", "topics", "create", "--topic", "t")
	mustRun(t, dir, "a\n", "produce", "--topic", "t")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result)
	go func() { done <- samsaRunCtx(t, ctx, dir, "", "consume", "--topic", "t", "--from-beginning") }()
	time.Sleep(300 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("consume ended before the interrupt: %+v", r)
	default:
	}
	cancel()
	r := <-done
	wantCode(t, r, 0, "interrupted consume")
	if r.stdout != "a\n" || !strings.Contains(r.stderr, "Processed a total of 1 messages") {
		t.Errorf("interrupted consume: %+v", r)
	}
}

func TestGroups(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "", "topics", "create", "--topic", "t")
	mustRun(t, dir, strings.Repeat("x\n", 10), "produce", "--topic", "t")
	mustRun(t, dir, "", "consume", "--topic", "t", "--group", "g", "--from-beginning", "--max-messages", "4")

	if got := mustRun(t, dir, "", "groups", "list"); got != "g\n" {
		t.Errorf("groups list = %q", got)
	}
	describe := func() groupJSON {
		return decodeJSON[groupJSON](t, mustRun(t, dir, "", "groups", "describe", "--group", "g", "--json"))
	}
	d := describe()
	if d.TotalLag != 6 || len(d.Partitions) != 1 || d.Partitions[0].Committed != 4 || d.Partitions[0].HighWatermark != 10 || d.Partitions[0].Lag != 6 {
		t.Fatalf("describe = %+v", d)
	}
	if text := mustRun(t, dir, "", "groups", "describe", "--group", "g"); !strings.Contains(text, "CURRENT-OFFSET") || !strings.Contains(text, "g      t      0          4               10              6") {
		t.Errorf("describe text = %q", text)
	}
	// A second consume continues from the committed offset.
	if got := mustRun(t, dir, "", "consume", "--topic", "t", "--group", "g", "--max-messages", "2"); got != "x\nx\n" {
		t.Errorf("second consume = %q", got)
	}
	if d := describe(); d.Partitions[0].Committed != 6 {
		t.Fatalf("after second consume committed = %d", d.Partitions[0].Committed)
	}

	for _, tc := range []struct {
		name string
		args []string
		want int64
	}{
		{"earliest", []string{"--to-earliest"}, 0},
		{"latest", []string{"--to-latest"}, 10},
		{"offset", []string{"--to-offset", "7"}, 7},
		{"offset clamped", []string{"--to-offset", "99"}, 10},
		{"datetime past", []string{"--to-datetime", "2000-01-01T00:00:00.000"}, 0},
		{"datetime future", []string{"--to-datetime", time.Now().Add(time.Hour).Format(time.RFC3339)}, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := describe().Partitions[0].Committed
			dry := decodeJSON[resetJSON](t, mustRun(t, dir, "", append([]string{"groups", "reset-offsets", "--group", "g", "--dry-run", "--json"}, tc.args...)...))
			if dry.Executed || len(dry.Offsets) != 1 || dry.Offsets[0].New != tc.want || dry.Offsets[0].Old != before {
				t.Fatalf("dry run = %+v", dry)
			}
			if got := describe().Partitions[0].Committed; got != before {
				t.Fatalf("dry run changed the offset to %d", got)
			}
			mustRun(t, dir, "", append([]string{"groups", "reset-offsets", "--group", "g", "--topic", "t", "--execute"}, tc.args...)...)
			if got := describe().Partitions[0].Committed; got != tc.want {
				t.Fatalf("after --execute committed = %d, want %d", got, tc.want)
			}
		})
	}
	out := mustRun(t, dir, "", "groups", "delete", "--group", "g")
	if !strings.Contains(out, "successful") {
		t.Errorf("delete = %q", out)
	}
	wantCode(t, samsaRun(t, dir, "", "groups", "describe", "--group", "g"), 1, "describe deleted group")
}

// fillTopic creates topic t with an index entry for every batch and writes
// batches of records through three produce runs.
func fillTopic(t *testing.T, dir string) string {
	t.Helper()
	mustRun(t, dir, "", "topics", "create", "--topic", "t", "--config", "index.interval.bytes=1")
	for i := range 3 {
		var in strings.Builder
		for j := range 20 {
			in.WriteString("k" + strconv.Itoa(i*20+j) + "\tvalue-" + strconv.Itoa(i*20+j) + "\n")
		}
		mustRun(t, dir, in.String(), "produce", "--topic", "t", "--parse-key")
	}
	return filepath.Join(dir, "t-0")
}

func TestDump(t *testing.T) {
	dir := t.TempDir()
	pdir := fillTopic(t, dir)
	logPath := segment.Filename(pdir, 0, segment.LogSuffix)
	out := mustRun(t, dir, "", "dump", logPath)
	if !strings.Contains(out, "baseOffset: 0 lastOffset: 19 count: 20") || !strings.Contains(out, "isvalid: true") ||
		!strings.Contains(out, "magic: 2 compresscodec: none") || strings.Count(out, "baseOffset:") != 3 {
		t.Errorf("dump .log = %q", out)
	}
	out = mustRun(t, dir, "", "dump", logPath, "--print-data-log")
	if !strings.Contains(out, "| offset: 59 CreateTime: ") || !strings.Contains(out, "key: k59 payload: value-59") {
		t.Errorf("dump --print-data-log = %q", out)
	}
	out = mustRun(t, dir, "", "dump", segment.Filename(pdir, 0, segment.IndexSuffix), segment.Filename(pdir, 0, segment.TimeIndexSuffix))
	if !strings.Contains(out, "offset: 39 position: ") || !strings.Contains(out, "offset: 59 position: ") || !strings.Contains(out, "timestamp: ") {
		t.Errorf("dump indexes = %q", out)
	}
	wantCode(t, samsaRun(t, dir, "", "dump", filepath.Join(dir, "topics.json")), 1, "dump of a non-segment")
	wantCode(t, samsaRun(t, dir, "", "dump", filepath.Join(dir, "nope.log")), 1, "dump of a missing file")
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	pdir := fillTopic(t, dir)
	out := mustRun(t, dir, "", "verify")
	if !strings.Contains(out, "3 batches, 60 records") || !strings.Contains(out, "OK") {
		t.Errorf("verify = %q", out)
	}
	res := decodeJSON[verifyResult](t, mustRun(t, dir, "", "verify", "--json"))
	if !res.OK || res.Records != 60 || len(res.Problems) != 0 {
		t.Errorf("verify --json = %+v", res)
	}

	t.Run("flipped log byte", func(t *testing.T) {
		d := copyDir(t, dir)
		flipByte(t, segment.Filename(filepath.Join(d, "t-0"), 0, segment.LogSuffix), 100)
		r := samsaRun(t, d, "", "verify")
		wantCode(t, r, 1, "verify of a corrupt log")
		if !strings.Contains(r.stdout, "PROBLEM t-0/00000000000000000000.log") || !strings.Contains(r.stdout, "problems") {
			t.Errorf("verify output = %q", r.stdout)
		}
	})
	t.Run("bad index entry", func(t *testing.T) {
		d := copyDir(t, dir)
		flipByte(t, segment.Filename(filepath.Join(d, "t-0"), 0, segment.IndexSuffix), 7)
		r := samsaRun(t, d, "", "verify", "--json")
		wantCode(t, r, 1, "verify of a bad index")
		res := decodeJSON[verifyResult](t, r.stdout)
		if res.OK || len(res.Problems) == 0 || !strings.Contains(res.Problems[0], ".index entry") {
			t.Errorf("verify --json = %+v", res)
		}
	})
	_ = pdir
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func flipByte(t *testing.T, path string, at int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if at >= int64(len(b)) {
		t.Fatalf("%s has only %d bytes", path, len(b))
	}
	b[at] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPerf(t *testing.T) {
	dir := t.TempDir()
	out := mustRun(t, dir, "", "perf", "--topic", "load", "--num-records", "500", "--record-size", "64", "--acks", "1")
	if !strings.Contains(out, "500 records sent") || !strings.Contains(out, "records/sec") || !strings.Contains(out, "99.9th") {
		t.Errorf("perf = %q", out)
	}
	res := decodeJSON[perfResult](t, mustRun(t, dir, "", "perf", "--topic", "load", "--num-records", "200", "--throughput", "10000", "--compression", "lz4", "--json"))
	if res.Records != 200 || res.Bytes != 200*100 || res.P99Ms < res.P50Ms || res.MaxLatencyMs < res.P999Ms {
		t.Errorf("perf --json = %+v", res)
	}
	res = decodeJSON[perfResult](t, mustRun(t, dir, "", "perf", "--topic", "load", "--num-records", "700", "--consumer", "--json"))
	if res.Mode != "consumer" || res.Records != 700 || res.Bytes != 500*64+200*100 {
		t.Errorf("perf --consumer = %+v", res)
	}
}

// TestLockedDir holds the directory open in this process: commands that
// change it fail with exit 2, read-only ones work and say so.
func TestLockedDir(t *testing.T) {
	dir := t.TempDir()
	fillTopic(t, dir)
	b, err := samsa.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	want := "samsa: " + dir + " is in use by another process (pid " + strconv.Itoa(os.Getpid()) + ")"
	for _, args := range [][]string{
		{"topics", "create", "--topic", "x"}, {"produce", "--topic", "t"}, {"consume", "--topic", "t", "--group", "g"},
		{"groups", "list"}, {"perf", "--topic", "t", "--num-records", "1"},
	} {
		r := samsaRun(t, dir, "", args...)
		wantCode(t, r, 2, strings.Join(args, " "))
		if !strings.Contains(r.stderr, want) {
			t.Errorf("%s: stderr %q, want %q", strings.Join(args, " "), r.stderr, want)
		}
	}
	r := samsaRun(t, dir, "", "topics", "list")
	wantCode(t, r, 0, "topics list on a locked dir")
	if r.stdout != "t\n" || !strings.Contains(r.stderr, readOnlyNote) {
		t.Errorf("topics list: %+v", r)
	}
	d := decodeJSON[[]topicJSON](t, mustRun(t, dir, "", "topics", "describe", "--json"))
	if len(d) != 1 || !d[0].ReadOnly || d[0].Details[0].LogEndOffset != 60 {
		t.Errorf("read-only describe = %+v", d)
	}
	if out := mustRun(t, dir, "", "verify"); !strings.Contains(out, readOnlyNote) {
		t.Errorf("verify: %q", out)
	}
}

// TestBinary execs the program itself for its exit codes and streams.
func TestBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	samsaExec := func(stdin string, args ...string) result {
		t.Helper()
		cmd := exec.Command(exe, args...)
		cmd.Env = append(os.Environ(), runAsMainEnv+"=1", "SAMSA_DIR="+dir)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return result{out.String(), errb.String(), code}
	}
	wantCode(t, samsaExec(""), 2, "no command")
	wantCode(t, samsaExec("", "topics", "create", "--topic", "t"), 0, "create via SAMSA_DIR")
	wantCode(t, samsaExec("a\nb\n", "produce", "--topic", "t"), 0, "produce")
	if r := samsaExec("", "consume", "--topic", "t", "--from-beginning", "--max-messages", "2"); r.code != 0 || r.stdout != "a\nb\n" {
		t.Errorf("consume: %+v", r)
	}
	wantCode(t, samsaExec("", "verify"), 0, "verify")

	// SIGINT ends a following consumer cleanly.
	cmd := exec.Command(exe, "consume", "--topic", "t", "--from-beginning")
	cmd.Env = append(os.Environ(), runAsMainEnv+"=1", "SAMSA_DIR="+dir)
	var out syncBuffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); out.String() != "a\nb\n"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("consume printed %q", out.String())
		}
	}
	// While it runs it holds the lock.
	if r := samsaExec("", "topics", "create", "--topic", "u"); r.code != 2 || !strings.Contains(r.stderr, "is in use by another process (pid "+strconv.Itoa(cmd.Process.Pid)+")") {
		t.Errorf("create while consume runs: %+v", r)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("consume after SIGINT: %v", err)
	}

	flipByte(t, segment.Filename(filepath.Join(dir, "t-0"), 0, segment.LogSuffix), 70)
	if r := samsaExec("", "verify"); r.code != 1 || !strings.Contains(r.stdout, "PROBLEM") {
		t.Errorf("verify of a corrupt dir: %+v", r)
	}
}

// syncBuffer is a bytes.Buffer safe for a child's writes and the test's
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestConsumeLockedDirFollows holds the directory open in this process and
// appends to it while consume follows its files read-only.
func TestConsumeLockedDirFollows(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "", "topics", "create", "--topic", "t", "--partitions", "2", "--config", "segment.bytes=300")
	mustRun(t, dir, "k0\tv0\nk1\tv1\n", "produce", "--topic", "t", "--parse-key")
	b, err := samsa.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, err := producer.New(b, &producer.Config{Partitioner: producer.NewManualPartitioner})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	// Everything so far, read-only.
	r := samsaRun(t, dir, "", "consume", "--topic", "t", "--from-beginning", "--timeout-ms", "200", "--format", "key-value")
	wantCode(t, r, 0, "read-only consume")
	if !strings.Contains(r.stderr, readOnlyNote) || len(strings.Fields(r.stdout)) != 4 {
		t.Fatalf("read-only consume: %+v", r)
	}

	// Follow: records appended (and segments rolled) after it started.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan result)
	go func() {
		done <- samsaRunCtx(t, ctx, dir, "", "consume", "--topic", "t", "--partition", "0", "--offset", "earliest", "--format", "json", "--max-messages", "12")
	}()
	var recs []*record.Record
	for i := range 20 {
		recs = append(recs, &record.Record{Topic: "t", Partition: 0, Value: []byte("new-" + strconv.Itoa(i))})
	}
	if err := p.ProduceSync(context.Background(), recs[:10]...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := p.ProduceSync(context.Background(), recs[10:]...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if bases, err := segmentBases(filepath.Join(dir, "t-0")); err != nil || len(bases) < 2 {
		t.Fatalf("want the follow to cross segments, have %v (%v)", bases, err)
	}
	select {
	case r := <-done:
		wantCode(t, r, 0, "following consume")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 12 {
			t.Fatalf("following consume printed %d lines: %q", len(lines), r.stdout)
		}
		for i, l := range lines {
			if got := decodeJSON[recordJSON](t, l); got.Offset != int64(i) || got.Partition != 0 {
				t.Errorf("line %d = %+v", i, got)
			}
		}
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("following consume did not see the new records: %+v", <-done)
	}
}

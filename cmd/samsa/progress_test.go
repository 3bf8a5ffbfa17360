package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestReportProgress runs the reporter on a fake clock: one line per
// interval with that interval's counts, none after stop, and its goroutine
// gone (synctest.Test fails on a goroutine left blocked in the bubble).
func TestReportProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu  sync.Mutex
			got []perfResult
		)
		var w perfWindow
		stop := reportProgress(time.Second, "producer", &w, func(r perfResult) {
			mu.Lock()
			got = append(got, r)
			mu.Unlock()
		})
		w.add(1, 100, 2*time.Millisecond)
		w.add(1, 100, 6*time.Millisecond)
		time.Sleep(1500 * time.Millisecond)
		w.add(1, 100, 3*time.Millisecond)
		time.Sleep(time.Second) // a tick at 2s
		stop()
		stop()
		time.Sleep(5 * time.Second) // no ticks after stop
		mu.Lock()
		defer mu.Unlock()
		want := []perfResult{
			{Type: "progress", Mode: "producer", Records: 2, Bytes: 200, Seconds: 1, ElapsedSeconds: 1,
				RecordsPerSec: 2, MBPerSec: 200.0 / (1 << 20), AvgLatencyMs: 4, MaxLatencyMs: 6},
			{Type: "progress", Mode: "producer", Records: 1, Bytes: 100, Seconds: 1, ElapsedSeconds: 2,
				RecordsPerSec: 1, MBPerSec: 100.0 / (1 << 20), AvgLatencyMs: 3, MaxLatencyMs: 3},
		}
		if len(got) != len(want) {
			t.Fatalf("got %d lines, want %d: %+v", len(got), len(want), got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("line %d = %+v, want %+v", i, got[i], want[i])
			}
		}
	})
	// Interval 0 (--reporting-interval 0) starts nothing.
	reportProgress(0, "producer", &perfWindow{}, func(perfResult) { t.Error("reported with interval 0") })()
}

func TestPrintPerfProgress(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    perfResult
		want string
	}{
		{"producer", perfResult{Type: "progress", Mode: "producer", Records: 5000, RecordsPerSec: 1000, MBPerSec: 0.1, AvgLatencyMs: 1.3, MaxLatencyMs: 12},
			"5000 records sent, 1000.0 records/sec (0.10 MB/sec), 1.3 ms avg latency, 12.0 ms max latency.\n"},
		{"consumer", perfResult{Type: "progress", Mode: "consumer", Records: 700, RecordsPerSec: 140, MBPerSec: 0.01},
			"700 records consumed, 140.0 records/sec (0.01 MB/sec).\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := printPerf(&b, tc.r, false); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got %q, want %q", b.String(), tc.want)
			}
		})
	}
}

// TestPerfProgress runs perf for about half a second with a short
// reporting interval, as text and as JSON lines.
func TestPerfProgress(t *testing.T) {
	dir := t.TempDir()
	args := []string{"perf", "--topic", "load", "--num-records", "250", "--throughput", "500", "--record-size", "10", "--acks", "1"}

	lines := strings.Split(strings.TrimSuffix(mustRun(t, dir, "", append(args, "--reporting-interval", "50ms")...), "\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("want progress lines and a summary, got %q", lines)
	}
	for _, l := range lines[:len(lines)-1] {
		if !strings.Contains(l, " records sent, ") || !strings.HasSuffix(l, " ms max latency.") {
			t.Errorf("progress line %q", l)
		}
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "250 records sent, ") || !strings.HasSuffix(last, "99.9th.") {
		t.Errorf("summary line %q", last)
	}

	// Kafka's milliseconds, with --json: one object a line.
	lines = strings.Split(strings.TrimSuffix(mustRun(t, dir, "", append(args, "--reporting-interval", "50", "--json")...), "\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("want progress lines and a summary, got %q", lines)
	}
	var sum int64
	for i, l := range lines {
		r := decodeJSON[perfResult](t, l)
		if i == len(lines)-1 {
			if r.Type != "summary" || r.Records != 250 || r.Bytes != 2500 {
				t.Errorf("summary = %+v", r)
			}
			continue
		}
		if r.Type != "progress" || r.Mode != "producer" || r.Seconds <= 0 || r.ElapsedSeconds < r.Seconds ||
			(r.Records > 0 && (r.AvgLatencyMs <= 0 || r.MaxLatencyMs < r.AvgLatencyMs)) {
			t.Errorf("progress line %d = %+v", i, r)
		}
		sum += r.Records
	}
	if sum == 0 || sum > 250 {
		t.Errorf("progress lines count %d records of 250", sum)
	}

	// The consumer prints progress lines too; reading is quick, so only
	// their form is checked.
	lines = strings.Split(strings.TrimSuffix(mustRun(t, dir, "", "perf", "--topic", "load", "--num-records", "500", "--consumer", "--reporting-interval", "1ms", "--json"), "\n"), "\n")
	for i, l := range lines {
		r := decodeJSON[perfResult](t, l)
		if r.Mode != "consumer" || (r.Type == "summary") != (i == len(lines)-1) {
			t.Errorf("consumer line %d = %+v", i, r)
		}
	}

	// 0 turns them off.
	if out := mustRun(t, dir, "", append(args, "--reporting-interval", "0")...); strings.Count(out, "\n") != 1 {
		t.Errorf("--reporting-interval 0 printed %q", out)
	}
	for _, bad := range []string{"-5", "5x", "-1s"} {
		wantCode(t, samsaRun(t, dir, "", append(args, "--reporting-interval", bad)...), 2, "--reporting-interval "+bad)
	}
}

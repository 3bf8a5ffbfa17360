package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/producer"
	"github.com/samsalog/samsa/record"
)

// committed returns group g's committed offset of t-0.
func committed(t *testing.T, dir, grp string) int64 {
	t.Helper()
	d := decodeJSON[groupJSON](t, mustRun(t, dir, "", "groups", "describe", "--group", grp, "--json"))
	for _, p := range d.Partitions {
		if p.Topic == "t" && p.Partition == 0 {
			return p.Committed
		}
	}
	t.Fatalf("group %s has no offset for t-0: %+v", grp, d)
	return 0
}

// TestResetShiftBy shifts group g's offset of t-0, whose log runs from 2
// (records below it deleted) to 10, forward and back, and past both ends.
func TestResetShiftBy(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "", "topics", "create", "--topic", "t")
	mustRun(t, dir, "", "topics", "create", "--topic", "other")
	mustRun(t, dir, strings.Repeat("x\n", 10), "produce", "--topic", "t")
	mustRun(t, dir, "", "consume", "--topic", "t", "--group", "g", "--from-beginning", "--max-messages", "4")
	b, err := samsa.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Partition("t", 0)
	if err == nil {
		_, err = p.DeleteRecordsBefore(2)
	}
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := committed(t, dir, "g"); got != 4 {
		t.Fatalf("committed = %d, want 4", got)
	}

	for _, tc := range []struct {
		name        string
		shift       int64
		from, want  int64
		wantClamped bool
	}{
		{"forward", 3, 4, 7, false},
		{"forward past the high watermark", 5, 7, 10, true},
		{"back", -4, 10, 6, false},
		{"back past the log start", -100, 6, 2, true},
		{"zero", 0, 2, 2, false},
		{"max int64", 1<<63 - 1, 2, 10, true},
		{"min int64", -1 << 63, 10, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"groups", "reset-offsets", "--group", "g", "--shift-by", strconv.FormatInt(tc.shift, 10)}
			// A dry run by default.
			dry := decodeJSON[resetJSON](t, mustRun(t, dir, "", append(args, "--json")...))
			if dry.Executed || len(dry.Offsets) != 1 || dry.Offsets[0].Old != tc.from || dry.Offsets[0].New != tc.want {
				t.Fatalf("dry run = %+v, want %d -> %d", dry, tc.from, tc.want)
			}
			if got := committed(t, dir, "g"); got != tc.from {
				t.Fatalf("dry run moved the offset to %d", got)
			}
			out := mustRun(t, dir, "", append(args, "--execute")...)
			if !strings.Contains(out, "NEW-OFFSET") || strings.Contains(out, "Dry run") {
				t.Errorf("--execute printed %q", out)
			}
			if got := committed(t, dir, "g"); got != tc.want {
				t.Fatalf("after --execute committed = %d, want %d", got, tc.want)
			}
		})
	}

	// A partition without a committed offset cannot be shifted (Kafka's
	// "no current committed offset"), and nothing is committed.
	r := samsaRun(t, dir, "", "groups", "reset-offsets", "--group", "g", "--topic", "other", "--shift-by", "1", "--execute")
	wantCode(t, r, 1, "shift of a partition without an offset")
	if !strings.Contains(r.stderr, "cannot shift other-0") {
		t.Errorf("stderr = %q", r.stderr)
	}
	if d := decodeJSON[groupJSON](t, mustRun(t, dir, "", "groups", "describe", "--group", "g", "--json")); len(d.Partitions) != 1 {
		t.Errorf("failed shift committed offsets: %+v", d.Partitions)
	}
	// One reset option at a time.
	wantCode(t, samsaRun(t, dir, "", "groups", "reset-offsets", "--group", "g", "--shift-by", "1", "--to-earliest"), 2, "--shift-by with --to-earliest")
}

// TestResetByDuration resets to offsets found by timestamp: t-0 holds
// records from 3 h, 2 h, 1 h and 1 min ago.
func TestResetByDuration(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "", "topics", "create", "--topic", "t")
	now := time.Now()
	ages := []time.Duration{3 * time.Hour, 2 * time.Hour, time.Hour, time.Minute}
	b, err := samsa.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := producer.New(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, age := range ages {
		// One call each: the offsets follow the ages.
		if err = p.ProduceSync(context.Background(), &record.Record{Topic: "t", Value: []byte(age.String()), Timestamp: now.Add(-age)}).FirstErr(); err != nil {
			break
		}
	}
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	// A new group gets its offsets for a named topic.
	mustRun(t, dir, "", "groups", "reset-offsets", "--group", "g", "--topic", "t", "--to-latest", "--execute")

	for _, tc := range []struct {
		duration string
		want     int64
	}{
		{"P1D", 0},
		{"PT3H30M", 0},
		{"PT150M", 1},
		{"pt1h30m", 2},
		{"PT5400.5S", 2},
		{"P0DT1H30M", 2},
		{"90m", 2},
		{"30m", 3},
		{"PT0S", 4}, // nothing at or after now: the high watermark
		{"P36500D", 0},
	} {
		t.Run(tc.duration, func(t *testing.T) {
			dry := decodeJSON[resetJSON](t, mustRun(t, dir, "", "groups", "reset-offsets", "--group", "g", "--by-duration", tc.duration, "--json"))
			if dry.Executed || len(dry.Offsets) != 1 || dry.Offsets[0].New != tc.want {
				t.Fatalf("dry run = %+v, want new offset %d", dry, tc.want)
			}
			mustRun(t, dir, "", "groups", "reset-offsets", "--group", "g", "--topic", "t", "--by-duration", tc.duration, "--execute")
			if got := committed(t, dir, "g"); got != tc.want {
				t.Fatalf("after --execute committed = %d, want %d", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"P", "PT", "P1W", "P1Y", "P1M", "P1DT", "-PT1H", "PT-1H", "+PT1H", "1d", "-5m", "PT1.1234567891S", "P99999999999999D"} {
		wantCode(t, samsaRun(t, dir, "", "groups", "reset-offsets", "--group", "g", "--by-duration", bad), 2, "--by-duration "+bad)
	}
}

func TestParseResetDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"PT0S", 0},
		{"PT20.345S", 20*time.Second + 345*time.Millisecond},
		{"PT0,5S", 500 * time.Millisecond},
		{"PT15M", 15 * time.Minute},
		{"PT10H", 10 * time.Hour},
		{"P2D", 48 * time.Hour},
		{"P2DT3H4M", 51*time.Hour + 4*time.Minute},
		{"PT1.S", time.Second},
		{"PT0.000000001S", 1},
		{"1h30m", 90 * time.Minute},
		{"1.5s", 1500 * time.Millisecond},
	} {
		if got, err := parseResetDuration(tc.in); err != nil || got != tc.want {
			t.Errorf("parseResetDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

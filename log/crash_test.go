package log

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/crashtest"
	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/record"
	"github.com/samsalog/samsa/segment"
)

// crashConfig returns a random configuration for a crash-test log: small
// segments so that rolls happen within a child's short life, sometimes
// small indexes (rolls by a full index), sometimes flush.messages, and
// retention by size so that the log stays small over many cycles.
func crashConfig(rng *rand.Rand) *Config {
	cfg := &Config{
		SegmentBytes:       int64(64<<10 + rng.IntN(192<<10)),
		IndexIntervalBytes: 256 + rng.IntN(4096),
		RetentionMs:        -1,
		RetentionBytes:     1 << 20,
	}
	if rng.IntN(4) == 0 {
		cfg.SegmentIndexBytes = 512 + rng.IntN(2048)
	}
	if rng.IntN(3) == 0 {
		cfg.FlushMessages = int64(1 + rng.IntN(100))
	}
	return cfg
}

// TestCrashChild is not a test: it is the child process of TestCrashKill,
// which runs this test binary again with crashtest.Start and kills it with
// SIGKILL. Run as an ordinary test it skips at once; the skip is expected.
//
// The child opens the log, then appends, syncs, rolls and applies
// retention at random, and reports on file descriptor 3, one line per
// write(2) (atomic on a pipe), only after the call returned:
//
//	b 0         about to call Open
//	o <end>     Open returned; end is EndOffset (Open synced what it kept)
//	a <end>     an Append returned: offsets below end survive a crash of the process
//	s <off>     SyncedOffset after a Sync (or an Append that synced): offsets below are durable
//	d <start>   DeleteRecordsBefore returned: the log start offset is at least start
//	z <end>     the child wrote its budget and waits to be killed
func TestCrashChild(t *testing.T) {
	child := crashtest.AsChild(t)
	dir := child.Dir
	rng := rand.New(rand.NewPCG(child.Seed, 0xc4a54))
	say := func(kind byte, v int64) { child.Reportf("%c %d", kind, v) }
	cfg := crashConfig(rng)
	say('b', 0)
	l, err := Open(dir, cfg)
	require.NoError(t, err)
	say('o', l.EndOffset())
	say('s', l.SyncedOffset())

	// Sometimes a second goroutine syncs in a loop while the first one
	// appends: group commit under a kill.
	var stop atomic.Bool
	var wg sync.WaitGroup
	syncer := rng.IntN(3) == 0
	if syncer {
		wg.Go(func() {
			for !stop.Load() {
				// Not require: FailNow only works on the test's goroutine;
				// a panic fails the child just as loudly.
				end := l.EndOffset()
				if err := l.Sync(); err != nil {
					panic(err)
				}
				if s := l.SyncedOffset(); s < end {
					panic(fmt.Sprintf("SyncedOffset %d after a Sync of data up to %d", s, end))
				}
				say('s', l.SyncedOffset())
			}
		})
	}
	var enc record.Encoder
	budget := int64(4 << 20)
	for budget > 0 {
		switch op := rng.IntN(100); {
		case op < 75:
			next := l.EndOffset()
			n := 1 + rng.IntN(40)
			if rng.IntN(10) == 0 {
				n = 1 + rng.IntN(400)
			}
			b, err := crashBatch(&enc, next, n, crashCodecs[rng.IntN(len(crashCodecs))])
			require.NoError(t, err)
			budget -= int64(len(b))
			base, last, err := l.Append(b)
			require.NoError(t, err)
			require.Equal(t, next, base)
			say('a', last+1)
			if cfg.FlushMessages > 0 {
				say('s', l.SyncedOffset())
			}
		case op < 90:
			if syncer {
				continue
			}
			end := l.EndOffset()
			require.NoError(t, l.Sync())
			require.GreaterOrEqual(t, l.SyncedOffset(), end)
			say('s', l.SyncedOffset())
		case op < 93:
			require.NoError(t, l.Roll())
			say('s', l.SyncedOffset())
		case op < 98:
			_, err := l.ApplyRetention()
			require.NoError(t, err)
		default:
			start, end := l.StartOffset(), l.EndOffset()
			to := start + rng.Int64N((end-start)/8+1)
			_, err := l.DeleteRecordsBefore(to)
			require.NoError(t, err)
			say('d', to)
		}
	}
	stop.Store(true)
	wg.Wait()
	say('z', l.EndOffset())
	child.WaitForKill()
}

// crashReports is what a child reported, as maxima.
type crashReports struct {
	opened   bool
	appended int64 // offsets below survive a crash of the process
	synced   int64 // offsets below survive a crash of the machine
	start    int64 // the log start offset is at least this
	lines    int
}

func (r *crashReports) add(kind byte, v int64) {
	r.lines++
	switch kind {
	case 'o':
		r.opened = true
		r.appended = max(r.appended, v)
		r.synced = max(r.synced, v)
	case 'a':
		r.appended = max(r.appended, v)
	case 's':
		r.synced = max(r.synced, v)
	case 'd':
		r.start = max(r.start, v)
	}
}

// runCrashChild starts a TestCrashChild process on dir, kills it with
// SIGKILL at a random moment (sometimes during its Open, which then
// recovers what the previous child left, mostly while it appends) and
// returns what it reported before it died.
func runCrashChild(t *testing.T, rng *rand.Rand, dir string) *crashReports {
	t.Helper()
	rep := &crashReports{}
	before, opened := make(chan struct{}), make(chan struct{})
	child := crashtest.Start(t, &crashtest.Config{
		Test: "TestCrashChild",
		Dir:  dir,
		Seed: rng.Uint64(),
		Report: func(line string) error {
			kind, num, ok := strings.Cut(line, " ")
			v, err := strconv.ParseInt(num, 10, 64)
			if !ok || len(kind) != 1 || err != nil {
				return fmt.Errorf("bad report line %q", line)
			}
			rep.add(kind[0], v)
			switch kind[0] {
			case 'b':
				close(before)
			case 'o':
				close(opened)
			}
			return nil
		},
	})
	// Mostly kill while the child works; one time in five around its
	// Open, which then recovers what the previous child left.
	trigger, delay := opened, time.Duration(rng.Int64N(int64(120*time.Millisecond)))
	if rng.IntN(5) == 0 {
		trigger, delay = before, time.Duration(rng.Int64N(int64(15*time.Millisecond)))
	}
	require.NoError(t, child.KillAfter(trigger, delay))
	return rep
}

// TestCrashKill runs a child process (TestCrashChild) that appends and
// syncs, kills it with SIGKILL at a random moment, and checks what a reopen
// finds: every batch the child was told was appended (the page cache
// survives a process crash) and synced is there and intact, offsets are
// contiguous, nothing returned is garbage, the log start offset never goes
// back, OffsetForTimestamp agrees, and the log takes new appends. One cycle
// in three also simulates a machine crash first: the unsynced tail of the
// active segment is cut at a random byte or overwritten, and only what was
// synced must survive. One cycle in five does not reopen at all, so that the
// next child recovers (and may be killed while recovering). The directory
// carries over from cycle to cycle (-crash.cycles, -crash.seed).
func TestCrashKill(t *testing.T) {
	rng := crashRand(t)
	dir := crashDir(t)
	var (
		appended, synced, start int64 // floors: what must survive
		opens, tears, inOpen    int
		cuts                    int
		chk                     crashChecker
	)
	t0 := time.Now()
	cycles := crashCount("crash.cycles", *crashCycles, 5)
	for cycle := range cycles {
		rep := runCrashChild(t, rng, dir)
		if !rep.opened {
			inOpen++
		}
		appended = max(appended, rep.appended)
		synced = max(synced, rep.synced)
		start = max(start, rep.start)
		if rng.IntN(3) == 0 && crashTearUnsynced(t, rng, dir, synced) {
			tears++
			appended = synced
		}
		if cycle != cycles-1 && rng.IntN(5) == 0 {
			continue // the next child recovers
		}
		opens++
		l, err := Open(dir, crashConfig(rng))
		require.NoError(t, err, "cycle %d", cycle)
		requireCrashFiles(t, dir)
		if l.Stats().TruncatedBytes > 0 {
			cuts++
		}
		end := l.EndOffset()
		require.GreaterOrEqual(t, end, appended, "cycle %d: appended data lost", cycle)
		require.GreaterOrEqual(t, end, synced, "cycle %d: synced data lost", cycle)
		require.Equal(t, end, l.SyncedOffset(), "cycle %d", cycle)
		require.GreaterOrEqual(t, l.StartOffset(), start, "cycle %d: log start offset went back", cycle)
		require.LessOrEqual(t, l.StartOffset(), end)
		start = l.StartOffset()
		chk.requireRange(t, l, start, end)
		requireOffsetsForTimestamps(t, rng, l)

		// The log takes new appends, which continue its offsets.
		appendCrashBatches(t, rng, l, 1+rng.IntN(5), 20)
		require.NoError(t, l.Sync())
		chk.requireRange(t, l, end, l.EndOffset())
		appended, synced = l.EndOffset(), l.EndOffset()
		require.NoError(t, l.Close(), "cycle %d", cycle)
	}
	t.Logf("%d cycles in %v: %d killed before their Open returned, %d with a torn unsynced tail; "+
		"%d reopened and checked, %d of which cut a torn tail; log [%d, %d) in %d segments",
		cycles, time.Since(t0).Round(time.Millisecond), inOpen, tears, opens, cuts,
		start, appended, len(logFiles(t, dir)))
}

// crashTearUnsynced does to dir what a machine crash may do on top of a
// process crash: lose or garble bytes of the last .log past what was
// synced. Only bytes past the first batch that holds offsets at or past
// both synced (what the child reported) and the checkpoint's recovery point
// are touched; they are cut at a random byte, then sometimes followed by
// zeros (a size that reached the disk before the data) or random bytes. It
// reports whether it changed anything.
func crashTearUnsynced(t *testing.T, rng *rand.Rand, dir string, synced int64) bool {
	t.Helper()
	cp, found, err := readCheckpointFile(fs.Default, dir)
	require.NoError(t, err)
	if found {
		synced = max(synced, cp.RecoveryPoint)
	}
	files := logFiles(t, dir)
	if len(files) == 0 {
		return false
	}
	path := files[len(files)-1]
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	p := 0
	for p < len(data) {
		h, err := record.ParseBatchHeader(data[p:])
		if err != nil || h.NextOffset() > synced {
			break // a torn batch, or one holding unsynced offsets
		}
		p += h.Size()
	}
	if p >= len(data) {
		return false
	}
	cut := p + rng.IntN(len(data)-p)
	tail := data[cut:]
	switch rng.IntN(3) {
	case 0:
		tail = nil
	case 1:
		clear(tail)
	default:
		for i := range tail {
			tail[i] = byte(rng.Uint32())
		}
	}
	torn := append(data[:cut:cut], tail...)
	if bytes.Equal(torn, data) {
		return false
	}
	require.NoError(t, os.WriteFile(path, torn, 0o644))
	return true
}

// requireCrashFiles checks that an open log's directory holds only its
// files: segments, their indexes and the checkpoint (no leftovers of an
// interrupted deletion or atomic replace), and that every index has its
// .log.
func requireCrashFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	logs := make(map[string]bool)
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), segment.LogSuffix); ok {
			logs[name] = true
		}
	}
	for _, e := range entries {
		name := e.Name()
		if name == CheckpointFile {
			continue
		}
		ext := filepath.Ext(name)
		require.Contains(t, []string{segment.LogSuffix, segment.IndexSuffix, segment.TimeIndexSuffix}, ext, "leftover file %s", name)
		require.True(t, logs[strings.TrimSuffix(name, ext)], "%s without its .log", name)
	}
}

// requireOffsetsForTimestamps checks OffsetForTimestamp at a few random
// offsets, at both ends and past the end (record o has timestamp
// crashT0+o).
func requireOffsetsForTimestamps(t *testing.T, rng *rand.Rand, l *Log) {
	t.Helper()
	start, end := l.StartOffset(), l.EndOffset()
	got, err := l.OffsetForTimestamp(Earliest)
	require.NoError(t, err)
	require.Equal(t, start, got)
	got, err = l.OffsetForTimestamp(Latest)
	require.NoError(t, err)
	require.Equal(t, end, got)
	got, err = l.OffsetForTimestamp(crashT0 + end)
	require.NoError(t, err)
	require.Equal(t, NoOffset, got)
	if end == start {
		return
	}
	for _, o := range []int64{start, end - 1, start + rng.Int64N(end-start), start + rng.Int64N(end-start)} {
		got, err := l.OffsetForTimestamp(crashT0 + o)
		require.NoError(t, err)
		require.Equal(t, o, got, "offset for timestamp %d", crashT0+o)
	}
	got, err = l.OffsetForTimestamp(0)
	require.NoError(t, err)
	require.Equal(t, start, got)
}

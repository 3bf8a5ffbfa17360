package log

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/crashtest"
	"github.com/samsalog/samsa/record"
	"github.com/samsalog/samsa/segment"
)

// Flags of the crash and corruption tests (crash_test.go, corrupt_test.go).
var (
	crashSeed = crashtest.SeedFlag("crash.seed",
		"seed of the randomized crash and corruption tests (0: from the clock); every test logs the seed it used")
	crashCycles = flag.Int("crash.cycles", 20, "kill-and-recover cycles of TestCrashKill")
	crashFlips  = flag.Int("crash.flips", 150, "bit flips of TestCrashBitFlips")
	// Known bugs found by these tests (plan/API.md, "crash-test
	// findings") are skipped, or only logged by the randomized tests,
	// unless this is set; their owners set it to check a fix.
	crashFindings = flag.Bool("crash.findings", false, "fail on the known findings of the crash tests instead of skipping them")
)

// crashCount returns the value of the count flag name (n), or short
// under -short unless the flag was set explicitly.
func crashCount(name string, n, short int) int {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	if testing.Short() && !set {
		return short
	}
	return n
}

// skipKnownFinding skips a test or case that fails because of a known
// finding, unless -crash.findings. No finding is open at the moment (F1-F5
// are fixed); kept for the next ones.
//
//lint:ignore U1000 kept for the next findings (see above)
func skipKnownFinding(t *testing.T, finding string) {
	t.Helper()
	if !*crashFindings {
		t.Skipf("known finding %s (plan/API.md, crash-test findings); run with -crash.findings to check a fix", finding)
	}
}

// crashRand returns the test's random source, derived from the run's seed
// (-crash.seed or the clock, read once so that one flag replays every test
// of a run) and the test's name, and logs the seed at once and again on
// failure.
func crashRand(t *testing.T) *rand.Rand {
	t.Helper()
	return crashSeed.Rand(t)
}

// crashDir returns a new, empty directory for a test's logs. It is removed
// when the test ends, unless the test failed: its path is then logged and
// the files are kept for inspection.
func crashDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "samsa-crash-")
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kept the data directory %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	return dir
}

// crashT0 is the timestamp of offset 0: record o has timestamp crashT0+o,
// so timestamps strictly increase with offsets and OffsetForTimestamp of
// crashT0+o must answer o.
const crashT0 = 1_700_000_000_000

// splitmix64 is a good enough mixing function to derive record contents
// from an offset.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// crashRecord returns the record that the crash and corruption tests store
// at offset o. Everything in it derives from o alone, so a reader can check
// any record byte for byte whichever process wrote it and however it was
// batched or compressed, and a record returned under a wrong offset does
// not match. About one record in 89 is big (12-16 KiB), so that some
// batches are bigger than an index interval or a small segment.
func crashRecord(o int64) record.Record {
	h := splitmix64(uint64(o))
	var key []byte
	if h%3 != 0 {
		key = fmt.Appendf(nil, "key-%d", o)
	}
	n := int(h >> 8 % 200)
	if h>>32%89 == 0 {
		n = 12<<10 + int(h>>40%4096)
	}
	v := make([]byte, 8+n)
	binary.BigEndian.PutUint64(v, uint64(o))
	// Compressible, and different for every offset.
	for i := 8; i < len(v); i++ {
		v[i] = "abcdefghijklmnop"[(h>>(i%61)+uint64(i/16))%16]
	}
	var hdrs []record.Header
	if h%5 == 0 {
		hdrs = []record.Header{{Key: "offset", Value: fmt.Appendf(nil, "%d", o)}}
	}
	return record.Record{Key: key, Value: v, Headers: hdrs, Timestamp: time.UnixMilli(crashT0 + o)}
}

// crashCodecs are the codecs crashBatch picks from; none is the most
// frequent.
var crashCodecs = []record.Compression{
	record.CompressionNone, record.CompressionNone, record.CompressionNone,
	record.CompressionGzip, record.CompressionSnappy, record.CompressionLZ4, record.CompressionZstd,
}

// crashBatch encodes the records of offsets base .. base+n-1 (crashRecord)
// as one batch with the given codec.
func crashBatch(enc *record.Encoder, base int64, n int, codec record.Compression) ([]byte, error) {
	recs := make([]record.Record, n)
	for i := range recs {
		recs[i] = crashRecord(base + int64(i))
	}
	return enc.AppendBatch(nil, recs, record.BatchOptions{Compression: codec, LeaderEpoch: record.NoLeaderEpoch})
}

// errGarbage marks a record that was returned but is not the one written
// at its offset, or offsets that are not contiguous: what the storage
// engine must never return.
var errGarbage = errors.New("garbage returned")

// crashChecker decodes what a log returns and compares it with crashRecord.
type crashChecker struct {
	dec  record.Decoder
	recs []record.Record
}

// checkRecord compares one decoded record with crashRecord.
func checkRecord(r *record.Record) error {
	want := crashRecord(r.Offset)
	switch {
	case !bytes.Equal(r.Key, want.Key) || (r.Key == nil) != (want.Key == nil):
		return fmt.Errorf("%w: offset %d: key %q, want %q", errGarbage, r.Offset, r.Key, want.Key)
	case !bytes.Equal(r.Value, want.Value):
		return fmt.Errorf("%w: offset %d: value of %d bytes differs from the %d written", errGarbage, r.Offset, len(r.Value), len(want.Value))
	case r.Timestamp.UnixMilli() != want.Timestamp.UnixMilli():
		return fmt.Errorf("%w: offset %d: timestamp %d, want %d", errGarbage, r.Offset, r.Timestamp.UnixMilli(), want.Timestamp.UnixMilli())
	case len(r.Headers) != len(want.Headers):
		return fmt.Errorf("%w: offset %d: %d headers, want %d", errGarbage, r.Offset, len(r.Headers), len(want.Headers))
	}
	for i, h := range r.Headers {
		if h.Key != want.Headers[i].Key || !bytes.Equal(h.Value, want.Headers[i].Value) {
			return fmt.Errorf("%w: offset %d: header %d differs", errGarbage, r.Offset, i)
		}
	}
	return nil
}

// checkBatch decodes the batch at the start of data and checks its records
// against crashRecord and against next, the offset expected after the
// previous record (records below next are allowed only when skipBelow: the
// first batch of a Read may start before the offset asked for). It returns
// the batch's size and the offset expected after it. A decoding error is
// returned as is (it must match record.ErrCorrupt); wrong contents or
// offsets match errGarbage.
func (c *crashChecker) checkBatch(data []byte, next int64, skipBelow bool) (size int, newNext int64, err error) {
	h, recs, err := c.dec.Decode(data, c.recs[:0])
	if err != nil {
		return 0, next, err
	}
	c.recs = recs
	for i := range recs {
		r := &recs[i]
		if r.Offset < next && skipBelow {
			if err := checkRecord(r); err != nil {
				return 0, next, err
			}
			continue
		}
		if r.Offset != next {
			return 0, next, fmt.Errorf("%w: offset %d where %d was expected (batch base %d)", errGarbage, r.Offset, next, h.BaseOffset)
		}
		if err := checkRecord(r); err != nil {
			return 0, next, err
		}
		next++
	}
	if h.NextOffset() > next {
		// No gaps in these logs: a batch ends with its last record.
		return 0, next, fmt.Errorf("%w: batch %d..%d ends after its last record %d", errGarbage, h.BaseOffset, h.LastOffset(), next-1)
	}
	return h.Size(), next, nil
}

// requireRange reads [from, to) from l, whole, and checks every record.
func (c *crashChecker) requireRange(t *testing.T, l *Log, from, to int64) {
	t.Helper()
	next := from
	for next < to {
		v, err := l.Read(next, 256<<10, -1)
		require.NoError(t, err, "read at %d (log [%d, %d))", next, l.StartOffset(), l.EndOffset())
		require.NotZero(t, v.Len(), "empty read at %d (log [%d, %d))", next, l.StartOffset(), l.EndOffset())
		data := v.Data
		first := true
		for len(data) > 0 {
			n, nn, err := c.checkBatch(data, next, first)
			if err != nil {
				v.Release()
				require.NoError(t, err, "reading from %d", next)
			}
			first = false
			data, next = data[n:], nn
		}
		v.Release()
	}
	require.Equal(t, to, next)
}

// appendCrashBatches appends count batches of crash records (1..maxRecs
// records, random codecs) at the end of l.
func appendCrashBatches(t *testing.T, rng *rand.Rand, l *Log, count, maxRecs int) {
	t.Helper()
	var enc record.Encoder
	for range count {
		next := l.EndOffset()
		n := 1 + rng.IntN(maxRecs)
		b, err := crashBatch(&enc, next, n, crashCodecs[rng.IntN(len(crashCodecs))])
		require.NoError(t, err)
		base, last, err := l.Append(b)
		require.NoError(t, err)
		require.Equal(t, next, base)
		require.Equal(t, next+int64(n)-1, last)
	}
}

// crashBatchInfo describes one batch of a .log file.
type crashBatchInfo struct {
	pos, size  int64
	base, next int64
}

// crashBatches parses the batch headers of a whole .log file.
func crashBatches(t *testing.T, path string) []crashBatchInfo {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []crashBatchInfo
	for p := 0; p < len(data); {
		h, err := record.CheckBatch(data[p:])
		require.NoError(t, err, "%s at %d", path, p)
		out = append(out, crashBatchInfo{pos: int64(p), size: int64(h.Size()), base: h.BaseOffset, next: h.NextOffset()})
		p += h.Size()
	}
	return out
}

// requireTypedCorrupt checks that err reports damage in file as it must:
// matching ErrCorrupt or record.ErrCorrupt, and locating it with a
// *CorruptError (of this package or of segment) naming file.
func requireTypedCorrupt(t *testing.T, err error, file, what string) {
	t.Helper()
	require.Error(t, err, what)
	require.True(t, errors.Is(err, ErrCorrupt) || errors.Is(err, record.ErrCorrupt),
		"%s: untyped error %v", what, err)
	var lce *CorruptError
	var sce *segment.CorruptError
	switch {
	case errors.As(err, &lce):
		require.Equal(t, file, lce.File, "%s: %v", what, err)
	case errors.As(err, &sce):
		require.Equal(t, file, sce.File, "%s: %v", what, err)
	default:
		require.Fail(t, "no *CorruptError naming the file", "%s: %v", what, err)
	}
}

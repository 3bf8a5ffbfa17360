package log

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/record"
	"github.com/samsalog/samsa/segment"
)

// makeBatch encodes n records whose values carry their intended record
// number (id, id+1, ...) padded to valueSize, with timestamps ts, ts+1, ...
func makeBatch(t testing.TB, id int64, n, valueSize int, ts int64) []byte {
	t.Helper()
	var enc record.Encoder
	recs := make([]record.Record, n)
	for i := range recs {
		v := make([]byte, max(valueSize, 8))
		binary.BigEndian.PutUint64(v, uint64(id+int64(i)))
		recs[i] = record.Record{Key: []byte("k"), Value: v, Timestamp: time.UnixMilli(ts + int64(i))}
	}
	b, err := enc.AppendBatch(nil, recs, record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch})
	require.NoError(t, err)
	return b
}

// noTimestamps rewrites a batch's base and max timestamps to -1 (a batch
// without timestamps) and fixes its CRC.
func noTimestamps(b []byte) []byte {
	binary.BigEndian.PutUint64(b[27:], ^uint64(0))
	binary.BigEndian.PutUint64(b[35:], ^uint64(0))
	binary.BigEndian.PutUint32(b[17:], record.ComputeCRC(b))
	return b
}

// decodeAll decodes every batch in data and returns the record values'
// numbers keyed by offset, checking each record's offset.
func decodeAll(t testing.TB, data []byte) (offsets []int64, ids []int64) {
	t.Helper()
	var d record.Decoder
	var recs []record.Record
	for len(data) > 0 {
		h, err := record.CheckBatch(data)
		require.NoError(t, err)
		_, recs, err = d.Decode(data[:h.Size()], recs[:0])
		require.NoError(t, err)
		for _, r := range recs {
			offsets = append(offsets, r.Offset)
			ids = append(ids, int64(binary.BigEndian.Uint64(r.Value)))
		}
		data = data[h.Size():]
	}
	return offsets, ids
}

// readAll reads every record from offset from to the end of the log and
// checks that record i has offset i and value id i (the tests append
// records numbered by the offset they expect).
func readAll(t testing.TB, l *Log, from int64) int64 {
	t.Helper()
	next := from
	for next < l.EndOffset() {
		v, err := l.Read(next, 4096, -1)
		require.NoError(t, err)
		require.NotZero(t, v.Len(), "empty read at %d (end %d)", next, l.EndOffset())
		offs, ids := decodeAll(t, v.Data)
		v.Release()
		for i, o := range offs {
			require.Equal(t, o, ids[i], "record at offset %d carries id %d", o, ids[i])
			if o >= next {
				require.Equal(t, next, o, "offsets not contiguous")
				next = o + 1
			}
		}
	}
	return next
}

// appendN appends count batches of 1..maxRecs records with value ids equal
// to their expected offsets and timestamps ts0+offset.
func appendN(t testing.TB, l *Log, count, maxRecs, valueSize int, ts0 int64) {
	t.Helper()
	for i := range count {
		n := 1 + i%maxRecs
		next := l.EndOffset()
		b := makeBatch(t, next, n, valueSize, ts0+next)
		base, last, err := l.Append(b)
		require.NoError(t, err)
		require.Equal(t, next, base)
		require.Equal(t, next+int64(n)-1, last)
	}
}

func openLog(t testing.TB, dir string, cfg *Config) *Log {
	t.Helper()
	l, err := Open(dir, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// crashCopy copies the files of a log directory as they are now, as if the
// machine stopped with the page cache written back but no Close: an
// unclean stop. The copy is a new t.TempDir.
func crashCopy(t testing.TB, dir string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
	return dst
}

func logFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.log"))
	require.NoError(t, err)
	return m
}

// clock is a settable clock for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.UnixMilli(1_700_000_000_000)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// countingFS counts fdatasyncs of .log files and bytes read from them, and
// can slow syncs down.
type countingFS struct {
	fs.FS
	logSyncs     atomic.Int64
	logReadBytes atomic.Int64
	syncDelay    time.Duration
}

func newCountingFS() *countingFS { return &countingFS{FS: fs.Default} }

func (c *countingFS) OpenFile(name string, flag int, perm os.FileMode) (fs.File, error) {
	f, err := c.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &countingFile{File: f, fs: c, isLog: strings.HasSuffix(name, segment.LogSuffix)}, nil
}

type countingFile struct {
	fs.File
	fs    *countingFS
	isLog bool
}

func (f *countingFile) Sync() error {
	if f.isLog {
		f.fs.logSyncs.Add(1)
		if f.fs.syncDelay > 0 {
			time.Sleep(f.fs.syncDelay)
		}
	}
	return f.File.Sync()
}

func (f *countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	if f.isLog {
		f.fs.logReadBytes.Add(int64(n))
	}
	return n, err
}

// flipByte XORs one byte of a file.
func flipByte(t testing.TB, path string, pos int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	var b [1]byte
	_, err = f.ReadAt(b[:], pos)
	require.NoError(t, err)
	b[0] ^= 0x40
	_, err = f.WriteAt(b[:], pos)
	require.NoError(t, err)
}

// batchPositions returns the start position of each batch of a .log file
// and the file size.
func batchPositions(t testing.TB, path string) ([]int64, int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var pos []int64
	p := 0
	for p < len(data) {
		h, err := record.ParseBatchHeader(data[p:])
		require.NoError(t, err)
		pos = append(pos, int64(p))
		p += h.Size()
	}
	return pos, int64(len(data))
}

// noSyncFS skips fsyncs, for tests of recovery logic that reopen logs many
// times and do not test durability.
type noSyncFS struct{ fs.FS }

func (n noSyncFS) OpenFile(name string, flag int, perm os.FileMode) (fs.File, error) {
	f, err := n.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return noSyncFile{f}, nil
}

func (noSyncFS) SyncDir(string) error { return nil }

type noSyncFile struct{ fs.File }

func (noSyncFile) Sync() error { return nil }

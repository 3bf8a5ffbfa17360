package partition

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/log"
)

// window is a producer's state as a comparable value.
type window struct {
	epoch   int16
	batches []batchMetadata
}

func windows(s *producerStates) map[int64]window {
	out := make(map[int64]window)
	for pid, e := range s.m {
		w := window{epoch: e.epoch}
		for i := range e.n {
			w.batches = append(w.batches, e.batches[(e.head+i)%producerWindow])
		}
		out[pid] = w
	}
	return out
}

func newTestStates() *producerStates {
	return newProducerStates(DefaultProducerIDExpiration, false)
}

func TestSnapshotEncoding(t *testing.T) {
	s := newTestStates()
	// Producer 7: one batch, sequences 3..5 at offsets 10..12.
	s.record(7, 2, batchMetadata{lastSeq: 5, offsetDelta: 2, lastOffset: 12, timestamp: 1000})
	// Producer 3: eight batches, of which the last five stay.
	for i := range int32(8) {
		s.record(3, 0, batchMetadata{lastSeq: i, lastOffset: 20 + int64(i), timestamp: 2000 + int64(i)})
	}
	data := s.encodeSnapshot()
	require.Len(t, data, snapshotHeaderSize+6*snapshotEntrySize)

	// The header and the last entry, byte by byte (kafka-internals §3.5).
	require.Equal(t, []byte{0, 1}, data[0:2], "version")
	require.Equal(t, crc32.Checksum(data[6:], crc32.MakeTable(crc32.Castagnoli)), binary.BigEndian.Uint32(data[2:]))
	require.Equal(t, []byte{0, 0, 0, 6}, data[6:10], "count")
	want := []byte{
		0, 0, 0, 0, 0, 0, 0, 7, // producerId
		0, 2, // epoch
		0, 0, 0, 5, // lastSequence
		0, 0, 0, 0, 0, 0, 0, 12, // lastOffset
		0, 0, 0, 2, // offsetDelta
		0, 0, 0, 0, 0, 0, 0x03, 0xe8, // timestamp 1000
		0xff, 0xff, 0xff, 0xff, // coordinatorEpoch -1
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // currentTxnFirstOffset -1
	}
	require.Equal(t, want, data[len(data)-snapshotEntrySize:], "producer 7, after producer 3")
	// Producer 3's entries, oldest first: sequences 3..7.
	for i := range 5 {
		e := data[snapshotHeaderSize+i*snapshotEntrySize:]
		require.Equal(t, int64(3), int64(binary.BigEndian.Uint64(e)))
		require.Equal(t, int32(3+i), int32(binary.BigEndian.Uint32(e[10:])))
	}

	// Round trip.
	got := newTestStates()
	require.NoError(t, got.decodeSnapshot(data, 28))
	require.Equal(t, windows(s), windows(got))
	require.Equal(t, int64(2), got.count.Load())
	// An empty state is a 10-byte snapshot.
	empty := newTestStates().encodeSnapshot()
	require.Len(t, empty, snapshotHeaderSize)
	require.NoError(t, newTestStates().decodeSnapshot(empty, 0))
}

func TestSnapshotDecodeRejects(t *testing.T) {
	s := newTestStates()
	s.record(1, 0, batchMetadata{lastSeq: 1, offsetDelta: 1, lastOffset: 1})
	s.record(1, 0, batchMetadata{lastSeq: 2, lastOffset: 2})
	s.record(2, 0, batchMetadata{lastSeq: 0, lastOffset: 3})
	good := s.encodeSnapshot()
	require.NoError(t, newTestStates().decodeSnapshot(good, 4))

	recrc := func(b []byte) []byte {
		binary.BigEndian.PutUint32(b[2:], crc32.Checksum(b[6:], castagnoli))
		return b
	}
	entry := func(b []byte, i int) []byte { return b[snapshotHeaderSize+i*snapshotEntrySize:] }
	cases := []struct {
		name   string
		offset int64
		edit   func(b []byte) []byte
	}{
		{"empty", 4, func([]byte) []byte { return nil }},
		{"short header", 4, func(b []byte) []byte { return b[:9] }},
		{"version 0", 4, func(b []byte) []byte { b[1] = 0; return b }},
		{"version 2", 4, func(b []byte) []byte { b[1] = 2; return b }},
		{"bit flip in the CRC", 4, func(b []byte) []byte { b[3] ^= 0x10; return b }},
		{"bit flip in the count", 4, func(b []byte) []byte { b[9] ^= 1; return b }},
		{"bit flip in an entry", 4, func(b []byte) []byte { b[40] ^= 4; return b }},
		{"truncated entry", 4, func(b []byte) []byte { return recrc(b[:len(b)-1]) }},
		{"count too large", 4, func(b []byte) []byte { b[9]++; return recrc(b) }},
		{"negative count", 4, func(b []byte) []byte { b[6] = 0x80; return recrc(b) }},
		{"negative producer id", 4, func(b []byte) []byte { entry(b, 0)[0] = 0x80; return recrc(b) }},
		{"negative epoch", 4, func(b []byte) []byte { entry(b, 2)[8] = 0x80; return recrc(b) }},
		{"negative sequence", 4, func(b []byte) []byte { entry(b, 1)[10] = 0x80; return recrc(b) }},
		{"negative offset delta", 4, func(b []byte) []byte { entry(b, 0)[22] = 0x80; return recrc(b) }},
		{"first offset below 0", 4, func(b []byte) []byte { entry(b, 0)[25] = 5; return recrc(b) }},
		{"offset at the snapshot's", 3, func(b []byte) []byte { return b }},
		{"offsets not increasing", 4, func(b []byte) []byte { entry(b, 1)[21] = 1; return recrc(b) }},
		{"producer again after others", 4, func(b []byte) []byte {
			binary.BigEndian.PutUint64(entry(b, 2), 1)
			binary.BigEndian.PutUint64(entry(b, 1), 2)
			return recrc(b)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := newTestStates().decodeSnapshot(tc.edit(slices.Clone(good)), tc.offset)
			require.ErrorIs(t, err, errBadSnapshot)
		})
	}
}

// logBuffer returns a log config whose Logger writes into the returned
// buffer.
func logBuffer() (log.Config, *bytes.Buffer) {
	var buf bytes.Buffer
	return log.Config{Logger: slog.New(slog.NewTextHandler(&buf, nil))}, &buf
}

// snapshots returns the offsets of the snapshot files in dir.
func snapshots(t testing.TB, dir string) []int64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var offs []int64
	for _, e := range entries {
		if off, ok := parseSnapshotName(e.Name()); ok {
			offs = append(offs, off)
		}
	}
	return offs
}

// producerRun is what a test producer sent: per batch its sequence range
// and the offsets it got.
type producerRun struct {
	pid     int64
	epoch   int16
	seq     int32 // next sequence
	batches []sentBatch
	now     func() time.Time // the records' timestamps; nil: time.Now
}

type sentBatch struct {
	seq int32
	n   int
	res AppendResult
}

func (r *producerRun) send(t testing.TB, p *Partition, n int) {
	t.Helper()
	now := time.Now
	if r.now != nil {
		now = r.now
	}
	res, err := p.Append(idemBatch(t, r.pid, r.epoch, r.seq, n, now().UnixMilli()))
	require.NoError(t, err)
	require.False(t, res.Duplicate)
	r.batches = append(r.batches, sentBatch{seq: r.seq, n: n, res: res})
	r.seq += int32(n)
}

// requireWindow checks that p remembers the last five batches of r: each
// retry is a duplicate with its original offsets, the one before is out
// of order. It appends nothing.
func (r *producerRun) requireWindow(t testing.TB, p *Partition) {
	t.Helper()
	end := p.LogEndOffset()
	for i, b := range slices.Backward(r.batches) {
		res, err := p.Append(idemBatch(t, r.pid, r.epoch, b.seq, b.n, time.Now().UnixMilli()))
		if i < len(r.batches)-producerWindow {
			require.ErrorIs(t, err, ErrOutOfOrderSequence, "producer %d, batch %d", r.pid, i)
			break
		}
		require.NoError(t, err, "producer %d, batch %d", r.pid, i)
		want := b.res
		want.Duplicate = true
		want.LogStartOffset = res.LogStartOffset
		want.LogAppendTime = res.LogAppendTime
		require.Equal(t, want, res, "producer %d, batch %d", r.pid, i)
	}
	require.Equal(t, end, p.LogEndOffset(), "a retry was appended")
}

// sendSome has two producers send seven batches each, interleaved.
func sendSome(t testing.TB, p *Partition) []*producerRun {
	t.Helper()
	runs := []*producerRun{{pid: 4, epoch: 1}, {pid: 9, seq: 100}}
	for i := range 7 {
		for _, r := range runs {
			r.send(t, p, 1+i%3)
		}
	}
	return runs
}

func TestRestartKeepsWindow(t *testing.T) {
	dir := t.TempDir()
	p, err := Open(dir, "orders", 3, nil)
	require.NoError(t, err)
	runs := sendSome(t, p)
	end := p.LogEndOffset()
	require.NoError(t, p.Close())
	require.Equal(t, []int64{end}, snapshots(t, dir))

	lc, logs := logBuffer()
	p = openPartition(t, dir, &Config{Log: lc})
	require.True(t, p.Stats().Log.CleanOpen)
	require.Equal(t, 2, p.Stats().Producers)
	require.NotContains(t, logs.String(), "rebuilt", "a clean Open replayed the log")
	for _, r := range runs {
		r.requireWindow(t, p)
		r.send(t, p, 2) // the producers go on
	}
	// A second Close, a second Open, without appends in between: Close
	// writes no new snapshot when one is at the log end offset.
	require.NoError(t, p.Close())
	p = openPartition(t, dir, nil)
	end = p.LogEndOffset()
	require.NoError(t, p.Close())
	info, err := os.Stat(filepath.Join(dir, snapshotName(end)))
	require.NoError(t, err)
	p = openPartition(t, dir, nil)
	require.NoError(t, p.Close())
	info2, err := os.Stat(filepath.Join(dir, snapshotName(end)))
	require.NoError(t, err)
	require.True(t, os.SameFile(info, info2), "an idle Close rewrote the snapshot (a rename makes a new file)")
	require.Len(t, snapshots(t, dir), 2)
}

func TestSnapshotCorruptRebuilds(t *testing.T) {
	for _, where := range []struct {
		name string
		edit func(b []byte)
	}{
		{"bit flip in an entry", func(b []byte) { b[len(b)-30] ^= 0x20 }},
		{"bit flip in the CRC", func(b []byte) { b[4] ^= 1 }},
		{"version", func(b []byte) { b[1] = 9 }},
		{"truncated", nil},
	} {
		t.Run(where.name, func(t *testing.T) {
			dir := t.TempDir()
			p, err := Open(dir, "orders", 3, nil)
			require.NoError(t, err)
			runs := sendSome(t, p)
			end := p.LogEndOffset()
			require.NoError(t, p.Close())
			path := filepath.Join(dir, snapshotName(end))
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			if where.edit != nil {
				where.edit(data)
			} else {
				data = data[:len(data)-7]
			}
			require.NoError(t, os.WriteFile(path, data, 0o644))

			lc, logs := logBuffer()
			p = openPartition(t, dir, &Config{Log: lc})
			require.Contains(t, logs.String(), "damaged producer snapshot")
			require.Contains(t, logs.String(), "rebuilt producer state from the log")
			for _, r := range runs {
				r.requireWindow(t, p)
			}
			// The damaged snapshot was replaced by one rebuilt at Open.
			data, err = os.ReadFile(path)
			require.NoError(t, err)
			require.NoError(t, newTestStates().decodeSnapshot(data, end))
		})
	}
}

func TestNoSnapshotReplaysWholeLog(t *testing.T) {
	dir := t.TempDir()
	p, err := Open(dir, "orders", 3, &Config{Log: log.Config{SegmentBytes: 256}})
	require.NoError(t, err)
	runs := sendSome(t, p)
	require.Greater(t, p.Stats().Log.Segments, 3)
	require.NoError(t, p.Close())
	for _, off := range snapshots(t, dir) {
		require.NoError(t, os.Remove(filepath.Join(dir, snapshotName(off))))
	}
	lc, logs := logBuffer()
	lc.SegmentBytes = 256
	p = openPartition(t, dir, &Config{Log: lc})
	require.Contains(t, logs.String(), "from=0 ")
	for _, r := range runs {
		r.requireWindow(t, p)
	}
}

func TestSnapshotAheadOfLogDeleted(t *testing.T) {
	dir := t.TempDir()
	p, err := Open(dir, "orders", 3, nil)
	require.NoError(t, err)
	runs := sendSome(t, p)
	end := p.LogEndOffset()
	require.NoError(t, p.Close())
	// A snapshot past the log end offset, as a power loss that cut the
	// log's unsynced tail would leave: it describes records the log does
	// not have and must not be used.
	other := newTestStates()
	other.record(4, 1, batchMetadata{lastSeq: 1000, lastOffset: end + 5, timestamp: time.Now().UnixMilli()})
	require.NoError(t, os.WriteFile(filepath.Join(dir, snapshotName(end+10)), other.encodeSnapshot(), 0o644))
	p = openPartition(t, dir, nil)
	require.Equal(t, []int64{end}, snapshots(t, dir))
	for _, r := range runs {
		r.requireWindow(t, p)
	}
}

// copyDir copies the regular files of dir into a new directory: what a
// crash of the process (the page cache survives) would leave on disk.
func copyDir(t testing.TB, dir string) string {
	t.Helper()
	to := t.TempDir()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(to, e.Name()), data, 0o644))
	}
	return to
}

// TestSnapshotAtRoll: a snapshot is written at every roll, at the new
// segment's base offset; the two newest are kept; and a crash (a copy of
// the directory while the partition is open) replays only the batches
// after the newest.
func TestSnapshotAtRoll(t *testing.T) {
	dir := t.TempDir()
	cfg := &Config{Log: log.Config{SegmentBytes: 256}}
	p := openPartition(t, dir, cfg)
	runs := sendSome(t, p)
	for range 3 {
		for _, r := range runs {
			r.send(t, p, 2)
		}
	}
	segs := p.Stats().Log.Segments
	require.Greater(t, segs, 3)
	snaps := snapshots(t, dir)
	require.Len(t, snaps, 2)
	var bases []int64
	for _, e := range must(os.ReadDir(dir)) {
		if num, ok := strings.CutSuffix(e.Name(), ".log"); ok {
			off, _ := parseSnapshotName(num + snapshotSuffix)
			bases = append(bases, off)
		}
	}
	require.Equal(t, bases[len(bases)-2:], snaps, "snapshots at the two newest segments' bases")

	crashed := copyDir(t, dir)
	lc, logs := logBuffer()
	lc.SegmentBytes = 256
	q := openPartition(t, crashed, &Config{Log: lc})
	require.False(t, q.Stats().Log.CleanOpen)
	require.Contains(t, logs.String(), "rebuilt producer state from the log")
	require.Contains(t, logs.String(), "from="+strconv.FormatInt(snaps[1], 10)+" ")
	for _, r := range runs {
		r.requireWindow(t, q)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestProducerExpiry(t *testing.T) {
	dir := t.TempDir()
	clock := time.Now()
	cfg := &Config{Now: func() time.Time { return clock }, Log: log.Config{SegmentBytes: 1024}}
	p, err := Open(dir, "orders", 3, cfg)
	require.NoError(t, err)
	now := func() time.Time { return clock }
	old := &producerRun{pid: 1, now: now}
	old.send(t, p, 1)
	// A producer is aged from the first expiry pass after its last append
	// (an append reads no clock): here the pass of Close.
	require.NoError(t, p.Close())
	p, err = Open(dir, "orders", 3, cfg)
	require.NoError(t, err)
	clock = clock.Add(DefaultProducerIDExpiration - time.Minute)
	young := &producerRun{pid: 2, now: now}
	young.send(t, p, 1)
	clock = clock.Add(2 * time.Minute)
	// Until a snapshot is written nothing expires.
	require.Equal(t, 2, p.Stats().Producers)
	// A roll writes one: producer 1 is gone, producer 2 is not.
	for p.Stats().Log.Rolls == 0 {
		young.send(t, p, 3)
	}
	require.Equal(t, 1, p.Stats().Producers)
	require.NoError(t, p.Close())

	p = openPartition(t, dir, cfg)
	require.Equal(t, 1, p.Stats().Producers)
	young.requireWindow(t, p)
	// The expired producer is new again: its retry is appended again, and
	// any sequence goes.
	res, err := p.Append(idemBatch(t, 1, 0, 0, 1, clock.UnixMilli()))
	require.NoError(t, err)
	require.False(t, res.Duplicate)
	_, err = p.Append(idemBatch(t, 1, 0, 7, 1, clock.UnixMilli()))
	require.ErrorIs(t, err, ErrOutOfOrderSequence)

	require.ErrorIs(t, (&Config{ProducerIDExpiration: -1}).Validate(), ErrInvalidConfig)
}

// TestProducerStateAfterDeleteRecords: the state of producers whose
// records are all deleted is dropped at the next Open, as Kafka drops it.
func TestProducerStateAfterDeleteRecords(t *testing.T) {
	dir := t.TempDir()
	p, err := Open(dir, "orders", 3, nil)
	require.NoError(t, err)
	runs := sendSome(t, p)
	require.NoError(t, p.Close())
	p, err = Open(dir, "orders", 3, nil)
	require.NoError(t, err)
	_, err = p.DeleteRecordsBefore(runs[1].batches[6].res.BaseOffset) // producer 4's last batch is below
	require.NoError(t, err)
	require.NoError(t, p.Close())
	p = openPartition(t, dir, nil)
	require.Equal(t, 1, p.Stats().Producers)
	runs[1].requireWindow(t, p)
	_, err = p.Append(idemBatch(t, 4, 1, 1234, 1, 0))
	require.NoError(t, err, "producer 4 is unknown again: any sequence")
}

// TestOldTimestampsKeepState: a producer writing old CreateTime timestamps
// (a replay of history) keeps its state across restarts and a crash;
// Kafka, which ages producers by their batches' timestamps, would expire
// it at once.
func TestOldTimestampsKeepState(t *testing.T) {
	dir := t.TempDir()
	p, err := Open(dir, "orders", 3, &Config{Log: log.Config{SegmentBytes: 256}})
	require.NoError(t, err)
	old := func() time.Time { return time.UnixMilli(1000) }
	r := &producerRun{pid: 5, now: old}
	for range 8 {
		r.send(t, p, 2)
	}
	crashed := copyDir(t, dir)
	require.NoError(t, p.Close())
	for _, d := range []string{dir, crashed} {
		q := openPartition(t, d, nil)
		require.Equal(t, 1, q.Stats().Producers)
		r.requireWindow(t, q)
	}
}

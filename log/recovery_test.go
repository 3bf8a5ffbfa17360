package log

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/record"
	"github.com/samsalog/samsa/segment"
)

func TestCleanReopenScansNothing(t *testing.T) {
	dir := t.TempDir()
	cfg := &Config{SegmentBytes: 64 << 10, IndexIntervalBytes: 1024}
	l := openLog(t, dir, cfg)
	appendN(t, l, 2000, 4, 100, 0)
	end := l.EndOffset()
	require.NoError(t, l.Close())
	var total int64
	for _, p := range logFiles(t, dir) {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		total += fi.Size()
	}

	cfs := newCountingFS()
	l2 := openLog(t, dir, &Config{SegmentBytes: 64 << 10, IndexIntervalBytes: 1024, FS: cfs})
	st := l2.Stats()
	require.True(t, st.CleanOpen)
	require.Zero(t, st.RecoveredSegments)
	require.Zero(t, st.RecoveredBytes)
	require.Equal(t, end, l2.EndOffset())
	require.Equal(t, end, l2.SyncedOffset())
	// Open reads batch headers only: the first one of each segment and
	// those after the last index entry (at most about one index interval).
	read := cfs.logReadBytes.Load()
	t.Logf("opened %d segments, %d bytes of .log: read %d bytes", st.Segments, total, read)
	maxPerSeg := int64(record.BatchHeaderSize) * (1 + 1024/100 + 2)
	require.LessOrEqual(t, read, int64(st.Segments)*maxPerSeg)
	require.Less(t, read*20, total)
	require.Equal(t, end, readAll(t, l2, 0))
}

func TestUncleanReopenRecovers(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, smallConfig())
	appendN(t, l, 200, 3, 40, 0)
	require.Greater(t, l.Segments(), 3)
	end := l.EndOffset()
	crashed := crashCopy(t, dir) // no Close: no clean marker
	require.NoError(t, l.Close())

	l2 := openLog(t, crashed, smallConfig())
	st := l2.Stats()
	require.False(t, st.CleanOpen)
	// Each roll checkpointed the recovery point at the new segment's
	// base: only the active segment is scanned.
	require.Equal(t, 1, st.RecoveredSegments)
	require.Positive(t, st.RecoveredBytes)
	require.Zero(t, st.TruncatedBytes)
	require.Equal(t, end, l2.EndOffset())
	require.Equal(t, end, l2.SyncedOffset())
	require.Equal(t, end, readAll(t, l2, 0))
	appendN(t, l2, 10, 3, 40, 0)
	require.Equal(t, l2.EndOffset(), readAll(t, l2, 0))
}

func TestRecoveryWithoutCheckpointScansAll(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, smallConfig())
	appendN(t, l, 100, 3, 40, 0)
	n := l.Segments()
	end := l.EndOffset()
	crashed := crashCopy(t, dir)
	require.NoError(t, os.Remove(filepath.Join(crashed, CheckpointFile)))
	// Indexes are caches: remove some too.
	require.NoError(t, os.Remove(segment.Filename(crashed, 0, segment.IndexSuffix)))
	l2 := openLog(t, crashed, smallConfig())
	require.Equal(t, n, l2.Stats().RecoveredSegments)
	require.Equal(t, end, readAll(t, l2, 0))
}

// TestTornTail cuts the active segment's file at every byte position of its
// last batches, as a crash during unsynced writes can, and checks that
// recovery keeps exactly the whole batches before the cut.
func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	cfg := &Config{SegmentBytes: 1 << 20, IndexIntervalBytes: 100, SegmentIndexBytes: 1024, FS: noSyncFS{fs.Default}}
	l := openLog(t, dir, cfg)
	appendN(t, l, 20, 3, 30, 0)
	require.NoError(t, l.Close()) // recovery point = 20 batches' end
	l = openLog(t, dir, cfg)
	synced := l.EndOffset()
	appendN(t, l, 3, 4, 30, 0) // unsynced, past the recovery point
	crashed := crashCopy(t, dir)
	require.NoError(t, l.Close())

	path := segment.Filename(crashed, 0, segment.LogSuffix)
	pos, size := batchPositions(t, path)
	orig, err := os.ReadFile(path)
	require.NoError(t, err)
	// Offsets at the start of each batch.
	var batchBase []int64
	for _, p := range pos {
		h, err := record.ParseBatchHeader(orig[p:])
		require.NoError(t, err)
		batchBase = append(batchBase, h.BaseOffset)
	}
	firstUnsynced := pos[len(pos)-3]
	for cut := firstUnsynced; cut < size; cut++ {
		// Whole batches below the cut survive.
		wantEnd := synced
		for i, p := range pos {
			if p < cut && i+1 < len(pos) && pos[i+1] <= cut {
				wantEnd = batchBase[i+1]
			}
		}
		work := crashCopy(t, crashed)
		require.NoError(t, os.Truncate(filepath.Join(work, filepath.Base(path)), cut))
		l2, err := Open(work, cfg)
		require.NoError(t, err, "cut at %d", cut)
		require.Equal(t, wantEnd, l2.EndOffset(), "cut at %d", cut)
		cutAtBoundary := false
		for _, p := range pos {
			cutAtBoundary = cutAtBoundary || p == cut
		}
		if !cutAtBoundary {
			require.Positive(t, l2.Stats().TruncatedBytes, "cut at %d", cut)
		}
		require.Equal(t, wantEnd, readAll(t, l2, 0))
		if cut%8 == 0 {
			appendN(t, l2, 2, 2, 30, 0)
			require.Equal(t, l2.EndOffset(), readAll(t, l2, 0))
		}
		require.NoError(t, l2.Close())
	}
}

// TestTornTailGarbage: bytes past the recovery point that are not a valid
// batch (a write that reached the disk only in part) are cut too.
func TestTornTailGarbage(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, nil)
	appendN(t, l, 5, 2, 30, 0)
	require.NoError(t, l.Close())
	l = openLog(t, dir, nil)
	synced := l.EndOffset()
	appendN(t, l, 2, 2, 30, 0)
	crashed := crashCopy(t, dir)
	require.NoError(t, l.Close())
	path := segment.Filename(crashed, 0, segment.LogSuffix)
	pos, size := batchPositions(t, path)
	flipByte(t, path, pos[len(pos)-2]+40) // CRC-covered byte of the first unsynced batch
	l2 := openLog(t, crashed, nil)
	require.Equal(t, synced, l2.EndOffset())
	require.Equal(t, size-pos[len(pos)-2], l2.Stats().TruncatedBytes)
}

func TestCorruptSealedSegment(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig()
	l := openLog(t, dir, cfg)
	appendN(t, l, 100, 3, 40, 0)
	// Unclean, with no checkpoint: every segment is scanned.
	crashed := crashCopy(t, dir)
	require.NoError(t, l.Close())
	require.NoError(t, os.Remove(filepath.Join(crashed, CheckpointFile)))
	files := logFiles(t, crashed)
	require.Greater(t, len(files), 2)
	path := files[1] // sealed
	pos, size := batchPositions(t, path)
	for _, tc := range []struct {
		name string
		at   int64 // byte to flip
		want int64 // position reported
	}{
		{"record byte of a middle batch", pos[2] + 70, pos[2]},
		{"record byte of the last batch", size - 1, pos[len(pos)-1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := crashCopy(t, crashed)
			target := filepath.Join(work, filepath.Base(path))
			flipByte(t, target, tc.at)
			_, err := Open(work, cfg)
			require.ErrorIs(t, err, ErrCorrupt)
			require.ErrorIs(t, err, record.ErrCRC)
			var ce *CorruptError
			require.True(t, errors.As(err, &ce))
			require.Equal(t, target, ce.File)
			require.Equal(t, tc.want, ce.Position)
			fi, err := os.Stat(target)
			require.NoError(t, err)
			require.Equal(t, size, fi.Size(), "a sealed segment must never be cut")
		})
	}
	t.Run("header of a sealed segment's tail, clean open", func(t *testing.T) {
		// Even a clean open walks the batch headers after the last index
		// entry of each segment: a bad one there is ErrCorrupt too.
		l := openLog(t, crashCopy(t, crashed), cfg)
		work := l.Dir()
		require.NoError(t, l.Close())
		target := filepath.Join(work, filepath.Base(path))
		flipByte(t, target, pos[len(pos)-1]+16) // magic
		_, err := Open(work, cfg)
		require.ErrorIs(t, err, ErrCorrupt)
		var ce *CorruptError
		require.True(t, errors.As(err, &ce))
		require.Equal(t, target, ce.File)
		require.Equal(t, pos[len(pos)-1], ce.Position)
	})
}

func TestCorruptBelowRecoveryPoint(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, nil)
	appendN(t, l, 10, 2, 30, 0)
	require.NoError(t, l.Close())
	l = openLog(t, dir, nil) // checkpoint: unclean, recovery point = end
	rp := l.EndOffset()
	appendN(t, l, 3, 2, 30, 0)
	crashed := crashCopy(t, dir)
	require.NoError(t, l.Close())
	path := segment.Filename(crashed, 0, segment.LogSuffix)
	pos, size := batchPositions(t, path)
	// Batch 5 is below the recovery point: ErrCorrupt, file untouched.
	flipByte(t, path, pos[5]+70)
	_, err := Open(crashed, nil)
	require.ErrorIs(t, err, ErrCorrupt)
	var ce *CorruptError
	require.True(t, errors.As(err, &ce))
	require.Equal(t, path, ce.File)
	require.Equal(t, pos[5], ce.Position)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, size, fi.Size())
	_ = rp
}

func TestMissingSyncedData(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, nil)
	appendN(t, l, 10, 2, 30, 0)
	require.NoError(t, l.Close())
	path := segment.Filename(dir, 0, segment.LogSuffix)
	pos, _ := batchPositions(t, path)
	// The file lost its last batch although the checkpoint says it was
	// synced (clean): ErrCorrupt, not a silent cut.
	require.NoError(t, os.Truncate(path, pos[len(pos)-1]))
	_, err := Open(dir, nil)
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestLeftoversRemoved(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, smallConfig())
	appendN(t, l, 100, 3, 40, 0)
	end := l.EndOffset()
	require.NoError(t, l.Close())
	// A deletion interrupted after renaming the .log of the first segment,
	// an atomic replace interrupted before its rename, stray indexes.
	first := segment.Filename(dir, 0, segment.LogSuffix)
	require.NoError(t, os.Rename(first, first+segment.DeletedSuffix))
	leftovers := []string{
		first + segment.DeletedSuffix,
		filepath.Join(dir, CheckpointFile+".tmp"),
		segment.Filename(dir, 0, segment.IndexSuffix),
		segment.Filename(dir, 0, segment.TimeIndexSuffix),
		segment.Filename(dir, 999999, segment.TimeIndexSuffix+segment.DeletedSuffix),
	}
	require.NoError(t, os.WriteFile(leftovers[1], []byte("half"), 0o644))
	require.NoError(t, os.WriteFile(leftovers[4], nil, 0o644))
	l2 := openLog(t, dir, smallConfig())
	for _, p := range leftovers {
		_, err := os.Stat(p)
		require.True(t, errors.Is(err, os.ErrNotExist), "%s still there", p)
	}
	require.Positive(t, l2.StartOffset())
	require.Equal(t, end, l2.EndOffset())
	require.Equal(t, end, readAll(t, l2, l2.StartOffset()))
}

func TestCheckpointFormat(t *testing.T) {
	for _, cp := range []Checkpoint{{}, {RecoveryPoint: 123, LogStartOffset: 7, Clean: true}, {RecoveryPoint: 1 << 60}} {
		b := encodeCheckpoint(cp)
		got, err := decodeCheckpoint(b)
		require.NoError(t, err)
		require.Equal(t, cp, got)
		for i := range b {
			bad := append([]byte(nil), b...)
			bad[i] ^= 0x01
			_, err := decodeCheckpoint(bad)
			require.Error(t, err, "flip at %d of %q", i, b)
		}
		for i := range len(b) {
			_, err := decodeCheckpoint(b[:i])
			require.Error(t, err)
		}
	}
	require.True(t, strings.HasPrefix(string(encodeCheckpoint(Checkpoint{5, 2, true})),
		"samsa-log-checkpoint 1\nrecovery-point 5\nlog-start-offset 2\nclean 1\ncrc32c "))

	dir := t.TempDir()
	l := openLog(t, dir, nil)
	require.NoError(t, l.Close())
	path := filepath.Join(dir, CheckpointFile)
	flipByte(t, path, 30)
	_, err := Open(dir, nil)
	require.ErrorIs(t, err, ErrCorrupt)
	var ce *CorruptError
	require.True(t, errors.As(err, &ce))
	require.Equal(t, path, ce.File)
}

func TestOwnerCheckpoint(t *testing.T) {
	dir := t.TempDir()
	cfg := &Config{SegmentBytes: 2048, Checkpoint: &Checkpoint{}}
	l := openLog(t, dir, cfg)
	appendN(t, l, 100, 3, 40, 0)
	cp := l.Checkpoint()
	require.False(t, cp.Clean)
	require.NoError(t, l.Close())
	cp = l.Checkpoint()
	require.Equal(t, Checkpoint{RecoveryPoint: l.EndOffset(), LogStartOffset: 0, Clean: true}, cp)
	_, err := os.Stat(filepath.Join(dir, CheckpointFile))
	require.True(t, errors.Is(err, os.ErrNotExist), "the log must not write its own checkpoint")

	l2 := openLog(t, dir, &Config{SegmentBytes: 2048, Checkpoint: &cp})
	require.True(t, l2.Stats().CleanOpen)
	require.Equal(t, cp.RecoveryPoint, readAll(t, l2, 0))
	cp2 := l2.Checkpoint()
	require.False(t, cp2.Clean)

	// An unclean owner checkpoint makes the log scan from its recovery
	// point.
	l3 := openLog(t, crashCopy(t, dir), &Config{SegmentBytes: 2048, Checkpoint: &cp2})
	require.False(t, l3.Stats().CleanOpen)
	require.Equal(t, 1, l3.Stats().RecoveredSegments)
}

func TestValidate(t *testing.T) {
	cases := []struct {
		field string
		cfg   Config
	}{
		{"SegmentBytes", Config{SegmentBytes: -1}},
		{"SegmentBytes", Config{SegmentBytes: 10}},
		{"SegmentBytes", Config{SegmentBytes: 1 << 31}},
		{"SegmentMs", Config{SegmentMs: -1}},
		{"SegmentIndexBytes", Config{SegmentIndexBytes: 8}},
		{"SegmentIndexBytes", Config{SegmentIndexBytes: -1}},
		{"IndexIntervalBytes", Config{IndexIntervalBytes: -5}},
		{"FlushMessages", Config{FlushMessages: -1}},
		{"FlushMs", Config{FlushMs: -1}},
		{"Checkpoint.RecoveryPoint", Config{Checkpoint: &Checkpoint{RecoveryPoint: -1}}},
		{"Checkpoint.LogStartOffset", Config{Checkpoint: &Checkpoint{LogStartOffset: -1}}},
	}
	for _, c := range cases {
		t.Run(c.field, func(t *testing.T) {
			err := c.cfg.Validate()
			require.ErrorIs(t, err, ErrInvalidConfig)
			require.Contains(t, err.Error(), c.field)
			_, err = Open(t.TempDir(), &c.cfg)
			require.ErrorIs(t, err, ErrInvalidConfig)
		})
	}
	require.NoError(t, (*Config)(nil).Validate())
	require.NoError(t, (&Config{}).Validate())
	require.NoError(t, (&Config{RetentionMs: -1, RetentionBytes: -1, SegmentBytes: MinSegmentBytes}).Validate())
}

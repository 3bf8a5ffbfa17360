package segment

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// batchOf returns the index of the batch of bs holding offset o.
func batchOf(bs []batchSpec, o int64) int {
	for i, b := range bs {
		if b.base <= o && o <= b.last {
			return i
		}
	}
	return -1
}

// requireReadsRight reads every offset of bs from s, one batch each, and
// finds every offset from its timestamp.
func requireReadsRight(t *testing.T, s *Segment, bs []batchSpec) {
	t.Helper()
	for o := int64(0); o <= bs[len(bs)-1].last; o++ {
		v, err := s.Read(o, 1, 1<<62, true)
		require.NoError(t, err, "read %d", o)
		require.Equal(t, bs[batchOf(bs, o)].data, v.Data, "read %d", o)
		v.Release()
		got, found, err := s.FindOffsetByTimestamp(1_000 + o)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, o, got, "timestamp %d", 1_000+o)
	}
}

func TestAppendRefusesGap(t *testing.T) {
	s, err := Create(t.TempDir(), 0, smallConfig())
	require.NoError(t, err)
	defer s.Close()
	appendBatches(t, s, 2, 3, 10, 0)
	b := makeBatch(t, s.NextOffset()+1, 1, 10, 0)
	_, err = s.Append(b, header(t, b))
	require.ErrorIs(t, err, ErrBadBatch)
}

// A raised base offset (not CRC-covered) is damage wherever it is found:
// by the scan, at the batch itself (no gaps), and by reads of a segment
// opened without a scan.
func TestRaisedBaseOffset(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig()
	bs := writeLog(t, dir, cfg, 60, true)
	path := Filename(dir, 0, LogSuffix)
	full, err := os.ReadFile(path)
	require.NoError(t, err)
	indexes := map[string][]byte{}
	for _, suffix := range []string{IndexSuffix, TimeIndexSuffix} {
		p := Filename(dir, 0, suffix)
		indexes[p], err = os.ReadFile(p)
		require.NoError(t, err)
	}
	for _, k := range []int{0, 1, 7, len(bs) / 2} {
		victim := bs[k]
		dam := append([]byte(nil), full...)
		binary.BigEndian.PutUint64(dam[victim.pos:], uint64(victim.base+16))
		require.NoError(t, os.WriteFile(path, dam, 0o644))

		// The validating scan.
		s, err := Open(dir, 0, cfg, false)
		if err == nil {
			r, rerr := s.Recover(0)
			require.NoError(t, rerr)
			err = r.Err
			require.NoError(t, s.Close())
		}
		var ce *CorruptError
		require.ErrorAs(t, err, &ce, "batch %d", k)
		require.Equal(t, victim.pos, ce.Position, "batch %d: %v", k, err)

		// Reads (the header walk of Open does not reach this batch; it
		// does check the first batch). The scan rebuilt the indexes for
		// the good prefix: put back those of the whole file.
		for p, b := range indexes {
			require.NoError(t, os.WriteFile(p, b, 0o644))
		}
		s, err = Open(dir, 0, cfg, false)
		if k == 0 {
			require.ErrorAs(t, err, &ce)
			require.Equal(t, victim.pos, ce.Position, "%v", err)
			continue
		}
		require.NoError(t, err, "batch %d", k)
		v, err := s.Read(victim.base, 1, 1<<62, true)
		require.ErrorAs(t, err, &ce, "batch %d", k)
		require.Equal(t, path, ce.File)
		require.Equal(t, victim.pos, ce.Position)
		require.Zero(t, v.Len())
		// A read from before it returns the good batches only.
		v, err = s.Read(0, 1<<20, 1<<62, true)
		require.NoError(t, err)
		require.Equal(t, full[:victim.pos], v.Data)
		v.Release()
		_, _, err = s.FindOffsetByTimestamp(1_000 + victim.last)
		require.ErrorIs(t, err, ErrCorrupt)
		require.False(t, s.indexSuspect.Load(), "data damage is not an index problem")
		require.NoError(t, s.Close())
	}
}

// Valid-looking but wrong index entries are not trusted by reads: every
// read stays right, the indexes are marked for a rebuild, rebuilt when the
// segment is loaded again, and dropped at Close.
func TestReadsCheckIndexEntries(t *testing.T) {
	cfg := smallConfig()
	for _, how := range []string{"positions shifted", "keys one too low", "time offsets one too high", "timestamps one too low"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			bs := writeLog(t, dir, cfg, 80, true)
			suffix, es := IndexSuffix, 8
			if how[0] == 't' {
				suffix, es = TimeIndexSuffix, 12
			}
			ipath := Filename(dir, 0, suffix)
			good, err := os.ReadFile(ipath)
			require.NoError(t, err)
			n := len(good) / es
			require.Greater(t, n, 4)
			dam := append([]byte(nil), good...)
			for i := 0; i < n-1; i++ { // the last entry stays right (Open checks it)
				e := dam[i*es:]
				switch how {
				case "positions shifted":
					binary.BigEndian.PutUint32(e[4:], binary.BigEndian.Uint32(e[4:])+3)
				case "keys one too low":
					binary.BigEndian.PutUint32(e, binary.BigEndian.Uint32(e)-1)
				case "time offsets one too high":
					binary.BigEndian.PutUint32(e[8:], binary.BigEndian.Uint32(e[8:])+1)
				case "timestamps one too low":
					binary.BigEndian.PutUint64(e, binary.BigEndian.Uint64(e)-1)
				}
			}
			require.NoError(t, os.WriteFile(ipath, dam, 0o644))
			s := reopen(t, dir, 0, cfg, false)
			requireReadsRight(t, s, bs)
			require.True(t, s.indexSuspect.Load())

			// Loaded again: rebuilt.
			require.NoError(t, s.Evict())
			requireReadsRight(t, s, bs)
			require.False(t, s.indexSuspect.Load())
			got, err := os.ReadFile(ipath)
			require.NoError(t, err)
			require.Equal(t, good, got)

			// Close drops suspect indexes.
			require.NoError(t, os.WriteFile(ipath, dam, 0o644))
			require.NoError(t, s.Evict())
			s2 := reopen(t, dir, 0, cfg, false)
			requireReadsRight(t, s2, bs)
			require.True(t, s2.indexSuspect.Load())
			require.NoError(t, s2.Close())
			for _, p := range []string{Filename(dir, 0, IndexSuffix), Filename(dir, 0, TimeIndexSuffix)} {
				_, err := os.Stat(p)
				require.True(t, errors.Is(err, os.ErrNotExist), "%s: %v", p, err)
			}
			s3 := reopen(t, dir, 0, cfg, false)
			requireReadsRight(t, s3, bs)
			require.False(t, s3.indexSuspect.Load())
			got, err = os.ReadFile(ipath)
			require.NoError(t, err)
			require.Equal(t, good, got)
		})
	}
}

// Open checks the time index's last entry against the .log, not only that
// it points inside it.
func TestOpenChecksLastTimeEntry(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig()
	bs := writeLog(t, dir, cfg, 40, true)
	tpath := Filename(dir, 0, TimeIndexSuffix)
	good, err := os.ReadFile(tpath)
	require.NoError(t, err)
	dam := append([]byte(nil), good...)
	last := dam[len(dam)-12:]
	binary.BigEndian.PutUint64(last, binary.BigEndian.Uint64(last)-1)
	require.NoError(t, os.WriteFile(tpath, dam, 0o644))
	s := reopen(t, dir, 0, cfg, false)
	requireReadsRight(t, s, bs)
	got, err := os.ReadFile(tpath)
	require.NoError(t, err)
	require.Equal(t, good, got, "rebuilt at open")
}

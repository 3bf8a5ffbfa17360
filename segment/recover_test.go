package segment

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/record"
)

func TestRecoverClean(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig()
	bs := writeLog(t, dir, cfg, 100, false)
	s := reopen(t, dir, 0, cfg, true)
	entries := s.off.Entries()
	r, err := s.Recover(0)
	require.NoError(t, err)
	require.NoError(t, r.Err)
	last := bs[len(bs)-1]
	require.Equal(t, last.pos+int64(len(last.data)), r.ValidBytes)
	require.Equal(t, last.last+1, r.NextOffset)
	require.Equal(t, len(bs), r.Batches)
	require.Equal(t, last.maxTs, r.MaxTimestamp)
	require.Equal(t, last.last, r.OffsetOfMaxTimestamp)
	require.Equal(t, entries, s.off.Entries(), "same index as appends built")
	more := appendBatches(t, s, 3, 2, 60, 1_000)
	require.Equal(t, r.ValidBytes, more[0].pos)

	// prevNext above the first batch's base offset is damage.
	r, err = s.Recover(5)
	require.NoError(t, err)
	require.ErrorIs(t, r.Err, ErrCorrupt)
	require.Zero(t, r.ValidBytes)
}

func TestRecoverTornTail(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig()
	bs := writeLog(t, dir, cfg, 30, false)
	path := Filename(dir, 0, LogSuffix)
	full, err := os.ReadFile(path)
	require.NoError(t, err)
	last := bs[len(bs)-1]
	for cut := last.pos; cut < int64(len(full)); cut++ {
		require.NoError(t, os.WriteFile(path, full[:cut], 0o644))
		s, err := Open(dir, 0, cfg, true)
		require.NoError(t, err, "cut %d", cut)
		if cut > last.pos {
			// The header walk saw the partial batch: no appends until decided.
			b := makeBatch(t, last.base, 1, 10, 0)
			_, err := s.Append(b, header(t, b))
			require.ErrorIs(t, err, ErrCorrupt, "cut %d", cut)
		}
		require.Equal(t, last.pos, s.Size(), "cut %d", cut)
		r, err := s.Recover(0)
		require.NoError(t, err)
		require.Equal(t, last.pos, r.ValidBytes, "cut %d", cut)
		require.Equal(t, last.base, r.NextOffset)
		require.Equal(t, len(bs)-1, r.Batches)
		if cut > last.pos {
			require.ErrorIs(t, r.Err, ErrCorrupt)
			require.ErrorIs(t, r.Err, record.ErrTruncated, "cut %d: %v", cut, r.Err)
			require.Contains(t, r.Err.Error(), path)
			var ce *CorruptError
			require.ErrorAs(t, r.Err, &ce)
			require.Equal(t, last.pos, ce.Position)
		} else {
			require.NoError(t, r.Err)
		}
		require.NoError(t, s.TruncateTo(r.ValidBytes))
		re := appendBatches(t, s, 1, 4, 60, 1_000)
		require.Equal(t, last.pos, re[0].pos)
		v, err := s.Read(0, 1<<20, 1<<62, false)
		require.NoError(t, err)
		hs := checkView(t, v.Data)
		require.Len(t, hs, len(bs))
		v.Release()
		require.NoError(t, s.Close())
	}
}

func TestRecoverBitFlips(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig()
	bs := writeLog(t, dir, cfg, 20, false)
	path := Filename(dir, 0, LogSuffix)
	full, err := os.ReadFile(path)
	require.NoError(t, err)
	victim := bs[12]
	// Flip every bit of the victim's fields the CRC does not cover and one bit of each later
	// byte, except the partition leader epoch (bytes 12-15), which no check
	// covers (as in Kafka).
	for i := victim.pos; i < victim.pos+int64(len(victim.data)); i++ {
		rel := i - victim.pos
		if rel >= 12 && rel < 16 {
			continue
		}
		for bit := range 8 {
			if rel >= 21 && bit != int(i%8) {
				continue
			}
			dam := append([]byte(nil), full...)
			dam[i] ^= 1 << bit
			require.NoError(t, os.WriteFile(path, dam, 0o644))
			s, err := Open(dir, 0, cfg, true)
			require.NoError(t, err)
			r, err := s.Recover(0)
			require.NoError(t, err)
			require.ErrorIs(t, r.Err, ErrCorrupt, "byte %d bit %d", i, bit)
			require.ErrorIs(t, r.Err, record.ErrCorrupt)
			var ce *CorruptError
			require.ErrorAs(t, r.Err, &ce)
			require.Equal(t, path, ce.File)
			// A changed base offset (not CRC-covered) is found at the
			// victim too: batches are contiguous (no gaps before
			// compaction), so a larger one is not a legal gap.
			want := victim.pos
			require.Equal(t, want, ce.Position, "byte %d bit %d", i, bit)
			require.Equal(t, want, r.ValidBytes, "byte %d bit %d", i, bit)
			require.NoError(t, s.Close())
		}
	}
}

func TestRecoverSealedCorruptIsError(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig()
	s, err := Create(dir, 0, cfg)
	require.NoError(t, err)
	bs := appendBatches(t, s, 20, 3, 60, 0)
	require.NoError(t, s.Seal())
	require.NoError(t, s.Close())
	path := Filename(dir, 0, LogSuffix)
	full, err := os.ReadFile(path)
	require.NoError(t, err)
	// A torn sealed segment fails Open.
	require.NoError(t, os.WriteFile(path, full[:len(full)-3], 0o644))
	_, err = Open(dir, 0, cfg, false)
	require.ErrorIs(t, err, ErrCorrupt)
	// Damaged index and damaged data: the rebuild finds the damage.
	dam := append([]byte(nil), full...)
	dam[bs[3].pos+40] ^= 0xff
	require.NoError(t, os.WriteFile(path, dam, 0o644))
	require.NoError(t, os.WriteFile(Filename(dir, 0, IndexSuffix), []byte{1, 2, 3}, 0o644))
	_, err = Open(dir, 0, cfg, false)
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorIs(t, err, record.ErrCRC)
	// Recover on an intact sealed segment rebuilds its indexes.
	require.NoError(t, os.WriteFile(path, full, 0o644))
	s = reopen(t, dir, 0, cfg, false)
	r, err := s.Recover(0)
	require.NoError(t, err)
	require.NoError(t, r.Err)
	require.Equal(t, int64(len(full)), r.ValidBytes)
	v, err := s.Read(bs[10].last, 1, 1<<62, true)
	require.NoError(t, err)
	require.Equal(t, bs[10].data, v.Data)
	v.Release()
	_, err = s.Recover(0)
	require.ErrorIs(t, err, ErrInUse)
}

func TestTruncateTo(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig()
	s, err := Create(dir, 0, cfg)
	require.NoError(t, err)
	defer s.Close()
	bs := appendBatches(t, s, 100, 4, 60, 1_000)
	cut := bs[60]
	require.Error(t, s.TruncateTo(cut.pos+1), "not a boundary")
	require.NoError(t, s.TruncateTo(cut.pos))
	require.Equal(t, cut.pos, s.Size())
	require.Equal(t, cut.base, s.NextOffset())
	ts, off := s.MaxTimestamp()
	require.Equal(t, bs[59].maxTs, ts)
	require.Equal(t, bs[59].last, off)
	lastOff, lastPos, ok := s.off.LastEntry()
	require.True(t, ok)
	require.Less(t, lastOff, cut.base)
	require.Less(t, lastPos, cut.pos)
	fi, err := os.Stat(Filename(dir, 0, LogSuffix))
	require.NoError(t, err)
	require.Equal(t, cut.pos, fi.Size())
	v, err := s.Read(cut.base, 1<<20, 1<<62, true)
	require.NoError(t, err)
	require.Empty(t, v.Data)
	// Append again: same positions and index entries as the first time.
	re := appendBatches(t, s, 40, 4, 60, 1_000)
	for i := range re {
		require.Equal(t, bs[60+i].pos, re[i].pos)
		require.Equal(t, bs[60+i].data, re[i].data)
	}
	require.NoError(t, s.TruncateTo(0))
	require.Equal(t, int64(0), s.NextOffset())
	require.Zero(t, s.off.Entries())
}

package segment

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/internal/fs/errorfs"
	"github.com/samsalog/samsa/record"
)

func TestFilename(t *testing.T) {
	require.Equal(t, filepath.Join("d", "00000000000000000042.log"), Filename("d", 42, LogSuffix))
	require.Equal(t, filepath.Join("d", "09223372036854775807.index"), Filename("d", 1<<63-1, IndexSuffix))
}

func TestCreateEmpty(t *testing.T) {
	dir := t.TempDir()
	s, err := Create(dir, 100, Config{})
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, int64(100), s.BaseOffset())
	require.Equal(t, int64(100), s.NextOffset())
	require.Zero(t, s.Size())
	ts, off := s.MaxTimestamp()
	require.Equal(t, int64(-1), ts)
	require.Equal(t, int64(100), off)
	require.Equal(t, int64(-1), s.FirstBatchTimestamp())
	v, err := s.Read(100, 1<<20, 1<<62, true)
	require.NoError(t, err)
	require.Empty(t, v.Data)
	v.Release()
	_, err = Create(dir, 100, Config{})
	require.Error(t, err, "existing files")
}

func TestAppendReadRoundTrip(t *testing.T) {
	s, err := Create(t.TempDir(), 1000, smallConfig())
	require.NoError(t, err)
	defer s.Close()
	bs := appendBatches(t, s, 400, 7, 100, 1_700_000_000_000)
	require.Greater(t, s.off.Entries(), 20, "index entries")
	require.Greater(t, s.tim.Entries(), 20, "time index entries")
	last := bs[len(bs)-1]
	require.Equal(t, last.last+1, s.NextOffset())
	require.Equal(t, last.pos+int64(len(last.data)), s.Size())
	ts, off := s.MaxTimestamp()
	require.Equal(t, last.maxTs, ts)
	require.Equal(t, last.last, off)
	require.Equal(t, bs[0].maxTs, s.FirstBatchTimestamp())

	// Every offset, read with room for exactly one batch, gives the batch
	// holding it; read with room for everything gives the rest of the log.
	all := concat(bs)
	for i, b := range bs {
		for o := b.base; o <= b.last; o++ {
			v, err := s.Read(o, 1, 1<<62, true)
			require.NoError(t, err)
			require.Equal(t, b.data, v.Data, "offset %d", o)
			v.Release()
		}
		v, err := s.Read(b.base, len(all), 1<<62, false)
		require.NoError(t, err)
		require.Equal(t, all[b.pos:], v.Data, "batch %d", i)
		v.Release()
	}
	// Past the end and below the base.
	v, err := s.Read(s.NextOffset(), 1<<20, 1<<62, true)
	require.NoError(t, err)
	require.Empty(t, v.Data)
	v, err = s.Read(0, 1<<20, 1<<62, false)
	require.NoError(t, err)
	require.Equal(t, all[:len(v.Data)], v.Data)
	v.Release()
	v.Release() // idempotent
}

func TestReadMiddleOfBatch(t *testing.T) {
	s, err := Create(t.TempDir(), 0, smallConfig())
	require.NoError(t, err)
	defer s.Close()
	b1 := makeBatch(t, 0, 10, 50, 1)
	b2 := makeBatch(t, 10, 10, 50, 100)
	_, err = s.Append(b1, header(t, b1))
	require.NoError(t, err)
	_, err = s.Append(b2, header(t, b2))
	require.NoError(t, err)
	v, err := s.Read(15, 1<<20, 1<<62, false)
	require.NoError(t, err)
	require.Equal(t, b2, v.Data)
	v.Release()
	v, err = s.Read(9, 1<<20, 1<<62, false)
	require.NoError(t, err)
	require.Equal(t, append(append([]byte{}, b1...), b2...), v.Data)
	v.Release()
}

func TestReadBounds(t *testing.T) {
	s, err := Create(t.TempDir(), 0, smallConfig())
	require.NoError(t, err)
	defer s.Close()
	bs := appendBatches(t, s, 10, 3, 200, 0)
	sizes := make([]int, len(bs))
	for i, b := range bs {
		sizes[i] = len(b.data)
	}
	tests := []struct {
		name      string
		offset    int64
		maxBytes  int
		maxOffset int64
		minOne    bool
		want      []int // batch indexes
	}{
		{"exact two", 0, sizes[0] + sizes[1], 1 << 62, false, []int{0, 1}},
		{"one byte short of two", 0, sizes[0] + sizes[1] - 1, 1 << 62, false, []int{0}},
		{"too small no minOne", 0, sizes[0] - 1, 1 << 62, false, nil},
		{"too small minOne", 0, 1, 1 << 62, true, []int{0}},
		{"zero bytes minOne", bs[3].base, 0, 1 << 62, true, []int{3}},
		{"zero bytes", bs[3].base, 0, 1 << 62, false, nil},
		{"maxOffset stops before batch", 0, 1 << 20, bs[2].base, false, []int{0, 1}},
		{"maxOffset inside batch keeps it", 0, 1 << 20, bs[2].base + 1, false, []int{0, 1, 2}},
		{"maxOffset at offset", bs[4].base, 1 << 20, bs[4].base, true, nil},
		{"maxOffset with minOne", bs[4].last, 1, bs[4].last + 1, true, []int{4}},
		{"past end", bs[9].last + 1, 1 << 20, 1 << 62, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := s.Read(tt.offset, tt.maxBytes, tt.maxOffset, tt.minOne)
			require.NoError(t, err)
			defer v.Release()
			var want []byte
			for _, i := range tt.want {
				want = append(want, bs[i].data...)
			}
			require.Equal(t, want, append([]byte(nil), v.Data...))
		})
	}
}

func TestAppendErrors(t *testing.T) {
	s, err := Create(t.TempDir(), 10, smallConfig())
	require.NoError(t, err)
	defer s.Close()
	b := makeBatch(t, 10, 2, 10, 0)
	h := header(t, b)
	_, err = s.Append(b[:len(b)-1], h)
	require.ErrorIs(t, err, ErrBadBatch)
	_, err = s.Append(b, h)
	require.NoError(t, err)
	_, err = s.Append(b, h) // base offset below next
	require.ErrorIs(t, err, ErrBadBatch)
	far := makeBatch(t, 10+1<<31, 1, 10, 0)
	require.False(t, s.FitsOffset(10+1<<31))
	_, err = s.Append(far, header(t, far))
	require.ErrorIs(t, err, ErrFull)
	require.True(t, s.CanFit(1000))
	require.False(t, s.CanFit(MaxSize))
	require.NoError(t, s.Seal())
	b2 := makeBatch(t, 12, 1, 10, 0)
	_, err = s.Append(b2, header(t, b2))
	require.ErrorIs(t, err, ErrSealed)
	require.NoError(t, s.Close())
	_, err = s.Append(b2, header(t, b2))
	require.ErrorIs(t, err, ErrClosed)
	_, err = s.Read(10, 100, 1<<62, true)
	require.ErrorIs(t, err, ErrClosed)
}

func TestIndexFull(t *testing.T) {
	cfg := Config{IndexIntervalBytes: 1, MaxIndexBytes: 8 * 4}
	s, err := Create(t.TempDir(), 0, cfg)
	require.NoError(t, err)
	defer s.Close()
	var full bool
	for i := range int64(20) {
		b := makeBatch(t, i, 1, 10, i)
		if !s.CanFit(len(b)) {
			full = true
			_, err := s.Append(b, header(t, b))
			require.ErrorIs(t, err, ErrFull)
			break
		}
		_, err := s.Append(b, header(t, b))
		require.NoError(t, err)
	}
	require.True(t, full)
	require.True(t, s.IsFull())
}

func reopen(t *testing.T, dir string, base int64, cfg Config, active bool) *Segment {
	t.Helper()
	s, err := Open(dir, base, cfg, active)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// countingFS counts ReadAt calls on .log files.
func countingFS() (*errorfs.FS, *int) {
	efs := errorfs.New(nil)
	n := new(int)
	efs.SetInjector(func(op errorfs.Op, path string) error {
		if op == errorfs.OpRead && filepath.Ext(path) == LogSuffix {
			*n++
		}
		return nil
	})
	return efs, n
}

func TestReopen(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		t.Run(map[bool]string{false: "active", true: "sealed"}[sealed], func(t *testing.T) {
			dir := t.TempDir()
			cfg := smallConfig()
			s, err := Create(dir, 500, cfg)
			require.NoError(t, err)
			bs := appendBatches(t, s, 300, 5, 100, 1_000)
			// Make an early batch carry the max timestamp.
			hi := makeBatch(t, s.NextOffset(), 2, 100, 9_000_000)
			_, err = s.Append(hi, header(t, hi))
			require.NoError(t, err)
			bs = append(bs, appendBatches(t, s, 3, 2, 100, 1_000)...)
			wantNext, wantSize := s.NextOffset(), s.Size()
			wantTs, wantOff := s.MaxTimestamp()
			if sealed {
				require.NoError(t, s.Seal())
			}
			require.NoError(t, s.Close())

			efs, reads := countingFS()
			cfg.FS = efs
			s2 := reopen(t, dir, 500, cfg, !sealed)
			require.Less(t, *reads, 20, "Open walked more than the tail: %d header reads", *reads)
			require.Equal(t, wantNext, s2.NextOffset())
			require.Equal(t, wantSize, s2.Size())
			ts, off := s2.MaxTimestamp()
			require.Equal(t, wantTs, ts)
			require.Equal(t, wantOff, off)
			require.Equal(t, bs[0].maxTs, s2.FirstBatchTimestamp())
			require.False(t, s2.Created().IsZero())
			if sealed {
				require.Nil(t, s2.cur.Load(), "sealed segment loaded before first read")
			}
			v, err := s2.Read(bs[101].base+1, 1<<20, 1<<62, false)
			require.NoError(t, err)
			require.Equal(t, bs[101].data, v.Data[:len(bs[101].data)])
			v.Release()
			if !sealed {
				more := appendBatches(t, s2, 5, 3, 100, 1_000)
				v, err := s2.Read(more[0].base, 1<<20, 1<<62, false)
				require.NoError(t, err)
				require.Equal(t, concat(more), v.Data)
				v.Release()
			} else {
				require.NoError(t, s2.Evict())
				require.Nil(t, s2.cur.Load())
				v, err := s2.Read(bs[5].base, 1, 1<<62, true)
				require.NoError(t, err)
				require.Equal(t, bs[5].data, v.Data)
				v.Release()
			}
		})
	}
}

func TestOpenRebuildsBadIndex(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		for _, damage := range []string{"zeroed", "garbage", "missing", "truncated-entry", "timeindex-zeroed"} {
			t.Run(map[bool]string{false: "active", true: "sealed"}[sealed]+"/"+damage, func(t *testing.T) {
				dir := t.TempDir()
				cfg := smallConfig()
				s, err := Create(dir, 0, cfg)
				require.NoError(t, err)
				bs := appendBatches(t, s, 200, 4, 100, 0)
				wantEntries := s.off.Entries()
				wantTs, wantOff := s.MaxTimestamp()
				if sealed {
					require.NoError(t, s.Seal())
				}
				require.NoError(t, s.Close())
				for _, p := range []string{Filename(dir, 0, IndexSuffix), Filename(dir, 0, TimeIndexSuffix)} {
					fi, err := os.Stat(p)
					require.NoError(t, err)
					switch damage {
					case "timeindex-zeroed":
						if filepath.Ext(p) == TimeIndexSuffix {
							require.NoError(t, os.WriteFile(p, make([]byte, fi.Size()), 0o644))
						}
					case "zeroed":
						require.NoError(t, os.WriteFile(p, make([]byte, fi.Size()), 0o644))
					case "garbage":
						g := bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef, 0x01}, int(fi.Size())/5+1)[:fi.Size()]
						require.NoError(t, os.WriteFile(p, g, 0o644))
					case "missing":
						require.NoError(t, os.Remove(p))
					case "truncated-entry":
						require.NoError(t, os.Truncate(p, 8*5+3))
					}
				}
				s2 := reopen(t, dir, 0, cfg, !sealed)
				require.Equal(t, bs[len(bs)-1].last+1, s2.NextOffset())
				ts, off := s2.MaxTimestamp()
				require.Equal(t, wantTs, ts)
				require.Equal(t, wantOff, off)
				for _, b := range bs {
					v, err := s2.Read(b.last, 1, 1<<62, true)
					require.NoError(t, err)
					require.Equal(t, b.data, v.Data)
					v.Release()
				}
				if !sealed {
					require.Equal(t, wantEntries, s2.off.Entries(), "rebuilt index has the appended entries")
				}
			})
		}
	}
}

func TestSealTrimsAndKeepsReading(t *testing.T) {
	dir := t.TempDir()
	s, err := Create(dir, 0, smallConfig())
	require.NoError(t, err)
	defer s.Close()
	bs := appendBatches(t, s, 50, 3, 100, 0)
	v, err := s.Read(0, 1<<20, 1<<62, false)
	require.NoError(t, err)
	require.NoError(t, s.Seal())
	require.NoError(t, s.Seal())
	require.True(t, s.Sealed())
	fi, err := os.Stat(Filename(dir, 0, LogSuffix))
	require.NoError(t, err)
	require.Equal(t, s.Size(), fi.Size())
	require.Equal(t, concat(bs), v.Data)
	v.Release()
	v, err = s.Read(bs[10].base, 1<<20, 1<<62, false)
	require.NoError(t, err)
	require.Equal(t, concat(bs[10:]), v.Data)
	v.Release()
	require.NoError(t, s.Sync())
}

func TestViewSurvivesDelete(t *testing.T) {
	dir := t.TempDir()
	s, err := Create(dir, 0, smallConfig())
	require.NoError(t, err)
	bs := appendBatches(t, s, 50, 3, 100, 0)
	v, err := s.Read(0, 1<<20, 1<<62, false)
	require.NoError(t, err)
	require.NoError(t, s.Seal())
	require.NoError(t, s.Delete())
	// The files are renamed but not removed while v is held.
	_, err = os.Stat(Filename(dir, 0, LogSuffix))
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = os.Stat(Filename(dir, 0, LogSuffix) + DeletedSuffix)
	require.NoError(t, err)
	require.Equal(t, concat(bs), v.Data)
	checkView(t, v.Data)
	_, err = s.Read(0, 1, 1<<62, true)
	require.ErrorIs(t, err, ErrClosed)
	v.Release()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)

	// Deleting an unloaded sealed segment removes the files at once.
	s, err = Create(dir, 0, smallConfig())
	require.NoError(t, err)
	appendBatches(t, s, 5, 3, 100, 0)
	require.NoError(t, s.Seal())
	require.NoError(t, s.Close())
	s = reopen(t, dir, 0, smallConfig(), false)
	require.NoError(t, s.Delete())
	entries, err = os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
}

func TestNoSpace(t *testing.T) {
	for _, op := range []errorfs.Op{errorfs.OpAllocate, errorfs.OpWrite} {
		t.Run(string(op), func(t *testing.T) {
			efs := errorfs.New(nil)
			cfg := Config{FS: efs, PreallocateBytes: 4096}
			s, err := Create(t.TempDir(), 0, cfg)
			require.NoError(t, err)
			defer s.Close()
			bs := appendBatches(t, s, 3, 2, 100, 0)
			size, next := s.Size(), s.NextOffset()
			noSpace := &os.PathError{Op: string(op), Path: "x", Err: fs.ErrNoSpace}
			efs.SetInjector(func(o errorfs.Op, path string) error {
				if o == op && filepath.Ext(path) == LogSuffix {
					return noSpace
				}
				return nil
			})
			// Append until the next preallocation chunk is needed.
			var failed error
			for range 100 {
				b := makeBatch(t, s.NextOffset(), 2, 100, 0)
				if _, err := s.Append(b, header(t, b)); err != nil {
					failed = err
					break
				}
			}
			require.ErrorIs(t, failed, fs.ErrNoSpace)
			require.Contains(t, failed.Error(), "segment: ")
			if op == errorfs.OpWrite {
				require.Equal(t, size, s.Size(), "nothing published")
				require.Equal(t, next, s.NextOffset())
			}
			sizeAtFail := s.Size()
			efs.SetInjector(nil)
			more := appendBatches(t, s, 2, 2, 100, 0)
			require.Equal(t, sizeAtFail, more[0].pos, "the next append writes where the failed one would have")
			v, err := s.Read(0, 1<<30, 1<<62, false)
			require.NoError(t, err)
			hs := checkView(t, v.Data)
			require.Equal(t, more[1].last, hs[len(hs)-1].LastOffset())
			require.Equal(t, bs[0].data, v.Data[:len(bs[0].data)])
			v.Release()
		})
	}
}

func TestFindOffsetByTimestamp(t *testing.T) {
	s, err := Create(t.TempDir(), 0, smallConfig())
	require.NoError(t, err)
	defer s.Close()
	// Record at offset o has timestamp 1000 + 10*o (batches of 5).
	for base := int64(0); base < 500; base += 5 {
		var enc record.Encoder
		recs := make([]record.Record, 5)
		for i := range recs {
			recs[i] = record.Record{Value: []byte("v"), Timestamp: msTime(1000 + 10*(base+int64(i)))}
		}
		b, err := enc.AppendBatch(nil, recs, record.BatchOptions{})
		require.NoError(t, err)
		record.PutBaseOffset(b, base)
		_, err = s.Append(b, header(t, b))
		require.NoError(t, err)
	}
	for _, tc := range []struct {
		ts    int64
		off   int64
		found bool
	}{
		{0, 0, true}, {1000, 0, true}, {1001, 1, true}, {1010, 1, true},
		{3333, 234, true}, {5990, 499, true}, {5991, 0, false},
	} {
		off, found, err := s.FindOffsetByTimestamp(tc.ts)
		require.NoError(t, err)
		require.Equal(t, tc.found, found, "ts %d", tc.ts)
		if tc.found {
			require.Equal(t, tc.off, off, "ts %d", tc.ts)
		}
	}
}

func TestErrorsMatch(t *testing.T) {
	err := corruptAt("f.log", 12, record.ErrCRC)
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorIs(t, err, record.ErrCorrupt)
	require.ErrorIs(t, err, record.ErrCRC)
	var ce *CorruptError
	require.True(t, errors.As(err, &ce))
	require.Equal(t, int64(12), ce.Position)
	require.Contains(t, err.Error(), "f.log")
	require.Contains(t, err.Error(), "12")
}

func TestAppendAndReadDoNotAllocate(t *testing.T) {
	s, err := Create(t.TempDir(), 0, Config{})
	require.NoError(t, err)
	defer s.Close()
	batch := makeBatch(t, 0, 100, 100, 1)
	h := header(t, batch)
	allocs := testing.AllocsPerRun(200, func() {
		h.BaseOffset = s.NextOffset()
		record.PutBaseOffset(batch, h.BaseOffset)
		if _, err := s.Append(batch, h); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs, "Append")
	end := s.NextOffset()
	i := int64(0)
	allocs = testing.AllocsPerRun(1000, func() {
		i = (i + 7919) % end
		v, err := s.Read(i, 1<<16, 1<<62, true)
		if err != nil || len(v.Data) == 0 {
			t.Fatal(err)
		}
		v.Release()
	})
	require.Zero(t, allocs, "Read")
}

package log

import (
	"encoding/binary"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/record"
)

var modelSeed = flag.Uint64("log.seed", 0, "seed of TestModel (0: random)")

// TestModel runs random appends, syncs, rolls, retention, record deletion,
// clean reopens and crashes (with the unsynced tail of the active segment
// torn at a random byte) against the log and an in-memory model, and
// compares what the log reads back with the model.
func TestModel(t *testing.T) {
	seed := *modelSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -log.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	cfg := &Config{
		SegmentBytes:       1500,
		IndexIntervalBytes: 200,
		SegmentIndexBytes:  96,
		RetentionBytes:     8000,
		FS:                 noSyncFS{fs.Default},
	}
	dir := t.TempDir()
	l, err := Open(dir, cfg)
	require.NoError(t, err)
	defer func() { _ = l.Close() }()

	var (
		ids   = map[int64]uint64{} // offset -> record id
		start int64
		end   int64
	)
	check := func(step int) {
		t.Helper()
		require.Equal(t, start, l.StartOffset(), "step %d", step)
		require.Equal(t, end, l.EndOffset(), "step %d", step)
		next := start
		for next < end {
			v, err := l.Read(next, 1+rng.IntN(2000), -1)
			require.NoError(t, err, "step %d read %d", step, next)
			require.NotZero(t, v.Len())
			offs, got := decodeIDs(t, v.Data)
			v.Release()
			for i, o := range offs {
				if o < next {
					continue
				}
				require.Equal(t, next, o, "step %d", step)
				require.Equal(t, ids[o], got[i], "step %d offset %d", step, o)
				next++
			}
		}
		_, err := l.Read(end+1, 1, -1)
		require.ErrorIs(t, err, ErrOffsetOutOfRange)
		if start > 0 {
			_, err := l.Read(start-1, 1, -1)
			require.ErrorIs(t, err, ErrOffsetOutOfRange)
		}
	}
	var torn int
	defer func() { t.Logf("bytes of torn tail cut: %d", torn) }()
	for step := range 400 {
		switch op := rng.IntN(100); {
		case op < 55: // append
			n := 1 + rng.IntN(5)
			id := rng.Uint64()
			b := makeIDBatch(t, id, n)
			base, last, err := l.Append(b)
			require.NoError(t, err)
			require.Equal(t, end, base)
			require.Equal(t, end+int64(n)-1, last)
			for i := range n {
				ids[end+int64(i)] = id + uint64(i)
			}
			end += int64(n)
		case op < 65:
			require.NoError(t, l.Sync())
			require.Equal(t, end, l.SyncedOffset())
		case op < 70:
			require.NoError(t, l.Roll())
		case op < 76:
			_, err := l.ApplyRetention()
			require.NoError(t, err)
			require.GreaterOrEqual(t, l.StartOffset(), start)
			start = l.StartOffset()
		case op < 80:
			if end > start {
				to := start + rng.Int64N(end-start+1)
				_, err := l.DeleteRecordsBefore(to)
				require.NoError(t, err)
				start = max(start, to)
			}
		case op < 88: // clean reopen
			require.NoError(t, l.Close())
			l, err = Open(dir, cfg)
			require.NoError(t, err)
			require.True(t, l.Stats().CleanOpen)
		default: // crash, tearing the unsynced tail at a random byte
			synced := l.SyncedOffset()
			crashed := crashCopy(t, dir)
			require.NoError(t, l.Close())
			tearUnsynced(t, rng, crashed, synced)
			dir = crashed
			l, err = Open(dir, cfg)
			require.NoError(t, err, "step %d", step)
			require.False(t, l.Stats().CleanOpen)
			newEnd := l.EndOffset()
			require.GreaterOrEqual(t, newEnd, synced, "step %d: synced data lost", step)
			require.LessOrEqual(t, newEnd, end)
			end = newEnd
			start = min(start, end)
			// Start offset moves were checkpointed when they happened.
			require.Equal(t, start, l.StartOffset(), "step %d", step)
			torn += int(l.Stats().TruncatedBytes)
		}
		check(step)
	}
}

// tearUnsynced cuts the last .log of dir at a random position at or past
// the first batch holding offsets >= synced (what a power loss may lose).
func tearUnsynced(t *testing.T, rng *rand.Rand, dir string, synced int64) {
	t.Helper()
	files := logFiles(t, dir)
	path := files[len(files)-1]
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	p := 0
	for p < len(data) {
		h, err := record.ParseBatchHeader(data[p:])
		require.NoError(t, err)
		if h.BaseOffset >= synced {
			break
		}
		p += h.Size()
	}
	if p == len(data) || rng.IntN(3) == 0 {
		return // nothing unsynced, or nothing lost
	}
	cut := p + rng.IntN(len(data)-p)
	require.NoError(t, os.Truncate(filepath.Join(dir, filepath.Base(path)), int64(cut)))
}

// makeIDBatch makes a batch of n records carrying ids id, id+1, ...
func makeIDBatch(t testing.TB, id uint64, n int) []byte {
	t.Helper()
	var enc record.Encoder
	recs := make([]record.Record, n)
	for i := range recs {
		v := make([]byte, 8+int(id%64))
		binary.BigEndian.PutUint64(v, id+uint64(i))
		recs[i] = record.Record{Value: v, Timestamp: time.UnixMilli(1_000_000)}
	}
	b, err := enc.AppendBatch(nil, recs, record.BatchOptions{})
	require.NoError(t, err)
	return b
}

func decodeIDs(t testing.TB, data []byte) (offsets []int64, ids []uint64) {
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
			ids = append(ids, binary.BigEndian.Uint64(r.Value))
		}
		data = data[h.Size():]
	}
	return offsets, ids
}

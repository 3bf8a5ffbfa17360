package index

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/fs/errorfs"
)

// Tests of the in-memory tail: entries are appended to memory and written
// to the file tailEntries at a time.

// copyFile copies src to dst as it is right now: what a crash of the
// process would leave (the page cache survives a process).
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dst, b, 0o644))
}

// offsetModel is the linear reference of an offset index.
type offsetModel struct{ keys, poss []int64 }

func (m *offsetModel) truncate(offset int64) {
	i := 0
	for i < len(m.keys) && m.keys[i] < offset {
		i++
	}
	m.keys, m.poss = m.keys[:i], m.poss[:i]
}

// check compares every answer of x with the model: random targets, every
// key exactly, just below and just above it, and the last entry.
func (m *offsetModel) check(t *testing.T, rng *rand.Rand, x *OffsetIndex, base int64) {
	t.Helper()
	require.Equal(t, len(m.keys), x.Entries())
	expectIdx := func(target int64, i int) { // i: the floor entry, -1 for none
		want := [2]int64{base, 0}
		if i >= 0 {
			want = [2]int64{m.keys[i], m.poss[i]}
		}
		if off, pos := x.Lookup(target); [2]int64{off, pos} != want {
			t.Fatalf("Lookup(%d) = (%d, %d), want %v", target, off, pos, want)
		}
	}
	hi := base + 10
	if len(m.keys) > 0 {
		hi = m.keys[len(m.keys)-1] + 10
	}
	for range 50 {
		target := base - 3 + rng.Int64N(hi-base+6)
		i, _ := modelFloor(m.keys, target)
		expectIdx(target, i)
	}
	checkKeys(m.keys, expectIdx)
	off, pos, ok := x.LastEntry()
	if n := len(m.keys); n > 0 {
		require.True(t, ok)
		require.Equal(t, [2]int64{m.keys[n-1], m.poss[n-1]}, [2]int64{off, pos})
	} else {
		require.False(t, ok)
	}
	require.NoError(t, x.SanityCheck())
}

// checkKeys looks up the model's keys (increasing), just below and just
// above them with expectIdx(target, floor entry): all of those of the tail
// (the last tailEntries: the boundary with the mapped part lies among
// them) and a sample of the others.
func checkKeys(keys []int64, expectIdx func(target int64, i int)) {
	for j, k := range keys {
		if j < len(keys)-tailEntries-4 && j%7 != 0 {
			continue
		}
		expectIdx(k, j)
		if j == 0 || keys[j-1] < k-1 {
			expectIdx(k-1, j-1)
		}
		if j == len(keys)-1 || keys[j+1] > k+1 {
			expectIdx(k+1, j)
		}
	}
}

// checkPrefix opens a copy of the file taken now (a process crash) and
// checks it holds a prefix of the model missing at most tailEntries
// entries, which passes SanityCheck.
func (m *offsetModel) checkPrefix(t *testing.T, src, dst string, base int64, maxBytes int) {
	t.Helper()
	copyFile(t, src, dst)
	for _, writable := range []bool{false, true} {
		y, err := OpenOffsetIndex(nil, dst, base, maxBytes, writable)
		require.NoError(t, err)
		n := y.Entries()
		require.LessOrEqual(t, n, len(m.keys))
		require.GreaterOrEqual(t, n, len(m.keys)-tailEntries)
		require.NoError(t, y.SanityCheck())
		if n > 0 {
			off, pos, ok := y.LastEntry()
			require.True(t, ok)
			require.Equal(t, [2]int64{m.keys[n-1], m.poss[n-1]}, [2]int64{off, pos})
			off, pos = y.Lookup(m.keys[n/2])
			require.Equal(t, [2]int64{m.keys[n/2], m.poss[n/2]}, [2]int64{off, pos})
		}
		require.NoError(t, y.Close())
	}
}

// TestTailOffsetModel drives an offset index through random appends,
// flushes, truncations (inside the tail and below it) and reopens, across
// many tail boundaries, comparing every lookup with the linear model.
func TestTailOffsetModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 11))
	dir := t.TempDir()
	for iter := range 3 {
		base := rng.Int64N(1 << 40)
		capN := tailEntries*2 + rng.IntN(2*tailEntries)
		maxBytes := capN * OffsetEntrySize
		path := filepath.Join(dir, fmt.Sprintf("%d.index", iter))
		x, err := OpenOffsetIndex(nil, path, base, maxBytes, true)
		require.NoError(t, err)
		var m offsetModel
		next := func() (int64, int64) {
			k, p := base+rng.Int64N(3), int64(0)
			if n := len(m.keys); n > 0 {
				k, p = m.keys[n-1], m.poss[n-1]
			}
			return k + 1 + rng.Int64N(40), p + 1 + rng.Int64N(9000)
		}
		for step := 0; len(m.keys) < capN; step++ {
			switch r := rng.IntN(1000); {
			case r < 4: // truncate somewhere in the last 700 entries
				if n := len(m.keys); n > 0 {
					i := max(0, n-1-rng.IntN(700))
					cut := m.keys[i] - rng.Int64N(2)
					require.NoError(t, x.TruncateTo(cut))
					m.truncate(cut)
					m.check(t, rng, x, base)
				}
			case r < 8:
				require.NoError(t, x.Flush())
			case r < 10:
				m.checkPrefix(t, path, path+".crash", base, maxBytes)
			case r < 12: // clean reopen: everything is there
				require.NoError(t, x.Close())
				x, err = OpenOffsetIndex(nil, path, base, maxBytes, true)
				require.NoError(t, err)
				m.check(t, rng, x, base)
			default:
				k, p := next()
				require.NoError(t, x.Append(k, p))
				m.keys, m.poss = append(m.keys, k), append(m.poss, p)
				if n := len(m.keys) % tailEntries; n <= 1 || n == tailEntries-1 || rng.IntN(300) == 0 {
					m.check(t, rng, x, base) // around every tail boundary
				}
			}
		}
		m.check(t, rng, x, base)
		require.True(t, x.IsFull())
		k, p := next()
		require.ErrorIs(t, x.Append(k, p), ErrIndexFull)
		m.checkPrefix(t, path, path+".crash", base, maxBytes)
		require.NoError(t, x.Seal())
		m.check(t, rng, x, base)
		require.NoError(t, x.Close())
		y := openOffset(t, path, base, maxBytes, false)
		m.check(t, rng, y, base)
	}
}

// timeModel is the linear reference of a time index.
type timeModel struct{ tss, offs []int64 }

func (m *timeModel) truncate(offset int64) {
	i := 0
	for i < len(m.offs) && m.offs[i] < offset {
		i++
	}
	m.tss, m.offs = m.tss[:i], m.offs[:i]
}

func (m *timeModel) check(t *testing.T, rng *rand.Rand, x *TimeIndex, base int64) {
	t.Helper()
	require.Equal(t, len(m.tss), x.Entries())
	expectIdx := func(target int64, i int) { // i: the floor entry, -1 for none
		want := [2]int64{-1, base}
		if i >= 0 {
			want = [2]int64{m.tss[i], m.offs[i]}
		}
		if ts, off := x.Lookup(target); [2]int64{ts, off} != want {
			t.Fatalf("Lookup(%d) = (%d, %d), want %v", target, ts, off, want)
		}
	}
	hi := int64(10)
	if len(m.tss) > 0 {
		hi = m.tss[len(m.tss)-1] + 10
	}
	for range 50 {
		target := rng.Int64N(hi) - 3
		i, _ := modelFloor(m.tss, target)
		expectIdx(target, i)
	}
	checkKeys(m.tss, expectIdx)
	ts, off, ok := x.LastEntry()
	if n := len(m.tss); n > 0 {
		require.True(t, ok)
		require.Equal(t, [2]int64{m.tss[n-1], m.offs[n-1]}, [2]int64{ts, off})
	} else {
		require.False(t, ok)
	}
	require.NoError(t, x.SanityCheck())
}

// TestTailTimeModel is TestTailOffsetModel for the time index, with
// MaybeAppend's skipped entries.
func TestTailTimeModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 13))
	dir := t.TempDir()
	for iter := range 3 {
		base := rng.Int64N(1 << 40)
		capN := tailEntries*2 + rng.IntN(2*tailEntries)
		maxBytes := capN * TimeEntrySize
		path := filepath.Join(dir, fmt.Sprintf("%d.timeindex", iter))
		x, err := OpenTimeIndex(nil, path, base, maxBytes, true)
		require.NoError(t, err)
		var m timeModel
		var lastOff int64 = base
		for len(m.tss) < capN-1 { // the last slot is reserved (IsFull)
			switch r := rng.IntN(1000); {
			case r < 4:
				if n := len(m.tss); n > 0 {
					cut := m.offs[max(0, n-1-rng.IntN(700))] - rng.Int64N(2)
					require.NoError(t, x.TruncateTo(cut))
					m.truncate(cut)
					lastOff = max(cut-1, base)
					m.check(t, rng, x, base)
				}
			case r < 8:
				require.NoError(t, x.Flush())
			case r < 12:
				require.NoError(t, x.Close())
				x, err = OpenTimeIndex(nil, path, base, maxBytes, true)
				require.NoError(t, err)
				m.check(t, rng, x, base)
			default:
				lastTs := int64(-1)
				if n := len(m.tss); n > 0 {
					lastTs = m.tss[n-1]
				}
				ts := lastTs + rng.Int64N(50) - 5 // sometimes not greater: skipped
				lastOff += rng.Int64N(30)
				require.NoError(t, x.MaybeAppend(ts, lastOff))
				if ts > lastTs && (ts != 0 || lastOff != base) {
					m.tss, m.offs = append(m.tss, ts), append(m.offs, lastOff)
					if n := len(m.tss) % tailEntries; n <= 1 || n == tailEntries-1 || rng.IntN(300) == 0 {
						m.check(t, rng, x, base)
					}
				}
			}
		}
		require.True(t, x.IsFull())
		m.check(t, rng, x, base)
		copyFile(t, path, path+".crash")
		y := openTime(t, path+".crash", base, maxBytes, false)
		require.GreaterOrEqual(t, y.Entries(), len(m.tss)-tailEntries)
		require.NoError(t, y.SanityCheck())
		require.NoError(t, x.Seal())
		m.check(t, rng, x, base)
		require.NoError(t, x.Close())
		y = openTime(t, path, base, maxBytes, false)
		m.check(t, rng, y, base)
	}
}

// TestTailWrites counts the writes to the index files: one per tailEntries
// entries while appending, none while looking up, one at Close for the
// rest; a crash copy holds exactly the entries written.
func TestTailWrites(t *testing.T) {
	dir := t.TempDir()
	var writes, reads atomic.Int64
	efs := errorfs.New(nil)
	efs.SetInjector(func(op errorfs.Op, _ string) error {
		switch op {
		case errorfs.OpWrite:
			writes.Add(1)
		case errorfs.OpRead:
			reads.Add(1)
		}
		return nil
	})
	const n = 5*tailEntries + 100
	op, tp := filepath.Join(dir, "a.index"), filepath.Join(dir, "a.timeindex")
	x, err := OpenOffsetIndex(efs, op, 0, 8*(n+10), true)
	require.NoError(t, err)
	ti, err := OpenTimeIndex(efs, tp, 0, 12*(n+10), true)
	require.NoError(t, err)
	writes.Store(0)
	for i := int64(1); i <= n; i++ {
		require.NoError(t, x.Append(i, i*4096))
		require.NoError(t, ti.MaybeAppend(1000+i, i))
		x.Lookup(i / 2)
		ti.Lookup(1000 + i/2)
		x.LastEntry()
	}
	// The write of a full tail happens at the next append.
	require.Equal(t, int64(2*5), writes.Load(), "one write per %d entries per index", tailEntries)
	require.Zero(t, reads.Load())

	copyFile(t, op, op+".crash")
	copyFile(t, tp, tp+".crash")
	y := openOffset(t, op+".crash", 0, 8*(n+10), true)
	require.Equal(t, 5*tailEntries, y.Entries(), "a crash loses the pending entries")
	require.NoError(t, y.SanityCheck())
	yt := openTime(t, tp+".crash", 0, 12*(n+10), false)
	require.Equal(t, 5*tailEntries, yt.Entries())
	require.NoError(t, yt.SanityCheck())

	require.NoError(t, x.Flush())
	require.NoError(t, x.Flush(), "nothing pending: no write")
	require.Equal(t, int64(11), writes.Load())
	require.NoError(t, x.Close())
	require.NoError(t, ti.Close())
	require.Equal(t, int64(12), writes.Load(), "Close writes the rest in one write")

	x = openOffset(t, op, 0, 8*(n+10), true)
	require.Equal(t, n, x.Entries())
	require.NoError(t, x.SanityCheck())
	ti = openTime(t, tp, 0, 12*(n+10), true)
	require.Equal(t, n, ti.Entries())
	require.NoError(t, ti.SanityCheck())
}

// TestTailFlushFails: a full tail whose write fails refuses the append
// that found it full and publishes nothing; the next append retries.
func TestTailFlushFails(t *testing.T) {
	efs := errorfs.New(nil)
	x, err := OpenOffsetIndex(efs, filepath.Join(t.TempDir(), "a.index"), 0, 8*4*tailEntries, true)
	require.NoError(t, err)
	defer x.Close()
	for i := int64(1); i <= tailEntries; i++ {
		require.NoError(t, x.Append(i, i*10))
	}
	efs.SetInjector(errorfs.FailAlways(errorfs.OpWrite, nil))
	require.ErrorIs(t, x.Append(tailEntries+1, (tailEntries+1)*10), errorfs.ErrInjected)
	require.Equal(t, tailEntries, x.Entries())
	off, pos, _ := x.LastEntry()
	require.Equal(t, [2]int64{tailEntries, tailEntries * 10}, [2]int64{off, pos})
	efs.SetInjector(nil)
	require.NoError(t, x.Append(tailEntries+1, (tailEntries+1)*10))
	require.Equal(t, tailEntries+1, x.Entries())
	off, pos = x.Lookup(tailEntries)
	require.Equal(t, [2]int64{tailEntries, tailEntries * 10}, [2]int64{off, pos})
	require.NoError(t, x.SanityCheck())
}

// TestTailConcurrent runs readers while the writer appends across many
// tail writes, flushes at random, and now and then drops the last few
// entries (in the tail or below it) and appends them again: every answer
// must be exactly the floor among the entries published before the lookup
// began, or a later entry that is still <= the target. Run with -race.
func TestTailConcurrent(t *testing.T) {
	const (
		base    = 1 << 33
		entries = 40 * tailEntries
		readers = 3
	)
	dir := t.TempDir()
	x, err := OpenOffsetIndex(nil, filepath.Join(dir, "a.index"), base, 8*entries, true)
	require.NoError(t, err)
	defer x.Close()
	ti, err := OpenTimeIndex(nil, filepath.Join(dir, "a.timeindex"), base, 12*(entries+1), true)
	require.NoError(t, err)
	defer ti.Close()
	key := func(i int64) int64 { return base + 3*i } // entry i >= 1
	pos := func(i int64) int64 { return 7 * i }
	ts := func(i int64) int64 { return 5 * i }

	var stop atomic.Bool
	var lookups atomic.Int64
	errs := make(chan error, readers)
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 2))
			for !stop.Load() {
				lookups.Add(1)
				// Entries published now stay published but for the
				// last 32, which the writer may drop and append again.
				floor := int64(x.Entries()) - 32
				i := 1 + rng.Int64N(entries)
				target := key(i) + rng.Int64N(3) - 1
				off, p := x.Lookup(target)
				want := min((target-base)/3, floor)
				switch {
				case off > target:
					errs <- fmt.Errorf("lookup(%d) = %d above the target", target, off)
					return
				case off == base && p == 0 && want < 1:
				case (off-base)%3 != 0 || p != pos((off-base)/3) || (off-base)/3 < want:
					errs <- fmt.Errorf("lookup(%d) = (%d, %d), floor entry %d", target, off, p, want)
					return
				}
				tFloor := int64(ti.Entries()) - 32
				tt := ts(i) + rng.Int64N(5) - 2
				gotTs, gotOff := ti.Lookup(tt)
				want = min(tt/5, tFloor)
				switch {
				case gotTs == -1 && gotOff == base && want < 1:
				case gotTs > tt || gotTs%5 != 0 || gotOff != key(gotTs/5) || gotTs/5 < want:
					errs <- fmt.Errorf("time lookup(%d) = (%d, %d), floor entry %d", tt, gotTs, gotOff, want)
					return
				}
			}
		})
	}
	rng := rand.New(rand.NewPCG(testSeed(t), 3))
	high := int64(0) // the most entries ever appended: the count never falls below high-32
	for i := int64(1); i < entries; i++ {
		require.NoError(t, x.Append(key(i), pos(i)))
		require.NoError(t, ti.MaybeAppend(ts(i), key(i)))
		high = max(high, i)
		switch rng.IntN(200) {
		case 0:
			require.NoError(t, x.Flush())
			require.NoError(t, ti.Flush())
		case 1: // drop up to 32 entries and append them again
			if i < high {
				break
			}
			back := min(i-1, 1+rng.Int64N(32))
			require.NoError(t, x.TruncateTo(key(i-back+1)))
			require.NoError(t, ti.TruncateTo(key(i-back+1)))
			i -= back
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	require.Equal(t, entries-1, x.Entries())
	require.NoError(t, x.SanityCheck())
	require.NoError(t, ti.SanityCheck())
	t.Logf("%d lookups", lookups.Load())
}

package index

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConcurrentLookup runs readers against one writer that appends, seals,
// truncates, resets and finally closes: every answer a reader gets must be
// an entry the writer wrote (key and position agree) with key <= target,
// or the implicit first entry; during the append phase it must also be at
// least the floor among the entries published before the lookup began.
// Run with -race; a reader touching an unmapped page would crash.
func TestConcurrentLookup(t *testing.T) {
	const (
		base    = 5000
		entries = 20000
		readers = 4
	)
	dir := t.TempDir()
	x, err := OpenOffsetIndex(nil, filepath.Join(dir, "a.index"), base, 8*entries, true)
	require.NoError(t, err)
	ti, err := OpenTimeIndex(nil, filepath.Join(dir, "a.timeindex"), base, 12*(entries+1), true)
	require.NoError(t, err)

	key := func(i int64) int64 { return base + 10*i } // entry i >= 1
	pos := func(i int64) int64 { return 100 * i }
	ts := func(i int64) int64 { return 1_000_000 + 7*i }

	var appendPhase atomic.Bool
	appendPhase.Store(true)
	var stop atomic.Bool
	var lookups atomic.Int64
	errs := make(chan error, readers)
	var wg sync.WaitGroup
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			fail := func(format string, args ...any) {
				errs <- fmt.Errorf(format, args...)
			}
			for !stop.Load() {
				lookups.Add(1)
				target := base - 5 + rng.Int64N(10*entries+20)
				inAppend := appendPhase.Load()
				published := int64(x.Entries())
				off, p := x.Lookup(target)
				if off > target && target >= base {
					fail("offset lookup(%d) = %d above target", target, off)
					return
				}
				if off == base {
					if p != 0 {
						fail("implicit entry with position %d", p)
						return
					}
				} else if (off-base)%10 != 0 || p != pos((off-base)/10) {
					fail("lookup(%d) = (%d, %d): not an entry that was written", target, off, p)
					return
				}
				if inAppend && appendPhase.Load() {
					floor := min((target-base)/10, published)
					if floor >= 1 && off < key(floor) {
						fail("lookup(%d) = %d, below published floor %d", target, off, key(floor))
						return
					}
				}
				tt := 1_000_000 - 5 + rng.Int64N(7*entries+20)
				gotTs, gotOff := ti.Lookup(tt)
				if gotTs == -1 {
					if gotOff != base {
						fail("time lookup none with offset %d", gotOff)
						return
					}
				} else if gotTs > tt || (gotTs-1_000_000)%7 != 0 || gotOff != key((gotTs-1_000_000)/7) {
					fail("time lookup(%d) = (%d, %d)", tt, gotTs, gotOff)
					return
				}
				x.LastEntry()
				ti.LastEntry()
			}
		}()
	}

	for i := int64(1); i < entries; i++ {
		require.NoError(t, x.Append(key(i), pos(i)))
		require.NoError(t, ti.MaybeAppend(ts(i), key(i)))
	}
	appendPhase.Store(false)
	require.NoError(t, x.Seal())
	require.NoError(t, ti.Seal())
	require.NoError(t, x.TruncateTo(key(entries/2)))
	require.NoError(t, ti.TruncateTo(key(entries/2)))
	require.NoError(t, x.Reset())
	require.NoError(t, ti.Reset())
	for i := int64(1); i < entries/4; i++ {
		require.NoError(t, x.Append(key(i), pos(i)))
		require.NoError(t, ti.MaybeAppend(ts(i), key(i)))
	}
	require.NoError(t, x.TruncateTo(key(entries/8)))
	require.NoError(t, ti.TruncateTo(key(entries/8)))
	require.NoError(t, x.Seal())
	require.NoError(t, ti.Seal())
	require.NoError(t, x.Close())
	require.NoError(t, ti.Close())
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d lookups", lookups.Load())
}

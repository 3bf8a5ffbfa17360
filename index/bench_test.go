package index

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkLookup measures one floor lookup on a sealed index with random
// targets (index in the page cache).
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("kind=offset/entries=%d", n), func(b *testing.B) {
			x, err := OpenOffsetIndex(nil, filepath.Join(b.TempDir(), "a.index"), 0, 8*n, true)
			require.NoError(b, err)
			defer x.Close()
			for i := int64(1); i <= int64(n); i++ {
				require.NoError(b, x.Append(i*10, i*4100))
			}
			require.NoError(b, x.Seal())
			rng := rand.New(rand.NewPCG(1, 2))
			targets := make([]int64, 4096)
			for i := range targets {
				targets[i] = rng.Int64N(int64(n) * 10)
			}
			b.ReportAllocs()
			var i int
			var sink int64
			for b.Loop() {
				_, pos := x.Lookup(targets[i&4095])
				sink += pos
				i++
			}
			_ = sink
		})
		b.Run(fmt.Sprintf("kind=time/entries=%d", n), func(b *testing.B) {
			x, err := OpenTimeIndex(nil, filepath.Join(b.TempDir(), "a.timeindex"), 0, 12*(n+1), true)
			require.NoError(b, err)
			defer x.Close()
			for i := int64(1); i <= int64(n); i++ {
				require.NoError(b, x.MaybeAppend(1_700_000_000_000+i*3, i*10))
			}
			require.NoError(b, x.Seal())
			rng := rand.New(rand.NewPCG(1, 2))
			targets := make([]int64, 4096)
			for i := range targets {
				targets[i] = 1_700_000_000_000 + rng.Int64N(int64(n)*3)
			}
			b.ReportAllocs()
			var i int
			var sink int64
			for b.Loop() {
				_, off := x.Lookup(targets[i&4095])
				sink += off
				i++
			}
			_ = sink
		})
	}
}

// BenchmarkAppend measures one offset-index append (into the in-memory
// tail; one pwrite per 512 entries).
func BenchmarkAppend(b *testing.B) {
	x, err := OpenOffsetIndex(nil, filepath.Join(b.TempDir(), "a.index"), 0, 8<<20, true)
	require.NoError(b, err)
	defer x.Close()
	b.ReportAllocs()
	i := int64(0)
	for b.Loop() {
		i++
		if x.IsFull() {
			b.StopTimer()
			require.NoError(b, x.Reset())
			i = 1
			b.StartTimer()
		}
		if err := x.Append(i, i*100); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLookupZeroAlloc pins the zero-allocation promise of the hot paths.
func TestLookupZeroAlloc(t *testing.T) {
	dir := t.TempDir()
	x := openOffset(t, filepath.Join(dir, "a.index"), 0, 8000, true)
	ti := openTime(t, filepath.Join(dir, "a.timeindex"), 0, 12000, true)
	var i int64
	allocs := testing.AllocsPerRun(200, func() {
		i++
		_ = x.Append(i, i*10)
		_ = ti.MaybeAppend(i*3, i)
		x.Lookup(i / 2)
		ti.Lookup(i)
		x.LastEntry()
		ti.LastEntry()
	})
	require.Zero(t, allocs)
}

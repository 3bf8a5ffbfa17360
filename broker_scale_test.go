package samsa

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fillBroker creates topics×perTopic partitions in dir, appends one small
// batch to each, and closes the broker cleanly.
func fillBroker(tb testing.TB, dir string, topics, perTopic int) {
	tb.Helper()
	b, err := Open(dir, nil)
	require.NoError(tb, err)
	defer b.Close()
	for i := range topics {
		name := fmt.Sprintf("topic-%03d", i)
		require.NoError(tb, b.CreateTopic(name, &TopicConfig{Partitions: int32(perTopic)}))
		for p := range int32(perTopic) {
			part, err := b.Partition(name, p)
			require.NoError(tb, err)
			_, err = part.Append(makeBatch(tb, "k", 0, 1, time.Now()))
			require.NoError(tb, err)
		}
	}
	require.NoError(tb, b.Close())
}

// openFootprint opens dir and measures what the open broker holds beyond
// what the process held before: heap bytes (after a GC), open files,
// mappings of the directory's files, and goroutines.
type footprint struct {
	open                  time.Duration
	heap                  int64
	fds, maps, goroutines int
}

func measureOpen(tb testing.TB, dir string) footprint {
	tb.Helper()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fds, gs := openFDs(tb), runtime.NumGoroutine()
	start := time.Now()
	b, err := Open(dir, nil)
	require.NoError(tb, err)
	f := footprint{open: time.Since(start)}
	runtime.GC()
	runtime.ReadMemStats(&after)
	f.heap = int64(after.HeapAlloc) - int64(before.HeapAlloc)
	f.fds = openFDs(tb) - fds
	f.maps = mappingsOf(tb, dir)
	f.goroutines = runtime.NumGoroutine() - gs
	require.True(tb, b.Stats().CleanOpen)
	require.NoError(tb, b.Close())
	return f
}

// TestBrokerScale1000 checks the scale claims at 1,000 partitions (10
// topics of 100): a clean reopen scans nothing and is quick, starts no
// goroutine per partition, and holds a bounded number of files, mappings
// and heap bytes per partition.
func TestBrokerScale1000(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 1,000 partitions")
	}
	const n = 1000
	dir := t.TempDir()
	start := time.Now()
	fillBroker(t, dir, 10, 100)
	t.Logf("created %d partitions in %v", n, time.Since(start))
	f := measureOpen(t, dir)
	t.Logf("open %v, heap %d B/partition, %d fds, %d mappings, %d goroutines",
		f.open, f.heap/n, f.fds, f.maps, f.goroutines)
	require.Less(t, f.goroutines, 10, "a goroutine per partition?")
	// +1 partition: the internal __consumer_offsets.
	require.LessOrEqual(t, f.fds, 3*(n+1)+10, "open files per idle partition")
	require.LessOrEqual(t, f.maps, 3*(n+1), "mappings per idle partition")
	require.Less(t, f.heap/n, int64(16<<10), "heap per idle partition")
	require.Less(t, f.open, 10*time.Second)
}

// BenchmarkOpen measures a clean reopen of a data directory of 1, 1,000
// and 10,000 partitions (100 topics × 100 for the largest): ns/op is the
// time Open takes (Close is not timed); heap-B/partition, fds and mappings
// are what the open broker holds beyond what the process held before.
//
//	go test -run '^$' -bench BenchmarkOpen -benchtime 3x .
func BenchmarkOpen(b *testing.B) {
	for _, c := range []struct{ topics, perTopic int }{{1, 1}, {10, 100}, {100, 100}} {
		n := c.topics * c.perTopic
		b.Run(fmt.Sprintf("partitions=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			fillBroker(b, dir, c.topics, c.perTopic)
			var f footprint
			for b.Loop() {
				b.StopTimer()
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				fds, gs := openFDs(b), runtime.NumGoroutine()
				b.StartTimer()
				br, err := Open(dir, nil)
				b.StopTimer()
				require.NoError(b, err)
				runtime.GC()
				runtime.ReadMemStats(&after)
				f = footprint{
					heap:       int64(after.HeapAlloc) - int64(before.HeapAlloc),
					fds:        openFDs(b) - fds,
					maps:       mappingsOf(b, dir),
					goroutines: runtime.NumGoroutine() - gs,
				}
				require.True(b, br.Stats().CleanOpen)
				require.NoError(b, br.Close())
				b.StartTimer()
			}
			b.ReportMetric(float64(f.heap)/float64(n), "heap-B/partition")
			b.ReportMetric(float64(f.fds), "fds")
			b.ReportMetric(float64(f.maps), "mappings")
			b.ReportMetric(float64(f.goroutines), "goroutines")
		})
	}
}

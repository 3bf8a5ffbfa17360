package producer

import (
	"math"
	"sync"
	"testing"

	"github.com/samsalog/samsa/record"
)

var keyless = &record.Record{Value: []byte("v")}

// sticky returns the partition p keeps choosing, after checking that it
// gives the same one several times.
func sticky(t *testing.T, p Partitioner, n int32) int32 {
	t.Helper()
	first := partition(t, p, keyless, n)
	for range 10 {
		if got := partition(t, p, keyless, n); got != first {
			t.Fatalf("sticky partition moved from %d to %d without a switch", first, got)
		}
	}
	return first
}

func TestStickyStaysUntilNewBatch(t *testing.T) {
	for _, n := range []int32{2, 3, 10, 1000} {
		p := NewStickyPartitioner("t")
		nb := p.(BatchAware)
		cur := sticky(t, p, n)
		for range 200 {
			// A report about another partition (stale, or a keyed record's
			// batch) changes nothing.
			nb.OnNewBatch((cur + 1) % n)
			nb.OnNewBatch(-1)
			nb.OnNewBatch(math.MaxInt32)
			if got := sticky(t, p, n); got != cur {
				t.Fatalf("n=%d: moved from %d to %d on a report about another partition", n, cur, got)
			}
			nb.OnNewBatch(cur)
			next := sticky(t, p, n)
			if next == cur {
				t.Fatalf("n=%d: OnNewBatch(%d) kept partition %d; want a different one", n, cur, next)
			}
			cur = next
		}
	}
}

func TestStickyOnePartition(t *testing.T) {
	p := NewStickyPartitioner("t")
	for range 20 {
		if got := sticky(t, p, 1); got != 0 {
			t.Fatalf("n=1: %d", got)
		}
		p.(BatchAware).OnNewBatch(0)
	}
}

// TestStickySpread: over many switches every partition is chosen about
// equally often (each switch is uniform among the other partitions).
func TestStickySpread(t *testing.T) {
	const n, switches = 5, 5000
	for name, newP := range map[string]PartitionerConstructor{
		"sticky":        NewStickyPartitioner,
		"uniformsticky": NewUniformStickyPartitioner(10),
	} {
		t.Run("partitioner="+name, func(t *testing.T) {
			p := newP("t")
			counts := make([]int, n)
			for range switches {
				cur := partition(t, p, keyless, n)
				counts[cur]++
				if nb, ok := p.(BatchAware); ok {
					nb.OnNewBatch(cur)
				} else {
					p.(BytesAware).OnAppend(keyless, cur, 10, true)
				}
			}
			for i, c := range counts {
				// Expected 1000 each; 5 standard deviations is about 150.
				if c < 800 || c > 1200 {
					t.Errorf("partition %d chosen %d times of %d: %v", i, c, switches, counts)
				}
			}
		})
	}
}

// TestStickyConcurrentSwitchOnce: goroutines that all saw the same batch
// boundary switch the partition once, not once each.
func TestStickyConcurrentSwitchOnce(t *testing.T) {
	for range 50 {
		p := NewStickyPartitioner("t")
		cur := sticky(t, p, 10)
		var wg sync.WaitGroup
		results := make([]int32, 16)
		for i := range results {
			wg.Go(func() {
				p.(BatchAware).OnNewBatch(cur)
				results[i], _ = p.Partition(keyless, 10)
			})
		}
		wg.Wait()
		for _, r := range results {
			if r != results[0] || r == cur {
				t.Fatalf("after concurrent OnNewBatch(%d): partitions %v, want one new partition", cur, results)
			}
		}
	}
}

func TestStickyPartitionCountChanges(t *testing.T) {
	for name, newP := range map[string]PartitionerConstructor{
		"sticky":        NewStickyPartitioner,
		"uniformsticky": NewUniformStickyPartitioner(10),
	} {
		t.Run("partitioner="+name, func(t *testing.T) {
			p := newP("t")
			cur := sticky(t, p, 3)
			if got := sticky(t, p, 100); got != cur {
				t.Fatalf("growing from 3 to 100 partitions moved %d to %d", cur, got)
			}
			// Shrinking never happens in Kafka; the choice is then redone.
			p = newP("t")
			for partition(t, p, keyless, 100) < 50 {
				p = newP("t")
			}
			if got := sticky(t, p, 50); got >= 50 {
				t.Fatalf("shrunk to 50 partitions: %d", got)
			}
		})
	}
}

func TestUniformStickySwitchesOnBytes(t *testing.T) {
	const size = 1000
	tests := []struct {
		name     string
		appends  []int  // bytes per append, all with batchFull = full
		full     []bool // per append
		switchAt int    // index of the append after which it switches; -1 never
	}{
		{"below size, full", []int{400, 500}, []bool{true, true}, -1},
		{"at size, full", []int{400, 600}, []bool{false, true}, 1},
		{"over size, full", []int{999, 2}, []bool{false, true}, 1},
		{"at size, not full", []int{500, 500, 400}, []bool{false, false, false}, -1},
		{"past size, full later", []int{600, 600, 10}, []bool{false, false, true}, 2},
		{"twice size, not full", []int{1000, 999, 1}, []bool{false, false, false}, 2},
		{"one huge record", []int{5000}, []bool{false}, 0},
		{"beyond int32", []int{math.MaxInt32, math.MaxInt32}, []bool{false, false}, 0},
		{"zero and negative", []int{0, -5, 999}, []bool{true, true, true}, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewUniformStickyPartitioner(size)("t")
			ba := p.(BytesAware)
			cur := sticky(t, p, 10)
			for i, b := range tc.appends {
				ba.OnAppend(keyless, cur, b, tc.full[i])
				got := sticky(t, p, 10)
				switched := got != cur
				if switched != (i == tc.switchAt) {
					t.Fatalf("after append %d (%d bytes, full %v): switched = %v, want %v",
						i, b, tc.full[i], switched, i == tc.switchAt)
				}
				if switched {
					return
				}
			}
		})
	}
}

func TestUniformStickyCountsOnlyItsPartition(t *testing.T) {
	p := NewUniformStickyPartitioner(100)("t")
	ba := p.(BytesAware)
	cur := sticky(t, p, 4)
	other := (cur + 1) % 4
	for range 100 {
		ba.OnAppend(keyless, other, 1000, true)
		ba.OnAppend(keyless, -1, 1000, true)
	}
	if got := sticky(t, p, 4); got != cur {
		t.Fatalf("reports about partition %d moved the sticky partition %d to %d", other, cur, got)
	}
	// The count restarts after a switch: the bytes sent to the old
	// partition do not count for the new one.
	ba.OnAppend(keyless, cur, 150, true)
	next := sticky(t, p, 4)
	if next == cur {
		t.Fatal("no switch")
	}
	ba.OnAppend(keyless, cur, 150, true) // late report about the old partition
	ba.OnAppend(keyless, next, 50, true)
	if got := sticky(t, p, 4); got != next {
		t.Fatalf("switched after 50 of 100 bytes")
	}
}

func TestUniformStickyBatchSizeDefault(t *testing.T) {
	for _, tc := range []struct {
		in   int
		want uint64
	}{{0, 16384}, {-1, 16384}, {1, 1}, {1 << 20, 1 << 20}, {math.MaxInt, math.MaxInt32}} {
		p := NewUniformStickyPartitioner(tc.in)("t").(*uniformStickyPartitioner)
		if p.batchSize != tc.want {
			t.Errorf("NewUniformStickyPartitioner(%d): batch size %d, want %d", tc.in, p.batchSize, tc.want)
		}
	}
	// The default switches at 16384 bytes with a full batch.
	p := NewDefaultPartitioner(0)("t")
	cur := sticky(t, p, 10)
	p.(BytesAware).OnAppend(keyless, cur, 16383, true)
	if sticky(t, p, 10) != cur {
		t.Fatal("switched before 16384 bytes")
	}
	p.(BytesAware).OnAppend(keyless, cur, 1, true)
	if sticky(t, p, 10) == cur {
		t.Fatal("no switch at 16384 bytes")
	}
}

// TestDefaultPartitionerKeyedBytesNotCounted: as in Java, only records the
// sticky logic placed count toward the switch.
func TestDefaultPartitionerKeyedBytesNotCounted(t *testing.T) {
	p := NewDefaultPartitioner(100)("t")
	ba := p.(BytesAware)
	cur := sticky(t, p, 10)
	keyed := &record.Record{Key: []byte("k")}
	for range 10 {
		ba.OnAppend(keyed, cur, 1000, true)
	}
	if got := sticky(t, p, 10); got != cur {
		t.Fatalf("keyed records moved the sticky partition from %d to %d", cur, got)
	}
	ba.OnAppend(keyless, cur, 100, true)
	if got := sticky(t, p, 10); got == cur {
		t.Fatal("keyless bytes did not switch")
	}
	// Keyed records are placed by murmur2 whatever the sticky state.
	for _, tc := range keyTable {
		if got := partition(t, p, &record.Record{Key: tc.key}, 100); got != tc.java[2] {
			t.Errorf("key %q: %d, want %d", tc.key, got, tc.java[2])
		}
	}
}

// TestUniformStickyConcurrentBytes: concurrent reports of k bytes each add
// up; no increment is lost to a compare-and-swap race.
func TestUniformStickyConcurrentBytes(t *testing.T) {
	const workers, each = 8, 1000
	p := NewUniformStickyPartitioner(workers*each + 1)("t").(*uniformStickyPartitioner)
	cur := sticky(t, p, 3)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				p.OnAppend(keyless, cur, 1, false)
			}
		})
	}
	wg.Wait()
	c, produced := unpackUniform(p.state.Load())
	if c != cur || produced != workers*each {
		t.Fatalf("state (%d, %d), want (%d, %d)", c, produced, cur, workers*each)
	}
}

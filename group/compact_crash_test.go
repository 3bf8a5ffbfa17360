//go:build unix

package group

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/crashtest"
	"github.com/samsalog/samsa/log"
	"github.com/samsalog/samsa/partition"
)

var (
	compactCrashSeed = crashtest.SeedFlag("group.crash.seed",
		"seed of TestCrashCompactOffsets (0: from the clock; the seed is logged)")
	compactCrashCycles = flag.Int("group.crash.cycles", 4, "kill-and-reopen cycles of TestCrashCompactOffsets")
)

// Shape of TestCrashCompactOffsets: crashWriters writers, writer w
// committing increasing offsets of partition w of topic "t" in group
// g<w%3>, over two offsets partitions of crashSegmentBytes segments.
const (
	crashWriters      = 6
	crashParts        = 2
	crashSegmentBytes = 2048
)

func openCrashOffsets(t *testing.T, dir string) ([]*partition.Partition, *Coordinator) {
	t.Helper()
	parts := make([]*partition.Partition, crashParts)
	for i := range parts {
		p, err := partition.Open(fmt.Sprintf("%s/__consumer_offsets-%d", dir, i), "__consumer_offsets", int32(i),
			&partition.Config{Log: log.Config{SegmentBytes: crashSegmentBytes}})
		require.NoError(t, err)
		parts[i] = p
	}
	c, err := NewCoordinator(&CoordinatorConfig{
		Offsets:            parts,
		PartitionCount:     func(string) int32 { return crashWriters },
		CompactionMinBytes: 4096,
	})
	require.NoError(t, err)
	return parts, c
}

func crashKey(w int) (string, TopicPartition) {
	return fmt.Sprintf("g%d", w%3), TopicPartition{"t", int32(w)}
}

// loadedOffsets returns each writer's committed offset, -1 for none.
func loadedOffsets(t *testing.T, c *Coordinator) [crashWriters]int64 {
	t.Helper()
	var out [crashWriters]int64
	for w := range out {
		g, tp := crashKey(w)
		m, err := c.FetchOffsets(g, []TopicPartition{tp})
		require.NoError(t, err)
		out[w] = -1
		if o, ok := m[tp]; ok {
			out[w] = o.Offset
		}
	}
	return out
}

// TestCrashCompactOffsetsChild is not a test: it is the child process of
// TestCrashCompactOffsets, which runs this test binary again and kills it
// with SIGKILL. Run as an ordinary test it skips at once.
//
// The child opens the offsets partitions and the coordinator; each writer
// commits its next offset again and again, reporting each acknowledged
// commit, while another goroutine compacts the offsets partitions in a
// loop. Reports, one line per write(2):
//
//	o                 the coordinator is open
//	a <writer> <off>  a commit is acknowledged
//	c                 a compaction moved a log start offset
func TestCrashCompactOffsetsChild(t *testing.T) {
	child := crashtest.AsChild(t)
	_, c := openCrashOffsets(t, child.Dir)
	start := loadedOffsets(t, c)
	child.Reportf("o")
	rng := rand.New(rand.NewPCG(child.Seed, 0xc0))
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			g, tp := crashKey(w)
			for off := start[w] + 1; ; off++ {
				err := c.Commit(context.Background(), g, "", -1, map[TopicPartition]OffsetAndMetadata{tp: {Offset: off}})
				if err != nil {
					panic(err) // not require: FailNow works only on the test's goroutine
				}
				child.Reportf("a %d %d", w, off)
			}
		})
	}
	pause := time.Duration(rng.IntN(3)) * time.Millisecond
	wg.Go(func() {
		for {
			res, err := c.CompactOffsets(context.Background())
			if err != nil {
				panic(err)
			}
			if res.Partitions > 0 {
				child.Reportf("c")
			}
			time.Sleep(pause)
		}
	})
	wg.Wait()
}

// TestCrashCompactOffsets kills, with SIGKILL, a child process that
// commits offsets while it compacts the offsets topic, at a random moment:
// mid-snapshot, between the snapshot and DeleteRecordsBefore, during a
// segment's deletion, or between commits. After each kill the parent
// reopens the partitions and a coordinator: every key's offset is its
// last acknowledged one, or the next one (a commit appended but not yet
// acknowledged when the child died), never an older one. The directory
// carries over from cycle to cycle (-group.crash.cycles,
// -group.crash.seed); a failing run keeps it.
func TestCrashCompactOffsets(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	rng := compactCrashSeed.Rand(t)
	dir, err := os.MkdirTemp("", "samsa-group-crash-")
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("data kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	var acked [crashWriters]int64
	for w := range acked {
		acked[w] = -1
	}
	compactions := 0
	for cycle := range *compactCrashCycles {
		opened := make(chan struct{})
		var mu sync.Mutex
		child := crashtest.Start(t, &crashtest.Config{
			Test: "TestCrashCompactOffsetsChild",
			Dir:  dir,
			Seed: rng.Uint64(),
			Report: func(line string) error {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case line == "o":
					close(opened)
				case line == "c":
					compactions++
				default:
					var w int
					var off int64
					if _, err := fmt.Sscanf(line, "a %d %d", &w, &off); err != nil || w < 0 || w >= crashWriters {
						return fmt.Errorf("bad report line %q: %v", line, err)
					}
					if off <= acked[w] {
						return fmt.Errorf("writer %d acknowledged %d after %d", w, off, acked[w])
					}
					acked[w] = off
				}
				return nil
			},
		})
		delay := 20*time.Millisecond + time.Duration(rng.Int64N(int64(200*time.Millisecond)))
		require.NoError(t, child.KillAfter(opened, delay))

		parts, c := openCrashOffsets(t, dir)
		got := loadedOffsets(t, c)
		for w := range crashWriters {
			require.True(t, got[w] == acked[w] || got[w] == acked[w]+1,
				"cycle %d, writer %d: loaded offset %d, last acknowledged %d", cycle, w, got[w], acked[w])
			acked[w] = got[w] // the next child goes on from what was loaded
		}
		require.NoError(t, c.Close())
		closeOffsets(t, parts)
	}
	t.Logf("%d compactions; last acknowledged offsets %v", compactions, acked)
	require.Positive(t, compactions)
}

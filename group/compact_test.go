package group

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/log"
	"github.com/samsalog/samsa/partition"
)

// compactEnv is a coordinator over offsets partitions with small segments,
// reopened at will over the same directory.
type compactEnv struct {
	dir      string
	n        int
	segBytes int64
	cfg      CoordinatorConfig
	parts    []*partition.Partition
	c        *Coordinator
}

func newCompactEnv(t *testing.T, n int, segBytes int64, cfg CoordinatorConfig) *compactEnv {
	t.Helper()
	e := &compactEnv{dir: t.TempDir(), n: n, segBytes: segBytes, cfg: cfg}
	e.open(t)
	t.Cleanup(func() { e.close(t) })
	return e
}

func (e *compactEnv) open(t *testing.T) {
	t.Helper()
	e.parts = make([]*partition.Partition, e.n)
	for i := range e.parts {
		p, err := partition.Open(e.partDir(i), "__consumer_offsets", int32(i),
			&partition.Config{Log: log.Config{SegmentBytes: e.segBytes}})
		require.NoError(t, err)
		e.parts[i] = p
	}
	cfg := e.cfg
	cfg.Offsets = e.parts
	cfg.PartitionCount = func(string) int32 { return 100 }
	cfg.InitialRebalanceDelay = -1
	c, err := NewCoordinator(&cfg)
	require.NoError(t, err)
	e.c = c
}

func (e *compactEnv) close(t *testing.T) {
	t.Helper()
	if e.c == nil {
		return
	}
	require.NoError(t, e.c.Close())
	closeOffsets(t, e.parts)
	e.c, e.parts = nil, nil
}

func (e *compactEnv) reopen(t *testing.T) {
	t.Helper()
	e.close(t)
	e.open(t)
}

func (e *compactEnv) partDir(i int) string {
	return filepath.Join(e.dir, fmt.Sprintf("__consumer_offsets-%d", i))
}

// segmentFiles counts the .log files of offsets partition i on disk.
func (e *compactEnv) segmentFiles(t *testing.T, i int) int {
	t.Helper()
	ents, err := os.ReadDir(e.partDir(i))
	require.NoError(t, err)
	n := 0
	for _, de := range ents {
		if strings.HasSuffix(de.Name(), ".log") {
			n++
		}
	}
	return n
}

// commit makes a simple (admin) commit of offset off to topic t's
// partitions ps in group g.
func (e *compactEnv) commit(t *testing.T, g string, off int64, ps ...int32) {
	t.Helper()
	m := make(map[TopicPartition]OffsetAndMetadata, len(ps))
	for _, p := range ps {
		m[TopicPartition{"t", p}] = OffsetAndMetadata{Offset: off, LeaderEpoch: 3, Metadata: fmt.Sprintf("m%d", off)}
	}
	require.NoError(t, e.c.Commit(context.Background(), g, "", -1, m))
}

// state returns every group's offsets, with CommitTime dropped (it is
// reloaded from milliseconds).
func (e *compactEnv) state(t *testing.T) map[string]map[TopicPartition]OffsetAndMetadata {
	t.Helper()
	names, err := e.c.ListGroups()
	require.NoError(t, err)
	out := make(map[string]map[TopicPartition]OffsetAndMetadata, len(names))
	for _, g := range names {
		m, err := e.c.FetchOffsets(g, nil)
		require.NoError(t, err)
		for tp, o := range m {
			o.CommitTime = time.Time{}
			m[tp] = o
		}
		out[g] = m
	}
	return out
}

func TestCompactOffsets(t *testing.T) {
	e := newCompactEnv(t, 2, 4096, CoordinatorConfig{})
	ctx := context.Background()
	groups := []string{"a", "b", "c", "d", "gone"}
	for i := range 120 {
		for _, g := range groups {
			e.commit(t, g, int64(i), int32(i%4), int32(i%4+4))
		}
	}
	require.NoError(t, e.c.DeleteGroup(ctx, "gone"))
	before := e.state(t)
	require.Len(t, before, 4)
	segsBefore := []int{e.segmentFiles(t, 0), e.segmentFiles(t, 1)}
	endBefore := []int64{e.parts[0].LogEndOffset(), e.parts[1].LogEndOffset()}

	res, err := e.c.CompactOffsets(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, res.Partitions)
	require.Equal(t, 4*8, res.Records) // 4 live groups x 8 keys
	require.Positive(t, res.DeletedSegments)
	for i, p := range e.parts {
		require.Equal(t, endBefore[i], p.LogStartOffset(), "partition %d: the log starts at the snapshot", i)
		require.Less(t, e.segmentFiles(t, i), segsBefore[i], "partition %d: old segments deleted from disk", i)
		require.LessOrEqual(t, e.segmentFiles(t, i), 2, "partition %d", i)
	}
	require.Equal(t, before, e.state(t))

	e.reopen(t)
	require.Equal(t, before, e.state(t), "replay from the new log start")

	// Commits after a compaction, then a second compaction and reopen.
	e.commit(t, "a", 1000, 0)
	e.commit(t, "new", 7, 1)
	after := e.state(t)
	_, err = e.c.CompactOffsets(ctx)
	require.NoError(t, err)
	e.reopen(t)
	require.Equal(t, after, e.state(t))
	require.NotContains(t, after, "gone")
}

func TestMaybeCompactOffsetsTrigger(t *testing.T) {
	e := newCompactEnv(t, 1, 4096, CoordinatorConfig{CompactionMinBytes: 2048})
	ctx := context.Background()
	op := e.c.parts[0]
	// A live set of 20 keys, about 1.3 KiB: the trigger is the floor,
	// 2 KiB of commits.
	e.commit(t, "g", 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19)
	res, err := e.c.MaybeCompactOffsets(ctx)
	require.NoError(t, err)
	require.Zero(t, res.Partitions, "dirty %d, live %d", op.dirty.Load(), op.live.Load())
	for i := 1; op.dirty.Load() <= 2048; i++ {
		e.commit(t, "g", int64(i), 0)
	}
	res, err = e.c.MaybeCompactOffsets(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Partitions)
	require.Equal(t, 20, res.Records)
	require.Zero(t, op.dirty.Load())
	require.Equal(t, res.Bytes, op.live.Load())

	// A live set above half the floor: the trigger is 2x the live set.
	big := make(map[TopicPartition]OffsetAndMetadata)
	for p := range int32(100) {
		big[TopicPartition{"t", p}] = OffsetAndMetadata{Offset: 1, Metadata: strings.Repeat("x", 40)}
	}
	require.NoError(t, e.c.Commit(ctx, "big", "", -1, big))
	_, err = e.c.CompactOffsets(ctx)
	require.NoError(t, err)
	live := op.live.Load()
	require.Greater(t, 2*live, int64(2048))
	for i := 1; op.dirty.Load() <= 2*live; i++ {
		res, err = e.c.MaybeCompactOffsets(ctx)
		require.NoError(t, err)
		require.Zero(t, res.Partitions)
		e.commit(t, "g", int64(100+i), 0)
	}
	res, err = e.c.MaybeCompactOffsets(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Partitions)

	// After a reopen, everything replayed counts: the snapshot alone (the
	// live set) does not trigger.
	e.reopen(t)
	require.Positive(t, e.c.parts[0].dirty.Load())
	res, err = e.c.MaybeCompactOffsets(ctx)
	require.NoError(t, err)
	require.Zero(t, res.Partitions)

	// Negative: never.
	e.close(t)
	e.cfg.CompactionMinBytes = -1
	e.open(t)
	e.c.parts[0].dirty.Store(1 << 40)
	res, err = e.c.MaybeCompactOffsets(ctx)
	require.NoError(t, err)
	require.Zero(t, res.Partitions)
}

// TestCompactOrderingInflightCommit: a commit appended but not yet synced
// and applied while the compaction snapshots its group. Restating the
// applied (older) value after it would bring the offset back after a
// restart; the snapshot restates the appended value.
func TestCompactOrderingInflightCommit(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  int32 // 0: a key with an older applied value; 5: a new key
	}{
		{"older value applied", 0},
		{"new key", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCompactEnv(t, 1, 4096, CoordinatorConfig{})
			ctx := context.Background()
			for i := range 50 {
				e.commit(t, "g", int64(i), 0, 1)
			}
			appended, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			e.c.testCommitAppended = func() {
				once.Do(func() {
					close(appended)
					<-release
				})
			}
			done := make(chan error, 1)
			go func() {
				done <- e.c.Commit(ctx, "g", "", -1, map[TopicPartition]OffsetAndMetadata{{"t", tc.key}: {Offset: 999, Metadata: "newest"}})
			}()
			<-appended
			_, ok := e.state(t)["g"][TopicPartition{"t", tc.key}]
			require.Equal(t, tc.key == 0, ok, "not applied yet")

			res, err := e.c.CompactOffsets(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, res.Partitions)
			close(release)
			require.NoError(t, <-done)
			want := e.state(t)
			require.Equal(t, int64(999), want["g"][TopicPartition{"t", tc.key}].Offset)

			e.reopen(t)
			require.Equal(t, want, e.state(t), "the newest acknowledged offset survives the restart")
		})
	}
}

// TestDeleteGroupInflightCommit: DeleteGroup while a simple commit of a
// new key waits for its sync: the key is tombstoned too, so it does not
// come back at the next replay, with or without a compaction.
func TestDeleteGroupInflightCommit(t *testing.T) {
	for _, compact := range []bool{false, true} {
		t.Run(fmt.Sprintf("compact=%v", compact), func(t *testing.T) {
			e := newCompactEnv(t, 1, 4096, CoordinatorConfig{})
			ctx := context.Background()
			e.commit(t, "g", 1, 0)
			e.commit(t, "keep", 1, 0)
			appended, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			e.c.testCommitAppended = func() {
				once.Do(func() {
					close(appended)
					<-release
				})
			}
			done := make(chan error, 1)
			go func() {
				done <- e.c.Commit(ctx, "g", "", -1, map[TopicPartition]OffsetAndMetadata{{"t", 9}: {Offset: 5}})
			}()
			<-appended
			require.NoError(t, e.c.DeleteGroup(ctx, "g"))
			close(release)
			require.NoError(t, <-done)
			if compact {
				_, err := e.c.CompactOffsets(ctx)
				require.NoError(t, err)
			}
			want := e.state(t)
			require.NotContains(t, want, "g")
			e.reopen(t)
			require.Equal(t, want, e.state(t))
		})
	}
}

// TestCompactCrashPoints replays the log as a crash would leave it at each
// point of a compaction: nothing deleted yet, with the snapshot of no
// group, some groups, or all of them (steps 2 and 3), while commits keep
// coming between the groups' snapshots; and after the log start moved
// (step 4). Each replay must give the map of acknowledged offsets.
func TestCompactCrashPoints(t *testing.T) {
	groups := []string{"a", "b", "c"}
	for snapshotted := 0; snapshotted <= len(groups); snapshotted++ {
		t.Run(fmt.Sprintf("snapshotted=%d", snapshotted), func(t *testing.T) {
			e := newCompactEnv(t, 1, 4096, CoordinatorConfig{})
			for i := range 100 {
				for _, g := range groups {
					e.commit(t, g, int64(i), int32(i%3))
				}
			}
			require.NoError(t, e.c.DeleteGroup(context.Background(), "a"))
			for i, name := range groups[:snapshotted] {
				g, err := e.c.lockGroup(name, false)
				require.NoError(t, err)
				if g != nil {
					_, _, _, err = e.c.snapshotGroupLocked(g)
					g.mu.Unlock()
					require.NoError(t, err)
				}
				e.commit(t, groups[(i+1)%len(groups)], int64(500+i), 0) // a commit between snapshots
			}
			want := e.state(t)
			e.reopen(t) // the partition syncs on Close: as if the crash came after step 3
			require.Equal(t, want, e.state(t))
			if snapshotted == len(groups) {
				return
			}
			// A full compaction after the partial one, then the replay.
			_, err := e.c.CompactOffsets(context.Background())
			require.NoError(t, err)
			e.reopen(t)
			require.Equal(t, want, e.state(t))
		})
	}
}

// TestCompactConcurrentCommits runs compactions while members of several
// groups commit increasing offsets; after a reopen every key has its last
// acknowledged offset.
func TestCompactConcurrentCommits(t *testing.T) {
	e := newCompactEnv(t, 2, 4096, CoordinatorConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const writers = 6
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		last = make(map[string]int64)
	)
	for w := range writers {
		wg.Go(func() {
			g := fmt.Sprintf("g%d", w%3)
			tp := TopicPartition{"t", int32(w)}
			for i := int64(1); ctx.Err() == nil; i++ {
				err := e.c.Commit(context.Background(), g, "", -1, map[TopicPartition]OffsetAndMetadata{tp: {Offset: i}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				last[fmt.Sprintf("%s/%d", g, w)] = i
				mu.Unlock()
			}
		})
	}
	var compactions int
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) || compactions < 10 {
		res, err := e.c.CompactOffsets(context.Background())
		require.NoError(t, err)
		compactions += res.Partitions
	}
	cancel()
	wg.Wait()
	e.reopen(t)
	st := e.state(t)
	for w := range writers {
		g := fmt.Sprintf("g%d", w%3)
		require.Equal(t, last[fmt.Sprintf("%s/%d", g, w)], st[g][TopicPartition{"t", int32(w)}].Offset, "%s partition %d", g, w)
	}
}

func TestCompactAfterClose(t *testing.T) {
	e := newCompactEnv(t, 1, 4096, CoordinatorConfig{})
	e.commit(t, "g", 1, 0)
	require.NoError(t, e.c.Close())
	_, err := e.c.CompactOffsets(context.Background())
	require.ErrorIs(t, err, ErrClosed)
	require.Zero(t, e.parts[0].LogStartOffset())
}

func TestCompactCanceled(t *testing.T) {
	e := newCompactEnv(t, 1, 4096, CoordinatorConfig{})
	e.commit(t, "g", 1, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.c.CompactOffsets(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, e.parts[0].LogStartOffset())
}

// TestCompactLargeGroup: a group with more offsets than one batch carries
// is restated in several batches.
func TestCompactLargeGroup(t *testing.T) {
	e := newCompactEnv(t, 1, 1<<20, CoordinatorConfig{})
	ctx := context.Background()
	for range 3 {
		m := make(map[TopicPartition]OffsetAndMetadata)
		for p := range int32(90) {
			m[TopicPartition{"t", p}] = OffsetAndMetadata{Offset: 1, Metadata: strings.Repeat("m", 4000)}
		}
		require.NoError(t, e.c.Commit(ctx, "g", "", -1, m))
	}
	res, err := e.c.CompactOffsets(ctx)
	require.NoError(t, err)
	require.Equal(t, 90, res.Records)
	require.Greater(t, res.Bytes, int64(snapshotBatchBytes))
	want := e.state(t)
	e.reopen(t)
	require.Equal(t, want, e.state(t))
}

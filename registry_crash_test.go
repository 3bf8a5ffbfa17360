package samsa

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/internal/fs/errorfs"
)

// failNth returns an injector that fails the nth filesystem operation it is
// asked about (1-based) and counts them all in calls.
func failNth(n int64, calls *atomic.Int64) errorfs.Injector {
	return func(errorfs.Op, string) error {
		if calls.Add(1) == n {
			return errorfs.ErrInjected
		}
		return nil
	}
}

// TestRegistryCrashSafety fails each filesystem operation of each topic
// change in turn, then abandons the registry as a crash would and opens the
// directory again. Every time, the registry is the old one or the new one
// (both in memory after the failure and on disk after the "crash"), a
// deleted topic's data is either all there or all gone, and reopening
// leaves no temp file, tombstone or "-delete" directory behind.
//
// A failed operation here does nothing, as if the crash came just before
// it; what a real crash loses of unsynced writes is the business of
// fs.WriteFileAtomic's own tests (every step here that matters is synced
// before the next).
func TestRegistryCrashSafety(t *testing.T) {
	base := func(t *testing.T, r *registry, dir string) {
		_, err := r.createTopic("orders", TopicConfig{RetentionMs: time.Hour}, 2)
		require.NoError(t, err)
		_, err = r.createTopic("keep", TopicConfig{}, 1)
		require.NoError(t, err)
		makePartitionDirs(t, dir, "orders", 0, 2)
		makePartitionDirs(t, dir, "keep", 0, 1)
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, r *registry, efs *errorfs.FS, dir string)
		op    func(r *registry) error
		// check looks at the directory after reopening; isNew says which
		// registry the reopen found.
		check func(t *testing.T, dir string, isNew bool)
	}{
		{
			name: "create",
			op: func(r *registry) error {
				_, err := r.createTopic("new", TopicConfig{SegmentBytes: 1 << 20}, 3)
				return err
			},
		},
		{
			name: "delete",
			op: func(r *registry) error {
				_, err := r.deleteTopic("orders", nil)
				return err
			},
			check: func(t *testing.T, dir string, isNew bool) {
				if isNew {
					requirePartitionDirs(t, dir, "orders", 0)
				} else {
					requirePartitionDirs(t, dir, "orders", 2)
				}
			},
		},
		{
			name: "alter",
			op: func(r *registry) error {
				_, err := r.alterTopicConfig("orders", TopicConfig{CleanupPolicy: CleanupCompact})
				return err
			},
		},
		{
			name: "create partitions",
			op: func(r *registry) error {
				_, err := r.createPartitions("orders", 4)
				return err
			},
		},
		{
			name: "create over an unfinished deletion",
			setup: func(t *testing.T, r *registry, efs *errorfs.FS, dir string) {
				// Delete "orders" but fail its first rename: committed, with
				// its tombstone and directories still there.
				efs.SetInjector(func(op errorfs.Op, path string) error {
					if op == errorfs.OpRename && strings.HasSuffix(path, "orders-0") {
						return errorfs.ErrInjected
					}
					return nil
				})
				_, err := r.deleteTopic("orders", nil)
				require.ErrorIs(t, err, errorfs.ErrInjected)
				efs.SetInjector(nil)
				require.Nil(t, r.snapshot().lookup("orders"))
				require.Len(t, r.snapshot().deleting, 1)
				requirePartitionDirs(t, dir, "orders", 2)
			},
			op: func(r *registry) error {
				_, err := r.createTopic("orders", TopicConfig{}, 1)
				return err
			},
			check: func(t *testing.T, dir string, _ bool) {
				// Old or new, the deleted incarnation's data is gone.
				requirePartitionDirs(t, dir, "orders", 0)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// prepare returns a registry in the state before the change.
			prepare := func(t *testing.T) (*registry, *errorfs.FS, string) {
				dir := t.TempDir()
				// Syncs are counted and failed like the rest, but not done:
				// this test is about order, not about power loss.
				efs := errorfs.New(noSyncFS{fs.Default})
				r := openTestRegistry(t, efs, dir)
				base(t, r, dir)
				if tc.setup != nil {
					tc.setup(t, r, efs, dir)
				}
				return r, efs, dir
			}

			// A run without faults gives the new state and the number of
			// operations to fail.
			r, efs, _ := prepare(t)
			oldView := viewOf(r.snapshot())
			var calls atomic.Int64
			efs.SetInjector(failNth(0, &calls))
			require.NoError(t, tc.op(r))
			efs.SetInjector(nil)
			newView := viewOf(r.snapshot())
			require.NotEqual(t, oldView, newView)
			steps := calls.Load()
			require.Positive(t, steps)
			t.Logf("failing each of %d filesystem operations", steps)

			for n := int64(1); n <= steps; n++ {
				r, efs, dir := prepare(t)
				var calls atomic.Int64
				efs.SetInjector(failNth(n, &calls))
				err := tc.op(r)
				efs.SetInjector(nil)
				if err != nil {
					require.ErrorIs(t, err, errorfs.ErrInjected, "step %d", n)
				}
				mem := viewOf(r.snapshot())
				require.True(t, equalView(mem, oldView) || equalView(mem, newView),
					"step %d: in memory neither old nor new: %v", n, mem)
				if err == nil {
					require.Equal(t, newView, mem, "step %d: success publishes the new state", n)
				}

				// Crash: drop r, open again.
				r2, err := openRegistry(fs.Default, dir, testLogger(t))
				require.NoError(t, err, "step %d", n)
				disk := viewOf(r2.snapshot())
				isNew := equalView(disk, newView)
				require.True(t, isNew || equalView(disk, oldView), "step %d: on disk neither old nor new: %v", n, disk)
				require.Empty(t, r2.snapshot().deleting, "step %d", n)
				for _, name := range dirNames(t, dir) {
					require.False(t, strings.HasSuffix(name, ".tmp"), "step %d: %s left", n, name)
					require.False(t, isDeleteDirName(name), "step %d: %s left", n, name)
				}
				requirePartitionDirs(t, dir, "keep", 1)
				if tc.check != nil {
					tc.check(t, dir, isNew)
				}

				// Whatever state the crash left, the change can be made.
				if !isNew {
					require.NoError(t, tc.op(r2), "step %d: redo", n)
					require.Equal(t, newView, viewOf(r2.snapshot()))
					if tc.check != nil {
						tc.check(t, dir, true)
					}
				}
			}
		})
	}
}

func equalView(a, b map[string]topicView) bool {
	if len(a) != len(b) {
		return false
	}
	for name, va := range a {
		vb, ok := b[name]
		if !ok || va.Partitions != vb.Partitions || len(va.Config) != len(vb.Config) {
			return false
		}
		for k, v := range va.Config {
			if vb.Config[k] != v {
				return false
			}
		}
	}
	return true
}

// TestRegistryDeleteRetriesAfterFailure: a deletion whose renames fail is
// committed all the same, and the next creation of the name finishes it
// without a restart.
func TestRegistryDeleteRetriesAfterFailure(t *testing.T) {
	dir := t.TempDir()
	efs := errorfs.New(nil)
	r := openTestRegistry(t, efs, dir)
	_, err := r.createTopic("orders", TopicConfig{}, 2)
	require.NoError(t, err)
	makePartitionDirs(t, dir, "orders", 0, 2)

	released := 0
	// Fail the renames of partition directories, not of topics.json.tmp.
	efs.SetInjector(func(op errorfs.Op, path string) error {
		if op == errorfs.OpRename && !strings.HasSuffix(path, ".tmp") {
			return errorfs.ErrInjected
		}
		return nil
	})
	_, err = r.deleteTopic("orders", func(*topicMeta) error { released++; return nil })
	require.ErrorIs(t, err, errorfs.ErrInjected)
	require.Equal(t, 1, released)
	require.Nil(t, r.snapshot().lookup("orders"), "committed before the renames")

	// While renames still fail, the name cannot be taken again.
	_, err = r.createTopic("orders", TopicConfig{}, 1)
	require.ErrorIs(t, err, errorfs.ErrInjected)
	requirePartitionDirs(t, dir, "orders", 2)

	// Other changes go on meanwhile, and keep the tombstone.
	_, err = r.createTopic("other", TopicConfig{}, 1)
	require.NoError(t, err)
	require.Len(t, r.snapshot().deleting, 1)

	efs.SetInjector(nil)
	_, err = r.createTopic("orders", TopicConfig{}, 1)
	require.NoError(t, err)
	requirePartitionDirs(t, dir, "orders", 0)
	require.Empty(t, r.snapshot().deleting)
	require.Equal(t, []string{"orders", "other"}, r.snapshot().topicNames())
	// The renamed directories wait for the next sweep (open, or a delete).
	require.NoError(t, r.sweep(false))
	require.Equal(t, []string{"topics.json"}, dirNames(t, dir))
}

func TestRegistryReleaseFailure(t *testing.T) {
	dir := t.TempDir()
	r := openTestRegistry(t, nil, dir)
	_, err := r.createTopic("orders", TopicConfig{}, 1)
	require.NoError(t, err)
	makePartitionDirs(t, dir, "orders", 0, 1)
	boom := errors.New("boom")
	m, err := r.deleteTopic("orders", func(*topicMeta) error { return boom })
	require.ErrorIs(t, err, boom)
	require.NotNil(t, m)
	require.Nil(t, r.snapshot().lookup("orders"))
	requirePartitionDirs(t, dir, "orders", 1) // not renamed while possibly in use

	r2 := openTestRegistry(t, nil, dir)
	require.Empty(t, r2.snapshot().topicNames())
	requirePartitionDirs(t, dir, "orders", 0)
	_, err = os.Stat(filepath.Join(dir, registryFileName))
	require.NoError(t, err)
}

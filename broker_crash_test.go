package samsa

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/fs/errorfs"
)

// TestBrokerCrashMidTopicOperation fails each filesystem operation of each
// topic operation in turn, then abandons the broker as a crash would and
// opens the directory again: it always opens, the registry holds the old
// or the new state of the topic, every registered partition opens with its
// data, and no temp file or "-delete" directory is left.
func TestBrokerCrashMidTopicOperation(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   func(b *Broker) error
		// old and new say which states the reopened broker may show.
		check func(t *testing.T, b *Broker)
	}{
		{
			name: "create",
			op:   func(b *Broker) error { return b.CreateTopic("new", &TopicConfig{Partitions: 3}) },
			check: func(t *testing.T, b *Broker) {
				if d, err := b.DescribeTopic("new"); err == nil {
					require.Equal(t, int32(3), d.Partitions)
				} else {
					require.ErrorIs(t, err, ErrUnknownTopic)
				}
			},
		},
		{
			name: "delete",
			op:   func(b *Broker) error { return b.DeleteTopic("orders") },
			check: func(t *testing.T, b *Broker) {
				if _, err := b.DescribeTopic("orders"); err == nil {
					requireOrdersIntact(t, b)
				} else {
					require.ErrorIs(t, err, ErrUnknownTopic)
					requirePartitionDirs(t, b.Dir(), "orders", 0)
				}
			},
		},
		{
			name: "create partitions",
			op:   func(b *Broker) error { return b.CreatePartitions("orders", 4) },
			check: func(t *testing.T, b *Broker) {
				d, err := b.DescribeTopic("orders")
				require.NoError(t, err)
				require.Contains(t, []int32{2, 4}, d.Partitions)
				requireOrdersIntact(t, b)
			},
		},
		{
			name: "alter",
			op: func(b *Broker) error {
				return b.AlterTopicConfig("orders", map[string]string{"retention.ms": "60000"})
			},
			check: func(t *testing.T, b *Broker) {
				d, err := b.DescribeTopic("orders")
				require.NoError(t, err)
				require.Contains(t, []time.Duration{time.Hour, time.Minute}, d.Overrides.RetentionMs)
				requireOrdersIntact(t, b)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for n := int64(1); ; n++ {
				dir := t.TempDir()
				efs := errorfs.New(nil)
				cfg := &Config{fs: efs, CheckpointInterval: time.Hour, RetentionCheckInterval: time.Hour}
				b, err := Open(dir, cfg)
				require.NoError(t, err)
				require.NoError(t, b.CreateTopic("orders", &TopicConfig{Partitions: 2, RetentionMs: time.Hour}))
				for p := range int32(2) {
					part, err := b.Partition("orders", p)
					require.NoError(t, err)
					appendSynced(t, part, "k", 0, 5)
				}

				var calls atomic.Int64
				efs.SetInjector(failNth(n, &calls))
				opErr := tc.op(b)
				efs.SetInjector(nil)
				b.crash()

				b2, err := Open(dir, nil)
				require.NoError(t, err, "n=%d: reopen after a failure (op error: %v)", n, opErr)
				tc.check(t, b2)
				require.NoError(t, b2.Close())
				requireNoLeftovers(t, dir)
				if calls.Load() < n {
					return // the op ran to its end without meeting the failure
				}
			}
		})
	}
}

// requireOrdersIntact checks that the first two partitions of "orders"
// hold their five records.
func requireOrdersIntact(t *testing.T, b *Broker) {
	t.Helper()
	for p := range int32(2) {
		part, err := b.Partition("orders", p)
		require.NoError(t, err)
		require.Len(t, readAll(t, part), 5)
	}
}

// requireNoLeftovers checks a closed data directory for temp files and
// "-delete" directories.
func requireNoLeftovers(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.HasSuffix(e.Name(), ".tmp"), "temp file %s left", e.Name())
		require.False(t, isDeleteDirName(e.Name()), "directory %s left", e.Name())
	}
	require.FileExists(t, filepath.Join(dir, cleanShutdownFileName))
}

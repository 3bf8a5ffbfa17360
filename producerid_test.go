package samsa

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/samsalog/samsa/internal/fs/errorfs"
	"github.com/stretchr/testify/require"
)

func TestInitProducerIDUniqueAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	seen := map[int64]bool{}
	for round := range 3 {
		b := openBroker(t, dir, nil)
		for range 5 {
			id, epoch, err := b.InitProducerID(ctx)
			require.NoError(t, err)
			require.Zero(t, epoch)
			require.GreaterOrEqual(t, id, int64(0))
			require.False(t, seen[id], "round %d: id %d handed out twice", round, id)
			seen[id] = true
		}
		if round == 1 {
			b.crash() // no clean Close: the counter must already be durable
			continue
		}
		require.NoError(t, b.Close())
	}
	require.Len(t, seen, 15)
}

func TestInitProducerIDConcurrent(t *testing.T) {
	b := openBroker(t, t.TempDir(), nil)
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 4 {
				id, _, err := b.InitProducerID(context.Background())
				require.NoError(t, err)
				mu.Lock()
				require.False(t, seen[id], "id %d handed out twice", id)
				seen[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, seen, 32)
}

func TestInitProducerIDErrors(t *testing.T) {
	dir := t.TempDir()
	b := openBroker(t, dir, nil)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := b.InitProducerID(ctx)
	require.ErrorIs(t, err, context.Canceled)

	require.NoError(t, os.WriteFile(filepath.Join(dir, producerIDFile), []byte("{garbage"), 0o644))
	_, _, err = b.InitProducerID(context.Background())
	require.ErrorIs(t, err, ErrCorruptProducerIDs)

	require.NoError(t, os.WriteFile(filepath.Join(dir, producerIDFile), []byte(`{"version":7,"next_producer_id":3}`), 0o644))
	_, _, err = b.InitProducerID(context.Background())
	require.ErrorIs(t, err, ErrCorruptProducerIDs)

	require.NoError(t, os.WriteFile(filepath.Join(dir, producerIDFile), []byte(`{"version":1,"next_producer_id":41}`), 0o644))
	id, _, err := b.InitProducerID(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 41, id)

	require.NoError(t, b.Close())
	_, _, err = b.InitProducerID(context.Background())
	require.ErrorIs(t, err, ErrClosed)
}

func TestInitProducerIDWriteFailureHandsOutNothing(t *testing.T) {
	dir := t.TempDir()
	efs := errorfs.New(nil)
	b := openBroker(t, dir, &Config{fs: efs})
	id0, _, err := b.InitProducerID(context.Background())
	require.NoError(t, err)

	efs.SetInjector(errorfs.FailOnce(errorfs.OpSync, nil))
	_, _, err = b.InitProducerID(context.Background())
	require.ErrorIs(t, err, errorfs.ErrInjected)
	efs.SetInjector(nil)

	// The failed call handed out nothing, so the next ID may be the one it
	// would have returned, but never id0 again.
	id, _, err := b.InitProducerID(context.Background())
	require.NoError(t, err)
	require.Greater(t, id, id0)
	require.False(t, errors.Is(err, ErrCorruptProducerIDs))
}

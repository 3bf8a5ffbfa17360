package partition

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// received reports whether ch holds a value, draining it.
func received(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestNotifyWakesOneChannelForManyPartitions(t *testing.T) {
	a := openPartition(t, t.TempDir(), nil)
	b := openPartition(t, t.TempDir(), nil)
	ch := make(chan struct{}, 1)
	stopA, stopB := a.Notify(ch), b.Notify(ch)

	// Appended but not synced: the high watermark has not moved.
	appendN(t, b, "k", 0, 3, 1)
	require.False(t, received(ch), "woken before the high watermark moved")

	require.NoError(t, b.Flush())
	require.True(t, received(ch), "an advance of b's high watermark must wake the waiter")

	// Two advances while nobody reads: one value waits, none blocks.
	appendN(t, a, "k", 0, 1, 1)
	require.NoError(t, a.Flush())
	appendN(t, a, "k", 1, 1, 1)
	require.NoError(t, a.Flush())
	require.True(t, received(ch))
	require.False(t, received(ch))

	// After stop, nothing more arrives from that partition.
	stopA()
	appendN(t, a, "k", 2, 1, 1)
	require.NoError(t, a.Flush())
	require.False(t, received(ch), "stopped registration still notified")

	// Close notifies too: a waiter must not sleep through it.
	require.NoError(t, b.Close())
	require.True(t, received(ch), "Close must wake registered waiters")
	stopB()
	b.waitMu.Lock()
	require.Nil(t, b.notify)
	b.waitMu.Unlock()
}

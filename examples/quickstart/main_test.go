package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestQuickstart(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, run(dir, 3000, 3, &out))
	require.Contains(t, out.String(), "produced 3000 records to 3 partitions")
	require.Contains(t, out.String(), "clean reopen: true")
	// A second run appends to the same topic and consumes from the
	// offsets the first one committed: were it to start again at the
	// beginning, its per-key order check would fail on the old events.
	out.Reset()
	require.NoError(t, run(dir, 600, 5, &out))
	require.Contains(t, out.String(), `topic "quickstart" exists`)
	require.Contains(t, out.String(), "produced 600 records to 3 partitions")
}

func TestQuickstartTempDir(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run("", 100, 2, &out))
	require.Contains(t, out.String(), "produced 100 records to 2 partitions")
}

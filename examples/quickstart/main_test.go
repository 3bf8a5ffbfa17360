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
	require.NoError(t, run(dir, 3000, &out))
	require.Contains(t, out.String(), "wrote 3000 records")
	// A second run appends to the same log and checks the new records.
	out.Reset()
	require.NoError(t, run(dir, 500, &out))
	require.Contains(t, out.String(), "offsets 3000..3499")
}

func TestQuickstartTempDir(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run("", 100, &out))
	require.Contains(t, out.String(), "wrote 100 records")
}

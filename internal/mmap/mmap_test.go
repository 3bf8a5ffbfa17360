package mmap_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/mmap"
)

func TestMapReadsFileAndSeesLaterWrites(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Write([]byte("hello"))
	require.NoError(t, err)

	// Longer than the file: only the written bytes are touched.
	b, err := mmap.Map(f.Fd(), 1<<20)
	require.NoError(t, err)
	require.Len(t, b, 1<<20)
	mmap.Random(b) // advice only: reads work the same
	require.Equal(t, "hello", string(b[:5]))

	// A write through the file shows in the shared mapping.
	_, err = f.WriteAt([]byte(" world"), 5)
	require.NoError(t, err)
	require.Equal(t, "hello world", string(b[:11]))
	require.NoError(t, mmap.Unmap(b))
}

func TestMapZeroLength(t *testing.T) {
	b, err := mmap.Map(0, 0)
	require.NoError(t, err)
	require.Nil(t, b)
	require.NoError(t, mmap.Unmap(nil))
	mmap.Random(nil)
}

package fs_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/internal/fs/errorfs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestWriteFileAtomicReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "meta")
	require.NoError(t, fs.WriteFileAtomic(nil, path, []byte("one")))
	require.NoError(t, fs.WriteFileAtomic(nil, path, []byte("two")))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "two", string(got))
	_, err = os.Stat(path + ".tmp")
	require.True(t, os.IsNotExist(err), "temp file left behind")
}

func TestWriteFileAtomicKeepsOldOnFailure(t *testing.T) {
	for _, op := range []errorfs.Op{errorfs.OpWrite, errorfs.OpSync, errorfs.OpRename} {
		t.Run(string(op), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "meta")
			efs := errorfs.New(nil)
			require.NoError(t, fs.WriteFileAtomic(efs, path, []byte("old")))
			efs.SetInjector(errorfs.FailOnce(op, nil))
			err := fs.WriteFileAtomic(efs, path, []byte("new"))
			require.ErrorIs(t, err, errorfs.ErrInjected)
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, "old", string(got))
			_, err = os.Stat(path + ".tmp")
			require.True(t, os.IsNotExist(err), "temp file left behind")
		})
	}
}

func TestAllocateKeepsSize(t *testing.T) {
	f, err := fs.Default.OpenFile(filepath.Join(t.TempDir(), "f"), os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Write([]byte("abc"))
	require.NoError(t, err)
	require.NoError(t, f.Allocate(0, 1<<20))
	st, err := f.Stat()
	require.NoError(t, err)
	require.EqualValues(t, 3, st.Size())
	require.NoError(t, f.Sync())
}

func TestErrorFSFailAlways(t *testing.T) {
	efs := errorfs.New(nil)
	noSpace := errors.Join(fs.ErrNoSpace)
	efs.SetInjector(errorfs.FailAlways(errorfs.OpAllocate, noSpace))
	f, err := efs.OpenFile(filepath.Join(t.TempDir(), "f"), os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(t, err)
	defer f.Close()
	for range 2 {
		require.ErrorIs(t, f.Allocate(0, 4096), fs.ErrNoSpace)
	}
	_, err = f.WriteAt([]byte("x"), 0)
	require.NoError(t, err)
	efs.SetInjector(nil)
	require.NoError(t, f.Allocate(0, 4096))
}

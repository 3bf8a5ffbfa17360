package index

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/fs/errorfs"
)

// footprint returns the process's open descriptors and its mappings of
// files under dir.
func footprint(t *testing.T, dir string) (fds, maps int) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self")
	}
	es, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	f, err := os.Open("/proc/self/maps")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.Contains(sc.Text(), dir) {
			maps++
		}
	}
	require.NoError(t, sc.Err())
	return len(es) - 1, maps // minus the maps file itself
}

// TestWritableFootprint: a writable index holds no file descriptor, and no
// mapping while its entries fit the tail; the first write of a full tail
// maps it; reopened with few entries it reads them into memory (one read,
// no mapping), with many it maps the file. The capacity is sparse: opening
// reserves nothing (no fallocate) and a new index's file has no block.
func TestWritableFootprint(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.index")
	var allocs, reads int
	efs := errorfs.New(nil)
	efs.SetInjector(func(op errorfs.Op, _ string) error {
		switch op {
		case errorfs.OpAllocate:
			allocs++
		case errorfs.OpRead:
			reads++
		}
		return nil
	})
	const maxBytes = 10 << 20
	fds0, _ := footprint(t, dir)

	x, err := OpenOffsetIndex(efs, path, 0, maxBytes, true)
	require.NoError(t, err)
	fds, maps := footprint(t, dir)
	require.Equal(t, [2]int{fds0, 0}, [2]int{fds, maps}, "no descriptor, no mapping")
	for i := int64(1); i <= 100; i++ {
		require.NoError(t, x.Append(i, i*10))
	}
	require.NoError(t, x.Close())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, int64(maxBytes), fi.Size())
	require.Less(t, fi.Sys().(*syscall.Stat_t).Blocks*512, int64(64<<10), "sparse")
	require.Zero(t, allocs, "nothing reserved")

	reads = 0
	x, err = OpenOffsetIndex(efs, path, 0, maxBytes, true)
	require.NoError(t, err)
	require.Equal(t, 100, x.Entries())
	require.LessOrEqual(t, reads, 1, "the entries are read at once")
	fds, maps = footprint(t, dir)
	require.Equal(t, [2]int{fds0, 0}, [2]int{fds, maps}, "entries in memory: no descriptor, no mapping")
	e, p := x.Lookup(57)
	require.Equal(t, [2]int64{57, 570}, [2]int64{e, p})
	for i := int64(101); i <= tailEntries+1; i++ {
		require.NoError(t, x.Append(i, i*10))
	}
	fds, maps = footprint(t, dir)
	require.Equal(t, [2]int{fds0, 1}, [2]int{fds, maps}, "mapped by the first write of a full tail")
	e, p = x.Lookup(57)
	require.Equal(t, [2]int64{57, 570}, [2]int64{e, p})
	for i := int64(tailEntries + 2); i <= 3*tailEntries; i++ {
		require.NoError(t, x.Append(i, i*10))
	}
	require.NoError(t, x.Close())
	fds, maps = footprint(t, dir)
	require.Equal(t, [2]int{fds0, 0}, [2]int{fds, maps})

	reads = 0
	x, err = OpenOffsetIndex(efs, path, 0, maxBytes, true)
	require.NoError(t, err)
	defer x.Close()
	require.Equal(t, 3*tailEntries, x.Entries())
	require.Less(t, reads, 20, "a bounded binary search")
	require.NoError(t, x.SanityCheck())
	fds, maps = footprint(t, dir)
	require.Equal(t, [2]int{fds0, 1}, [2]int{fds, maps}, "many entries: mapped, no descriptor")
	for _, o := range []int64{1, 511, 512, 513, 1000, 3 * tailEntries} {
		e, p := x.Lookup(o)
		require.Equal(t, [2]int64{o, o * 10}, [2]int64{e, p})
	}
}

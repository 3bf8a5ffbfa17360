package segment

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/fs"
)

// zeroWriteFS watches the writes to .log files: it counts the batch writes
// and the zero writes (a batch is never all zeros), and fails the zero
// writes while fail is set.
type zeroWriteFS struct {
	fs.FS
	batchWrites, zeroWrites, zeroBytes int64
	fail                               error
}

func (z *zeroWriteFS) OpenFile(name string, flag int, perm os.FileMode) (fs.File, error) {
	f, err := z.FS.OpenFile(name, flag, perm)
	if err != nil || filepath.Ext(name) != LogSuffix {
		return f, err
	}
	return &zeroWriteFile{File: f, z: z}, nil
}

type zeroWriteFile struct {
	fs.File
	z *zeroWriteFS
}

func (f *zeroWriteFile) WriteAt(p []byte, off int64) (int, error) {
	if !allZero(p) {
		f.z.batchWrites++
		return f.File.WriteAt(p, off)
	}
	if f.z.fail != nil {
		return 0, f.z.fail
	}
	f.z.zeroWrites++
	f.z.zeroBytes += int64(len(p))
	return f.File.WriteAt(p, off)
}

func allZero(p []byte) bool {
	for _, b := range p {
		if b != 0 {
			return false
		}
	}
	return true
}

// zeroConfig is smallConfig (64 KiB preallocation chunks) with zero-ahead
// blocks of block bytes, through z.
func zeroConfig(z *zeroWriteFS, block int) Config {
	c := smallConfig()
	c.ZeroAheadBytes = block
	c.FS = z
	return c
}

// logFile returns the size and contents of the segment's .log.
func logFile(t *testing.T, s *Segment) (int64, []byte) {
	t.Helper()
	b, err := os.ReadFile(s.Path())
	require.NoError(t, err)
	return int64(len(b)), b
}

// checkZeroTail checks the file against the published data: with
// zero-ahead the file ends at a block boundary less than a block past the
// data, and holds zeros there; without, it ends at the data.
func checkZeroTail(t *testing.T, s *Segment, block int64) {
	t.Helper()
	size, data := logFile(t, s)
	if block <= 0 {
		require.Equal(t, s.Size(), size)
		return
	}
	require.GreaterOrEqual(t, size, s.Size())
	require.Less(t, size-s.Size(), block)
	require.Zero(t, size%block, "file size %d", size)
	require.True(t, allZero(data[s.Size():]), "zeros past the data")
}

func TestZeroAhead(t *testing.T) {
	for _, block := range []int{0, 4096} {
		t.Run(map[int]string{0: "off", 4096: "on"}[block], func(t *testing.T) {
			z := &zeroWriteFS{FS: fs.Default}
			s, err := Create(t.TempDir(), 0, zeroConfig(z, block))
			require.NoError(t, err)
			defer s.Close()
			var bs []batchSpec
			for range 400 { // about 120 KiB: two preallocation chunks
				bs = append(bs, appendBatches(t, s, 1, 3, 100, 0)...)
				checkZeroTail(t, s, int64(block))
			}
			require.Equal(t, int64(len(bs)), z.batchWrites, "one write per batch")
			if block > 0 {
				blocks := (s.Size() + int64(block) - 1) / int64(block)
				require.Equal(t, blocks, z.zeroWrites, "one zero write per block")
			} else {
				require.Zero(t, z.zeroWrites)
			}
			v, err := s.Read(0, 1<<30, 1<<62, false)
			require.NoError(t, err)
			require.Equal(t, concat(bs), v.Data)

			// Seal trims the zeros; the View taken before stays valid.
			require.NoError(t, s.Seal())
			size, _ := logFile(t, s)
			require.Equal(t, s.Size(), size)
			require.Equal(t, concat(bs), v.Data)
			v.Release()
			v, err = s.Read(bs[200].base, 1<<30, 1<<62, false)
			require.NoError(t, err)
			require.Equal(t, concat(bs[200:]), v.Data)
			v.Release()
		})
	}
}

// TestZeroAheadSkipsCoveredBlocks: a batch longer than a block gets zeros
// only in the block that holds its end; the blocks it covers are written
// once, by the batch.
func TestZeroAheadSkipsCoveredBlocks(t *testing.T) {
	const block = 4096
	z := &zeroWriteFS{FS: fs.Default}
	s, err := Create(t.TempDir(), 0, zeroConfig(z, block))
	require.NoError(t, err)
	defer s.Close()
	small := appendBatches(t, s, 1, 1, 100, 0)
	big := makeBatch(t, s.NextOffset(), 100, 100, 0) // about 11 KB: across three blocks
	_, err = s.Append(big, header(t, big))
	require.NoError(t, err)
	end := s.Size()
	require.Greater(t, end-small[0].pos, int64(2*block))
	require.Equal(t, int64(2), z.zeroWrites)
	require.Equal(t, int64(block+(end+block-1)/block*block-end/block*block), z.zeroBytes)
	checkZeroTail(t, s, block)
	v, err := s.Read(0, 1<<30, 1<<62, false)
	require.NoError(t, err)
	require.Equal(t, append(bytes.Clone(small[0].data), big...), v.Data)
	v.Release()
}

// TestZeroAheadCloseTrims: Close cuts the zeros (also while a View is
// held), so that the next Open finds the end at the end of the file.
func TestZeroAheadCloseTrims(t *testing.T) {
	z := &zeroWriteFS{FS: fs.Default}
	cfg := zeroConfig(z, 4096)
	dir := t.TempDir()
	s, err := Create(dir, 0, cfg)
	require.NoError(t, err)
	bs := appendBatches(t, s, 50, 3, 100, 0)
	size, _ := logFile(t, s)
	require.Greater(t, size, s.Size(), "zeros ahead")
	v, err := s.Read(0, 1<<30, 1<<62, false)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	size, _ = logFile(t, s)
	require.Equal(t, s.Size(), size)
	require.Equal(t, concat(bs), v.Data)
	v.Release()

	s2 := reopen(t, dir, 0, cfg, true)
	require.Equal(t, s.Size(), s2.Size())
	require.Nil(t, s2.tailErr, "no tail to decide")
	more := appendBatches(t, s2, 50, 3, 100, 0) // appends without recovery
	checkZeroTail(t, s2, 4096)
	v, err = s2.Read(0, 1<<30, 1<<62, false)
	require.NoError(t, err)
	require.Equal(t, append(concat(bs), concat(more)...), v.Data)
	v.Release()
}

// TestZeroAheadCrash: a process crash leaves the zeros past the data. The
// active segment's Open publishes the batches and refuses appends; Recover
// reports the zeros as a bad tail right after the last batch, which
// TruncateTo cuts. A sealed segment with a zero tail would be damage:
// Seal trims before anything can make the segment sealed.
func TestZeroAheadCrash(t *testing.T) {
	z := &zeroWriteFS{FS: fs.Default}
	cfg := zeroConfig(z, 4096)
	dir := t.TempDir()
	s, err := Create(dir, 0, cfg)
	require.NoError(t, err)
	defer s.Close()
	bs := appendBatches(t, s, 50, 3, 100, 0)
	crashed := crashCopy(t, dir, 0)
	fileSize, _ := logFile(t, s)
	require.Greater(t, fileSize, s.Size(), "zeros ahead")

	_, err = Open(crashed, 0, cfg, false)
	require.ErrorIs(t, err, ErrCorrupt, "a sealed segment never has a zero tail")

	c := reopen(t, crashed, 0, cfg, true)
	require.Equal(t, s.Size(), c.Size())
	require.Equal(t, s.NextOffset(), c.NextOffset())
	b := makeBatch(t, c.NextOffset(), 1, 100, 0)
	_, err = c.Append(b, header(t, b))
	require.ErrorIs(t, err, ErrCorrupt, "appends wait for the tail to be decided")
	r, err := c.Recover(0)
	require.NoError(t, err)
	require.ErrorIs(t, r.Err, ErrCorrupt)
	require.Equal(t, s.Size(), r.ValidBytes)
	require.Equal(t, s.NextOffset(), r.NextOffset)
	require.NoError(t, c.Close(), "Close does not trim a tail nobody decided")
	size, _ := logFile(t, c)
	require.Equal(t, fileSize, size)

	c = reopen(t, crashed, 0, cfg, true)
	r, err = c.Recover(0)
	require.NoError(t, err)
	require.NoError(t, c.TruncateTo(r.ValidBytes))
	size, _ = logFile(t, c)
	require.Equal(t, s.Size(), size)
	more := appendBatches(t, c, 50, 3, 100, 0)
	checkZeroTail(t, c, 4096)
	v, err := c.Read(0, 1<<30, 1<<62, false)
	require.NoError(t, err)
	require.Equal(t, append(concat(bs), concat(more)...), v.Data)
	v.Release()
}

// TestZeroAheadWriteFails: a failed zero write is an error of Append that
// publishes nothing; the next Append writes at the same position.
func TestZeroAheadWriteFails(t *testing.T) {
	z := &zeroWriteFS{FS: fs.Default}
	s, err := Create(t.TempDir(), 0, zeroConfig(z, 4096))
	require.NoError(t, err)
	defer s.Close()
	bs := appendBatches(t, s, 1, 1, 100, 0)
	z.fail = &os.PathError{Op: "write", Path: s.Path(), Err: fs.ErrNoSpace}
	var failed error
	var failedAt int64
	for range 100 { // until a batch passes the zeroed block
		size, next := s.Size(), s.NextOffset()
		b := makeBatch(t, next, 3, 100, 0)
		if _, failed = s.Append(b, header(t, b)); failed != nil {
			require.Equal(t, size, s.Size(), "nothing published")
			require.Equal(t, next, s.NextOffset())
			failedAt = size
			break
		}
		bs = append(bs, batchSpec{base: next, data: b})
	}
	require.ErrorIs(t, failed, fs.ErrNoSpace)
	z.fail = nil
	more := appendBatches(t, s, 20, 3, 100, 0)
	require.Equal(t, failedAt, more[0].pos, "written where the failed one would have been")
	checkZeroTail(t, s, 4096)
	v, err := s.Read(0, 1<<30, 1<<62, false)
	require.NoError(t, err)
	require.Equal(t, append(concat(bs), concat(more)...), v.Data)
	v.Release()
	require.NoError(t, s.Close())
	size, _ := logFile(t, s)
	require.Equal(t, s.Size(), size)
}

// TestZeroAheadNeedsPreallocation: nothing is zeroed outside the reserved
// space, so without preallocation zero-ahead does nothing.
func TestZeroAheadNeedsPreallocation(t *testing.T) {
	z := &zeroWriteFS{FS: fs.Default}
	cfg := zeroConfig(z, 4096)
	cfg.PreallocateBytes = -1
	s, err := Create(t.TempDir(), 0, cfg)
	require.NoError(t, err)
	defer s.Close()
	appendBatches(t, s, 100, 3, 100, 0)
	require.Zero(t, z.zeroWrites)
	checkZeroTail(t, s, 0)
}

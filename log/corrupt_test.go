package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/record"
	"github.com/samsalog/samsa/segment"
)

// corruptConfig is the configuration of the corruption tests' logs: small
// segments and index intervals, so that a few hundred KiB make several
// segments with many index entries. Fsyncs are skipped: these tests damage
// files on purpose and reopen thousands of times.
func corruptConfig() *Config {
	return &Config{SegmentBytes: 12 << 10, IndexIntervalBytes: 300, SegmentIndexBytes: 4096, FS: noSyncFS{fs.Default}}
}

// buildCrashLog writes in dir a log of crash records in random batches and
// codecs, with at least minSegs segments, whose active segment ends with
// tail small batches (one record of at most 200 bytes each, after at least
// one other batch), closes it cleanly and returns its end offset.
func buildCrashLog(t *testing.T, rng *rand.Rand, dir string, cfg *Config, minSegs, tail int) int64 {
	t.Helper()
	l, err := Open(dir, cfg)
	require.NoError(t, err)
	var enc record.Encoder
	var sizes []int // of the batches of the active segment
	for {
		segs := l.Segments()
		small := len(sizes) > tail
		for _, n := range sizes[max(len(sizes)-tail, 0):] {
			small = small && n <= 200
		}
		if segs >= minSegs && small {
			break
		}
		n := 1 + rng.IntN(30)
		if segs >= minSegs {
			n = 1
		}
		next := l.EndOffset()
		b, err := crashBatch(&enc, next, n, crashCodecs[rng.IntN(len(crashCodecs))])
		require.NoError(t, err)
		base, _, err := l.Append(b)
		require.NoError(t, err)
		require.Equal(t, next, base)
		if l.Segments() != segs {
			sizes = sizes[:0]
		}
		sizes = append(sizes, len(b))
	}
	end := l.EndOffset()
	require.NoError(t, l.Close())
	return end
}

// resetDir makes dst an exact copy of the files of src; with only, it
// copies only the files whose names start with only (and the checkpoint)
// and removes those that src does not have.
func resetDir(t *testing.T, dst, src, only string) {
	t.Helper()
	if only == "" {
		require.NoError(t, os.RemoveAll(dst))
		require.NoError(t, os.Mkdir(dst, 0o755))
	}
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	if only != "" {
		// Remove what is not in src (segments rolled since).
		keep := make(map[string]bool)
		for _, e := range entries {
			keep[e.Name()] = true
		}
		got, err := os.ReadDir(dst)
		require.NoError(t, err)
		for _, e := range got {
			if !keep[e.Name()] {
				require.NoError(t, os.Remove(filepath.Join(dst, e.Name())))
			}
		}
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), only) && e.Name() != CheckpointFile {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
}

// setCheckpoint replaces the checkpoint of the log in dir: nil removes it
// (a log whose state was lost: everything is scanned).
func setCheckpoint(t *testing.T, dir string, cp *Checkpoint) {
	t.Helper()
	if cp == nil {
		require.NoError(t, os.Remove(filepath.Join(dir, CheckpointFile)))
		return
	}
	require.NoError(t, writeCheckpointFile(noSyncFS{fs.Default}, dir, *cp))
}

// TestCrashTornTailEveryByte cuts the active segment of a log with sealed
// segments at every byte of its last three batches, as a crash of the
// machine can, and also overwrites everything from the cut with zeros (a
// file size that reached the disk before its data) or random bytes. With
// the checkpoint of a crashed run whose recovery point says that the first
// of those batches was synced and the other two were not, recovery must
// keep exactly the whole batches before the damage when it is past the
// recovery point (reads return them intact, the log takes appends that
// continue its offsets, a clean reopen finds the same), and must report
// ErrCorrupt naming the file and the damaged batch's position, changing
// nothing, when it is below: never cut synced data. Without a checkpoint
// (nothing is known synced) every damage is a torn tail; with the clean
// checkpoint of a Close a shorter file is ErrCorrupt (synced data missing)
// and other damage is either ErrCorrupt or, since a clean open scans no
// data, read back as typed errors, never garbage.
func TestCrashTornTailEveryByte(t *testing.T) {
	rng := crashRand(t)
	src := crashDir(t)
	cfg := corruptConfig()
	end := buildCrashLog(t, rng, src, cfg, 3, 3)
	files := logFiles(t, src)
	name := filepath.Base(files[len(files)-1])
	all := crashBatches(t, files[len(files)-1])
	activeBase := all[0].base
	tail := all[len(all)-3:]
	// Reads check the batch before the damaged ones and what follows, and
	// now and then the whole active segment.
	readFrom := all[len(all)-4].base
	orig, err := os.ReadFile(files[len(files)-1])
	require.NoError(t, err)
	size := int64(len(orig))
	t.Logf("%d segments, end %d; damaging the last %d bytes of %s (batches of %d, %d, %d bytes)",
		len(files), end, size-tail[0].pos, name, tail[0].size, tail[1].size, tail[2].size)

	type damage int
	const (
		truncate damage = iota // the file ends at the cut
		zeros                  // the file keeps its size, zeros from the cut
		garbage                // the file keeps its size, random bytes from the cut
	)
	modes := []struct {
		name string
		cp   *Checkpoint
		// step: cut at every step-th byte (every 11*step-th for zeros
		// and garbage).
		step int64
	}{
		{"crashed", &Checkpoint{RecoveryPoint: tail[1].base}, 1},
		{"no checkpoint", nil, 7},
		{"clean", &Checkpoint{RecoveryPoint: end, Clean: true}, 7},
	}
	work := filepath.Join(crashDir(t), "log")
	path := filepath.Join(work, name)
	var chk crashChecker
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			resetDir(t, work, src, "")
			// Opens without a checkpoint rebuild every index: copy
			// everything back each time. Otherwise only the active
			// segment and the checkpoint change.
			only := strings.TrimSuffix(name, segment.LogSuffix)
			if mode.cp == nil {
				only = ""
			}
			rp := int64(0)
			if mode.cp != nil {
				rp = mode.cp.RecoveryPoint
			}
			opens, corrupt, clean := 0, 0, 0
			for cut := tail[0].pos; cut < size; cut += mode.step {
				for _, dmg := range []damage{truncate, zeros, garbage} {
					if dmg != truncate && (cut-tail[0].pos)%(11*mode.step) != 0 {
						continue
					}
					data := append([]byte(nil), orig[:cut]...)
					switch dmg {
					case zeros:
						data = append(data, make([]byte, size-cut)...)
					case garbage:
						for range size - cut {
							data = append(data, byte(rng.Uint32()))
						}
					}
					// The damage starts at the first byte that differs:
					// zeros or random bytes may equal what they replace.
					diff := cut
					for diff < int64(len(data)) && data[diff] == orig[diff] {
						diff++
					}
					// Recovery keeps the whole batches before the damage.
					boundary, wantEnd := size, end
					for i := len(tail) - 1; i >= 0 && diff < size; i-- {
						if tail[i].pos <= diff {
							boundary, wantEnd = tail[i].pos, tail[i].base
							break
						}
					}
					what := fmt.Sprintf("cut at %d (damage %d from %d, batch at %d)", cut, dmg, diff, boundary)
					resetDir(t, work, src, only)
					ocfg := *cfg
					if mode.cp != nil {
						// Handed over as an owner's (Config.Checkpoint):
						// the same recovery, without two atomic file
						// replaces per open (the kill test uses the file).
						cp := *mode.cp
						ocfg.Checkpoint = &cp
					} else {
						setCheckpoint(t, work, nil)
					}
					require.NoError(t, os.WriteFile(path, data, 0o644))
					opens++
					l, err := Open(work, &ocfg)
					if wantEnd < rp && (err != nil || dmg == truncate || mode.cp == nil || !mode.cp.Clean) {
						// Synced data is damaged: report, never cut.
						corrupt++
						requireTypedCorrupt(t, err, path, what)
						var ce *CorruptError
						require.True(t, errors.As(err, &ce), what)
						require.Equal(t, boundary, ce.Position, "%s: %v", what, err)
						after, rerr := os.ReadFile(path)
						require.NoError(t, rerr)
						require.Equal(t, data, after, "%s: the file was changed", what)
						continue
					}
					require.NoError(t, err, what)
					if wantEnd < rp {
						// A clean open of a file that kept its size and
						// its last header does not scan: what it serves
						// must fail typed where it is damaged.
						clean++
						require.True(t, l.Stats().CleanOpen, what)
						_, errs, garbage := chk.readNoGarbage(t, l, path)
						require.NoError(t, garbage, what)
						require.Positive(t, errs, what)
						require.NoError(t, l.Close())
						continue
					}
					require.Equal(t, wantEnd, l.EndOffset(), what)
					require.Equal(t, wantEnd, l.SyncedOffset(), what)
					require.Equal(t, int64(len(data))-boundary, l.Stats().TruncatedBytes, what)
					require.Equal(t, len(files), l.Segments(), what)
					fi, err := os.Stat(path)
					require.NoError(t, err)
					require.Equal(t, boundary, fi.Size(), what)
					from := readFrom
					if cut%16 == 0 {
						from = activeBase
					}
					chk.requireRange(t, l, from, wantEnd)
					if cut%4 != 0 {
						require.NoError(t, l.Close(), what)
						continue
					}
					appendCrashBatches(t, rng, l, 1+rng.IntN(2), 3)
					chk.requireRange(t, l, wantEnd, l.EndOffset())
					newEnd := l.EndOffset()
					require.NoError(t, l.Close(), what)
					if cut%16 == 0 {
						// A clean reopen finds the same log.
						if mode.cp != nil {
							cp := l.Checkpoint()
							ocfg.Checkpoint = &cp
						}
						l, err := Open(work, &ocfg)
						require.NoError(t, err, what)
						require.True(t, l.Stats().CleanOpen, what)
						require.Equal(t, newEnd, l.EndOffset(), what)
						chk.requireRange(t, l, from, newEnd)
						require.NoError(t, l.Close())
					}
				}
			}
			t.Logf("%d opens: %d ErrCorrupt, %d clean opens serving damaged data", opens, corrupt, clean)
		})
	}
}

// flipBit XORs bit of the byte at pos of the file at path.
func flipBit(t *testing.T, path string, pos int64, bit int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	var b [1]byte
	_, err = f.ReadAt(b[:], pos)
	require.NoError(t, err)
	b[0] ^= 1 << bit
	_, err = f.WriteAt(b[:], pos)
	require.NoError(t, err)
}

// readNoGarbage reads the whole of l, segment by segment, tolerating typed
// errors: a Read error (which must match ErrCorrupt or record.ErrCorrupt
// and name damaged) skips the rest of its segment, a batch that does not
// decode (record.ErrCorrupt) is skipped. What is returned and decodes must
// be exactly the records written at those offsets, in order. It returns the
// number of records checked and of errors met, and errGarbage (wrapped)
// for the first record that is not what was written.
func (c *crashChecker) readNoGarbage(t *testing.T, l *Log, damaged string) (good, errs int, garbage error) {
	t.Helper()
	start := l.StartOffset()
	for _, s := range *l.segs.Load() {
		off := max(s.BaseOffset(), start)
		next := off
		for off < s.NextOffset() {
			v, err := l.Read(off, 32<<10, -1)
			if err != nil {
				requireTypedCorrupt(t, err, damaged, fmt.Sprintf("read at %d", off))
				errs++
				break
			}
			if v.Len() == 0 {
				v.Release()
				break
			}
			data, first, resync := v.Data, true, false
			for len(data) > 0 {
				h, err := record.ParseBatchHeader(data)
				require.NoError(t, err, "Read returned a batch whose header does not parse")
				if resync {
					// Offsets resume with the batch after a bad one.
					next, resync = h.BaseOffset, false
				}
				n, nn, err := c.checkBatch(data, next, first)
				first = false
				switch {
				case errors.Is(err, errGarbage):
					v.Release()
					return good, errs, err
				case err != nil:
					require.ErrorIs(t, err, record.ErrCorrupt)
					errs++
					n, nn, resync = h.Size(), h.NextOffset(), true
				default:
					good += int(nn - next)
				}
				data, next = data[n:], nn
			}
			v.Release()
			if next <= off {
				break // no progress: on to the next segment
			}
			off = next
		}
	}
	return good, errs, nil
}

// headerField names the field of a batch header at byte f.
func headerField(f int64) string {
	switch {
	case f < 8:
		return "baseOffset"
	case f < 12:
		return "batchLength"
	case f < 16:
		return "partitionLeaderEpoch"
	case f < 17:
		return "magic"
	case f < 21:
		return "crc"
	case f < record.BatchHeaderSize:
		return "crc-covered header"
	}
	return "records"
}

// TestCrashBitFlips flips one bit at a random position (half of the time in
// the 61-byte header of a random batch) of a random .log of a closed log
// with several sealed segments, and reopens it: clean (nothing is
// scanned), unclean with everything synced (the active segment is
// scanned), or without a checkpoint (every segment is scanned). Then:
//
//   - damage that a scan must see (any flip in the bytes the CRC covers, in
//     the magic byte or in the length; a baseOffset that no longer follows
//     its neighbours) in a scanned segment is ErrCorrupt naming the file
//     and the batch's position, and nothing is cut; without a checkpoint
//     the active segment is cut before the damaged batch instead (nothing
//     tells its bytes were synced);
//   - whatever Open accepted is read back in full: a Read either fails
//     with a typed error naming the damaged file or returns batches that
//     decode to exactly the records written at their offsets, or fail to
//     decode with record.ErrCorrupt. Never a record that was not written
//     at the offset it is returned at.
func TestCrashBitFlips(t *testing.T) {
	rng := crashRand(t)
	src := crashDir(t)
	cfg := corruptConfig()
	end := buildCrashLog(t, rng, src, cfg, 5, 0)
	files := logFiles(t, src)
	batches := make([][]crashBatchInfo, len(files))
	sizes := make([]int64, len(files))
	for i, f := range files {
		batches[i] = crashBatches(t, f)
		last := batches[i][len(batches[i])-1]
		sizes[i] = last.pos + last.size
	}
	work := filepath.Join(crashDir(t), "log")
	var chk crashChecker
	outcomes := make(map[string]int)
	flips := crashCount("crash.flips", *crashFlips, 40)
	for i := range flips {
		fi := rng.IntN(len(files))
		bs := batches[fi]
		var pos int64
		if rng.IntN(2) == 0 {
			pos = bs[rng.IntN(len(bs))].pos + rng.Int64N(record.BatchHeaderSize)
		} else {
			pos = rng.Int64N(sizes[fi])
		}
		bit := rng.IntN(8)
		k := len(bs) - 1
		for bs[k].pos > pos {
			k--
		}
		b, f := bs[k], pos-bs[k].pos
		active := fi == len(files)-1
		mode := []string{"clean", "unclean", "no checkpoint"}[rng.IntN(3)]
		scanned := mode == "no checkpoint" || (mode == "unclean" && active)
		path := filepath.Join(work, filepath.Base(files[fi]))
		what := fmt.Sprintf("flip %d: %s open, bit %d of byte %d of %s (%s, byte %d of batch %d at %d: offsets %d..%d of %d)",
			i, mode, bit, pos, path, headerField(f), f, k, b.pos, b.base, b.next-1, len(bs))

		resetDir(t, work, src, "")
		switch mode {
		case "unclean":
			setCheckpoint(t, work, &Checkpoint{RecoveryPoint: end})
		case "no checkpoint":
			setCheckpoint(t, work, nil)
		}
		flipBit(t, path, pos, bit)
		data, err := os.ReadFile(path)
		require.NoError(t, err)

		// Where a scan of this file must stop, -1 if it need not.
		detectAt := int64(-1)
		switch {
		case f >= 16 || (f >= 8 && f < 12):
			detectAt = b.pos // magic, length or CRC-covered bytes
		case f < 8:
			// Batches are contiguous (no gaps before compaction): a
			// changed baseOffset no longer follows its predecessor (or
			// the segment's base offset).
			detectAt = b.pos
		}

		l, err := Open(work, cfg)
		switch {
		case err != nil:
			outcomes["Open: ErrCorrupt"]++
			requireTypedCorrupt(t, err, path, what)
			after, rerr := os.ReadFile(path)
			require.NoError(t, rerr)
			require.Equal(t, data, after, "%s: the file was changed", what)
			if scanned && detectAt >= 0 {
				var ce *CorruptError
				require.True(t, errors.As(err, &ce), what)
				require.Equal(t, detectAt, ce.Position, "%s: %v", what, err)
			}
			continue
		case scanned && detectAt >= 0 && !(mode == "no checkpoint" && active && detectAt < sizes[fi]):
			require.Failf(t, "damage not detected", "%s: Open succeeded", what)
		}
		st := l.Stats()
		if mode == "no checkpoint" && active && detectAt >= 0 {
			outcomes["Open: torn tail cut"]++
			require.Equal(t, sizes[fi]-detectAt, st.TruncatedBytes, what)
		} else {
			require.Zero(t, st.TruncatedBytes, what)
		}
		good, errs, garbage := chk.readNoGarbage(t, l, path)
		require.NoError(t, garbage, what)
		switch {
		case errs > 0:
			outcomes["reads: typed errors"]++
		default:
			outcomes["reads: all intact"]++
		}
		require.Positive(t, good, what)
		// The log takes new appends.
		e := l.EndOffset()
		appendCrashBatches(t, rng, l, 1, 3)
		chk.requireRange(t, l, e, l.EndOffset())
		require.NoError(t, l.Close(), what)
	}
	t.Logf("%d flips: %v", flips, outcomes)
}

// damageIndex applies a named damage to the index file at path (entries of
// size entry bytes: 8 for .index, 12 for .timeindex); other is another
// segment's index of the same kind. The "valid-looking" damages keep the
// entries increasing and the last entry as it was, so that no sanity check
// of the file alone can tell.
func damageIndex(t *testing.T, rng *rand.Rand, path, other string, entry int, how string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	n := 0 // entries in use: up to the first all-zero slot
	for (n+1)*entry <= len(data) && !allZero(data[n*entry:(n+1)*entry]) {
		n++
	}
	switch how {
	case "missing":
		require.NoError(t, os.Remove(path))
		return
	case "empty":
		data = nil
	case "zeroed":
		clear(data)
	case "random":
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
	case "random, odd size":
		data = make([]byte, n*entry+1+rng.IntN(entry-1))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
	case "lost its last half":
		data = data[:n/2*entry]
	case "another segment's":
		data, err = os.ReadFile(other)
		require.NoError(t, err)
	case "positions shifted":
		// Every entry but the last points a few bytes into its batch.
		for i := range n - 1 {
			e := data[i*entry:]
			p := binary.BigEndian.Uint32(e[4:])
			binary.BigEndian.PutUint32(e[4:], p+1+uint32(rng.IntN(40)))
		}
	case "keys one too low":
		// Every entry but the last names the offset before its batch's
		// last offset.
		prev := int64(-1)
		for i := range n - 1 {
			e := data[i*entry:]
			k := int64(binary.BigEndian.Uint32(e))
			if k-1 > prev {
				binary.BigEndian.PutUint32(e, uint32(k-1))
				k--
			}
			prev = k
		}
	case "offsets one too high":
		// Every time entry but the last names the offset after the right
		// one.
		for i := range n - 1 {
			e := data[i*entry+8:]
			next := binary.BigEndian.Uint32(data[(i+1)*entry+8:])
			if k := binary.BigEndian.Uint32(e); k+1 <= next {
				binary.BigEndian.PutUint32(e, k+1)
			}
		}
	case "timestamps one too low":
		// Every time entry but the last claims a timestamp 1 ms earlier.
		prev := int64(-1)
		for i := range n - 1 {
			e := data[i*entry:]
			ts := int64(binary.BigEndian.Uint64(e))
			if ts-1 > prev {
				binary.BigEndian.PutUint64(e, uint64(ts-1))
				ts--
			}
			prev = ts
		}
	default:
		t.Fatalf("unknown damage %q", how)
	}
	require.NoError(t, os.WriteFile(path, data, 0o644))
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// TestCrashIndexDamage damages the .index or .timeindex of a sealed segment
// or of the active segment (zeroed, empty, missing, random bytes, entries
// lost, another segment's, and valid-looking but wrong: positions inside
// batches, keys or offsets one off, timestamps one off), in a log closed
// cleanly and reopened clean or unclean, and in a log that crashed. Indexes
// are caches: Open must rebuild or ignore them, and then a read from every
// offset of the segment must start with the batch holding that offset,
// every record must read back intact, OffsetForTimestamp must find every
// offset from its timestamp, and the log must take appends.
func TestCrashIndexDamage(t *testing.T) {
	rng := crashRand(t)
	clean := crashDir(t)
	cfg := corruptConfig()
	cfg.IndexIntervalBytes = 200 // many entries
	buildCrashLog(t, rng, clean, cfg, 4, 0)
	// The crashed state: more batches appended by a run that never closed
	// (the active segment's indexes are preallocated and hold entries of
	// this run; its checkpoint is unclean).
	l, err := Open(clean, cfg)
	require.NoError(t, err)
	appendCrashBatches(t, rng, l, 30, 5)
	crashed := filepath.Join(crashDir(t), "crashed")
	require.NoError(t, os.Mkdir(crashed, 0o755))
	resetDir(t, crashed, clean, "")
	require.NoError(t, os.Remove(filepath.Join(crashed, CheckpointFile)))
	require.NoError(t, writeCheckpointFile(noSyncFS{fs.Default}, crashed, Checkpoint{RecoveryPoint: l.SyncedOffset()}))
	require.NoError(t, l.Close())
	// Everything above is one log in two states: clean has the crashed
	// run's batches too, now sealed.

	damages := []string{"missing", "empty", "zeroed", "random", "random, odd size", "lost its last half",
		"another segment's", "positions shifted", "keys one too low", "offsets one too high", "timestamps one too low"}
	states := []struct {
		name, src string
		cp        *Checkpoint // nil: as found
	}{
		{"closed, clean open", clean, nil},
		{"closed, unclean open", clean, &Checkpoint{RecoveryPoint: -1}}, // -1: the end
		{"crashed", crashed, nil},
	}
	work := filepath.Join(crashDir(t), "log")
	var chk crashChecker
	for _, st := range states {
		files := logFiles(t, st.src)
		for _, target := range []string{"sealed", "active"} {
			fi := 1
			if target == "active" {
				fi = len(files) - 1
			}
			seg := strings.TrimSuffix(filepath.Base(files[fi]), segment.LogSuffix)
			other := strings.TrimSuffix(filepath.Base(files[fi-1]), segment.LogSuffix)
			for _, suffix := range []string{segment.IndexSuffix, segment.TimeIndexSuffix} {
				entry := 8
				if suffix == segment.TimeIndexSuffix {
					entry = 12
				}
				for _, how := range damages {
					if entry == 8 && (strings.HasPrefix(how, "offsets") || strings.HasPrefix(how, "timestamps")) ||
						entry == 12 && (strings.HasPrefix(how, "keys") || strings.HasPrefix(how, "positions")) {
						continue
					}
					what := fmt.Sprintf("%s: %s %s %s", st.name, target, suffix, how)
					t.Run(what, func(t *testing.T) {
						resetDir(t, work, st.src, "")
						damageIndex(t, rng, filepath.Join(work, seg+suffix), filepath.Join(work, other+suffix), entry, how)
						if st.cp != nil {
							cp := *st.cp
							if cp.RecoveryPoint < 0 {
								last := crashBatches(t, files[len(files)-1])
								cp.RecoveryPoint = last[len(last)-1].next
							}
							setCheckpoint(t, work, &cp)
						}
						l, err := Open(work, cfg)
						require.NoError(t, err)
						requireIndexesWork(t, rng, &chk, l, fi)
						end := l.EndOffset()
						appendCrashBatches(t, rng, l, 3, 5)
						chk.requireRange(t, l, end, l.EndOffset())
						require.NoError(t, l.Close())
						// What the first open rebuilt or kept serves a
						// clean reopen as well.
						l, err = Open(work, cfg)
						require.NoError(t, err)
						requireIndexesWork(t, rng, &chk, l, fi)
						require.NoError(t, l.Close())
					})
				}
			}
		}
	}
}

// requireIndexesWork checks reads from every offset of l's segment number
// si, OffsetForTimestamp at the first and last offset of each of its
// batches and a few others, and every record of the segment.
func requireIndexesWork(t *testing.T, rng *rand.Rand, chk *crashChecker, l *Log, si int) {
	t.Helper()
	s := (*l.segs.Load())[si]
	chk.requireRange(t, l, s.BaseOffset(), s.NextOffset())
	for o := s.BaseOffset(); o < s.NextOffset(); o++ {
		v, err := l.Read(o, 1, -1)
		require.NoError(t, err, "read at %d", o)
		h, err := record.ParseBatchHeader(v.Data)
		v.Release()
		require.NoError(t, err, "read at %d", o)
		require.True(t, h.BaseOffset <= o && o <= h.LastOffset(),
			"read at %d returned the batch of offsets %d..%d", o, h.BaseOffset, h.LastOffset())
		if o != h.BaseOffset && o != h.LastOffset() {
			continue
		}
		got, err := l.OffsetForTimestamp(crashT0 + o)
		require.NoError(t, err)
		require.Equal(t, o, got, "offset for timestamp %d", crashT0+o)
	}
	requireOffsetsForTimestamps(t, rng, l)
}

// findingLog builds a small log for the reproductions of the findings: a
// few sealed segments and an active one, closed cleanly. It returns the
// paths of its .log files and its end offset.
func findingLog(t *testing.T, dir string) ([]string, int64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	l, err := Open(dir, corruptConfig())
	require.NoError(t, err)
	for l.Segments() < 3 {
		appendCrashBatches(t, rng, l, 1, 10)
	}
	appendCrashBatches(t, rng, l, 3, 10)
	end := l.EndOffset()
	require.NoError(t, l.Close())
	return logFiles(t, dir), end
}

// TestCrashFindingF1 reproduces finding F1: the recovery scan allows gaps
// between batches, so a baseOffset raised by a bit flip in the last batch
// of the active segment is accepted: the log end offset jumps by 65536 and
// the batch's records are served under offsets they were not written at.
// Without compaction a log has no gaps; expected: ErrCorrupt at the batch
// (below the recovery point), or a cut (past it).
func TestCrashFindingF1(t *testing.T) {
	dir := t.TempDir()
	files, end := findingLog(t, dir)
	path := files[len(files)-1]
	bs := crashBatches(t, path)
	last := bs[len(bs)-1]
	flipBit(t, path, last.pos+5, 0) // baseOffset + 1<<16
	setCheckpoint(t, dir, &Checkpoint{RecoveryPoint: end})
	l, err := Open(dir, corruptConfig())
	if err == nil {
		defer l.Close()
		t.Fatalf("Open accepted the batch of offsets %d.. at %d of %s: end offset %d instead of %d",
			last.base+1<<16, last.pos, path, l.EndOffset(), end)
	}
	var ce *CorruptError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, path, ce.File)
	require.Equal(t, last.pos, ce.Position)
}

// TestCrashFindingF2 reproduces finding F2: reads, and Open's header walk,
// do not check a batch's baseOffset against its neighbours. After a clean
// open (which scans nothing) a baseOffset raised by a bit flip in a sealed
// segment is served as is: records come back under offsets they were not
// written at, and a reader asking for the batch's real offsets skips them.
// Expected: the Read fails with ErrCorrupt naming the file and position.
func TestCrashFindingF2(t *testing.T) {
	dir := t.TempDir()
	files, _ := findingLog(t, dir)
	bs := crashBatches(t, files[0])
	require.Greater(t, len(bs), 2)
	flipBit(t, files[0], bs[1].pos+7, 4) // baseOffset + 16
	l, err := Open(dir, corruptConfig())
	require.NoError(t, err)
	defer l.Close()
	require.True(t, l.Stats().CleanOpen)
	v, err := l.Read(bs[1].base, 1, -1)
	if err == nil {
		h, perr := record.ParseBatchHeader(v.Data)
		v.Release()
		require.NoError(t, perr)
		t.Fatalf("Read(%d) returned the batch at %d of %s as offsets %d..%d",
			bs[1].base, bs[1].pos, files[0], h.BaseOffset, h.LastOffset())
	}
	requireTypedCorrupt(t, err, files[0], "read")
}

// TestCrashFindingF3 reproduces finding F3: when the last batch of a
// sealed segment that recovery does not scan ends at a higher offset than
// it should (a raised baseOffset or lastOffsetDelta), the scan of the next
// segment fails on its first batch and the ErrCorrupt names that segment's
// file, at byte 0, instead of the damaged one. Expected: the damaged file
// (checkOffsets' overlap error does name it, but the scan runs first).
func TestCrashFindingF3(t *testing.T) {
	dir := t.TempDir()
	files, end := findingLog(t, dir)
	damaged := files[len(files)-2]
	bs := crashBatches(t, damaged)
	flipBit(t, damaged, bs[len(bs)-1].pos+5, 0) // baseOffset + 1<<16
	setCheckpoint(t, dir, &Checkpoint{RecoveryPoint: end})
	l, err := Open(dir, corruptConfig())
	if err == nil {
		l.Close()
	}
	var ce *CorruptError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, damaged, ce.File, "%v", err)
}

// TestCrashFindingF4 reproduces finding F4: Open walks the batch headers
// after the last index entry of each sealed segment before any scan; when
// a bit flip shortened a batch's length, the walk stops where the shortened
// batch seems to end and the ErrCorrupt reports that position, not the
// damaged batch's, even when recovery was to scan every segment (no
// checkpoint). Expected: the position of the damaged batch (a validating
// scan of the segment would find it).
func TestCrashFindingF4(t *testing.T) {
	dir := t.TempDir()
	files, _ := findingLog(t, dir)
	bs := crashBatches(t, files[0])
	last := bs[len(bs)-1]
	data, err := os.ReadFile(files[0])
	require.NoError(t, err)
	length := binary.BigEndian.Uint32(data[last.pos+8:])
	bit := 0
	for length&(1<<bit) == 0 {
		bit++
	}
	require.Less(t, bit, 6, "want a shorter length that leaves less than a header")
	flipBit(t, files[0], last.pos+11-int64(bit/8), bit%8) // length - 2^bit
	setCheckpoint(t, dir, nil)
	l, err := Open(dir, corruptConfig())
	if err == nil {
		l.Close()
	}
	var ce *CorruptError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, files[0], ce.File)
	require.Equal(t, last.pos, ce.Position, "%v", err)
}

// TestCrashOverlapLocatesDamage: a sealed segment that recovery does not
// scan and whose last batch ends past the next segment's base (here a
// raised lastOffsetDelta, which Open's header walk does not check: the CRC
// covers it) is reported at the damaged batch, found by a validating scan
// of that segment, in an unclean and in a clean open; not at the next
// segment's first batch.
func TestCrashOverlapLocatesDamage(t *testing.T) {
	for _, clean := range []bool{false, true} {
		dir := t.TempDir()
		files, end := findingLog(t, dir)
		damaged := files[len(files)-2]
		bs := crashBatches(t, damaged)
		last := bs[len(bs)-1]
		flipBit(t, damaged, last.pos+23+1, 0) // lastOffsetDelta + 1<<16
		if !clean {
			setCheckpoint(t, dir, &Checkpoint{RecoveryPoint: end})
		}
		l, err := Open(dir, corruptConfig())
		if err == nil {
			l.Close()
		}
		var ce *CorruptError
		require.ErrorAs(t, err, &ce, "clean %v", clean)
		require.Equal(t, damaged, ce.File, "clean %v: %v", clean, err)
		require.Equal(t, last.pos, ce.Position, "clean %v: %v", clean, err)
		require.ErrorIs(t, err, record.ErrCRC)
	}
}

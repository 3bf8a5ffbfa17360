package segment

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/fs/errorfs"
)

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("counts /proc/self/fd")
	}
	es, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(es)
}

// mappingsUnder counts the process's mappings of files under dir.
func mappingsUnder(t *testing.T, dir string) int {
	t.Helper()
	f, err := os.Open("/proc/self/maps")
	require.NoError(t, err)
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.Contains(sc.Text(), dir) {
			n++
		}
	}
	require.NoError(t, sc.Err())
	return n
}

// TestIdleActiveFootprint opens N active segments after a clean close and
// checks what each holds while idle: one file descriptor (its .log, for
// appends) and no mapping, whether its indexes are empty or hold entries
// (kept in memory while they fit the tail); the first Read maps the .log
// only; Close gives everything back.
func TestIdleActiveFootprint(t *testing.T) {
	const n = 200
	for _, tc := range []struct {
		name    string
		batches int // per segment; smallConfig indexes one entry per ~3 batches
	}{
		{"one-batch", 1},
		{"indexed", 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := smallConfig()
			bases := make([]int64, n)
			var wantNext []int64
			for i := range bases {
				bases[i] = int64(i) * 1_000_000
				s, err := Create(dir, bases[i], cfg)
				require.NoError(t, err)
				appendBatches(t, s, tc.batches, 3, 100, 1_000)
				if tc.batches > 1 {
					require.Positive(t, s.off.Entries())
				}
				wantNext = append(wantNext, s.NextOffset())
				require.NoError(t, s.Close())
			}

			fds0, maps0 := openFDs(t), mappingsUnder(t, dir)
			require.Zero(t, maps0)
			segs := make([]*Segment, n)
			for i, base := range bases {
				s, err := Open(dir, base, cfg, true)
				require.NoError(t, err)
				segs[i] = s
				require.Equal(t, wantNext[i], s.NextOffset())
			}
			fds, maps := openFDs(t)-fds0, mappingsUnder(t, dir)
			t.Logf("%d idle active segments: %d fds, %d mappings", n, fds, maps)
			require.Equal(t, n, fds, "one descriptor (the .log) per idle active segment")
			require.Zero(t, maps, "no mapping until the first Read")

			// Reads map the .log, and only it: the index entries are in memory.
			for i, s := range segs {
				v, err := s.Read(bases[i]+int64(tc.batches)/2, 1, 1<<62, true)
				require.NoError(t, err)
				require.NotEmpty(t, checkView(t, v.Data))
				v.Release()
			}
			require.Equal(t, n, openFDs(t)-fds0)
			require.Equal(t, n, mappingsUnder(t, dir), "one mapping (the .log) per read segment")

			// An append after the read still works, and reads see it.
			for _, s := range segs {
				bs := appendBatches(t, s, 1, 1, 100, 2_000)
				v, err := s.Read(bs[0].base, 1<<20, 1<<62, false)
				require.NoError(t, err)
				require.Equal(t, bs[0].data, v.Data)
				v.Release()
			}
			for _, s := range segs {
				require.NoError(t, s.Close())
			}
			require.Equal(t, fds0, openFDs(t))
			require.Zero(t, mappingsUnder(t, dir))
		})
	}
}

// TestCloseFlushesIndexesWithViewHeld: Close and Seal write the index
// entries held in memory at once, even while a View keeps the indexes
// alive: a clean stop leaves complete index files.
func TestCloseFlushesIndexesWithViewHeld(t *testing.T) {
	for _, seal := range []bool{false, true} {
		t.Run(map[bool]string{false: "close", true: "seal"}[seal], func(t *testing.T) {
			dir := t.TempDir()
			cfg := smallConfig()
			s, err := Create(dir, 0, cfg)
			require.NoError(t, err)
			appendBatches(t, s, 100, 3, 100, 1_000)
			want := s.off.Entries()
			require.Positive(t, want)
			require.Zero(t, s.off.Written(), "the entries are in memory")
			v, err := s.Read(0, 1, 1<<62, true)
			require.NoError(t, err)
			if seal {
				require.NoError(t, s.Seal())
			}
			require.NoError(t, s.Close())

			// The View still holds the indexes; their files are complete.
			for _, suffix := range []string{IndexSuffix, TimeIndexSuffix} {
				raw, err := os.ReadFile(Filename(dir, 0, suffix))
				require.NoError(t, err)
				es := map[string]int{IndexSuffix: 8, TimeIndexSuffix: 12}[suffix]
				got := 0
				for got*es < len(raw) && strings.Trim(string(raw[got*es:(got+1)*es]), "\x00") != "" {
					got++
				}
				if suffix == IndexSuffix {
					require.Equal(t, want, got, suffix)
				} else {
					require.Positive(t, got, suffix)
				}
			}
			require.NotEmpty(t, checkView(t, v.Data))
			v.Release()

			s2 := reopen(t, dir, 0, cfg, !seal)
			if !seal {
				require.Equal(t, want, s2.off.Entries())
			}
		})
	}
}

// crashCopy copies the files of segment base in dir to a new directory, as
// a process killed now would leave them (the index entries still in memory
// are not in the copies).
func crashCopy(t *testing.T, dir string, base int64) string {
	t.Helper()
	dst := t.TempDir()
	for _, suffix := range []string{LogSuffix, IndexSuffix, TimeIndexSuffix} {
		b, err := os.ReadFile(Filename(dir, base, suffix))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(Filename(dst, base, suffix), b, 0o644))
	}
	return dst
}

// TestOpenFillsLostEntries: after a process crash the index files miss the
// entries that were in memory; Open fills them in from its header walk
// (no rebuild: the index files are not cut) and ends with exactly the
// indexes a full Recover builds. The timestamps rise only every other
// batch, so the time index has fewer entries than the offset index and
// would flush at other moments if Append did not flush it with the offset
// index.
func TestOpenFillsLostEntries(t *testing.T) {
	for _, count := range []int{100, 700, 1400} {
		t.Run(map[int]string{100: "in-memory", 700: "one-tail-written", 1400: "two-tails-written"}[count], func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{IndexIntervalBytes: 100, MaxIndexBytes: 64 << 10, PreallocateBytes: 64 << 10}
			s, err := Create(dir, 0, cfg)
			require.NoError(t, err)
			defer s.Close()
			for i := range count {
				b := makeBatch(t, s.NextOffset(), 1, 100, 1_000+int64(i/2))
				_, err := s.Append(b, header(t, b))
				require.NoError(t, err)
			}
			entries := s.off.Entries()
			require.Less(t, s.off.Written(), entries, "some entries only in memory")
			require.GreaterOrEqual(t, s.tim.Written()*2, s.off.Written()-2, "the time index is written with the offset index")

			crashed := crashCopy(t, dir, 0)
			var truncates int
			efs := errorfs.New(nil)
			efs.SetInjector(func(op errorfs.Op, path string) error {
				if op == errorfs.OpTruncate && filepath.Ext(path) != LogSuffix {
					truncates++
				}
				return nil
			})
			c := cfg
			c.FS = efs
			got, err := Open(crashed, 0, c, true)
			require.NoError(t, err)
			defer got.Close()
			require.Zero(t, truncates, "filled in, not rebuilt")
			require.Equal(t, s.NextOffset(), got.NextOffset())
			require.Equal(t, s.Size(), got.Size())
			wantTs, wantOff := s.MaxTimestamp()
			gotTs, gotOff := got.MaxTimestamp()
			require.Equal(t, [2]int64{wantTs, wantOff}, [2]int64{gotTs, gotOff})

			// The reference: a full validating scan of another crash copy.
			ref, err := Open(crashCopy(t, dir, 0), 0, cfg, true)
			require.NoError(t, err)
			defer ref.Close()
			r, err := ref.Recover(0)
			require.NoError(t, err)
			require.NoError(t, r.Err)
			require.Equal(t, entries, got.off.Entries())
			require.Equal(t, ref.off.Entries(), got.off.Entries())
			require.Equal(t, ref.tim.Entries(), got.tim.Entries())
			for o := int64(0); o < s.NextOffset(); o++ {
				e1, p1 := ref.off.Lookup(o)
				e2, p2 := got.off.Lookup(o)
				require.Equal(t, [2]int64{e1, p1}, [2]int64{e2, p2}, "offset %d", o)
			}
			for ts := int64(999); ts <= 1_000+int64(count/2)+1; ts++ {
				t1, o1 := ref.tim.Lookup(ts)
				t2, o2 := got.tim.Lookup(ts)
				require.Equal(t, [2]int64{t1, o1}, [2]int64{t2, o2}, "timestamp %d", ts)
			}
			require.NoError(t, got.off.SanityCheck())
			require.NoError(t, got.tim.SanityCheck())
		})
	}
}

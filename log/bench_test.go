package log

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/record"
	"github.com/samsalog/samsa/segment"
)

// The workload of the performance goals (see BENCHMARKS.md): batches of
// benchBatchRecords uncompressed records without key or headers, whose values
// are 100 B or 1 KiB, in a log with the default configuration (1 GiB
// segments, no flush policy) in b.TempDir().

const benchBatchRecords = 100

var benchRecordSizes = []struct {
	name string
	size int
}{{"100B", 100}, {"1KiB", 1 << 10}}

// benchRecords returns n records with values of size bytes (not all zeros,
// though nothing is compressed) and zero timestamps, which AppendBatch
// replaces by the time of the call, as a producer does.
func benchRecords(n, size int) []record.Record {
	recs := make([]record.Record, n)
	for i := range recs {
		v := make([]byte, size)
		for j := range v {
			v[j] = byte(i*31 + j)
		}
		recs[i].Value = v
	}
	return recs
}

// benchBatch encodes one batch of the workload.
func benchBatch(b *testing.B, enc *record.Encoder, size int) ([]record.Record, []byte) {
	b.Helper()
	recs := benchRecords(benchBatchRecords, size)
	batch, err := enc.AppendBatch(nil, recs, record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch})
	if err != nil {
		b.Fatal(err)
	}
	return recs, batch
}

// benchOpen opens an empty log with the default configuration, closed when
// the benchmark run ends (outside the timed region).
func benchOpen(b *testing.B) *Log { return benchOpenConfig(b, nil) }

// benchOpenConfig is benchOpen with the configuration cfg.
func benchOpenConfig(b *testing.B, cfg *Config) *Log {
	b.Helper()
	l, err := Open(filepath.Join(b.TempDir(), "log"), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := l.Close(); err != nil {
			b.Error(err)
		}
	})
	return l
}

// reportRecords reports the records/s of a run of n operations of
// benchBatchRecords records each.
func reportRecords(b *testing.B, n int) {
	b.ReportMetric(float64(n)*benchBatchRecords/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAppend appends batches of 100 records, encoded in the timed loop
// (encode=true: record.Encoder.AppendBatch into a reused buffer, then
// Append) or pre-encoded once (encode=false: the same bytes appended again
// and again, the log patching their base offset). sync=none syncs once,
// after the last batch, inside the timed region; sync=batch calls Sync after
// every Append. Compare with BenchmarkBaseline of the same name: SetBytes is
// the batch size in both.
//
// These loops use b.N rather than b.Loop on purpose: b.Loop stops the timer
// when it returns false, and the final fsync of sync=none belongs in the
// measurement (each run is a fresh log, so that fsync covers exactly the
// run's b.N batches).
func BenchmarkAppend(b *testing.B) {
	for _, rs := range benchRecordSizes {
		for _, encode := range []bool{true, false} {
			for _, sync := range []string{"none", "batch"} {
				name := fmt.Sprintf("record=%s/batch=%d/encode=%t/sync=%s", rs.name, benchBatchRecords, encode, sync)
				b.Run(name, func(b *testing.B) { benchAppend(b, nil, rs.size, encode, sync == "batch") })
			}
		}
	}
}

// BenchmarkAppendZeroAhead is BenchmarkAppend with zero-ahead on
// (Config.ZeroAheadBytes = segment.DefaultZeroAheadBytes): each MiB of a
// segment's reserved space is written with zeros before the batches reach
// it. The names are BenchmarkAppend's, so that a -bench pattern for one
// runs both, in the same binary.
func BenchmarkAppendZeroAhead(b *testing.B) {
	cfg := &Config{ZeroAheadBytes: segment.DefaultZeroAheadBytes}
	for _, rs := range benchRecordSizes {
		for _, encode := range []bool{true, false} {
			for _, sync := range []string{"none", "batch"} {
				name := fmt.Sprintf("record=%s/batch=%d/encode=%t/sync=%s", rs.name, benchBatchRecords, encode, sync)
				b.Run(name, func(b *testing.B) { benchAppend(b, cfg, rs.size, encode, sync == "batch") })
			}
		}
	}
}

func benchAppend(b *testing.B, cfg *Config, size int, encode, syncEach bool) {
	var enc record.Encoder
	recs, batch := benchBatch(b, &enc, size)
	opts := record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch}
	l := benchOpenConfig(b, cfg)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if encode {
			var err error
			if batch, err = enc.AppendBatch(batch[:0], recs, opts); err != nil {
				b.Fatal(err)
			}
		}
		if _, _, err := l.Append(batch); err != nil {
			b.Fatal(err)
		}
		if syncEach {
			if err := l.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if !syncEach {
		if err := l.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if got, want := l.EndOffset(), int64(b.N)*benchBatchRecords; got != want {
		b.Fatalf("end offset %d, want %d", got, want)
	}
	reportRecords(b, b.N)
	b.ReportMetric(float64(l.Stats().Syncs)/float64(b.N), "fsyncs/op")
}

// BenchmarkBaseline is the yardstick of BenchmarkAppend: the same batch
// bytes written through a 1 MiB bufio.Writer over an os.File, with one
// fdatasync at the end inside the timed region (sync=none) or a Flush and
// an fdatasync after every batch (sync=batch). The log's Sync is an
// fdatasync too, so the two compare like for like.
func BenchmarkBaseline(b *testing.B) {
	for _, rs := range benchRecordSizes {
		for _, sync := range []string{"none", "batch"} {
			name := fmt.Sprintf("record=%s/batch=%d/sync=%s", rs.name, benchBatchRecords, sync)
			b.Run(name, func(b *testing.B) { benchBaseline(b, rs.size, sync == "batch") })
		}
	}
}

func benchBaseline(b *testing.B, size int, syncEach bool) {
	var enc record.Encoder
	_, batch := benchBatch(b, &enc, size)
	// fs.Default's File is an *os.File whose Sync is fdatasync (as the
	// log's); Write goes straight to os.File.Write.
	f, err := fs.Default.OpenFile(filepath.Join(b.TempDir(), "baseline"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	flushSync := func() {
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := w.Write(batch); err != nil {
			b.Fatal(err)
		}
		if syncEach {
			flushSync()
		}
	}
	if !syncEach {
		flushSync()
	}
	b.StopTimer()
	reportRecords(b, b.N)
}

// BenchmarkFloor is the floor of BenchmarkAppend under the design's rule
// that an appended batch is in the page cache when Append returns (one
// write per batch, no user-space buffer): the same batch bytes written
// with one pwrite(2) each at increasing offsets of a file reserved with
// fallocate in segment.DefaultPreallocateBytes chunks, as a segment is,
// with one fdatasync at the end (sync=none) or after every batch
// (sync=batch). No log code runs: Append / Floor is what the log costs
// above the system calls it cannot avoid, Floor / Baseline what one write
// per batch costs against one per MiB.
func BenchmarkFloor(b *testing.B) {
	for _, rs := range benchRecordSizes {
		for _, sync := range []string{"none", "batch"} {
			name := fmt.Sprintf("record=%s/batch=%d/sync=%s", rs.name, benchBatchRecords, sync)
			b.Run(name, func(b *testing.B) { benchFloor(b, rs.size, 0, sync == "batch") })
		}
	}
}

// BenchmarkFloorZeroAhead is BenchmarkFloor with zero-ahead as a segment
// does it: before the first batch that reaches each MiB of the reserved
// space, one pwrite of a MiB of zeros there (segment.DefaultZeroAheadBytes).
func BenchmarkFloorZeroAhead(b *testing.B) {
	for _, rs := range benchRecordSizes {
		for _, sync := range []string{"none", "batch"} {
			name := fmt.Sprintf("record=%s/batch=%d/sync=%s", rs.name, benchBatchRecords, sync)
			b.Run(name, func(b *testing.B) { benchFloor(b, rs.size, segment.DefaultZeroAheadBytes, sync == "batch") })
		}
	}
}

// benchFloor is BenchmarkFloor; zeroBlock > 0 adds zero-ahead in blocks of
// that size.
func benchFloor(b *testing.B, size, zeroBlock int, syncEach bool) {
	var enc record.Encoder
	_, batch := benchBatch(b, &enc, size)
	f, err := fs.Default.OpenFile(filepath.Join(b.TempDir(), "floor"), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	b.ResetTimer()
	zeros := make([]byte, zeroBlock)
	var off, reserved, zeroed int64
	for range b.N {
		for off+int64(len(batch)) > reserved {
			if err := f.Allocate(reserved, segment.DefaultPreallocateBytes); err != nil {
				b.Fatal(err)
			}
			reserved += segment.DefaultPreallocateBytes
		}
		for zeroBlock > 0 && off+int64(len(batch)) > zeroed {
			if _, err := f.WriteAt(zeros, zeroed); err != nil {
				b.Fatal(err)
			}
			zeroed += int64(zeroBlock)
		}
		if _, err := f.WriteAt(batch, off); err != nil {
			b.Fatal(err)
		}
		off += int64(len(batch))
		if syncEach {
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if !syncEach {
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRecords(b, b.N)
}

// benchReadLog builds a log of 1 M records of 100 B (10,000 batches of
// 100), synced and left open: its pages are in the page cache.
func benchReadLog(b *testing.B) *Log {
	b.Helper()
	var enc record.Encoder
	_, batch := benchBatch(b, &enc, 100)
	l := benchOpen(b)
	for range 1_000_000 / benchBatchRecords {
		if _, _, err := l.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Sync(); err != nil {
		b.Fatal(err)
	}
	return l
}

// BenchmarkRead reads a log of 1 M records of 100 B from the page cache,
// decoding every record (record.Decoder, which also checks each batch's
// CRC):
//
//   - mode=sequential: one op is one Read of up to 1 MiB from where the
//     previous one ended (back to the start at the end of the log), all
//     its batches decoded. records/s is the goal's figure.
//   - mode=random: one op is one Read at a random offset (min one batch),
//     then either the decoding of the batch that holds it (decode=true) or
//     only the parsing of its header (decode=false: the cost of the log's
//     read path itself). Each op is timed, which adds two clock reads
//     (vDSO, a few tens of ns) to ns/op; p50-ns and p99-ns are the
//     percentiles of those per-op times over the last 64 Ki ops.
func BenchmarkRead(b *testing.B) {
	l := benchReadLog(b)
	b.Run("mode=sequential/records=1M/fetch=1MiB", func(b *testing.B) {
		var dec record.Decoder
		recs := make([]record.Record, 0, benchBatchRecords)
		var off, n, bytes int64
		b.ReportAllocs()
		for b.Loop() {
			v, err := l.Read(off, 1<<20, -1)
			if err != nil {
				b.Fatal(err)
			}
			if v.Len() == 0 {
				v.Release()
				off = 0
				continue
			}
			bytes += int64(v.Len())
			data := v.Data
			for len(data) > 0 {
				var h record.BatchHeader
				if h, recs, err = dec.Decode(data, recs[:0]); err != nil {
					b.Fatal(err)
				}
				n += int64(len(recs))
				off = h.NextOffset()
				data = data[h.Size():]
			}
			v.Release()
		}
		b.SetBytes(bytes / int64(b.N))
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	})
	for _, decode := range []bool{false, true} {
		b.Run(fmt.Sprintf("mode=random/records=1M/decode=%t", decode), func(b *testing.B) {
			benchRandomRead(b, l, decode)
		})
	}
}

// benchRandomRead reads at random offsets of l, one batch each: with
// decode, the batch is decoded (CRC included) and the record at the offset
// checked; without, only the header of the batch is parsed to check that
// it holds the offset.
func benchRandomRead(b *testing.B, l *Log, decode bool) {
	var dec record.Decoder
	recs := make([]record.Record, 0, benchBatchRecords)
	end := l.EndOffset()
	var lat [1 << 16]time.Duration
	var i int
	x := uint64(0x9E3779B97F4A7C15)
	b.ReportAllocs()
	for b.Loop() {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		off := int64(x % uint64(end))
		t0 := time.Now()
		v, err := l.Read(off, 1, -1)
		if err != nil {
			b.Fatal(err)
		}
		if decode {
			h, rs, err := dec.Decode(v.Data, recs[:0])
			if err != nil {
				b.Fatal(err)
			}
			if r := rs[off-h.BaseOffset]; r.Offset != off || len(r.Value) != 100 {
				b.Fatalf("offset %d: got record %d", off, r.Offset)
			}
		} else {
			h, err := record.ParseBatchHeader(v.Data)
			if err != nil {
				b.Fatal(err)
			}
			if off < h.BaseOffset || off > h.LastOffset() {
				b.Fatalf("offset %d: got batch [%d, %d]", off, h.BaseOffset, h.LastOffset())
			}
		}
		v.Release()
		lat[i%len(lat)] = time.Since(t0)
		i++
	}
	s := slices.Clone(lat[:min(i, len(lat))])
	slices.Sort(s)
	b.ReportMetric(float64(s[len(s)/2]), "p50-ns")
	b.ReportMetric(float64(s[len(s)*99/100]), "p99-ns")
}

// BenchmarkReopen opens a log of about 1 GiB (64 MiB with -short): 100 B
// records in batches of 100, in one segment (the default segment.bytes),
// its pages in the page cache. Close is outside the timed region.
//
//   - state=clean: after a clean Close. Open trusts the checkpoint and the
//     indexes and scans no data.
//   - state=kill: the files as a SIGKILL after Sync leaves them: the
//     checkpoint is the unclean one Open wrote (recovery point 0: no roll
//     has moved it), the indexes are preallocated and unsealed. Those
//     files are copied while the log is open after its Sync (the .log
//     needs no copy: everything written is in the page cache, and a kill
//     loses nothing of it), and put back before every timed Open. Open
//     then validates the whole segment (CRC of every batch) and rebuilds
//     its indexes: the worst case of one full active segment to recover.
func BenchmarkReopen(b *testing.B) {
	size, sizeName := int64(1<<30), "1GiB"
	if testing.Short() {
		size, sizeName = 64<<20, "64MiB"
	}
	dir, killed := benchReopenLog(b, size)
	reopen := func(b *testing.B, restore func(), check func(Stats) error) {
		b.ReportAllocs()
		for b.Loop() {
			if restore != nil {
				b.StopTimer()
				restore()
				b.StartTimer()
			}
			l, err := Open(dir, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := check(l.Stats()); err != nil {
				b.Fatal(err)
			}
			if err := l.Close(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
	b.Run("state=clean/size="+sizeName, func(b *testing.B) {
		reopen(b, nil, func(st Stats) error {
			if !st.CleanOpen || st.RecoveredBytes != 0 {
				return fmt.Errorf("not a clean open: %+v", st)
			}
			return nil
		})
	})
	b.Run("state=kill/size="+sizeName, func(b *testing.B) {
		restore := func() {
			for name, data := range killed {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					b.Fatal(err)
				}
			}
		}
		reopen(b, restore, func(st Stats) error {
			if st.CleanOpen || st.RecoveredBytes < size-(1<<20) || st.TruncatedBytes != 0 {
				return fmt.Errorf("not a full recovery: %+v", st)
			}
			return nil
		})
		b.SetBytes(size)
	})
}

// benchReopenLog writes about size bytes of 100 x 100 B batches into one
// segment of a new log, syncs, copies the files other than the .log as they
// are then (the state a kill leaves), closes the log cleanly and returns
// its directory and those copies by file name.
func benchReopenLog(b *testing.B, size int64) (string, map[string][]byte) {
	b.Helper()
	var enc record.Encoder
	_, batch := benchBatch(b, &enc, 100)
	dir := filepath.Join(b.TempDir(), "log")
	l, err := Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	for written := int64(0); written+int64(len(batch)) <= size; written += int64(len(batch)) {
		if _, _, err := l.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Sync(); err != nil {
		b.Fatal(err)
	}
	if n := l.Segments(); n != 1 {
		b.Fatalf("%d segments, want 1", n)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	killed := map[string][]byte{}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), segment.LogSuffix) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		killed[e.Name()] = data
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	return dir, killed
}

package record_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/record"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the fuzz seed corpus in testdata/fuzz")

// fuzzDecodeLimit keeps decompression bombs cheap while fuzzing.
const fuzzDecodeLimit = 4 << 20

// FuzzDecode feeds arbitrary bytes to Decoder.Decode: it must never panic,
// every error must be typed, and a successful decode must be consistent.
func FuzzDecode(f *testing.F) {
	dec := record.Decoder{MaxDecompressedSize: fuzzDecodeLimit}
	var dst []record.Record
	f.Fuzz(func(t *testing.T, data []byte) {
		dst = fuzzDecodeOne(t, &dec, data, dst)
		// The CRC stops almost every mutation at the door; decode a copy
		// with the CRC fixed too, so the fuzzer reaches the record parser.
		if len(data) >= record.BatchHeaderSize {
			fixed := bytes.Clone(data)
			binary.BigEndian.PutUint32(fixed[17:], record.ComputeCRC(fixed))
			dst = fuzzDecodeOne(t, &dec, fixed, dst)
		}
	})
}

func fuzzDecodeOne(t *testing.T, dec *record.Decoder, data []byte, dst []record.Record) []record.Record {
	{
		h, out, err := dec.Decode(data, dst[:0])
		if err != nil {
			if !errors.Is(err, record.ErrCorrupt) && !errors.Is(err, record.ErrTooLarge) {
				t.Fatalf("untyped error: %v", err)
			}
			if len(out) != 0 {
				t.Fatalf("records returned with error")
			}
			return dst
		}
		if len(out) != int(h.NumRecords) {
			t.Fatalf("%d records, header says %d", len(out), h.NumRecords)
		}
		if _, err := record.CheckBatch(data); err != nil {
			t.Fatalf("Decode accepted what CheckBatch rejects: %v", err)
		}
		prev := int64(-1) << 62
		for _, r := range out {
			if r.Offset <= prev || r.Offset > h.LastOffset() || r.Offset < h.BaseOffset {
				t.Fatalf("offset %d outside batch or not increasing", r.Offset)
			}
			prev = r.Offset
		}
		if h.Attributes.Compression() == record.CompressionNone && !h.Attributes.Control() && len(out) > 0 {
			// Whatever decodes re-encodes and decodes to the same records.
			var enc record.Encoder
			for i := range out {
				if out[i].Timestamp.IsZero() {
					out[i].Timestamp = time.UnixMilli(0)
				}
			}
			b, err := enc.AppendBatch(nil, out, record.BatchOptions{})
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			var dec2 record.Decoder
			_, again, err := dec2.Decode(b, nil)
			if err != nil || len(again) != len(out) {
				t.Fatalf("re-decode: %v", err)
			}
			for i := range out {
				if string(again[i].Key) != string(out[i].Key) || string(again[i].Value) != string(out[i].Value) ||
					(again[i].Key == nil) != (out[i].Key == nil) || len(again[i].Headers) != len(out[i].Headers) {
					t.Fatalf("record %d differs after re-encode", i)
				}
			}
		}
		return out
	}
}

// FuzzCheckBatch feeds arbitrary bytes to ParseBatchHeader, CheckBatch and
// NextBatch: they must never panic, errors must be typed and the three must
// agree.
func FuzzCheckBatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		ph, perr := record.ParseBatchHeader(data)
		ch, cerr := record.CheckBatch(data)
		for _, err := range []error{perr, cerr} {
			if err != nil && !errors.Is(err, record.ErrCorrupt) {
				t.Fatalf("untyped error: %v", err)
			}
		}
		if perr != nil && cerr == nil {
			t.Fatalf("CheckBatch accepted what ParseBatchHeader rejects: %v", perr)
		}
		if cerr != nil {
			return
		}
		if ph != ch {
			t.Fatalf("headers differ: %+v vs %+v", ph, ch)
		}
		if ch.Size() > len(data) || ch.Size() < record.BatchHeaderSize {
			t.Fatalf("size %d, have %d bytes", ch.Size(), len(data))
		}
		if record.ComputeCRC(data) != ch.CRC {
			t.Fatalf("ComputeCRC disagrees with CheckBatch")
		}
		h, batch, rest, err := record.NextBatch(data)
		if err != nil || h != ch || len(batch)+len(rest) != len(data) {
			t.Fatalf("NextBatch inconsistent: %v", err)
		}
	})
}

// FuzzRoundTrip encodes fuzzer-chosen records with every codec and checks
// they decode unchanged.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("k"), []byte("v"), "h", []byte("hv"), int64(1700000000000), uint8(0), uint8(3))
	f.Add([]byte(nil), []byte(nil), "", []byte(nil), int64(-5), uint8(4), uint8(1))
	var enc record.Encoder
	var dec record.Decoder
	f.Fuzz(func(t *testing.T, key, value []byte, hkey string, hval []byte, ts int64, codec, n uint8) {
		ts %= 1 << 50
		if ts == record.NoTimestamp || ts == 0 {
			ts = 1
		}
		recs := make([]record.Record, int(n%8)+1)
		for i := range recs {
			tsi := ts + int64(i)*int64(len(value)-3)
			if tsi == record.NoTimestamp { // decodes to the zero time by design
				tsi = -2
			}
			recs[i] = record.Record{Key: key, Value: value, Timestamp: time.UnixMilli(tsi)}
			if i%2 == 1 {
				recs[i].Headers = []record.Header{{Key: hkey, Value: hval}}
			}
		}
		c := record.Compression(codec % 5)
		b, err := enc.AppendBatch(nil, recs, record.BatchOptions{Compression: c})
		if err != nil {
			t.Fatal(err)
		}
		_, out, err := dec.Decode(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		requireSameRecords(t, recs, out, 0)
	})
}

// seedBatches returns the inputs that seed both decoder fuzz targets: a valid
// batch per codec, the reference's worked bytes, Sarama's vectors, and
// truncations.
func seedBatches(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{
		"golden-two-records": unhex(t, twoRecordBatchHex),
		"golden-commit":      unhex(t, commitMarkerHex),
		"empty-input":        {},
	}
	for i, tc := range saramaCases {
		seeds[fmt.Sprintf("sarama-%d", i)] = unhex(t, tc.hex)
	}
	var enc record.Encoder
	for _, codec := range allCodecs {
		recs := sampleRecords(5, 6, 20)
		b, err := enc.AppendBatch(nil, recs, record.BatchOptions{Compression: codec, Idempotent: true, ProducerID: 1, BaseSequence: 3})
		require.NoError(t, err)
		seeds["valid-"+codec.String()] = b
		seeds["truncated-header-"+codec.String()] = b[:40]
		seeds["truncated-body-"+codec.String()] = b[:len(b)-3]
	}
	seeds["truncated-golden"] = unhex(t, twoRecordBatchHex)[:70]
	return seeds
}

// TestFuzzSeedCorpus keeps testdata/fuzz in step with seedBatches; run with
// -update-seeds to rewrite it.
func TestFuzzSeedCorpus(t *testing.T) {
	for _, target := range []string{"FuzzDecode", "FuzzCheckBatch"} {
		dir := filepath.Join("testdata", "fuzz", target)
		for name, b := range seedBatches(t) {
			path := filepath.Join(dir, name)
			content := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
			if *updateSeeds {
				require.NoError(t, os.MkdirAll(dir, 0o755))
				require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
				continue
			}
			got, err := os.ReadFile(path)
			require.NoError(t, err, "missing seed; run go test -run TestFuzzSeedCorpus -update-seeds")
			if compressedSeed(name) {
				continue // compressor output may change with library versions
			}
			require.Equal(t, content, string(got), "stale seed %s; run with -update-seeds", path)
		}
	}
}

func compressedSeed(name string) bool {
	for _, c := range allCodecs[1:] {
		if strings.HasSuffix(name, "-"+c.String()) {
			return true
		}
	}
	return false
}

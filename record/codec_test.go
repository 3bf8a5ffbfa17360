package record_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/record"
)

func encode(t testing.TB, recs []record.Record, opts record.BatchOptions) []byte {
	t.Helper()
	var enc record.Encoder
	b, err := enc.AppendBatch(nil, recs, opts)
	require.NoError(t, err)
	return b
}

// requireTyped fails unless err is one of the package's typed errors.
func requireTyped(t testing.TB, err error, msgAndArgs ...any) {
	t.Helper()
	if !errors.Is(err, record.ErrCorrupt) && !errors.Is(err, record.ErrTooLarge) {
		require.Fail(t, fmt.Sprintf("untyped error %v", err), msgAndArgs...)
	}
}

func TestRoundTrip(t *testing.T) {
	optsCases := []struct {
		name string
		opts record.BatchOptions
	}{
		{"plain", record.BatchOptions{}},
		{"producer style", record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch}},
		{"idempotent", record.BatchOptions{Idempotent: true, ProducerID: 77, ProducerEpoch: 3, BaseSequence: 1000, BaseOffset: 5000, LeaderEpoch: 9}},
		{"transactional", record.BatchOptions{Idempotent: true, Transactional: true, ProducerID: 0, ProducerEpoch: 0, BaseSequence: 0}},
	}
	for _, codec := range allCodecs {
		for _, n := range []int{1, 7, 1500} {
			for _, oc := range optsCases {
				t.Run(fmt.Sprintf("codec=%s/records=%d/%s", codec, n, oc.name), func(t *testing.T) {
					recs := sampleRecords(uint64(n), n, 100)
					opts := oc.opts
					opts.Compression = codec
					b := encode(t, recs, opts)
					var dec record.Decoder
					dec.Topic, dec.Partition = "t", 3
					h, out, err := dec.Decode(b, nil)
					require.NoError(t, err)
					require.Equal(t, len(b), h.Size())
					require.Equal(t, codec, h.Attributes.Compression())
					require.Equal(t, int32(n-1), h.LastOffsetDelta)
					require.Equal(t, int32(n), h.NumRecords)
					require.Equal(t, opts.BaseOffset, h.BaseOffset)
					require.Equal(t, opts.LeaderEpoch, h.LeaderEpoch)
					require.Equal(t, opts.Transactional, h.Attributes.Transactional())
					require.False(t, h.Attributes.Control())
					if opts.Idempotent {
						require.Equal(t, opts.ProducerID, h.ProducerID)
						require.Equal(t, opts.ProducerEpoch, h.ProducerEpoch)
						require.Equal(t, opts.BaseSequence, h.BaseSequence)
					} else {
						require.Equal(t, int64(-1), h.ProducerID)
						require.Equal(t, int16(-1), h.ProducerEpoch)
						require.Equal(t, int32(-1), h.BaseSequence)
					}
					require.Equal(t, recs[0].Timestamp.UnixMilli(), h.BaseTimestamp)
					maxTS := int64(0)
					for _, r := range recs {
						maxTS = max(maxTS, r.Timestamp.UnixMilli())
					}
					require.Equal(t, maxTS, h.MaxTimestamp)
					requireSameRecords(t, recs, out, opts.BaseOffset)
					for _, r := range out {
						require.Equal(t, "t", r.Topic)
						require.Equal(t, int32(3), r.Partition)
						require.Equal(t, opts.LeaderEpoch, r.LeaderEpoch)
					}
				})
			}
		}
	}
}

func TestEncoderReuseAcrossCodecsAndLevels(t *testing.T) {
	var enc record.Encoder
	var dec record.Decoder
	recs := sampleRecords(1, 50, 300)
	var dst []byte
	for round := 0; round < 3; round++ {
		for _, codec := range allCodecs {
			for _, level := range []int{0, 1, 9} {
				start := len(dst)
				var err error
				dst, err = enc.AppendBatch(dst, recs, record.BatchOptions{Compression: codec, Level: level})
				require.NoError(t, err, "%s level %d", codec, level)
				_, out, err := dec.Decode(dst[start:], nil)
				require.NoError(t, err)
				requireSameRecords(t, recs, out, 0)
			}
		}
	}
	// Walk the concatenation with NextBatch.
	n := 0
	for buf := dst; len(buf) > 0; n++ {
		_, batch, rest, err := record.NextBatch(buf)
		require.NoError(t, err)
		require.NotEmpty(t, batch)
		buf = rest
	}
	require.Equal(t, 3*5*3, n)
}

func TestDecodeResultsSurviveLaterDecodes(t *testing.T) {
	var dec record.Decoder
	var all []record.Record
	var want []record.Record
	for i, codec := range allCodecs {
		recs := sampleRecords(uint64(i), 20, 50)
		b := encode(t, recs, record.BatchOptions{Compression: codec})
		var err error
		_, all, err = dec.Decode(b, all)
		require.NoError(t, err)
		want = append(want, recs...)
	}
	require.Len(t, all, len(want))
	for i := range want {
		require.Equal(t, string(want[i].Value), string(all[i].Value))
		require.Equal(t, len(want[i].Headers), len(all[i].Headers))
		for j := range want[i].Headers {
			require.Equal(t, want[i].Headers[j].Key, all[i].Headers[j].Key)
			require.Equal(t, string(want[i].Headers[j].Value), string(all[i].Headers[j].Value))
		}
	}
}

func TestBatchOptionsValidation(t *testing.T) {
	recs := sampleRecords(1, 2, 10)
	cases := []struct {
		name string
		opts record.BatchOptions
		err  error
	}{
		{"zero", record.BatchOptions{}, nil},
		{"explicit no producer", record.BatchOptions{ProducerID: record.NoProducerID, ProducerEpoch: record.NoProducerEpoch, BaseSequence: record.NoSequence}, nil},
		{"producer without idempotent", record.BatchOptions{ProducerID: 5}, record.ErrInvalidOptions},
		{"epoch without idempotent", record.BatchOptions{ProducerEpoch: 1}, record.ErrInvalidOptions},
		{"sequence without idempotent", record.BatchOptions{BaseSequence: 1}, record.ErrInvalidOptions},
		{"transactional without idempotent", record.BatchOptions{Transactional: true}, record.ErrInvalidOptions},
		{"idempotent negative id", record.BatchOptions{Idempotent: true, ProducerID: -1}, record.ErrInvalidOptions},
		{"idempotent negative seq", record.BatchOptions{Idempotent: true, BaseSequence: -1}, record.ErrInvalidOptions},
		{"unknown codec", record.BatchOptions{Compression: 5}, record.ErrUnknownCompression},
		{"bad gzip level", record.BatchOptions{Compression: record.CompressionGzip, Level: 42}, record.ErrInvalidOptions},
		{"bad lz4 level", record.BatchOptions{Compression: record.CompressionLZ4, Level: 10}, record.ErrInvalidOptions},
		{"bad zstd level", record.BatchOptions{Compression: record.CompressionZstd, Level: -3}, record.ErrInvalidOptions},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var enc record.Encoder
			dst := []byte("prefix")
			out, err := enc.AppendBatch(dst, recs, tc.opts)
			if tc.err == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.err)
			require.Equal(t, "prefix", string(out))
		})
	}
	var enc record.Encoder
	_, err := enc.AppendBatch(nil, nil, record.BatchOptions{})
	require.ErrorIs(t, err, record.ErrEmptyBatch)
}

func TestTimestamps(t *testing.T) {
	t.Run("zero means now", func(t *testing.T) {
		before := time.Now().UnixMilli()
		b := encode(t, []record.Record{{Value: []byte("a")}, {Value: []byte("b")}}, record.BatchOptions{})
		after := time.Now().UnixMilli()
		var dec record.Decoder
		h, out, err := dec.Decode(b, nil)
		require.NoError(t, err)
		require.Equal(t, h.BaseTimestamp, h.MaxTimestamp)
		require.GreaterOrEqual(t, h.BaseTimestamp, before)
		require.LessOrEqual(t, h.BaseTimestamp, after)
		require.Equal(t, h.BaseTimestamp, out[1].Timestamp.UnixMilli())
	})
	t.Run("no timestamp decodes to zero", func(t *testing.T) {
		b := encode(t, []record.Record{{Value: []byte("a"), Timestamp: time.UnixMilli(record.NoTimestamp)}}, record.BatchOptions{})
		var dec record.Decoder
		_, out, err := dec.Decode(b, nil)
		require.NoError(t, err)
		require.True(t, out[0].Timestamp.IsZero())
	})
	t.Run("log append time option", func(t *testing.T) {
		recs := []record.Record{{Value: []byte("a"), Timestamp: time.UnixMilli(1000)}, {Value: []byte("b"), Timestamp: time.UnixMilli(3000)}}
		b := encode(t, recs, record.BatchOptions{LogAppendTime: true})
		var dec record.Decoder
		h, out, err := dec.Decode(b, nil)
		require.NoError(t, err)
		require.True(t, h.Attributes.LogAppendTime())
		require.Equal(t, int64(3000), out[0].Timestamp.UnixMilli())
		require.Equal(t, int64(3000), out[1].Timestamp.UnixMilli())
	})
	t.Run("SetLogAppendTime", func(t *testing.T) {
		for _, codec := range allCodecs {
			recs := sampleRecords(3, 10, 20)
			b := encode(t, recs, record.BatchOptions{Compression: codec})
			record.SetLogAppendTime(b, 1234567)
			var dec record.Decoder
			h, out, err := dec.Decode(b, nil)
			require.NoError(t, err)
			require.True(t, h.Attributes.LogAppendTime())
			require.Equal(t, codec, h.Attributes.Compression())
			require.Equal(t, int64(1234567), h.MaxTimestamp)
			for _, r := range out {
				require.Equal(t, int64(1234567), r.Timestamp.UnixMilli())
			}
		}
	})
}

func TestPutFieldsNotCRCCovered(t *testing.T) {
	b := encode(t, sampleRecords(1, 3, 10), record.BatchOptions{})
	crc := record.ComputeCRC(b)
	record.PutBaseOffset(b, 1<<40)
	record.PutLeaderEpoch(b, 17)
	require.Equal(t, crc, record.ComputeCRC(b))
	h, err := record.CheckBatch(b)
	require.NoError(t, err)
	require.Equal(t, int64(1<<40), h.BaseOffset)
	require.Equal(t, int32(17), h.LeaderEpoch)
	require.Equal(t, int64(1<<40+2), h.LastOffset())
	require.Equal(t, int64(1<<40+3), h.NextOffset())
	// ComputeCRC ignores bytes after the batch.
	require.Equal(t, crc, record.ComputeCRC(append(b, 1, 2, 3)))
}

func TestTruncateEveryByte(t *testing.T) {
	for _, codec := range allCodecs {
		b := encode(t, sampleRecords(9, 5, 30), record.BatchOptions{Compression: codec})
		var dec record.Decoder
		for i := 0; i < len(b); i++ {
			_, out, err := dec.Decode(b[:i], nil)
			require.ErrorIs(t, err, record.ErrTruncated, "%s cut at %d", codec, i)
			require.ErrorIs(t, err, record.ErrCorrupt)
			require.Empty(t, out)
			_, err = record.CheckBatch(b[:i])
			require.ErrorIs(t, err, record.ErrTruncated)
		}
	}
}

func TestFlipEveryBit(t *testing.T) {
	for _, codec := range allCodecs {
		orig := encode(t, sampleRecords(4, 3, 8), record.BatchOptions{Compression: codec})
		var dec record.Decoder
		for bit := 0; bit < 8*len(orig); bit++ {
			b := bytes.Clone(orig)
			pos := bit / 8
			b[pos] ^= 1 << (bit % 8)
			_, _, err := dec.Decode(b, nil)
			switch {
			case pos == 0 && bit%8 == 7: // baseOffset sign bit: negative offsets are corrupt
				require.ErrorIs(t, err, record.ErrCorrupt, "%s bit %d", codec, bit)
			case pos < 8 || (pos >= 12 && pos < 16): // baseOffset, leader epoch: not covered
				require.NoError(t, err, "%s bit %d", codec, bit)
			case pos < 12: // length
				require.ErrorIs(t, err, record.ErrCorrupt, "%s bit %d", codec, bit)
			case pos == 16:
				require.ErrorIs(t, err, record.ErrUnsupportedMagic)
				require.ErrorIs(t, err, record.ErrCorrupt)
			case pos < record.BatchHeaderSize: // CRC and CRC-covered header fields
				require.ErrorIs(t, err, record.ErrCorrupt, "%s bit %d", codec, bit)
			default: // records: CRC-32C catches every single-bit error
				require.ErrorIs(t, err, record.ErrCRC, "%s bit %d", codec, bit)
			}

			// Now make the flip pass the CRC so the structural checks behind
			// it are exercised; the outcome must be success or a typed error.
			if pos >= 21 {
				binary.BigEndian.PutUint32(b[17:], record.ComputeCRC(b))
				if _, _, err := dec.Decode(b, nil); err != nil {
					requireTyped(t, err, "%s bit %d", codec, bit)
				}
			}
		}
	}
}

// rewriteRecords replaces the records section of an uncompressed batch and
// fixes its length, count and CRC.
func rewriteRecords(t testing.TB, batch []byte, count int32, lastDelta int32, section []byte) []byte {
	t.Helper()
	b := append(bytes.Clone(batch[:record.BatchHeaderSize]), section...)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-record.LogOverhead))
	binary.BigEndian.PutUint32(b[23:], uint32(lastDelta))
	binary.BigEndian.PutUint32(b[57:], uint32(count))
	binary.BigEndian.PutUint32(b[17:], record.ComputeCRC(b))
	return b
}

func TestDecodeRejectsMalformedRecords(t *testing.T) {
	base := encode(t, []record.Record{{Value: []byte("x"), Timestamp: time.UnixMilli(5)}}, record.BatchOptions{})
	// A valid record: len 7, attrs, tsΔ, offΔ, key null, value "x"... built by hand.
	rec := func(offDelta byte) []byte { return []byte{0x0e, 0, 0, offDelta, 0x01, 0x02, 'x', 0} }
	cases := []struct {
		name    string
		count   int32
		last    int32
		section []byte
	}{
		{"count exceeds bytes", 1 << 30, 1<<30 - 1, rec(0)},
		{"fewer records than count", 2, 1, rec(0)},
		{"trailing bytes", 1, 0, append(rec(0), 0)},
		{"length overruns", 1, 0, []byte{0x7e, 0, 0, 0, 1, 1, 0}},
		{"length too short", 1, 0, []byte{0x02, 0, 0, 0, 1, 1, 0}},
		{"negative length", 1, 0, []byte{0x01, 0, 0, 0, 1, 1, 0}},
		{"bytes left in record", 1, 0, []byte{0x10, 0, 0, 0, 1, 2, 'x', 0, 0}},
		{"offset delta beyond last", 1, 0, rec(2)},
		{"offset delta repeats", 2, 1, append(rec(0), rec(0)...)},
		{"offset delta decreases", 2, 2, append(rec(4), rec(2)...)},
		{"negative offset delta", 1, 0, rec(1)},
		{"key length below -1", 1, 0, []byte{0x0e, 0, 0, 0, 0x03, 0x02, 'x', 0}},
		{"key overruns record", 1, 0, []byte{0x0e, 0, 0, 0, 0x10, 0x02, 'x', 0}},
		{"negative header count", 1, 0, []byte{0x0e, 0, 0, 0, 0x01, 0x02, 'x', 0x01}},
		{"header count too large", 1, 0, []byte{0x0e, 0, 0, 0, 0x01, 0x02, 'x', 0x08}},
		{"null header key", 1, 0, []byte{0x12, 0, 0, 0, 0x01, 0x02, 'x', 0x02, 0x01, 0x01}},
		{"six-byte offset delta varint", 1, 0, []byte{0x18, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x02, 'x', 0}},
		{"eleven-byte timestamp varlong", 1, 0, []byte{0x20, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0, 0x01, 0x02, 'x', 0}},
		{"truncated varint", 1, 0, []byte{0x0e, 0, 0, 0, 0x01, 0x02, 'x', 0x80}},
	}
	var dec record.Decoder
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := rewriteRecords(t, base, tc.count, tc.last, tc.section)
			_, err := record.CheckBatch(b)
			require.NoError(t, err)
			_, out, err := dec.Decode(b, make([]record.Record, 1, 4))
			require.ErrorIs(t, err, record.ErrCorrupt)
			require.Len(t, out, 1)
		})
	}
	// Sanity: the hand-built record itself is valid, including a gap.
	_, out, err := dec.Decode(rewriteRecords(t, base, 2, 9, append(rec(6), rec(18)...)), nil)
	require.NoError(t, err)
	require.Equal(t, []int64{3, 9}, []int64{out[0].Offset, out[1].Offset})
}

func TestParseBatchHeaderErrors(t *testing.T) {
	good := encode(t, sampleRecords(1, 2, 5), record.BatchOptions{})
	mut := func(f func(b []byte)) []byte { b := bytes.Clone(good); f(b); return b }
	cases := []struct {
		name string
		b    []byte
		err  error
	}{
		{"short", good[:60], record.ErrTruncated},
		{"magic 1", mut(func(b []byte) { b[16] = 1 }), record.ErrUnsupportedMagic},
		{"length < 49", mut(func(b []byte) { binary.BigEndian.PutUint32(b[8:], 48) }), record.ErrCorrupt},
		{"negative length", mut(func(b []byte) { binary.BigEndian.PutUint32(b[8:], 0xffffffff) }), record.ErrCorrupt},
		{"negative count", mut(func(b []byte) { binary.BigEndian.PutUint32(b[57:], 0xffffffff) }), record.ErrCorrupt},
		{"negative last delta", mut(func(b []byte) { binary.BigEndian.PutUint32(b[23:], 0xffffffff) }), record.ErrCorrupt},
		{"negative base offset", mut(func(b []byte) { b[0] = 0x80 }), record.ErrCorrupt},
		{"next offset overflows", mut(func(b []byte) { binary.BigEndian.PutUint64(b, math.MaxInt64) }), record.ErrCorrupt},
		{"codec 7", mut(func(b []byte) { b[22] |= 7 }), record.ErrUnknownCompression},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := record.ParseBatchHeader(tc.b)
			require.ErrorIs(t, err, tc.err)
			require.ErrorIs(t, err, record.ErrCorrupt)
			_, err = record.CheckBatch(tc.b)
			require.ErrorIs(t, err, tc.err)
		})
	}
	_, err := record.CheckBatch(mut(func(b []byte) { b[len(b)-1] ^= 0xff }))
	require.ErrorIs(t, err, record.ErrCRC)
	require.ErrorIs(t, err, record.ErrCorrupt)
	_, err = record.CheckBatch(mut(func(b []byte) { binary.BigEndian.PutUint32(b[8:], 1<<30) }))
	require.ErrorIs(t, err, record.ErrTruncated)
}

func TestDecompressionBounded(t *testing.T) {
	big := []record.Record{{Value: make([]byte, 3<<20), Timestamp: time.UnixMilli(1)}}
	for _, codec := range allCodecs[1:] {
		t.Run(codec.String(), func(t *testing.T) {
			b := encode(t, big, record.BatchOptions{Compression: codec})
			require.Less(t, len(b), 1<<20, "zeros compress well")
			dec := record.Decoder{MaxDecompressedSize: 1 << 20}
			_, _, err := dec.Decode(b, nil)
			require.ErrorIs(t, err, record.ErrTooLarge)
			require.NotErrorIs(t, err, record.ErrCorrupt)
			// The same decoder still works with a larger limit.
			dec.MaxDecompressedSize = 4 << 20
			_, out, err := dec.Decode(b, nil)
			require.NoError(t, err)
			require.Len(t, out[0].Value, 3<<20)
		})
	}
}

func TestRecordCountLieAllocatesLittle(t *testing.T) {
	base := encode(t, []record.Record{{Value: []byte("x"), Timestamp: time.UnixMilli(5)}}, record.BatchOptions{})
	b := rewriteRecords(t, base, 1<<31-1, 1<<31-2, make([]byte, 1<<12))
	var dec record.Decoder
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	_, _, err := dec.Decode(b, nil)
	runtime.ReadMemStats(&ms1)
	require.ErrorIs(t, err, record.ErrCorrupt)
	require.Less(t, ms1.TotalAlloc-ms0.TotalAlloc, uint64(64<<10))
}

func TestSnappyXerialFraming(t *testing.T) {
	recs := sampleRecords(2, 400, 200) // > 32 KiB: several xerial chunks
	b := encode(t, recs, record.BatchOptions{Compression: record.CompressionSnappy})
	sec := b[record.BatchHeaderSize:]
	require.Equal(t, []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}, sec[:16])
	chunks := 0
	for p := 16; p < len(sec); chunks++ {
		n := int(binary.BigEndian.Uint32(sec[p:]))
		p += 4 + n
		require.LessOrEqual(t, p, len(sec))
	}
	require.Greater(t, chunks, 1)
}

func TestFrameHeaders(t *testing.T) {
	recs := sampleRecords(2, 1000, 200) // > 64 KiB: several lz4 blocks
	sec := func(c record.Compression) []byte {
		return encode(t, recs, record.BatchOptions{Compression: c})[record.BatchHeaderSize:]
	}
	gz := sec(record.CompressionGzip)
	require.Equal(t, []byte{0x1f, 0x8b, 0x08}, gz[:3])
	lz := sec(record.CompressionLZ4)
	require.Equal(t, []byte{0x04, 0x22, 0x4d, 0x18}, lz[:4])
	// FLG: version 01, block independence, no block checksum, no content
	// size, no content checksum, no dict. BD: 64 KiB max block size.
	require.Equal(t, byte(0x60), lz[4])
	require.Equal(t, byte(0x40), lz[5])
	// End mark and no content checksum after it.
	require.Equal(t, []byte{0, 0, 0, 0}, lz[len(lz)-4:])
	zs := sec(record.CompressionZstd)
	require.Equal(t, []byte{0x28, 0xb5, 0x2f, 0xfd}, zs[:4])
}

func TestNames(t *testing.T) {
	for _, c := range allCodecs {
		got, err := record.ParseCompression(c.String())
		require.NoError(t, err)
		require.Equal(t, c, got)
	}
	got, err := record.ParseCompression(" ZSTD ")
	require.NoError(t, err)
	require.Equal(t, record.CompressionZstd, got)
	got, err = record.ParseCompression("uncompressed")
	require.NoError(t, err)
	require.Equal(t, record.CompressionNone, got)
	_, err = record.ParseCompression("brotli")
	require.ErrorIs(t, err, record.ErrUnknownCompression)
	require.Equal(t, "compression(6)", record.Compression(6).String())
	require.Equal(t, "COMMIT", record.ControlCommit.String())
	require.Equal(t, "UNKNOWN(99)", record.ControlType(99).String())
	a := record.Attributes(0x78 | 3)
	require.Equal(t, record.CompressionLZ4, a.Compression())
	require.True(t, a.LogAppendTime() && a.Transactional() && a.Control() && a.HasDeleteHorizon())
}

func TestParseControlRecordErrors(t *testing.T) {
	_, _, err := record.ParseControlRecord([]byte{0, 0, 0}, nil)
	require.ErrorIs(t, err, record.ErrCorrupt)
	_, _, err = record.ParseControlRecord([]byte{0xff, 0xff, 0, 1}, []byte{0, 0, 0, 0, 0, 1})
	require.ErrorIs(t, err, record.ErrCorrupt)
	_, _, err = record.ParseControlRecord([]byte{0, 0, 0, 1}, []byte{0, 0, 0, 0, 0})
	require.ErrorIs(t, err, record.ErrCorrupt)
	_, _, err = record.ParseControlRecord([]byte{0, 0, 0, 1}, []byte{0x80, 0, 0, 0, 0, 0})
	require.ErrorIs(t, err, record.ErrCorrupt)
	typ, ce, err := record.ParseControlRecord([]byte{0, 3, 0, 0}, []byte{0, 1, 0, 0, 0, 9}) // higher version read as 0
	require.NoError(t, err)
	require.Equal(t, record.ControlAbort, typ)
	require.Equal(t, int32(9), ce)
	typ, ce, err = record.ParseControlRecord([]byte{0, 0, 0, 2}, nil)
	require.NoError(t, err)
	require.Equal(t, record.ControlLeaderChange, typ)
	require.Equal(t, int32(-1), ce)
}

func TestZeroAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under -cover and -race")
	}
	recs := sampleRecords(1, 100, 100)
	for i := range recs {
		recs[i].Headers = nil
	}
	var enc record.Encoder
	dst, err := enc.AppendBatch(nil, recs, record.BatchOptions{})
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		dst, err = enc.AppendBatch(dst[:0], recs, record.BatchOptions{})
	})
	require.NoError(t, err)
	require.Zero(t, allocs, "encode none")

	var dec record.Decoder
	out := make([]record.Record, 0, 100)
	allocs = testing.AllocsPerRun(100, func() {
		_, out, err = dec.Decode(dst, out[:0])
	})
	require.NoError(t, err)
	require.Zero(t, allocs, "decode none")

	// With headers: keys come from the decoder's cache, header slices from
	// slabs, so the steady state is well under one allocation per batch.
	hrecs := sampleRecords(1, 100, 100)
	hb := encode(t, hrecs, record.BatchOptions{})
	allocs = testing.AllocsPerRun(100, func() {
		_, out, err = dec.Decode(hb, out[:0])
	})
	require.NoError(t, err)
	require.Less(t, allocs, 1.0, "decode with headers")
}

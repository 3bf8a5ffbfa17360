package record_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsalog/samsa/record"
)

// Cross-checks against franz-go's kmsg, an encoder and decoder we did not
// write. kmsg only frames the batch; the records section is (de)compressed
// here with independent code paths: the standard library's gzip, raw snappy
// (what franz-go writes), lz4 with pierrec defaults (4 MiB blocks, content
// checksum, what franz-go writes) and a fresh zstd encoder.

var castagnoliTable = crc32.MakeTable(crc32.Castagnoli)

// theirDecompress undoes a records-section codec without our Decoder.
func theirDecompress(t testing.TB, c record.Compression, in []byte) []byte {
	t.Helper()
	switch c {
	case record.CompressionNone:
		return in
	case record.CompressionGzip:
		r, err := gzip.NewReader(bytes.NewReader(in))
		require.NoError(t, err)
		out, err := io.ReadAll(r)
		require.NoError(t, err)
		return out
	case record.CompressionSnappy:
		// xerial: magic, version, compat, then [len][raw block]...
		require.True(t, bytes.HasPrefix(in, []byte("\x82SNAPPY\x00")), "xerial magic")
		var out []byte
		for p := 16; p < len(in); {
			n := int(binary.BigEndian.Uint32(in[p:]))
			blk, err := snappy.Decode(nil, in[p+4:p+4+n])
			require.NoError(t, err)
			out = append(out, blk...)
			p += 4 + n
		}
		return out
	case record.CompressionLZ4:
		out, err := io.ReadAll(lz4.NewReader(bytes.NewReader(in)))
		require.NoError(t, err)
		return out
	case record.CompressionZstd:
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
		require.NoError(t, err)
		defer d.Close()
		out, err := d.DecodeAll(in, nil)
		require.NoError(t, err)
		return out
	}
	t.Fatalf("codec %d", c)
	return nil
}

// theirCompress compresses a records section the way franz-go does.
func theirCompress(t testing.TB, c record.Compression, in []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch c {
	case record.CompressionNone:
		return in
	case record.CompressionGzip:
		w := gzip.NewWriter(&buf)
		_, err := w.Write(in)
		require.NoError(t, err)
		require.NoError(t, w.Close())
	case record.CompressionSnappy:
		return snappy.Encode(nil, in) // raw snappy, as franz-go writes
	case record.CompressionLZ4:
		w := lz4.NewWriter(&buf)
		_, err := w.Write(in)
		require.NoError(t, err)
		require.NoError(t, w.Close())
	case record.CompressionZstd:
		e, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		require.NoError(t, err)
		defer e.Close()
		return e.EncodeAll(in, nil)
	}
	return buf.Bytes()
}

func TestKmsgDecodesOurBatches(t *testing.T) {
	for _, codec := range allCodecs {
		for _, n := range []int{1, 50, 700} {
			t.Run(fmt.Sprintf("codec=%s/records=%d", codec, n), func(t *testing.T) {
				recs := sampleRecords(uint64(n)+7, n, 150)
				opts := record.BatchOptions{Compression: codec, Idempotent: true, ProducerID: 12, ProducerEpoch: 1,
					BaseSequence: 40, Transactional: n == 50, BaseOffset: 1000, LeaderEpoch: 4}
				b := encode(t, recs, opts)

				var kb kmsg.RecordBatch
				require.NoError(t, kb.ReadFrom(b))
				require.Equal(t, int64(1000), kb.FirstOffset)
				require.Equal(t, int32(len(b)-12), kb.Length)
				require.Equal(t, int32(4), kb.PartitionLeaderEpoch)
				require.Equal(t, int8(2), kb.Magic)
				require.Equal(t, crc32.Checksum(b[21:], castagnoliTable), uint32(kb.CRC))
				require.Equal(t, int16(codec)|map[bool]int16{true: 0x10}[opts.Transactional], kb.Attributes)
				require.Equal(t, int32(n-1), kb.LastOffsetDelta)
				require.Equal(t, recs[0].Timestamp.UnixMilli(), kb.FirstTimestamp)
				require.Equal(t, int64(12), kb.ProducerID)
				require.Equal(t, int16(1), kb.ProducerEpoch)
				require.Equal(t, int32(40), kb.FirstSequence)
				require.Equal(t, int32(n), kb.NumRecords)
				// The batch re-serializes byte for byte.
				require.Equal(t, b, kb.AppendTo(nil))

				section := theirDecompress(t, codec, kb.Records)
				var got []record.Record
				for len(section) > 0 {
					l, k := binary.Varint(section)
					require.Positive(t, k)
					var kr kmsg.Record
					require.NoError(t, kr.ReadFrom(section[:k+int(l)]))
					section = section[k+int(l):]
					r := record.Record{
						Offset:    kb.FirstOffset + int64(kr.OffsetDelta),
						Key:       kr.Key,
						Value:     kr.Value,
						Timestamp: time.UnixMilli(kb.FirstTimestamp + kr.TimestampDelta64),
					}
					for _, h := range kr.Headers {
						r.Headers = append(r.Headers, record.Header{Key: h.Key, Value: h.Value})
					}
					got = append(got, r)
				}
				requireSameRecords(t, recs, got, 1000)
			})
		}
	}
}

func TestWeDecodeKmsgBatches(t *testing.T) {
	for _, codec := range allCodecs {
		for _, n := range []int{1, 50, 700} {
			t.Run(fmt.Sprintf("codec=%s/records=%d", codec, n), func(t *testing.T) {
				recs := sampleRecords(uint64(n)+11, n, 150)
				base := recs[0].Timestamp.UnixMilli()
				maxTS := base
				var section []byte
				for i, r := range recs {
					ts := r.Timestamp.UnixMilli()
					maxTS = max(maxTS, ts)
					kr := kmsg.Record{TimestampDelta64: ts - base, OffsetDelta: int32(i), Key: r.Key, Value: r.Value}
					for _, h := range r.Headers {
						kr.Headers = append(kr.Headers, kmsg.Header{Key: h.Key, Value: h.Value})
					}
					kr.Length = int32(len(kr.AppendTo(nil)) - 1) // body size: encoded with Length 0 (one byte)
					section = kr.AppendTo(section)
				}
				kb := kmsg.RecordBatch{
					FirstOffset: 77, PartitionLeaderEpoch: -1, Magic: 2, Attributes: int16(codec),
					LastOffsetDelta: int32(n - 1), FirstTimestamp: base, MaxTimestamp: maxTS,
					ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(n),
					Records: theirCompress(t, codec, section),
				}
				kb.Length = int32(49 + len(kb.Records))
				b := kb.AppendTo(nil)
				binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoliTable))

				var dec record.Decoder
				h, out, err := dec.Decode(b, nil)
				require.NoError(t, err)
				require.Equal(t, int64(77), h.BaseOffset)
				require.Equal(t, maxTS, h.MaxTimestamp)
				require.Equal(t, codec, h.Attributes.Compression())
				requireSameRecords(t, recs, out, 77)
			})
		}
	}
}

package record

import (
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGoldenSaramaRecordBytes rebuilds Sarama's uncompressed one-record batch
// byte for byte with the record writer (its baseTimestamp is not the first
// record's timestamp, so AppendBatch cannot produce it).
func TestGoldenSaramaRecordBytes(t *testing.T) {
	const base = 1479847795000
	recs := []Record{{Key: []byte{1, 2, 3, 4}, Value: []byte{5, 6, 7},
		Headers: []Header{{Key: "\x08\x09\x0a", Value: []byte{11, 12}}}}}
	size := recordBodySize(&recs[0], 5, 0)
	require.Equal(t, 20, size)
	meta := []recordMeta{{size: size, ts: base + 5}}
	body := make([]byte, 1+size)
	writeRecords(body, recs, meta, base)
	require.Equal(t, "28000a00080102030406050607020608090a040b0c", hex.EncodeToString(body))

	b := make([]byte, BatchHeaderSize, BatchHeaderSize+len(body))
	binary.BigEndian.PutUint32(b[offLength:], uint32(BatchHeaderSize-LogOverhead+len(body)))
	b[offMagic] = Magic
	binary.BigEndian.PutUint64(b[offBaseTimestamp:], base)
	binary.BigEndian.PutUint32(b[offNumRecords:], 1)
	b = append(b, body...)
	require.Equal(t, uint32(0x547961FD), ComputeCRC(b))
	require.Equal(t, int32(70), int32(binary.BigEndian.Uint32(b[offLength:])))
}

func TestVarintLimits(t *testing.T) {
	for _, v := range []int32{0, 1, -1, 63, -64, 64, -65, 1 << 20, -(1 << 20), 1<<31 - 1, -1 << 31} {
		b := make([]byte, maxVarintLen)
		b = b[:putVarint(b, v)]
		require.Equal(t, varintSize(v), len(b))
		got, n := readVarint(b)
		require.Equal(t, len(b), n)
		require.Equal(t, v, got)
		for i := 0; i < len(b); i++ {
			_, n := readVarint(b[:i])
			require.Equal(t, 0, n, "truncated %d", v)
		}
	}
	for _, v := range []int64{0, -1, 1 << 40, -(1 << 40), 1<<63 - 1, -1 << 63} {
		b := make([]byte, 10)
		k := putVarlong(b, v)
		require.Equal(t, varlongSize(v), k)
		got, n := readVarlong(b[:k])
		require.Equal(t, k, n)
		require.Equal(t, v, got)
	}
	// Six-byte int32 varint: Kafka rejects it.
	_, n := readVarint([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00})
	require.Less(t, n, 0)
	// Five bytes whose last byte overflows 32 bits.
	_, n = readVarint([]byte{0xff, 0xff, 0xff, 0xff, 0x1f})
	require.Less(t, n, 0)
	_, n = readVarint([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	require.Equal(t, 5, n)
	// Eleven-byte varlong, and a ten-byte one that overflows.
	_, n = readVarlong([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00})
	require.Less(t, n, 0)
	_, n = readVarlong([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02})
	require.Less(t, n, 0)
	_, n = readVarlong([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	require.Equal(t, 10, n)
}

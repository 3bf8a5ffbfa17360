package record_test

import (
	"hash/crc32"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/record"
)

// Worked bytes from /work/shared/reference/kafka-internals.md §1.8 and §2.

const twoRecordBatchHex = `
00 00 00 00 00 00 00 00 | baseOffset 0
00 00 00 49             | batchLength 73
ff ff ff ff             | partitionLeaderEpoch -1
02                      | magic
6a 89 90 a3             | crc
00 00                   | attributes
00 00 00 01             | lastOffsetDelta 1
00 00 01 8b cf e5 68 00 | baseTimestamp 1700000000000
00 00 01 8b cf e5 68 05 | maxTimestamp 1700000000005
ff ff ff ff ff ff ff ff | producerId -1
ff ff                   | producerEpoch -1
ff ff ff ff             | baseSequence -1
00 00 00 02             | recordsCount 2
14 00 00 00 04 6b 31 04 76 31 00         | record 0
18 00 0a 02 01 04 76 32 02 02 68 02 78   | record 1
`

const commitMarkerHex = `
00 00 00 00 00 00 00 2a  00 00 00 42  00 00 00 05  02  e3 e2 76 81  00 30
00 00 00 00  00 00 01 8b cf e5 68 00  00 00 01 8b cf e5 68 00
00 00 00 00 00 00 0f a0  00 02  ff ff ff ff  00 00 00 01
20 00 00 00 08 00 00 00 01 0c 00 00 00 00 00 07 00
`

// Sarama record_test.go recordBatchTestCases: zero producer fields, leader
// epoch 0, baseTimestamp 1479847795000, maxTimestamp 0.
const saramaHeaderTail = `
00 00 00 00 | lastOffsetDelta
00 00 01 58 8d cd 59 38 | baseTimestamp 1479847795000
00 00 00 00 00 00 00 00 | maxTimestamp 0
00 00 00 00 00 00 00 00 | producerId
00 00   | producerEpoch
00 00 00 00 | baseSequence
00 00 00 01 | recordsCount
`

var saramaCases = []struct {
	name, hex string
	codec     record.Compression
	records   int
}{
	{"empty", `00 00 00 00 00 00 00 00  00 00 00 31  00 00 00 00  02  59 5f b7 dd  00 00
		00 00 00 00  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00
		00 00 00 00 00 00 00 00  00 00  00 00 00 00  00 00 00 00`, record.CompressionNone, 0},
	{"control", `00 00 00 00 00 00 00 00  00 00 00 31  00 00 00 00  02  51 2e 43 d9  00 20
		00 00 00 00  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00
		00 00 00 00 00 00 00 00  00 00  00 00 00 00  00 00 00 00`, record.CompressionNone, 0},
	{"uncompressed", `00 00 00 00 00 00 00 00  00 00 00 46  00 00 00 00  02  54 79 61 fd  00 00` + saramaHeaderTail +
		`28 00 0a 00 08 01 02 03 04 06 05 06 07 02 06 08 09 0a 04 0b 0c`, record.CompressionNone, 1},
	{"gzip", `00 00 00 00 00 00 00 00  00 00 00 5f  00 00 00 00  02  e7 4a ce a5  00 01` + saramaHeaderTail +
		`1f 8b 08 00 00 09 6e 88 00 ff 00 15 00 ea ff 28 00 0a 00 08 01 02
		 03 04 06 05 06 07 02 06 08 09 0a 04 0b 0c 03 00 ad c9 58 67 15 00 00 00`, record.CompressionGzip, 1},
	{"raw snappy", `00 00 00 00 00 00 00 00  00 00 00 48  00 00 00 00  02  15 00 9f 61  00 02` + saramaHeaderTail +
		`15 50 28 00 0a 00 08 01 02 03 04 06 05 06 07 02 06 08 09 0a 04 0b 0c`, record.CompressionSnappy, 1},
	{"lz4 content checksum", `00 00 00 00 00 00 00 00  00 00 00 59  00 00 00 00  02  a9 4a 77 c5  00 03` + saramaHeaderTail +
		`04 22 4d 18 64 70 b9 15 00 00 80 28 00 0a 00 08 01 02 03 04 06 05 06 07 02
		 06 08 09 0a 04 0b 0c 00 00 00 00 0c 3b ef 92`, record.CompressionLZ4, 1},
}

func TestCRC32CCheckValue(t *testing.T) {
	require.Equal(t, uint32(0xE3069283), crc32.Checksum([]byte("123456789"), crc32.MakeTable(crc32.Castagnoli)))
}

func TestGoldenTwoRecordBatch(t *testing.T) {
	want := unhex(t, twoRecordBatchHex)
	recs := []record.Record{
		{Key: []byte("k1"), Value: []byte("v1"), Timestamp: time.UnixMilli(1700000000000)},
		{Value: []byte("v2"), Timestamp: time.UnixMilli(1700000000005), Headers: []record.Header{{Key: "h", Value: []byte("x")}}},
	}
	var enc record.Encoder
	got, err := enc.AppendBatch(nil, recs, record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch})
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Equal(t, uint32(0x6a8990a3), record.ComputeCRC(got))

	var dec record.Decoder
	h, out, err := dec.Decode(want, nil)
	require.NoError(t, err)
	require.Equal(t, record.BatchHeader{
		BaseOffset: 0, Length: 73, LeaderEpoch: -1, Magic: 2, CRC: 0x6a8990a3, LastOffsetDelta: 1,
		BaseTimestamp: 1700000000000, MaxTimestamp: 1700000000005,
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, NumRecords: 2,
	}, h)
	requireSameRecords(t, recs, out, 0)
	require.Equal(t, int32(-1), out[1].LeaderEpoch)
}

func TestGoldenControlMarkers(t *testing.T) {
	want := unhex(t, commitMarkerHex)
	got := record.AppendControlBatch(nil, record.ControlCommit, 4000, 2, 7, 1700000000000)
	require.Len(t, got, 78)
	record.PutBaseOffset(got, 42)
	record.PutLeaderEpoch(got, 5)
	require.Equal(t, want, got)

	abort := record.AppendControlBatch(nil, record.ControlAbort, 4000, 2, 7, 1700000000000)
	record.PutBaseOffset(abort, 42)
	record.PutLeaderEpoch(abort, 5)
	wantAbort := append([]byte(nil), want...)
	copy(wantAbort[17:], []byte{0x17, 0xdc, 0xa0, 0xc9})
	wantAbort[len(wantAbort)-9] = 0 // key type byte
	require.Equal(t, wantAbort, abort)

	var dec record.Decoder
	h, recs, err := dec.Decode(want, nil)
	require.NoError(t, err)
	require.True(t, h.Attributes.Control())
	require.True(t, h.Attributes.Transactional())
	require.Equal(t, int64(4000), h.ProducerID)
	require.Equal(t, int16(2), h.ProducerEpoch)
	require.Equal(t, int32(record.NoSequence), h.BaseSequence)
	require.Len(t, recs, 1)
	require.Equal(t, int64(42), recs[0].Offset)
	require.Equal(t, int32(5), recs[0].LeaderEpoch)
	typ, ce, err := record.ParseControlRecord(recs[0].Key, recs[0].Value)
	require.NoError(t, err)
	require.Equal(t, record.ControlCommit, typ)
	require.Equal(t, int32(7), ce)
}

func TestSaramaControlRecordVectors(t *testing.T) {
	typ, ce, err := record.ParseControlRecord([]byte{0, 0, 0, 0}, []byte{0, 0, 0, 0, 0, 10})
	require.NoError(t, err)
	require.Equal(t, record.ControlAbort, typ)
	require.Equal(t, int32(10), ce)
	typ, ce, err = record.ParseControlRecord([]byte{0, 0, 0, 1}, []byte{0, 0, 0, 0, 0, 15})
	require.NoError(t, err)
	require.Equal(t, record.ControlCommit, typ)
	require.Equal(t, int32(15), ce)
}

func TestGoldenSaramaBatches(t *testing.T) {
	for _, tc := range saramaCases {
		t.Run(tc.name, func(t *testing.T) {
			b := unhex(t, tc.hex)
			h, err := record.CheckBatch(b)
			require.NoError(t, err)
			require.Equal(t, h.Size(), len(b))
			require.Equal(t, h.CRC, record.ComputeCRC(b))
			require.Equal(t, tc.codec, h.Attributes.Compression())
			var dec record.Decoder
			_, recs, err := dec.Decode(b, nil)
			require.NoError(t, err)
			require.Len(t, recs, tc.records)
			if tc.records == 1 {
				r := recs[0]
				require.Equal(t, []byte{1, 2, 3, 4}, r.Key)
				require.Equal(t, []byte{5, 6, 7}, r.Value)
				require.Equal(t, []record.Header{{Key: "\x08\x09\x0a", Value: []byte{11, 12}}}, r.Headers)
				require.Equal(t, int64(1479847795005), r.Timestamp.UnixMilli())
				require.Equal(t, int64(0), r.Offset)
			}
		})
	}
	// The two empty cases differ only in the control bit, hence their CRCs.
	require.Equal(t, uint32(0x595FB7DD), record.ComputeCRC(unhex(t, saramaCases[0].hex)))
	require.Equal(t, uint32(0x512E43D9), record.ComputeCRC(unhex(t, saramaCases[1].hex)))
}

package record

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// PutBatchHeader of a parsed header rewrites the batch byte for byte, and
// a changed field comes back with a CRC that CheckBatch accepts.
func TestPutBatchHeaderRoundTrip(t *testing.T) {
	var e Encoder
	b, err := e.AppendBatch(nil, []Record{
		{Key: []byte("k"), Value: []byte("v1"), Timestamp: time.UnixMilli(1700000000000)},
		{Value: []byte("v2"), Timestamp: time.UnixMilli(1700000000005)},
	}, BatchOptions{Idempotent: true, ProducerID: 7, ProducerEpoch: 1, BaseSequence: 40, LeaderEpoch: NoLeaderEpoch})
	require.NoError(t, err)
	want := append([]byte(nil), b...)

	h, err := CheckBatch(b)
	require.NoError(t, err)
	clear(b[:BatchHeaderSize])
	PutBatchHeader(b, h)
	require.Equal(t, want, b)

	h.MaxTimestamp++
	h.Attributes |= AttrLogAppendTime
	PutBatchHeader(b, h)
	got, err := CheckBatch(b)
	require.NoError(t, err)
	require.Equal(t, h.MaxTimestamp, got.MaxTimestamp)
	require.True(t, got.Attributes.LogAppendTime())
}

package producer

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/samsalog/samsa/record"
	"github.com/stretchr/testify/require"
)

// randomRecord returns a record exercising null and empty keys, values and
// header values, and timestamps before and after the first.
func randomRecord(rng *rand.Rand, base int64) record.Record {
	field := func() []byte {
		switch rng.IntN(4) {
		case 0:
			return nil
		case 1:
			return []byte{}
		default:
			b := make([]byte, rng.IntN(300))
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			return b
		}
	}
	r := record.Record{Key: field(), Value: field(), Timestamp: time.UnixMilli(base + rng.Int64N(200000) - 100000)}
	for range rng.IntN(3) {
		r.Headers = append(r.Headers, record.Header{Key: string(field()), Value: field()})
	}
	return r
}

// TestEncodeMatchesRecordEncoder checks that the batches Produce encodes
// incrementally are byte for byte what record.Encoder writes, and that the
// compressed path rebuilds the same records.
func TestEncodeMatchesRecordEncoder(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for iter := range 200 {
		n := 1 + rng.IntN(50)
		base := int64(1700000000000)
		recs := make([]record.Record, n)
		b := &batch{buf: make([]byte, record.BatchHeaderSize), limit: 1 << 30}
		for i := range recs {
			recs[i] = randomRecord(rng, base)
			ts := recs[i].Timestamp.UnixMilli()
			body, ok := b.fits(ts, measure(&recs[i]))
			require.True(t, ok)
			b.add(&recs[i], func(*record.Record, error) {}, ts, body, true)
		}
		f := batchFields{}
		opts := record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch}
		if iter%2 == 1 {
			f = batchFields{idempotent: true, producerID: rng.Int64N(1 << 40), epoch: int16(rng.IntN(100)), baseSeq: rng.Int32()}
			opts.Idempotent, opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence = true, f.producerID, f.epoch, f.baseSeq
		}
		b.putHeader(f)
		var enc record.Encoder
		want, err := enc.AppendBatch(nil, recs, opts)
		require.NoError(t, err)
		if !bytes.Equal(want, b.buf) {
			for i := 21; i < min(len(want), len(b.buf)); i++ {
				if want[i] != b.buf[i] {
					t.Fatalf("iteration %d: incremental encoding differs at byte %d of %d/%d: want % x got % x", iter, i, len(want), len(b.buf), want[i:min(i+8, len(want))], b.buf[i:min(i+8, len(b.buf))])
				}
			}
			t.Fatalf("iteration %d: lengths %d %d", iter, len(want), len(b.buf))
		}

		got, hdrs, err := b.decodeInto(nil, nil)
		require.NoError(t, err)
		again, err := enc.AppendBatch(nil, got, opts)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, again), "iteration %d: decodeInto differs", iter)
		_ = hdrs
	}
}

func TestUnstamp(t *testing.T) {
	b := &batch{buf: make([]byte, record.BatchHeaderSize), limit: 1 << 20}
	r := record.Record{Value: []byte("v")}
	body, _ := b.fits(5, measure(&r))
	b.add(&r, nil, 5, body, true)
	b.putHeader(batchFields{})
	orig := append([]byte(nil), b.buf...)
	record.SetLogAppendTime(b.buf, 99)
	unstamp(b.buf, b.maxTS)
	require.Equal(t, orig, b.buf)
	_, err := record.CheckBatch(b.buf)
	require.NoError(t, err)
}

func TestNextSequenceWraps(t *testing.T) {
	require.Equal(t, int32(10), nextSequence(5, 5))
	require.Equal(t, int32(0), nextSequence(1<<31-1, 1))
	require.Equal(t, int32(4), nextSequence(1<<31-3, 7))
}

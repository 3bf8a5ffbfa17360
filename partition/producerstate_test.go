package partition

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/record"
)

// idemBatch encodes an idempotent producer's batch of n records whose
// values carry the sequence numbers seq, seq+1, ... (as makeBatch), keyed
// by the producer ID, at timestamp ts.
func idemBatch(t testing.TB, pid int64, epoch int16, seq int32, n int, ts int64) []byte {
	t.Helper()
	var enc record.Encoder
	recs := make([]record.Record, n)
	for i := range recs {
		v := make([]byte, 16)
		binary.BigEndian.PutUint64(v, uint64(seq)+uint64(i))
		recs[i] = record.Record{Key: []byte{byte(pid)}, Value: v, Timestamp: time.UnixMilli(ts)}
	}
	b, err := enc.AppendBatch(nil, recs, record.BatchOptions{
		Idempotent: true, ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq,
		LeaderEpoch: record.NoLeaderEpoch,
	})
	require.NoError(t, err)
	return b
}

// send is one batch of a table case and what Append must answer.
type send struct {
	pid   int64
	epoch int16
	seq   int32
	n     int
	// dupOf is, for a duplicate, the index among the case's sends of the
	// batch whose result comes back; -1 otherwise.
	dupOf int
	// err is the sentinel a rejection must match; nil: not rejected.
	err error
}

func ok(pid int64, epoch int16, seq int32, n int) send {
	return send{pid: pid, epoch: epoch, seq: seq, n: n, dupOf: -1}
}

func dup(of int, pid int64, epoch int16, seq int32, n int) send {
	return send{pid: pid, epoch: epoch, seq: seq, n: n, dupOf: of}
}

func fails(err error, pid int64, epoch int16, seq int32, n int) send {
	return send{pid: pid, epoch: epoch, seq: seq, n: n, dupOf: -1, err: err}
}

// TestIdempotence is kafka-internals §4.3 as a table: each case sends its
// batches in order to a fresh partition; appended batches must get the
// next offsets, duplicates the offsets of the batch they repeat with
// nothing written, and rejected ones their error with nothing written.
func TestIdempotence(t *testing.T) {
	const top = math.MaxInt32
	cases := []struct {
		name  string
		sends []send
	}{
		{"new producer id accepts any sequence", []send{
			ok(1, 0, 12345, 3), ok(1, 0, 12348, 1), ok(2, 7, 99, 2),
		}},
		{"in sequence", []send{
			ok(1, 0, 0, 3), ok(1, 0, 3, 1), ok(1, 0, 4, 5),
		}},
		{"duplicate of each of the last five", []send{
			ok(1, 0, 0, 1), ok(1, 0, 1, 2), ok(1, 0, 3, 3), ok(1, 0, 6, 1), ok(1, 0, 7, 4), ok(1, 0, 11, 2),
			dup(5, 1, 0, 11, 2), dup(4, 1, 0, 7, 4), dup(3, 1, 0, 6, 1), dup(2, 1, 0, 3, 3), dup(1, 1, 0, 1, 2),
			ok(1, 0, 13, 1), // and the producer goes on
		}},
		{"duplicate older than five batches", []send{
			ok(1, 0, 0, 1), ok(1, 0, 1, 1), ok(1, 0, 2, 1), ok(1, 0, 3, 1), ok(1, 0, 4, 1), ok(1, 0, 5, 1),
			fails(ErrOutOfOrderSequence, 1, 0, 0, 1),
			dup(1, 1, 0, 1, 1),
		}},
		{"duplicates across producers", []send{
			ok(1, 0, 0, 2), ok(2, 0, 0, 2), ok(1, 0, 2, 2),
			dup(1, 2, 0, 0, 2), dup(0, 1, 0, 0, 2), dup(2, 1, 0, 2, 2),
		}},
		{"same base sequence, other length", []send{
			ok(1, 0, 0, 3), fails(ErrOutOfOrderSequence, 1, 0, 0, 2), fails(ErrOutOfOrderSequence, 1, 0, 0, 4),
		}},
		{"gap", []send{
			ok(1, 0, 0, 3), fails(ErrOutOfOrderSequence, 1, 0, 4, 1), fails(ErrOutOfOrderSequence, 1, 0, 2, 1),
			ok(1, 0, 3, 1),
		}},
		{"stale epoch", []send{
			ok(1, 2, 0, 1), fails(ErrProducerFenced, 1, 1, 1, 1), fails(ErrProducerFenced, 1, 0, 0, 1),
			ok(1, 2, 1, 1),
		}},
		{"stale epoch retrying a batch of its own epoch", []send{
			ok(1, 0, 0, 1), ok(1, 1, 0, 1), fails(ErrProducerFenced, 1, 0, 0, 1),
		}},
		{"newer epoch must start at 0", []send{
			ok(1, 0, 0, 5), fails(ErrOutOfOrderSequence, 1, 1, 5, 1), fails(ErrOutOfOrderSequence, 1, 1, 1, 1),
			ok(1, 1, 0, 2), ok(1, 1, 2, 1),
		}},
		{"newer epoch clears the window", []send{
			ok(1, 0, 0, 2), ok(1, 1, 0, 2),
			dup(1, 1, 1, 0, 2),                   // the new epoch's batch
			fails(ErrProducerFenced, 1, 0, 0, 2), // the old epoch's is gone
		}},
		{"wrap at MaxInt32", []send{
			ok(1, 0, top-1, 2), ok(1, 0, 0, 3), dup(0, 1, 0, top-1, 2), dup(1, 1, 0, 0, 3),
		}},
		{"batch across the wrap", []send{
			ok(1, 0, top-1, 4), // sequences top-1, top, 0, 1
			fails(ErrOutOfOrderSequence, 1, 0, 0, 1),
			dup(0, 1, 0, top-1, 4),
			ok(1, 0, 2, 1),
		}},
		{"no wrap before MaxInt32", []send{
			ok(1, 0, top-5, 2), fails(ErrOutOfOrderSequence, 1, 0, 0, 1), ok(1, 0, top-3, 1),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := openPartition(t, t.TempDir(), nil)
			results := make([]AppendResult, len(tc.sends))
			next := int64(0)
			for i, s := range tc.sends {
				before := p.Stats().Log.Bytes
				res, err := p.Append(idemBatch(t, s.pid, s.epoch, s.seq, s.n, 1000))
				results[i] = res
				switch {
				case s.err != nil:
					require.ErrorIs(t, err, s.err, "send %d", i)
					require.Equal(t, int64(-1), res.BaseOffset, "send %d", i)
				case s.dupOf >= 0:
					require.NoError(t, err, "send %d", i)
					want := results[s.dupOf]
					want.Duplicate = true
					require.Equal(t, want, res, "send %d", i)
				default:
					require.NoError(t, err, "send %d", i)
					require.Equal(t, AppendResult{BaseOffset: next, LastOffset: next + int64(s.n) - 1, LogAppendTime: -1}, res, "send %d", i)
					next += int64(s.n)
					continue
				}
				require.Equal(t, next, p.LogEndOffset(), "send %d: appended", i)
				require.Equal(t, before, p.Stats().Log.Bytes, "send %d: written", i)
			}
		})
	}
}

func TestIdempotenceOtherBatches(t *testing.T) {
	p := openPartition(t, t.TempDir(), nil)
	// Batches without a producer ID are not checked, and do not disturb
	// the producers' state.
	_, err := p.Append(idemBatch(t, 1, 0, 0, 2, 1000))
	require.NoError(t, err)
	for range 3 {
		_, err = p.Append(makeBatch(t, "k", 0, 2, 16, 1000))
		require.NoError(t, err)
	}
	res, err := p.Append(idemBatch(t, 1, 0, 0, 2, 1000))
	require.NoError(t, err)
	require.True(t, res.Duplicate)
	require.Equal(t, int64(0), res.BaseOffset)
	require.Equal(t, 1, p.Stats().Producers)

	// A producer ID with a negative epoch is invalid.
	b := idemBatch(t, 2, 0, 0, 1, 1000)
	binary.BigEndian.PutUint16(b[51:], 0xffff)
	_, err = p.Append(fixCRC(b))
	require.ErrorIs(t, err, ErrInvalidRecord)

	// Transactional batches are still refused, and leave no state.
	var enc record.Encoder
	b, err = enc.AppendBatch(nil, []record.Record{{Value: []byte("v")}}, record.BatchOptions{
		Idempotent: true, ProducerID: 3, Transactional: true})
	require.NoError(t, err)
	_, err = p.Append(b)
	require.ErrorIs(t, err, ErrInvalidRecord)
	require.Equal(t, 1, p.Stats().Producers)
}

func TestDuplicateLogAppendTime(t *testing.T) {
	clock := time.UnixMilli(1_700_000_000_000)
	p := openPartition(t, t.TempDir(), &Config{LogAppendTime: true, Now: func() time.Time { return clock }})
	first, err := p.Append(idemBatch(t, 1, 0, 0, 2, 1000))
	require.NoError(t, err)
	require.Equal(t, clock.UnixMilli(), first.LogAppendTime)
	clock = clock.Add(time.Minute)
	res, err := p.Append(idemBatch(t, 1, 0, 0, 2, 1000))
	require.NoError(t, err)
	first.Duplicate = true
	require.Equal(t, first, res, "a duplicate reports the original append time")
}

// TestDuplicateUnsynced: a duplicate of a batch not yet synced comes back
// at once, and waiting for its last offset is what makes it durable.
func TestDuplicateUnsynced(t *testing.T) {
	p := openPartition(t, t.TempDir(), nil)
	first, err := p.Append(idemBatch(t, 1, 0, 0, 2, 1000))
	require.NoError(t, err)
	res, err := p.Append(idemBatch(t, 1, 0, 0, 2, 1000))
	require.NoError(t, err)
	require.True(t, res.Duplicate)
	require.Equal(t, first.LastOffset, res.LastOffset)
	require.Zero(t, p.HighWatermark())
	require.NoError(t, p.WaitSynced(t.Context(), res.LastOffset))
	require.Equal(t, int64(2), p.HighWatermark())
}

func TestSequenceArithmetic(t *testing.T) {
	const top = math.MaxInt32
	for _, c := range []struct{ seq, d, inc int32 }{
		{0, 0, 0}, {0, 5, 5}, {top - 1, 1, top}, {top, 1, 0}, {top - 1, 3, 1}, {top, top, top - 1}, {5, top, 4},
	} {
		require.Equal(t, c.inc, incrementSequence(c.seq, c.d), "%d + %d", c.seq, c.d)
		require.Equal(t, c.seq, decrementSequence(c.inc, c.d), "%d - %d", c.inc, c.d)
	}
	require.True(t, inSequence(4, 5))
	require.True(t, inSequence(top, 0))
	require.False(t, inSequence(top-1, 0))
	require.False(t, inSequence(4, 4))
	require.False(t, inSequence(4, 6))
}

func TestIdempotentAppendAllocs(t *testing.T) {
	p := openPartition(t, t.TempDir(), nil)
	b := idemBatch(t, 1, 0, 0, 10, 1000)
	_, err := p.Append(slices.Clone(b)) // warm up: mappings, index, the producer's entry
	require.NoError(t, err)
	seq := int32(10)
	allocs := testing.AllocsPerRun(500, func() {
		binary.BigEndian.PutUint32(b[53:], uint32(seq))
		fixCRC(b)
		seq += 10
		if _, err := p.Append(b); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
	// A duplicate allocates nothing either.
	allocs = testing.AllocsPerRun(100, func() {
		if res, err := p.Append(b); err != nil || !res.Duplicate {
			t.Fatal(res, err)
		}
	})
	require.Zero(t, allocs)
}

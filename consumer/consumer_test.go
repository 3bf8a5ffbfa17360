package consumer

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/record"
)

func TestAssignPollEarliestInOrder(t *testing.T) {
	b := openBroker(t, "t", 2)
	produce(t, b, "t", 0, 1000, 100)
	produce(t, b, "t", 1, 700, 33)
	c, err := New(b, &Config{AutoOffsetReset: OffsetResetEarliest, MaxPollRecords: 128})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Assign([]TopicPartition{tp("t", 0), tp("t", 1)}))
	recs := pollN(t, c, 1700, 10*time.Second)
	require.Len(t, recs, 1700)
	next := map[int32]int64{}
	for _, r := range recs {
		require.Equal(t, next[r.Partition], r.Offset, "partition %d", r.Partition)
		require.Equal(t, fmt.Sprintf("p%d-%d", r.Partition, r.Offset), string(r.Value))
		next[r.Partition]++
	}
	pos, err := c.Position(tp("t", 0))
	require.NoError(t, err)
	require.EqualValues(t, 1000, pos)
}

func TestMaxPollRecordsAndFairness(t *testing.T) {
	b := openBroker(t, "t", 2)
	produce(t, b, "t", 0, 1000, 1000)
	produce(t, b, "t", 1, 1000, 1000)
	c, err := New(b, &Config{AutoOffsetReset: OffsetResetEarliest, MaxPollRecords: 10})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Assign([]TopicPartition{tp("t", 0), tp("t", 1)}))
	seen := map[int32]int{}
	for range 4 {
		recs, err := c.Poll(context.Background())
		require.NoError(t, err)
		require.Len(t, recs, 10)
		for _, r := range recs {
			seen[r.Partition]++
		}
	}
	require.Positive(t, seen[0])
	require.Positive(t, seen[1])
}

func TestRecordsStayValidAfterNextPoll(t *testing.T) {
	b := openBroker(t, "t", 1)
	produce(t, b, "t", 0, 50, 50)
	c, err := New(b, &Config{AutoOffsetReset: OffsetResetEarliest, MaxPollRecords: 5})
	require.NoError(t, err)
	require.NoError(t, c.Assign([]TopicPartition{tp("t", 0)}))
	first, err := c.Poll(context.Background())
	require.NoError(t, err)
	pollN(t, c, 45, 5*time.Second)
	require.NoError(t, c.Close())
	for i, r := range first {
		require.Equal(t, fmt.Sprintf("p0-%d", i), string(r.Value))
	}
}

func TestLatestWaitsForNewRecords(t *testing.T) {
	b := openBroker(t, "t", 3)
	produce(t, b, "t", 1, 10, 10)
	// latest; a MaxWait far above the deadline below: Poll must be woken
	// by the new records, not by the end of a wait round.
	c, err := New(b, &Config{Fetch: FetchConfig{MaxWait: time.Minute}})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Assign([]TopicPartition{tp("t", 0), tp("t", 1), tp("t", 2)}))
	got := make(chan []*record.Record, 1)
	go func() {
		recs, err := c.Poll(context.Background())
		if err != nil {
			got <- nil
			return
		}
		got <- recs
	}()
	time.Sleep(20 * time.Millisecond) // let Poll start waiting (only its start matters)
	produce(t, b, "t", 2, 3, 3)
	select {
	case recs := <-got:
		require.Len(t, recs, 3)
		require.EqualValues(t, 2, recs[0].Partition)
	case <-time.After(5 * time.Second):
		t.Fatal("Poll did not wake")
	}
}

func TestSeekMidBatchAndSeekToEnd(t *testing.T) {
	b := openBroker(t, "t", 1)
	produce(t, b, "t", 0, 300, 100)
	c, err := New(b, &Config{AutoOffsetReset: OffsetResetEarliest})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Assign([]TopicPartition{tp("t", 0)}))
	require.NoError(t, c.Seek(tp("t", 0), 150))
	recs := pollN(t, c, 150, 5*time.Second)
	require.EqualValues(t, 150, recs[0].Offset)
	require.EqualValues(t, 299, recs[len(recs)-1].Offset)

	require.NoError(t, c.SeekToBeginning())
	recs = pollN(t, c, 1, 5*time.Second)
	require.EqualValues(t, 0, recs[0].Offset)
	require.NoError(t, c.SeekToEnd(tp("t", 0)))
	pos, err := c.Position(tp("t", 0))
	require.NoError(t, err)
	require.EqualValues(t, 300, pos)
	require.ErrorIs(t, c.Seek(tp("t", 9), 0), ErrNotAssigned)
}

func TestPauseResume(t *testing.T) {
	b := openBroker(t, "t", 2)
	produce(t, b, "t", 0, 10, 10)
	produce(t, b, "t", 1, 10, 10)
	c, err := New(b, &Config{AutoOffsetReset: OffsetResetEarliest})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Assign([]TopicPartition{tp("t", 0), tp("t", 1)}))
	require.NoError(t, c.Pause(tp("t", 0)))
	require.Equal(t, []TopicPartition{tp("t", 0)}, c.Paused())
	recs := pollN(t, c, 10, 5*time.Second)
	for _, r := range recs {
		require.EqualValues(t, 1, r.Partition)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err = c.Poll(ctx)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, c.Resume(tp("t", 0)))
	recs = pollN(t, c, 10, 5*time.Second)
	require.EqualValues(t, 0, recs[0].Partition)
}

func TestOffsetOutOfRangeReset(t *testing.T) {
	b := openBroker(t, "t", 1)
	produce(t, b, "t", 0, 100, 10)
	part, err := b.Partition("t", 0)
	require.NoError(t, err)

	c, err := New(b, &Config{AutoOffsetReset: OffsetResetEarliest})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Assign([]TopicPartition{tp("t", 0)}))
	require.NoError(t, c.Seek(tp("t", 0), 5))
	_, err = part.DeleteRecordsBefore(50)
	require.NoError(t, err)
	recs := pollN(t, c, 1, 5*time.Second)
	require.GreaterOrEqual(t, recs[0].Offset, int64(50))

	none, err := New(b, &Config{AutoOffsetReset: OffsetResetNone})
	require.NoError(t, err)
	defer none.Close()
	require.NoError(t, none.Assign([]TopicPartition{tp("t", 0)}))
	_, err = none.Poll(context.Background())
	require.ErrorIs(t, err, ErrNoOffset)
	require.NoError(t, none.Seek(tp("t", 0), 3))
	_, err = none.Poll(context.Background())
	require.ErrorIs(t, err, ErrOffsetOutOfRange)
	require.NoError(t, none.Seek(tp("t", 0), 60))
	recs = pollN(t, none, 1, 5*time.Second)
	require.EqualValues(t, 60, recs[0].Offset)
}

func TestOffsetsForTimes(t *testing.T) {
	b := openBroker(t, "t", 1)
	part, err := b.Partition("t", 0)
	require.NoError(t, err)
	base := time.UnixMilli(1_700_000_000_000)
	var enc record.Encoder
	for i := range 10 {
		buf, err := enc.AppendBatch(nil, []record.Record{{Value: []byte{byte(i)}, Timestamp: base.Add(time.Duration(i) * time.Second)}}, record.BatchOptions{})
		require.NoError(t, err)
		_, err = part.Append(buf)
		require.NoError(t, err)
	}
	require.NoError(t, part.Sync(context.Background()))
	c, err := New(b, nil)
	require.NoError(t, err)
	defer c.Close()
	got, err := c.OffsetsForTimes(map[TopicPartition]time.Time{tp("t", 0): base.Add(3500 * time.Millisecond)})
	require.NoError(t, err)
	require.EqualValues(t, 4, got[tp("t", 0)])
	got, err = c.OffsetsForTimes(map[TopicPartition]time.Time{tp("t", 0): base.Add(time.Hour)})
	require.NoError(t, err)
	require.EqualValues(t, NoOffset, got[tp("t", 0)])
}

func TestIteratorBreakRewinds(t *testing.T) {
	b := openBroker(t, "t", 1)
	produce(t, b, "t", 0, 100, 100)
	c, err := New(b, &Config{AutoOffsetReset: OffsetResetEarliest})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Assign([]TopicPartition{tp("t", 0)}))
	n := 0
	for rec, err := range c.Records(context.Background()) {
		require.NoError(t, err)
		require.EqualValues(t, n, rec.Offset)
		n++
		if n == 7 {
			break
		}
	}
	pos, err := c.Position(tp("t", 0))
	require.NoError(t, err)
	require.EqualValues(t, 7, pos)
	for rec, err := range c.Records(context.Background()) {
		require.NoError(t, err)
		require.EqualValues(t, 7, rec.Offset)
		break
	}
}

func TestCloseWakesPoll(t *testing.T) {
	b := openBroker(t, "t", 1)
	c, err := New(b, nil)
	require.NoError(t, err)
	require.NoError(t, c.Assign([]TopicPartition{tp("t", 0)}))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Poll(context.Background())
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, c.Close())
	select {
	case err := <-errc:
		require.ErrorIs(t, err, ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Poll not woken by Close")
	}
	_, err = c.Poll(context.Background())
	require.ErrorIs(t, err, ErrClosed)
	require.NoError(t, c.Close())
}

func TestConfigValidate(t *testing.T) {
	for name, cfg := range map[string]Config{
		"negative max poll": {MaxPollRecords: -1},
		"bad reset":         {AutoOffsetReset: "sometimes"},
		"topics no group":   {Topics: []string{"x"}},
		"heartbeat>session": {HeartbeatInterval: time.Minute, SessionTimeout: time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			err := cfg.Validate()
			require.ErrorIs(t, err, ErrInvalidConfig)
		})
	}
	require.NoError(t, (*Config)(nil).Validate())
	_, err := New(nil, nil)
	require.True(t, errors.Is(err, ErrInvalidConfig))
}

func TestFetchMinBytesCollects(t *testing.T) {
	b := openBroker(t, "t", 1)
	c, err := New(b, &Config{AutoOffsetReset: OffsetResetEarliest, Fetch: FetchConfig{MinBytes: 1 << 20, MaxWait: 100 * time.Millisecond}})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Assign([]TopicPartition{tp("t", 0)}))
	produce(t, b, "t", 0, 5, 5)
	start := time.Now()
	recs := pollN(t, c, 5, 5*time.Second)
	require.Len(t, recs, 5)
	require.GreaterOrEqual(t, time.Since(start), 90*time.Millisecond, "MinBytes not reached: waits MaxWait")
}

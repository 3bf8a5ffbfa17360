package producer

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsalog/samsa/record"
	"github.com/stretchr/testify/require"
)

type countingInterceptor struct {
	sends, acks, errs atomic.Int64
	panicOnSend       bool
}

func (c *countingInterceptor) OnSend(r *record.Record) {
	c.sends.Add(1)
	r.Headers = append(r.Headers, record.Header{Key: "traced", Value: []byte("yes")})
	if c.panicOnSend {
		panic("interceptor bug")
	}
}

func (c *countingInterceptor) OnAcknowledgement(r *record.Record, err error) {
	if err != nil {
		c.errs.Add(1)
		return
	}
	c.acks.Add(1)
}

func TestInterceptors(t *testing.T) {
	b := openBroker(t, nil)
	good, bad := &countingInterceptor{}, &countingInterceptor{panicOnSend: true}
	p := newTestProducer(t, b, &Config{Interceptors: []Interceptor{good, bad}, MaxMessageBytes: 500}, nil)
	res := p.ProduceSync(context.Background(),
		&record.Record{Topic: "t", Value: []byte("a")},
		&record.Record{Topic: "t", Value: []byte("b")},
		&record.Record{Topic: "t", Value: make([]byte, 600)}, // too large
	)
	require.NoError(t, res[0].Err)
	require.ErrorIs(t, res[2].Err, ErrRecordTooLarge)
	for _, ic := range []*countingInterceptor{good, bad} {
		require.EqualValues(t, 3, ic.sends.Load())
		require.EqualValues(t, 2, ic.acks.Load())
		require.EqualValues(t, 1, ic.errs.Load())
	}
	require.EqualValues(t, 3, p.Stats().InterceptorPanics)
	got := readPartition(t, b, "t", 0)
	require.Len(t, got, 2)
	require.Len(t, got[0].rec.Headers, 2, "both interceptors' headers were sent")
	require.Equal(t, "traced", got[0].rec.Headers[0].Key)
}

type order struct {
	ID    int    `json:"id"`
	Item  string `json:"item"`
	Price int    `json:"price"`
}

func TestTypedProducer(t *testing.T) {
	b := openBroker(t, nil)
	p := newTestProducer(t, b, nil, nil)
	tp := NewTyped[string, order](p, StringSerializer{}, JSONSerializer[order]{})
	require.Same(t, p, tp.Producer())
	r, err := tp.ProduceSync(context.Background(), "orders", "alice", order{ID: 1, Item: "book", Price: 12})
	require.NoError(t, err)
	require.EqualValues(t, 0, r.Offset)
	done := make(chan error, 1)
	tp.Produce(context.Background(), "orders", "bob", order{ID: 2}, func(_ *record.Record, err error) { done <- err })
	require.NoError(t, <-done)

	failing := NewTyped[string, []byte](p, SerializerFunc[string](func(string, string) ([]byte, error) {
		return nil, errors.New("no")
	}), BytesSerializer{})
	tp2 := failing
	tp2.Produce(context.Background(), "orders", "x", nil, func(_ *record.Record, err error) { done <- err })
	require.ErrorContains(t, <-done, "serialize key")
	_, err = tp2.ProduceSync(context.Background(), "orders", "x", nil)
	require.Error(t, err)

	got := readPartition(t, b, "orders", 0)
	require.Len(t, got, 2)
	require.Equal(t, "alice", string(got[0].rec.Key))
	require.JSONEq(t, `{"id":1,"item":"book","price":12}`, string(got[0].rec.Value))
}

func TestCloseContextFailsUndelivered(t *testing.T) {
	b := openBroker(t, nil)
	createTopic(t, b, "t", 2)
	hook, entered, release := blockingHook()
	p, err := newProducer(b, &Config{Acks: AcksAll, Flush: FlushConfig{Bytes: 512}, Partitioner: NewRoundRobinPartitioner}, hook)
	require.NoError(t, err)
	rs := newResults(t)
	for i := range 200 {
		p.Produce(context.Background(), &record.Record{Topic: "t", Value: value(i)}, rs.cb())
	}
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- p.CloseContext(ctx) }()
	time.Sleep(40 * time.Millisecond)
	close(release) // the appends stuck in the hook finish; the rest fail
	require.ErrorIs(t, <-closed, context.DeadlineExceeded)
	rs.wait(t)
	require.Equal(t, 200, rs.count())
	var failed int
	for _, err := range rs.got {
		if err != nil {
			require.ErrorIs(t, err, ErrClosed)
			failed++
		}
	}
	require.Positive(t, failed)
	require.NoError(t, p.Close())
}

func TestNewPartitionsAreUsed(t *testing.T) {
	b := openBroker(t, nil)
	createTopic(t, b, "t", 1)
	p := newTestProducer(t, b, &Config{Partitioner: NewRoundRobinPartitioner, DeliveryTimeout: 40 * time.Millisecond,
		Linger: time.Millisecond}, nil)
	require.NoError(t, p.ProduceSync(context.Background(), &record.Record{Topic: "t", Value: []byte("v")}).FirstErr())
	require.NoError(t, b.CreatePartitions("t", 3))
	require.Eventually(t, func() bool {
		r := &record.Record{Topic: "t", Value: []byte("v")}
		require.NoError(t, p.ProduceSync(context.Background(), r).FirstErr())
		return r.Partition == 2
	}, 10*time.Second, time.Millisecond)
}

func TestStickyPartitionerMovesOnNewBatch(t *testing.T) {
	b := openBroker(t, nil)
	createTopic(t, b, "t", 4)
	p := newTestProducer(t, b, &Config{Partitioner: NewStickyPartitioner, Flush: FlushConfig{Bytes: 1024}, Acks: AcksLeader}, nil)
	var recs []*record.Record
	for i := range 200 {
		recs = append(recs, &record.Record{Topic: "t", Value: value(i)})
	}
	require.NoError(t, p.ProduceSync(context.Background(), recs...).FirstErr())
	used := map[int32]int{}
	for _, r := range recs {
		used[r.Partition]++
	}
	require.Greater(t, len(used), 1, "new batches moved the sticky partition")
}

func TestConcurrentProducersManyTopics(t *testing.T) {
	b := openBroker(t, nil)
	p := newTestProducer(t, b, &Config{Linger: -1}, nil)
	rs := newResults(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			topic := []string{"a", "b", "c"}[g%3]
			for i := range 500 {
				p.Produce(context.Background(), &record.Record{Topic: topic, Key: []byte{byte(i)}, Value: value(i)}, rs.cb())
			}
		})
	}
	wg.Wait()
	require.NoError(t, p.Flush(context.Background()))
	rs.wait(t)
	for _, err := range rs.got {
		require.NoError(t, err)
	}
	require.EqualValues(t, 4000, p.Stats().Records)
}

// TestProduceZeroAllocs checks that Produce allocates nothing per record
// once the producer is warm: the batch buffers come from the free list.
func TestProduceZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	b := openBroker(t, nil)
	createTopic(t, b, "t", 4)
	for _, acks := range []Acks{AcksNone, AcksLeader, AcksAll} {
		p := newTestProducer(t, b, &Config{Acks: acks, Flush: FlushConfig{Bytes: 1 << 16}, Linger: time.Hour,
			DeliveryTimeout: 2 * time.Hour, Partitioner: NewRoundRobinPartitioner}, nil)
		recs := make([]record.Record, 1000)
		for i := range recs {
			recs[i] = record.Record{Topic: "t", Key: []byte("key"), Value: make([]byte, 100), Headers: []record.Header{{Key: "h", Value: []byte("v")}}}
		}
		fn := func(*record.Record, error) {}
		ctx := context.Background()
		i := 0
		produce := func() {
			p.Produce(ctx, &recs[i%len(recs)], fn)
			i++
		}
		// Warm up: batches grown and back on the free list.
		for range 3000 {
			produce()
		}
		require.NoError(t, p.Flush(ctx))
		i = 0
		allocs := testing.AllocsPerRun(len(recs)-1, produce)
		require.Zero(t, allocs, "acks=%s: allocations per Produce", acks)
		require.NoError(t, p.Flush(ctx))
	}
}

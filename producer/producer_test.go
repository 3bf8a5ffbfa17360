package producer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/samsalog/samsa"
	part "github.com/samsalog/samsa/partition"
	"github.com/samsalog/samsa/record"
	"github.com/stretchr/testify/require"
)

func TestProduceDelivers(t *testing.T) {
	for _, acks := range []Acks{AcksNone, AcksLeader, AcksAll} {
		t.Run("acks="+acks.String(), func(t *testing.T) {
			b := openBroker(t, nil)
			createTopic(t, b, "orders", 3)
			p := newTestProducer(t, b, &Config{Acks: acks, Partitioner: NewRoundRobinPartitioner}, nil)
			rs := newResults(t)
			recs := make([]*record.Record, 300)
			for i := range recs {
				recs[i] = &record.Record{Topic: "orders", Key: []byte("k"), Value: value(i)}
				p.Produce(context.Background(), recs[i], rs.cb())
			}
			require.NoError(t, p.Flush(context.Background()))
			rs.wait(t)
			for i, r := range recs {
				require.NoError(t, rs.errOf(r))
				require.Equal(t, int32(i%3), r.Partition)
				if acks == AcksNone {
					require.Equal(t, int64(-1), r.Offset)
				} else {
					require.Equal(t, int64(i/3), r.Offset)
				}
			}
			for pid := range int32(3) {
				got := readPartition(t, b, "orders", pid)
				require.Len(t, got, 100)
				for j, f := range got {
					require.Equal(t, int(pid)+3*j, valueIndex(f.rec.Value))
					require.Equal(t, "k", string(f.rec.Key))
					require.GreaterOrEqual(t, f.h.ProducerID, int64(0), "idempotent by default")
				}
			}
			st := p.Stats()
			require.EqualValues(t, 300, st.Records)
			require.Zero(t, st.Errors)
		})
	}
}

func TestCallbackExactlyOnceUnderConcurrentClose(t *testing.T) {
	for _, acks := range []Acks{AcksNone, AcksLeader, AcksAll} {
		t.Run("acks="+acks.String(), func(t *testing.T) {
			b := openBroker(t, nil)
			createTopic(t, b, "t", 4)
			p, err := New(b, &Config{Acks: acks, Flush: FlushConfig{Bytes: 2048}})
			require.NoError(t, err)
			rs := newResults(t)
			var produced atomic.Int64
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 2000 {
						p.Produce(context.Background(), &record.Record{Topic: "t", Key: []byte{byte(g)}, Value: value(i)}, rs.cb())
						produced.Add(1)
					}
				})
			}
			time.Sleep(5 * time.Millisecond)
			require.NoError(t, p.Close())
			wg.Wait()
			rs.wait(t)
			require.EqualValues(t, produced.Load(), rs.count())
			var ok, closed int
			rs.mu.Lock()
			for _, err := range rs.got {
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ErrClosed):
					closed++
				default:
					t.Errorf("unexpected error %v", err)
				}
			}
			rs.mu.Unlock()
			require.Equal(t, int(produced.Load()), ok+closed)
			// Everything acknowledged is in the log.
			var inLog int
			for pid := range int32(4) {
				inLog += len(readPartition(t, b, "t", pid))
			}
			require.Equal(t, ok, inLog)
			require.NoError(t, p.Close(), "second Close")
		})
	}
}

func TestProduceAfterClose(t *testing.T) {
	b := openBroker(t, nil)
	p := newTestProducer(t, b, nil, nil)
	require.NoError(t, p.Close())
	var got error
	calls := 0
	p.Produce(context.Background(), &record.Record{Topic: "t", Value: []byte("v")}, func(_ *record.Record, err error) {
		calls++
		got = err
	})
	require.Equal(t, 1, calls, "callback runs before Produce returns")
	require.ErrorIs(t, got, ErrClosed)
	res := p.ProduceSync(context.Background(), &record.Record{Topic: "t"})
	require.ErrorIs(t, res.FirstErr(), ErrClosed)
}

func TestProduceNilCallbackPanics(t *testing.T) {
	b := openBroker(t, nil)
	p := newTestProducer(t, b, nil, nil)
	require.Panics(t, func() { p.Produce(context.Background(), &record.Record{Topic: "t"}, nil) })
}

func TestFlushWaitsForEverything(t *testing.T) {
	b := openBroker(t, nil)
	createTopic(t, b, "t", 2)
	// A linger far longer than the test: only Flush sends.
	p := newTestProducer(t, b, &Config{Linger: time.Hour, DeliveryTimeout: 2 * time.Hour}, nil)
	rs := newResults(t)
	for i := range 50 {
		p.Produce(context.Background(), &record.Record{Topic: "t", Value: value(i)}, rs.cb())
	}
	require.Zero(t, rs.count(), "nothing sent before linger or Flush")
	require.NoError(t, p.Flush(context.Background()))
	require.Equal(t, 50, rs.count(), "Flush returns after every callback")

	// An empty Flush returns at once; a cancelled one returns its error.
	require.NoError(t, p.Flush(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p.Produce(context.Background(), &record.Record{Topic: "t", Value: value(0)}, rs.cb())
	if err := p.Flush(ctx); err != nil {
		require.ErrorIs(t, err, context.Canceled)
	}
	require.NoError(t, p.Flush(context.Background()))
	require.Equal(t, 51, rs.count())
}

func TestLingerSendsBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := samsa.Open(t.TempDir(), nil)
		require.NoError(t, err)
		defer b.Close()
		require.NoError(t, b.CreateTopic("t", nil))
		p, err := New(b, &Config{Acks: AcksLeader, Linger: 50 * time.Millisecond})
		require.NoError(t, err)
		defer p.Close()
		start := time.Now()
		var done atomic.Int64
		p.Produce(context.Background(), &record.Record{Topic: "t", Value: []byte("v")}, func(_ *record.Record, err error) {
			require.NoError(t, err)
			done.Store(int64(time.Since(start)))
		})
		time.Sleep(49 * time.Millisecond)
		synctest.Wait()
		require.Zero(t, done.Load(), "sent before linger passed")
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		require.NotZero(t, done.Load(), "not sent after linger")
		require.GreaterOrEqual(t, time.Duration(done.Load()), 50*time.Millisecond)
	})
}

func TestBatchSizeClosesBatches(t *testing.T) {
	b := openBroker(t, nil)
	createTopic(t, b, "t", 1)
	const size = 1024
	p := newTestProducer(t, b, &Config{Acks: AcksLeader, Flush: FlushConfig{Bytes: size}, Linger: time.Hour, DeliveryTimeout: 2 * time.Hour}, nil)
	rs := newResults(t)
	for i := range 100 {
		p.Produce(context.Background(), &record.Record{Topic: "t", Value: value(i)}, rs.cb())
	}
	// Full batches go without waiting for the hour of linger.
	require.Eventually(t, func() bool { return rs.count() >= 90 }, 10*time.Second, time.Millisecond)
	require.NoError(t, p.Flush(context.Background()))
	got := readPartition(t, b, "t", 0)
	require.Len(t, got, 100)
	batches := map[int64]record.BatchHeader{}
	for _, f := range got {
		batches[f.h.BaseOffset] = f.h
	}
	for _, h := range batches {
		require.LessOrEqual(t, h.Size(), size)
	}
	require.Greater(t, len(batches), 10)
	require.EqualValues(t, len(batches), p.Stats().Batches)
}

// blockingHook returns an append hook that blocks every append until
// release is closed, and the channel it reports appends on.
func blockingHook() (hook func(*part.Partition, []byte) (part.AppendResult, error), entered chan struct{}, release chan struct{}) {
	entered, release = make(chan struct{}, 1000), make(chan struct{})
	return func(pt *part.Partition, batch []byte) (part.AppendResult, error) {
		entered <- struct{}{}
		<-release
		return pt.Append(batch)
	}, entered, release
}

func TestBufferMemoryBlocks(t *testing.T) {
	b := openBroker(t, nil)
	createTopic(t, b, "t", 1)
	hook, entered, release := blockingHook()
	p := newTestProducer(t, b, &Config{Acks: AcksLeader, Flush: FlushConfig{Bytes: 1024}, BufferMemory: 4096,
		MaxBlock: 50 * time.Millisecond}, hook)
	// Senders only: a caller-runs append stuck in the hook would block the
	// producing goroutine itself (caller-runs is tested on its own).
	p.callerRuns = false
	rs := newResults(t)
	// Four 1 KiB batches fill the buffer; the first is stuck in the append.
	for i := 0; p.Stats().BufferedBytes < 4096; i++ {
		p.Produce(context.Background(), &record.Record{Topic: "t", Value: value(i)}, rs.cb())
	}
	<-entered
	// Produce blocks: MaxBlock passes...
	var err error
	p.Produce(context.Background(), &record.Record{Topic: "t", Value: make([]byte, 900)}, func(_ *record.Record, e error) { err = e })
	require.ErrorIs(t, err, ErrBufferFull)
	// ...or ctx ends first.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	p.Produce(ctx, &record.Record{Topic: "t", Value: make([]byte, 900)}, func(_ *record.Record, e error) { err = e })
	require.ErrorIs(t, err, context.DeadlineExceeded)
	// Space frees: a blocked Produce goes on.
	done := make(chan error, 1)
	go p.Produce(context.Background(), &record.Record{Topic: "t", Value: make([]byte, 900)}, func(_ *record.Record, e error) { done <- e })
	time.Sleep(5 * time.Millisecond)
	close(release)
	require.NoError(t, p.Flush(context.Background()))
	require.NoError(t, <-done)
	rs.wait(t)
	require.Positive(t, p.Stats().BufferWaits)
	// A sender releases a batch's memory after running its callbacks, so
	// the last release may trail the last callback by a moment.
	require.Eventually(t, func() bool { return p.Stats().BufferedBytes == 0 },
		5*time.Second, time.Millisecond, "buffer memory not released: %d bytes", p.Stats().BufferedBytes)
}

func TestRecordTooLarge(t *testing.T) {
	b := openBroker(t, nil)
	p := newTestProducer(t, b, &Config{MaxMessageBytes: 1000}, nil)
	var err error
	calls := 0
	p.Produce(context.Background(), &record.Record{Topic: "t", Value: make([]byte, 1000)}, func(r *record.Record, e error) {
		calls++
		err = e
	})
	require.Equal(t, 1, calls)
	require.ErrorIs(t, err, ErrRecordTooLarge)
	require.ErrorIs(t, err, samsa.ErrRecordTooLarge)
	// Just under the limit goes through, in a batch of its own.
	res := p.ProduceSync(context.Background(), &record.Record{Topic: "t", Value: make([]byte, 1000-61-record.MaxRecordOverhead-4)})
	require.NoError(t, res.FirstErr())
	// A record larger than batch.size but within max.request.size is fine.
	res = p.ProduceSync(context.Background(), &record.Record{Topic: "t", Value: make([]byte, 900)}, &record.Record{Topic: "t", Value: []byte("small")})
	require.NoError(t, res.FirstErr())
}

func TestTopicMaxMessageBytesRefusesBatch(t *testing.T) {
	b := openBroker(t, nil)
	require.NoError(t, b.CreateTopic("small", &samsa.TopicConfig{MaxMessageBytes: 500}))
	p := newTestProducer(t, b, nil, nil)
	res := p.ProduceSync(context.Background(), &record.Record{Topic: "small", Value: make([]byte, 600)})
	require.ErrorIs(t, res.FirstErr(), ErrRecordTooLarge)
}

func TestDeliveryTimeout(t *testing.T) {
	b := openBroker(t, nil)
	createTopic(t, b, "t", 1)
	hook, entered, release := blockingHook()
	p := newTestProducer(t, b, &Config{Acks: AcksLeader, Linger: time.Millisecond, DeliveryTimeout: 50 * time.Millisecond}, hook)
	rs := newResults(t)
	first := &record.Record{Topic: "t", Value: value(0)}
	p.Produce(context.Background(), first, rs.cb())
	<-entered // the first batch is stuck in its append
	stuck := make([]*record.Record, 10)
	for i := range stuck {
		stuck[i] = &record.Record{Topic: "t", Value: value(i + 1)}
		p.Produce(context.Background(), stuck[i], rs.cb())
	}
	// The queued records fail once the delivery timeout passes, while the
	// append is still stuck.
	require.Eventually(t, func() bool { return rs.count() == len(stuck) }, 10*time.Second, time.Millisecond)
	for _, r := range stuck {
		require.ErrorIs(t, rs.errOf(r), ErrDeliveryTimeout)
		require.Equal(t, int64(-1), r.Offset)
	}
	close(release)
	rs.wait(t)
	require.NoError(t, rs.errOf(first), "a batch being appended is not interrupted")
	// The next records carry on, sequences without a gap.
	res := p.ProduceSync(context.Background(), &record.Record{Topic: "t", Value: value(99)})
	require.NoError(t, res.FirstErr())
	require.Equal(t, int64(1), res[0].Record.Offset)
}

func TestAcksDurability(t *testing.T) {
	for _, acks := range []Acks{AcksNone, AcksLeader, AcksAll} {
		t.Run("acks="+acks.String(), func(t *testing.T) {
			// A broker whose flusher never runs: only acks=all syncs.
			b := openBroker(t, &samsa.Config{FlushInterval: time.Hour})
			createTopic(t, b, "t", 1)
			pt, err := b.Partition("t", 0)
			require.NoError(t, err)
			p := newTestProducer(t, b, &Config{Acks: acks}, nil)
			var mu sync.Mutex
			var checks []string
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Add(1)
				p.Produce(context.Background(), &record.Record{Topic: "t", Value: value(i)}, func(r *record.Record, err error) {
					defer wg.Done()
					require.NoError(t, err)
					mu.Lock()
					defer mu.Unlock()
					switch acks {
					case AcksNone:
						if r.Offset != -1 {
							checks = append(checks, "acks=0 reported an offset")
						}
					case AcksLeader:
						if pt.LogEndOffset() <= r.Offset {
							checks = append(checks, "acks=1 acknowledged before the append")
						}
					case AcksAll:
						if pt.HighWatermark() <= r.Offset || pt.Stats().Log.SyncedOffset <= r.Offset {
							checks = append(checks, "acks=all acknowledged before the sync")
						}
					}
				})
			}
			wg.Wait()
			require.Empty(t, checks)
			require.NoError(t, p.Flush(context.Background()))
			require.EqualValues(t, 20, pt.LogEndOffset(), "appended once flushed")
		})
	}
}

func TestAcksNoneReportsLaterErrors(t *testing.T) {
	b := openBroker(t, nil)
	createTopic(t, b, "t", 1)
	boom := errors.New("disk on fire")
	p := newTestProducer(t, b, &Config{Acks: AcksNone}, func(*part.Partition, []byte) (part.AppendResult, error) {
		return part.AppendResult{}, boom
	})
	var cbErr error
	p.Produce(context.Background(), &record.Record{Topic: "t", Value: []byte("v")}, func(_ *record.Record, err error) { cbErr = err })
	require.NoError(t, cbErr, "acks=0: the callback runs on acceptance")
	err := p.Flush(context.Background())
	require.ErrorIs(t, err, boom, "Flush reports what failed after the callback")
	require.NoError(t, p.Flush(context.Background()), "reported once")
	require.EqualValues(t, 1, p.Stats().Errors)
}

func TestCompressionRoundTrip(t *testing.T) {
	for _, c := range []record.Compression{record.CompressionNone, record.CompressionGzip, record.CompressionSnappy,
		record.CompressionLZ4, record.CompressionZstd} {
		for _, level := range []int{0, 1} {
			if level == 1 && (c == record.CompressionNone || c == record.CompressionSnappy) {
				continue
			}
			t.Run(fmt.Sprintf("%s/level=%d", c, level), func(t *testing.T) {
				b := openBroker(t, nil)
				createTopic(t, b, "t", 1)
				p := newTestProducer(t, b, &Config{Compression: c, CompressionLevel: level}, nil)
				recs := make([]*record.Record, 300)
				for i := range recs {
					recs[i] = &record.Record{Topic: "t", Key: fmt.Appendf(nil, "key-%d", i%7), Value: value(i),
						Headers: []record.Header{{Key: "h", Value: []byte("x")}, {Key: "null"}}}
				}
				require.NoError(t, p.ProduceSync(context.Background(), recs...).FirstErr())
				got := readPartition(t, b, "t", 0)
				require.Len(t, got, len(recs))
				for i, f := range got {
					require.Equal(t, c, f.h.Attributes.Compression())
					require.Equal(t, int64(i), f.rec.Offset)
					require.Equal(t, recs[i].Key, f.rec.Key)
					require.Equal(t, recs[i].Value, f.rec.Value)
					require.Equal(t, recs[i].Timestamp.UnixMilli(), f.rec.Timestamp.UnixMilli())
					require.Len(t, f.rec.Headers, 2)
					require.Equal(t, "x", string(f.rec.Headers[0].Value))
					require.Nil(t, f.rec.Headers[1].Value)
				}
			})
		}
	}
}

func TestInvalidConfig(t *testing.T) {
	b := openBroker(t, nil)
	for name, cfg := range map[string]*Config{
		"acks":        {Acks: 7},
		"batch":       {Flush: FlushConfig{Bytes: -1}},
		"buffer":      {BufferMemory: -1},
		"maxblock":    {MaxBlock: -1},
		"maxmsg":      {MaxMessageBytes: 10},
		"delivery":    {DeliveryTimeout: time.Millisecond, Linger: time.Second},
		"codec":       {Compression: 9},
		"level":       {Compression: record.CompressionGzip, CompressionLevel: 42},
		"interceptor": {Interceptors: []Interceptor{nil}},
	} {
		_, err := New(b, cfg)
		require.ErrorIs(t, err, ErrInvalidConfig, name)
	}
	require.NoError(t, (*Config)(nil).Validate())
}

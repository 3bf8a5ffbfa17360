package producer_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/producer"
	"github.com/samsalog/samsa/record"
)

// openBroker opens a broker in a temporary directory, as a test or an
// example would; the returned func closes and removes it.
func openBroker() (*samsa.Broker, func()) {
	dir, err := os.MkdirTemp("", "samsa-example-")
	if err != nil {
		panic(err)
	}
	b, err := samsa.Open(dir, nil)
	if err != nil {
		panic(err)
	}
	return b, func() { b.Close(); os.RemoveAll(dir) }
}

// An asynchronous producer, as a Sarama AsyncProducer user writes it: no
// Successes and Errors channels to drain, a callback per record instead.
func Example() {
	b, done := openBroker()
	defer done()
	if err := b.CreateTopic("orders", &samsa.TopicConfig{Partitions: 1}); err != nil {
		panic(err)
	}

	p, err := producer.New(b, &producer.Config{MaxMessageBytes: 1024})
	if err != nil {
		panic(err)
	}
	var mu sync.Mutex
	var log []string
	onDone := func(r *record.Record, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			log = append(log, fmt.Sprintf("failed %q: %v", r.Key, errors.Is(err, producer.ErrRecordTooLarge)))
			return
		}
		log = append(log, fmt.Sprintf("delivered %q to %s-%d at offset %d", r.Key, r.Topic, r.Partition, r.Offset))
	}
	ctx := context.Background()
	p.Produce(ctx, &record.Record{Topic: "orders", Key: []byte("too-big"), Value: make([]byte, 2048)}, onDone)
	p.Produce(ctx, &record.Record{Topic: "orders", Key: []byte("o-1"), Value: []byte("book")}, onDone)
	p.Produce(ctx, &record.Record{Topic: "orders", Key: []byte("o-2"), Value: []byte("pen")}, onDone)

	// Close delivers what is buffered and waits for every callback.
	if err := p.Close(); err != nil {
		panic(err)
	}
	for _, l := range log {
		fmt.Println(l)
	}
	// Output:
	// failed "too-big": true
	// delivered "o-1" to orders-0 at offset 0
	// delivered "o-2" to orders-0 at offset 1
}

// A synchronous send, as with Sarama's SyncProducer.
func ExampleProducer_ProduceSync() {
	b, done := openBroker()
	defer done()
	p, err := producer.New(b, nil)
	if err != nil {
		panic(err)
	}
	defer p.Close()

	res := p.ProduceSync(context.Background(),
		&record.Record{Topic: "events", Value: []byte("started")},
		&record.Record{Topic: "events", Value: []byte("stopped")},
	)
	if err := res.FirstErr(); err != nil {
		panic(err)
	}
	for _, r := range res {
		fmt.Printf("%s at offset %d\n", r.Record.Value, r.Record.Offset)
	}
	// Output:
	// started at offset 0
	// stopped at offset 1
}

// The round-robin partitioner spreads records over the partitions in
// turn, ignoring keys (Sarama's NewRoundRobinPartitioner).
func ExampleConfig_roundRobin() {
	b, done := openBroker()
	defer done()
	if err := b.CreateTopic("jobs", &samsa.TopicConfig{Partitions: 3}); err != nil {
		panic(err)
	}
	p, err := producer.New(b, &producer.Config{Partitioner: producer.NewRoundRobinPartitioner})
	if err != nil {
		panic(err)
	}
	defer p.Close()

	var recs []*record.Record
	for i := range 6 {
		recs = append(recs, &record.Record{Topic: "jobs", Key: []byte("same key"), Value: fmt.Appendf(nil, "job %d", i)})
	}
	if err := p.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		panic(err)
	}
	for _, r := range recs {
		fmt.Printf("%s -> partition %d\n", r.Value, r.Partition)
	}
	// Output:
	// job 0 -> partition 0
	// job 1 -> partition 1
	// job 2 -> partition 2
	// job 3 -> partition 0
	// job 4 -> partition 1
	// job 5 -> partition 2
}

// A custom partitioner: records of VIP customers to partition 0, the
// others by Kafka's key hash over the remaining partitions.
func ExampleConfig_customPartitioner() {
	b, done := openBroker()
	defer done()
	if err := b.CreateTopic("orders", &samsa.TopicConfig{Partitions: 4}); err != nil {
		panic(err)
	}
	vip := producer.PartitionerFunc(func(r *record.Record, n int32) (int32, error) {
		if string(r.Key) == "vip" {
			return 0, nil
		}
		if r.Key == nil {
			return 0, errors.New("orders need a customer key")
		}
		return 1 + producer.KafkaKeyHash(r.Key, n-1), nil
	})
	p, err := producer.New(b, &producer.Config{
		Partitioner: func(topic string) producer.Partitioner { return vip },
	})
	if err != nil {
		panic(err)
	}
	defer p.Close()

	res := p.ProduceSync(context.Background(),
		&record.Record{Topic: "orders", Key: []byte("vip")},
		&record.Record{Topic: "orders", Key: []byte("alice")},
		&record.Record{Topic: "orders"},
	)
	for _, r := range res {
		if r.Err != nil {
			fmt.Println("error:", r.Err)
			continue
		}
		fmt.Printf("%s -> partition %d\n", r.Record.Key, r.Record.Partition)
	}
	// Output:
	// vip -> partition 0
	// alice -> partition 1
	// error: orders need a customer key
}

// tracing is an interceptor that stamps every record with a header and
// counts outcomes: Kafka's ProducerInterceptor.
type tracing struct {
	mu       sync.Mutex
	ok, fail int
}

func (t *tracing) OnSend(r *record.Record) {
	r.Headers = append(r.Headers, record.Header{Key: "trace-id", Value: []byte("abc123")})
}

func (t *tracing) OnAcknowledgement(r *record.Record, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.fail++
	} else {
		t.ok++
	}
}

func ExampleInterceptor() {
	b, done := openBroker()
	defer done()
	tr := &tracing{}
	p, err := producer.New(b, &producer.Config{Interceptors: []producer.Interceptor{tr}})
	if err != nil {
		panic(err)
	}
	res := p.ProduceSync(context.Background(), &record.Record{Topic: "clicks", Value: []byte("home")})
	p.Close()

	r := res[0].Record
	fmt.Printf("sent with %s=%s\n", r.Headers[0].Key, r.Headers[0].Value)
	fmt.Printf("acknowledged %d, failed %d\n", tr.ok, tr.fail)
	// Output:
	// sent with trace-id=abc123
	// acknowledged 1, failed 0
}

// Idempotence is on by default: each producer gets its own producer ID, and
// its batches carry sequence numbers the partition checks, so a retried
// batch is stored once.
func ExampleConfig_idempotent() {
	b, done := openBroker()
	defer done()
	p1, err := producer.New(b, nil) // enable.idempotence=true, acks=all
	if err != nil {
		panic(err)
	}
	p2, err := producer.New(b, nil)
	if err != nil {
		panic(err)
	}
	id1, epoch := p1.ProducerID()
	id2, _ := p2.ProducerID()
	fmt.Println("distinct producer IDs:", id1 != id2, "epoch:", epoch)

	if err := p1.ProduceSync(context.Background(), &record.Record{Topic: "payments", Value: []byte("pay 10")}).FirstErr(); err != nil {
		panic(err)
	}
	p1.Close()
	p2.Close()

	// Without idempotence (Sarama's default), batches carry no producer ID.
	p3, err := producer.New(b, &producer.Config{DisableIdempotence: true})
	if err != nil {
		panic(err)
	}
	defer p3.Close()
	id3, _ := p3.ProducerID()
	fmt.Println("non-idempotent producer ID:", id3)
	// Output:
	// distinct producer IDs: true epoch: 0
	// non-idempotent producer ID: -1
}

// Batching and compression settings, with Sarama's names in the comments.
func ExampleConfig_batching() {
	b, done := openBroker()
	defer done()
	p, err := producer.New(b, &producer.Config{
		Acks:             producer.AcksLeader,                   // Producer.RequiredAcks = WaitForLocal
		Flush:            producer.FlushConfig{Bytes: 64 << 10}, // Producer.Flush.Bytes
		Linger:           20 * time.Millisecond,                 // Producer.Flush.Frequency
		Compression:      record.CompressionZstd,                // Producer.Compression
		CompressionLevel: 1,                                     // Producer.CompressionLevel
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for i := range 1000 {
		p.Produce(ctx, &record.Record{Topic: "logs", Value: fmt.Appendf(nil, "line %d: all is well", i)},
			func(_ *record.Record, err error) {
				if err != nil {
					panic(err)
				}
			})
	}
	if err := p.Flush(ctx); err != nil {
		panic(err)
	}
	st := p.Stats()
	fmt.Println("records:", st.Records)
	fmt.Println("one compressed batch of under 8 KiB:", st.Batches == 1, st.Bytes < 8<<10)
	p.Close()
	// Output:
	// records: 1000
	// one compressed batch of under 8 KiB: true true
}

// Typed sends: keys and values serialized, as KafkaProducer<K, V>.
func ExampleNewTyped() {
	b, done := openBroker()
	defer done()
	p, err := producer.New(b, nil)
	if err != nil {
		panic(err)
	}
	defer p.Close()
	type Order struct {
		Item  string `json:"item"`
		Price int    `json:"price"`
	}
	orders := producer.NewTyped[string, Order](p, producer.StringSerializer{}, producer.JSONSerializer[Order]{})
	r, err := orders.ProduceSync(context.Background(), "orders", "alice", Order{Item: "book", Price: 12})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: %s at offset %d\n", r.Key, r.Value, r.Offset)
	// Output:
	// alice: {"item":"book","price":12} at offset 0
}

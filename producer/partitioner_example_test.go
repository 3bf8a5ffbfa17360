package producer_test

import (
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"

	"github.com/samsalog/samsa/producer"
	"github.com/samsalog/samsa/record"
)

func ExampleNewRoundRobinPartitioner() {
	// The producer creates one partitioner per topic, so each topic keeps
	// its own turn, starting at partition 0.
	orders := producer.NewRoundRobinPartitioner("orders")
	payments := producer.NewRoundRobinPartitioner("payments")
	for range 4 {
		p, _ := orders.Partition(&record.Record{Value: []byte("o")}, 3)
		fmt.Print("orders:", p, " ")
	}
	p, _ := payments.Partition(&record.Record{Value: []byte("p")}, 3)
	fmt.Printf("payments:%d\n", p)
	// Output: orders:0 orders:1 orders:2 orders:0 payments:0
}

// A custom partitioner: records carrying a "tenant" header go to the
// partition named by it, all others by Kafka's key hash.
func ExamplePartitionerFunc() {
	errNoTenant := errors.New("no tenant header")
	byTenant := producer.PartitionerFunc(func(r *record.Record, n int32) (int32, error) {
		for _, h := range r.Headers {
			if h.Key == "tenant" {
				t, err := strconv.Atoi(string(h.Value))
				if err != nil {
					return 0, err
				}
				return int32(t) % n, nil
			}
		}
		if r.Key == nil {
			return 0, errNoTenant
		}
		return producer.KafkaKeyHash(r.Key, n), nil
	})
	// What a producer.Config takes: one partitioner per topic.
	var newP producer.PartitionerConstructor = func(string) producer.Partitioner { return byTenant }

	p := newP("orders")
	a, _ := p.Partition(&record.Record{Headers: []record.Header{{Key: "tenant", Value: []byte("7")}}}, 4)
	b, _ := p.Partition(&record.Record{Key: []byte("foo")}, 100)
	_, err := p.Partition(&record.Record{}, 4)
	fmt.Println(a, b, err)
	// Output: 3 16 no tenant header
}

func ExampleNewDefaultPartitioner() {
	// Kafka's default: keyed records by murmur2, like the Java client;
	// records without a key stick to one partition for batch.size bytes.
	p := producer.NewDefaultPartitioner(16384)("orders")
	for _, key := range []string{"foo", "bar", "kafka", ""} {
		part, _ := p.Partition(&record.Record{Key: []byte(key)}, 100)
		fmt.Printf("%q -> %d\n", key, part)
	}
	// Output:
	// "foo" -> 16
	// "bar" -> 45
	// "kafka" -> 80
	// "" -> 81
}

func ExampleMurmur2() {
	h := producer.Murmur2([]byte("21"))
	fmt.Println(h, int32(h), int32(h&0x7fffffff)%100)
	// Output: 3321034988 -973932308 40
}

func ExampleNewFNV1aPartitioner() {
	// Sarama's default placement, for topics a Sarama producer filled.
	p := producer.NewFNV1aPartitioner("orders")
	a, _ := p.Partition(&record.Record{Key: []byte("foo")}, 100)
	b, _ := p.Partition(&record.Record{Key: []byte("1468509572224")}, 50)
	fmt.Println(a, b)
	// Output: 73 48
}

// A custom KeyHasher: librdkafka's "consistent" partitioner (Sarama's
// NewConsistentCRCHashPartitioner), CRC-32 IEEE of the key taken unsigned,
// for keys a librdkafka producer placed; keyless records stay sticky.
func ExampleNewKeyHashPartitioner() {
	crc := func(key []byte, n int32) int32 { return int32(crc32.ChecksumIEEE(key) % uint32(n)) }
	p := producer.NewKeyHashPartitioner(crc, producer.NewStickyPartitioner)("orders")
	for _, key := range []string{"abc123def456", "SheetJS", "9e8c7f4cf45857cfff7645d6"} {
		part, _ := p.Partition(&record.Record{Key: []byte(key)}, 100)
		fmt.Println(key, part)
	}
	// Output:
	// abc123def456 57
	// SheetJS 26
	// 9e8c7f4cf45857cfff7645d6 24
}

package samsatest

import (
	"context"
	"testing"
	"time"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/producer"
	"github.com/samsalog/samsa/record"
)

// produceTimeout bounds how long Produce waits for buffer memory.
const produceTimeout = time.Minute

// Record returns a record with the given key and value, for Produce. An empty
// key is a null key (the record is then spread over the partitions rather than
// placed by its key).
func Record(key, value string) *record.Record {
	r := &record.Record{Value: []byte(value)}
	if key != "" {
		r.Key = []byte(key)
	}
	return r
}

// Produce writes recs to topic on b, in order, with a producer of the default
// configuration (acks=all, Kafka's murmur2 partitioner for keyed records),
// and waits until every record is written and synced, so that consumers see
// them when Produce returns. It stops the test if a record fails.
//
// recs are not modified: Produce sends copies, with Topic set to topic, and
// returns those copies with their Partition and Offset set. A topic that does
// not exist is created as the broker auto-creates topics (unless its Config
// disables that).
func Produce(t testing.TB, b *samsa.Broker, topic string, recs ...*record.Record) []*record.Record {
	t.Helper()
	p, err := producer.New(b, &producer.Config{DisableIdempotence: true})
	if err != nil {
		t.Fatalf("samsatest: new producer: %v", err)
	}
	out := make([]*record.Record, len(recs))
	for i, r := range recs {
		c := *r
		c.Topic = topic
		c.Partition, c.Offset = 0, 0
		out[i] = &c
	}
	ctx, cancel := context.WithTimeout(context.Background(), produceTimeout)
	defer cancel()
	res := p.ProduceSync(ctx, out...)
	if err := p.Close(); err != nil {
		t.Errorf("samsatest: close producer: %v", err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("samsatest: produce record %d (%s) to topic %q: %v", i, show(out[i]), topic, r.Err)
		}
	}
	return out
}

// ProduceValues produces one record per value, without key, to topic, as
// Produce does, and returns the records with their Partition and Offset set.
func ProduceValues(t testing.TB, b *samsa.Broker, topic string, values ...string) []*record.Record {
	t.Helper()
	recs := make([]*record.Record, len(values))
	for i, v := range values {
		recs[i] = &record.Record{Value: []byte(v)}
	}
	return Produce(t, b, topic, recs...)
}

package producer

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/samsalog/samsa/record"
)

// Serializer turns a value of type T into a record's key or value bytes:
// Kafka's Serializer. A nil result is a null key (no key: the partitioner
// treats the record as keyless) or a null value (a tombstone). It must be
// safe for concurrent use.
type Serializer[T any] interface {
	Serialize(topic string, v T) ([]byte, error)
}

// SerializerFunc adapts a function to a Serializer.
type SerializerFunc[T any] func(topic string, v T) ([]byte, error)

// Serialize returns f(topic, v).
func (f SerializerFunc[T]) Serialize(topic string, v T) ([]byte, error) { return f(topic, v) }

// StringSerializer writes a string's bytes (Kafka's StringSerializer, UTF-8
// by Go's convention). The empty string is an empty, non-null key or value.
type StringSerializer struct{}

// Serialize returns []byte(v).
func (StringSerializer) Serialize(_ string, v string) ([]byte, error) { return []byte(v), nil }

// BytesSerializer passes bytes through (Kafka's ByteArraySerializer); nil
// stays null.
type BytesSerializer struct{}

// Serialize returns v.
func (BytesSerializer) Serialize(_ string, v []byte) ([]byte, error) { return v, nil }

// JSONSerializer writes a value as JSON with encoding/json.
type JSONSerializer[T any] struct{}

// Serialize returns json.Marshal(v).
func (JSONSerializer[T]) Serialize(_ string, v T) ([]byte, error) { return json.Marshal(v) }

// TypedProducer produces keys of type K and values of type V through a
// Producer, serializing them first: Kafka's KafkaProducer<K, V>. It adds
// nothing else: batching, acks, interceptors and Close are the Producer's.
// It is safe for concurrent use if its serializers are.
type TypedProducer[K, V any] struct {
	p      *Producer
	keys   Serializer[K]
	values Serializer[V]
}

// NewTyped returns a TypedProducer sending through p with the serializers
// given.
func NewTyped[K, V any](p *Producer, keys Serializer[K], values Serializer[V]) *TypedProducer[K, V] {
	return &TypedProducer[K, V]{p: p, keys: keys, values: values}
}

// Producer returns the underlying Producer.
func (t *TypedProducer[K, V]) Producer() *Producer { return t.p }

// Record serializes key and value into a new record for topic. Errors
// from a serializer are wrapped with "serialize key" or "serialize value".
func (t *TypedProducer[K, V]) Record(topic string, key K, value V) (*record.Record, error) {
	k, err := t.keys.Serialize(topic, key)
	if err != nil {
		return nil, fmt.Errorf("producer: serialize key for %q: %w", topic, err)
	}
	v, err := t.values.Serialize(topic, value)
	if err != nil {
		return nil, fmt.Errorf("producer: serialize value for %q: %w", topic, err)
	}
	return &record.Record{Topic: topic, Key: k, Value: v}, nil
}

// Produce serializes key and value and produces them to topic as
// Producer.Produce does. A serializer's error fails the record at once: fn
// runs with it (and a record holding only the topic) before Produce
// returns.
func (t *TypedProducer[K, V]) Produce(ctx context.Context, topic string, key K, value V, fn func(*record.Record, error)) {
	if fn == nil {
		panic("producer: Produce with a nil callback")
	}
	r, err := t.Record(topic, key, value)
	if err != nil {
		t.p.fail(&record.Record{Topic: topic}, fn, err)
		return
	}
	t.p.produce(ctx, r, fn)
}

// ProduceSync serializes key and value, produces them to topic and waits
// for the outcome, as Producer.ProduceSync does for one record. It returns
// the record, with its partition and offset set on success.
func (t *TypedProducer[K, V]) ProduceSync(ctx context.Context, topic string, key K, value V) (*record.Record, error) {
	r, err := t.Record(topic, key, value)
	if err != nil {
		return nil, err
	}
	res := t.p.ProduceSync(ctx, r)
	return r, res[0].Err
}

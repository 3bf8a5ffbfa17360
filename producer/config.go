package producer

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/samsalog/samsa/record"
)

// Kafka's producer defaults (kafka-internals §10.1), which the zero fields
// of Config mean.
const (
	// DefaultBatchBytes is batch.size: 16384 bytes.
	DefaultBatchBytes = 16384
	// DefaultLinger is linger.ms since Kafka 4.0 (KIP-1030): 5ms.
	DefaultLinger = 5 * time.Millisecond
	// DefaultBufferMemory is buffer.memory: 32 MiB.
	DefaultBufferMemory = 32 << 20
	// DefaultMaxBlock is max.block.ms: 60s.
	DefaultMaxBlock = 60 * time.Second
	// DefaultMaxMessageBytes is max.request.size: 1 MiB.
	DefaultMaxMessageBytes = 1 << 20
	// DefaultDeliveryTimeout is delivery.timeout.ms: 120s.
	DefaultDeliveryTimeout = 120 * time.Second
	// DefaultRetryBackoff is retry.backoff.ms: 100ms.
	DefaultRetryBackoff = 100 * time.Millisecond
)

// Acks is the acks setting: when a record counts as delivered, and so when
// its callback runs. The zero value means the default, AcksAll.
type Acks int8

const (
	// AcksDefault is the zero Acks: AcksAll, Kafka's default since 3.0.
	AcksDefault Acks = 0
	// AcksNone is acks=0: the callback runs as soon as the record is in
	// the producer's buffer, before it is written anywhere, with a nil
	// error and Offset -1. Errors found later (the partition refused the
	// batch, the disk is full) cannot reach that callback: they are
	// returned by the next Flush or Close, counted in Stats.Errors and
	// logged. Loss window: everything buffered, if the process dies.
	AcksNone Acks = -1
	// AcksLeader is acks=1: the callback runs once the record's batch is
	// appended to the partition's log (one write(2)): the record survives a
	// crash of the process, but not a power loss or kernel crash that comes
	// before the broker's next sync (Config.FlushInterval of the broker,
	// 5ms by default), and consumers see it only once it is synced.
	AcksLeader Acks = 1
	// AcksAll is acks=all (-1 in Kafka): the callback runs once the
	// record's batch is appended and fdatasynced, so the record survives a
	// power loss, and is visible to consumers (below the high watermark).
	// Concurrent batches of a partition share one fdatasync (group commit).
	AcksAll Acks = 2
)

// String returns Kafka's spelling of a: "0", "1" or "all".
func (a Acks) String() string {
	switch a {
	case AcksNone:
		return "0"
	case AcksLeader:
		return "1"
	case AcksAll, AcksDefault:
		return "all"
	}
	return fmt.Sprintf("acks(%d)", int8(a))
}

// FlushConfig holds the batching settings that Sarama keeps under
// Producer.Flush.
type FlushConfig struct {
	// Bytes is batch.size (Sarama's Producer.Flush.Bytes): a partition's
	// batch is closed and sent once its records take this many bytes,
	// encoded and uncompressed, with the 61-byte batch header. A record
	// larger than Bytes gets a batch of its own. Default DefaultBatchBytes
	// (16384).
	Bytes int
}

// RetryConfig holds the retry settings.
type RetryConfig struct {
	// Backoff is retry.backoff.ms (Sarama's Producer.Retry.Backoff): how
	// long a batch waits before it is appended again after a retriable
	// error (a full disk). Batches are retried until DeliveryTimeout.
	// Default DefaultRetryBackoff (100ms).
	Backoff time.Duration
}

// Config configures a Producer. The zero value of each field means its
// default, Kafka's (kafka-internals §10.1); New copies the Config, so
// changing it afterwards has no effect. A nil *Config means all defaults:
// acks=all, idempotent, 16 KiB batches, 5ms linger, no compression, Kafka's
// default partitioner.
type Config struct {
	// Acks is acks: when a record counts as delivered (see AcksNone,
	// AcksLeader, AcksAll). Default AcksAll.
	Acks Acks

	// DisableIdempotence turns off enable.idempotence, which is on by
	// default as in Kafka 3+. An idempotent producer gets a producer ID
	// from the broker (Broker.InitProducerID) and numbers its records per
	// partition, so that a batch appended twice (a retry after an
	// acknowledgement was lost) is stored once and keeps its first
	// offsets. It costs nothing measurable. Unlike Java's producer it does
	// not require acks=all: the partition checks sequences whatever the
	// acks.
	DisableIdempotence bool

	// Flush holds batch.size (Flush.Bytes).
	Flush FlushConfig

	// Linger is linger.ms (Sarama's Producer.Flush.Frequency): how long a
	// partition's batch waits for more records before it is sent, unless
	// it fills first (Flush.Bytes) or Flush asks. A negative Linger is
	// linger.ms=0: a batch is ready as soon as it is created, and records
	// share batches only while the sender is busy with earlier ones.
	// Default DefaultLinger (5ms, as in Kafka 4).
	Linger time.Duration

	// BufferMemory is buffer.memory: the bytes of batches the producer
	// holds before they are delivered. Each batch takes Flush.Bytes of it
	// (or its one record's size, if larger) from creation to delivery, as
	// in Kafka's BufferPool; the per-record bookkeeping (about 150 bytes a
	// record) is not counted. When it is used up, Produce blocks until
	// batches are delivered, MaxBlock passes (ErrBufferFull) or its
	// context ends. Default DefaultBufferMemory (32 MiB).
	BufferMemory int64

	// MaxBlock is max.block.ms: how long Produce may block waiting for
	// buffer memory before the record fails with ErrBufferFull; the
	// context passed to Produce can end the wait earlier. Default
	// DefaultMaxBlock (60s).
	MaxBlock time.Duration

	// MaxMessageBytes is max.request.size (Sarama's
	// Producer.MaxMessageBytes): a record whose batch of one would be
	// larger (encoded, uncompressed, with the batch header) fails at once
	// with ErrRecordTooLarge, and batches are closed before they grow
	// past it. The topic's max.message.bytes still applies: a batch the
	// partition refuses fails with ErrRecordTooLarge too. Default
	// DefaultMaxMessageBytes (1 MiB).
	MaxMessageBytes int

	// DeliveryTimeout is delivery.timeout.ms: how long a record may wait,
	// from Produce to being appended, before it fails with
	// ErrDeliveryTimeout: in the buffer behind a stuck partition, or in
	// retries. A batch already being appended or synced is not interrupted
	// (each is one bounded disk operation). It must not be below Linger.
	// Default DefaultDeliveryTimeout (120s).
	DeliveryTimeout time.Duration

	// Retry holds retry.backoff.ms (Retry.Backoff).
	Retry RetryConfig

	// Compression is compression.type: the codec every batch is
	// compressed with, once, when it is sent. Default record.CompressionNone.
	Compression record.Compression

	// CompressionLevel is compression.gzip.level, compression.lz4.level or
	// compression.zstd.level, for the codec chosen: 0 means the codec's
	// default (see record.BatchOptions.Level: gzip -1, lz4 fast, zstd 3).
	// Ignored for none and snappy. New rejects a level the codec does not
	// accept.
	CompressionLevel int

	// Partitioner is partitioner.class: it builds the Partitioner of each
	// topic the producer writes to. Default NewDefaultPartitioner(Flush.Bytes):
	// Kafka's murmur2 for keyed records, KIP-794 uniform sticky for the
	// others.
	Partitioner PartitionerConstructor

	// Interceptors is interceptor.classes: each sees every record before it
	// is partitioned (OnSend) and its outcome before the callback runs
	// (OnAcknowledgement), in order. Default none.
	Interceptors []Interceptor

	// Logger receives the producer's logs (interceptor panics, errors of
	// acks=0 records). Nil is silent.
	Logger *slog.Logger
}

// ErrInvalidConfig is matched by every error of Config.Validate and of New
// for a bad configuration; the message names the field and its Kafka
// property.
var ErrInvalidConfig = errors.New("producer: invalid config")

// Validate reports the invalid fields of c as an error matching
// ErrInvalidConfig that names each field and its Kafka property. Zero fields
// are valid (they mean the default). A nil Config is valid.
func (c *Config) Validate() error {
	if c == nil {
		return nil
	}
	var errs []error
	bad := func(field, property string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s (%s): %s", ErrInvalidConfig, field, property, fmt.Sprintf(format, args...)))
	}
	switch c.Acks {
	case AcksDefault, AcksNone, AcksLeader, AcksAll:
	default:
		bad("Config.Acks", "acks", "%d is not AcksNone, AcksLeader or AcksAll", int8(c.Acks))
	}
	if c.Flush.Bytes < 0 {
		bad("Config.Flush.Bytes", "batch.size", "%d is negative", c.Flush.Bytes)
	}
	if c.BufferMemory < 0 {
		bad("Config.BufferMemory", "buffer.memory", "%d is negative", c.BufferMemory)
	}
	if c.MaxBlock < 0 {
		bad("Config.MaxBlock", "max.block.ms", "%v is negative", c.MaxBlock)
	}
	if c.MaxMessageBytes < 0 {
		bad("Config.MaxMessageBytes", "max.request.size", "%d is negative", c.MaxMessageBytes)
	} else if c.MaxMessageBytes > 0 && c.MaxMessageBytes <= record.BatchHeaderSize {
		bad("Config.MaxMessageBytes", "max.request.size", "%d cannot hold a batch header (%d bytes)", c.MaxMessageBytes, record.BatchHeaderSize)
	}
	if c.DeliveryTimeout < 0 {
		bad("Config.DeliveryTimeout", "delivery.timeout.ms", "%v is negative", c.DeliveryTimeout)
	} else if d := c.withDefaults(); d.DeliveryTimeout < d.Linger {
		bad("Config.DeliveryTimeout", "delivery.timeout.ms", "%v is below Linger (linger.ms) %v", d.DeliveryTimeout, d.Linger)
	}
	if c.Retry.Backoff < 0 {
		bad("Config.Retry.Backoff", "retry.backoff.ms", "%v is negative", c.Retry.Backoff)
	}
	if c.Compression < record.CompressionNone || c.Compression > record.CompressionZstd {
		bad("Config.Compression", "compression.type", "unknown codec %d", int8(c.Compression))
	} else if err := checkCompression(c.Compression, c.CompressionLevel); err != nil {
		bad("Config.CompressionLevel", "compression."+c.Compression.String()+".level", "%d: %v", c.CompressionLevel, err)
	}
	for i, ic := range c.Interceptors {
		if ic == nil {
			bad(fmt.Sprintf("Config.Interceptors[%d]", i), "interceptor.classes", "nil interceptor")
		}
	}
	return errors.Join(errs...)
}

// checkCompression encodes a one-record batch with codec c at level, which
// is how the record package checks a level: the answer is exact.
func checkCompression(c record.Compression, level int) error {
	if level == 0 || c == record.CompressionNone || c == record.CompressionSnappy {
		return nil
	}
	var enc record.Encoder
	_, err := enc.AppendBatch(nil, []record.Record{{Value: []byte("x"), Timestamp: time.UnixMilli(0)}},
		record.BatchOptions{Compression: c, Level: level, LeaderEpoch: record.NoLeaderEpoch})
	return err
}

// withDefaults returns a copy of c with every zero field set to its
// default. c may be nil.
func (c *Config) withDefaults() Config {
	var out Config
	if c != nil {
		out = *c
	}
	if out.Acks == AcksDefault {
		out.Acks = AcksAll
	}
	if out.Flush.Bytes == 0 {
		out.Flush.Bytes = DefaultBatchBytes
	}
	if out.Linger == 0 {
		out.Linger = DefaultLinger
	}
	if out.BufferMemory == 0 {
		out.BufferMemory = DefaultBufferMemory
	}
	if out.MaxBlock == 0 {
		out.MaxBlock = DefaultMaxBlock
	}
	if out.MaxMessageBytes == 0 {
		out.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if out.DeliveryTimeout == 0 {
		out.DeliveryTimeout = DefaultDeliveryTimeout
	}
	if out.Retry.Backoff == 0 {
		out.Retry.Backoff = DefaultRetryBackoff
	}
	if out.Partitioner == nil {
		out.Partitioner = NewDefaultPartitioner(out.Flush.Bytes)
	}
	out.Interceptors = append([]Interceptor(nil), out.Interceptors...)
	return out
}

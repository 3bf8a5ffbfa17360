package samsa

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/samsalog/samsa/internal/fs"
)

// Config configures a Broker. Pass a pointer; nil means every default. The
// zero value of each field means its default, which the field's comment
// gives with the Kafka property it mirrors. The broker copies the Config:
// changing it afterwards changes nothing.
type Config struct {
	// DisableAutoCreateTopics turns off auto.create.topics.enable, which is
	// on by default as in Kafka: producing to a topic that does not exist
	// creates it with DefaultPartitions partitions and the default topic
	// config. Internal topics and invalid names are never auto-created.
	DisableAutoCreateTopics bool

	// DefaultPartitions is num.partitions: the partition count of an
	// auto-created topic and of CreateTopic when TopicConfig.Partitions is
	// zero. Default 1.
	DefaultPartitions int32

	// OffsetsTopicPartitions is offsets.topic.num.partitions: the
	// partition count of the internal topic __consumer_offsets, created
	// at the first Open. Kafka's default is 50, to spread groups over a
	// cluster; one process gains nothing from many, and each partition
	// costs open files, so the default here is 1. Once the topic exists
	// its count is kept (groups are mapped to partitions by it) and this
	// field is ignored. Default 1.
	OffsetsTopicPartitions int32

	// Topic holds the broker-wide defaults of the topic configs, Kafka's
	// broker properties log.segment.bytes, log.roll.ms,
	// log.index.size.max.bytes, log.index.interval.bytes,
	// log.retention.ms, log.retention.bytes, log.cleanup.policy,
	// message.max.bytes, log.message.timestamp.type,
	// log.flush.interval.messages and log.flush.interval.ms. A topic's own
	// TopicConfig overrides them field by field; a zero field here is
	// Kafka's default. Topic.Partitions must stay zero: DefaultPartitions
	// is num.partitions.
	Topic TopicConfig

	// FlushInterval is how long appended data may wait for an fsync that no
	// one asked for: the background flusher syncs, at this interval, every
	// partition holding unsynced data. Since a record becomes visible to
	// consumers once synced (the high watermark is the synced offset), it
	// bounds the latency that producers with acks other than all see, and
	// it is how often flush.ms is checked (Kafka's
	// log.flush.scheduler.interval.ms). samsa's own setting: Kafka leaves
	// this to replication. Default 5ms.
	FlushInterval time.Duration

	// RetentionCheckInterval is log.retention.check.interval.ms: how often
	// retention.ms and retention.bytes are applied. Default 5 minutes.
	RetentionCheckInterval time.Duration

	// CheckpointInterval is log.flush.offset.checkpoint.interval.ms (and
	// log.flush.start.offset.checkpoint.interval.ms): how often the
	// partitions' recovery points and log start offsets are written to the
	// data directory's checkpoint files. After a crash, recovery validates
	// each partition from its checkpointed recovery point, so this bounds
	// how much is scanned then. Close always writes them. Default 60s.
	CheckpointInterval time.Duration

	// SegmentZeroAheadBytes is samsa's own storage setting (Kafka has
	// none): when positive, the disk space reserved ahead of each active
	// segment is written with zeros in blocks of this size before the
	// batches reach it (one extra write per block, none per batch), so
	// that the page cache holds large folios there and the fsyncs that
	// follow write back faster. The segment's file then runs ahead of its
	// data by up to one block until the segment is sealed or the broker
	// closes (both trim it); after a crash the zeros are a torn tail that
	// recovery cuts. Measured on 100 B records (BENCHMARKS.md): about 1.35x
	// the append throughput, and 1.35x with a sync per batch at the price
	// of ~40 % more bytes written to the device. Default 0: off;
	// segment.DefaultZeroAheadBytes (1 MiB) is the size to turn it on with.
	SegmentZeroAheadBytes int

	// Logger receives the broker's logs. Nil is silent.
	Logger *slog.Logger

	// fs is the filesystem; nil is the operating system's. Tests set it to
	// inject faults.
	fs fs.FS

	// now is the clock of the partitions (retention.ms, segment.ms,
	// LogAppendTime); nil is time.Now. Tests set it.
	now func() time.Time
}

// Broker-level defaults that are not topic configs.
const (
	defaultPartitions             = 1
	defaultOffsetsTopicPartitions = 1
	defaultFlushInterval          = 5 * time.Millisecond
	defaultRetentionCheckInterval = 5 * time.Minute
	defaultCheckpointInterval     = 60 * time.Second
)

// Validate reports the first problems of c, each an error matching
// ErrInvalidConfig that names the field and the Kafka property; several are
// joined (errors.Join). A nil or zero Config is valid.
func (c *Config) Validate() error {
	if c == nil {
		return nil
	}
	var errs []error
	if c.DefaultPartitions < 0 {
		errs = append(errs, &configError{field: "Config.DefaultPartitions", property: "num.partitions",
			reason: fmt.Sprintf("must be at least 1 (0: the default, 1), got %d", c.DefaultPartitions), partitions: true})
	}
	if c.OffsetsTopicPartitions < 0 {
		errs = append(errs, &configError{field: "Config.OffsetsTopicPartitions", property: "offsets.topic.num.partitions",
			reason: fmt.Sprintf("must be at least 1 (0: the default, 1), got %d", c.OffsetsTopicPartitions), partitions: true})
	}
	if c.Topic.Partitions != 0 {
		errs = append(errs, &configError{field: "Config.Topic.Partitions",
			reason: fmt.Sprintf("must be 0, got %d: the default partition count is Config.DefaultPartitions (num.partitions)", c.Topic.Partitions)})
	}
	errs = append(errs, c.Topic.validate("Config.Topic.", true)...)
	if c.FlushInterval < 0 {
		errs = append(errs, &configError{field: "Config.FlushInterval",
			reason: fmt.Sprintf("must not be negative, got %v", c.FlushInterval)})
	}
	if c.RetentionCheckInterval < 0 {
		errs = append(errs, &configError{field: "Config.RetentionCheckInterval", property: "log.retention.check.interval.ms",
			reason: fmt.Sprintf("must not be negative, got %v", c.RetentionCheckInterval)})
	}
	if c.SegmentZeroAheadBytes < 0 {
		errs = append(errs, &configError{field: "Config.SegmentZeroAheadBytes",
			reason: fmt.Sprintf("must not be negative, got %d", c.SegmentZeroAheadBytes)})
	}
	if c.CheckpointInterval < 0 {
		errs = append(errs, &configError{field: "Config.CheckpointInterval", property: "log.flush.offset.checkpoint.interval.ms",
			reason: fmt.Sprintf("must not be negative, got %v", c.CheckpointInterval)})
	}
	return errors.Join(errs...)
}

// withDefaults returns a copy of c (nil: the zero Config) with the broker
// settings' defaults filled in: the one place they are. Config.Topic is
// kept as given; topics merge it with effective.
func (c *Config) withDefaults() Config {
	var out Config
	if c != nil {
		out = *c
	}
	if out.DefaultPartitions == 0 {
		out.DefaultPartitions = defaultPartitions
	}
	if out.OffsetsTopicPartitions == 0 {
		out.OffsetsTopicPartitions = defaultOffsetsTopicPartitions
	}
	if out.FlushInterval == 0 {
		out.FlushInterval = defaultFlushInterval
	}
	if out.RetentionCheckInterval == 0 {
		out.RetentionCheckInterval = defaultRetentionCheckInterval
	}
	if out.CheckpointInterval == 0 {
		out.CheckpointInterval = defaultCheckpointInterval
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	out.fs = fs.Or(out.fs)
	return out
}

// topicDefaults returns the defaults a topic's config is merged over: the
// broker's Topic, with Partitions set to num.partitions.
func (c *Config) topicDefaults() TopicConfig {
	d := c.Topic
	d.Partitions = c.DefaultPartitions
	return d
}

// CleanupPolicy is cleanup.policy: what happens to old data.
type CleanupPolicy string

// The cleanup policies. The zero CleanupPolicy means the default,
// CleanupDelete.
const (
	// CleanupDelete deletes whole old segments by retention.ms and
	// retention.bytes.
	CleanupDelete CleanupPolicy = "delete"
	// CleanupCompact keeps the last record of each key (log compaction).
	CleanupCompact CleanupPolicy = "compact"
	// CleanupCompactDelete compacts and applies retention.
	CleanupCompactDelete CleanupPolicy = "compact,delete"
)

// ParseCleanupPolicy parses a cleanup.policy value: a comma-separated list
// of "delete" and "compact" in any order ("delete,compact" is
// CleanupCompactDelete). The error matches ErrInvalidConfig.
func ParseCleanupPolicy(s string) (CleanupPolicy, error) {
	var del, compact bool
	for _, item := range strings.Split(s, ",") {
		switch strings.TrimSpace(item) {
		case "delete":
			del = true
		case "compact":
			compact = true
		default:
			return "", &configError{property: propCleanupPolicy,
				reason: fmt.Sprintf("must be a list of delete and compact, got %q", s)}
		}
	}
	switch {
	case del && compact:
		return CleanupCompactDelete, nil
	case compact:
		return CleanupCompact, nil
	default:
		return CleanupDelete, nil
	}
}

// Delete reports whether the policy applies retention (the zero value,
// meaning the default, does).
func (p CleanupPolicy) Delete() bool {
	return p == "" || p == CleanupDelete || p == CleanupCompactDelete
}

// Compact reports whether the policy compacts.
func (p CleanupPolicy) Compact() bool {
	return p == CleanupCompact || p == CleanupCompactDelete
}

func (p CleanupPolicy) valid() bool {
	return p == "" || p == CleanupDelete || p == CleanupCompact || p == CleanupCompactDelete
}

// TimestampType is message.timestamp.type: which time a record's timestamp
// holds.
type TimestampType string

// The timestamp types, spelled as Kafka spells them. The zero TimestampType
// means the default, CreateTime.
const (
	// CreateTime keeps the timestamp the producer set.
	CreateTime TimestampType = "CreateTime"
	// LogAppendTime replaces it by the broker's clock when the batch is
	// appended.
	LogAppendTime TimestampType = "LogAppendTime"
)

func (t TimestampType) valid() bool { return t == "" || t == CreateTime || t == LogAppendTime }

// TopicConfig configures a topic: its partition count and its overrides of
// the Kafka topic configs that apply to samsa. Pass a pointer; nil means
// every default. The zero value of each field means the default: the
// broker's (Config.Topic, Config.DefaultPartitions), and where the broker
// sets none, Kafka's, which the field's comment gives with the Kafka
// property it mirrors. Where Kafka gives 0 a meaning of its own, the field
// takes the smallest positive value that means the same (IndexIntervalBytes,
// RetentionMs, FlushMs); Kafka's retention.bytes=0 has no such value and is
// refused. A TopicConfig is a plain value: copy it freely.
//
// Properties and SetProperty convert to and from Kafka's property names
// and string values ("retention.ms": "86400000"), which is how a topic's
// config is stored in topics.json and what kafka-configs users know.
type TopicConfig struct {
	// Partitions is the number of partitions. Zero: Config.DefaultPartitions
	// (num.partitions, default 1). Only CreatePartitions changes it later,
	// and only upwards.
	Partitions int32

	// SegmentBytes is segment.bytes: a segment is rolled before it grows
	// past this size. At least 14 and at most 2147483647. Default 1 GiB.
	SegmentBytes int64

	// SegmentMs is segment.ms: a segment is rolled once its first record
	// is this old, so that retention can delete it even in a quiet topic.
	// At least 1ms. Default 7 days.
	//lint:ignore ST1011 named for Kafka's segment.ms, as log.Config is.
	SegmentMs time.Duration

	// SegmentIndexBytes is segment.index.bytes: the largest size of the
	// offset index and of the time index of a segment; a segment whose
	// index fills is rolled. At least 4. Default 10 MiB.
	SegmentIndexBytes int32

	// IndexIntervalBytes is index.interval.bytes: the bytes of batches
	// between two index entries; smaller is a denser index. Kafka's 0 (an
	// entry for every batch) is 1 here. Default 4096.
	IndexIntervalBytes int32

	// RetentionMs is retention.ms: sealed segments whose newest record is
	// older are deleted (with CleanupPolicy delete). Negative: keep
	// forever (Kafka's -1). Kafka's 0 is 1ns here. Default 7 days.
	//lint:ignore ST1011 named for Kafka's retention.ms, as log.Config is.
	RetentionMs time.Duration

	// RetentionBytes is retention.bytes: the oldest sealed segments of a
	// partition are deleted while it holds more than this (with
	// CleanupPolicy delete). Per partition, as in Kafka. Negative:
	// unlimited. Default unlimited (Kafka's -1).
	RetentionBytes int64

	// CleanupPolicy is cleanup.policy. Default CleanupDelete.
	CleanupPolicy CleanupPolicy

	// MaxMessageBytes is max.message.bytes: the largest record batch a
	// producer may append, counting the 12 bytes of log overhead; a larger
	// one fails with ErrRecordTooLarge. Default 1048588 (1 MiB + 12).
	MaxMessageBytes int32

	// MessageTimestampType is message.timestamp.type. Default CreateTime.
	MessageTimestampType TimestampType

	// FlushMessages is flush.messages: a partition is synced once this
	// many records are unsynced, whoever waits. Negative: never by count.
	// Default never (Kafka's 9223372036854775807). Syncs also happen for
	// producers with acks=all and by the background flusher
	// (Config.FlushInterval), whatever this says.
	FlushMessages int64

	// FlushMs is flush.ms: a partition is synced once its oldest unsynced
	// record is this old. Negative: never by age. Kafka's 0 is 1ns here.
	// Default never (Kafka's 9223372036854775807).
	//lint:ignore ST1011 named for Kafka's flush.ms, as log.Config is.
	FlushMs time.Duration

	// UnsafeExposeUnsynced lets consumers read records as soon as they are
	// appended, before they are synced, for lower latency. The cost: a
	// power loss or kernel crash (not a crash of the process) can take
	// back records that consumers have already read, and a consumer
	// group's committed offset can end up past the end of the partition.
	// The window is the unsynced data: up to Config.FlushInterval of it,
	// or what flush.messages and flush.ms allow. Not a Kafka config; its
	// property name is samsa.unsafe.expose.unsynced. Default false: only
	// synced records are visible. Set in Config.Topic it applies to every
	// topic.
	UnsafeExposeUnsynced bool
}

// Kafka's defaults of the topic configs (LogConfig.java).
const (
	kafkaSegmentBytes       = 1 << 30
	kafkaSegmentRoll        = 7 * 24 * time.Hour
	kafkaSegmentIndexBytes  = 10 << 20
	kafkaIndexIntervalBytes = 4096
	kafkaRetention          = 7 * 24 * time.Hour
	kafkaRetentionBytes     = -1
	kafkaMaxMessageBytes    = 1<<20 + 12
	kafkaFlushNever         = -1
	minSegmentBytes         = 14 // LegacyRecord.RECORD_OVERHEAD_V0, Kafka's atLeast for segment.bytes
	minSegmentIndexBytes    = 4
)

// Validate reports the problems of c, each an error matching
// ErrInvalidConfig that names the field and the Kafka property (a negative
// Partitions matches ErrInvalidPartitions too); several are joined
// (errors.Join). A nil or zero TopicConfig is valid.
func (c *TopicConfig) Validate() error {
	if c == nil {
		return nil
	}
	var errs []error
	if c.Partitions < 0 {
		errs = append(errs, &configError{field: "TopicConfig.Partitions",
			reason: fmt.Sprintf("must be at least 1 (0: Config.DefaultPartitions), got %d", c.Partitions), partitions: true})
	}
	errs = append(errs, c.validate("TopicConfig.", false)...)
	return errors.Join(errs...)
}

// validate checks every field but Partitions. Fields are named with prefix;
// properties by their broker-level names when broker is set.
func (c *TopicConfig) validate(prefix string, broker bool) []error {
	var errs []error
	for i := range topicProperties {
		p := &topicProperties[i]
		if reason := p.check(c); reason != "" {
			errs = append(errs, p.errorf(prefix, broker, "%s", reason))
		}
	}
	return errs
}

// effective returns the config a topic runs with: each zero field of c
// taken from defaults (the broker's, see Config.topicDefaults), and each
// still zero from Kafka's defaults. Every field of the result but the
// booleans is non-zero, and "never"/"forever"/"unlimited" are -1.
func (c TopicConfig) effective(defaults TopicConfig) TopicConfig {
	e := c
	pick := func(v, d, k int64) int64 {
		switch {
		case v != 0:
			return v
		case d != 0:
			return d
		}
		return k
	}
	never := func(v int64) int64 {
		if v < 0 {
			return -1
		}
		return v
	}
	e.Partitions = int32(pick(int64(c.Partitions), int64(defaults.Partitions), defaultPartitions))
	e.SegmentBytes = pick(c.SegmentBytes, defaults.SegmentBytes, kafkaSegmentBytes)
	e.SegmentMs = time.Duration(pick(int64(c.SegmentMs), int64(defaults.SegmentMs), int64(kafkaSegmentRoll)))
	e.SegmentIndexBytes = int32(pick(int64(c.SegmentIndexBytes), int64(defaults.SegmentIndexBytes), kafkaSegmentIndexBytes))
	e.IndexIntervalBytes = int32(pick(int64(c.IndexIntervalBytes), int64(defaults.IndexIntervalBytes), kafkaIndexIntervalBytes))
	e.RetentionMs = time.Duration(never(pick(int64(c.RetentionMs), int64(defaults.RetentionMs), int64(kafkaRetention))))
	e.RetentionBytes = never(pick(c.RetentionBytes, defaults.RetentionBytes, kafkaRetentionBytes))
	e.MaxMessageBytes = int32(pick(int64(c.MaxMessageBytes), int64(defaults.MaxMessageBytes), kafkaMaxMessageBytes))
	e.FlushMessages = never(pick(c.FlushMessages, defaults.FlushMessages, kafkaFlushNever))
	e.FlushMs = time.Duration(never(pick(int64(c.FlushMs), int64(defaults.FlushMs), kafkaFlushNever)))
	if e.CleanupPolicy == "" {
		e.CleanupPolicy = defaults.CleanupPolicy
	}
	if e.CleanupPolicy == "" {
		e.CleanupPolicy = CleanupDelete
	}
	if e.MessageTimestampType == "" {
		e.MessageTimestampType = defaults.MessageTimestampType
	}
	if e.MessageTimestampType == "" {
		e.MessageTimestampType = CreateTime
	}
	e.UnsafeExposeUnsynced = c.UnsafeExposeUnsynced || defaults.UnsafeExposeUnsynced
	return e
}

// logParams is what one partition's log takes from its topic's effective
// config, field for field the storage settings of log.Config (plan/API.md),
// in log.Config's conventions. The broker builds each partition's
// log.Config from it:
//
//	p := effective.logParams()
//	cfg := &log.Config{SegmentBytes: p.SegmentBytes, SegmentMs: p.SegmentMs, ...,
//		FS: broker.fs, Logger: broker.logger, Checkpoint: ...}
//
// The rest of a topic's config is the broker's and the partition's to
// apply: MaxMessageBytes (ErrRecordTooLarge), MessageTimestampType,
// CleanupPolicy (whether retention runs, compaction) and
// UnsafeExposeUnsynced (the high watermark).
type logParams struct {
	SegmentBytes       int64
	SegmentMs          time.Duration //lint:ignore ST1011 log.Config's name
	SegmentIndexBytes  int
	IndexIntervalBytes int
	RetentionMs        time.Duration //lint:ignore ST1011 log.Config's name; negative: forever
	RetentionBytes     int64         // negative: unlimited
	FlushMessages      int64         // 0: never
	FlushMs            time.Duration //lint:ignore ST1011 log.Config's name; 0: never
}

// logParams translates an effective config (see effective).
func (c TopicConfig) logParams() logParams {
	p := logParams{
		SegmentBytes:       c.SegmentBytes,
		SegmentMs:          c.SegmentMs,
		SegmentIndexBytes:  int(c.SegmentIndexBytes),
		IndexIntervalBytes: int(c.IndexIntervalBytes),
		RetentionMs:        c.RetentionMs,
		RetentionBytes:     c.RetentionBytes,
		FlushMessages:      max(c.FlushMessages, 0),
		FlushMs:            max(c.FlushMs, 0),
	}
	if !c.CleanupPolicy.Delete() {
		// Compacted topics keep their data by key, not by age or size.
		p.RetentionMs, p.RetentionBytes = -1, -1
	}
	if p.FlushMessages == math.MaxInt64 {
		p.FlushMessages = 0 // Kafka's spelling of never
	}
	return p
}

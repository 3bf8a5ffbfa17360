package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/samsalog/samsa/group"
)

// Defaults of Config, Kafka's (ConsumerConfig.java) unless said otherwise.
const (
	DefaultMaxPollRecords     = 500
	DefaultFetchMinBytes      = 1
	DefaultFetchMaxWait       = 500 * time.Millisecond
	DefaultMaxPartitionBytes  = 1 << 20
	DefaultFetchMaxBytes      = 50 << 20
	DefaultAutoCommitInterval = 5 * time.Second
	DefaultSessionTimeout     = 45 * time.Second
	DefaultHeartbeatInterval  = 3 * time.Second
	DefaultMaxPollInterval    = 5 * time.Minute
	DefaultMetadataMaxAge     = 5 * time.Minute
	DefaultAutoOffsetReset    = OffsetResetLatest
	DefaultIsolationLevel     = ReadUncommitted
	maxCommitMetadataBytes    = 4096 // offset.metadata.max.bytes, the broker's default
)

// OffsetReset is auto.offset.reset: where a consumer starts reading a
// partition for which its group has no committed offset, and where it goes
// when its position is out of range (retention deleted the records it was
// about to read, or the position is past the end of the partition).
type OffsetReset string

// The values of auto.offset.reset, spelled as Kafka spells them. The zero
// OffsetReset means the default, OffsetResetLatest.
const (
	// OffsetResetEarliest starts at the log start offset.
	OffsetResetEarliest OffsetReset = "earliest"
	// OffsetResetLatest starts at the high watermark: only records
	// produced from now on are read.
	OffsetResetLatest OffsetReset = "latest"
	// OffsetResetNone makes Poll fail with ErrNoOffset (no committed
	// offset) or ErrOffsetOutOfRange (position out of range) until the
	// application seeks.
	OffsetResetNone OffsetReset = "none"
)

// IsolationLevel is isolation.level.
type IsolationLevel string

// The isolation levels. The zero IsolationLevel means ReadUncommitted.
const (
	// ReadUncommitted reads up to the high watermark.
	ReadUncommitted IsolationLevel = "read_uncommitted"
	// ReadCommitted reads up to the last stable offset and would skip
	// aborted transactions. Until samsa has transactions (partitions refuse
	// transactional batches) the last stable offset is the high watermark
	// and nothing is ever aborted, so it reads exactly what ReadUncommitted
	// reads.
	ReadCommitted IsolationLevel = "read_committed"
)

// FetchConfig holds the fetch settings: how much a fetch returns and how
// long Poll waits for it (Sarama's Consumer.Fetch and MaxWaitTime).
type FetchConfig struct {
	// MinBytes is fetch.min.bytes: Poll waits (up to MaxWait) until at
	// least this many bytes of records are available across the assigned
	// partitions before it returns them. Default 1: any record.
	MinBytes int
	// MaxWait is fetch.max.wait.ms: how long Poll keeps collecting toward
	// MinBytes once it has some records. Poll with nothing at all waits
	// for its context, as Kafka's poll waits for its timeout. Default
	// 500ms.
	MaxWait time.Duration
	// MaxPartitionBytes is max.partition.fetch.bytes: the most batch bytes
	// read from one partition per fetch, except that a larger first batch
	// is returned whole (KIP-74). Default 1 MiB.
	MaxPartitionBytes int
	// MaxBytes is fetch.max.bytes: the most batch bytes one Poll reads
	// across partitions (soft in the same way). Default 50 MiB.
	MaxBytes int
}

// AutoCommitConfig holds enable.auto.commit and auto.commit.interval.ms.
type AutoCommitConfig struct {
	// Disable turns enable.auto.commit off; it is on by default, as in
	// Kafka: at the start of a Poll, when Interval has passed since the
	// last auto-commit, the positions (the offsets after the records that
	// earlier Polls returned) are committed asynchronously; they are also
	// committed synchronously before partitions are revoked and at Close.
	// This is at-least-once: a crash redelivers what was returned since the
	// last commit.
	Disable bool
	// Interval is auto.commit.interval.ms. Default 5s.
	Interval time.Duration
}

// RebalanceCallbacks are the group rebalance callbacks (Kafka's
// ConsumerRebalanceListener). They are called from inside Poll (or Close),
// in the goroutine that called it, never with the consumer's locks held, so
// they may call the consumer's methods (Commit, Seek, Position, ...). The
// order within one rebalance is documented at Consumer.Poll. Nil fields are
// skipped.
type RebalanceCallbacks struct {
	// Revoked is called with partitions the consumer gives up while still
	// a member of the group: with the eager protocol every owned partition
	// before rejoining, with the cooperative one only those the new
	// assignment takes away, and every owned partition at Close. Offsets
	// committed here still count (auto-commit has already committed the
	// positions just before the call).
	Revoked func(ctx context.Context, revoked []TopicPartition)
	// Assigned is called after a rebalance with the partitions newly
	// assigned (with the cooperative protocol only the added ones, possibly
	// none). Positions are not yet resolved: Seek here to override the
	// committed offsets.
	Assigned func(ctx context.Context, assigned []TopicPartition)
	// Lost is called instead of Revoked when the consumer finds it is no
	// longer a member (its session expired, it was fenced, or it left the
	// group because Poll was not called within MaxPollInterval): the
	// partitions may already belong to another member, so committing is
	// pointless and is not attempted.
	Lost func(ctx context.Context, lost []TopicPartition)
}

// Config configures a Consumer. Pass a pointer; nil means every default
// (a consumer without a group, for Assign). The zero value of each field
// means its default, which the field's comment gives with the Kafka
// property it mirrors. New copies the Config.
type Config struct {
	// Group is group.id. With Topics or TopicPattern the consumer joins
	// the group and the group's coordinator assigns it partitions; with
	// Assign the group only stores committed offsets (Kafka's "simple"
	// group, generation -1). Empty: no group, no commits.
	Group string
	// InstanceID is group.instance.id: a static member (KIP-345), which
	// keeps its partitions across a restart within SessionTimeout and does
	// not leave the group at Close. Empty: dynamic member.
	InstanceID string
	// Topics subscribes to these topics (requires Group). Topics that do
	// not exist yet are assigned once they are created.
	Topics []string
	// TopicPattern subscribes to every topic whose name it matches,
	// including topics created later (seen within MetadataMaxAge). Internal
	// topics are never matched. Requires Group; may be combined with Topics.
	TopicPattern *regexp.Regexp

	// MaxPollRecords is max.poll.records: the most records one Poll
	// returns. Default 500.
	MaxPollRecords int
	// ReuseRecords trades the ownership of Poll's records for speed: the
	// records one Poll returns, their Key, Value and Headers, are valid
	// only until the next call of Poll (the next step of a Records loop
	// that needs more records) or Close, which reuse or release their
	// memory. Poll then copies nothing: records alias the log's mapped
	// pages, which stay mapped until then, and the record structs and the
	// result slice are reused, so a steady Poll allocates nothing and the
	// garbage collector has nothing to do (BENCHMARKS.md: about 3x the
	// records/s of the default on 100 B records). Copy what you keep
	// (record.Record's Key and Value slices, not just the struct). Not for
	// Consume, whose handlers receive records concurrently with the next
	// Poll (Consume returns ErrInvalidConfig). Default false: records are
	// the caller's for good, as with Kafka's and Sarama's clients.
	ReuseRecords bool
	// Fetch holds fetch.min.bytes, fetch.max.wait.ms,
	// max.partition.fetch.bytes and fetch.max.bytes.
	Fetch FetchConfig
	// AutoOffsetReset is auto.offset.reset. Default OffsetResetLatest.
	AutoOffsetReset OffsetReset
	// AutoCommit holds enable.auto.commit and auto.commit.interval.ms.
	AutoCommit AutoCommitConfig
	// IsolationLevel is isolation.level. Default ReadUncommitted.
	IsolationLevel IsolationLevel

	// SessionTimeout is session.timeout.ms: the coordinator removes a
	// member it has not heard from for this long. Default 45s.
	SessionTimeout time.Duration
	// HeartbeatInterval is heartbeat.interval.ms: how often the consumer's
	// heartbeat goroutine tells the coordinator it is alive, whatever the
	// application does between Polls. Default 3s.
	HeartbeatInterval time.Duration
	// MaxPollInterval is max.poll.interval.ms: a consumer that does not
	// call Poll for this long leaves the group (its partitions go to the
	// others); the next Poll rejoins. It is also the rebalance timeout the
	// consumer gives the coordinator. Default 5m.
	MaxPollInterval time.Duration
	// Assignors is partition.assignment.strategy, in preference order.
	// Default group.DefaultAssignors(): Range, then CooperativeSticky.
	Assignors []group.Assignor
	// MetadataMaxAge is metadata.max.age.ms: how often a TopicPattern
	// subscription looks for new topics. Default 5m.
	MetadataMaxAge time.Duration

	// Rebalance holds the rebalance callbacks.
	Rebalance RebalanceCallbacks

	// Logger receives the consumer's logs (failed auto-commits, rebalances).
	// Nil is silent.
	Logger *slog.Logger
}

// Validate reports the problems of c, each an error matching
// ErrInvalidConfig that names the field and the Kafka property; several are
// joined. A nil or zero Config is valid.
func (c *Config) Validate() error {
	if c == nil {
		return nil
	}
	var errs []error
	bad := func(field, prop, why string) {
		errs = append(errs, fmt.Errorf("%w: %s (%s) %s", ErrInvalidConfig, field, prop, why))
	}
	if c.MaxPollRecords < 0 {
		bad("MaxPollRecords", "max.poll.records", "is negative")
	}
	if c.Fetch.MinBytes < 0 {
		bad("Fetch.MinBytes", "fetch.min.bytes", "is negative")
	}
	if c.Fetch.MaxWait < 0 {
		bad("Fetch.MaxWait", "fetch.max.wait.ms", "is negative")
	}
	if c.Fetch.MaxPartitionBytes < 0 {
		bad("Fetch.MaxPartitionBytes", "max.partition.fetch.bytes", "is negative")
	}
	if c.Fetch.MaxBytes < 0 {
		bad("Fetch.MaxBytes", "fetch.max.bytes", "is negative")
	}
	switch c.AutoOffsetReset {
	case "", OffsetResetEarliest, OffsetResetLatest, OffsetResetNone:
	default:
		bad("AutoOffsetReset", "auto.offset.reset", fmt.Sprintf("is %q, not earliest, latest or none", c.AutoOffsetReset))
	}
	switch c.IsolationLevel {
	case "", ReadUncommitted, ReadCommitted:
	default:
		bad("IsolationLevel", "isolation.level", fmt.Sprintf("is %q, not read_uncommitted or read_committed", c.IsolationLevel))
	}
	if c.AutoCommit.Interval < 0 {
		bad("AutoCommit.Interval", "auto.commit.interval.ms", "is negative")
	}
	if c.SessionTimeout < 0 {
		bad("SessionTimeout", "session.timeout.ms", "is negative")
	}
	if c.HeartbeatInterval < 0 {
		bad("HeartbeatInterval", "heartbeat.interval.ms", "is negative")
	}
	if c.MaxPollInterval < 0 {
		bad("MaxPollInterval", "max.poll.interval.ms", "is negative")
	}
	if c.MetadataMaxAge < 0 {
		bad("MetadataMaxAge", "metadata.max.age.ms", "is negative")
	}
	st, hb := c.SessionTimeout, c.HeartbeatInterval
	if st == 0 {
		st = DefaultSessionTimeout
	}
	if hb == 0 {
		hb = DefaultHeartbeatInterval
	}
	if hb >= st {
		bad("HeartbeatInterval", "heartbeat.interval.ms", "must be lower than SessionTimeout (session.timeout.ms)")
	}
	if (len(c.Topics) > 0 || c.TopicPattern != nil) && c.Group == "" {
		bad("Topics", "group.id", "a subscription needs a Group")
	}
	if c.InstanceID != "" && c.Group == "" {
		bad("InstanceID", "group.instance.id", "needs a Group")
	}
	for i, t := range c.Topics {
		if t == "" {
			bad(fmt.Sprintf("Topics[%d]", i), "subscription", "is empty")
		}
	}
	names := map[string]bool{}
	for i, a := range c.Assignors {
		if a == nil {
			bad(fmt.Sprintf("Assignors[%d]", i), "partition.assignment.strategy", "is nil")
			continue
		}
		if names[a.Name()] {
			bad(fmt.Sprintf("Assignors[%d]", i), "partition.assignment.strategy", fmt.Sprintf("repeats %q", a.Name()))
		}
		names[a.Name()] = true
	}
	return errors.Join(errs...)
}

// withDefaults returns a copy of c with every zero field set to its default.
func (c *Config) withDefaults() Config {
	var out Config
	if c != nil {
		out = *c
	}
	out.Topics = append([]string(nil), out.Topics...)
	out.Assignors = append([]group.Assignor(nil), out.Assignors...)
	if out.MaxPollRecords == 0 {
		out.MaxPollRecords = DefaultMaxPollRecords
	}
	if out.Fetch.MinBytes == 0 {
		out.Fetch.MinBytes = DefaultFetchMinBytes
	}
	if out.Fetch.MaxWait == 0 {
		out.Fetch.MaxWait = DefaultFetchMaxWait
	}
	if out.Fetch.MaxPartitionBytes == 0 {
		out.Fetch.MaxPartitionBytes = DefaultMaxPartitionBytes
	}
	if out.Fetch.MaxBytes == 0 {
		out.Fetch.MaxBytes = DefaultFetchMaxBytes
	}
	if out.AutoOffsetReset == "" {
		out.AutoOffsetReset = DefaultAutoOffsetReset
	}
	if out.IsolationLevel == "" {
		out.IsolationLevel = DefaultIsolationLevel
	}
	if out.AutoCommit.Interval == 0 {
		out.AutoCommit.Interval = DefaultAutoCommitInterval
	}
	if out.SessionTimeout == 0 {
		out.SessionTimeout = DefaultSessionTimeout
	}
	if out.HeartbeatInterval == 0 {
		out.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if out.MaxPollInterval == 0 {
		out.MaxPollInterval = DefaultMaxPollInterval
	}
	if out.MetadataMaxAge == 0 {
		out.MetadataMaxAge = DefaultMetadataMaxAge
	}
	if len(out.Assignors) == 0 {
		out.Assignors = group.DefaultAssignors()
	}
	return out
}

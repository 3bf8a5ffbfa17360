package partition

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/samsalog/samsa/log"
)

// DefaultMaxMessageBytes is max.message.bytes: 1 MiB plus the 12 bytes of
// log overhead, Kafka's default (LogConfig.java).
const DefaultMaxMessageBytes = 1<<20 + 12

// DefaultProducerIDExpiration is producer.id.expiration.ms: 1 day, Kafka's
// default (TransactionLogConfig.java).
const DefaultProducerIDExpiration = 24 * time.Hour

// Config configures a Partition. The zero value of each field means its
// default; Open copies the Config, so changing it afterwards has no effect.
// A nil *Config means all defaults.
// Partition.SetConfig changes the dynamic fields of an open partition.
type Config struct {
	// Log configures the partition's log (segments, retention, the flush
	// policy, the filesystem, the checkpoint an owner keeps). A nil
	// Log.Now defaults to Now.
	Log log.Config

	// MaxMessageBytes is max.message.bytes: Append rejects a batch whose
	// size, counting the 12 bytes of log overhead, is larger, with
	// ErrRecordTooLarge. Default DefaultMaxMessageBytes (1048588); negative
	// is an error.
	MaxMessageBytes int32

	// LogAppendTime is message.timestamp.type=LogAppendTime: Append stamps
	// every batch with the time of the append (record.SetLogAppendTime:
	// attribute bit 3, maxTimestamp, CRC), which consumers then read as
	// every record's timestamp. Default false: CreateTime, the producer's
	// timestamps are kept.
	LogAppendTime bool

	// UnsafeExposeUnsynced makes appended records visible to Fetch and
	// ListOffsets as soon as Append returns, before they are synced: the
	// high watermark is the log end offset instead of the synced offset.
	//
	// The loss window: records a consumer has read can disappear after a
	// power loss or a kernel crash (they were only in the page cache), and
	// a consumer's committed offset can then point past the end of the
	// partition; at most the data appended since the last sync is lost,
	// bounded by how often the owner calls Flush (after OnDirty) and by
	// Log.FlushMessages and Log.FlushMs. A crash of the process alone loses
	// nothing a consumer saw. Default false: consumers see only synced
	// records.
	UnsafeExposeUnsynced bool

	// Now is the clock for LogAppendTime stamps (and for the log, unless
	// Log.Now is set). Default time.Now.
	Now func() time.Time

	// OnDirty, when set, is called when the partition goes from having
	// everything synced to having appended but unsynced records: the
	// owner's flusher queues the partition and calls Flush soon. It is
	// called by Append after the append, with no lock of the partition
	// held, and at most once until the next Flush begins, so it must be
	// cheap and must not block (queue, do not sync inline unless acks are
	// meant to be synchronous). Default nil: nobody is told, and in the
	// default mode the high watermark moves only when someone calls Flush,
	// Sync or WaitSynced, or the log's flush policy syncs.
	OnDirty func(*Partition)

	// ProducerIDExpiration is producer.id.expiration.ms: the idempotence
	// state of a producer ID that has appended nothing for this long is
	// dropped, and its next batch is accepted with any sequence, as a new
	// producer's. Expiry is checked only when a producer snapshot is
	// written (at a segment roll, at Close, at an Open that replayed the
	// log) and at Open; each check reads Now and counts a producer that
	// appended since the previous check as seen then (an append reads no
	// clock). So a producer expires at least ProducerIDExpiration after
	// its last append, measured by the broker's clock, never earlier
	// (Kafka measures by the batches' max timestamps, the producer's clock
	// under CreateTime, and so drops at the next check the state of a
	// producer writing old timestamps). The age is kept in the snapshots
	// and carries over restarts; a batch replayed from the log at Open
	// counts as appended at Open. Default DefaultProducerIDExpiration
	// (1 day); negative is an error.
	ProducerIDExpiration time.Duration
}

// Validate reports the first invalid field of c as an error matching
// ErrInvalidConfig that names the field and its Kafka property; an invalid
// Log field also matches log.ErrInvalidConfig. Zero fields are valid (they
// mean the default). A nil Config is valid.
func (c *Config) Validate() error {
	if c == nil {
		return nil
	}
	if c.MaxMessageBytes < 0 {
		return fmt.Errorf("%w: MaxMessageBytes (max.message.bytes) must not be negative, got %d", ErrInvalidConfig, c.MaxMessageBytes)
	}
	if c.ProducerIDExpiration < 0 {
		return fmt.Errorf("%w: ProducerIDExpiration (producer.id.expiration.ms) must not be negative, got %v", ErrInvalidConfig, c.ProducerIDExpiration)
	}
	if err := c.Log.Validate(); err != nil {
		return fmt.Errorf("%w: Log: %w", ErrInvalidConfig, err)
	}
	return nil
}

// withDefaults returns a copy of c (nil: the zero Config) with defaults
// filled in.
func (c *Config) withDefaults() Config {
	var cfg Config
	if c != nil {
		cfg = *c
	}
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ProducerIDExpiration == 0 {
		cfg.ProducerIDExpiration = DefaultProducerIDExpiration
	}
	if cfg.Log.Now == nil {
		cfg.Log.Now = cfg.Now
	}
	if cfg.Log.Logger == nil {
		cfg.Log.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

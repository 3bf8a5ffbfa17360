package log

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/record"
	"github.com/samsalog/samsa/segment"
)

// Defaults, Kafka's topic-config defaults (LogConfig.java).
const (
	// DefaultSegmentBytes is segment.bytes: 1 GiB.
	DefaultSegmentBytes = 1 << 30
	// DefaultSegmentMs is segment.ms: 7 days.
	//lint:ignore ST1011 named after Kafka's segment.ms, as the field it defaults
	DefaultSegmentMs = 7 * 24 * time.Hour
	// DefaultSegmentIndexBytes is segment.index.bytes: 10 MiB.
	DefaultSegmentIndexBytes = 10 << 20
	// DefaultIndexIntervalBytes is index.interval.bytes: 4096.
	DefaultIndexIntervalBytes = 4096
	// DefaultRetentionMs is retention.ms: 7 days.
	//lint:ignore ST1011 named after Kafka's retention.ms, as the field it defaults
	DefaultRetentionMs = 7 * 24 * time.Hour
)

// Limits checked by Validate.
const (
	// MinSegmentBytes is the smallest accepted SegmentBytes: one batch
	// header. (A batch larger than SegmentBytes still fits: it goes alone
	// into a fresh segment.)
	MinSegmentBytes = record.BatchHeaderSize
	// MaxSegmentBytes is the largest accepted SegmentBytes. Index entries
	// hold 32-bit positions, and a segment may exceed SegmentBytes by one
	// batch, so segments are capped at 2 GiB - 1 as Kafka's int config is.
	MaxSegmentBytes = math.MaxInt32
	// MinSegmentIndexBytes is the smallest accepted SegmentIndexBytes: two
	// time-index entries (the last slot is reserved for the entry written
	// when the segment is sealed).
	MinSegmentIndexBytes = 24
)

// ErrInvalidConfig is matched (errors.Is) by every error of Config.Validate
// and of Open for a bad configuration. The message names the field.
var ErrInvalidConfig = errors.New("log: invalid config")

// Config configures a Log. The zero value of each field means its default;
// Open copies the Config, so changing it afterwards has no effect. A nil
// *Config means all defaults.
//
// The fields up to FlushMs are dynamic: Log.SetConfig changes them on an
// open log. FS, Logger, Now and Checkpoint are static: only Open reads
// them.
type Config struct {
	// SegmentBytes is segment.bytes: the active segment is rolled before an
	// append that would take it past this size. Default 1 GiB; between
	// MinSegmentBytes and MaxSegmentBytes.
	SegmentBytes int64

	// SegmentMs is segment.ms: the active segment is rolled before an
	// append when the appended batch's max timestamp is more than SegmentMs
	// after the segment's first batch timestamp (when batches carry no
	// timestamps: when the segment was created more than SegmentMs ago,
	// by Now). Default 7 days; negative is an error.
	//lint:ignore ST1011 named after Kafka's segment.ms (STYLE: config fields mirror Kafka's properties)
	SegmentMs time.Duration

	// SegmentIndexBytes is segment.index.bytes: the size each segment's
	// .index and .timeindex files are preallocated to. A segment whose index
	// is full is rolled. Default 10 MiB; at least MinSegmentIndexBytes.
	SegmentIndexBytes int

	// IndexIntervalBytes is index.interval.bytes: an index entry is added
	// once more than this many bytes were appended since the last one.
	// Default 4096; negative is an error.
	IndexIntervalBytes int

	// ZeroAheadBytes is segment.Config.ZeroAheadBytes (no Kafka property):
	// each segment's reserved space is written with zeros in blocks of
	// this size ahead of the appends, so that the writeback of small
	// batches (the next fdatasync) works on large page-cache folios; a
	// segment's file then runs ahead of its data by up to one block until
	// the segment is sealed or closed, and after a crash those zeros are
	// a torn tail that recovery cuts. Default 0: off;
	// segment.DefaultZeroAheadBytes (1 MiB) is the value to turn it on
	// with. Applies to segments created or opened from then on. Negative
	// is an error.
	ZeroAheadBytes int

	// RetentionMs is retention.ms: ApplyRetention deletes the oldest
	// sealed segments whose newest timestamp is older than this. Default 7
	// days; negative means forever (Kafka's -1).
	//lint:ignore ST1011 named after Kafka's retention.ms (STYLE: config fields mirror Kafka's properties)
	RetentionMs time.Duration

	// RetentionBytes is retention.bytes: ApplyRetention deletes the oldest
	// sealed segments while what remains is still at least this big.
	// Default (0) and any negative value mean unlimited (Kafka's -1).
	RetentionBytes int64

	// FlushMessages is flush.messages: after an Append that leaves this
	// many or more records unsynced, Append syncs before returning (sharing
	// the fdatasync with concurrent Sync callers). Default 0: never by count.
	// Negative is an error.
	FlushMessages int64

	// FlushMs is flush.ms: when the oldest unsynced data is this old, the
	// next Append or MaybeFlush syncs. The log has no goroutine of its own,
	// so with no Append an owner's ticker must call MaybeFlush for this to
	// bound anything. Default 0: never by time. Negative is an error.
	//
	// With neither FlushMessages nor FlushMs, data is synced only by Sync,
	// Roll (the rolled-out segment) and Close: appended data survives a
	// crash of the process (it is in the page cache) but not of the
	// machine until then.
	//lint:ignore ST1011 named after Kafka's flush.ms (STYLE: config fields mirror Kafka's properties)
	FlushMs time.Duration

	// FS is the filesystem. Default (nil): the operating system's.
	FS fs.FS

	// Logger receives recovery and retention events. Default (nil): silent.
	Logger *slog.Logger

	// Now is the clock used for segment.ms (segments without timestamps),
	// retention.ms and flush.ms. Default (nil): time.Now.
	Now func() time.Time

	// Checkpoint, when set, is the recovery state an owner kept for this
	// log (from a previous Log.Checkpoint); the log then writes no
	// checkpoint file of its own and the owner must persist
	// Log.Checkpoint() itself: Clean=false before the log is appended to,
	// and the value returned after Close, which has Clean=true, at
	// shutdown. Default (nil): the log keeps its own file CheckpointFile in
	// its directory.
	Checkpoint *Checkpoint
}

// withDefaults returns a copy of c (nil: the zero Config) with every zero
// field set to its default.
func (c *Config) withDefaults() Config {
	var out Config
	if c != nil {
		out = *c
	}
	if out.SegmentBytes == 0 {
		out.SegmentBytes = DefaultSegmentBytes
	}
	if out.SegmentMs == 0 {
		out.SegmentMs = DefaultSegmentMs
	}
	if out.SegmentIndexBytes == 0 {
		out.SegmentIndexBytes = DefaultSegmentIndexBytes
	}
	if out.IndexIntervalBytes == 0 {
		out.IndexIntervalBytes = DefaultIndexIntervalBytes
	}
	if out.RetentionMs == 0 {
		out.RetentionMs = DefaultRetentionMs
	}
	if out.RetentionBytes == 0 {
		out.RetentionBytes = -1
	}
	out.FS = fs.Or(out.FS)
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	if out.Checkpoint != nil {
		cp := *out.Checkpoint
		out.Checkpoint = &cp
	}
	return out
}

// Validate reports the first invalid field of c, as an error matching
// ErrInvalidConfig that names the field and its Kafka property. Zero
// fields are valid (they mean the default). A nil Config is valid.
func (c *Config) Validate() error {
	if c == nil {
		return nil
	}
	if c.SegmentBytes != 0 && (c.SegmentBytes < MinSegmentBytes || c.SegmentBytes > MaxSegmentBytes) {
		return invalid("SegmentBytes (segment.bytes)", c.SegmentBytes,
			fmt.Sprintf("want 0 (default) or %d..%d", MinSegmentBytes, MaxSegmentBytes))
	}
	if c.SegmentMs < 0 {
		return invalid("SegmentMs (segment.ms)", c.SegmentMs, "want >= 0")
	}
	if c.SegmentIndexBytes != 0 && (c.SegmentIndexBytes < MinSegmentIndexBytes || c.SegmentIndexBytes > math.MaxInt32) {
		return invalid("SegmentIndexBytes (segment.index.bytes)", c.SegmentIndexBytes,
			fmt.Sprintf("want 0 (default) or %d..%d", MinSegmentIndexBytes, math.MaxInt32))
	}
	if c.IndexIntervalBytes < 0 {
		return invalid("IndexIntervalBytes (index.interval.bytes)", c.IndexIntervalBytes, "want >= 0")
	}
	if c.ZeroAheadBytes < 0 {
		return invalid("ZeroAheadBytes", c.ZeroAheadBytes, "want >= 0")
	}
	if c.FlushMessages < 0 {
		return invalid("FlushMessages (flush.messages)", c.FlushMessages, "want >= 0")
	}
	if c.FlushMs < 0 {
		return invalid("FlushMs (flush.ms)", c.FlushMs, "want >= 0")
	}
	if cp := c.Checkpoint; cp != nil {
		if cp.LogStartOffset < 0 {
			return invalid("Checkpoint.LogStartOffset", cp.LogStartOffset, "want >= 0")
		}
		if cp.RecoveryPoint < 0 {
			return invalid("Checkpoint.RecoveryPoint", cp.RecoveryPoint, "want >= 0")
		}
	}
	return nil
}

func invalid(field string, v any, want string) error {
	return fmt.Errorf("%w: %s is %v: %s", ErrInvalidConfig, field, v, want)
}

// dynConfig is the part of a Config that SetConfig may change, with
// defaults filled in, and the segment config derived from it. A published
// dynConfig is never modified: SetConfig publishes a new one, so readers
// load it once (one atomic load, no lock, no allocation) and see a
// consistent set.
type dynConfig struct {
	SegmentBytes int64
	//lint:ignore ST1011 as Config.SegmentMs
	SegmentMs time.Duration
	//lint:ignore ST1011 as Config.RetentionMs
	RetentionMs    time.Duration
	RetentionBytes int64
	FlushMessages  int64
	//lint:ignore ST1011 as Config.FlushMs
	FlushMs time.Duration
	// seg is what new segments are created (and, at Open, existing ones
	// opened) with: IndexIntervalBytes, SegmentIndexBytes.
	seg segment.Config
}

// newDynConfig returns the dynamic part of c, which has its defaults.
func newDynConfig(c *Config) *dynConfig {
	return &dynConfig{
		SegmentBytes:   c.SegmentBytes,
		SegmentMs:      c.SegmentMs,
		RetentionMs:    c.RetentionMs,
		RetentionBytes: c.RetentionBytes,
		FlushMessages:  c.FlushMessages,
		FlushMs:        c.FlushMs,
		seg: segment.Config{
			IndexIntervalBytes: c.IndexIntervalBytes,
			MaxIndexBytes:      c.SegmentIndexBytes,
			// Reserve disk space ahead in chunks, but not far past a
			// small segment.
			PreallocateBytes: int(min(c.SegmentBytes, segment.DefaultPreallocateBytes)),
			ZeroAheadBytes:   c.ZeroAheadBytes,
			FS:               c.FS,
		},
	}
}

// SetConfig changes the dynamic settings of the open log to those of c, as
// Kafka applies a topic config change to its running logs. c is read as
// Open reads its Config (a zero field means the default) and validated
// first, as Open validates: an invalid c returns an error matching
// ErrInvalidConfig that names the field, and nothing changes. The static
// fields (FS, Logger, Now, Checkpoint) are ignored: they keep the values
// Open was given.
//
// The new settings apply from the next operation that reads them: the
// next Append's roll check (SegmentBytes, SegmentMs) and flush check
// (FlushMessages, FlushMs), the next MaybeFlush, the next ApplyRetention
// (RetentionMs, RetentionBytes). IndexIntervalBytes and SegmentIndexBytes
// apply to segments created from then on; the active segment keeps its
// indexes. Nothing is synced, rolled or deleted by SetConfig itself: a
// lower FlushMessages syncs at the next Append, a lower RetentionMs deletes
// at the next ApplyRetention. An Append running concurrently uses either
// the old or the new settings, never a mix.
//
// Safe for concurrent use with every other method; on a closed log it
// changes nothing that matters and returns nil.
func (l *Log) SetConfig(c Config) error {
	// The static fields are not validated either: they are ignored.
	c.FS, c.Logger, c.Now, c.Checkpoint = l.cfg.FS, l.cfg.Logger, l.cfg.Now, nil
	if err := c.Validate(); err != nil {
		return err
	}
	d := c.withDefaults()
	l.dyn.Store(newDynConfig(&d))
	return nil
}

package partition

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/log"
)

// Special timestamps of ListOffsets, as in Kafka's ListOffsets request
// (the same values as the log package's).
const (
	// Latest asks ListOffsets for the high watermark.
	Latest = log.Latest
	// Earliest asks ListOffsets for the log start offset.
	Earliest = log.Earliest
	// NoOffset is what ListOffsets returns when no visible record has a
	// timestamp at or after the one asked for (Kafka answers -1 too).
	NoOffset = log.NoOffset
)

// Partition is one partition of a topic: its log plus what a Kafka broker
// keeps per partition: the high watermark and the log end offset, the
// fetchers waiting for new data, the idempotent-producer state, and (later)
// the transaction state.
//
// A Partition is safe for concurrent use. Appends are serialized by one
// mutex; fetches take no lock shared with appends except, briefly, to
// register as a waiter. It starts no goroutines: the owner syncs it (Flush,
// after OnDirty) and applies retention (ApplyRetention) from its own
// background work, shared by all its partitions. An idle partition holds
// no buffers: a few hundred bytes beside its log, plus about 200 bytes per
// producer ID with idempotence state.
type Partition struct {
	topic string
	id    int32
	log   *log.Log

	// Settings copied from the Config. The dynamic ones (SetConfig) are
	// atomics, read without a lock on the append and fetch paths.
	maxMessageBytes atomic.Int32
	logAppendTime   atomic.Bool
	exposeUnsynced  atomic.Bool
	now             func() time.Time
	onDirty         func(*Partition)
	fsys            fs.FS        // the log's, for the producer snapshots
	logger          *slog.Logger // the log's

	// appendMu serializes Append (validation that depends on state,
	// producer and transaction checks, stamping, log.Append) and Close.
	appendMu  sync.Mutex
	producers *producerStates // idempotence (producerstate.go, snapshot.go)
	txns      txnState
	// segments is the log's segment count after the last append: when an
	// append changes it (a roll, or retention since), Append snapshots the
	// producer state as Kafka does on every roll. Guarded by appendMu.
	segments int
	// snapshotAt is the offset of the newest producer snapshot written or
	// loaded, -1 if none: Close writes none when it is already the log end
	// offset. Guarded by appendMu.
	snapshotAt int64

	hw     atomic.Int64 // high watermark, published for lock-free readers; never decreases
	dirty  atomic.Bool  // appended data not yet covered by a Flush; OnDirty was called
	closed atomic.Bool

	// waitMu guards wake: the channel fetchers wait on, closed and
	// dropped on every advance of the high watermark (and on Close). It
	// is nil while nobody waits, so a partition without fetchers allocates
	// nothing when its high watermark moves.
	waitMu sync.Mutex
	wake   chan struct{}
	// notify are the channels registered with Notify, sent to (without
	// blocking) at every broadcast. Guarded by waitMu.
	notify []chan<- struct{}
}

// Open opens the partition whose log lives in dir (the owner names it,
// Kafka's "<topic>-<partition>"), creating it if needed and recovering it
// after an unclean stop (see log.Open). topic and id name the partition for
// Topic, ID and error messages.
//
// The high watermark starts at the log end offset: Open syncs whatever
// recovery kept, so all of it is visible.
//
// Open then rebuilds the idempotent-producer state: from the newest valid
// .snapshot file at or below the log end offset, plus the headers of the
// batches appended after it (see the package documentation, "Idempotent
// producers"). After a clean Close that reads no batch; after a crash,
// about what was appended since the last segment roll.
//
// Errors: ErrInvalidConfig, and the log's (log.ErrCorrupt, I/O errors),
// also from reading the producer snapshots and replaying the log.
func Open(dir, topic string, id int32, cfg *Config) (*Partition, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := cfg.withDefaults()
	l, err := log.Open(dir, &c.Log)
	if err != nil {
		return nil, err
	}
	p := &Partition{
		topic:      topic,
		id:         id,
		log:        l,
		now:        c.Now,
		onDirty:    c.OnDirty,
		fsys:       fs.Or(c.Log.FS),
		logger:     c.Log.Logger,
		producers:  newProducerStates(c.ProducerIDExpiration, c.LogAppendTime),
		txns:       noTxnState{},
		snapshotAt: -1,
	}
	p.maxMessageBytes.Store(c.MaxMessageBytes)
	p.logAppendTime.Store(c.LogAppendTime)
	p.exposeUnsynced.Store(c.UnsafeExposeUnsynced)
	if err := p.loadProducers(); err != nil {
		_ = l.Close()
		return nil, err
	}
	p.segments = l.Segments()
	p.hw.Store(p.visibleEnd())
	return p, nil
}

// SetConfig changes the dynamic settings of the open partition to those of
// c, as Kafka applies a topic config change to its running partitions. c is
// read as Open reads its Config (a zero field means the default) and
// validated first: an invalid c returns an error matching ErrInvalidConfig
// (and log.ErrInvalidConfig for a Log field) that names the field, and
// nothing changes.
//
// Dynamic: MaxMessageBytes and LogAppendTime (from the next Append),
// ProducerIDExpiration (from the next expiry check), UnsafeExposeUnsynced,
// and the dynamic fields of Log (see log.Log.SetConfig). Static, ignored:
// Now, OnDirty, and Log.FS, Log.Logger, Log.Now and Log.Checkpoint.
//
// UnsafeExposeUnsynced: switching it on raises the high watermark to the
// log end offset at once (waking the fetchers); switching it off does not
// lower it, since the high watermark never decreases: records already
// exposed stay visible, and it moves again once the synced offset passes
// it.
//
// LogAppendTime: batches appended from then on are stamped (or not); a
// retried duplicate of an earlier batch reports its timestamp by the new
// setting.
//
// Safe for concurrent use with every other method: it waits for an Append
// in progress, which uses either the old or the new settings. On a closed
// partition it changes nothing that matters and returns nil.
func (p *Partition) SetConfig(c Config) error {
	// The static fields are not validated either: they are ignored.
	c.Log.FS, c.Log.Logger, c.Log.Now, c.Log.Checkpoint = nil, nil, nil, nil
	c.Now, c.OnDirty = nil, nil
	if err := c.Validate(); err != nil {
		return err
	}
	c = c.withDefaults()
	p.appendMu.Lock()
	if err := p.log.SetConfig(c.Log); err != nil {
		p.appendMu.Unlock()
		return fmt.Errorf("%w: Log: %w", ErrInvalidConfig, err) // cannot happen: validated above
	}
	p.maxMessageBytes.Store(c.MaxMessageBytes)
	p.logAppendTime.Store(c.LogAppendTime)
	p.producers.logAppendTime = c.LogAppendTime
	p.producers.expiration = c.ProducerIDExpiration
	p.exposeUnsynced.Store(c.UnsafeExposeUnsynced)
	p.appendMu.Unlock()
	// On: the log end offset is visible now. Off: a no-op, the high
	// watermark only goes up.
	p.refreshHighWatermark()
	return nil
}

// Topic returns the name of the partition's topic.
func (p *Partition) Topic() string { return p.topic }

// ID returns the partition's number within its topic.
func (p *Partition) ID() int32 { return p.id }

// Dir returns the partition's directory.
func (p *Partition) Dir() string { return p.log.Dir() }

// LogStartOffset returns the first offset that can be fetched.
func (p *Partition) LogStartOffset() int64 { return p.log.StartOffset() }

// LogEndOffset returns the log end offset: the offset the next appended
// record gets. Records between the high watermark and it are appended but
// not yet visible to Fetch.
func (p *Partition) LogEndOffset() int64 { return p.log.EndOffset() }

// Checkpoint returns the log's recovery state for an owner that keeps it
// (log.Config.Checkpoint); see log.Log.Checkpoint.
func (p *Partition) Checkpoint() log.Checkpoint { return p.log.Checkpoint() }

// ApplyRetention deletes the oldest segments that retention.ms and
// retention.bytes no longer keep and returns how many it deleted (see
// log.Log.ApplyRetention). Only segments wholly below the high watermark
// qualify: a segment that has a successor was synced in full when it was
// rolled, and when the active segment qualifies it is rolled (and so
// synced) first. Fetchers holding a View of a deleted segment keep valid
// data until they release it; later fetches below the new log start offset
// fail with ErrOffsetOutOfRange. The owner calls it from a ticker.
// Errors: ErrClosed, log.ErrFailed, I/O errors.
func (p *Partition) ApplyRetention() (int, error) {
	n, err := p.log.ApplyRetention()
	p.refreshHighWatermark()
	if n > 0 {
		p.broadcast() // fetchers waiting below the new start fail now, as in Kafka
	}
	return n, wrapLog(err)
}

// DeleteRecordsBefore moves the log start offset up to offset (Kafka's
// DeleteRecords) and returns the number of segments deleted at once; see
// log.Log.DeleteRecordsBefore. As in Kafka, offset may not pass the high
// watermark (ErrOffsetOutOfRange). Errors also: ErrClosed, log.ErrFailed,
// I/O errors.
func (p *Partition) DeleteRecordsBefore(offset int64) (int, error) {
	if p.closed.Load() {
		return 0, ErrClosed
	}
	if hw := p.hw.Load(); offset > hw {
		return 0, outOfRange(offset, p.log.StartOffset(), hw)
	}
	before := p.log.StartOffset()
	n, err := p.log.DeleteRecordsBefore(offset)
	if p.log.StartOffset() != before {
		p.broadcast() // fetchers waiting below the new start fail now
	}
	return n, wrapLog(err)
}

// Stats is a snapshot of a partition's state.
type Stats struct {
	// LogStartOffset, HighWatermark, LastStableOffset and LogEndOffset are
	// as the methods of the same names return.
	LogStartOffset, HighWatermark, LastStableOffset, LogEndOffset int64
	// Dirty reports appended data that no Flush has covered yet.
	Dirty bool
	// Producers is the number of producer IDs whose idempotence state the
	// partition keeps.
	Producers int
	// Log holds the log's state and counters (segments, bytes on disk,
	// syncs, recovery).
	Log log.Stats
}

// Stats returns a snapshot of the partition's state. It takes no lock
// shared with Append.
func (p *Partition) Stats() Stats {
	hw := p.hw.Load()
	return Stats{
		LogStartOffset:   p.log.StartOffset(),
		HighWatermark:    hw,
		LastStableOffset: p.txns.lastStable(hw),
		LogEndOffset:     p.log.EndOffset(),
		Dirty:            p.dirty.Load(),
		Producers:        int(p.producers.count.Load()),
		Log:              p.log.Stats(),
	}
}

// Close closes the partition: the log is synced, sealed and closed (see
// log.Log.Close), so that everything appended becomes durable and the next
// Open scans nothing, and the idempotent-producer state is written to a
// snapshot at the log end offset (unless one is there already), so that
// the next Open reads no batch to rebuild it; fetchers waiting in Fetch
// return ErrClosed at once, and every later call returns ErrClosed. Views
// already returned by Fetch stay valid until released. Closing a closed
// partition returns nil.
// Errors: log.ErrFailed after a failed fsync (nothing is recorded as a
// clean shutdown, and no snapshot is written), I/O errors; an error
// writing the snapshot (the log is closed cleanly all the same, and the
// next Open rebuilds the state from an older snapshot and the log).
func (p *Partition) Close() error { return p.close(true) }

// close is Close, with the producer snapshot only if snapshot is set.
func (p *Partition) close(snapshot bool) error {
	p.appendMu.Lock()
	if p.closed.Load() {
		p.appendMu.Unlock()
		return nil
	}
	p.closed.Store(true)
	end := p.log.EndOffset()
	err := p.log.Close()
	if err == nil && snapshot && end != p.snapshotAt {
		// After log.Close: the records the snapshot describes are synced,
		// so it can never be ahead of the log after a power loss.
		err = p.snapshotLocked(end)
	}
	p.appendMu.Unlock()
	p.refreshHighWatermark()
	p.broadcast() // wakes fetchers, which see closed
	if errors.Is(err, log.ErrClosed) {
		return nil
	}
	return err
}

// Delete closes the partition and removes its directory (see
// log.Log.Delete: renamed to "<dir>.deleted" first, so a crash leaves an
// owner a name to recognise). Views still held stay valid.
func (p *Partition) Delete() error {
	if err := p.close(false); err != nil && !errors.Is(err, log.ErrFailed) {
		return err
	}
	return p.log.Delete()
}

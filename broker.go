package samsa

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsalog/samsa/group"
	"github.com/samsalog/samsa/internal/flock"
	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/log"
	"github.com/samsalog/samsa/partition"
)

// Broker owns a data directory: its topics, their partitions, and the
// background work that keeps them (one flusher, one retention ticker, one
// checkpoint ticker; no goroutine per partition). Open one with Open; Close
// it when done.
//
// A Broker is safe for concurrent use. Topic changes (CreateTopic,
// DeleteTopic, AlterTopicConfig, CreatePartitions) are serialized; looking
// a partition up (Partition, PartitionForProduce) takes no lock. Every
// method called after Close returns an error matching ErrClosed.
type Broker struct {
	dir    string
	cfg    Config // withDefaults applied
	fs     fs.FS
	logger *slog.Logger
	lock   *flock.Lock
	reg    *registry

	// adminMu serializes topic changes, checkpoint writes and the closing
	// of partitions. Lock order: adminMu, then registry.mu.
	adminMu sync.Mutex
	// staleCheckpoint is set (under adminMu) when the checkpoint files may
	// still name partitions of a deleted topic: they must be rewritten
	// before partitions of that name are created again, or a new partition
	// would inherit the old one's recovery point.
	staleCheckpoint bool

	// topics is the immutable map of open topics, replaced as a whole
	// (copy on write, under adminMu) so lookups take no lock.
	topics atomic.Pointer[map[string]*openTopic]

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	stop      chan struct{} // closed by Close: the background goroutines end
	wg        sync.WaitGroup

	flush flusher
	stats brokerCounters

	// coord is the group coordinator (group.go), set by Open.
	coord *group.Coordinator
}

// openTopic is a topic with its open partitions. Immutable once published.
type openTopic struct {
	meta  *topicMeta
	parts []*partition.Partition // index = partition id
}

// brokerCounters are the counters of Stats.
type brokerCounters struct {
	openDuration      time.Duration
	cleanOpen         bool
	flushRounds       atomic.Uint64
	flushedPartitions atomic.Uint64
	flushErrors       atomic.Uint64
	retentionRuns     atomic.Uint64
	deletedSegments   atomic.Uint64
	retentionErrors   atomic.Uint64
	checkpoints       atomic.Uint64
	checkpointErrors  atomic.Uint64
	autoCreatedTopics atomic.Uint64
}

// Open opens the data directory dir, creating it if needed, with cfg (nil:
// every default). It takes the directory's lock: if another Broker, in this
// process or another, has it open, Open fails at once with an error
// matching ErrDirLocked and touches nothing. It then loads the topic
// registry (finishing deletions a crash interrupted), opens and recovers
// every partition in parallel (as many at a time as GOMAXPROCS), writes the
// checkpoint files, and starts the background work.
//
// After a clean Close, opening scans no data: it costs a few file opens per
// partition. After a crash, each partition is validated from its last
// checkpointed recovery point (see Config.CheckpointInterval) and a torn
// tail is cut; damage below that point is an error matching log.ErrCorrupt,
// never repaired silently.
//
// Errors: ErrInvalidConfig (cfg.Validate), ErrDirLocked,
// ErrCorruptRegistry, ErrRegistryVersion, a partition's recovery error
// (naming the partition), or an I/O error. On error nothing is left open
// or locked.
func Open(dir string, cfg *Config) (*Broker, error) {
	start := time.Now()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := cfg.withDefaults()
	if err := c.fs.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("samsa: create data directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	b := &Broker{
		dir:    dir,
		cfg:    c,
		fs:     c.fs,
		logger: c.Logger,
		lock:   lock,
		stop:   make(chan struct{}),
	}
	b.flush.wake = make(chan struct{}, 1)
	empty := map[string]*openTopic{}
	b.topics.Store(&empty)
	if err := b.open(); err != nil {
		_ = lock.Release()
		return nil, err
	}
	if err := b.openCoordinator(); err != nil {
		_ = b.closePartitions(allPartitions(b.topicMap()))
		_ = lock.Release()
		return nil, err
	}
	b.stats.openDuration = time.Since(start)
	b.startBackground()
	return b, nil
}

// open does Open's work once the directory is locked. On error it closes
// whatever it opened (but not the lock).
func (b *Broker) open() error {
	// The marker goes first, before anything else is written: from here a
	// crash must not find it.
	clean, err := removeCleanShutdown(b.fs, b.dir)
	if err != nil {
		return err
	}
	b.stats.cleanOpen = clean
	reg, err := openRegistry(b.fs, b.dir, b.logger)
	if err != nil {
		return err
	}
	b.reg = reg
	ckpts := b.loadCheckpoints(clean)

	state := reg.snapshot()
	var jobs []partitionJob
	for _, name := range state.names {
		m := state.lookup(name)
		for p := range m.partitions {
			jobs = append(jobs, partitionJob{meta: m, id: p, checkpoint: ckpts.forPartition(name, p)})
		}
	}
	parts, err := b.openPartitions(jobs, runtime.GOMAXPROCS(0))
	if err != nil {
		return err
	}
	topics := make(map[string]*openTopic, len(state.names))
	for i, j := range jobs {
		t := topics[j.meta.name]
		if t == nil {
			t = &openTopic{meta: j.meta, parts: make([]*partition.Partition, 0, j.meta.partitions)}
			topics[j.meta.name] = t
		}
		t.parts = append(t.parts, parts[i])
	}
	b.topics.Store(&topics)

	// Checkpoint the state just recovered, and drop entries of partitions
	// the registry does not hold (a topic deleted just before a crash).
	b.adminMu.Lock()
	err = b.writeCheckpointsLocked()
	b.adminMu.Unlock()
	if err != nil {
		b.closePartitions(allPartitions(topics))
		return err
	}
	return nil
}

// forPartition returns the recovery state to hand the log of topic's
// partition p. A partition missing from either file gets recovery point 0
// (its data is validated in full) and is never clean.
func (lc *loadedCheckpoints) forPartition(topic string, p int32) *log.Checkpoint {
	tp := topicPartition{topic, p}
	rp, ok1 := lc.recoveryPoints[tp]
	ls, ok2 := lc.logStarts[tp]
	return &log.Checkpoint{RecoveryPoint: rp, LogStartOffset: ls, Clean: lc.clean && ok1 && ok2}
}

// partitionJob is one partition to open.
type partitionJob struct {
	meta       *topicMeta
	id         int32
	checkpoint *log.Checkpoint // nil: a new partition
}

// openPartitions opens the partitions of jobs with at most workers at a
// time and returns them in the order of jobs. On the first error it stops
// handing out jobs, closes what was opened and returns the error.
func (b *Broker) openPartitions(jobs []partitionJob, workers int) ([]*partition.Partition, error) {
	parts := make([]*partition.Partition, len(jobs))
	err := runParallel(len(jobs), workers, func(i int) error {
		p, err := b.openPartition(jobs[i].meta, jobs[i].id, jobs[i].checkpoint)
		parts[i] = p
		return err
	})
	if err != nil {
		var opened []*partition.Partition
		for _, p := range parts {
			if p != nil {
				opened = append(opened, p)
			}
		}
		b.closePartitions(opened)
		return nil, err
	}
	return parts, nil
}

// openPartition opens one partition of topic m with its recovery state ck
// (nil: a new, empty partition).
func (b *Broker) openPartition(m *topicMeta, id int32, ck *log.Checkpoint) (*partition.Partition, error) {
	if ck == nil {
		ck = &log.Checkpoint{}
	}
	dir := filepath.Join(b.dir, partitionDirName(m.name, id))
	p, err := partition.Open(dir, m.name, id, b.partitionConfig(m, ck))
	if err != nil {
		return nil, fmt.Errorf("samsa: open partition %d of topic %q: %w", id, m.name, err)
	}
	return p, nil
}

// partitionConfig builds a partition's config from its topic's effective
// config.
func (b *Broker) partitionConfig(m *topicMeta, ck *log.Checkpoint) *partition.Config {
	eff := m.overrides.effective(b.cfg.topicDefaults())
	lp := eff.logParams()
	return &partition.Config{
		Log: log.Config{
			// Kafka's minimums are below log's: a segment of 14 bytes and
			// one of log.MinSegmentBytes both hold one batch each; an
			// index of 4 bytes and one of log.MinSegmentIndexBytes both
			// force a roll after a few entries.
			SegmentBytes:       max(lp.SegmentBytes, log.MinSegmentBytes),
			SegmentMs:          lp.SegmentMs,
			SegmentIndexBytes:  max(lp.SegmentIndexBytes, log.MinSegmentIndexBytes),
			IndexIntervalBytes: lp.IndexIntervalBytes,
			RetentionMs:        lp.RetentionMs,
			RetentionBytes:     lp.RetentionBytes,
			FlushMessages:      lp.FlushMessages,
			FlushMs:            lp.FlushMs,
			ZeroAheadBytes:     b.cfg.SegmentZeroAheadBytes,
			FS:                 b.fs,
			Logger:             b.logger,
			Now:                b.cfg.now,
			Checkpoint:         ck,
		},
		MaxMessageBytes:      eff.MaxMessageBytes,
		LogAppendTime:        eff.MessageTimestampType == LogAppendTime,
		UnsafeExposeUnsynced: eff.UnsafeExposeUnsynced,
		Now:                  b.cfg.now,
		OnDirty:              b.flush.markDirty,
	}
}

// closePartitions closes ps in parallel and returns their errors joined.
func (b *Broker) closePartitions(ps []*partition.Partition) error {
	errs := make([]error, len(ps))
	_ = runParallel(len(ps), closeWorkers(), func(i int) error {
		if err := ps[i].Close(); err != nil {
			errs[i] = fmt.Errorf("samsa: close partition %d of topic %q: %w", ps[i].ID(), ps[i].Topic(), err)
		}
		return nil
	})
	return errors.Join(errs...)
}

// closeWorkers is how many partitions are closed (or created) at a time:
// each does an fdatasync or a few, which overlap well on any disk, so more
// than the cores.
func closeWorkers() int { return max(runtime.GOMAXPROCS(0), 8) }

// allPartitions lists every partition of topics.
func allPartitions(topics map[string]*openTopic) []*partition.Partition {
	var out []*partition.Partition
	for _, t := range topics {
		out = append(out, t.parts...)
	}
	return out
}

// runParallel calls fn(0..n-1) from at most workers goroutines and returns
// the first error; after it, no further index is handed out. The
// goroutines have all returned when it does.
func runParallel(n, workers int, fn func(i int) error) error {
	if n == 0 {
		return nil
	}
	workers = max(1, min(workers, n))
	var (
		next     atomic.Int64
		failed   atomic.Bool
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	work := func() {
		defer wg.Done()
		for !failed.Load() {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			if err := fn(i); err != nil {
				errOnce.Do(func() { firstErr = err })
				failed.Store(true)
			}
		}
	}
	wg.Add(workers)
	for range workers - 1 {
		go work()
	}
	work()
	wg.Wait()
	return firstErr
}

// topicMap returns the current map of open topics. Never modify it.
func (b *Broker) topicMap() map[string]*openTopic { return *b.topics.Load() }

// publishTopicLocked replaces (t non-nil) or removes (t nil) topic name in
// the map of open topics. b.adminMu must be held.
func (b *Broker) publishTopicLocked(name string, t *openTopic) {
	next := maps.Clone(b.topicMap())
	if t == nil {
		delete(next, name)
	} else {
		next[name] = t
	}
	b.topics.Store(&next)
}

// Dir returns the broker's data directory.
func (b *Broker) Dir() string { return b.dir }

// Close stops the background work, closes every partition (syncing and
// sealing its active segment, so that the next Open scans nothing), writes
// the checkpoint files and, if every partition closed cleanly, the
// clean-shutdown marker, and releases the directory's lock. It leaves no
// goroutine, open file or mapping behind, except the mappings of Views
// that callers still hold, which stay valid until released.
//
// Appends, syncs and fetches in flight fail with the partition's ErrClosed
// (partition.ErrClosed); every Broker method called after Close returns an
// error matching ErrClosed. Close waits for topic changes in flight.
// Closing a closed Broker returns nil.
func (b *Broker) Close() error {
	first := false
	b.closeOnce.Do(func() {
		first = true
		b.closeErr = b.close()
	})
	if !first {
		return nil
	}
	return b.closeErr
}

func (b *Broker) close() error {
	b.closed.Store(true)
	// The coordinator first: no commit starts on a closing partition.
	_ = b.coord.Close()
	close(b.stop)
	b.wg.Wait() // the background goroutines never hold adminMu while Close waits

	b.adminMu.Lock()
	defer b.adminMu.Unlock()
	topics := b.topicMap()
	parts := allPartitions(topics)
	var errs []error
	if err := b.closePartitions(parts); err != nil {
		errs = append(errs, err)
	}
	clean := len(errs) == 0
	for _, p := range parts {
		if !p.Checkpoint().Clean {
			clean = false
		}
	}
	// Checkpoints of closed partitions are their final state (synced:
	// recovery point = log end offset).
	if err := b.writeCheckpointsLocked(); err != nil {
		errs = append(errs, err)
		clean = false
	}
	if clean && !b.staleCheckpoint {
		if err := writeCleanShutdown(b.fs, b.dir); err != nil {
			errs = append(errs, err)
		}
	}
	empty := map[string]*openTopic{}
	b.topics.Store(&empty)
	b.flush.reset()
	if err := b.lock.Release(); err != nil {
		errs = append(errs, fmt.Errorf("samsa: release data directory lock: %w", err))
	}
	return errors.Join(errs...)
}

// checkOpen returns ErrClosed after Close.
func (b *Broker) checkOpen() error {
	if b.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Stats is a snapshot of a Broker's state and counters.
type Stats struct {
	// Topics and Partitions count the open topics (internal ones included)
	// and their partitions.
	Topics, Partitions int
	// OpenDuration is how long Open took.
	OpenDuration time.Duration
	// CleanOpen reports that Open found the clean-shutdown marker: the
	// partitions' data was not scanned.
	CleanOpen bool
	// FlushRounds counts the background flusher's rounds, FlushedPartitions
	// the partition flushes they did, FlushErrors the ones that failed.
	FlushRounds, FlushedPartitions, FlushErrors uint64
	// RetentionRuns counts retention passes over all partitions,
	// DeletedSegments the segments they deleted, RetentionErrors the
	// partitions whose retention failed.
	RetentionRuns, DeletedSegments, RetentionErrors uint64
	// Checkpoints counts the writes of the checkpoint files,
	// CheckpointErrors the failed ones.
	Checkpoints, CheckpointErrors uint64
	// AutoCreatedTopics counts topics created by auto.create.topics.enable.
	AutoCreatedTopics uint64
}

// Stats returns a snapshot of the broker's counters. It takes no lock and
// works after Close too.
func (b *Broker) Stats() Stats {
	s := Stats{
		OpenDuration:      b.stats.openDuration,
		CleanOpen:         b.stats.cleanOpen,
		FlushRounds:       b.stats.flushRounds.Load(),
		FlushedPartitions: b.stats.flushedPartitions.Load(),
		FlushErrors:       b.stats.flushErrors.Load(),
		RetentionRuns:     b.stats.retentionRuns.Load(),
		DeletedSegments:   b.stats.deletedSegments.Load(),
		RetentionErrors:   b.stats.retentionErrors.Load(),
		Checkpoints:       b.stats.checkpoints.Load(),
		CheckpointErrors:  b.stats.checkpointErrors.Load(),
		AutoCreatedTopics: b.stats.autoCreatedTopics.Load(),
	}
	for _, t := range b.topicMap() {
		s.Topics++
		s.Partitions += len(t.parts)
	}
	return s
}

package group

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/samsalog/samsa/partition"
	"github.com/samsalog/samsa/record"
)

// Defaults of a CoordinatorConfig.
const (
	// DefaultInitialRebalanceDelay is the embedded default of
	// group.initial.rebalance.delay.ms. Kafka's 3000 ms lets a fleet of
	// consumers started together join one first generation instead of
	// one each; in one process they start within microseconds, and a
	// test author should not wait three seconds for every new group.
	DefaultInitialRebalanceDelay = 100 * time.Millisecond
	// DefaultMinSessionTimeout is the embedded default of
	// group.min.session.timeout.ms. Kafka's 6000 ms guards against
	// members flapping over a network; heartbeats here are function
	// calls, so any positive timeout is allowed by default.
	DefaultMinSessionTimeout = time.Millisecond
	// DefaultMaxSessionTimeout is group.max.session.timeout.ms (Kafka's
	// default, 30 minutes).
	DefaultMaxSessionTimeout = 30 * time.Minute
	// DefaultMaxMetadataBytes is offset.metadata.max.bytes.
	DefaultMaxMetadataBytes = 4096
	// DefaultCompactionMinBytes is the default CompactionMinBytes: a
	// replay of 16 MiB takes tens of milliseconds.
	DefaultCompactionMinBytes = 16 << 20
)

// CoordinatorConfig configures a Coordinator. The zero value of each field
// means its default; NewCoordinator copies it.
type CoordinatorConfig struct {
	// Offsets are the partitions of the internal topic __consumer_offsets,
	// index = partition ID. Required (at least one). A group's commits go
	// to partition OffsetsPartition(group, len(Offsets)), so the count
	// must not change once commits were written. The coordinator appends
	// to them and reads them; it does not close them.
	Offsets []*partition.Partition

	// PartitionCount returns the current partition count of a topic, 0 if
	// it does not exist. Required. The coordinator calls it, with its
	// locks held, when it computes an assignment: it must be quick and
	// must not call back into the Coordinator.
	PartitionCount func(topic string) int32

	// Now stamps commits (OffsetAndMetadata.CommitTime). Default
	// time.Now. Session, rebalance and delay timers use the time package
	// directly (tests run them under testing/synctest).
	Now func() time.Time

	// Logger receives membership changes at Info and Debug. Nil is silent.
	Logger *slog.Logger

	// InitialRebalanceDelay is group.initial.rebalance.delay.ms: the first
	// rebalance of an empty group waits this long for more members, each
	// new member extending the wait by as much, up to the rebalance
	// timeout. Default DefaultInitialRebalanceDelay (100 ms, Kafka 3 s);
	// negative means no delay.
	InitialRebalanceDelay time.Duration

	// MinSessionTimeout and MaxSessionTimeout are
	// group.min.session.timeout.ms and group.max.session.timeout.ms: a
	// Join with a session timeout outside them fails with
	// ErrInvalidSessionTimeout. Defaults DefaultMinSessionTimeout (1 ms,
	// Kafka 6 s) and DefaultMaxSessionTimeout (30 minutes).
	MinSessionTimeout, MaxSessionTimeout time.Duration

	// MaxMetadataBytes is offset.metadata.max.bytes: the longest metadata
	// string of a commit. Default DefaultMaxMetadataBytes (4096); at most
	// 32767 (a Kafka string).
	MaxMetadataBytes int

	// CompactionMinBytes is the floor of the compaction trigger of the
	// offsets partitions (samsa's own; Kafka's log cleaner has
	// min.cleanable.dirty.ratio instead): MaybeCompactOffsets compacts a
	// partition once the commits appended to it since its last compaction
	// exceed max(CompactionMinBytes, 2x its live set). See
	// CompactOffsets. Default DefaultCompactionMinBytes (16 MiB);
	// negative means MaybeCompactOffsets never compacts.
	CompactionMinBytes int64
}

// Validate reports the problems of c, each an error matching
// ErrInvalidConfig that names the field.
func (c *CoordinatorConfig) Validate() error {
	if c == nil {
		return fmt.Errorf("%w: nil config (Offsets and PartitionCount are required)", ErrInvalidConfig)
	}
	var errs []error
	if len(c.Offsets) == 0 {
		errs = append(errs, fmt.Errorf("%w: CoordinatorConfig.Offsets is empty", ErrInvalidConfig))
	}
	for i, p := range c.Offsets {
		if p == nil {
			errs = append(errs, fmt.Errorf("%w: CoordinatorConfig.Offsets[%d] is nil", ErrInvalidConfig, i))
		}
	}
	if c.PartitionCount == nil {
		errs = append(errs, fmt.Errorf("%w: CoordinatorConfig.PartitionCount is nil", ErrInvalidConfig))
	}
	if c.MinSessionTimeout < 0 || c.MaxSessionTimeout < 0 ||
		(c.MinSessionTimeout > 0 && c.MaxSessionTimeout > 0 && c.MinSessionTimeout > c.MaxSessionTimeout) {
		errs = append(errs, fmt.Errorf("%w: CoordinatorConfig.MinSessionTimeout (%v) and MaxSessionTimeout (%v) must be positive and ordered",
			ErrInvalidConfig, c.MinSessionTimeout, c.MaxSessionTimeout))
	}
	if c.MaxMetadataBytes < 0 || c.MaxMetadataBytes > 1<<15-1 {
		errs = append(errs, fmt.Errorf("%w: CoordinatorConfig.MaxMetadataBytes (offset.metadata.max.bytes) must be in [0, 32767], got %d",
			ErrInvalidConfig, c.MaxMetadataBytes))
	}
	return errors.Join(errs...)
}

// withDefaults returns a copy of c with the defaults filled in.
func (c *CoordinatorConfig) withDefaults() CoordinatorConfig {
	out := *c
	out.Offsets = slices.Clone(c.Offsets)
	if out.Now == nil {
		out.Now = time.Now
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case out.InitialRebalanceDelay == 0:
		out.InitialRebalanceDelay = DefaultInitialRebalanceDelay
	case out.InitialRebalanceDelay < 0:
		out.InitialRebalanceDelay = 0
	}
	if out.MinSessionTimeout == 0 {
		out.MinSessionTimeout = DefaultMinSessionTimeout
	}
	if out.MaxSessionTimeout == 0 {
		out.MaxSessionTimeout = max(DefaultMaxSessionTimeout, out.MinSessionTimeout)
	}
	if out.MaxMetadataBytes == 0 {
		out.MaxMetadataBytes = DefaultMaxMetadataBytes
	}
	if out.CompactionMinBytes == 0 {
		out.CompactionMinBytes = DefaultCompactionMinBytes
	}
	return out
}

// Coordinator is the group coordinator of one broker: it keeps the
// consumer groups' membership, runs their rebalances and stores their
// committed offsets in the offsets topic. See the package documentation
// for the protocol.
//
// A Coordinator is safe for concurrent use. It starts no goroutine of its
// own: session, rebalance and initial-delay deadlines are time.AfterFunc
// timers (one per member, one per rebalancing group), which run only when
// they fire; an idle group costs no goroutine.
type Coordinator struct {
	cfg   CoordinatorConfig
	parts []*offsetsPart // index = partition ID, as cfg.Offsets (compact.go)
	log   *slog.Logger

	// mu guards closed and the groups map (not the groups themselves:
	// each has its own mu). Lock order: mu, then a group's mu.
	mu     sync.Mutex
	closed bool
	groups map[string]*group
	// timers counts timer callbacks past their closed check: Close waits
	// for them, so none runs after it returns.
	timers sync.WaitGroup

	encoders sync.Pool // *record.Encoder

	// testCommitAppended, set by tests before any call, runs in Commit
	// between the append and the sync, with no lock held: a commit in
	// flight, appended but not applied.
	testCommitAppended func()
}

// State is a group's state, Kafka's classic group states. There is no
// CompletingRebalance: the coordinator computes the assignment itself the
// moment the join phase ends.
type State int8

// The states of a group.
const (
	// StateEmpty: no members (possibly committed offsets).
	StateEmpty State = iota
	// StatePreparingRebalance: a rebalance waits for members to (re)join.
	StatePreparingRebalance
	// StateStable: every member has its assignment for the generation.
	StateStable
	// StateDead: the group was deleted.
	StateDead
)

// String returns Kafka's name of the state.
func (s State) String() string {
	switch s {
	case StateEmpty:
		return "Empty"
	case StatePreparingRebalance:
		return "PreparingRebalance"
	case StateStable:
		return "Stable"
	case StateDead:
		return "Dead"
	}
	return fmt.Sprintf("State(%d)", int8(s))
}

// group is one consumer group. Everything but name and op is guarded by
// mu.
type group struct {
	name string
	op   *offsetsPart // its offsets partition, with its compaction state

	mu         sync.Mutex
	dead       bool // deleted (or coordinator closed): look the group up again
	state      State
	generation int32
	protocol   string
	rebalProto RebalanceProtocol
	leader     string
	members    map[string]*member
	instances  map[string]string // instance ID -> member ID
	fenced     map[string]string // member ID replaced by a static rejoin -> instance ID (the newest per instance)
	joinSeq    uint64
	round      *round      // the rebalance in progress, nil when none
	timer      *time.Timer // the round's next deadline
	offsets    map[TopicPartition]offsetEntry
	// inflight are the commits appended to the log but not yet applied to
	// offsets (waiting for their sync), in log order: a compaction
	// restates them, not the older values in offsets (compact.go).
	inflight []inflightCommit
}

// inflightCommit is a commit appended at base.. but not yet applied: tps[i]
// got vals[i] at offset base+i.
type inflightCommit struct {
	base int64
	tps  []TopicPartition
	vals []OffsetAndMetadata
}

// offsetEntry is a committed offset and the offset of the record in the
// offsets topic that holds it: commits are applied in the topic's order,
// whatever the order their syncs finish in.
type offsetEntry struct {
	OffsetAndMetadata
	logOffset int64
}

// NewCoordinator returns a coordinator over the offsets partitions of cfg,
// after loading the committed offsets they hold: every record of every
// partition from its log start offset is read, the last value of each key
// wins and a tombstone deletes it. The in-memory map is the source of
// truth afterwards.
//
// What the replay reads stays bounded as long as the owner calls
// MaybeCompactOffsets from time to time (the Broker does, on its retention
// ticker): each compaction re-appends a partition's live offsets and moves
// its log start offset past everything older (see CompactOffsets), so a
// partition holds its live set plus at most max(CompactionMinBytes, 2x the
// live set) of later commits, and the replay reads about that much, not
// every commit ever made (about 100 bytes each). Offsets partitions that
// are never compacted are read in full.
//
// Errors: ErrInvalidConfig; ErrCorruptOffsets naming the partition and
// offset of a record that cannot be decoded; the partitions' read errors.
func NewCoordinator(cfg *CoordinatorConfig) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Coordinator{cfg: cfg.withDefaults(), groups: make(map[string]*group)}
	c.log = c.cfg.Logger
	c.encoders.New = func() any { return new(record.Encoder) }
	c.parts = make([]*offsetsPart, len(c.cfg.Offsets))
	for i, p := range c.cfg.Offsets {
		c.parts[i] = &offsetsPart{p: p}
	}
	for _, op := range c.parts {
		n, err := c.load(op.p)
		if err != nil {
			return nil, err
		}
		// Everything replayed counts as grown since the last compaction:
		// a log that was never compacted is compacted at the first
		// MaybeCompactOffsets.
		op.dirty.Store(n)
	}
	c.estimateLive()
	return c, nil
}

// load replays one offsets partition into the groups' offsets and returns
// the bytes of record batches it read.
func (c *Coordinator) load(p *partition.Partition) (read int64, err error) {
	ctx := context.Background()
	var (
		dec  record.Decoder
		recs []record.Record
	)
	off := p.LogStartOffset()
	for off < p.HighWatermark() {
		res, err := p.Fetch(ctx, off, 1, 1<<20, 0)
		if err != nil {
			return read, fmt.Errorf("group: load offsets from %s-%d at offset %d: %w", p.Topic(), p.ID(), off, err)
		}
		data := res.View.Data
		start := off
		for len(data) > 0 {
			h, err := record.ParseBatchHeader(data)
			if err == nil && h.Size() > len(data) {
				err = record.ErrTruncated
			}
			if err == nil {
				_, recs, err = dec.Decode(data[:h.Size()], recs[:0])
			}
			if err != nil {
				res.View.Release()
				return read, fmt.Errorf("group: load offsets from %s-%d at offset %d: %w", p.Topic(), p.ID(), off, err)
			}
			data = data[h.Size():]
			read += int64(h.Size())
			if !h.Attributes.Control() {
				for i := range recs {
					if recs[i].Offset < off {
						continue
					}
					if err := c.replay(&recs[i]); err != nil {
						res.View.Release()
						return read, fmt.Errorf("group: load offsets from %s-%d at offset %d: %w", p.Topic(), p.ID(), recs[i].Offset, err)
					}
				}
			}
			off = max(off, h.NextOffset())
		}
		res.View.Release()
		if off == start {
			return read, fmt.Errorf("group: load offsets from %s-%d: no progress at offset %d", p.Topic(), p.ID(), off)
		}
	}
	return read, nil
}

// replay applies one record of the offsets topic.
func (c *Coordinator) replay(r *record.Record) error {
	k, err := decodeOffsetsKey(r.Key)
	if err != nil {
		return err
	}
	if k.metadata {
		return nil // group metadata: membership is not restored
	}
	tp := TopicPartition{Topic: k.topic, Partition: k.partition}
	g := c.groups[k.group]
	if r.Value == nil {
		if g != nil {
			delete(g.offsets, tp)
			if len(g.offsets) == 0 {
				delete(c.groups, k.group) // a deleted group
			}
		}
		return nil
	}
	o, err := decodeOffsetValue(r.Value)
	if err != nil {
		return err
	}
	if g == nil {
		g = c.newGroup(k.group)
		c.groups[k.group] = g
	}
	g.offsets[tp] = offsetEntry{OffsetAndMetadata: o, logOffset: r.Offset}
	return nil
}

// newGroup returns a new, empty group.
func (c *Coordinator) newGroup(name string) *group {
	return &group{
		name:      name,
		op:        c.parts[OffsetsPartition(name, len(c.parts))],
		members:   make(map[string]*member),
		instances: make(map[string]string),
		fenced:    make(map[string]string),
		offsets:   make(map[TopicPartition]offsetEntry),
	}
}

// lockGroup returns the group name with its mu held, creating it if create
// is set; nil (and no lock) if it does not exist and create is not set.
// Errors: ErrClosed.
func (c *Coordinator) lockGroup(name string, create bool) (*group, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		g := c.groups[name]
		if g == nil {
			if !create {
				c.mu.Unlock()
				return nil, nil
			}
			g = c.newGroup(name)
			c.groups[name] = g
		}
		c.mu.Unlock()
		g.mu.Lock()
		if !g.dead {
			return g, nil
		}
		g.mu.Unlock()
		if c.isClosed() {
			return nil, ErrClosed
		}
	}
}

func (c *Coordinator) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// afterFunc is time.AfterFunc for the coordinator's timers: fn does not
// run once Close has begun, and Close waits for a run in progress.
func (c *Coordinator) afterFunc(d time.Duration, fn func()) *time.Timer {
	return time.AfterFunc(d, func() {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		c.timers.Add(1)
		c.mu.Unlock()
		defer c.timers.Done()
		fn()
	})
}

// Close stops the coordinator: Joins waiting for a rebalance return
// ErrClosed, every later call returns ErrClosed, RebalanceNotify channels
// are closed, and no timer runs after Close returns. Commits already
// appended finish their sync; their callers get its result. Close does not
// close the offsets partitions (their owner does, after Close). Closing a
// closed Coordinator returns nil.
func (c *Coordinator) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	groups := make([]*group, 0, len(c.groups))
	for _, g := range c.groups {
		groups = append(groups, g)
	}
	c.mu.Unlock()
	for _, g := range groups {
		g.mu.Lock()
		g.dead = true
		if g.timer != nil {
			g.timer.Stop()
		}
		if r := g.round; r != nil {
			r.err = ErrClosed
			g.round = nil
			close(r.done)
		}
		for _, m := range g.members {
			if m.timer != nil {
				m.timer.Stop()
			}
			m.wake()
		}
		g.mu.Unlock()
	}
	c.timers.Wait()
	return nil
}

// ListGroups returns the names of the groups the coordinator knows (with
// members or committed offsets), sorted. Errors: ErrClosed.
func (c *Coordinator) ListGroups() ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	names := make([]string, 0, len(c.groups))
	for name := range c.groups {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// GroupDescription describes a group (Kafka's DescribeGroups).
type GroupDescription struct {
	Group      string
	State      State
	Generation int32
	// Protocol is the assignor the group voted for; "" when Empty.
	Protocol string
	// Leader is the leader's member ID; "" when Empty.
	Leader  string
	Members []MemberDescription // sorted by member ID
}

// MemberDescription describes one member of a group.
type MemberDescription struct {
	MemberID   string
	InstanceID string
	Topics     []string
	// Assignment is the member's partitions in the current generation.
	Assignment []TopicPartitions
	// SessionTimeout and RebalanceTimeout are what the member joined with.
	SessionTimeout, RebalanceTimeout time.Duration
}

// DescribeGroup describes the group name. Errors: ErrUnknownGroup,
// ErrClosed. The slices returned are the caller's.
func (c *Coordinator) DescribeGroup(name string) (GroupDescription, error) {
	g, err := c.lockGroup(name, false)
	if err != nil {
		return GroupDescription{}, err
	}
	if g == nil {
		return GroupDescription{}, fmt.Errorf("%w: %q", ErrUnknownGroup, name)
	}
	defer g.mu.Unlock()
	d := GroupDescription{Group: name, State: g.state, Generation: g.generation, Protocol: g.protocol, Leader: g.leader}
	for _, m := range g.members {
		d.Members = append(d.Members, MemberDescription{
			MemberID:         m.id,
			InstanceID:       m.instanceID,
			Topics:           slices.Clone(m.topics),
			Assignment:       cloneTopicPartitions(m.assignment),
			SessionTimeout:   m.session,
			RebalanceTimeout: m.rebalance,
		})
	}
	slices.SortFunc(d.Members, func(a, b MemberDescription) int { return strings.Compare(a.MemberID, b.MemberID) })
	return d, nil
}

// DeleteGroup deletes the group name and its committed offsets (Kafka's
// DeleteGroups): it writes a tombstone for each of its offsets, and for
// each key of its commits still waiting for their sync, to the offsets
// topic, and returns once they are synced. The group must have no
// members. Errors: ErrGroupNotEmpty, ErrUnknownGroup, ErrClosed, ctx.Err()
// (before anything is written), or the offsets partition's append or sync
// error.
func (c *Coordinator) DeleteGroup(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// c.mu first: the group leaves the map while its lock is held, so
	// that a commit waiting for the lock finds it dead and starts a new
	// group, whose records follow the tombstones.
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	g := c.groups[name]
	if g == nil {
		c.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrUnknownGroup, name)
	}
	g.mu.Lock()
	if len(g.members) > 0 {
		g.mu.Unlock()
		c.mu.Unlock()
		return fmt.Errorf("%w: %q has %d members", ErrGroupNotEmpty, name, len(g.members))
	}
	var last int64 = -1
	// The keys of commits still waiting for their sync are deleted too:
	// their records precede these tombstones, and a new key among them
	// would otherwise come back at the next replay.
	keys := make(map[TopicPartition]struct{}, len(g.offsets))
	for tp := range g.offsets {
		keys[tp] = struct{}{}
	}
	for _, ic := range g.inflight {
		for _, tp := range ic.tps {
			keys[tp] = struct{}{}
		}
	}
	if len(keys) > 0 {
		tps := make([]TopicPartition, 0, len(keys))
		for tp := range keys {
			tps = append(tps, tp)
		}
		sortTopicPartitions(tps)
		recs := make([]record.Record, len(tps))
		now := c.cfg.Now()
		for i, tp := range tps {
			recs[i] = record.Record{Key: appendOffsetKey(nil, name, tp.Topic, tp.Partition), Timestamp: now}
		}
		res, err := c.appendRecords(g.op, recs)
		if err != nil {
			g.mu.Unlock()
			c.mu.Unlock()
			return fmt.Errorf("group: delete group %q: %w", name, err)
		}
		last = res.LastOffset
	}
	g.dead = true
	g.state = StateDead
	delete(c.groups, name)
	g.mu.Unlock()
	c.mu.Unlock()
	if last >= 0 {
		if err := g.op.p.WaitSynced(context.WithoutCancel(ctx), last); err != nil {
			return fmt.Errorf("group: delete group %q: %w", name, err)
		}
	}
	c.log.Info("group: deleted group", "group", name)
	return nil
}

// appendRecords appends recs as one batch to op's partition: one write, so
// a commit is all or nothing. The batch counts towards op's next
// compaction.
func (c *Coordinator) appendRecords(op *offsetsPart, recs []record.Record) (partition.AppendResult, error) {
	res, n, err := c.appendBatch(op.p, recs)
	if err == nil {
		op.dirty.Add(int64(n))
	}
	return res, err
}

// appendBatch appends recs as one batch to p and returns the batch's size.
func (c *Coordinator) appendBatch(p *partition.Partition, recs []record.Record) (partition.AppendResult, int, error) {
	enc := c.encoders.Get().(*record.Encoder)
	batch, err := enc.AppendBatch(nil, recs, record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch})
	c.encoders.Put(enc)
	if err != nil {
		return partition.AppendResult{}, 0, err
	}
	res, err := p.Append(batch)
	return res, len(batch), err
}

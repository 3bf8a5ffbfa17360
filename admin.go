package samsa

// Topic administration (Kafka's Admin API over one broker) and the
// partition lookups of the produce and fetch paths.

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/samsalog/samsa/partition"
)

// CreateTopic creates the topic name with cfg (nil: every default; a zero
// cfg.Partitions: Config.DefaultPartitions) and opens its partitions, each
// an empty log in "<dir>/<name>-<partition>". The topic is in the registry,
// durably, before its partitions are created; should creating them fail,
// the topic is deleted again.
//
// Errors: ErrInvalidTopicName (including a name that collides with an
// existing one once '.' and '_' are unified), ErrInternalTopic,
// ErrTopicExists, ErrInvalidPartitions, ErrInvalidConfig naming the field,
// ErrClosed, or an I/O error.
func (b *Broker) CreateTopic(name string, cfg *TopicConfig) error {
	if err := b.checkOpen(); err != nil {
		return err
	}
	if err := checkUserTopic(name); err != nil {
		return err
	}
	_, err := b.createTopic(name, cfg)
	return err
}

// createTopic creates a topic, internal or not: CreateTopic checks the
// name first, auto-creation too; the coordinators create internal topics
// through it.
func (b *Broker) createTopic(name string, cfg *TopicConfig) (*openTopic, error) {
	var tc TopicConfig
	if cfg != nil {
		tc = *cfg
	}
	if err := tc.Validate(); err != nil {
		return nil, err
	}
	n := tc.Partitions
	if n == 0 {
		n = b.cfg.DefaultPartitions
	}
	b.adminMu.Lock()
	defer b.adminMu.Unlock()
	if err := b.checkOpen(); err != nil {
		return nil, err
	}
	if err := b.freshCheckpointLocked(); err != nil {
		return nil, err
	}
	m, err := b.reg.createTopic(name, tc, n)
	if err != nil {
		return nil, err
	}
	jobs := make([]partitionJob, n)
	for i := range jobs {
		jobs[i] = partitionJob{meta: m, id: int32(i)}
	}
	parts, err := b.openPartitions(jobs, closeWorkers())
	if err != nil {
		// Roll the creation back; the directories of the partitions that
		// were created go the way of a deleted topic's.
		if _, derr := b.reg.deleteTopic(name, nil); derr != nil {
			return nil, errors.Join(err, fmt.Errorf("samsa: create topic %q: undo: %w (reopen the broker)", name, derr))
		}
		return nil, err
	}
	t := &openTopic{meta: m, parts: parts}
	b.publishTopicLocked(name, t)
	b.partitionsChanged(name)
	return t, nil
}

// freshCheckpointLocked rewrites the checkpoint files if they may still
// name partitions of a deleted topic (b.adminMu held): a partition created
// under the same name must not inherit the old one's offsets.
func (b *Broker) freshCheckpointLocked() error {
	if !b.staleCheckpoint {
		return nil
	}
	if err := b.writeCheckpointsLocked(); err != nil {
		return err
	}
	b.staleCheckpoint = false
	return nil
}

// DeleteTopic deletes the topic name: it is unregistered (durably: from
// then on it is gone, even after a crash), its partitions are closed, and
// their directories removed (crash-safely: renamed to
// "<topic>-<partition>.<id>-delete" first, which a later Open removes
// should a crash interrupt). Appends and fetches in flight on its
// partitions fail with partition.ErrClosed; Views already fetched stay
// valid until released.
//
// Errors: ErrUnknownTopic, ErrInternalTopic, ErrInvalidTopicName,
// ErrClosed, or an I/O error (the topic is deleted unless the error came
// before the registry was written: DescribeTopic tells).
func (b *Broker) DeleteTopic(name string) error {
	t, unlock, err := b.lockUserTopic(name)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := b.reg.deleteTopic(name, func(*topicMeta) error {
		b.publishTopicLocked(name, nil)
		if t == nil {
			return nil
		}
		return b.closePartitions(t.parts)
	})
	if m == nil {
		return err // not deleted
	}
	b.partitionsChanged(name)
	// The checkpoint files must forget the topic before its name can be
	// used again (freshCheckpointLocked retries).
	if cerr := b.writeCheckpointsLocked(); cerr != nil {
		b.staleCheckpoint = true
		b.logger.Warn("samsa: could not rewrite checkpoints after deleting a topic; retrying later", "topic", name, "err", cerr)
	}
	return err
}

// ListTopics returns the names of the topics, sorted, leaving out the
// internal ones (as Kafka's Admin listTopics does by default). Errors:
// ErrClosed.
func (b *Broker) ListTopics() ([]string, error) {
	if err := b.checkOpen(); err != nil {
		return nil, err
	}
	names := b.reg.snapshot().topicNames()
	return slices.DeleteFunc(names, IsInternalTopic), nil
}

// DescribeTopic describes the topic name: its id, partition count,
// creation time, config overrides and effective config, and each
// partition's offsets, size on disk and segment count. Internal topics can
// be described. Errors: ErrUnknownTopic, ErrClosed.
func (b *Broker) DescribeTopic(name string) (TopicDescription, error) {
	if err := b.checkOpen(); err != nil {
		return TopicDescription{}, err
	}
	t := b.topicMap()[name]
	if t == nil {
		return TopicDescription{}, fmt.Errorf("%w: %q", ErrUnknownTopic, name)
	}
	d := describeTopicMeta(t.meta, b.cfg.topicDefaults())
	d.PartitionDetails = make([]PartitionDescription, len(t.parts))
	for i, p := range t.parts {
		s := p.Stats()
		d.PartitionDetails[i] = PartitionDescription{
			Partition:      p.ID(),
			LogStartOffset: s.LogStartOffset,
			HighWatermark:  s.HighWatermark,
			LogEndOffset:   s.LogEndOffset,
			SizeBytes:      s.Log.Bytes,
			Segments:       s.Log.Segments,
		}
	}
	return d, nil
}

// AlterTopicConfig changes the topic's config overrides as Kafka's
// incremental AlterConfigs (kafka-configs --alter) does: each property of
// props is set, an empty value deletes the override (the setting goes
// back to the broker's default). The properties are Kafka's topic config
// names (TopicPropertyNames). The change is durable when AlterTopicConfig
// returns, DescribeTopic shows it at once, and it is applied live, as in
// Kafka: the topic's open partitions are reconfigured before
// AlterTopicConfig returns (partition.Partition.SetConfig), with the
// config the broker would open them with. So a lower max.message.bytes
// rejects the next larger append, segment.bytes and segment.ms decide the
// next roll, retention.ms and retention.bytes the next background
// retention run, flush.messages and flush.ms the next append's flush
// check; segment.index.bytes and index.interval.bytes apply to segments
// created from then on; samsa.unsafe.expose.unsynced switched on exposes the
// appended records at once, switched off it leaves visible what already
// is (the high watermark never decreases).
//
// Errors: ErrInvalidConfig naming each bad property (nothing is changed
// then), ErrUnknownTopic, ErrInternalTopic, ErrClosed, or an I/O error.
// Should a partition refuse the new config after the registry was written,
// the error is returned but the durable change stays: the other
// partitions run with it, and every partition opens with it at the
// broker's next Open.
func (b *Broker) AlterTopicConfig(name string, props map[string]string) error {
	t, unlock, err := b.lockUserTopic(name)
	if err != nil {
		return err
	}
	defer unlock()
	if t == nil {
		return fmt.Errorf("%w: %q", ErrUnknownTopic, name)
	}
	overrides := t.meta.overrides
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(props)) {
		if err := overrides.SetProperty(k, props[k]); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	m, err := b.reg.alterTopicConfig(name, overrides)
	if err != nil {
		return err
	}
	b.publishTopicLocked(name, &openTopic{meta: m, parts: t.parts})
	return b.applyTopicConfigLocked(m, t.parts)
}

// lockUserTopic is the preamble of the admin calls on a user's topic:
// it checks the broker is open and name is a user topic's, takes adminMu
// (and checks again: Close may have run while it waited) and looks the
// topic up. t is nil when the topic does not exist; unlock releases
// adminMu.
func (b *Broker) lockUserTopic(name string) (t *openTopic, unlock func(), err error) {
	if err := b.checkOpen(); err != nil {
		return nil, nil, err
	}
	if err := checkUserTopic(name); err != nil {
		return nil, nil, err
	}
	b.adminMu.Lock()
	if err := b.checkOpen(); err != nil {
		b.adminMu.Unlock()
		return nil, nil, err
	}
	return b.topicMap()[name], b.adminMu.Unlock, nil
}

// applyTopicConfigLocked reconfigures the running partitions parts of
// topic m with its effective config, built as openPartition builds it
// (b.adminMu held). It returns the partitions' errors joined.
func (b *Broker) applyTopicConfigLocked(m *topicMeta, parts []*partition.Partition) error {
	// The checkpoint (and the other static fields) are ignored by
	// SetConfig.
	cfg := b.partitionConfig(m, nil)
	var errs []error
	for _, p := range parts {
		if err := p.SetConfig(*cfg); err != nil {
			errs = append(errs, fmt.Errorf("samsa: alter topic config: apply to partition %d of topic %q: %w", p.ID(), m.name, err))
		}
	}
	return errors.Join(errs...)
}

// CreatePartitions grows the topic name to total partitions (Kafka's
// CreatePartitions: a topic never shrinks). The new partitions are empty
// and open at once. Records keyed to a partition by hashing move to other
// partitions for the new count, as in Kafka.
//
// Errors: ErrInvalidPartitions (total not above the current count),
// ErrUnknownTopic, ErrInternalTopic, ErrClosed, or an I/O error (if the
// registry was written but a new partition could not be created, the
// topic keeps its old count until the broker is opened again, which
// creates the missing partitions).
func (b *Broker) CreatePartitions(name string, total int32) error {
	t, unlock, err := b.lockUserTopic(name)
	if err != nil {
		return err
	}
	defer unlock()
	if t == nil {
		return fmt.Errorf("%w: %q", ErrUnknownTopic, name)
	}
	if err := b.freshCheckpointLocked(); err != nil {
		return err
	}
	m, err := b.reg.createPartitions(name, total)
	if err != nil {
		return err
	}
	old := int32(len(t.parts))
	jobs := make([]partitionJob, 0, total-old)
	for id := old; id < total; id++ {
		jobs = append(jobs, partitionJob{meta: m, id: id})
	}
	added, err := b.openPartitions(jobs, closeWorkers())
	if err != nil {
		return err
	}
	parts := make([]*partition.Partition, 0, total)
	parts = append(append(parts, t.parts...), added...)
	b.publishTopicLocked(name, &openTopic{meta: m, parts: parts})
	b.partitionsChanged(name)
	return nil
}

// Partition returns partition p of topic, for reading and writing through
// the partition API (Append, Flush, WaitSynced, Fetch, ListOffsets). The
// Partition belongs to the broker: do not Close it. It stays usable until
// its topic is deleted or the broker closed; it then returns
// partition.ErrClosed.
//
// Partition never creates a topic (PartitionForProduce does, under
// auto.create.topics.enable), and does not hand out internal topics'
// partitions, which only the broker writes.
//
// Errors: ErrUnknownTopic (no such topic, or p out of range),
// ErrInternalTopic, ErrClosed.
func (b *Broker) Partition(topic string, p int32) (*partition.Partition, error) {
	if err := b.checkOpen(); err != nil {
		return nil, err
	}
	if IsInternalTopic(topic) {
		return nil, fmt.Errorf("%w: %q is managed by the broker", ErrInternalTopic, topic)
	}
	return b.lookupPartition(topic, p)
}

// lookupPartition finds an open partition, internal or not. It takes no
// lock.
func (b *Broker) lookupPartition(topic string, p int32) (*partition.Partition, error) {
	t := b.topicMap()[topic]
	if t == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownTopic, topic)
	}
	return t.partition(p)
}

func (t *openTopic) partition(p int32) (*partition.Partition, error) {
	if p < 0 || int(p) >= len(t.parts) {
		return nil, fmt.Errorf("%w: partition %d of topic %q (it has %d)", ErrUnknownTopic, p, t.meta.name, len(t.parts))
	}
	return t.parts[p], nil
}

// PartitionsForProduce returns the number of partitions of topic, for a
// producer's partitioner, creating the topic first if it does not exist
// and auto-creation is on (Config.DisableAutoCreateTopics unset): with
// Config.DefaultPartitions partitions and the broker's default topic
// config, as Kafka's auto.create.topics.enable does.
//
// Errors: ErrUnknownTopic (no such topic and auto-creation off),
// ErrInvalidTopicName, ErrInternalTopic (users cannot write internal
// topics), ErrClosed, or the creation's error.
func (b *Broker) PartitionsForProduce(topic string) (int32, error) {
	t, err := b.topicForProduce(topic)
	if err != nil {
		return 0, err
	}
	return int32(len(t.parts)), nil
}

// PartitionForProduce returns partition p of topic for appending,
// auto-creating the topic as PartitionsForProduce does. Errors: those of
// PartitionsForProduce, and ErrUnknownTopic for p out of range.
func (b *Broker) PartitionForProduce(topic string, p int32) (*partition.Partition, error) {
	t, err := b.topicForProduce(topic)
	if err != nil {
		return nil, err
	}
	return t.partition(p)
}

// topicForProduce returns the open topic, auto-creating it if allowed.
func (b *Broker) topicForProduce(name string) (*openTopic, error) {
	if err := b.checkOpen(); err != nil {
		return nil, err
	}
	if t := b.topicMap()[name]; t != nil && !t.meta.internal() {
		return t, nil
	}
	if err := checkUserTopic(name); err != nil {
		return nil, err
	}
	if b.cfg.DisableAutoCreateTopics {
		return nil, fmt.Errorf("%w: %q (auto.create.topics.enable is off)", ErrUnknownTopic, name)
	}
	t, err := b.createTopic(name, nil)
	switch {
	case err == nil:
		b.stats.autoCreatedTopics.Add(1)
		b.logger.Info("samsa: auto-created topic", "topic", name, "partitions", len(t.parts))
		return t, nil
	case errors.Is(err, ErrTopicExists):
		// Another producer created it first.
		if t := b.topicMap()[name]; t != nil {
			return t, nil
		}
	}
	return nil, err
}

func (m *topicMeta) internal() bool { return IsInternalTopic(m.name) }

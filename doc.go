// Package samsa is an embeddable Kafka-style partitioned log: named topics
// split into partitions, each partition a durable append-only log of
// Kafka's magic-v2 record batches, inside your own process and on your own
// disk. The storage engine lives in the packages record, index, segment,
// log and partition; this package holds the Broker on top of them, which
// opens a data directory and owns its topics, partitions and background
// work.
//
// # Basics
//
//	b, err := samsa.Open(dir, nil) // nil: Kafka's defaults
//	defer b.Close()
//	err = b.CreateTopic("orders", &samsa.TopicConfig{Partitions: 6})
//	p, err := b.Partition("orders", 0)
//	res, err := p.Append(batch)                 // one encoded record.Batch
//	err = p.WaitSynced(ctx, res.LastOffset)     // acks=all
//	f, err := p.Fetch(ctx, 0, 1, 1<<20, time.Second) // long poll
//	defer f.View.Release()
//
// In short:
//
//   - Open takes the directory's lock (a second Open fails with
//     ErrDirLocked), recovers every partition in parallel (after a clean
//     Close it scans nothing) and starts three goroutines whatever the
//     number of partitions: a flusher that syncs partitions holding
//     unsynced data every Config.FlushInterval, a retention ticker, and a
//     checkpoint ticker. Close stops them, syncs and seals every partition,
//     writes the checkpoints and the clean-shutdown marker, and leaves no
//     goroutine, file or mapping behind.
//   - Topics: CreateTopic, DeleteTopic, ListTopics, DescribeTopic (with each
//     partition's offsets and size), AlterTopicConfig (Kafka property
//     names; durable, and applied live to the running partitions),
//     CreatePartitions (grow only). Producing to an unknown topic
//     through PartitionForProduce or PartitionsForProduce creates it, as
//     Kafka's auto.create.topics.enable, unless
//     Config.DisableAutoCreateTopics. The internal topics
//     (__consumer_offsets, __transaction_state) cannot be created, deleted,
//     altered or written by users (ErrInternalTopic).
//   - Config and TopicConfig are plain structs whose zero fields mean
//     Kafka's defaults; Validate's errors name the field and the Kafka
//     property. TopicConfig speaks Kafka's property names through
//     Properties, SetProperty and ParseTopicConfig.
//   - Records become visible to fetchers once synced (the high watermark is
//     the synced offset), so a consumer never sees a record a power loss
//     can take back; TopicConfig.UnsafeExposeUnsynced trades that for
//     latency.
//   - The sentinel errors (ErrDirLocked, ErrUnknownTopic, ErrInvalidConfig,
//     ...) are wrapped with details: test them with errors.Is.
//
// # Caveats
//
//   - A Partition handle belongs to the Broker: do not Close it. After
//     DeleteTopic or Close it returns partition.ErrClosed.
//   - Fetch returns Views into read-only mappings: release them, promptly.
//
// # Data directory
//
// A data directory holds Kafka's layout: one directory per partition,
// "<topic>-<partition>", of segment files. Besides them:
//
//	.lock         flock(2)ed by the Broker that has the directory open:
//	              a second Open, from this process or another, fails at
//	              once with ErrDirLocked; the kernel drops the lock when
//	              the process dies, so it is never stale
//	topics.json   the topic registry: a version, and per topic its name,
//	              id, partition count, creation time and config overrides
//	              (as Kafka properties); replaced atomically on every change
//	recovery-point-offset-checkpoint, log-start-offset-checkpoint
//	              per partition, the offset below which it is synced and
//	              its first kept offset, in Kafka's checkpoint format;
//	              written at Open, every Config.CheckpointInterval, after a
//	              topic is deleted, and at Close
//	.clean-shutdown
//	              present only after a clean Close: the next Open then
//	              trusts the checkpoints and scans no data; Open removes
//	              it before writing anything
//
// A topic operation interrupted by a crash leaves the old registry or the
// new one. A deleted topic's partition directories are renamed to
// "<topic>-<partition>.<id>-delete", as Kafka names them, once the
// registry no longer lists the topic, and then removed; opening the
// directory finishes whatever a crash interrupted.
package samsa

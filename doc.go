// Package samsa is an embeddable Kafka-style partitioned log: named topics
// split into partitions, each partition a durable append-only log of
// Kafka's magic-v2 record batches, inside your own process and on your own
// disk. The storage engine lives in the packages record, index, segment,
// log and partition; this package holds the Broker on top of them, which
// opens a data directory and owns its topics, partitions and background
// work. The packages producer and consumer are the clients, shaped after
// Kafka's Java client, Sarama and franz-go.
//
// # Packages
//
// Each package imports only those above it in this list (deps_test.go
// checks it), and internal/ from anywhere:
//
//	record     Record and the magic-v2 RecordBatch codec: CRC-32C, varints,
//	           gzip/snappy/lz4/zstd, control batches
//	index      a segment's .index (offset) and .timeindex files, Kafka's layout
//	segment    one .log plus its indexes: append, zero-copy read, recover
//	log        one partition's segments: offsets, rolling, flush policy and
//	           group commit, recovery, retention
//	partition  a log plus the high watermark, producer batch validation,
//	           idempotent-producer state, long-polling fetch
//	group      the consumer-group coordinator and the Range, RoundRobin,
//	           Sticky and CooperativeSticky assignors
//	samsa      this package: the Broker (data directory, lock, topic
//	           registry, checkpoints, flusher, retention, producer IDs, the
//	           group coordinator over __consumer_offsets)
//	producer   Producer: partitioners, batching, compression, acks,
//	           idempotence, interceptors
//	consumer   Consumer: Assign or subscribe, Poll and Records, seek, pause,
//	           commits, groups, rebalance callbacks, a Sarama-style handler
//
// A producer goes through Broker.PartitionsForProduce and
// partition.Partition.Append; a consumer through partition.Partition.Fetch
// and, in a group, Broker.Coordinator. Everything runs in the calling
// process: there is no network protocol and no server.
//
// # Basics
//
//	b, err := samsa.Open(dir, nil) // nil: Kafka's defaults
//	defer b.Close()
//	err = b.CreateTopic("orders", &samsa.TopicConfig{Partitions: 6})
//	p, err := b.Partition("orders", 0)
//	batch, err := enc.AppendBatch(nil, recs, record.BatchOptions{}) // a record.Encoder
//	res, err := p.Append(batch)                      // one magic-v2 batch, one write
//	err = p.WaitSynced(ctx, res.LastOffset)          // acks=all
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
// With the clients (see Example for a whole program):
//
//	p, err := producer.New(b, nil) // acks=all, idempotent, murmur2 on keys
//	p.Produce(ctx, &record.Record{Topic: "orders", Key: k, Value: v},
//		func(r *record.Record, err error) { ... }) // once: delivered or failed
//	err = p.Close()                // delivers what is buffered
//
//	c, err := consumer.New(b, &consumer.Config{Group: "billing", Topics: []string{"orders"}})
//	defer c.Close()                // commits (auto-commit), leaves the group
//	for r, err := range c.Records(ctx) { ... }
//
// # Guarantees
//
// Order: records are ordered per partition only. One producer's records to
// one partition are appended in the order Produce accepted them, across
// batches and retries; records with the same key go to the same partition
// (while the partition count does not change), so per-key order holds.
// A consumer returns each partition's records in offset order.
//
// Durability, per the producer's acks (producer.Config.Acks):
//
//   - acks=all (the default): the callback reports success once the batch
//     is fdatasynced. The record survives a crash of the process and a
//     power loss or kernel crash. Concurrent batches share fdatasyncs
//     (group commit).
//   - acks=1: success once the batch is written to the partition's log
//     (one write(2), into the page cache). It survives a crash of the
//     process, not a power loss or kernel crash before the next sync: the
//     broker's flusher syncs a dirty partition about Config.FlushInterval
//     (5ms) after its first unsynced append (plus the fdatasync's own
//     time), so that is the loss window.
//   - acks=0: success once the record is in the producer's buffer. A crash
//     of the process loses what is buffered; later errors are returned by
//     Flush and Close.
//
// Visibility: the high watermark of a partition is its synced offset, and
// consumers read only below it. So a consumer never sees a record that a
// power loss could take back, whatever the producer's acks, and a committed
// consumer offset never points past the end of a partition after a crash.
// TopicConfig.UnsafeExposeUnsynced (samsa.unsafe.expose.unsynced) makes
// the high watermark the log end offset instead: records are readable as
// soon as they are appended, and a power loss or kernel crash (never a
// crash of the process alone) can take back records consumers already
// read, at most those appended since the last sync (about
// Config.FlushInterval, or the topic's flush.messages and flush.ms).
//
// Recovery: an acknowledged (synced) record is never dropped. After a crash
// a partition is validated from its checkpointed recovery point; invalid
// bytes past the last sync in the active segment are a torn tail and cut;
// damage anywhere else is an error matching log.ErrCorrupt, naming the file
// and position, never a silent truncation.
//
// Idempotence (on by default, producer.Config.DisableIdempotence): each
// producer gets a producer ID (InitProducerID, from a counter persisted in
// the data directory: never reused, across restarts) and numbers its
// batches per partition. Each partition remembers, per producer ID, the
// sequence ranges and offsets of its last five batches: a batch appended
// again is stored once and answered with its original offsets; a gap is
// partition.ErrOutOfOrderSequence, an older epoch ErrProducerFenced. The
// window survives Close and a crash of the process (it is kept in .snapshot
// files beside the segments, all five batches, and rebuilt from the log's
// batch headers past the newest snapshot). Its scope is one producer
// instance: a new Producer, or a restarted process, has a new ID, and what
// the old one had not delivered is not resent. There are no transactions
// yet, so nothing is exactly-once across partitions or end to end.
//
// Consumers deliver at least once. With auto-commit (the default) a Poll
// commits, every AutoCommit.Interval (5s), the positions after the records
// earlier Polls returned; the positions are also committed before
// partitions are revoked and at Close. A crash therefore redelivers what
// was returned since the last commit. A rebalance duplicates nothing that
// was committed before the revocation, which auto-commit does; it does
// redeliver, to the partition's next owner, the records returned after the
// last commit when the commit cannot happen first: with auto-commit off and
// no commit in the Revoked callback, or when the member lost its
// membership (session timeout, MaxPollInterval passed between Polls, a
// fenced static member: the Lost callback runs and nothing is committed).
// A record is "returned" for commits once Poll returns it (or Records
// yields it), whether or not the application has processed it: commit by
// hand after processing (AutoCommit.Disable, Commit) to be sure nothing
// is skipped on a crash mid-batch.
//
// # Caveats
//
//   - A Partition handle belongs to the Broker: do not Close it. After
//     DeleteTopic or Close it returns partition.ErrClosed.
//   - Fetch returns Views into read-only mappings: release them, promptly.
//   - One process, one machine: no replication (a lost disk loses the
//     data), no Kafka wire protocol (Kafka's tools can read the segment
//     files, not talk to a Broker), no transactions yet (transactional
//     batches are refused; read_committed reads what read_uncommitted
//     does), and no compaction yet: cleanup.policy=compact is accepted and
//     stored but nothing is compacted, and a compact-only topic is not
//     deleted by retention either, so it grows. __consumer_offsets is such
//     a topic: startup replays every commit ever made.
//   - Group membership is not persisted: after a restart every group is
//     Empty with its committed offsets, and consumers rejoin.
//   - If an fsync fails, the partition's log is failed: its appends and
//     syncs return log.ErrFailed until the broker is opened again (the
//     kernel may have dropped the unsynced pages; reopening recovers).
//   - Every partition holds one file descriptor (its active .log) while the
//     Broker is open: 10,000 partitions need an RLIMIT_NOFILE above 10,000.
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
//	producer-id-counter
//	              the next producer ID (InitProducerID), replaced
//	              atomically before an ID is handed out
//	<topic>-<partition>/
//	              00000000000000000000.log, .index, .timeindex: a segment
//	              named by its base offset; 00000000000000000200.snapshot:
//	              the idempotent-producer state at that offset (the two
//	              newest are kept)
//	__consumer_offsets-<n>/
//	              the internal topic of committed offsets (Kafka's record
//	              format), Config.OffsetsTopicPartitions partitions
//
// A topic operation interrupted by a crash leaves the old registry or the
// new one. A deleted topic's partition directories are renamed to
// "<topic>-<partition>.<id>-delete", as Kafka names them, once the
// registry no longer lists the topic, and then removed; opening the
// directory finishes whatever a crash interrupted.
package samsa

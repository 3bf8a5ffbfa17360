// Package samsa is an embeddable Kafka-style partitioned log: named topics
// split into partitions, each partition a durable append-only log of
// Kafka's magic-v2 record batches, inside your own process and on your own
// disk. The storage engine lives in the packages record, index, segment
// and log; this package is growing the Broker on top of them, which opens
// a data directory and owns its topics and partitions.
//
// # What is here so far
//
// The Broker itself (Open, topics served by partition logs, Close) is not
// written yet. What is:
//
//   - Config, the Broker's configuration: auto-creation of topics
//     (auto.create.topics.enable, on by default), the default partition
//     count (num.partitions), the broker-wide defaults of the topic configs,
//     and the intervals of background work. Like every config struct in
//     samsa it is passed as a pointer, nil meaning Kafka's defaults, and
//     the zero value of each field is the default named in its comment.
//   - TopicConfig, a topic's partition count and its overrides of the Kafka
//     topic configs samsa applies (segment.bytes, segment.ms,
//     segment.index.bytes, index.interval.bytes, retention.ms,
//     retention.bytes, cleanup.policy, max.message.bytes,
//     message.timestamp.type, flush.messages, flush.ms, and samsa's opt-in
//     UnsafeExposeUnsynced), with Validate, and
//     Properties, SetProperty and ParseTopicConfig to speak Kafka's property
//     names and values ("retention.ms": "86400000").
//   - Topic names validated as Kafka validates them (ValidateTopicName),
//     the internal topics (IsInternalTopic), and TopicID, which tells
//     apart the incarnations of a name deleted and created again.
//   - The sentinel errors (ErrDirLocked, ErrUnknownTopic, ErrInvalidConfig,
//     ...), wrapped with details: test them with errors.Is.
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
//
// A topic operation interrupted by a crash leaves the old registry or the
// new one. A deleted topic's partition directories are renamed to
// "<topic>-<partition>.<id>-delete", as Kafka names them, once the
// registry no longer lists the topic, and then removed; opening the
// directory finishes whatever a crash interrupted.
package samsa

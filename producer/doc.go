// Package producer writes records to a samsa Broker's topics as Kafka's
// producer does: partitioners, per-partition batches closed by size or
// linger, compression, acks, idempotence, interceptors, and typed sends.
//
// # Basics
//
//	p, err := producer.New(b, nil) // acks=all, idempotent, Kafka's defaults
//	defer p.Close()                // delivers what is buffered, then stops
//	p.Produce(ctx, &record.Record{Topic: "orders", Key: k, Value: v},
//		func(r *record.Record, err error) { ... }) // r.Partition, r.Offset
//	res := p.ProduceSync(ctx, recs...) // waits; res.FirstErr()
//	err = p.Flush(ctx)                 // everything produced so far
//
// One Producer writes to any number of topics and is safe for concurrent
// use. Configuration is a Config, nil for Kafka's defaults, whose fields
// name the Kafka properties they mirror (batch.size is Config.Flush.Bytes,
// as Sarama's Producer.Flush.Bytes).
//
// # Contract
//
// Every call of Produce runs its callback exactly once: with nil once the
// record is delivered as Config.Acks defines, or with the error that stopped
// it. A record that fails at once (ErrClosed, ErrRecordTooLarge,
// ErrBufferFull, the context's error, a partitioner's or the broker's error)
// has its callback run before Produce returns; the others on the producer's
// goroutines, or, with acks=1 and no compression, on the goroutine of a
// Produce call that filled a batch of an idle partition and appended it
// itself (caller-runs: no hand-off to a sender; that batch's callbacks run
// before that call returns). No callback or interceptor ever runs with a lock of the
// producer held, nothing must be read from a channel, and no error is
// dropped: with acks=0, errors found after the callback ran are returned by
// Flush and Close. Close delivers what is buffered and waits for it (as
// Kafka's close does); CloseContext bounds the wait, failing what is left
// with ErrClosed; either way every callback runs once, and no goroutine is
// left behind.
//
// Produce copies the record's key, value and headers into its batch before
// it returns, so their slices may be reused at once; the *record.Record
// itself belongs to the producer until its callback runs (Produce sets
// Partition, and Timestamp if zero; delivery sets Offset).
//
// # Durability per acks
//
//   - AcksNone (acks=0): delivered means accepted into the producer's buffer.
//     The callback runs inside Produce. A crash of the process loses what is
//     buffered; errors of the later append go to Flush and Close.
//   - AcksLeader (acks=1): delivered means appended to the partition's log
//     with one write(2). The record survives a crash of the process, not a
//     power loss or kernel crash before the broker's next sync (its flusher
//     syncs every Config.FlushInterval of the broker, 5ms by default).
//     Consumers see it once it is synced.
//   - AcksAll (acks=all, the default): delivered means appended and
//     fdatasynced: it survives a power loss and is visible to consumers
//     (below the high watermark). While a partition's sync is under way its
//     next batches are appended, and the next sync covers all of them, so
//     concurrent batches share one fdatasync (group commit).
//
// # Batching
//
// Records go to a per-partition batch, encoded as they arrive (Kafka's
// magic-v2 layout; the caller's bytes are copied once). A batch is sent when
// its encoded size would pass Config.Flush.Bytes (batch.size, 16 KiB) with
// another record of the same size, when it has waited Config.Linger
// (linger.ms, 5ms), or on Flush, ProduceSync and Close. A sender compresses
// it once (Config.Compression, Config.CompressionLevel) and appends it to
// the partition. Batches live in Config.BufferMemory (buffer.memory,
// 32 MiB): when it is used up, Produce blocks for at most Config.MaxBlock
// (max.block.ms) or until its context ends. A record is bounded by
// Config.MaxMessageBytes (max.request.size) and must also fit the topic's
// max.message.bytes; a record waits at most Config.DeliveryTimeout
// (delivery.timeout.ms) before it is appended. A zero Record.Timestamp is
// set from the producer's clock, read when a batch opens and at least every
// millisecond while batches linger: within about a millisecond of the call.
//
// In steady state Produce allocates nothing (TestProduceZeroAllocs), and
// the producer runs a fixed set of goroutines whatever the number of
// partitions: one timer (linger, delivery timeouts, new partitions), a few
// senders, and with acks=all sixteen syncers that wait for partitions'
// fdatasyncs.
//
// # Ordering
//
// The records one producer sends to one partition are appended, and their
// callbacks run, in the order Produce accepted them (for concurrent calls,
// the order they reached the partition's batch), across batches and
// retries: each partition has at most one batch being appended at a time
// (Kafka allows five in flight; one keeps retries in order without
// reordering logic, and costs nothing measurable locally). Exceptions: a
// batch that times out in the buffer (ErrDeliveryTimeout) fails at once,
// possibly before earlier batches of its partition still being appended
// complete, and so does everything left when CloseContext gives up.
//
// # Idempotence
//
// By default (Config.DisableIdempotence unset, as in Kafka 3+) the producer
// asks the broker for a producer ID (Broker.InitProducerID, a counter
// persisted in the data directory, so IDs are never reused across restarts)
// and numbers its records per partition from 0, wrapping after
// math.MaxInt32; each batch carries its first sequence number. The partition
// keeps the last five batches of each producer: a batch appended again (a
// retry after a retriable error such as a full disk, when the first attempt
// may have reached the log) is stored once and answered with its original
// offsets; a sequence gap fails the records with ErrOutOfOrderSequence, an
// older epoch with ErrProducerFenced. Sequences advance only over appended
// batches, so a batch that fails or times out leaves no gap for the next.
//
// Scope: one producer instance. A new producer (or a restarted process) gets
// a new producer ID and its records are ordered after the old one's only as
// far as the application orders them; records the old one had not yet
// delivered are not resent. Transactions are not implemented here.
//
// # Caveats
//
//   - A slow callback holds up its partition's later records, and with
//     caller-runs (acks=1, no compression) the Produce call that appended
//     them: keep callbacks quick. Callbacks may run inside Produce on the
//     producing goroutine, so do not call Produce holding a lock that a
//     callback takes. A panic in a callback is not recovered (it is a bug of the
//     caller, reported with its stack); a panic in an interceptor is
//     recovered and logged, as Kafka does.
//   - Batches are not split: a batch that the topic's max.message.bytes
//     refuses fails with ErrRecordTooLarge as a whole. Keep Flush.Bytes
//     below the topics' max.message.bytes (the defaults are).
//   - A batch is appended with one write(2) and synced by the log's group
//     commit; neither is interrupted by DeliveryTimeout or CloseContext.
//   - New partitions of a topic are noticed within a second (or a quarter of
//     DeliveryTimeout, if shorter).
package producer

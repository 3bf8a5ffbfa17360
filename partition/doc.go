// Package partition is one partition of a topic as a Kafka broker keeps
// it: the partition's log (package log) plus the high watermark, the log
// end offset, validation of producers' batches, the idempotent-producer
// state, long-polling fetches, and the place where transaction state plugs
// in.
//
// A Partition starts no goroutines and holds no buffers, so a broker can
// keep ten thousand of them: syncing is the owner's background flusher's
// job (OnDirty tells it which partitions have unsynced data; it calls
// Flush), retention its ticker's (ApplyRetention).
//
// # Appending
//
// Append takes one producer batch (Kafka's magic-v2 RecordBatch) and
// checks it as Kafka's LogValidator does: magic, size against
// max.message.bytes (ErrRecordTooLarge), CRC-32C, record count against the
// offset range, no control batch, consistent producer fields, no
// LogAppendTime attribute from a producer (ErrInvalidTimestamp); every
// other rejection matches ErrInvalidRecord and wraps the cause (for
// example record.ErrCRC, which also matches record.ErrCorrupt). For a
// topic with message.timestamp.type=LogAppendTime it stamps the batch with
// the append time. It then assigns offsets from the log end offset and
// appends the batch with one write, allocating nothing.
//
// # Idempotent producers
//
// A batch with a producer ID (kafka-internals §1.6, §4) is checked against
// the partition's state for that producer: its epoch and its last five
// batches' sequence ranges and offsets (Kafka's ProducerStateEntry; five is
// why an idempotent producer may have at most five requests in flight).
// In Kafka's order, from the batch header alone:
//
//  1. A retry of one of the last five batches of the producer's epoch
//     (same first and last sequence) is a duplicate: Append appends
//     nothing and returns the original offsets with AppendResult.Duplicate
//     set, and no error.
//  2. An epoch older than the producer's is ErrProducerFenced (Kafka's
//     INVALID_PRODUCER_EPOCH on produce).
//  3. A newer epoch must start at sequence 0; the same epoch must continue
//     at the last sequence + 1 (after math.MaxInt32 comes 0); anything
//     else, including a retry older than the five batches, is
//     ErrOutOfOrderSequence. A producer ID the partition has no state for
//     (new, expired, or whose records retention deleted before a restart)
//     is accepted with any sequence (KIP-360).
//
// Then the batch is appended and remembered; a new epoch clears the
// producer's window first. A producer's records therefore keep their order
// in the partition across batches and retries.
//
// The state is kept in Kafka's .snapshot files (version 1), named by the
// offset they describe, beside the segments: written at every segment
// roll (at the new segment's base offset), at Close (at the log end offset)
// and at an Open that had to replay the log; the two newest are kept.
// Unlike Kafka's, which holds only the newest batch per producer, samsa's
// snapshot holds one entry per remembered batch (the same 46-byte entries,
// which Kafka's reader would load as it loads its own), so the whole
// five-batch window survives a restart. Open loads the newest snapshot
// that decodes at or below the log end offset (a damaged one is deleted
// and the next older used) and replays the batch headers after it; with no
// snapshot it replays the whole log, reading headers only.
//
// What survives: after Close and Open, and after a crash of the process
// (SIGKILL) and Open, the partition remembers the last five batches of
// every producer as before: a retry of any of them, in particular of the
// last acknowledged batch, is a duplicate with its original offsets, and
// the producer continues at its next sequence. After a power loss the
// records the log loses (never acknowledged with acks=all) are forgotten
// with them, and a retry appends them again, once. The state of a producer
// that appends nothing for Config.ProducerIDExpiration (1 day) is dropped
// when the next snapshot is written; so, at Open, is that of a producer
// whose every record retention has deleted.
//
// # Durability and visibility
//
// The high watermark (HW) is Kafka's "committed" translated to one
// machine. In Kafka a record is committed once every in-sync replica has
// it; here, once it is on stable storage:
//
//   - By default HW is the log's synced offset: every record below it was
//     written and fdatasynced. Fetch never returns data at or past HW and
//     ListOffsets never points past it, so no consumer ever sees a record
//     that a crash of the process or of the machine (power loss, kernel
//     crash) could take back, and no committed consumer offset can end up
//     past the end of the partition after a crash.
//   - A record is in the log (it survives a crash of the process, not of
//     the machine) once Append returns: Kafka's acks=1. It is durable and
//     visible once HW passes it: WaitSynced(ctx, lastOffset) waits for that,
//     Kafka's acks=all; concurrent waiters share one fdatasync (group
//     commit, in the log).
//   - Data appended with nobody waiting is still synced soon: Append calls
//     Config.OnDirty (once per dirty period, outside any lock) and the
//     owner's flusher calls Flush within a few milliseconds, so HW keeps
//     moving for acks=1 producers too. The log's flush.messages and flush.ms
//     (Config.Log) can sync earlier still.
//   - Config.UnsafeExposeUnsynced makes HW the log end offset: records are
//     visible as soon as Append returns, before they are synced. Loss
//     window: records consumers have already read can disappear after a
//     power loss or kernel crash, never after a crash of the process alone;
//     at most what was appended since the last sync (the flusher's interval
//     and the log's flush policy bound it).
//
// HW is published with an atomic store and never decreases while the
// partition is open. The log end offset (LogEndOffset) is the next offset
// to assign; records between HW and it are appended but not yet visible.
//
// # Fetching
//
// Fetch reads whole batches below HW from an offset, as much as maxBytes
// allows but at least one batch. With fewer than minBytes available it
// waits until HW advances enough, maxWait passes (then it returns what
// there is, possibly nothing) or its context ends. Waiters cost one timer
// each and no goroutine: every advance of HW closes a channel they wait
// on and installs a fresh one only when someone waits again; Close wakes
// them with ErrClosed. The returned View aliases the log's mapping without
// a copy and must be released; retention never pulls data from under it.
//
// # Hook points
//
// Two unexported interfaces in hooks.go, called inside Append under the
// append mutex, are where Kafka's exactly-once state plugs in:
//
//   - producerState (idempotent producer): checks the producer's epoch and
//     sequence before log.Append (a duplicate returns the original offsets,
//     a gap is an error) and records the batch after it; see above.
//   - txnState (transactions): checks transactional batches against their
//     open transaction and tracks open transactions for the last stable
//     offset (LSO, the read_committed bound). Until then the LSO equals HW
//     and transactional batches are refused with ErrInvalidRecord. Markers
//     will come through a separate, coordinator-only append path.
//
// # Concurrency
//
// A Partition is safe for concurrent use. Appends are serialized; Fetch,
// ListOffsets, HighWatermark and the other accessors take no lock shared
// with Append (fetchers take a small mutex only to register as waiters).
package partition

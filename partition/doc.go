// Package partition is one partition of a topic as a Kafka broker keeps
// it: the partition's log (package log) plus the high watermark, the log
// end offset, validation of producers' batches, long-polling fetches, and
// the places where idempotent-producer and transaction state plug in.
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
// append mutex, are where Kafka's exactly-once state will plug in:
//
//   - producerState (idempotent producer, issue 4): checks the producer's
//     epoch and sequence before log.Append (a duplicate returns the
//     original offsets, a gap is an error) and records the batch after it.
//     Until then idempotent batches are appended as any other.
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

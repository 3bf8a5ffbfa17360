// Package log is one partition's log: the ordered segments of one
// directory, the last of which (the active segment) takes appends. It
// assigns offsets, rolls segments, reads by offset and by timestamp, syncs
// according to a flush policy with group commit, recovers after a crash,
// and deletes old segments by retention.
//
// The name is Kafka's (a partition's Log). It shadows the standard
// library's log, which samsa never imports: events go to an optional
// *slog.Logger (Config.Logger; nil is silent).
//
// # Contract
//
// Offsets: Append assigns each batch the log end offset as its base offset
// (written into the batch, which the CRC does not cover) and returns the
// first and last offsets; offsets are contiguous. Reads are by offset
// (whole batches, a byte budget, at least one batch) between StartOffset
// and EndOffset; outside that range they fail with ErrOffsetOutOfRange.
// OffsetForTimestamp answers Kafka's ListOffsets (Earliest, Latest, by
// time).
//
// Durability, precisely:
//
//   - A record is durable (survives a crash of the machine) once
//     SyncedOffset is past its offset: after Sync returns nil having been
//     called after the Append returned, or after an Append that synced
//     because of FlushMessages or FlushMs returned nil.
//   - A record Append returned for but not yet synced is readable at once
//     and survives a crash of the process (it is in the kernel's page
//     cache), not of the machine.
//   - Concurrent Sync callers share fdatasyncs (group commit). A segment is
//     synced in full when it is rolled out, before the next segment exists.
//   - If an fsync fails, the log is failed: every later Append, Sync, Roll,
//     MaybeFlush, retention call and Close returns ErrFailed (wrapping the
//     cause), because the kernel may have dropped the unsynced pages and
//     nothing can be reported durable again in this run. Reads go on.
//     Reopening recovers: data past the last successful sync is validated,
//     the rest was durable.
//
// Concurrency: a Log is safe for concurrent use. One writer at a time
// (a mutex around append, roll and retention); readers take no lock shared
// with the writer: the segment list is an immutable slice published
// atomically, looked up by binary search over base offsets, and a segment's
// readable end is published after its bytes are written. A View holds a
// reference on its segment's mapping, so retention or Close never pulls
// data from under a reader. A Log starts no goroutines: flush.ms is checked
// by Append and by MaybeFlush, retention runs in ApplyRetention, both
// called from an owner's ticker.
//
// # Files
//
// The directory holds Kafka's segment files (<20-digit base>.log, .index,
// .timeindex; see package segment) and, unless the owner keeps the state
// (Config.Checkpoint), the checkpoint file ".checkpoint": a few text lines
// with the recovery point, the log start offset and the clean-shutdown
// flag, closed by a CRC-32C, replaced atomically (temp file, fsync,
// rename, fsync of the directory). It is rewritten at Open (unclean), at
// every roll and retention deletion (unclean, with the current recovery
// point, which bounds recovery to about the active segment), and at Close
// (clean).
//
// # Recovery
//
// Open runs these steps, one function each (recovery.go):
//
//  1. createDir: create the directory if needed.
//  2. loadCheckpoint: recovery point, log start offset, clean flag; none
//     found means recovery point 0 (everything is validated).
//  3. removeLeftovers: remove ".deleted" files (a retention deletion that a
//     crash interrupted), ".tmp" files (an atomic replace that did not
//     reach its rename) and index files without a .log.
//  4. listSegments: the <20 digits>.log files, by base offset.
//  5. openSegments: open each segment without scanning its data (the
//     indexes give its end; a missing or insane index is rebuilt); the last
//     one is the active segment. A sealed segment whose tail does not parse
//     or whose offsets do not follow each other is ErrCorrupt, at the first
//     bad batch.
//  6. recoverSegments: skipped after a clean shutdown (the checkpoint says
//     clean, its recovery point is the end of the log, and the active
//     file holds nothing past its last batch), so that opening scans no
//     data. Otherwise every segment from the one holding the recovery point
//     onwards is validated batch by batch (length, magic, CRC-32C,
//     contiguous offsets: no gaps before compaction) and its indexes
//     rebuilt. A segment whose predecessor ends past its base offset is not
//     scanned: the predecessor is reported (see step 7). Invalid bytes in the
//     active (last) segment at or past the recovery point are a torn tail
//     and cut; invalid bytes anywhere else (below the recovery point, or in
//     a sealed segment, which was synced in full before its successor
//     existed) are ErrCorrupt naming the file and the byte position, never
//     cut.
//  7. checkOffsets: segments must not overlap (ErrCorrupt naming the first
//     of the two, at its damaged batch found by a validating scan when
//     recovery did not scan it), and the log must not end below the
//     recovery point (ErrCorrupt: synced data is missing).
//  8. ensureActiveSegment: an empty directory gets a first segment at the
//     log start offset.
//  9. syncRecovered: after a scan, sync the active segment, so that
//     everything kept is durable.
//  10. markOpen: publish the state (recovery point = log end offset, start
//     offset = max(checkpointed, first base offset)) and write an unclean
//     checkpoint before any append.
package log

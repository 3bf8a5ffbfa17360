// Package segment is one segment of a partition's log: a .log file of Kafka
// magic-v2 record batches, back to back, and its offset and time indexes.
//
// # Files
//
// A segment is named by its base offset, 20 decimal digits (Filename):
//
//	00000000000000012345.log        batches, nothing else (no file header)
//	00000000000000012345.index      8-byte entries: relative offset u32 BE, position u32 BE
//	00000000000000012345.timeindex  12-byte entries: timestamp i64 BE, relative offset u32 BE
//
//	.log:   | batch @0 | batch @p1 | batch @p2 | ... | (reserved, not yet written) |
//	        ^ each batch: baseOffset i64, length i32, epoch i32, magic 2, crc u32, ...
//	.index: | (lastOffset(b_k)-base, p_k) | ...   one entry when more than
//	        index.interval.bytes were appended since the previous entry
//
// The index key is the batch's last offset and the value the batch's start
// (Kafka's rule, what kafka-dump-log checks); the first batch never gets an
// entry (lookups fall back to position 0). Time-index entries are written at
// the same moments: (max timestamp so far, last offset of the batch that
// first carried it), plus a final one when the segment is sealed.
//
// # Writing
//
// One writer (the log, under its mutex) appends whole batches with Append:
// one WriteAt at the end, the index entries, then the new size and next
// offset are published with atomic stores, so readers never see part of a
// batch. Append allocates only the indexes' in-memory tails: one 4 KiB
// array per 512 offset-index entries and, while timestamps rise, one 6 KiB
// array per 512 time-index entries (8 to 20 B per index entry amortized,
// so at most 20 B per append and far less for small batches). It makes no
// system call besides the write, except:
//
//   - Preallocation: the .log's disk space is reserved ahead of the writes
//     with fallocate(FALLOC_FL_KEEP_SIZE) in chunks of Config.PreallocateBytes
//     (default 4 MiB: one extra system call per 4 MiB, about one per 38,000
//     records of 100 bytes, while 10,000 active segments reserve at most
//     40 GB ahead of their data). A full disk is therefore an error matching fs.ErrNoSpace from
//     Append, at a chunk boundary or from the write itself, and nothing is
//     published; it is never a SIGBUS, because nothing is ever written
//     through a mapping. KEEP_SIZE leaves the file size at the written end,
//     so recovery never sees preallocated zeros (but see zero-ahead); Seal
//     gives the unused reservation back.
//   - Zero-ahead (Config.ZeroAheadBytes, off by default): before a write
//     whose end passes the zeroed mark, the block of ZeroAheadBytes
//     (aligned, inside the reserved space) that holds its end is written
//     with zeros, one pwrite per block; blocks the batch covers entirely
//     are not. Small batches then land in the large page-cache folios of
//     that write, whose writeback (the next fdatasync) is cheaper. A
//     failed zero write is an error of Append, and nothing is published.
//   - Mapping growth: once read, the active .log is mapped read-only with a
//     length that is a power of two of at least 1 MiB; when the size passes
//     it the writer maps a twice longer one (about a dozen times up to
//     MaxSize).
//   - Index tails: once per 512 index entries each index writes its tail
//     (open, pwrite, close: the indexes keep no descriptor).
//
// # Zeros past the data
//
// With zero-ahead, the .log of an active segment holds zeros past its
// data, up to the end of the zeroed block (less than ZeroAheadBytes). So:
//
//   - The data end is never taken from the file size while the file may
//     hold zeros past it: the writer publishes its size, Open walks the
//     batch headers, Recover validates them, and a walk or scan that
//     stops at zeros stops there like at any bad tail.
//   - Seal cuts the file to the published size (ftruncate) before the
//     fdatasync that makes the new size durable, and the log creates a
//     successor, and moves its recovery point past the segment, only after
//     Seal returned. So a crash at any instruction leaves a zero tail only
//     in the last segment, at or past the recovery point: a segment below
//     it, or with a successor, never has one (a sealed segment whose walk
//     stops at zeros is ErrCorrupt, as any damage).
//   - Close of an active segment cuts the zeros too (a failure is Close's
//     error), so that after the log's clean Close (which seals the active
//     segment anyway) the file ends at the data and a clean reopen reads
//     the end from the file size without scanning.
//   - After an unclean stop, the zeros are bytes past the last whole batch
//     of the active segment: Open publishes the batches before them and
//     refuses appends, Recover reports them (ScanResult.Err at the data
//     end), and the log cuts them as a torn tail (TruncateTo). Close does
//     not cut a tail that Open or Recover found and nobody decided.
//   - The file is only ever cut to the published size, so never under a
//     View: Views end at or below the published size (the rule that lets
//     Seal give the reservation back, see below).
//
// # Reading and the lifetime of Views
//
// Read returns a View: whole batches, back to back, sliced straight out of
// the mapping, found by a floor lookup in the offset index (in its mapping)
// and a walk over batch headers (in the .log's mapping), with no system
// call and no allocation. Sealed segments are read through one read-only
// mapping; the active one through the mapping that grows with it. The
// first Read of a segment maps its .log.
//
// Reads trust neither the indexes nor the fields the CRC does not cover.
// Every header a read walks or returns is checked against its neighbours:
// it parses, its batch ends inside the published data, and its base offset
// is the previous batch's next offset (the segment's base offset for the
// first batch); a batch that fails is a *CorruptError naming the file and
// position, never records served under offsets they were not written at.
// The index entry a lookup starts from is checked against the .log (the
// batch at its position parses and ends at its key; a time-index entry
// (ts, o) names the last offset of a batch whose MaxTimestamp is ts). An
// entry that fails is not used: the lookup walks from position 0 (right,
// only slower), and the indexes are rebuilt when the segment is loaded again
// (after Evict) and by the next Open (Close removes their files). These
// checks are header reads in the mapping: Read stays free of system calls
// and allocations.
//
// Mappings are reference counted: the segment holds one reference to its
// current mapping and every View one more. Growing the mapping, Close,
// Delete and Evict only drop the segment's reference; a mapping is unmapped
// when its last View is released. So a View stays valid across Append,
// Seal, mapping growth, Close and Delete. A file is never truncated under a
// View: TruncateTo stops publishing the bytes past the cut, waits for the
// Views that could cover them, then truncates. A deleted segment's files are
// renamed with DeletedSuffix at once and removed when the last View is
// released.
//
// Sealed segments opened with Open(..., false) are lazy: they hold no file
// descriptor and no mapping until their first Read, and Evict returns them
// to that state, so a process with many partitions keeps its mappings
// bounded. A loaded sealed segment holds mappings only, no descriptor. An
// idle active segment holds one file descriptor, its .log's (for appends),
// and no mapping until its first Read: the indexes hold no descriptor
// (they open their files for the rare writes of their in-memory tails) and
// no mapping while their entries fit those tails. A broker with 10,000
// idle partitions therefore holds 10,000 descriptors and no mapping.
//
// # Opening and recovery
//
// Open does not scan the .log: it takes the last offset-index entry and
// walks the batch headers after it to the end of the file (at most about one
// index interval after a clean stop), and takes the max timestamp from the
// last time-index entry and those headers. After a process crash the
// indexes lack the entries they held in memory (up to 512 each): the walk
// covers them and, for an active segment, adds them by the append rule. A
// clean stop leaves complete indexes: Close and Seal write the entries held
// in memory at once, even while Views are held. Indexes are caches: one
// that is missing, fails its sanity check or disagrees with the .log is
// rebuilt by a full scan.
//
// Recover is the validating scan of Kafka's LogSegment.recover: from
// position 0, each batch must pass record.CheckBatch (length at least 61
// bytes, magic 2, CRC-32C), its base offset must be the previous batch's
// next offset (for the first batch: the segment's base offset from its file
// name, or the caller's prevNext if higher), and its last offset must fit
// the indexes' 32-bit relative offset. Both
// indexes are rebuilt from scratch with the append rule. The scan stops at
// the first batch that fails and reports in ScanResult.Err a *CorruptError
// naming the file and byte position (matching ErrCorrupt and
// record.ErrCorrupt, and record.ErrTruncated for a batch cut short by the
// end of the file). Recover truncates nothing and never skips damage: the
// log decides whether the bytes past ScanResult.ValidBytes are a torn tail
// to cut (TruncateTo) or damage to report, and the segment refuses appends
// until then. Open's header walk applies the same offset checks to the
// headers it walks, and when it stops early in a sealed segment, a
// validating scan locates the first bad batch for the error.
//
// # No gaps (until compaction)
//
// Nothing removes records from the middle of a segment yet, so its batches
// are contiguous: Append refuses a batch that does not start at the next
// offset, and recovery, Open's walk and reads take a gap between batches
// for damage (the base offset is not covered by the CRC: a bit flip there
// must not move records to other offsets). When compaction lands, gaps
// become legal and these checks must relax to "base offset above the
// previous batch's last offset", with other checks (such as the cleaner's
// own bookkeeping) taking over what contiguity checks today.
package segment

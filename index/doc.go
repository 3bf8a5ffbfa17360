// Package index implements a segment's two sparse indexes, laid out byte
// for byte as Kafka lays them out so that Kafka's tools read them: the
// offset index (.index) and the time index (.timeindex).
//
// # Byte layout
//
// Both files are arrays of fixed-width big-endian entries with no header.
// Offsets are stored relative to the segment's base offset (the number in
// the file name).
//
//	.index — OffsetEntrySize = 8 bytes per entry
//
//	 0               4               8
//	 +---------------+---------------+
//	 | relOffset u32 | position  u32 |   relOffset = last offset of a batch - base
//	 +---------------+---------------+   position  = byte position of that batch in the .log
//	 | relOffset u32 | position  u32 |
//	 +---------------+---------------+
//	 | 00 00 00 00   | 00 00 00 00   |   unwritten slot (sparse capacity): the end
//	 +---------------+---------------+
//
//	 example: base 1000, batch at position 8264 whose last offset is 1093:
//	          00 00 00 5D 00 00 20 48
//
//	.timeindex — TimeEntrySize = 12 bytes per entry
//
//	 0                               8               12
//	 +-------------------------------+---------------+
//	 | timestamp i64 (ms)            | relOffset u32 |   greatest timestamp so far, and the
//	 +-------------------------------+---------------+   last offset of the batch that carried it
//	 | 00 00 00 00 00 00 00 00       | 00 00 00 00   |   unwritten slot: the end
//	 +-------------------------------+---------------+
//
//	 example: ts 1700000000000 at relative offset 93:
//	          00 00 01 8B CF E5 68 00 00 00 00 5D
//
// Kafka reads both 32-bit fields as signed int32; positions and relative
// offsets up to 2^31-1 (Kafka's own limits) read the same either way.
//
// The segment adds entries as Kafka does: when more than
// index.interval.bytes (default 4096) were appended since the last entry,
// the offset index gets (the batch's last offset, its position) and the
// time index (the greatest timestamp so far, the last offset of its batch).
// The segment's first batch (at position 0) therefore never gets an entry:
// it is the implicit entry (base offset, 0), and a real entry never has
// position 0. In the offset index keys and positions strictly increase; in
// the time index timestamps strictly increase and offsets do not decrease.
// The time index keeps its last slot for the final entry written when the
// segment is sealed (IsFull is true one slot early), as Kafka does.
//
// # Lifecycle of a file
//
// Active (writable): the file is sized to maxBytes (Kafka's
// segment.index.bytes, rounded down to whole entries) with Truncate alone,
// so the capacity is sparse: no block is reserved, and 10,000 active
// segments do not reserve 200 GB. Entries are written through the file
// with WriteAt, never through a mapping, and not one by one (see the write
// path below); a full disk is therefore an error of that write, matching
// fs.ErrNoSpace, never a SIGBUS, and the mapping lies inside the file.
//
// An active index holds no file descriptor: the rare operations that need
// the file (the write of a full tail, Flush, Sync, TruncateTo, Reset, Seal)
// open it and close it again. It holds no mapping either while all its
// entries fit the in-memory tail (fewer than 512: most idle partitions):
// the file is mapped read-only, with MADV_RANDOM, by the first write of a
// full tail, or at open when it already holds more entries than a tail.
//
// The end of an index is found from its contents, never from its size: it
// is the first all-zero slot (entries are written in order and dropped
// entries are zeroed, so every slot past the end is zero). Finding it is
// cheap: the search is bounded by where the file's data ends (SEEK_HOLE:
// the unwritten capacity is a hole, which reads as zeros), so an index
// without entries costs two lseeks and no read, one with up to 512 entries
// a single read (they become the tail), and a larger one a binary search of
// single-entry reads without readahead. The time entry (0, base) would be
// all zero, so it is never written (lookups then start at the segment's
// beginning, which is correct, merely slower).
//
// Sealed: Seal trims the file to its entries. A sealed file's size is
// exact, so opening it reads only its last slot (if that is zero, the file
// was not trimmed and the end is found from the contents). A sealed index
// keeps a mapping (MADV_RANDOM) but no file descriptor.
//
// Indexes are caches of the .log. SanityCheck verifies a whole index (size
// a whole number of entries, entries increasing) and returns
// ErrCorruptIndex otherwise; the segment then rebuilds it from the log with
// Reset and Append. Lookup never fails: on any contents it returns an entry
// whose key is <= the target, or the implicit first entry; positions are
// what the file holds, and the segment checks them against the .log's size.
//
// # Write path
//
// An append makes no system call: the entry goes into an in-memory tail of
// up to 512 entries (4 KiB of offset entries, 6 KiB of time entries) and is
// visible to readers at once. A tail starts with 8 slots and doubles as it
// fills, so an idle index holds a few bytes. When a tail of 512 is full, the
// next append writes all of it to the file with one WriteAt (open, pwrite,
// close; a full disk shows there, as an error matching fs.ErrNoSpace, and
// that append is refused) and starts a new tail (one allocation per 512
// entries). Flush, Sync, Seal and Close write the pending entries too (Sync
// then fsyncs); TruncateTo drops pending entries without writing them and
// zeroes only the dropped slots that reached the file; Reset drops them with
// the rest. So in steady state a segment append costs the one write of its
// batch to the .log, and indexes cost one write per 512 entries.
//
// Crashes: the entries of a clean stop (Close, or Seal) are all in the
// file. After a process crash the file holds a prefix of the entries: all
// but at most the last 512, which were only in memory (the offset and the
// time index lose different numbers of entries, since they flush
// independently). Nothing else changes: the end is found from the
// contents as always, and a prefix passes SanityCheck. The index is a cache
// of the .log: the segment's Open notices the missing entries (its walk
// from the last entry finds more than an interval of batches) and adds them
// from that walk (see Written: the segment writes the time index's tail
// whenever the offset index writes its own, so the time index is never the
// one behind); after an unclean stop the log recovers, and so rescans, the
// active segment anyway. As before, nothing but Sync makes an index durable
// against a machine crash.
//
// # Concurrency
//
// One writer (Append/MaybeAppend, Flush, TruncateTo, Reset, Seal, Sync,
// Close; an internal mutex serializes them too) and any number of readers
// (Lookup, LastEntry, Entries, IsFull, SanityCheck) on other goroutines at
// any time.
//
// An append fills the next slot of the tail and only then publishes the
// new entry count (an atomic store); readers load the count and read only
// below it, so they never see a partial entry. Readers find the entries
// through an immutable descriptor behind a second atomic pointer: "entries
// below F are in the mapping, entries from F on are in this tail array".
// The writer publishes a new descriptor (and a new array) whenever that
// would stop being true for a slot readers can see: after the write of a
// full tail (F advances), when entries are dropped, at Reset and at Seal
// (everything is in the mapping). It never writes again an array it
// replaced, nor a slot below the published count, so a reader holding an
// old descriptor reads what was published; a count beyond the old array is
// clamped to it. Lookup searches the mapped part or the tail (whichever
// holds the floor): still no allocation, no system call, no lock.
//
// The mapping lives in a small reference-counted generation behind an
// atomic pointer. Lookup pins the current generation (an atomic add, then a
// check that it is still current), searches, and unpins it: no allocation,
// no system call, no lock. Seal, TruncateTo, Reset and Close publish a new
// generation first (a shorter mapping, the same mapping, an empty one, or
// none) and then wait for the readers of the old generation to leave before
// they unmap it, zero the entries it showed, or truncate the file. Readers
// hold a generation only for one binary search and never block while
// holding it, so the wait is a few hundred nanoseconds; readers themselves
// never wait. Hence no reader touches an unmapped or truncated region, and
// a mapped file is never truncated while mapped past its new end.
//
// # Errors
//
// ErrCorruptIndex (SanityCheck), ErrIndexFull, ErrNotIncreasing,
// ErrOutOfRange, ErrReadOnly (appends to a sealed index), ErrClosed; file
// errors are wrapped, with the path, and a full disk matches fs.ErrNoSpace.
package index

// Package consumer reads records from a samsa Broker as a Kafka consumer
// does: from partitions assigned directly, or as a member of a consumer
// group whose coordinator splits the subscribed topics' partitions among
// its members, with committed offsets that survive restarts.
//
// # Basics
//
//	c, err := consumer.New(b, &consumer.Config{Group: "billing", Topics: []string{"orders"}})
//	defer c.Close()                 // commits (auto-commit), Revoked, leaves the group at once
//	for rec, err := range c.Records(ctx) {
//		if err != nil { return err }
//		process(rec)
//	}
//
// or, batch by batch, with a manual commit after processing (at-least-once):
//
//	recs, err := c.Poll(ctx)        // up to MaxPollRecords, waits for data without spinning
//	process(recs)
//	err = c.Commit(ctx)             // the positions: after the records returned
//
// Without a group, Assign partitions and Seek, SeekToBeginning, SeekToEnd or
// OffsetsForTimes to choose where to read; Pause and Resume for flow control;
// Position and Committed to see where things stand; Lag and GroupLag for the
// high watermark minus the committed offset.
//
// # Semantics
//
//   - Records returned are the caller's: copies, valid after later Polls and
//     after Close. Poll returns records below the high watermark only (synced
//     ones, unless the topic exposes unsynced data), in offset order per
//     partition, skipping control batches and the records below the position
//     in the first batch a fetch returns.
//   - Where to start: the group's committed offset, else AutoOffsetReset
//     (latest by default, as Kafka; earliest; or none, which makes Poll return
//     ErrNoOffset). A position that retention deleted, or past the end of the
//     partition, is reset the same way (none: ErrOffsetOutOfRange).
//   - Fetch.MinBytes, Fetch.MaxWait, Fetch.MaxPartitionBytes and Fetch.MaxBytes
//     act as Kafka's fetch.min.bytes, fetch.max.wait.ms,
//     max.partition.fetch.bytes and fetch.max.bytes: Poll collects from every
//     assigned partition, round-robin, and sleeps until a high watermark moves.
//   - Commits: Commit (positions), CommitOffsets, CommitAsync (callback, in
//     order), and auto-commit every AutoCommit.Interval of what earlier Polls
//     returned, before a revocation and at Close. A committed offset is the
//     next record to read.
//   - Groups: the classic protocol through the broker's coordinator, eager or
//     cooperative depending on the assignors (Kafka's default list: Range,
//     CooperativeSticky). One heartbeat goroutine per consumer keeps the
//     membership whatever the application does; a consumer that does not
//     Poll within MaxPollInterval leaves the group and rejoins at its next
//     Poll. Rebalances happen inside Poll, with the callbacks of
//     Config.Rebalance run in Poll's goroutine in the order Poll documents;
//     the application's loop never restarts. A join that Poll's ctx cuts
//     short stays pending under its member ID and the next Poll continues
//     it, so short Poll contexts join as long ones do.
//   - isolation.level read_committed reads what read_uncommitted reads until
//     samsa has transactions (partitions refuse transactional batches).
//
// # Caveats
//
//   - Poll's records are carved from slabs shared by successive Polls (for
//     speed: one Poll is a few allocations): keeping one record keeps its
//     slab (at most 240 records, 32 KiB) and its batch's copy alive. Copy
//     what you keep long.
//   - Under the default contract (records are the caller's for good) Poll
//     allocates about 270 B per 100 B record, and with a small live heap
//     the garbage collector, not decoding, sets its pace (BENCHMARKS.md:
//     about a quarter of the log-level read rate; GOGC or GOMEMLIMIT move
//     it). Config.ReuseRecords makes records valid only until the next
//     Poll and Poll allocation-free: about 90 % of the log-level rate.
//   - Poll waits on one channel registered with every fetchable partition
//     (partition.Notify): no goroutine per partition.
//   - Breaking out of a Records loop rewinds the positions to the first record
//     not yet yielded; breaking out of a loop over Poll's slice does not.
package consumer

// Package group is consumer-group coordination: the Coordinator that keeps
// groups' membership, generations, rebalances and committed offsets, and
// the partition assignors (Range, RoundRobin, Sticky, CooperativeSticky)
// behind the Assignor interface users can implement (group/assignortest
// checks an implementation).
//
// # Basics
//
// The coordinator speaks Kafka's classic group protocol, in-process. A
// consumer calls Join; the call blocks until the group's rebalance
// completes and returns the member's ID, the generation and its
// assignment. Kafka's JoinGroup and SyncGroup are one call: the
// coordinator runs the leader's Assignor itself, for the protocol the
// members voted for. The consumer then calls Heartbeat (from its own
// goroutine, not the user's) within its session timeout, Commit with its
// generation, and Join again when Heartbeat returns ErrRebalanceInProgress
// or its RebalanceNotify channel closes; Leave when it closes or misses
// max.poll.interval.ms. A Join whose ctx ends before the rebalance
// completes returns the member's ID with ctx.Err(), and the member stays
// in the rebalance: joining again with that ID continues the same join (a
// member created by that Join is pending, as in KIP-394, and is removed if
// it does not come back within its session timeout).
//
// A rebalance starts when a member joins, leaves, misses its session
// timeout or rejoins with another subscription, and when the partition
// count of a subscribed topic changes (PartitionsChanged). It waits for
// every known member to rejoin, up to the largest rebalance timeout of the
// members (then the dynamic members that did not are removed), and for a
// group that was empty, InitialRebalanceDelay more per new member. A
// static member (JoinRequest.InstanceID) that restarts within its session
// timeout with the same subscription gets its assignment back at once, in
// the same generation; the member ID it had is fenced (ErrFencedInstance).
//
// Under a cooperative protocol (CooperativeSticky), a round never gives a
// member a partition another member still owns: the owner gets an
// assignment without it, revokes it, and the coordinator starts the
// follow-up rebalance at once, in which the partition reaches its new
// owner. Partitions that do not move stay assigned throughout.
//
// # Committed offsets
//
// A commit is validated (member, generation, and each partition in the
// member's assignment: ErrNotAssigned otherwise), appended to the
// group's partition of the internal topic __consumer_offsets as one
// record batch, synced, and only then applied and acknowledged. A
// rejected commit writes nothing. Records are byte for byte Kafka's
// (offset commit key v1, value v3), so Kafka tools read them.
// NewCoordinator replays the offsets partitions from their log start
// offsets; the in-memory map is the source of truth afterwards.
//
// # Compaction of the offsets topic
//
// There is no log cleaner: the coordinator keeps __consumer_offsets
// bounded itself. MaybeCompactOffsets, which the Broker calls from its
// retention ticker, compacts each offsets partition whose commits and
// tombstones since its last compaction exceed max(CompactionMinBytes
// (16 MiB by default), 2x the partition's live set as last measured):
// it re-appends the live offsets of every group stored in the partition
// (one record per key, deleted keys left out), syncs them, and moves the
// log start offset to where they begin (DeleteRecordsBefore), which
// deletes the sealed segments below it. A replay then reads the live set
// plus at most the trigger's worth of later commits, and compaction writes
// the live set once per at least twice its size of new commits.
// CompactOffsets does the same now, for every partition.
//
// The ordering that makes this safe: a commit is appended under its
// group's lock but applied only after its sync, so when a group's
// snapshot is written (under the same lock) a commit of the group may be
// appended and not yet applied. The snapshot restates, per key, the
// newest value appended, not the newest applied: otherwise it would write
// the older value after the commit, and after a restart the committed
// offset would go back. For every key the last record in the log thus
// carries the newest value. A crash at any point (mid-snapshot, before the
// log start moves, while segments are deleted) leaves a log whose replay
// loads the acknowledged offsets: a partial snapshot only restates current
// values, and the snapshot is synced before the log start moves.
//
// # Caveats
//
//   - The offsets topic is compacted only by the coordinator (see above),
//     and only as often as its owner calls MaybeCompactOffsets (the
//     Broker: every retention check, 5 minutes by default). Between
//     compactions it grows by the commits made, and on disk a partition
//     may keep one more segment (offsets.topic.segment.bytes, 100 MiB)
//     than its live data: the segment where a compaction cut the log goes
//     at the first compaction after it is sealed. Records below the log
//     start are never read.
//   - Membership is not persisted (Kafka writes group metadata records;
//     we do not): after a restart every group is Empty at generation 0,
//     with its committed offsets. Consumers are in the same process, so
//     they restart with the broker anyway.
//   - Offsets do not expire (offsets.retention.minutes is not applied).
//   - The leader's Assignor runs inside the coordinator, with the
//     coordinator's group lock held; it must not call back into the
//     Coordinator.
package group

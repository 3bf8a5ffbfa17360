package group

import "errors"

// Errors of the Coordinator. Errors it returns wrap them with details (the
// group, the member, the generation), so test them with errors.Is. Each
// names the Kafka error code it stands for.
var (
	// ErrRebalanceInProgress is returned by Heartbeat while the group
	// rebalances and the member has not rejoined yet: it must call Join
	// (Kafka's REBALANCE_IN_PROGRESS, 27). Commits are still accepted
	// then, for the generation that is ending.
	ErrRebalanceInProgress = errors.New("group: rebalance in progress")

	// ErrUnknownMember reports a member ID the group does not know: never
	// handed out, or removed (it left, its session expired, or it missed
	// a rebalance). The member must rejoin with an empty member ID
	// (Kafka's UNKNOWN_MEMBER_ID, 25). It is also the answer to a simple
	// commit (generation -1, no member ID) into a group that has
	// members.
	ErrUnknownMember = errors.New("group: unknown member id")

	// ErrIllegalGeneration reports a generation other than the group's
	// current one: the member missed a rebalance and must rejoin (Kafka's
	// ILLEGAL_GENERATION, 22). A commit that fails with it is not
	// applied.
	ErrIllegalGeneration = errors.New("group: illegal generation")

	// ErrFencedInstance reports a static member (group.instance.id) whose
	// instance ID has since joined under a newer member ID: another
	// process with the same instance ID took its place (Kafka's
	// FENCED_INSTANCE_ID, 82). The fenced member must stop; it must not
	// rejoin.
	ErrFencedInstance = errors.New("group: fenced instance id")

	// ErrInconsistentProtocol reports a Join whose assignors share no
	// protocol name with those of every member already in the group, or
	// an invalid list of assignors (empty, or a name listed twice)
	// (Kafka's INCONSISTENT_GROUP_PROTOCOL, 23).
	ErrInconsistentProtocol = errors.New("group: inconsistent group protocol")

	// ErrInvalidSessionTimeout reports a session timeout outside
	// [CoordinatorConfig.MinSessionTimeout, MaxSessionTimeout] (Kafka's
	// INVALID_SESSION_TIMEOUT, 26).
	ErrInvalidSessionTimeout = errors.New("group: invalid session timeout")

	// ErrInvalidGroupID reports an empty group name (Kafka's
	// INVALID_GROUP_ID, 24).
	ErrInvalidGroupID = errors.New("group: invalid group id")

	// ErrNotAssigned reports a commit, by a member of the current
	// generation, for a partition that is not in its assignment: it was
	// never assigned to it, or a rebalance moved it away. The commit is
	// rejected as a whole and nothing of it is applied. Kafka's
	// coordinator does not check this (its clients do, and fail the
	// commit with a CommitFailedException); samsa checks it where the
	// assignment is known.
	ErrNotAssigned = errors.New("group: partition not assigned to member")

	// ErrMetadataTooLarge reports a commit whose metadata string is longer
	// than CoordinatorConfig.MaxMetadataBytes (Kafka's
	// OFFSET_METADATA_TOO_LARGE, 12).
	ErrMetadataTooLarge = errors.New("group: offset metadata too large")

	// ErrInvalidCommit reports a commit naming a partition that does not
	// exist (PartitionCount), an empty topic, or a negative partition or
	// offset (Kafka's UNKNOWN_TOPIC_OR_PARTITION, 3, and
	// INVALID_COMMIT_OFFSET_SIZE, 28, cover these on the wire).
	ErrInvalidCommit = errors.New("group: invalid offset commit")

	// ErrGroupNotEmpty is returned by DeleteGroup and ResetOffsets for a
	// group that has members (Kafka's NON_EMPTY_GROUP, 68).
	ErrGroupNotEmpty = errors.New("group: group is not empty")

	// ErrUnknownGroup is returned by DeleteGroup, DescribeGroup and Lag
	// for a group the coordinator does not know: no members and no
	// committed offsets (Kafka's GROUP_ID_NOT_FOUND, 69).
	ErrUnknownGroup = errors.New("group: unknown group")

	// ErrClosed is returned by every Coordinator method after Close, and
	// by Joins that Close interrupted.
	ErrClosed = errors.New("group: coordinator closed")

	// ErrCorruptOffsets is returned by NewCoordinator when a record of the
	// offsets topic cannot be decoded: a key or value shorter than its
	// fields, a negative length, trailing bytes, or a version this
	// package does not know. The message names the partition and offset.
	// The coordinator refuses to start rather than forget committed
	// offsets.
	ErrCorruptOffsets = errors.New("group: corrupt offsets record")
)

// ErrInvalidConfig reports a CoordinatorConfig that NewCoordinator cannot
// use; the message names the field.
var ErrInvalidConfig = errors.New("group: invalid coordinator config")

package consumer

import (
	"errors"

	"github.com/samsalog/samsa/partition"
)

// Sentinel errors. Errors returned by this package wrap them with details
// (the partition, the field): test them with errors.Is.
var (
	// ErrClosed is returned by every method after Close, and by a Poll
	// that Close interrupted.
	ErrClosed = errors.New("consumer: closed")

	// ErrInvalidConfig reports a Config field out of range; the message
	// names the field and the Kafka property.
	ErrInvalidConfig = errors.New("consumer: invalid config")

	// ErrNoOffset is returned by Poll and Position, with
	// AutoOffsetReset none, for an assigned partition that has neither a
	// position nor a committed offset (Kafka's NoOffsetForPartitionException).
	// Seek to continue.
	ErrNoOffset = errors.New("consumer: no offset for partition")

	// ErrOffsetOutOfRange is returned by Poll, with AutoOffsetReset none,
	// when a partition's position is below the log start offset (retention
	// deleted the records) or past the log end offset. It is the partition
	// package's error itself. Seek to continue; with earliest or latest the
	// consumer resets the position instead and goes on.
	ErrOffsetOutOfRange = partition.ErrOffsetOutOfRange

	// ErrNotAssigned reports a Seek, Pause, Position or similar call for a
	// partition the consumer is not assigned (Kafka's IllegalStateException
	// "No current assignment for partition").
	ErrNotAssigned = errors.New("consumer: partition not assigned")

	// ErrNoGroup reports a commit, or a call to Committed, by a consumer
	// configured without a Group.
	ErrNoGroup = errors.New("consumer: no group configured")

	// ErrSubscribed reports Assign on a consumer that subscribes to topics
	// through its group: the two modes do not mix (Kafka's
	// IllegalStateException).
	ErrSubscribed = errors.New("consumer: subscription and manual assignment are exclusive")

	// ErrCommitFailed reports a commit the coordinator refused because the
	// consumer is no longer a member of the group's current generation: it
	// was removed (session timeout, MaxPollInterval) or a rebalance has
	// completed without it (Kafka's CommitFailedException). The partitions
	// may belong to another member now; the next Poll rejoins.
	ErrCommitFailed = errors.New("consumer: commit failed: not a member of the current generation")

	// ErrGroupUnavailable reports a group operation on a broker that has no
	// group coordinator.
	ErrGroupUnavailable = errors.New("consumer: group coordinator unavailable")
)

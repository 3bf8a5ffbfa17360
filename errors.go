package samsa

import (
	"errors"

	"github.com/samsalog/samsa/partition"
)

// Sentinel errors. Errors returned by this package wrap them with details
// (the directory, the topic, the field), so test them with errors.Is.
var (
	// ErrDirLocked reports a data directory already held by another Broker,
	// in this process or another: Open fails at once rather than wait or
	// share the files.
	ErrDirLocked = errors.New("samsa: data directory is locked by another broker")

	// ErrClosed reports a call on a Broker after Close, or work that Close
	// interrupted.
	ErrClosed = errors.New("samsa: broker closed")

	// ErrInvalidTopicName reports a topic name Kafka would refuse: empty,
	// "." or "..", longer than MaxTopicNameLength, with a character outside
	// [a-zA-Z0-9._-], or colliding with an existing topic once '.' and '_'
	// are treated alike. Kafka's InvalidTopicException.
	ErrInvalidTopicName = errors.New("samsa: invalid topic name")

	// ErrTopicExists reports the creation of a topic that already exists.
	// Kafka's TopicExistsException.
	ErrTopicExists = errors.New("samsa: topic already exists")

	// ErrUnknownTopic reports a topic that does not exist (and was not
	// auto-created). Kafka's UnknownTopicOrPartitionException.
	ErrUnknownTopic = errors.New("samsa: unknown topic")

	// ErrInvalidConfig reports a configuration value out of range or of the
	// wrong form, or an unknown topic config name. The message names the
	// field and the Kafka property. Kafka's InvalidConfigurationException.
	ErrInvalidConfig = errors.New("samsa: invalid config")

	// ErrInvalidPartitions reports a partition count below one, or a
	// CreatePartitions that does not grow the topic. Kafka's
	// InvalidPartitionsException.
	ErrInvalidPartitions = errors.New("samsa: invalid partition count")

	// ErrInternalTopic reports an attempt by a user to create, delete,
	// alter or write an internal topic (__consumer_offsets,
	// __transaction_state), which only the broker itself manages.
	ErrInternalTopic = errors.New("samsa: internal topic")

	// ErrRecordTooLarge reports a record batch larger than the topic's
	// max.message.bytes. Kafka's RecordTooLargeException. It is the
	// partition package's error itself (partition.ErrRecordTooLarge), so
	// either tests an Append's error.
	ErrRecordTooLarge = partition.ErrRecordTooLarge

	// ErrCorruptRegistry reports a topics.json that cannot be read back: not
	// JSON, or holding values no samsa writes (bad names, duplicate topics,
	// unknown configs). Open refuses such a directory rather than guess.
	ErrCorruptRegistry = errors.New("samsa: corrupt topic registry")

	// ErrRegistryVersion reports a topics.json written by a newer samsa, in
	// a format this one does not know.
	ErrRegistryVersion = errors.New("samsa: unsupported topic registry version")
)

// configError is a configuration error naming the field and the Kafka
// property it mirrors. It matches ErrInvalidConfig, and ErrInvalidPartitions
// too when partitions is set.
type configError struct {
	field      string // "TopicConfig.SegmentBytes"; "" for a property with no field
	property   string // "segment.bytes"; "" when the field mirrors none
	reason     string // "must be at least 14, got 3"
	partitions bool
}

func (e *configError) Error() string {
	s := "samsa: "
	switch {
	case e.field != "" && e.property != "":
		s += e.field + " (" + e.property + ") "
	case e.field != "":
		s += e.field + " "
	case e.property != "":
		s += e.property + " "
	}
	return s + e.reason
}

func (e *configError) Is(target error) bool {
	return target == ErrInvalidConfig || (e.partitions && target == ErrInvalidPartitions)
}

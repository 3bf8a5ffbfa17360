package samsa

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxTopicNameLength is the longest topic name Kafka accepts (Topic.java's
// MAX_NAME_LENGTH): short enough that "<topic>-<partition>" fits a
// 255-byte file name.
const MaxTopicNameLength = 249

// The internal topics. The broker creates and writes them; users may read
// them but not create, delete, alter or write them (ErrInternalTopic).
const (
	// ConsumerOffsetsTopic keeps consumer groups' committed offsets.
	ConsumerOffsetsTopic = "__consumer_offsets"
	// TransactionStateTopic keeps the transaction coordinator's state.
	TransactionStateTopic = "__transaction_state"
)

// maxFileNameLength is the longest file or directory name the filesystems
// we run on accept (NAME_MAX).
const maxFileNameLength = 255

// ValidateTopicName reports whether name is a legal topic name, as Kafka's
// Topic.validate decides: not empty, not "." or "..", at most
// MaxTopicNameLength bytes, and only ASCII letters, digits, '.', '_' and
// '-'. The error matches ErrInvalidTopicName and says why. Internal topic
// names are legal names (see IsInternalTopic), and a legal name may still
// collide with an existing topic (CreateTopic checks that).
func ValidateTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: it can't be empty", ErrInvalidTopicName)
	case name == "." || name == "..":
		return fmt.Errorf("%w %q: it cannot be \".\" or \"..\"", ErrInvalidTopicName, name)
	case len(name) > MaxTopicNameLength:
		return fmt.Errorf("%w %.40q...: it can't be longer than %d characters, got %d",
			ErrInvalidTopicName, name, MaxTopicNameLength, len(name))
	}
	for i := 0; i < len(name); i++ {
		if !legalTopicChar(name[i]) {
			return fmt.Errorf("%w %q: it contains a character other than ASCII alphanumerics, '.', '_' and '-' (%q at byte %d)",
				ErrInvalidTopicName, name, name[i], i)
		}
	}
	return nil
}

func legalTopicChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// IsInternalTopic reports whether name is one of the broker's internal
// topics, ConsumerOffsetsTopic or TransactionStateTopic.
func IsInternalTopic(name string) bool {
	return name == ConsumerOffsetsTopic || name == TransactionStateTopic
}

// checkUserTopic is what a user-facing topic operation (create, delete,
// alter, produce) checks first: a legal name that is not internal.
func checkUserTopic(name string) error {
	if err := ValidateTopicName(name); err != nil {
		return err
	}
	if IsInternalTopic(name) {
		return fmt.Errorf("%w: %q is managed by the broker", ErrInternalTopic, name)
	}
	return nil
}

// unifyCollisionChars maps '.' to '_', as Kafka's Topic.unifyCollisionChars:
// Kafka's metric names cannot tell the two apart, so topics whose names
// differ only there collide.
func unifyCollisionChars(name string) string {
	return strings.ReplaceAll(name, ".", "_")
}

// partitionDirName is the directory of a partition, Kafka's
// "<topic>-<partition>".
func partitionDirName(topic string, partition int32) string {
	return topic + "-" + strconv.FormatInt(int64(partition), 10)
}

// deleteDirSuffix ends the name of a partition directory being deleted.
const deleteDirSuffix = "-delete"

// deleteDirName is the name a deleted partition's directory is renamed to
// before it is removed, Kafka's "<topic>-<partition>.<id>-delete". Like
// Kafka (LocalLog.logDirNameWithSuffixCappedLength) it cuts the topic name
// short when the whole would pass 255 bytes; the id and partition keep it
// unique.
func deleteDirName(topic string, partition int32, id TopicID) string {
	suffix := "-" + strconv.FormatInt(int64(partition), 10) + "." + id.String() + deleteDirSuffix
	if n := maxFileNameLength - len(suffix); len(topic) > n {
		topic = topic[:n]
	}
	return topic + suffix
}

// isDeleteDirName reports whether a directory entry is a partition directory
// pending removal, "<topic>-<partition>.<32 hex digits>-delete".
func isDeleteDirName(name string) bool {
	rest, ok := strings.CutSuffix(name, deleteDirSuffix)
	if !ok {
		return false
	}
	dot := strings.LastIndexByte(rest, '.')
	if dot < 0 {
		return false
	}
	if _, err := ParseTopicID(rest[dot+1:]); err != nil {
		return false
	}
	rest = rest[:dot]
	dash := strings.LastIndexByte(rest, '-')
	if dash < 0 {
		return false // no partition
	}
	digits := rest[dash+1:]
	if digits == "" || len(digits) > 10 {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// checkPartitionCount checks that a topic may have n partitions: at least
// one, and few enough that the last one's directory name fits in 255 bytes
// (only a concern for names near MaxTopicNameLength).
func checkPartitionCount(topic string, n int32) error {
	if n < 1 {
		return fmt.Errorf("%w: topic %q: number of partitions must be larger than 0, got %d",
			ErrInvalidPartitions, topic, n)
	}
	if last := partitionDirName(topic, n-1); len(last) > maxFileNameLength {
		return fmt.Errorf("%w: topic %q: %d partitions would need the directory name %q, longer than %d bytes",
			ErrInvalidPartitions, topic, n, last, maxFileNameLength)
	}
	return nil
}

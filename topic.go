package samsa

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// TopicID identifies one incarnation of a topic, as Kafka's topic IDs do: a
// topic deleted and created again under the same name gets a new ID. It is
// 16 random bytes, written as 32 lowercase hex digits. The zero TopicID is
// never assigned.
type TopicID [16]byte

// newTopicID returns a random, non-zero TopicID.
func newTopicID() TopicID {
	for {
		var id TopicID
		_, _ = rand.Read(id[:]) // never fails (crypto/rand, Go 1.24+)
		if !id.IsZero() {
			return id
		}
	}
}

// ParseTopicID parses the 32 hex digits String returns. The error matches
// ErrInvalidConfig.
func ParseTopicID(s string) (TopicID, error) {
	var id TopicID
	if len(s) != 2*len(id) {
		return TopicID{}, fmt.Errorf("%w: topic id %q: want %d hex digits", ErrInvalidConfig, s, 2*len(id))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return TopicID{}, fmt.Errorf("%w: topic id %q: want lowercase hex digits", ErrInvalidConfig, s)
		}
	}
	_, _ = hex.Decode(id[:], []byte(s))
	return id, nil
}

// IsZero reports whether id is the zero TopicID, which names no topic.
func (id TopicID) IsZero() bool { return id == TopicID{} }

// String returns id as 32 lowercase hex digits.
func (id TopicID) String() string { return hex.EncodeToString(id[:]) }

// MarshalText implements encoding.TextMarshaler (the String form).
func (id TopicID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (ParseTopicID).
func (id *TopicID) UnmarshalText(b []byte) error {
	v, err := ParseTopicID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// TopicDescription is what the broker knows of a topic: what DescribeTopic
// returns. It is a copy; changing it changes nothing.
type TopicDescription struct {
	// Name is the topic's name.
	Name string
	// ID identifies this incarnation of the topic.
	ID TopicID
	// Partitions is the number of partitions, numbered 0 to Partitions-1.
	Partitions int32
	// Internal reports one of the broker's internal topics.
	Internal bool
	// Created is when the topic was created.
	Created time.Time
	// Overrides holds the topic's own settings, as CreateTopic and
	// AlterTopicConfig set them: zero fields follow the broker's defaults.
	// Its Partitions field is zero. Overrides.Properties() is what
	// kafka-configs --describe lists for a topic.
	Overrides TopicConfig
	// Config is the effective configuration: Overrides over the broker's
	// defaults over Kafka's, with every field filled in (Partitions too).
	// Config.Properties() is kafka-configs --describe --all. After
	// AlterTopicConfig it is the new config, which the partitions apply
	// from their next open (see AlterTopicConfig).
	Config TopicConfig
	// PartitionDetails describes each partition, in order of id.
	PartitionDetails []PartitionDescription
}

// PartitionDescription is the state of one partition of a topic, as
// DescribeTopic saw it: a snapshot, not kept up to date.
type PartitionDescription struct {
	// Partition is the partition's id.
	Partition int32
	// LogStartOffset is the first offset still kept.
	LogStartOffset int64
	// HighWatermark is the end of what consumers may read: the records
	// below it are synced (or, with UnsafeExposeUnsynced, appended).
	HighWatermark int64
	// LogEndOffset is the offset the next appended record gets.
	LogEndOffset int64
	// SizeBytes is the size on disk of the partition's segment files
	// (.log files; indexes not counted).
	SizeBytes int64
	// Segments is the number of segments.
	Segments int
}

package samsa

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kafka's names of the topic configs samsa applies.
const (
	propSegmentBytes         = "segment.bytes"
	propSegmentMs            = "segment.ms"
	propSegmentIndexBytes    = "segment.index.bytes"
	propIndexIntervalBytes   = "index.interval.bytes"
	propRetentionMs          = "retention.ms"
	propRetentionBytes       = "retention.bytes"
	propCleanupPolicy        = "cleanup.policy"
	propMaxMessageBytes      = "max.message.bytes"
	propMessageTimestampType = "message.timestamp.type"
	propFlushMessages        = "flush.messages"
	propFlushMs              = "flush.ms"
	propUnsafeExposeUnsynced = "samsa.unsafe.expose.unsynced"
)

// kafkaLongMax is how Kafka spells "never" for flush.messages and flush.ms.
const kafkaLongMax = "9223372036854775807"

// maxDurationMs is the largest count of milliseconds a time.Duration holds.
const maxDurationMs = math.MaxInt64 / int64(time.Millisecond)

// topicProperty ties a TopicConfig field to its Kafka property.
type topicProperty struct {
	name   string // topic-level property, "segment.bytes"
	broker string // broker-level default, "log.segment.bytes"
	field  string // "SegmentBytes"
	// get returns the field as the property's value, "" when it is zero.
	get func(c *TopicConfig) string
	// set parses a non-empty value into the field; a non-empty result is
	// why it cannot.
	set func(c *TopicConfig, v string) string
	// reset zeroes the field.
	reset func(c *TopicConfig)
	// check returns why the field's value is invalid, or "".
	check func(c *TopicConfig) string
}

func (p *topicProperty) errorf(prefix string, broker bool, format string, args ...any) error {
	prop := p.name
	if broker {
		prop = p.broker
	}
	return &configError{field: prefix + p.field, property: prop, reason: fmt.Sprintf(format, args...)}
}

// topicProperties lists the topic configs samsa applies, in the order
// Properties and Validate visit them. It is never modified.
var topicProperties = [...]topicProperty{
	{
		name: propSegmentBytes, broker: "log.segment.bytes", field: "SegmentBytes",
		get:   func(c *TopicConfig) string { return formatInt(c.SegmentBytes) },
		reset: func(c *TopicConfig) { c.SegmentBytes = 0 },
		set: func(c *TopicConfig, v string) string {
			n, why := parseInt(v, 64)
			if why == "" && n == 0 {
				why = "must be at least 14, got 0"
			}
			c.SegmentBytes = n
			return why
		},
		check: func(c *TopicConfig) string {
			if v := c.SegmentBytes; v != 0 && (v < minSegmentBytes || v > math.MaxInt32) {
				return fmt.Sprintf("must be between %d and %d, got %d", minSegmentBytes, math.MaxInt32, v)
			}
			return ""
		},
	},
	{
		name: propSegmentMs, broker: "log.roll.ms", field: "SegmentMs",
		get:   func(c *TopicConfig) string { return formatMs(c.SegmentMs) },
		reset: func(c *TopicConfig) { c.SegmentMs = 0 },
		set: func(c *TopicConfig, v string) string {
			ms, why := parseInt(v, 64)
			if why == "" && ms < 1 {
				why = fmt.Sprintf("must be at least 1, got %d", ms)
			}
			c.SegmentMs = msToDuration(ms)
			return why
		},
		check: func(c *TopicConfig) string {
			if v := c.SegmentMs; v != 0 && v < time.Millisecond {
				return fmt.Sprintf("must be at least 1ms, got %v", v)
			}
			return ""
		},
	},
	{
		name: propSegmentIndexBytes, broker: "log.index.size.max.bytes", field: "SegmentIndexBytes",
		get:   func(c *TopicConfig) string { return formatInt(int64(c.SegmentIndexBytes)) },
		reset: func(c *TopicConfig) { c.SegmentIndexBytes = 0 },
		set: func(c *TopicConfig, v string) string {
			n, why := parseInt(v, 32)
			if why == "" && n < minSegmentIndexBytes {
				why = fmt.Sprintf("must be at least %d, got %d", minSegmentIndexBytes, n)
			}
			c.SegmentIndexBytes = int32(n)
			return why
		},
		check: func(c *TopicConfig) string {
			if v := c.SegmentIndexBytes; v != 0 && v < minSegmentIndexBytes {
				return fmt.Sprintf("must be at least %d, got %d", minSegmentIndexBytes, v)
			}
			return ""
		},
	},
	{
		name: propIndexIntervalBytes, broker: "log.index.interval.bytes", field: "IndexIntervalBytes",
		get:   func(c *TopicConfig) string { return formatInt(int64(c.IndexIntervalBytes)) },
		reset: func(c *TopicConfig) { c.IndexIntervalBytes = 0 },
		set: func(c *TopicConfig, v string) string {
			n, why := parseInt(v, 32)
			switch {
			case why != "":
			case n < 0:
				why = fmt.Sprintf("must not be negative, got %d", n)
			case n == 0:
				n = 1 // an entry for every batch, as Kafka's 0
			}
			c.IndexIntervalBytes = int32(n)
			return why
		},
		check: func(c *TopicConfig) string {
			if v := c.IndexIntervalBytes; v < 0 {
				return fmt.Sprintf("must not be negative, got %d", v)
			}
			return ""
		},
	},
	{
		name: propRetentionMs, broker: "log.retention.ms", field: "RetentionMs",
		get: func(c *TopicConfig) string {
			if c.RetentionMs < 0 {
				return "-1"
			}
			return formatMs(c.RetentionMs)
		},
		reset: func(c *TopicConfig) { c.RetentionMs = 0 },
		set: func(c *TopicConfig, v string) string {
			ms, why := parseInt(v, 64)
			c.RetentionMs = msToDurationOrNever(ms)
			return why
		},
		check: func(*TopicConfig) string { return "" }, // negative is forever
	},
	{
		name: propRetentionBytes, broker: "log.retention.bytes", field: "RetentionBytes",
		get: func(c *TopicConfig) string {
			if c.RetentionBytes < 0 {
				return "-1"
			}
			return formatInt(c.RetentionBytes)
		},
		reset: func(c *TopicConfig) { c.RetentionBytes = 0 },
		set: func(c *TopicConfig, v string) string {
			n, why := parseInt(v, 64)
			switch {
			case why != "":
			case n < 0:
				n = -1
			case n == 0:
				why = "cannot be 0 in samsa (a zero RetentionBytes is the default, unlimited): give a positive size, or -1"
			}
			c.RetentionBytes = n
			return why
		},
		check: func(*TopicConfig) string { return "" }, // negative is unlimited
	},
	{
		name: propCleanupPolicy, broker: "log.cleanup.policy", field: "CleanupPolicy",
		get:   func(c *TopicConfig) string { return string(c.CleanupPolicy) },
		reset: func(c *TopicConfig) { c.CleanupPolicy = "" },
		set: func(c *TopicConfig, v string) string {
			p, err := ParseCleanupPolicy(v)
			if err != nil {
				return fmt.Sprintf("must be a list of delete and compact, got %q", v)
			}
			c.CleanupPolicy = p
			return ""
		},
		check: func(c *TopicConfig) string {
			if !c.CleanupPolicy.valid() {
				return fmt.Sprintf("must be %q, %q or %q, got %q",
					CleanupDelete, CleanupCompact, CleanupCompactDelete, c.CleanupPolicy)
			}
			return ""
		},
	},
	{
		name: propMaxMessageBytes, broker: "message.max.bytes", field: "MaxMessageBytes",
		get:   func(c *TopicConfig) string { return formatInt(int64(c.MaxMessageBytes)) },
		reset: func(c *TopicConfig) { c.MaxMessageBytes = 0 },
		set: func(c *TopicConfig, v string) string {
			n, why := parseInt(v, 32)
			if why == "" && n < 1 {
				why = fmt.Sprintf("must be at least 1, got %d", n)
			}
			c.MaxMessageBytes = int32(n)
			return why
		},
		check: func(c *TopicConfig) string {
			if v := c.MaxMessageBytes; v < 0 {
				return fmt.Sprintf("must be at least 1, got %d", v)
			}
			return ""
		},
	},
	{
		name: propMessageTimestampType, broker: "log.message.timestamp.type", field: "MessageTimestampType",
		get:   func(c *TopicConfig) string { return string(c.MessageTimestampType) },
		reset: func(c *TopicConfig) { c.MessageTimestampType = "" },
		set: func(c *TopicConfig, v string) string {
			c.MessageTimestampType = TimestampType(v)
			if v == "" || !c.MessageTimestampType.valid() {
				return fmt.Sprintf("must be %s or %s, got %q", CreateTime, LogAppendTime, v)
			}
			return ""
		},
		check: func(c *TopicConfig) string {
			if !c.MessageTimestampType.valid() {
				return fmt.Sprintf("must be %s or %s, got %q", CreateTime, LogAppendTime, c.MessageTimestampType)
			}
			return ""
		},
	},
	{
		name: propFlushMessages, broker: "log.flush.interval.messages", field: "FlushMessages",
		get: func(c *TopicConfig) string {
			if c.FlushMessages < 0 {
				return kafkaLongMax
			}
			return formatInt(c.FlushMessages)
		},
		reset: func(c *TopicConfig) { c.FlushMessages = 0 },
		set: func(c *TopicConfig, v string) string {
			n, why := parseInt(v, 64)
			switch {
			case why != "":
			case n == 0:
				why = "must be at least 1, got 0"
			case n < 0 || n == math.MaxInt64:
				n = -1 // never
			}
			c.FlushMessages = n
			return why
		},
		check: func(*TopicConfig) string { return "" }, // negative is never
	},
	{
		name: propFlushMs, broker: "log.flush.interval.ms", field: "FlushMs",
		get: func(c *TopicConfig) string {
			if c.FlushMs < 0 {
				return kafkaLongMax
			}
			return formatMs(c.FlushMs)
		},
		reset: func(c *TopicConfig) { c.FlushMs = 0 },
		set: func(c *TopicConfig, v string) string {
			ms, why := parseInt(v, 64)
			c.FlushMs = msToDurationOrNever(ms)
			return why
		},
		check: func(*TopicConfig) string { return "" }, // negative is never
	},
	{
		name: propUnsafeExposeUnsynced, broker: propUnsafeExposeUnsynced, field: "UnsafeExposeUnsynced",
		get: func(c *TopicConfig) string {
			if c.UnsafeExposeUnsynced {
				return "true"
			}
			return ""
		},
		reset: func(c *TopicConfig) { c.UnsafeExposeUnsynced = false },
		set: func(c *TopicConfig, v string) string {
			switch {
			case strings.EqualFold(v, "true"):
				c.UnsafeExposeUnsynced = true
			case strings.EqualFold(v, "false"):
				c.UnsafeExposeUnsynced = false
			default:
				return fmt.Sprintf("must be true or false, got %q", v)
			}
			return ""
		},
		check: func(*TopicConfig) string { return "" },
	},
}

// lookupTopicProperty returns the topic config named name, or nil.
func lookupTopicProperty(name string) *topicProperty {
	for i := range topicProperties {
		if topicProperties[i].name == name {
			return &topicProperties[i]
		}
	}
	return nil
}

// TopicPropertyNames returns the Kafka topic config names that SetProperty
// accepts, sorted: segment.bytes, segment.ms, segment.index.bytes,
// index.interval.bytes, retention.ms, retention.bytes, cleanup.policy,
// max.message.bytes, message.timestamp.type, flush.messages, flush.ms, and
// samsa's own samsa.unsafe.expose.unsynced.
func TopicPropertyNames() []string {
	names := make([]string, len(topicProperties))
	for i := range topicProperties {
		names[i] = topicProperties[i].name
	}
	slices.Sort(names)
	return names
}

// Properties returns the fields of c that are set (non-zero) as Kafka topic
// configs: property name to value, as kafka-configs prints them
// ("retention.ms": "86400000"). Durations are whole milliseconds; "forever"
// and "unlimited" are "-1", and "never" for flush.messages and flush.ms is
// Kafka's 9223372036854775807. Partitions is not a property and is left
// out. Of an effective config (TopicDescription.Config) it lists every
// property. ParseTopicConfig reads the map back.
func (c TopicConfig) Properties() map[string]string {
	m := make(map[string]string, len(topicProperties))
	for i := range topicProperties {
		if v := topicProperties[i].get(&c); v != "" {
			m[topicProperties[i].name] = v
		}
	}
	return m
}

// SetProperty sets the field of c that mirrors the Kafka topic config name
// from its string value, as kafka-configs --alter --add-config would. An
// empty value deletes the override: the field goes back to zero, the
// default. Kafka's values that samsa writes differently are translated
// (see TopicConfig). A name samsa does not apply (compression.type,
// min.insync.replicas, ...) or a value out of range is an error matching
// ErrInvalidConfig, and c is unchanged.
func (c *TopicConfig) SetProperty(name, value string) error {
	p := lookupTopicProperty(name)
	if p == nil {
		return &configError{reason: fmt.Sprintf("unknown topic config %q (samsa applies %s)",
			name, strings.Join(TopicPropertyNames(), ", "))}
	}
	if value == "" {
		p.reset(c)
		return nil
	}
	next := *c
	if why := p.set(&next, strings.TrimSpace(value)); why != "" {
		return p.errorf("TopicConfig.", false, "%s", why)
	}
	if why := p.check(&next); why != "" {
		return p.errorf("TopicConfig.", false, "%s", why)
	}
	*c = next
	return nil
}

// ParseTopicConfig builds a TopicConfig from Kafka topic configs, as
// SetProperty sets each (an empty value leaves its field zero). The
// problems of all the properties are joined into one error, each matching
// ErrInvalidConfig.
func ParseTopicConfig(props map[string]string) (TopicConfig, error) {
	var c TopicConfig
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(props)) {
		if err := c.SetProperty(name, props[name]); err != nil {
			errs = append(errs, err)
		}
	}
	return c, errors.Join(errs...)
}

func formatInt(v int64) string {
	if v == 0 {
		return ""
	}
	return strconv.FormatInt(v, 10)
}

// formatMs writes a non-zero duration as whole milliseconds (1ns, Kafka's
// 0, is "0").
func formatMs(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return strconv.FormatInt(d.Milliseconds(), 10)
}

func parseInt(v string, bits int) (int64, string) {
	n, err := strconv.ParseInt(v, 10, bits)
	if err != nil {
		return 0, fmt.Sprintf("must be a %d-bit integer, got %q", bits, v)
	}
	return n, ""
}

// msToDuration converts milliseconds, saturating at the largest Duration.
func msToDuration(ms int64) time.Duration {
	if ms >= maxDurationMs {
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}

// msToDurationOrNever converts a retention.ms or flush.ms value: negative,
// or too long for a Duration, is never (-1); Kafka's 0 is 1ns, which is no
// different at millisecond resolution and is not mistaken for the default.
func msToDurationOrNever(ms int64) time.Duration {
	switch {
	case ms < 0 || ms >= maxDurationMs:
		return -1
	case ms == 0:
		return time.Nanosecond
	}
	return time.Duration(ms) * time.Millisecond
}

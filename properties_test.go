package samsa

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSetProperty(t *testing.T) {
	for _, tc := range []struct {
		name  string
		prop  string
		value string
		want  TopicConfig
		back  string // Properties()[prop] afterwards; "-" for absent; "" for value
		err   string // substring of the error
	}{
		{name: "segment.bytes", prop: "segment.bytes", value: "1048576", want: TopicConfig{SegmentBytes: 1 << 20}},
		{name: "segment.bytes minimum", prop: "segment.bytes", value: "14", want: TopicConfig{SegmentBytes: 14}},
		{name: "segment.bytes too small", prop: "segment.bytes", value: "13",
			err: "samsa: TopicConfig.SegmentBytes (segment.bytes) must be between 14 and 2147483647, got 13"},
		{name: "segment.bytes zero", prop: "segment.bytes", value: "0", err: "must be at least 14, got 0"},
		{name: "segment.bytes not a number", prop: "segment.bytes", value: "1GB",
			err: `samsa: TopicConfig.SegmentBytes (segment.bytes) must be a 64-bit integer, got "1GB"`},
		{name: "segment.bytes spaces trimmed", prop: "segment.bytes", value: " 100 ", want: TopicConfig{SegmentBytes: 100}, back: "100"},
		{name: "segment.ms", prop: "segment.ms", value: "3600000", want: TopicConfig{SegmentMs: time.Hour}},
		{name: "segment.ms Long.MAX saturates", prop: "segment.ms", value: "9223372036854775807",
			want: TopicConfig{SegmentMs: math.MaxInt64}, back: "9223372036854"},
		{name: "segment.ms zero", prop: "segment.ms", value: "0", err: "TopicConfig.SegmentMs (segment.ms) must be at least 1, got 0"},
		{name: "segment.index.bytes", prop: "segment.index.bytes", value: "4096", want: TopicConfig{SegmentIndexBytes: 4096}},
		{name: "segment.index.bytes too small", prop: "segment.index.bytes", value: "3", err: "must be at least 4, got 3"},
		{name: "segment.index.bytes over int32", prop: "segment.index.bytes", value: "2147483648", err: "must be a 32-bit integer"},
		{name: "index.interval.bytes", prop: "index.interval.bytes", value: "100", want: TopicConfig{IndexIntervalBytes: 100}},
		{name: "index.interval.bytes Kafka 0", prop: "index.interval.bytes", value: "0", want: TopicConfig{IndexIntervalBytes: 1}, back: "1"},
		{name: "index.interval.bytes negative", prop: "index.interval.bytes", value: "-1", err: "must not be negative"},
		{name: "retention.ms", prop: "retention.ms", value: "86400000", want: TopicConfig{RetentionMs: 24 * time.Hour}},
		{name: "retention.ms forever", prop: "retention.ms", value: "-1", want: TopicConfig{RetentionMs: -1}},
		{name: "retention.ms other negative is forever", prop: "retention.ms", value: "-5", want: TopicConfig{RetentionMs: -1}, back: "-1"},
		{name: "retention.ms Kafka 0", prop: "retention.ms", value: "0", want: TopicConfig{RetentionMs: time.Nanosecond}},
		{name: "retention.ms Long.MAX is forever", prop: "retention.ms", value: "9223372036854775807", want: TopicConfig{RetentionMs: -1}, back: "-1"},
		{name: "retention.bytes", prop: "retention.bytes", value: "1073741824", want: TopicConfig{RetentionBytes: 1 << 30}},
		{name: "retention.bytes unlimited", prop: "retention.bytes", value: "-1", want: TopicConfig{RetentionBytes: -1}},
		{name: "retention.bytes zero", prop: "retention.bytes", value: "0", err: "cannot be 0 in samsa"},
		{name: "cleanup.policy compact", prop: "cleanup.policy", value: "compact", want: TopicConfig{CleanupPolicy: CleanupCompact}},
		{name: "cleanup.policy both", prop: "cleanup.policy", value: "delete,compact",
			want: TopicConfig{CleanupPolicy: CleanupCompactDelete}, back: "compact,delete"},
		{name: "cleanup.policy bad", prop: "cleanup.policy", value: "keep",
			err: `samsa: TopicConfig.CleanupPolicy (cleanup.policy) must be a list of delete and compact, got "keep"`},
		{name: "max.message.bytes", prop: "max.message.bytes", value: "2000000", want: TopicConfig{MaxMessageBytes: 2000000}},
		{name: "max.message.bytes zero", prop: "max.message.bytes", value: "0", err: "must be at least 1, got 0"},
		{name: "message.timestamp.type", prop: "message.timestamp.type", value: "LogAppendTime", want: TopicConfig{MessageTimestampType: LogAppendTime}},
		{name: "message.timestamp.type case", prop: "message.timestamp.type", value: "logappendtime", err: "must be CreateTime or LogAppendTime"},
		{name: "flush.messages", prop: "flush.messages", value: "1", want: TopicConfig{FlushMessages: 1}},
		{name: "flush.messages Long.MAX", prop: "flush.messages", value: "9223372036854775807", want: TopicConfig{FlushMessages: -1}},
		{name: "flush.messages zero", prop: "flush.messages", value: "0", err: "must be at least 1, got 0"},
		{name: "flush.ms", prop: "flush.ms", value: "1000", want: TopicConfig{FlushMs: time.Second}},
		{name: "flush.ms Kafka 0", prop: "flush.ms", value: "0", want: TopicConfig{FlushMs: time.Nanosecond}},
		{name: "flush.ms Long.MAX", prop: "flush.ms", value: "9223372036854775807", want: TopicConfig{FlushMs: -1}},
		{name: "unsafe", prop: "samsa.unsafe.expose.unsynced", value: "TRUE", want: TopicConfig{UnsafeExposeUnsynced: true}, back: "true"},
		{name: "unsafe false", prop: "samsa.unsafe.expose.unsynced", value: "false", want: TopicConfig{}, back: "-"},
		{name: "unsafe bad", prop: "samsa.unsafe.expose.unsynced", value: "yes", err: "must be true or false"},
		{name: "unknown", prop: "compression.type", value: "zstd", err: `samsa: unknown topic config "compression.type" (samsa applies cleanup.policy, `},
		{name: "partitions is not a property", prop: "partitions", value: "3", err: "unknown topic config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := TopicConfig{Partitions: 7}
			err := c.SetProperty(tc.prop, tc.value)
			if tc.err != "" {
				require.ErrorIs(t, err, ErrInvalidConfig)
				require.Contains(t, err.Error(), tc.err)
				require.Equal(t, TopicConfig{Partitions: 7}, c, "unchanged on error")
				return
			}
			require.NoError(t, err)
			want := tc.want
			want.Partitions = 7
			require.Equal(t, want, c)
			require.NoError(t, c.Validate())

			props := c.Properties()
			switch tc.back {
			case "-":
				require.NotContains(t, props, tc.prop)
			case "":
				require.Equal(t, tc.value, props[tc.prop])
			default:
				require.Equal(t, tc.back, props[tc.prop])
			}
			// Properties read back give the same config.
			again, err := ParseTopicConfig(props)
			require.NoError(t, err)
			again.Partitions = 7
			require.Equal(t, c, again)

			// An empty value deletes the override.
			require.NoError(t, c.SetProperty(tc.prop, ""))
			require.Equal(t, TopicConfig{Partitions: 7}, c)
		})
	}
}

func TestPropertiesRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  TopicConfig
	}{
		{"zero", TopicConfig{}},
		{"effective Kafka defaults", TopicConfig{}.effective(TopicConfig{})},
		{"everything set", TopicConfig{
			SegmentBytes: 1 << 20, SegmentMs: time.Hour, SegmentIndexBytes: 1 << 16, IndexIntervalBytes: 100,
			RetentionMs: 24 * time.Hour, RetentionBytes: 1 << 30, CleanupPolicy: CleanupCompactDelete,
			MaxMessageBytes: 1 << 21, MessageTimestampType: LogAppendTime, FlushMessages: 1000, FlushMs: time.Second,
			UnsafeExposeUnsynced: true,
		}},
		{"never and forever", TopicConfig{RetentionMs: -1, RetentionBytes: -1, FlushMessages: -1, FlushMs: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTopicConfig(tc.cfg.Properties())
			require.NoError(t, err)
			want := tc.cfg
			want.Partitions = 0
			require.Equal(t, want, got)
		})
	}
}

func TestEffectiveProperties(t *testing.T) {
	// kafka-configs --describe --all, for a topic with no overrides.
	require.Equal(t, map[string]string{
		"segment.bytes":          "1073741824",
		"segment.ms":             "604800000",
		"segment.index.bytes":    "10485760",
		"index.interval.bytes":   "4096",
		"retention.ms":           "604800000",
		"retention.bytes":        "-1",
		"cleanup.policy":         "delete",
		"max.message.bytes":      "1048588",
		"message.timestamp.type": "CreateTime",
		"flush.messages":         "9223372036854775807",
		"flush.ms":               "9223372036854775807",
	}, TopicConfig{}.effective(TopicConfig{}).Properties())
	require.Empty(t, TopicConfig{Partitions: 3}.Properties())
}

func TestParseTopicConfigJoinsErrors(t *testing.T) {
	c, err := ParseTopicConfig(map[string]string{
		"segment.bytes":    "1",
		"retention.ms":     "3600000",
		"compression.type": "lz4",
		"flush.messages":   "",
	})
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.Contains(t, err.Error(), `unknown topic config "compression.type"`)
	require.Contains(t, err.Error(), "TopicConfig.SegmentBytes (segment.bytes)")
	require.Equal(t, TopicConfig{RetentionMs: time.Hour}, c, "the valid properties are set")

	c, err = ParseTopicConfig(nil)
	require.NoError(t, err)
	require.Equal(t, TopicConfig{}, c)
}

func TestTopicPropertyNames(t *testing.T) {
	require.Equal(t, []string{
		"cleanup.policy", "flush.messages", "flush.ms", "index.interval.bytes", "max.message.bytes",
		"message.timestamp.type", "retention.bytes", "retention.ms", "samsa.unsafe.expose.unsynced",
		"segment.bytes", "segment.index.bytes", "segment.ms",
	}, TopicPropertyNames())
}

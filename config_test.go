package samsa

import (
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTopicConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  *TopicConfig
		msgs []string // each must appear in the error; none: valid
	}{
		{"nil", nil, nil},
		{"zero", &TopicConfig{}, nil},
		{"all set", &TopicConfig{
			Partitions: 3, SegmentBytes: 14, SegmentMs: time.Millisecond, SegmentIndexBytes: 4,
			IndexIntervalBytes: 1, RetentionMs: -1, RetentionBytes: -1, CleanupPolicy: CleanupCompactDelete,
			MaxMessageBytes: 1, MessageTimestampType: LogAppendTime, FlushMessages: 1, FlushMs: time.Nanosecond,
			UnsafeExposeUnsynced: true,
		}, nil},
		{"max segment", &TopicConfig{SegmentBytes: math.MaxInt32}, nil},
		{"negative partitions", &TopicConfig{Partitions: -1},
			[]string{"samsa: TopicConfig.Partitions must be at least 1 (0: Config.DefaultPartitions), got -1"}},
		{"small segment", &TopicConfig{SegmentBytes: 13},
			[]string{"samsa: TopicConfig.SegmentBytes (segment.bytes) must be between 14 and 2147483647, got 13"}},
		{"huge segment", &TopicConfig{SegmentBytes: math.MaxInt32 + 1}, []string{"TopicConfig.SegmentBytes (segment.bytes)"}},
		{"negative segment", &TopicConfig{SegmentBytes: -1}, []string{"TopicConfig.SegmentBytes (segment.bytes)"}},
		{"sub-millisecond segment.ms", &TopicConfig{SegmentMs: time.Microsecond},
			[]string{"samsa: TopicConfig.SegmentMs (segment.ms) must be at least 1ms, got 1µs"}},
		{"negative segment.ms", &TopicConfig{SegmentMs: -time.Hour}, []string{"TopicConfig.SegmentMs (segment.ms)"}},
		{"small index", &TopicConfig{SegmentIndexBytes: 3}, []string{"TopicConfig.SegmentIndexBytes (segment.index.bytes) must be at least 4, got 3"}},
		{"negative index interval", &TopicConfig{IndexIntervalBytes: -1}, []string{"TopicConfig.IndexIntervalBytes (index.interval.bytes) must not be negative"}},
		{"bad cleanup policy", &TopicConfig{CleanupPolicy: "delete,compact"}, []string{`TopicConfig.CleanupPolicy (cleanup.policy) must be "delete", "compact" or "compact,delete", got "delete,compact"`}},
		{"negative max message", &TopicConfig{MaxMessageBytes: -5}, []string{"TopicConfig.MaxMessageBytes (max.message.bytes) must be at least 1, got -5"}},
		{"bad timestamp type", &TopicConfig{MessageTimestampType: "createtime"}, []string{`TopicConfig.MessageTimestampType (message.timestamp.type) must be CreateTime or LogAppendTime, got "createtime"`}},
		{"several", &TopicConfig{SegmentBytes: 1, MaxMessageBytes: -1},
			[]string{"TopicConfig.SegmentBytes (segment.bytes)", "TopicConfig.MaxMessageBytes (max.message.bytes)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.msgs) == 0 {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidConfig)
			for _, m := range tc.msgs {
				require.Contains(t, err.Error(), m)
			}
			require.Equal(t, tc.cfg.Partitions < 0, errors.Is(err, ErrInvalidPartitions))
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  *Config
		msgs []string
	}{
		{"nil", nil, nil},
		{"zero", &Config{}, nil},
		{"set", &Config{DisableAutoCreateTopics: true, DefaultPartitions: 8, Topic: TopicConfig{RetentionMs: time.Hour},
			FlushInterval: time.Millisecond, RetentionCheckInterval: time.Second, Logger: slog.Default()}, nil},
		{"negative partitions", &Config{DefaultPartitions: -1},
			[]string{"samsa: Config.DefaultPartitions (num.partitions) must be at least 1 (0: the default, 1), got -1"}},
		{"topic partitions", &Config{Topic: TopicConfig{Partitions: 3}},
			[]string{"samsa: Config.Topic.Partitions must be 0, got 3: the default partition count is Config.DefaultPartitions (num.partitions)"}},
		{"broker property names", &Config{Topic: TopicConfig{SegmentBytes: 1, SegmentMs: -1, MaxMessageBytes: -1}},
			[]string{"samsa: Config.Topic.SegmentBytes (log.segment.bytes)", "Config.Topic.SegmentMs (log.roll.ms)", "Config.Topic.MaxMessageBytes (message.max.bytes)"}},
		{"negative flush interval", &Config{FlushInterval: -1}, []string{"samsa: Config.FlushInterval must not be negative"}},
		{"negative retention check", &Config{RetentionCheckInterval: -1},
			[]string{"samsa: Config.RetentionCheckInterval (log.retention.check.interval.ms) must not be negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.msgs) == 0 {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidConfig)
			for _, m := range tc.msgs {
				require.Contains(t, err.Error(), m)
			}
		})
	}
}

func TestConfigWithDefaults(t *testing.T) {
	var nilCfg *Config
	d := nilCfg.withDefaults()
	require.False(t, d.DisableAutoCreateTopics, "auto.create.topics.enable is on by default")
	require.EqualValues(t, 1, d.DefaultPartitions)
	require.Equal(t, 5*time.Millisecond, d.FlushInterval)
	require.Equal(t, 5*time.Minute, d.RetentionCheckInterval)
	require.NotNil(t, d.Logger)
	require.NotNil(t, d.fs)
	require.NoError(t, d.Validate())
	require.Equal(t, TopicConfig{Partitions: 1}, d.topicDefaults())

	in := &Config{DefaultPartitions: 4, FlushInterval: time.Second, Topic: TopicConfig{SegmentBytes: 100}}
	d = in.withDefaults()
	require.EqualValues(t, 4, d.DefaultPartitions)
	require.Equal(t, time.Second, d.FlushInterval)
	require.Equal(t, TopicConfig{Partitions: 4, SegmentBytes: 100}, d.topicDefaults())
	d.Topic.SegmentBytes = 1
	require.EqualValues(t, 100, in.Topic.SegmentBytes, "withDefaults copies")
}

func TestTopicConfigEffective(t *testing.T) {
	kafka := TopicConfig{
		Partitions:           1,
		SegmentBytes:         1073741824,
		SegmentMs:            7 * 24 * time.Hour,
		SegmentIndexBytes:    10485760,
		IndexIntervalBytes:   4096,
		RetentionMs:          7 * 24 * time.Hour,
		RetentionBytes:       -1,
		CleanupPolicy:        CleanupDelete,
		MaxMessageBytes:      1048588,
		MessageTimestampType: CreateTime,
		FlushMessages:        -1,
		FlushMs:              -1,
	}
	for _, tc := range []struct {
		name     string
		topic    TopicConfig
		defaults TopicConfig
		want     func(*TopicConfig)
	}{
		{"all Kafka defaults", TopicConfig{}, TopicConfig{}, func(*TopicConfig) {}},
		{"broker defaults", TopicConfig{}, TopicConfig{Partitions: 6, SegmentBytes: 1000, RetentionMs: time.Hour,
			CleanupPolicy: CleanupCompact, MessageTimestampType: LogAppendTime, UnsafeExposeUnsynced: true},
			func(w *TopicConfig) {
				w.Partitions, w.SegmentBytes, w.RetentionMs = 6, 1000, time.Hour
				w.CleanupPolicy, w.MessageTimestampType, w.UnsafeExposeUnsynced = CleanupCompact, LogAppendTime, true
			}},
		{"topic overrides broker", TopicConfig{Partitions: 2, SegmentBytes: 2000, CleanupPolicy: CleanupDelete},
			TopicConfig{Partitions: 6, SegmentBytes: 1000, CleanupPolicy: CleanupCompact},
			func(w *TopicConfig) { w.Partitions, w.SegmentBytes = 2, 2000 }},
		{"never and forever normalised", TopicConfig{RetentionMs: -time.Hour, RetentionBytes: -7, FlushMessages: -3, FlushMs: -time.Second},
			TopicConfig{RetentionMs: time.Hour, FlushMessages: 10},
			func(w *TopicConfig) { w.RetentionMs = -1 }},
		{"topic sets a bound the broker leaves open", TopicConfig{RetentionBytes: 1 << 30, FlushMessages: 1, FlushMs: time.Second},
			TopicConfig{},
			func(w *TopicConfig) { w.RetentionBytes, w.FlushMessages, w.FlushMs = 1<<30, 1, time.Second }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := kafka
			tc.want(&want)
			got := tc.topic.effective(tc.defaults)
			require.Equal(t, want, got)
			require.NoError(t, got.Validate())
			require.Equal(t, got, got.effective(TopicConfig{}), "effective is idempotent")
		})
	}
}

func TestLogParams(t *testing.T) {
	e := TopicConfig{}.effective(TopicConfig{})
	require.Equal(t, logParams{
		SegmentBytes:       1 << 30,
		SegmentMs:          7 * 24 * time.Hour,
		SegmentIndexBytes:  10 << 20,
		IndexIntervalBytes: 4096,
		RetentionMs:        7 * 24 * time.Hour,
		RetentionBytes:     -1,
		FlushMessages:      0, // never, in log.Config's words
		FlushMs:            0,
	}, e.logParams())

	e = TopicConfig{FlushMessages: 10, FlushMs: time.Second, RetentionBytes: 5 << 20}.effective(TopicConfig{})
	p := e.logParams()
	require.EqualValues(t, 10, p.FlushMessages)
	require.Equal(t, time.Second, p.FlushMs)
	require.EqualValues(t, 5<<20, p.RetentionBytes)

	e = TopicConfig{FlushMessages: math.MaxInt64}.effective(TopicConfig{})
	require.Zero(t, e.logParams().FlushMessages, "Kafka's Long.MAX is never")

	e = TopicConfig{CleanupPolicy: CleanupCompact, RetentionBytes: 100}.effective(TopicConfig{})
	p = e.logParams()
	require.Negative(t, p.RetentionMs, "compacted topics are not deleted by age")
	require.Negative(t, p.RetentionBytes, "nor by size")

	e = TopicConfig{CleanupPolicy: CleanupCompactDelete, RetentionBytes: 100}.effective(TopicConfig{})
	require.EqualValues(t, 100, e.logParams().RetentionBytes)
}

func TestCleanupPolicy(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    CleanupPolicy
		bad     bool
		del, cp bool
	}{
		{in: "delete", want: CleanupDelete, del: true},
		{in: "compact", want: CleanupCompact, cp: true},
		{in: "compact,delete", want: CleanupCompactDelete, del: true, cp: true},
		{in: "delete,compact", want: CleanupCompactDelete, del: true, cp: true},
		{in: " compact , delete ", want: CleanupCompactDelete, del: true, cp: true},
		{in: "delete,delete", want: CleanupDelete, del: true},
		{in: "", bad: true},
		{in: "Delete", bad: true},
		{in: "delete,", bad: true},
		{in: "retain", bad: true},
	} {
		t.Run(strings.ReplaceAll(tc.in, " ", "_"), func(t *testing.T) {
			got, err := ParseCleanupPolicy(tc.in)
			if tc.bad {
				require.ErrorIs(t, err, ErrInvalidConfig)
				require.Contains(t, err.Error(), "samsa: cleanup.policy must be a list of delete and compact")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.del, got.Delete())
			require.Equal(t, tc.cp, got.Compact())
		})
	}
	require.True(t, CleanupPolicy("").Delete(), "the zero policy is the default, delete")
	require.False(t, CleanupPolicy("").Compact())
}

package samsa

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidateTopicName(t *testing.T) {
	for _, tc := range []struct {
		name  string
		topic string
		why   string // substring of the error; "" for a valid name
	}{
		{"simple", "orders", ""},
		{"all legal characters", "a-Z_0.9", ""},
		{"single dot inside", "a.b", ""},
		{"three dots", "...", ""},
		{"internal names are legal names", ConsumerOffsetsTopic, ""},
		{"max length", strings.Repeat("x", MaxTopicNameLength), ""},
		{"empty", "", "can't be empty"},
		{"dot", ".", `cannot be "." or ".."`},
		{"dot dot", "..", `cannot be "." or ".."`},
		{"too long", strings.Repeat("x", MaxTopicNameLength+1), "can't be longer than 249 characters, got 250"},
		{"slash", "a/b", "contains a character other than ASCII alphanumerics"},
		{"space", "a b", "' ' at byte 1"},
		{"colon", "a:b", "':'"},
		{"non-ASCII letter", "café", "contains a character other than"},
		{"NUL", "a\x00", "contains a character other than"},
		{"plus", "a+b", "contains a character other than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateTopicName(tc.topic)
			if tc.why == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidTopicName)
			require.Contains(t, err.Error(), tc.why)
			require.True(t, strings.HasPrefix(err.Error(), "samsa: invalid topic name"), err.Error())
		})
	}
}

func TestInternalTopics(t *testing.T) {
	for _, tc := range []struct {
		name     string
		topic    string
		internal bool
	}{
		{"consumer offsets", "__consumer_offsets", true},
		{"transaction state", "__transaction_state", true},
		{"other double underscore", "__other", false},
		{"collides with internal but is not it", "__consumer.offsets", false},
		{"user topic", "orders", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.internal, IsInternalTopic(tc.topic))
			err := checkUserTopic(tc.topic)
			if tc.internal {
				require.ErrorIs(t, err, ErrInternalTopic)
				require.NotErrorIs(t, err, ErrInvalidTopicName)
			} else {
				require.NoError(t, err)
			}
		})
	}
	require.ErrorIs(t, checkUserTopic("a/b"), ErrInvalidTopicName)
}

func TestTopicsCollide(t *testing.T) {
	for _, tc := range []struct {
		name    string
		a, b    string
		collide bool
	}{
		{"dot and underscore", "a.b", "a_b", true},
		{"several", "a.b_c", "a_b.c", true},
		{"same name", "a.b", "a.b", true},
		{"different", "a.b", "a-b", false},
		{"case matters", "A.b", "a_b", false},
		{"no collision chars", "ab", "ab", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.collide, topicsCollide(tc.a, tc.b))
			require.Equal(t, tc.collide, topicsCollide(tc.b, tc.a))
		})
	}
}

func TestPartitionDirNames(t *testing.T) {
	id := TopicID{0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff}
	require.Equal(t, "orders-3", partitionDirName("orders", 3))
	require.Equal(t, "orders-3.ab0102030405060708090a0b0c0d0eff-delete", deleteDirName("orders", 3, id))

	long := strings.Repeat("t", MaxTopicNameLength)
	d := deleteDirName(long, 2147483647, id)
	require.Len(t, d, maxFileNameLength, "cut to 255 bytes like Kafka")
	require.True(t, strings.HasSuffix(d, "-2147483647.ab0102030405060708090a0b0c0d0eff-delete"))
	require.True(t, isDeleteDirName(d))

	for _, tc := range []struct {
		name string
		dir  string
		ok   bool
	}{
		{"kafka style", "orders-3.ab0102030405060708090a0b0c0d0eff-delete", true},
		{"dotted topic", "a.b-0.ab0102030405060708090a0b0c0d0eff-delete", true},
		{"partition dir", "orders-3", false},
		{"no partition", "orders.ab0102030405060708090a0b0c0d0eff-delete", false},
		{"empty partition", "orders-.ab0102030405060708090a0b0c0d0eff-delete", false},
		{"signed partition", "orders-+3.ab0102030405060708090a0b0c0d0eff-delete", false},
		{"short id", "orders-3.ab01-delete", false},
		{"upper-case id", "orders-3.AB0102030405060708090A0B0C0D0EFF-delete", false},
		{"no suffix", "orders-3.ab0102030405060708090a0b0c0d0eff", false},
		{"topic named like a delete dir, partition dir", "x-delete-0", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.ok, isDeleteDirName(tc.dir))
		})
	}
}

func TestParsePartitionDirName(t *testing.T) {
	for _, tc := range []struct {
		dir   string
		topic string
		p     int32
		ok    bool
	}{
		{"orders-0", "orders", 0, true},
		{"a-b-12", "a-b", 12, true},
		{"orders", "", 0, false},
		{"orders-", "", 0, false},
		{"-1", "", 0, false},
		{"orders-x", "", 0, false},
		{"orders-99999999999", "", 0, false},
		{"a/b-0", "", 0, false},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			topic, p, ok := parsePartitionDirName(tc.dir)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.topic, topic)
			require.Equal(t, tc.p, p)
		})
	}
}

func TestCheckPartitionCount(t *testing.T) {
	long := strings.Repeat("t", MaxTopicNameLength) // 249 + "-" + 5 digits = 255
	for _, tc := range []struct {
		name  string
		topic string
		n     int32
		ok    bool
	}{
		{"one", "orders", 1, true},
		{"many", "orders", 1 << 20, true},
		{"zero", "orders", 0, false},
		{"negative", "orders", -1, false},
		{"long name, last dir fits", long, 100000, true},
		{"long name, last dir too long", long, 100001, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPartitionCount(tc.topic, tc.n)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrInvalidPartitions)
			}
		})
	}
}

func TestTopicID(t *testing.T) {
	a, b := newTopicID(), newTopicID()
	require.False(t, a.IsZero())
	require.NotEqual(t, a, b)
	s := a.String()
	require.Len(t, s, 32)
	got, err := ParseTopicID(s)
	require.NoError(t, err)
	require.Equal(t, a, got)

	text, err := a.MarshalText()
	require.NoError(t, err)
	var back TopicID
	require.NoError(t, back.UnmarshalText(text))
	require.Equal(t, a, back)

	for _, bad := range []string{"", "ab", strings.Repeat("g", 32), strings.Repeat("A", 32), strings.Repeat("0", 33)} {
		_, err := ParseTopicID(bad)
		require.ErrorIs(t, err, ErrInvalidConfig, bad)
		require.Error(t, back.UnmarshalText([]byte(bad)))
	}
}

// topicsCollide reports whether two distinct topic names would collide
// (Kafka's Topic.hasCollision): equal once '.' and '_' are unified.
func topicsCollide(a, b string) bool {
	return unifyCollisionChars(a) == unifyCollisionChars(b)
}

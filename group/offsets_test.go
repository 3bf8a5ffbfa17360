package group

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestOffsetKeyGolden(t *testing.T) {
	// kafka-internals 8.5: group "g", topic "t", partition 0.
	want := []byte{0x00, 0x01, 0x00, 0x01, 0x67, 0x00, 0x01, 0x74, 0x00, 0x00, 0x00, 0x00}
	got := appendOffsetKey(nil, "g", "t", 0)
	require.Equal(t, want, got, "got %s", hex.EncodeToString(got))

	k, err := decodeOffsetsKey(got)
	require.NoError(t, err)
	require.Equal(t, offsetsKey{group: "g", topic: "t", partition: 0}, k)

	// franz-go's generated encoder agrees.
	kk := kmsg.NewOffsetCommitKey()
	kk.Version, kk.Group, kk.Topic, kk.Partition = 1, "orders-billing", "orders", 41
	require.Equal(t, kk.AppendTo(nil), appendOffsetKey(nil, "orders-billing", "orders", 41))
}

func TestOffsetValueGolden(t *testing.T) {
	o := OffsetAndMetadata{Offset: 5, LeaderEpoch: -1, Metadata: "m", CommitTime: time.UnixMilli(1000)}
	want := []byte{
		0x00, 0x03, // version 3
		0, 0, 0, 0, 0, 0, 0, 5, // offset
		0xff, 0xff, 0xff, 0xff, // leader epoch -1
		0x00, 0x01, 'm', // metadata
		0, 0, 0, 0, 0, 0, 0x03, 0xe8, // commit timestamp 1000 ms
	}
	got := appendOffsetValue(nil, o)
	require.Equal(t, want, got, "got %s", hex.EncodeToString(got))
	back, err := decodeOffsetValue(got)
	require.NoError(t, err)
	require.Equal(t, o.Offset, back.Offset)
	require.Equal(t, o.LeaderEpoch, back.LeaderEpoch)
	require.Equal(t, o.Metadata, back.Metadata)
	require.True(t, o.CommitTime.Equal(back.CommitTime))

	kv := kmsg.NewOffsetCommitValue()
	kv.Version, kv.Offset, kv.LeaderEpoch, kv.Metadata, kv.CommitTimestamp = 3, 1234567, 7, "meta", 1700000000123
	require.Equal(t, kv.AppendTo(nil), appendOffsetValue(nil, OffsetAndMetadata{
		Offset: 1234567, LeaderEpoch: 7, Metadata: "meta", CommitTime: time.UnixMilli(1700000000123)}))
}

func TestOffsetValueOldVersions(t *testing.T) {
	for _, v := range []int16{0, 1, 2} {
		kv := kmsg.NewOffsetCommitValue()
		kv.Version, kv.Offset, kv.Metadata, kv.CommitTimestamp, kv.ExpireTimestamp = v, 99, "x", 5000, 9000
		o, err := decodeOffsetValue(kv.AppendTo(nil))
		require.NoError(t, err, "version %d", v)
		require.Equal(t, int64(99), o.Offset)
		require.Equal(t, int32(-1), o.LeaderEpoch, "no leader epoch before v3")
		require.Equal(t, "x", o.Metadata)
		require.Equal(t, int64(5000), o.CommitTime.UnixMilli())
	}
}

func TestOffsetsKeyVersions(t *testing.T) {
	k0 := kmsg.NewOffsetCommitKey()
	k0.Version, k0.Group, k0.Topic, k0.Partition = 0, "grp", "top", 3
	k, err := decodeOffsetsKey(k0.AppendTo(nil))
	require.NoError(t, err)
	require.Equal(t, offsetsKey{group: "grp", topic: "top", partition: 3}, k)

	k, err = decodeOffsetsKey(appendGroupMetadataKey(nil, "grp"))
	require.NoError(t, err)
	require.Equal(t, offsetsKey{group: "grp", metadata: true}, k)
}

func TestOffsetsDecodeErrors(t *testing.T) {
	key := appendOffsetKey(nil, "g", "t", 0)
	val := appendOffsetValue(nil, OffsetAndMetadata{Offset: 1, Metadata: "abc"})
	for name, tc := range map[string]struct {
		b     []byte
		value bool
	}{
		"empty key":         {b: nil},
		"key truncated":     {b: key[:len(key)-1]},
		"key trailing":      {b: append(bytes.Clone(key), 0)},
		"key version 3":     {b: []byte{0, 3, 0, 0}},
		"key negative len":  {b: []byte{0, 1, 0xff, 0xff}},
		"key len past end":  {b: []byte{0, 1, 0, 9, 'a'}},
		"value truncated":   {b: val[:len(val)-3], value: true},
		"value trailing":    {b: append(bytes.Clone(val), 1), value: true},
		"value version 4":   {b: append([]byte{0, 4}, val[2:]...), value: true},
		"value version -1":  {b: append([]byte{0xff, 0xff}, val[2:]...), value: true},
		"value empty":       {b: []byte{}, value: true},
		"value negative md": {b: []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0}, value: true},
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			if tc.value {
				_, err = decodeOffsetValue(tc.b)
			} else {
				_, err = decodeOffsetsKey(tc.b)
			}
			require.ErrorIs(t, err, ErrCorruptOffsets)
		})
	}
}

func TestOffsetsPartition(t *testing.T) {
	// kafka-internals 8.5's computed examples.
	require.Equal(t, int32(12), OffsetsPartition("my-group", 50))
	require.Equal(t, int32(40), OffsetsPartition("group1", 50))
	require.Equal(t, int32(0), OffsetsPartition("anything", 1))
	// Java: "polygenelubricants".hashCode() == Integer.MIN_VALUE, and
	// Utils.abs maps it to 0.
	require.Equal(t, int32(-1<<31), javaStringHash("polygenelubricants"))
	require.Equal(t, int32(0), OffsetsPartition("polygenelubricants", 7))
	// A character outside the BMP hashes as its two UTF-16 surrogates:
	// "😀".hashCode() == 0xD83D*31 + 0xDE00 in Java.
	require.Equal(t, int32(0xD83D*31+0xDE00), javaStringHash("😀"))
	for _, g := range []string{"", "a", "consumer-group-with-a-long-name", "ünïcödé"} {
		p := OffsetsPartition(g, 50)
		require.True(t, p >= 0 && p < 50)
	}
}

// FuzzDecodeOffsets feeds bytes read from disk to the key and value
// decoders: they never panic, and whatever they accept in the versions we
// write encodes back to the same bytes.
func FuzzDecodeOffsets(f *testing.F) {
	f.Add(appendOffsetKey(nil, "g", "t", 0), appendOffsetValue(nil, OffsetAndMetadata{Offset: 5, LeaderEpoch: -1, Metadata: "m", CommitTime: time.UnixMilli(1000)}))
	f.Add(appendGroupMetadataKey(nil, "group"), []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 1, 'x', 0, 1, 'y', 0, 0, 0, 9}, []byte{0, 2, 0, 0, 0, 0, 0, 0, 0, 7, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, key, value []byte) {
		k, err := decodeOffsetsKey(key)
		if err == nil {
			if !k.metadata && len(key) >= 2 && key[1] == offsetKeyV1 {
				require.Equal(t, key, appendOffsetKey(nil, k.group, k.topic, k.partition))
			}
			if k.metadata {
				require.Equal(t, key, appendGroupMetadataKey(nil, k.group))
			}
		} else if !errors.Is(err, ErrCorruptOffsets) {
			t.Fatalf("key error %v does not match ErrCorruptOffsets", err)
		}
		o, err := decodeOffsetValue(value)
		if err == nil {
			if value[1] == offsetValueV3 {
				require.Equal(t, value, appendOffsetValue(nil, o))
			}
		} else if !errors.Is(err, ErrCorruptOffsets) {
			t.Fatalf("value error %v does not match ErrCorruptOffsets", err)
		}
	})
}

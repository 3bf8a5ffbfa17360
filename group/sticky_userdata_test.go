package group_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsalog/samsa/group"
)

// TestStickyUserDataKmsg checks our encoding against franz-go's kmsg
// StickyMemberMetadata, an independent implementation of Kafka's schema.
func TestStickyUserDataKmsg(t *testing.T) {
	owned := tps("orders:0,5,2 t:7")
	b := group.EncodeStickyUserData(owned, 7)

	want := kmsg.StickyMemberMetadata{
		CurrentAssignment: []kmsg.StickyMemberMetadataCurrentAssignment{
			{Topic: "orders", Partitions: []int32{0, 5, 2}},
			{Topic: "t", Partitions: []int32{7}},
		},
		Generation: 7,
	}
	assert.Equal(t, want.AppendTo(nil), b)
	assert.Equal(t, []byte{
		0, 0, 0, 2, // topics
		0, 6, 'o', 'r', 'd', 'e', 'r', 's', 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 2,
		0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 7,
		0, 0, 0, 7, // generation
	}, b)

	var back kmsg.StickyMemberMetadata
	require.NoError(t, back.ReadFrom(b))
	assert.Equal(t, want, back)

	got, gen, err := group.DecodeStickyUserData(b)
	require.NoError(t, err)
	assert.Equal(t, owned, got)
	assert.Equal(t, int32(7), gen)

	// Version 0 (kmsg writes it for generation -1): no generation field.
	v0 := kmsg.StickyMemberMetadata{CurrentAssignment: want.CurrentAssignment, Generation: -1}
	got, gen, err = group.DecodeStickyUserData(v0.AppendTo(nil))
	require.NoError(t, err)
	assert.Equal(t, owned, got)
	assert.Equal(t, int32(-1), gen)
}

func TestDecodeStickyUserDataMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short count", []byte{0, 0, 1}},
		{"negative count", []byte{0xff, 0xff, 0xff, 0xff}},
		{"count past the end", []byte{0, 0, 0, 2, 0, 0, 0, 0, 0, 0}},
		{"huge count", []byte{0x7f, 0xff, 0xff, 0xff, 0, 0}},
		{"negative topic length", []byte{0, 0, 0, 1, 0xff, 0xff, 0, 0, 0, 0}},
		{"topic past the end", []byte{0, 0, 0, 1, 0, 9, 'a', 0, 0, 0, 0}},
		{"partitions past the end", []byte{0, 0, 0, 1, 0, 1, 'a', 0, 0, 0, 2, 0, 0, 0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			owned, gen, err := group.DecodeStickyUserData(tc.b)
			require.ErrorIs(t, err, group.ErrMalformedUserData)
			assert.Nil(t, owned)
			assert.Zero(t, gen)
		})
	}
	// Trailing bytes, as Java tolerates them.
	owned, gen, err := group.DecodeStickyUserData([]byte{0, 0, 0, 0, 0, 0, 0, 3, 0xaa})
	require.NoError(t, err)
	assert.Empty(t, owned)
	assert.Equal(t, int32(3), gen)
	owned, gen, err = group.DecodeStickyUserData([]byte{0, 0, 0, 0, 0xaa})
	require.NoError(t, err)
	assert.Empty(t, owned)
	assert.Equal(t, int32(-1), gen)
}

// FuzzDecodeStickyUserData checks that any input decodes without panic,
// that whatever decodes re-encodes to a prefix of the input, and that
// where kmsg also accepts the input it reads the same. The two differ on
// purpose in two places, where we follow Java: we reject negative array
// lengths (kmsg reads them as empty) and read one to three bytes after
// the partitions as version 0 (kmsg rejects them).
func FuzzDecodeStickyUserData(f *testing.F) {
	f.Add(group.EncodeStickyUserData(tps("orders:0,5,2 t:7"), 7))
	f.Add(group.EncodeStickyUserData(nil, -1))
	f.Add([]byte{0, 0, 0, 1, 0, 1, 'a', 0, 0, 0, 2, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		owned, gen, err := group.DecodeStickyUserData(b)
		if err != nil {
			return
		}
		enc := group.EncodeStickyUserData(owned, gen)
		if gen == -1 {
			enc = enc[:len(enc)-4] // version 0
		}
		if len(enc) > len(b) || string(enc) != string(b[:len(enc)]) {
			t.Fatalf("%x re-encodes as %x", b, enc)
		}
		var k kmsg.StickyMemberMetadata
		if k.ReadFrom(b) != nil {
			return
		}
		if gen != k.Generation || len(owned) != len(k.CurrentAssignment) {
			t.Fatalf("%x: we decode %v gen %d, kmsg %+v", b, owned, gen, k)
		}
		for i, tp := range owned {
			if tp.Topic != k.CurrentAssignment[i].Topic || len(tp.Partitions) != len(k.CurrentAssignment[i].Partitions) {
				t.Fatalf("%x: we decode %v, kmsg %+v", b, owned, k)
			}
		}
	})
}

package record_test

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/record"
)

var allCodecs = []record.Compression{record.CompressionNone, record.CompressionGzip,
	record.CompressionSnappy, record.CompressionLZ4, record.CompressionZstd}

// unhex parses a hex dump, ignoring whitespace and "|"-comments per line.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var sb strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "|"); i >= 0 {
			line = line[:i]
		}
		sb.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(sb.String())
	require.NoError(t, err)
	return b
}

// sampleRecords returns n deterministic records with varied shapes: null and
// empty keys, tombstones, headers with null and empty values, and timestamps
// that go backwards.
func sampleRecords(seed uint64, n, valueSize int) []record.Record {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	base := time.UnixMilli(1700000000000)
	recs := make([]record.Record, n)
	for i := range recs {
		r := &recs[i]
		switch i % 5 {
		case 0:
			r.Key = []byte(fmt.Sprintf("key-%d", i))
		case 1:
			r.Key = nil
		case 2:
			r.Key = []byte{}
		default:
			r.Key = []byte(fmt.Sprintf("k%d", rng.IntN(1000)))
		}
		if i%7 == 3 {
			r.Value = nil
		} else {
			r.Value = make([]byte, valueSize)
			for j := range r.Value {
				r.Value[j] = byte('a' + (i+j)%26)
			}
		}
		if i%3 == 0 {
			r.Headers = []record.Header{{Key: "trace", Value: []byte(fmt.Sprint(i))}, {Key: "null", Value: nil}, {Key: "", Value: []byte{}}}
		}
		r.Timestamp = base.Add(time.Duration(rng.IntN(2000)-500) * time.Millisecond)
	}
	return recs
}

// requireSameRecords compares what was encoded with what was decoded.
func requireSameRecords(t testing.TB, want, got []record.Record, baseOffset int64) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		w, g := want[i], got[i]
		require.Equal(t, baseOffset+int64(i), g.Offset, "record %d offset", i)
		require.Equal(t, w.Key == nil, g.Key == nil, "record %d key nullness", i)
		require.Equal(t, string(w.Key), string(g.Key), "record %d key", i)
		require.Equal(t, w.Value == nil, g.Value == nil, "record %d value nullness", i)
		require.Equal(t, string(w.Value), string(g.Value), "record %d value", i)
		require.Equal(t, w.Timestamp.UnixMilli(), g.Timestamp.UnixMilli(), "record %d timestamp", i)
		require.Len(t, g.Headers, len(w.Headers), "record %d headers", i)
		for j := range w.Headers {
			require.Equal(t, w.Headers[j].Key, g.Headers[j].Key)
			require.Equal(t, w.Headers[j].Value == nil, g.Headers[j].Value == nil)
			require.Equal(t, string(w.Headers[j].Value), string(g.Headers[j].Value))
		}
	}
}

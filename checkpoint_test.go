package samsa

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckpointFormat(t *testing.T) {
	entries := []checkpointEntry{
		{tp: topicPartition{"a", 0}, recoveryPoint: 10, logStartOffset: 3},
		{tp: topicPartition{"a", 1}, recoveryPoint: 0, logStartOffset: 0},
		{tp: topicPartition{"b.c", 12}, recoveryPoint: 1 << 40, logStartOffset: 7},
	}
	data := encodeCheckpoint(entries, func(e *checkpointEntry) int64 { return e.recoveryPoint })
	require.Equal(t, "0\n3\na 0 10\na 1 0\nb.c 12 1099511627776\n", string(data), "Kafka's OffsetCheckpointFile format")
	m, err := decodeCheckpoint(data)
	require.NoError(t, err)
	require.Equal(t, map[topicPartition]int64{{"a", 0}: 10, {"a", 1}: 0, {"b.c", 12}: 1 << 40}, m)

	empty, err := decodeCheckpoint(encodeCheckpoint(nil, nil))
	require.NoError(t, err)
	require.Empty(t, empty)

	for name, bad := range map[string]string{
		"empty":         "",
		"version":       "1\n0\n",
		"count":         "0\n2\na 0 1\n",
		"fields":        "0\n1\na 0\n",
		"negative":      "0\n1\na 0 -1\n",
		"bad partition": "0\n1\na x 1\n",
		"bad topic":     "0\n1\na/b 0 1\n",
		"duplicate":     "0\n2\na 0 1\na 0 2\n",
		"count not num": "0\nx\n",
	} {
		_, err := decodeCheckpoint([]byte(bad))
		require.Error(t, err, name)
	}
}

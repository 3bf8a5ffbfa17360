package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConsumerGroup(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, run(dir, 500, &out))
	s := out.String()
	t.Log(s)
	// Every record consumed at least once, each member had a share.
	require.Contains(t, s, "500 records produced, all consumed")
	for _, m := range []string{"member-1", "member-2", "member-3", "member-4"} {
		require.Regexp(t, m+`: assigned \[clicks-`, s)
		require.Regexp(t, m+` consumed [1-9][0-9]* records`, s)
	}
	require.Contains(t, s, "--- member-2 leaves\nmember-2: revoked")
	// The consumptions add up to the records plus the redelivered ones.
	counts := regexp.MustCompile(`member-\d consumed (\d+) records`).FindAllStringSubmatch(s, -1)
	sum := 0
	for _, c := range counts {
		n, _ := strconv.Atoi(c[1])
		sum += n
	}
	again := regexp.MustCompile(`(\d+) consumptions, (\d+) of them again`).FindStringSubmatch(s)
	require.NotNil(t, again)
	total, _ := strconv.Atoi(again[1])
	re, _ := strconv.Atoi(again[2])
	require.Equal(t, total, sum)
	require.Equal(t, 500+re, total)

	// A second run on the same directory counts only its own records: the
	// group starts after the offsets the first run committed.
	out.Reset()
	require.NoError(t, run(dir, 100, &out))
	require.Contains(t, out.String(), "100 records produced, all consumed")
	require.True(t, strings.Contains(out.String(), "member-4 consumed"))
}

func TestConsumerGroupTempDir(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run("", 20, &out))
	require.Contains(t, out.String(), "20 records produced, all consumed")
}

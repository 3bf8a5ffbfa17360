package consumer

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	samsa "github.com/samsalog/samsa"
)

const childEnv = "SAMSA_CONSUMER_CRASH_CHILD"

// TestCommitSurvivesRestart: offsets committed through the broker's group
// coordinator are durable: after the broker is closed and reopened, a new
// member of the group resumes at them.
func TestCommitSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	b, err := samsa.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, b.CreateTopic("t", &samsa.TopicConfig{Partitions: 2}))
	produce(t, b, "t", 0, 100, 10)
	produce(t, b, "t", 1, 100, 10)
	c, err := New(b, &Config{Group: "g", Topics: []string{"t"}, AutoOffsetReset: OffsetResetEarliest,
		AutoCommit: AutoCommitConfig{Disable: true}, MaxPollRecords: 60})
	require.NoError(t, err)
	recs := pollN(t, c, 60, 10*time.Second)
	require.NoError(t, c.Commit(context.Background()))
	require.NoError(t, c.Close())
	require.NoError(t, b.Close())

	b, err = samsa.Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	c, err = New(b, &Config{Group: "g", Topics: []string{"t"}, AutoOffsetReset: OffsetResetEarliest})
	require.NoError(t, err)
	defer c.Close()
	rest := pollN(t, c, 200-len(recs), 10*time.Second)
	seen := map[TopicPartition]map[int64]bool{}
	for _, r := range append(recs, rest...) {
		k := tp(r.Topic, r.Partition)
		if seen[k] == nil {
			seen[k] = map[int64]bool{}
		}
		require.False(t, seen[k][r.Offset], "offset %d of %s consumed twice", r.Offset, k)
		seen[k][r.Offset] = true
	}
	require.Len(t, seen[tp("t", 0)], 100)
	require.Len(t, seen[tp("t", 1)], 100)
	lag, total, err := GroupLag(b, "g", "t")
	require.NoError(t, err)
	require.EqualValues(t, 200-len(recs), total, "%v", lag)
}

// TestSIGKILLResumesFromCommitted: a child process consumes with manual
// commits after processing and is killed with SIGKILL; a new consumer of
// the group resumes at the last committed offset: nothing skipped, and
// redelivered only what was processed after the last commit.
func TestSIGKILLResumesFromCommitted(t *testing.T) {
	if dir := os.Getenv(childEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	const total = 3000
	dir := t.TempDir()
	b, err := samsa.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, b.CreateTopic("t", nil))
	produce(t, b, "t", 0, total, 100)
	require.NoError(t, b.Close())

	cmd := exec.Command(os.Args[0], "-test.run=^TestSIGKILLResumesFromCommitted$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(out)
	var committed, processed int64
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "processed":
			processed = n
		case "committed":
			committed = n
		}
		if committed >= total/3 {
			break
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	for sc.Scan() { // lines written before the kill
		f := strings.Fields(sc.Text())
		if len(f) == 2 {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			if f[0] == "processed" {
				processed = n
			} else if f[0] == "committed" {
				committed = n
			}
		}
	}
	require.Positive(t, committed)

	b, err = samsa.Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	c, err := New(b, &Config{Group: "g", Topics: []string{"t"}, AutoOffsetReset: OffsetResetEarliest,
		AutoCommit: AutoCommitConfig{Disable: true}})
	require.NoError(t, err)
	defer c.Close()
	got := pollN(t, c, 1, 10*time.Second)
	first := got[0].Offset
	require.GreaterOrEqual(t, first, committed, "resumed before the last commit reported")
	require.LessOrEqual(t, first, processed, "skipped records never processed")
	t.Logf("resumed at %d; last commit reported %d, last processed %d", first, committed, processed)
	rest := append(got, pollN(t, c, int(total-first)-len(got), 10*time.Second)...)
	for i, r := range rest {
		require.Equal(t, first+int64(i), r.Offset)
	}
}

func crashChild(dir string) {
	b, err := samsa.Open(dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	c, err := New(b, &Config{Group: "g", Topics: []string{"t"}, AutoOffsetReset: OffsetResetEarliest,
		AutoCommit: AutoCommitConfig{Disable: true}, MaxPollRecords: 37})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for {
		recs, err := c.Poll(context.Background())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		last := recs[len(recs)-1].Offset + 1
		fmt.Printf("processed %d\n", last)
		if err := c.Commit(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("committed %d\n", last)
		time.Sleep(time.Millisecond)
	}
}

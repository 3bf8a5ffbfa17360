package samsa

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/partition"
)

func TestBrokerLifecycleAndRestart(t *testing.T) {
	dir := t.TempDir()
	b := openBroker(t, dir, nil)
	require.False(t, b.Stats().CleanOpen, "a new directory has no clean-shutdown marker")

	require.NoError(t, b.CreateTopic("orders", &TopicConfig{Partitions: 3, RetentionMs: time.Hour}))
	require.NoError(t, b.CreateTopic("audit", nil))
	names, err := b.ListTopics()
	require.NoError(t, err)
	require.Equal(t, []string{"audit", "orders"}, names)

	for p := range int32(3) {
		part, err := b.Partition("orders", p)
		require.NoError(t, err)
		require.Equal(t, "orders", part.Topic())
		require.Equal(t, p, part.ID())
		for i := range 5 {
			appendSynced(t, part, fmt.Sprintf("k%d", p), int64(i*10), 10)
		}
	}
	require.NoError(t, b.AlterTopicConfig("orders", map[string]string{"retention.ms": "7200000", "cleanup.policy": "compact"}))
	d, err := b.DescribeTopic("orders")
	require.NoError(t, err)
	require.Equal(t, 2*time.Hour, d.Overrides.RetentionMs)
	require.Equal(t, CleanupCompact, d.Config.CleanupPolicy)
	require.Len(t, d.PartitionDetails, 3)
	for i, pd := range d.PartitionDetails {
		require.Equal(t, int32(i), pd.Partition)
		require.Equal(t, int64(50), pd.HighWatermark)
		require.Equal(t, int64(50), pd.LogEndOffset)
		require.Equal(t, int64(0), pd.LogStartOffset)
		require.Equal(t, 1, pd.Segments)
		require.Positive(t, pd.SizeBytes)
	}
	id := d.ID
	require.NoError(t, b.Close())
	require.FileExists(t, filepath.Join(dir, cleanShutdownFileName))
	data, err := os.ReadFile(filepath.Join(dir, recoveryPointFileName))
	require.NoError(t, err)
	// The internal offsets topic (one partition by default) is there too.
	require.Equal(t, "0\n5\n__consumer_offsets 0 0\naudit 0 0\norders 0 50\norders 1 50\norders 2 50\n", string(data))

	// Restart: topics, configs and offsets survive; nothing is scanned.
	b = openBroker(t, dir, nil)
	require.True(t, b.Stats().CleanOpen)
	require.NoFileExists(t, filepath.Join(dir, cleanShutdownFileName), "Open removes the marker")
	d, err = b.DescribeTopic("orders")
	require.NoError(t, err)
	require.Equal(t, id, d.ID)
	require.Equal(t, int32(3), d.Partitions)
	require.Equal(t, 2*time.Hour, d.Overrides.RetentionMs)
	require.Equal(t, CleanupCompact, d.Config.CleanupPolicy)
	for p := range int32(3) {
		part, err := b.Partition("orders", p)
		require.NoError(t, err)
		require.Equal(t, int64(50), part.HighWatermark())
		recs := readAll(t, part)
		require.Len(t, recs, 50)
		for i, r := range recs {
			require.Equal(t, int64(i), r.offset)
			require.Equal(t, int64(i), r.seq)
		}
		require.True(t, part.Stats().Log.CleanOpen, "partition %d was recovered by scanning", p)
	}

	// Grow, then delete and create again: the new incarnation starts
	// empty and inherits no offsets.
	require.NoError(t, b.CreatePartitions("orders", 5))
	p4, err := b.Partition("orders", 4)
	require.NoError(t, err)
	appendSynced(t, p4, "x", 0, 3)
	require.NoError(t, b.DeleteTopic("orders"))
	_, err = b.Partition("orders", 0)
	require.ErrorIs(t, err, ErrUnknownTopic)
	require.NoDirExists(t, filepath.Join(dir, "orders-0"))
	require.NoError(t, b.CreateTopic("orders", &TopicConfig{Partitions: 5}))
	d, err = b.DescribeTopic("orders")
	require.NoError(t, err)
	require.NotEqual(t, id, d.ID)
	for _, pd := range d.PartitionDetails {
		require.Equal(t, int64(0), pd.LogEndOffset)
	}
	p0, err := b.Partition("orders", 0)
	require.NoError(t, err)
	appendSynced(t, p0, "y", 0, 2)
	b.crash() // no clean shutdown: recovery from the checkpoints

	b = openBroker(t, dir, nil)
	require.False(t, b.Stats().CleanOpen)
	p0, err = b.Partition("orders", 0)
	require.NoError(t, err)
	require.Equal(t, int64(2), p0.HighWatermark())
	p4, err = b.Partition("orders", 4)
	require.NoError(t, err)
	require.Equal(t, int64(0), p4.LogEndOffset())
}

// TestBrokerCloseLeavesNothing checks that Close leaves no open file, no
// mapping and (TestMain's goleak) no goroutine, and that every method
// returns ErrClosed afterwards.
func TestBrokerCloseLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	fds := openFDs(t)
	b, err := Open(dir, &Config{FlushInterval: time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, b.CreateTopic("t", &TopicConfig{Partitions: 4, SegmentBytes: 1024}))
	for p := range int32(4) {
		part, err := b.Partition("t", p)
		require.NoError(t, err)
		for i := range 20 {
			appendSynced(t, part, "k", int64(i*5), 5)
		}
		res, err := part.Fetch(context.Background(), 0, 1, 1<<20, 0)
		require.NoError(t, err)
		res.View.Release()
	}
	require.Positive(t, mappingsOf(t, dir))
	require.NoError(t, b.Close())
	require.NoError(t, b.Close(), "Close is idempotent")
	require.Equal(t, fds, openFDs(t), "open files left behind")
	require.Zero(t, mappingsOf(t, dir), "mappings left behind")

	require.ErrorIs(t, b.CreateTopic("u", nil), ErrClosed)
	require.ErrorIs(t, b.DeleteTopic("t"), ErrClosed)
	require.ErrorIs(t, b.AlterTopicConfig("t", map[string]string{"retention.ms": "1"}), ErrClosed)
	require.ErrorIs(t, b.CreatePartitions("t", 9), ErrClosed)
	_, err = b.ListTopics()
	require.ErrorIs(t, err, ErrClosed)
	_, err = b.DescribeTopic("t")
	require.ErrorIs(t, err, ErrClosed)
	_, err = b.Partition("t", 0)
	require.ErrorIs(t, err, ErrClosed)
	_, err = b.PartitionForProduce("t", 0)
	require.ErrorIs(t, err, ErrClosed)
	_, err = b.PartitionsForProduce("t")
	require.ErrorIs(t, err, ErrClosed)
	require.Zero(t, b.Stats().Partitions)
}

func TestBrokerCloseFailsInFlightWork(t *testing.T) {
	b, err := Open(t.TempDir(), nil)
	require.NoError(t, err)
	require.NoError(t, b.CreateTopic("t", nil))
	p, err := b.Partition("t", 0)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := p.Fetch(context.Background(), 0, 1, 1<<20, time.Minute)
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, b.Close())
	select {
	case err := <-done:
		require.ErrorIs(t, err, partition.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting fetch outlived Close")
	}
	_, err = p.Append(makeBatch(t, "k", 0, 1, time.Now()))
	require.ErrorIs(t, err, partition.ErrClosed)
}

const envOpenHelper = "SAMSA_BROKER_OPEN_HELPER"

// TestBrokerOpenHelperProcess is not a test: TestBrokerDirLocked runs the
// test binary again with it to Open a directory from another process. It
// exits 0 if Open succeeded, 3 on ErrDirLocked, 4 on any other error.
func TestBrokerOpenHelperProcess(t *testing.T) {
	dir := os.Getenv(envOpenHelper)
	if dir == "" {
		t.Skip("helper process for TestBrokerDirLocked")
	}
	b, err := Open(dir, nil)
	switch {
	case errors.Is(err, ErrDirLocked):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(4)
	}
	_ = b.Close()
	os.Exit(0)
}

func TestBrokerDirLocked(t *testing.T) {
	dir := t.TempDir()
	b := openBroker(t, dir, nil)
	require.NoError(t, b.CreateTopic("t", nil))
	before, err := os.ReadFile(filepath.Join(dir, registryFileName))
	require.NoError(t, err)

	start := time.Now()
	_, err = Open(dir, nil)
	require.ErrorIs(t, err, ErrDirLocked, "second Open in this process")
	require.Less(t, time.Since(start), time.Second, "Open must fail at once")

	cmd := exec.Command(os.Args[0], "-test.run=^TestBrokerOpenHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envOpenHelper+"="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "the child must fail; stderr: %s", stderr.String())
	require.Equal(t, 3, exit.ExitCode(), "stderr: %s", stderr.String())

	// Nothing was touched: the broker goes on, the registry is as it was.
	after, err := os.ReadFile(filepath.Join(dir, registryFileName))
	require.NoError(t, err)
	require.Equal(t, before, after)
	p, err := b.Partition("t", 0)
	require.NoError(t, err)
	appendSynced(t, p, "k", 0, 1)
	require.NoError(t, b.Close())

	cmd = exec.Command(os.Args[0], "-test.run=^TestBrokerOpenHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envOpenHelper+"="+dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "after Close another process may open it: %s", out)
}

func TestBrokerRejectsBadNamesAndConfigs(t *testing.T) {
	_, err := Open(t.TempDir(), &Config{DefaultPartitions: -1, Topic: TopicConfig{SegmentBytes: 3}})
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.ErrorContains(t, err, "Config.DefaultPartitions (num.partitions)")
	require.ErrorContains(t, err, "Config.Topic.SegmentBytes (log.segment.bytes)")

	b := openBroker(t, t.TempDir(), nil)
	for _, name := range []string{"", ".", "..", "a/b", "a b", strings.Repeat("x", 250), "é"} {
		require.ErrorIs(t, b.CreateTopic(name, nil), ErrInvalidTopicName, "name %q", name)
	}
	for _, name := range []string{ConsumerOffsetsTopic, TransactionStateTopic} {
		require.ErrorIs(t, b.CreateTopic(name, nil), ErrInternalTopic)
		require.ErrorIs(t, b.DeleteTopic(name), ErrInternalTopic)
		require.ErrorIs(t, b.AlterTopicConfig(name, map[string]string{"retention.ms": "1"}), ErrInternalTopic)
		require.ErrorIs(t, b.CreatePartitions(name, 60), ErrInternalTopic)
		_, err := b.Partition(name, 0)
		require.ErrorIs(t, err, ErrInternalTopic)
		_, err = b.PartitionForProduce(name, 0)
		require.ErrorIs(t, err, ErrInternalTopic)
	}

	err = b.CreateTopic("t", &TopicConfig{SegmentBytes: 5, RetentionBytes: 0, MaxMessageBytes: -2, Partitions: -1})
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.ErrorIs(t, err, ErrInvalidPartitions)
	require.ErrorContains(t, err, "TopicConfig.SegmentBytes (segment.bytes)")
	require.ErrorContains(t, err, "TopicConfig.MaxMessageBytes (max.message.bytes)")
	require.ErrorContains(t, err, "TopicConfig.Partitions")
	_, err = b.DescribeTopic("t")
	require.ErrorIs(t, err, ErrUnknownTopic, "a rejected topic is not created")

	require.NoError(t, b.CreateTopic("t.x", &TopicConfig{Partitions: 2}))
	require.ErrorIs(t, b.CreateTopic("t.x", nil), ErrTopicExists)
	require.ErrorIs(t, b.CreateTopic("t_x", nil), ErrInvalidTopicName, "collides with t.x")

	err = b.AlterTopicConfig("t.x", map[string]string{"retention.ms": "abc", "compression.type": "zstd", "segment.bytes": "1"})
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.ErrorContains(t, err, "retention.ms")
	require.ErrorContains(t, err, `unknown topic config "compression.type"`)
	require.ErrorContains(t, err, "TopicConfig.SegmentBytes (segment.bytes)")
	d, err := b.DescribeTopic("t.x")
	require.NoError(t, err)
	require.Equal(t, TopicConfig{}, d.Overrides, "a rejected alteration changes nothing")
	require.ErrorIs(t, b.AlterTopicConfig("nope", map[string]string{"retention.ms": "1"}), ErrUnknownTopic)

	require.ErrorIs(t, b.CreatePartitions("t.x", 2), ErrInvalidPartitions)
	require.ErrorIs(t, b.CreatePartitions("t.x", 1), ErrInvalidPartitions)
	require.ErrorIs(t, b.CreatePartitions("nope", 3), ErrUnknownTopic)
	require.ErrorIs(t, b.DeleteTopic("nope"), ErrUnknownTopic)
	_, err = b.Partition("t.x", 2)
	require.ErrorIs(t, err, ErrUnknownTopic)
	_, err = b.Partition("t.x", -1)
	require.ErrorIs(t, err, ErrUnknownTopic)

	// max.message.bytes is the partition's to apply, with the root's
	// sentinel.
	require.NoError(t, b.CreateTopic("small", &TopicConfig{MaxMessageBytes: 100}))
	p, err := b.Partition("small", 0)
	require.NoError(t, err)
	_, err = p.Append(makeBatch(t, "k", 0, 20, time.Now()))
	require.ErrorIs(t, err, ErrRecordTooLarge)
}

func TestBrokerAutoCreateTopics(t *testing.T) {
	b := openBroker(t, t.TempDir(), &Config{DefaultPartitions: 3})
	_, err := b.Partition("auto", 0)
	require.ErrorIs(t, err, ErrUnknownTopic, "Partition never creates")
	n, err := b.PartitionsForProduce("auto")
	require.NoError(t, err)
	require.Equal(t, int32(3), n)
	p, err := b.PartitionForProduce("auto", 2)
	require.NoError(t, err)
	appendSynced(t, p, "k", 0, 1)
	_, err = b.PartitionForProduce("auto", 3)
	require.ErrorIs(t, err, ErrUnknownTopic)
	_, err = b.PartitionForProduce("bad name", 0)
	require.ErrorIs(t, err, ErrInvalidTopicName)
	require.Equal(t, uint64(1), b.Stats().AutoCreatedTopics)

	// Racing producers create the topic once.
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := b.PartitionForProduce("raced", 0)
			errs <- err
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
	require.Equal(t, uint64(2), b.Stats().AutoCreatedTopics)

	off := openBroker(t, t.TempDir(), &Config{DisableAutoCreateTopics: true})
	_, err = off.PartitionForProduce("auto", 0)
	require.ErrorIs(t, err, ErrUnknownTopic)
	require.ErrorContains(t, err, "auto.create.topics.enable")
	names, err := off.ListTopics()
	require.NoError(t, err)
	require.Empty(t, names)
}

// TestBrokerBackgroundFlush: with acks=1 (Append, nobody syncs) the
// flusher moves the high watermark within a few FlushIntervals.
func TestBrokerBackgroundFlush(t *testing.T) {
	b := openBroker(t, t.TempDir(), &Config{FlushInterval: 2 * time.Millisecond})
	require.NoError(t, b.CreateTopic("t", &TopicConfig{Partitions: 2}))
	p, err := b.Partition("t", 1)
	require.NoError(t, err)
	var worst time.Duration
	for i := range 20 {
		start := time.Now()
		res, err := p.Append(makeBatch(t, "k", int64(i), 1, start))
		require.NoError(t, err)
		for p.HighWatermark() <= res.LastOffset {
			require.Less(t, time.Since(start), 5*time.Second, "the flusher never synced")
			time.Sleep(100 * time.Microsecond)
		}
		worst = max(worst, time.Since(start))
	}
	t.Logf("worst append-to-visible latency with acks=1: %v", worst)
	s := b.Stats()
	require.GreaterOrEqual(t, s.FlushedPartitions, uint64(20))
	require.Zero(t, s.FlushErrors)
}

// TestBrokerConcurrentAppendAndFetch runs appenders and long-polling
// fetchers on several partitions at once (run it with -race) and checks
// that every fetcher sees its partition's records once, in order, with
// contiguous offsets.
func TestBrokerConcurrentAppendAndFetch(t *testing.T) {
	const (
		partitions = 4
		appenders  = 3 // per partition
		batches    = 60
		perBatch   = 5
	)
	b := openBroker(t, t.TempDir(), &Config{FlushInterval: time.Millisecond})
	require.NoError(t, b.CreateTopic("t", &TopicConfig{Partitions: partitions, SegmentBytes: 4096}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	errs := make(chan error, partitions*(appenders+1))
	total := int64(appenders * batches * perBatch)
	for pid := range int32(partitions) {
		p, err := b.Partition("t", pid)
		require.NoError(t, err)
		for a := range appenders {
			go func() {
				key := fmt.Sprintf("a%d", a)
				for i := range batches {
					batch := makeBatch(t, key, int64(i*perBatch), perBatch, time.Now())
					var err error
					if a == 0 && i%10 == 0 {
						_, err = p.Append(batch)
					} else {
						var res partition.AppendResult
						res, err = p.Append(batch)
						if err == nil && i%7 == 0 {
							err = p.WaitSynced(ctx, res.LastOffset) // acks=all now and then
						}
					}
					if err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		go func() {
			errs <- fetchInOrder(ctx, p, total, appenders)
		}()
	}
	for range partitions * (appenders + 1) {
		require.NoError(t, <-errs)
	}
}

// fetchInOrder long-polls p from offset 0 until it has read want records,
// checking offsets are contiguous and each key's sequence increases by
// one.
func fetchInOrder(ctx context.Context, p *partition.Partition, want int64, keys int) error {
	next := int64(0)
	seqs := map[string]int64{}
	var d = newDecoder()
	for next < want {
		res, err := p.Fetch(ctx, next, 100, 64<<10, 50*time.Millisecond)
		if err != nil {
			return err
		}
		if res.View.Len() > 0 && res.HighWatermark <= next {
			res.View.Release()
			return fmt.Errorf("fetch at %d returned data at or past the high watermark %d", next, res.HighWatermark)
		}
		recs, err := d.decode(res.View.Data, next)
		res.View.Release()
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.offset != next {
				return fmt.Errorf("partition %d: offset %d after %d", p.ID(), r.offset, next-1)
			}
			if s, ok := seqs[r.key]; ok && r.seq != s+1 {
				return fmt.Errorf("partition %d: key %s: seq %d after %d", p.ID(), r.key, r.seq, s)
			}
			seqs[r.key] = r.seq
			next++
		}
	}
	if len(seqs) != keys {
		return fmt.Errorf("partition %d: %d keys, want %d", p.ID(), len(seqs), keys)
	}
	return nil
}

// TestBrokerRetentionWhileReading: the background retention deletes
// expired segments while a fetcher holds a View of the oldest; the View
// stays readable and intact until released.
func TestBrokerRetentionWhileReading(t *testing.T) {
	clock := newTestClock(time.Now())
	b := openBroker(t, t.TempDir(), &Config{
		RetentionCheckInterval: 5 * time.Millisecond,
		now:                    clock.Now,
	})
	require.NoError(t, b.CreateTopic("t", &TopicConfig{SegmentBytes: 200, RetentionMs: time.Minute}))
	p, err := b.Partition("t", 0)
	require.NoError(t, err)
	for i := range 10 {
		res, err := p.Append(makeBatch(t, "k", int64(i*3), 3, clock.Now()))
		require.NoError(t, err)
		require.NoError(t, p.WaitSynced(context.Background(), res.LastOffset))
	}
	require.Greater(t, p.Stats().Log.Segments, 3)

	held, err := p.Fetch(context.Background(), 0, 1, 1<<20, 0)
	require.NoError(t, err)
	before := append([]byte(nil), held.View.Data...)

	clock.Advance(time.Hour) // every segment expires
	require.Eventually(t, func() bool { return p.LogStartOffset() == 30 },
		10*time.Second, time.Millisecond, "background retention did not run")
	require.Equal(t, before, held.View.Data, "a held View changed under retention")
	recs := decodeBatches(t, held.View.Data, 0)
	require.Equal(t, int64(0), recs[0].offset)
	held.View.Release()

	_, err = p.Fetch(context.Background(), 0, 1, 1<<20, 0)
	require.ErrorIs(t, err, partition.ErrOffsetOutOfRange)
	require.Eventually(t, func() bool { return b.Stats().DeletedSegments > 0 }, 10*time.Second, time.Millisecond)
	d, err := b.DescribeTopic("t")
	require.NoError(t, err)
	require.Equal(t, int64(30), d.PartitionDetails[0].LogStartOffset)
	require.Equal(t, 1, d.PartitionDetails[0].Segments)
}

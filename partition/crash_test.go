//go:build unix

package partition

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/crashtest"
	"github.com/samsalog/samsa/log"
	"github.com/samsalog/samsa/record"
)

var (
	crashSeed = crashtest.SeedFlag("partition.crash.seed",
		"seed of TestCrashIdempotence (0: from the clock; the seed is logged)")
	crashCycles = flag.Int("partition.crash.cycles", 4, "kill-and-retry cycles of TestCrashIdempotence")
)

// crashChildPlanEnv is the producers of a TestCrashIdempotenceChild
// process: pid/epoch/seq/index;...
const crashChildPlanEnv = "SAMSA_PARTITION_CRASH_CHILD_PLAN"

// crashPipeline is how many batches a child's producer appends before it
// waits for their acknowledgement: at most this many are unacknowledged
// when the child dies, which with the last acknowledged batch makes the
// five the partition remembers.
const crashPipeline = producerWindow - 1

// crashProducer is where one producer of the crash test stands: its ID,
// epoch, next sequence and the index (over all its epochs) of its next
// record, which each record carries as its value.
type crashProducer struct {
	pid   int64
	epoch int16
	seq   int32
	index int64
}

// batchLen is the number of records of the producer's batch at its
// current position: a function of the position, so that the parent
// rebuilds exactly the batches a dead child may have sent.
func (c crashProducer) batchLen() int {
	return 1 + int((uint64(c.pid)*31+uint64(c.epoch)*7+uint64(c.seq))%5)
}

// batch encodes the producer's batch at its current position: records
// keyed by the producer ID whose values are the record indexes.
func (c crashProducer) batch(enc *record.Encoder) []byte {
	recs := make([]record.Record, c.batchLen())
	for i := range recs {
		v := make([]byte, 8+20)
		binary.BigEndian.PutUint64(v, uint64(c.index)+uint64(i))
		recs[i] = record.Record{Key: []byte{byte(c.pid)}, Value: v, Timestamp: time.UnixMilli(1_700_000_000_000 + c.index)}
	}
	b, err := enc.AppendBatch(nil, recs, record.BatchOptions{
		Idempotent: true, ProducerID: c.pid, ProducerEpoch: c.epoch, BaseSequence: c.seq,
		LeaderEpoch: record.NoLeaderEpoch,
	})
	if err != nil {
		panic(err)
	}
	return b
}

// next returns the position after the current batch.
func (c crashProducer) next() crashProducer {
	n := c.batchLen()
	c.seq = incrementSequence(c.seq, int32(n))
	c.index += int64(n)
	return c
}

func formatPlan(ps []crashProducer) string {
	var parts []string
	for _, c := range ps {
		parts = append(parts, fmt.Sprintf("%d/%d/%d/%d", c.pid, c.epoch, c.seq, c.index))
	}
	return strings.Join(parts, ";")
}

func parsePlan(s string) ([]crashProducer, error) {
	var ps []crashProducer
	for part := range strings.SplitSeq(s, ";") {
		var c crashProducer
		if _, err := fmt.Sscanf(part, "%d/%d/%d/%d", &c.pid, &c.epoch, &c.seq, &c.index); err != nil {
			return nil, fmt.Errorf("plan %q: %w", part, err)
		}
		ps = append(ps, c)
	}
	return ps, nil
}

// crashConfig returns a random configuration: small segments, so that
// rolls (and with them producer snapshots) happen within a child's short
// life.
func crashConfig(rng *rand.Rand) *Config {
	return &Config{Log: log.Config{SegmentBytes: int64(1024 + rng.IntN(16<<10))}}
}

// TestCrashIdempotenceChild is not a test: it is the child process of
// TestCrashIdempotence, which runs this test binary again with
// crashtest.Start and kills it with SIGKILL. Run as an ordinary test it
// skips at once.
//
// The child opens the partition, and for each producer of its plan a
// goroutine appends up to crashPipeline batches, waits until they are
// synced (acks=all), and only then reports each as acknowledged, one line
// per write(2) on file descriptor 3 (testing owns stdout):
//
//	o                               Open returned
//	a <pid> <epoch> <seq> <index> <base> <last>   a batch is acknowledged
func TestCrashIdempotenceChild(t *testing.T) {
	child := crashtest.AsChild(t)
	seed := child.Seed
	plan, err := parsePlan(os.Getenv(crashChildPlanEnv))
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(seed, 0x1de))
	p, err := Open(child.Dir, "crash", 0, crashConfig(rng))
	require.NoError(t, err)
	child.Reportf("o")

	var wg sync.WaitGroup
	for i, c := range plan {
		prng := rand.New(rand.NewPCG(seed, uint64(i)))
		wg.Go(func() {
			// Not require: FailNow works only on the test's goroutine; a
			// panic fails the child as loudly.
			var enc record.Encoder
			for range 2000 {
				type sent struct {
					c   crashProducer
					res AppendResult
				}
				var batch []sent
				for range 1 + prng.IntN(crashPipeline) {
					res, err := p.Append(c.batch(&enc))
					if err != nil || res.Duplicate {
						panic(fmt.Sprintf("producer %+v: %+v, %v", c, res, err))
					}
					batch = append(batch, sent{c, res})
					c = c.next()
				}
				if err := p.WaitSynced(context.Background(), batch[len(batch)-1].res.LastOffset); err != nil {
					panic(err)
				}
				for _, s := range batch {
					child.Reportf("a %d %d %d %d %d %d",
						s.c.pid, s.c.epoch, s.c.seq, s.c.index, s.res.BaseOffset, s.res.LastOffset)
				}
			}
		})
	}
	wg.Wait()
	child.WaitForKill()
}

// ackedBatch is a batch a child reported acknowledged.
type ackedBatch struct {
	c          crashProducer
	base, last int64
}

// runIdempotenceChild starts a child on dir with the producers at plan,
// kills it with SIGKILL at a random moment (mostly while it appends,
// sometimes during its Open) and returns what it acknowledged.
func runIdempotenceChild(t *testing.T, rng *rand.Rand, dir string, plan []crashProducer) []ackedBatch {
	t.Helper()
	var acked []ackedBatch
	opened := make(chan struct{})
	child := crashtest.Start(t, &crashtest.Config{
		Test: "TestCrashIdempotenceChild",
		Dir:  dir,
		Seed: rng.Uint64(),
		Env:  []string{crashChildPlanEnv + "=" + formatPlan(plan)},
		Report: func(line string) error {
			if line == "o" {
				close(opened)
				return nil
			}
			var a ackedBatch
			if _, err := fmt.Sscanf(line, "a %d %d %d %d %d %d", &a.c.pid, &a.c.epoch, &a.c.seq, &a.c.index, &a.base, &a.last); err != nil {
				return fmt.Errorf("bad report line %q: %w", line, err)
			}
			acked = append(acked, a)
			return nil
		},
	})
	// Mostly kill while the child appends; one time in six around its
	// Open.
	trigger, delay := opened, time.Duration(rng.Int64N(int64(150*time.Millisecond)))
	if rng.IntN(6) == 0 {
		trigger, delay = nil, time.Duration(rng.Int64N(int64(2*time.Millisecond)))
	}
	require.NoError(t, child.KillAfter(trigger, delay))
	return acked
}

// TestCrashIdempotence is the end-to-end idempotence test, with
// real processes. Each cycle:
//
//  1. A child (TestCrashIdempotenceChild) opens the partition and has
//     three producers append pipelined batches, acknowledging each once
//     synced; it is killed with SIGKILL at a random moment, so up to
//     crashPipeline batches per producer are appended but their
//     acknowledgements lost.
//  2. The parent reopens the partition (crash recovery, producer state
//     from the last snapshot and the log) and, as a producer that lost
//     its acknowledgements, retries per producer the last acknowledged
//     batch (a duplicate with the reported offsets) and the crashPipeline
//     batches after it (each a duplicate, or new; never new then
//     duplicate), then closes the partition.
//  3. The parent opens it again (a clean restart of the broker), retries
//     the last batch of each producer (a duplicate again), sometimes
//     bumps a producer's epoch (its sequences start again at 0), and
//     closes it.
//
// At the end every producer's records are in the partition exactly once
// and in order (each record carries its index in its producer's stream),
// and each acknowledged batch is at the offsets it was acknowledged with.
// The directory carries over from cycle to cycle (-partition.crash.cycles,
// -partition.crash.seed); a failing run keeps it.
func TestCrashIdempotence(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	rng := crashSeed.Rand(t)
	dir, err := os.MkdirTemp("", "samsa-partition-crash-")
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("data kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	plan := []crashProducer{{pid: 1}, {pid: 2, epoch: 3}, {pid: 3, seq: 1000}}
	var all []ackedBatch
	var fromChild, dups, fresh, bumps int
	var enc record.Encoder
	ctx := context.Background()

	for cycle := range *crashCycles {
		acked := runIdempotenceChild(t, rng, dir, plan)
		fromChild += len(acked)
		all = append(all, acked...)

		// 2. After the crash: retry what may have been lost.
		p, err := Open(dir, "crash", 0, crashConfig(rng))
		require.NoError(t, err, "cycle %d", cycle)
		for i := range plan {
			c := &plan[i]
			var last *ackedBatch
			for j := range acked {
				if acked[j].c.pid == c.pid {
					last = &acked[j]
				}
			}
			if last != nil {
				res, err := p.Append(last.c.batch(&enc))
				require.NoError(t, err, "cycle %d: retry of the last acknowledged batch %+v", cycle, last.c)
				require.True(t, res.Duplicate, "cycle %d: the last acknowledged batch %+v was appended again", cycle, last.c)
				require.Equal(t, [2]int64{last.base, last.last}, [2]int64{res.BaseOffset, res.LastOffset}, "cycle %d: %+v", cycle, last.c)
				*c = last.c.next()
			}
			appended := false
			for range crashPipeline {
				res, err := p.Append(c.batch(&enc))
				require.NoError(t, err, "cycle %d: retry of %+v", cycle, *c)
				if res.Duplicate {
					require.False(t, appended, "cycle %d: %+v is a duplicate after a batch that was not", cycle, *c)
					dups++
				} else {
					appended = true
					fresh++
				}
				all = append(all, ackedBatch{c: *c, base: res.BaseOffset, last: res.LastOffset})
				*c = c.next()
			}
		}
		require.NoError(t, p.Sync(ctx))
		require.NoError(t, p.Close())

		// 3. A clean restart: the last batch of each producer is still a
		// duplicate.
		p, err = Open(dir, "crash", 0, crashConfig(rng))
		require.NoError(t, err, "cycle %d", cycle)
		require.True(t, p.Stats().Log.CleanOpen)
		for i := range plan {
			var last ackedBatch
			for _, a := range all {
				if a.c.pid == plan[i].pid {
					last = a
				}
			}
			res, err := p.Append(last.c.batch(&enc))
			require.NoError(t, err, "cycle %d", cycle)
			require.True(t, res.Duplicate, "cycle %d: after a restart, %+v was appended again", cycle, last.c)
			require.Equal(t, [2]int64{last.base, last.last}, [2]int64{res.BaseOffset, res.LastOffset})
			if rng.IntN(3) == 0 {
				// The producer restarts with a new epoch (KIP-360 bump).
				plan[i].epoch++
				plan[i].seq = 0
				bumps++
			}
		}
		require.NoError(t, p.Close())
	}

	// Every producer's records exactly once, in order, where acknowledged.
	p := openPartition(t, dir, nil)
	byPid := make(map[int64][]rec)
	at := make(map[int64]rec)
	for off := p.LogStartOffset(); off < p.LogEndOffset(); {
		recs, _ := fetchNow(t, p, off)
		require.NotEmpty(t, recs)
		for _, r := range recs {
			pid := int64(r.key[0])
			byPid[pid] = append(byPid[pid], r)
			at[r.offset] = r
		}
		off = recs[len(recs)-1].offset + 1
	}
	for _, c := range plan {
		recs := byPid[c.pid]
		require.Len(t, recs, int(c.index), "producer %d: records lost or duplicated", c.pid)
		for i, r := range recs {
			require.Equal(t, int64(i), r.seq, "producer %d: record %d out of order or twice", c.pid, i)
		}
	}
	for _, a := range all {
		r, ok := at[a.base]
		require.True(t, ok, "batch %+v: no record at %d", a.c, a.base)
		require.Equal(t, a.c.index, r.seq, "batch %+v at %d", a.c, a.base)
		require.Equal(t, a.base+int64(a.c.batchLen())-1, a.last)
	}
	t.Logf("%d cycles: %d batches acknowledged by children, %d retried as duplicates, %d retried as new, %d epoch bumps, %d records",
		*crashCycles, fromChild, dups, fresh, bumps, len(at))
}

package partition

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/log"
)

// flusher is a broker's background flusher in miniature: OnDirty queues
// the partition, a goroutine flushes it.
type flusher struct {
	queue chan *Partition
	done  chan struct{}
	wg    sync.WaitGroup
}

func newFlusher(t *testing.T) *flusher {
	f := &flusher{queue: make(chan *Partition, 1), done: make(chan struct{})}
	f.wg.Go(func() {
		for {
			select {
			case p := <-f.queue:
				if err := p.Flush(); err != nil {
					t.Errorf("flush: %v", err)
				}
			case <-f.done:
				return
			}
		}
	})
	return f
}

// onDirty must not block: the queue has room, since OnDirty is called at
// most once between two Flush calls and the flusher takes the partition
// off the queue before flushing it.
func (f *flusher) onDirty(p *Partition) {
	select {
	case f.queue <- p:
	default:
		panic("OnDirty called twice in one dirty period")
	}
}

func (f *flusher) stop() { close(f.done); f.wg.Wait() }

// TestConcurrentAppendFetch runs appenders (each with its own key and
// sequence, some waiting for acks=all) against long-polling fetchers, with
// small segments so that rolls happen under the readers, and checks that
// every fetcher sees every record exactly once, in offset order, each
// appender's records in its order, and never past the high watermark.
func TestConcurrentAppendFetch(t *testing.T) {
	for _, unsafe := range []bool{false, true} {
		t.Run(fmt.Sprintf("exposeUnsynced=%v", unsafe), func(t *testing.T) {
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			const appenders, batches, fetchers = 4, 150, 3
			fl := newFlusher(t)
			defer fl.stop()
			p := openPartition(t, t.TempDir(), &Config{
				UnsafeExposeUnsynced: unsafe,
				OnDirty:              fl.onDirty,
				Log:                  log.Config{SegmentBytes: 8 << 10},
			})

			// Batch sizes are fixed up front so the total is known.
			counts := make([][]int, appenders)
			total := int64(0)
			rng := rand.New(rand.NewPCG(seed, 0))
			for a := range counts {
				for range batches {
					n := 1 + rng.IntN(3)
					counts[a] = append(counts[a], n)
					total += int64(n)
				}
			}

			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			var wg sync.WaitGroup
			for a := range appenders {
				wg.Go(func() {
					key := fmt.Sprintf("a%d", a)
					seq := int64(0)
					for _, n := range counts[a] {
						res, err := p.Append(makeBatch(t, key, seq, n, 32, time.Now().UnixMilli()))
						if err != nil {
							t.Errorf("append: %v", err)
							return
						}
						seq += int64(n)
						if a%2 == 0 { // acks=all
							if err := p.WaitSynced(ctx, res.LastOffset); err != nil {
								t.Errorf("wait synced: %v", err)
								return
							}
							if hw := p.HighWatermark(); hw <= res.LastOffset {
								t.Errorf("synced offset %d, HW %d", res.LastOffset, hw)
							}
						}
					}
				})
			}
			for range fetchers {
				wg.Go(func() {
					next := int64(0)
					want := map[string]int64{}
					for next < total {
						res, err := p.Fetch(ctx, next, 1, 2048, 50*time.Millisecond)
						if err != nil {
							t.Errorf("fetch at %d: %v", next, err)
							return
						}
						for _, r := range decodeAll(t, res.View.Data, next) {
							if r.offset != next {
								t.Errorf("offset %d, want %d", r.offset, next)
							}
							if r.offset >= res.HighWatermark {
								t.Errorf("offset %d at or past the HW %d", r.offset, res.HighWatermark)
							}
							if r.seq != want[r.key] {
								t.Errorf("%s: seq %d at offset %d, want %d", r.key, r.seq, r.offset, want[r.key])
							}
							want[r.key] = r.seq + 1
							next = r.offset + 1
						}
						res.View.Release()
						if t.Failed() {
							return
						}
					}
					for a := range appenders {
						key := fmt.Sprintf("a%d", a)
						if got, n := want[key], sum(counts[a]); got != int64(n) {
							t.Errorf("%s: saw %d records, want %d", key, got, n)
						}
					}
				})
			}
			wg.Wait()
			require.Equal(t, total, p.LogEndOffset())
			require.Equal(t, total, p.HighWatermark())
			require.Greater(t, p.Stats().Log.Segments, 1)
		})
	}
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

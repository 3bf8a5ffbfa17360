package consumer

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type markHandler struct {
	mu   sync.Mutex
	seen map[TopicPartition]map[int64]bool
}

func (*markHandler) Setup(*Session) error   { return nil }
func (*markHandler) Cleanup(*Session) error { return nil }
func (h *markHandler) ConsumeClaim(s *Session, cl *Claim) error {
	for r := range cl.Records() {
		h.mu.Lock()
		k := TopicPartition{r.Topic, r.Partition}
		if h.seen[k] == nil {
			h.seen[k] = map[int64]bool{}
		}
		h.seen[k][r.Offset] = true
		h.mu.Unlock()
		s.MarkRecord(r, "")
	}
	return nil
}

func (h *markHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.seen {
		n += len(m)
	}
	return n
}

// TestConsumeHandlerAcrossRebalances: three handler consumers join one
// after the other while records arrive; every record is handed to some
// ConsumeClaim, and the marks are committed.
func TestConsumeHandlerAcrossRebalances(t *testing.T) {
	b := openBroker(t, "t", 4)
	f := newFakeCoord(b)
	h := &markHandler{seen: map[TopicPartition]map[int64]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var cs []*Consumer
	for i := range 3 {
		c := groupConsumer(t, b, f, Config{Topics: []string{"t"}, AutoCommit: AutoCommitConfig{Interval: 20 * time.Millisecond}})
		cs = append(cs, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			require.NoError(t, c.Consume(ctx, h))
		}()
		for p := range int32(4) {
			produce(t, b, "t", p, 50, 10)
		}
		_ = i
		time.Sleep(30 * time.Millisecond)
	}
	require.Eventually(t, func() bool { return h.count() == 600 }, 10*time.Second, 10*time.Millisecond)
	cancel()
	wg.Wait()
	for _, c := range cs {
		require.NoError(t, c.Close())
	}
	for p := range int32(4) {
		off, ok := f.committed("g", tp("t", p))
		require.True(t, ok)
		require.EqualValues(t, 150, off)
	}
}

package group

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/partition"
)

// topicCounts is a PartitionCount the test can change.
type topicCounts struct {
	mu sync.Mutex
	m  map[string]int32
}

func newTopicCounts(m map[string]int32) *topicCounts { return &topicCounts{m: m} }

func (tc *topicCounts) count(topic string) int32 {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.m[topic]
}

func (tc *topicCounts) set(topic string, n int32) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.m[topic] = n
}

// openOffsets opens n partitions of __consumer_offsets under dir.
func openOffsets(t testing.TB, dir string, n int) []*partition.Partition {
	t.Helper()
	parts := make([]*partition.Partition, n)
	for i := range parts {
		p, err := partition.Open(filepath.Join(dir, fmt.Sprintf("__consumer_offsets-%d", i)), "__consumer_offsets", int32(i), nil)
		require.NoError(t, err)
		parts[i] = p
	}
	return parts
}

func closeOffsets(t testing.TB, parts []*partition.Partition) {
	t.Helper()
	for _, p := range parts {
		require.NoError(t, p.Close())
	}
}

// testEnv is a coordinator over real offsets partitions in a temp dir.
type testEnv struct {
	dir    string
	parts  []*partition.Partition
	counts *topicCounts
	c      *Coordinator
	cfg    CoordinatorConfig
}

// newEnv opens a coordinator with cfg's timing fields (zero cfg: no
// initial delay) over n offsets partitions; everything is closed at the
// end of the test.
func newEnv(t testing.TB, n int, counts map[string]int32, cfg *CoordinatorConfig) *testEnv {
	t.Helper()
	e := &testEnv{dir: t.TempDir(), counts: newTopicCounts(counts)}
	if cfg != nil {
		e.cfg = *cfg
	}
	if e.cfg.InitialRebalanceDelay == 0 {
		e.cfg.InitialRebalanceDelay = -1
	}
	e.open(t, n)
	t.Cleanup(func() { e.close(t) })
	return e
}

func (e *testEnv) open(t testing.TB, n int) {
	t.Helper()
	e.parts = openOffsets(t, e.dir, n)
	cfg := e.cfg
	cfg.Offsets = e.parts
	cfg.PartitionCount = e.counts.count
	c, err := NewCoordinator(&cfg)
	require.NoError(t, err)
	e.c = c
}

func (e *testEnv) close(t testing.TB) {
	t.Helper()
	if e.c == nil {
		return
	}
	require.NoError(t, e.c.Close())
	closeOffsets(t, e.parts)
	e.c, e.parts = nil, nil
}

// reopen closes the coordinator and the partitions and opens them again.
func (e *testEnv) reopen(t testing.TB) {
	t.Helper()
	n := len(e.parts)
	e.close(t)
	e.open(t, n)
}

// logEnd is the total log end offset of the offsets partitions.
func (e *testEnv) logEnd() int64 {
	var n int64
	for _, p := range e.parts {
		n += p.LogEndOffset()
	}
	return n
}

// joinAsync calls Join in a goroutine; the result comes on the channel.
type joinOutcome struct {
	res JoinResult
	err error
}

func joinAsync(c *Coordinator, req JoinRequest) <-chan joinOutcome {
	ch := make(chan joinOutcome, 1)
	go func() {
		res, err := c.Join(context.Background(), req)
		ch <- joinOutcome{res, err}
	}()
	return ch
}

// req builds a JoinRequest for group "g".
func req(memberID string, topics []string, assignors ...Assignor) JoinRequest {
	if len(assignors) == 0 {
		assignors = []Assignor{Range()}
	}
	return JoinRequest{Group: "g", MemberID: memberID, Topics: topics, Assignors: assignors, Generation: -1}
}

// rejoin returns r for a member's next Join after res.
func rejoin(r JoinRequest, res JoinResult) JoinRequest {
	r.MemberID = res.MemberID
	r.Owned = res.Assignment
	r.Generation = res.Generation
	return r
}

// tps flattens an assignment.
func tps(a []TopicPartitions) []TopicPartition {
	var out []TopicPartition
	for _, tp := range a {
		for _, p := range tp.Partitions {
			out = append(out, TopicPartition{tp.Topic, p})
		}
	}
	return out
}

// loopMember is a consumer's membership loop: join, wait for the next
// rebalance, rejoin; leave when ctx ends. onJoin sees each result.
type loopMember struct {
	c   *Coordinator
	req JoinRequest

	mu   sync.Mutex
	last JoinResult
}

func (m *loopMember) result() JoinResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}

func (m *loopMember) run(ctx context.Context, onJoin func(*loopMember, JoinResult)) error {
	for {
		res, err := m.c.Join(ctx, m.req)
		switch {
		case ctx.Err() != nil:
			// Join may have succeeded as ctx ended, or returned the ID
			// of a pending member: leave with it.
			id := m.req.MemberID
			if res.MemberID != "" {
				id = res.MemberID
			}
			if id != "" {
				_ = m.c.Leave(m.req.Group, id)
			}
			return nil
		case errors.Is(err, ErrUnknownMember):
			m.req.MemberID, m.req.Owned, m.req.Generation = "", nil, -1
			continue
		case errors.Is(err, ErrClosed):
			return nil
		case err != nil:
			return err
		}
		m.req = rejoin(m.req, res)
		m.mu.Lock()
		m.last = res
		m.mu.Unlock()
		if onJoin != nil {
			onJoin(m, res)
		}
		select {
		case <-m.c.RebalanceNotify(m.req.Group, res.MemberID):
		case <-ctx.Done():
			_ = m.c.Leave(m.req.Group, m.req.MemberID)
			return nil
		}
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// assertEventually polls cond every millisecond until it holds or d
// passes, and reports which.
func assertEventually(t testing.TB, cond func() bool, d time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return cond()
}

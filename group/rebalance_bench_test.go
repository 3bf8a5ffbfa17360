package group

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// BenchmarkRebalance measures a rebalance end to end: from its trigger (a
// 17th member joins, or leaves again, alternately) until every member has
// its assignment for the group's final generation, through real Join
// calls from one goroutine per member that rejoins when its
// RebalanceNotify channel closes. Cooperative rounds that revoke need a
// follow-up round, included in the time; rounds/op reports how many
// generations a trigger took.
func BenchmarkRebalance(b *testing.B) {
	const members, topics, perTopic = 16, 8, 32
	counts := map[string]int32{}
	var names []string
	for i := range topics {
		name := fmt.Sprintf("topic-%d", i)
		counts[name] = perTopic
		names = append(names, name)
	}
	for _, proto := range []struct {
		name string
		a    Assignor
	}{{"eager", Range()}, {"cooperative", CooperativeSticky()}} {
		b.Run(fmt.Sprintf("members=%d/partitions=%d/protocol=%s", members, topics*perTopic, proto.name), func(b *testing.B) {
			e := newEnv(b, 1, counts, nil)
			c := e.c
			var (
				mu   sync.Mutex
				cond = sync.NewCond(&mu)
				wg   sync.WaitGroup
				live = map[*loopMember]bool{}
			)
			start := func() (*loopMember, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				m := &loopMember{c: c, req: JoinRequest{Group: "g", Topics: names, Assignors: []Assignor{proto.a}, Generation: -1}}
				mu.Lock()
				live[m] = true
				mu.Unlock()
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := m.run(ctx, func(*loopMember, JoinResult) {
						mu.Lock()
						cond.Broadcast()
						mu.Unlock()
					}); err != nil {
						b.Error(err)
					}
				}()
				return m, cancel
			}
			// settle waits until the group is stable with every live
			// member at its generation, and returns the generation.
			settle := func() int32 {
				mu.Lock()
				defer mu.Unlock()
				for {
					d, err := c.DescribeGroup("g")
					if err == nil && d.State == StateStable && len(d.Members) == len(live) {
						ok := true
						for m := range live {
							if m.result().Generation != d.Generation {
								ok = false
								break
							}
						}
						if ok {
							return d.Generation
						}
					}
					cond.Wait()
				}
			}
			var cancels []context.CancelFunc
			for range members {
				_, cancel := start()
				cancels = append(cancels, cancel)
			}
			gen0 := settle()
			b.ReportAllocs()

			var (
				extra       *loopMember
				cancelExtra context.CancelFunc
				ops         int
			)
			for b.Loop() {
				if extra == nil {
					extra, cancelExtra = start()
				} else {
					mu.Lock()
					delete(live, extra)
					mu.Unlock()
					cancelExtra()
					extra = nil
				}
				settle()
				ops++
			}
			gen1 := settle()
			b.ReportMetric(float64(gen1-gen0)/float64(ops), "rounds/op")
			if cancelExtra != nil {
				cancelExtra()
			}
			for _, cancel := range cancels {
				cancel()
			}
			// Wake settle-free waiters: nothing waits on cond now.
			wg.Wait()
		})
	}
}

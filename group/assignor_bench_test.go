package group_test

import (
	"fmt"
	"testing"

	"github.com/samsalog/samsa/group"
)

// benchTopics returns topics of 32 partitions each (one topic if fewer),
// total partitions in all.
func benchTopics(total int) (map[string]int32, []string) {
	per := min(total, 1000)
	if total <= 1000 {
		per = 32
	}
	parts := map[string]int32{}
	var topics []string
	for i := 0; total > 0; i++ {
		n := min(per, total)
		topic := fmt.Sprintf("topic-%03d", i)
		parts[topic] = int32(n)
		topics = append(topics, topic)
		total -= n
	}
	return parts, topics
}

// benchMembers returns n members subscribing to topics.
func benchMembers(n int, topics []string) []group.Member {
	members := make([]group.Member, n)
	for i := range members {
		members[i] = group.Member{ID: fmt.Sprintf("consumer-%04d-1b4e28ba-2fa1-11d2-883f-0016d3cca427", i), Topics: topics}
	}
	return members
}

// BenchmarkAssign measures one Assign call for groups whose members share
// their subscriptions. scenario=fresh assigns a new group; scenario=join
// reassigns a settled group that one member joins, the common rebalance,
// with the others' previous assignment as OwnedPartitions. Topics have 32
// partitions each at 256 partitions, 1000 each at 10,000.
func BenchmarkAssign(b *testing.B) {
	for _, a := range []group.Assignor{group.Range(), group.RoundRobin(), group.Sticky(), group.CooperativeSticky()} {
		for _, size := range []struct{ members, partitions int }{{16, 256}, {100, 10000}} {
			parts, topics := benchTopics(size.partitions)
			members := benchMembers(size.members, topics)
			prev, err := a.Assign(members[:size.members-1], parts)
			if err != nil {
				b.Fatal(err)
			}
			join := withOwnership(members, prev, 1)
			for _, sc := range []struct {
				name    string
				members []group.Member
			}{{"fresh", members}, {"join", join}} {
				name := fmt.Sprintf("assignor=%s/members=%d/partitions=%d/scenario=%s", a.Name(), size.members, size.partitions, sc.name)
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if _, err := a.Assign(sc.members, parts); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// BenchmarkAssignMixed measures the sticky assignors when members
// subscribe to different topics, which takes the general balancing path.
func BenchmarkAssignMixed(b *testing.B) {
	parts, topics := benchTopics(256)
	members := benchMembers(16, topics)
	for i := range members {
		// Member i subscribes to topics i%8 .. i%8+3 (of 8).
		var sub []string
		for k := range 4 {
			sub = append(sub, topics[(i+k)%len(topics)])
		}
		members[i].Topics = sub
	}
	for _, a := range []group.Assignor{group.Sticky(), group.CooperativeSticky()} {
		prev, err := a.Assign(members[1:], parts)
		if err != nil {
			b.Fatal(err)
		}
		join := withOwnership(members, prev, 1)
		b.Run(fmt.Sprintf("assignor=%s/members=16/partitions=256/scenario=join", a.Name()), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Assign(join, parts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

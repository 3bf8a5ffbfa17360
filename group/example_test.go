package group_test

import (
	"fmt"
	"slices"

	"github.com/samsalog/samsa/group"
)

func printAssignment(a group.Assignment) {
	ids := make([]string, 0, len(a))
	for id := range a {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		fmt.Println(id, a[id])
	}
}

func ExampleRange() {
	members := []group.Member{
		{ID: "consumer2", Topics: []string{"orders", "payments"}},
		{ID: "consumer1", Topics: []string{"orders", "payments"}},
	}
	a, err := group.Range().Assign(members, map[string]int32{"orders": 3, "payments": 3})
	if err != nil {
		panic(err)
	}
	printAssignment(a)
	// Output:
	// consumer1 [{orders [0 1]} {payments [0 1]}]
	// consumer2 [{orders [2]} {payments [2]}]
}

// A member joins a group whose only member owns all three partitions.
// The cooperative round revokes one partition from consumer1, which keeps
// consuming the other two; the follow-up round gives it to consumer2.
func ExampleCooperativeSticky() {
	a := group.CooperativeSticky()
	partitions := map[string]int32{"orders": 3}
	members := []group.Member{
		{ID: "consumer1", Topics: []string{"orders"}, Generation: 1,
			OwnedPartitions: []group.TopicPartitions{{Topic: "orders", Partitions: []int32{0, 1, 2}}}},
		{ID: "consumer2", Topics: []string{"orders"}},
	}
	round1, err := a.Assign(members, partitions)
	if err != nil {
		panic(err)
	}
	_, revoked := group.CooperativeAdjust(members, round1)
	fmt.Println("round 1:", round1["consumer1"], round1["consumer2"], "revoked:", revoked)

	// Each member now owns what round 1 gave it.
	for i := range members {
		members[i].OwnedPartitions, members[i].Generation = round1[members[i].ID], 2
	}
	round2, err := a.Assign(members, partitions)
	if err != nil {
		panic(err)
	}
	_, revoked = group.CooperativeAdjust(members, round2)
	fmt.Println("round 2:", round2["consumer1"], round2["consumer2"], "revoked:", revoked)
	// Output:
	// round 1: [{orders [0 1]}] [] revoked: map[consumer1:[{orders [2]}]]
	// round 2: [{orders [0 1]}] [{orders [2]}] revoked: map[]
}

package group_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/group"
)

// TestStickyClaims checks how previous ownership is read: validity,
// generations (KIP-341) and the eager user-data fallback.
func TestStickyClaims(t *testing.T) {
	withGen := func(m group.Member, owned string, gen int32) group.Member {
		m = owning(m, owned)
		m.Generation = gen
		return m
	}
	parts := map[string]int32{"t": 4, "u": 2}
	for _, tc := range []struct {
		name    string
		members []group.Member
		sticky  group.Assignment // Sticky's result
		coop    group.Assignment // CooperativeSticky's first round
	}{
		{
			name: "higher generation wins a conflict",
			members: []group.Member{
				withGen(member("a", "t"), "t:0,1", 2),
				withGen(member("b", "t"), "t:0,2", 1),
			},
			sticky: expect("a", "t:0,1", "b", "t:2,3"),
			// b revokes t-0, which a already owns: nothing to withhold.
			coop: expect("a", "t:0,1", "b", "t:2,3"),
		},
		{
			name: "a tie drops the claim from both",
			members: []group.Member{
				withGen(member("a", "t"), "t:0,1", 1),
				withGen(member("b", "t"), "t:0,2", 1),
			},
			// t-0 is unowned for the sticky target and goes to a, first
			// among the least loaded. a already consumes it, so the
			// cooperative round gives it to a too; b revokes it.
			sticky: expect("a", "t:0,1", "b", "t:2,3"),
			coop:   expect("a", "t:0,1", "b", "t:2,3"),
		},
		{
			name: "claims on unsubscribed topics do not count",
			members: []group.Member{
				withGen(member("a", "t"), "t:0,1 u:0,1", 1),
				member("b", "t", "u"),
			},
			sticky: expect("a", "t:0,1,2", "b", "t:3 u:0,1"),
			// a still consumes u until it revokes it.
			coop: expect("a", "t:0,1,2", "b", "t:3"),
		},
		{
			name: "claims on missing partitions and topics do not count",
			members: []group.Member{
				withGen(member("a", "t", "gone"), "t:-1,3,4,99 gone:0", 1),
				member("b", "t"),
			},
			sticky: expect("a", "t:1,3", "b", "t:0,2"),
			coop:   expect("a", "t:1,3", "b", "t:0,2"),
		},
		{
			name: "a claim listed twice counts once",
			members: []group.Member{
				withGen(member("a", "t"), "t:3,3 t:3", 1),
				member("b", "t"),
			},
			sticky: expect("a", "t:1,3", "b", "t:0,2"),
			coop:   expect("a", "t:1,3", "b", "t:0,2"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := group.Sticky().Assign(tc.members, parts)
			require.NoError(t, err)
			assert.Equal(t, tc.sticky, got, "sticky")
			got, err = group.CooperativeSticky().Assign(tc.members, parts)
			require.NoError(t, err)
			assert.Equal(t, tc.coop, got, "cooperative-sticky")
		})
	}
}

// TestStickyUserData checks that the eager Sticky reads ownership from
// Kafka's user data when a member reports no OwnedPartitions, as Java's
// StickyAssignor does, and that CooperativeSticky does not.
func TestStickyUserData(t *testing.T) {
	parts := map[string]int32{"t": 4}
	owned := owning(member("a", "t"), "t:1,2,3")
	viaUserData := member("a", "t")
	viaUserData.UserData = group.EncodeStickyUserData(tps("t:1,2,3"), 1)
	newcomer := member("b", "t")

	want, err := group.Sticky().Assign([]group.Member{owned, newcomer}, parts)
	require.NoError(t, err)
	assert.Equal(t, expect("a", "t:1,2", "b", "t:0,3"), want)
	got, err := group.Sticky().Assign([]group.Member{viaUserData, newcomer}, parts)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	fresh, err := group.Sticky().Assign([]group.Member{member("a", "t"), newcomer}, parts)
	require.NoError(t, err)
	got, err = group.CooperativeSticky().Assign([]group.Member{viaUserData, newcomer}, parts)
	require.NoError(t, err)
	assert.Equal(t, fresh, got, "cooperative-sticky reads OwnedPartitions only")

	// Unparsable user data is ignored, as in Java.
	viaUserData.UserData = []byte{0xff, 0xff}
	got, err = group.Sticky().Assign([]group.Member{viaUserData, newcomer}, parts)
	require.NoError(t, err)
	assert.Equal(t, fresh, got)

	// OwnedPartitions, when present, take precedence over user data.
	owned.UserData = group.EncodeStickyUserData(tps("t:0"), 9)
	got, err = group.Sticky().Assign([]group.Member{owned, newcomer}, parts)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// TestStickyJoinLeave is the stickiness property on random
// groups whose members share their subscriptions: one member joining N
// balanced members moves at most ceil(P/(N+1)) partitions, and a member
// leaving moves none of the others' partitions. (assignortest checks the
// stronger property that exactly the fewest possible partitions move.)
func TestStickyJoinLeave(t *testing.T) {
	rng := rand.New(rand.NewPCG(uint64(testSeed(t)), 1))
	for _, a := range []group.Assignor{group.Sticky(), group.CooperativeSticky()} {
		for i := range 200 {
			n := 1 + rng.IntN(12)
			parts := map[string]int32{}
			var topics []string
			total := 0
			for k := range 1 + rng.IntN(3) {
				topic := fmt.Sprintf("t%d", k)
				topics = append(topics, topic)
				parts[topic] = int32(1 + rng.IntN(40))
				total += int(parts[topic])
			}
			members := make([]group.Member, n)
			for k := range members {
				members[k] = member(fmt.Sprintf("m%02d", rng.IntN(100)*100+k), topics...)
			}
			prev := settle(t, a, members, parts)

			// One joins.
			joined := append(withOwnership(members, prev, 10), member("new", topics...))
			next := settle(t, a, joined, parts)
			moved := movedPartitions(prev, next)
			limit := (total + n) / (n + 1)
			assert.LessOrEqual(t, moved, limit, "%s case %d: %d members, %d partitions: one joining moved %d", a.Name(), i, n, total, moved)

			// One leaves.
			if n > 1 {
				gone := rng.IntN(n)
				left := withOwnership(members, prev, 10)
				left = append(left[:gone:gone], left[gone+1:]...)
				next = settle(t, a, left, parts)
				assert.Zero(t, movedPartitions(prev, next), "%s case %d: one leaving moved others' partitions", a.Name(), i)
			}
		}
	}
}

// settle runs rebalances until the assignment revokes nothing (once for
// an eager assignor) and returns it.
func settle(t *testing.T, a group.Assignor, members []group.Member, parts map[string]int32) group.Assignment {
	t.Helper()
	gen := int32(100)
	for range 4 {
		got, err := a.Assign(members, parts)
		require.NoError(t, err)
		if a.Protocol() == group.Eager {
			return got
		}
		_, revoked := group.CooperativeAdjust(members, got)
		if len(revoked) == 0 {
			return got
		}
		gen++
		members = withOwnership(members, got, gen)
	}
	t.Fatalf("%s: no settled assignment after 4 rounds", a.Name())
	return nil
}

// withOwnership returns copies of members owning what a gave them.
func withOwnership(members []group.Member, a group.Assignment, gen int32) []group.Member {
	out := make([]group.Member, len(members))
	for i, m := range members {
		m.OwnedPartitions = a[m.ID]
		m.Generation = gen
		out[i] = m
	}
	return out
}

// movedPartitions counts partitions held in before by a member still in
// after that after gives to someone else.
func movedPartitions(before, after group.Assignment) int {
	n := 0
	for id, list := range before {
		now, ok := after[id]
		if !ok {
			continue
		}
		has := map[string]map[int32]bool{}
		for _, l := range now {
			has[l.Topic] = map[int32]bool{}
			for _, p := range l.Partitions {
				has[l.Topic][p] = true
			}
		}
		for _, l := range list {
			for _, p := range l.Partitions {
				if !has[l.Topic][p] {
					n++
				}
			}
		}
	}
	return n
}

// TestStickyLarge checks balance and stickiness at a size the random
// tests do not reach: 100 members over 10,000 partitions, one joining.
func TestStickyLarge(t *testing.T) {
	parts, topics := benchTopics(10000)
	members := benchMembers(100, topics)
	a := group.CooperativeSticky()
	prev := settle(t, a, members, parts)
	assertBalanced(t, prev, 100, 100)
	joined := append(withOwnership(members, prev, 5), member("zz-new", topics...))
	next := settle(t, a, joined, parts)
	assertBalanced(t, next, 99, 100)
	assert.Equal(t, 99, movedPartitions(prev, next), "the newcomer takes 99 and nothing else moves")
}

func assertBalanced(t *testing.T, a group.Assignment, lo, hi int) {
	t.Helper()
	for id, l := range a {
		n := 0
		for _, tp := range l {
			n += len(tp.Partitions)
		}
		if n < lo || n > hi {
			t.Errorf("%s holds %d partitions, want %d to %d", id, n, lo, hi)
		}
	}
}

// TestStickyFewestMoves starts groups whose members share their
// subscriptions from random, unbalanced, non-conflicting ownership and
// checks that the sticky assignment moves exactly as many owned
// partitions as balance requires: each member keeps min(owned, quota),
// the P%M larger quotas going to the members that own most.
func TestStickyFewestMoves(t *testing.T) {
	rng := rand.New(rand.NewPCG(uint64(testSeed(t)), 3))
	for i := range 500 {
		parts := map[string]int32{"a": int32(rng.IntN(20)), "b": int32(1 + rng.IntN(20))}
		n := 1 + rng.IntN(8)
		members := make([]group.Member, n)
		owned := make([]map[string][]int32, n)
		for k := range members {
			members[k] = member(fmt.Sprintf("m%d", k), "a", "b")
			owned[k] = map[string][]int32{}
		}
		// Skewed ownership: low-numbered members tend to own more.
		for _, topic := range []string{"a", "b"} {
			for p := range parts[topic] {
				if k := rng.IntN(n + 2); k < n {
					k = min(k, rng.IntN(n))
					owned[k][topic] = append(owned[k][topic], p)
				}
			}
		}
		prev := group.Assignment{}
		for k := range members {
			for _, topic := range []string{"a", "b"} {
				if ps := owned[k][topic]; len(ps) > 0 {
					prev[members[k].ID] = append(prev[members[k].ID], group.TopicPartitions{Topic: topic, Partitions: ps})
				}
			}
		}
		members = withOwnership(members, prev, 1)
		total := int(parts["a"] + parts["b"])
		counts := make([]int, n)
		sum := 0
		for k := range members {
			for _, l := range prev[members[k].ID] {
				counts[k] += len(l.Partitions)
			}
			sum += counts[k]
		}
		slices.SortFunc(counts, func(x, y int) int { return y - x })
		kept := 0
		for k, c := range counts {
			quota := total / n
			if k < total%n {
				quota++
			}
			kept += min(c, quota)
		}
		for _, a := range []group.Assignor{group.Sticky(), group.CooperativeSticky()} {
			got := settle(t, a, members, parts)
			assert.Equal(t, sum-kept, movedPartitions(prev, got), "case %d %s: %v", i, a.Name(), prev)
			assertBalanced(t, got, total/n, (total+n-1)/n)
		}
	}
}

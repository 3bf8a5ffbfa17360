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

// TestCooperativeRounds runs the two-round examples of reference 7.5 and
// 7.6 (C1, S4): round one gives the moving partition to nobody and its
// old owner revokes it while keeping the rest; round two, with ownership
// updated, gives it to its new owner and revokes nothing.
func TestCooperativeRounds(t *testing.T) {
	for _, tc := range []struct {
		name       string
		partitions map[string]int32
		members    []group.Member
		round1     group.Assignment
		revoked    map[string][]group.TopicPartitions
		round2     group.Assignment
	}{
		{
			name:       "C1 testAddRemoveConsumerOneTopic",
			partitions: map[string]int32{"topic": 3},
			members:    []group.Member{owning(member("consumer1", "topic"), "topic:0,1,2"), member("consumer2", "topic")},
			round1:     expect("consumer1", "topic:0,1", "consumer2", ""),
			revoked:    map[string][]group.TopicPartitions{"consumer1": tps("topic:2")},
			round2:     expect("consumer1", "topic:0,1", "consumer2", "topic:2"),
		},
		{
			name:       "S4 testMaxQuotaConsumerMoreThanNumExpectedMaxCapacityMembers",
			partitions: map[string]int32{"topic1": 2, "topic2": 2},
			members: []group.Member{
				owning(member("consumer1", "topic1", "topic2"), "topic1:0 topic2:0"),
				owning(member("consumer2", "topic1", "topic2"), "topic1:1 topic2:1"),
				member("consumer3", "topic1", "topic2"),
			},
			round1:  expect("consumer1", "topic1:0", "consumer2", "topic1:1 topic2:1", "consumer3", ""),
			revoked: map[string][]group.TopicPartitions{"consumer1": tps("topic2:0")},
			round2:  expect("consumer1", "topic1:0", "consumer2", "topic1:1 topic2:1", "consumer3", "topic2:0"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := group.CooperativeSticky()
			got, err := a.Assign(tc.members, tc.partitions)
			require.NoError(t, err)
			assert.Equal(t, tc.round1, got)
			_, revoked := group.CooperativeAdjust(tc.members, got)
			assert.Equal(t, tc.revoked, revoked)

			next := withOwnership(tc.members, got, 2)
			got, err = a.Assign(next, tc.partitions)
			require.NoError(t, err)
			assert.Equal(t, tc.round2, got)
			_, revoked = group.CooperativeAdjust(next, got)
			assert.Empty(t, revoked)
		})
	}
}

func TestCooperativeAdjust(t *testing.T) {
	members := []group.Member{
		owning(member("a", "t"), "t:0,1,2 gone:0"),
		owning(member("b", "t"), "t:3 t:3"),
		owning(member("c", "t"), "t:4"),
		owning(member("d", "t"), "t:4"), // conflicting claim on t-4
		member("e", "t"),
	}
	target := expect(
		"a", "t:0",
		"b", "t:1,3", // t-1 moves from a: withheld
		"c", "t:4", // c keeps t-4; d revokes it
		"d", "t:5", // t-5 was unowned: assigned at once
		"e", "t:2", // moves from a: withheld
		"x", "t:6", // not a member: kept as is
	)
	before := fmt.Sprint(members, target)
	assign, revoked := group.CooperativeAdjust(members, target)
	assert.Equal(t, expect("a", "t:0", "b", "t:3", "c", "t:4", "d", "t:5", "e", "", "x", "t:6"), assign)
	assert.Equal(t, map[string][]group.TopicPartitions{
		"a": tps("gone:0 t:1,2"),
		"d": tps("t:4"),
	}, revoked)
	assert.Equal(t, before, fmt.Sprint(members, target), "arguments unmodified")

	// Nothing owned: nothing withheld or revoked.
	fresh := []group.Member{member("a", "t"), member("b", "t")}
	assign, revoked = group.CooperativeAdjust(fresh, expect("a", "t:0", "b", "t:1"))
	assert.Equal(t, expect("a", "t:0", "b", "t:1"), assign)
	assert.Nil(t, revoked)
}

// TestCooperativeStickyIsAdjustedSticky checks on random groups with
// random, possibly conflicting ownership that CooperativeSticky's round
// is exactly CooperativeAdjust of Sticky's result, that adjusting it
// again changes nothing (the coordinator adjusts every cooperative
// assignor's result), and that the round never gives a member a
// partition another member is revoking.
func TestCooperativeStickyIsAdjustedSticky(t *testing.T) {
	rng := rand.New(rand.NewPCG(uint64(testSeed(t)), 2))
	topics := []string{"a", "b", "c"}
	for i := range 500 {
		parts := map[string]int32{}
		for _, topic := range topics {
			parts[topic] = int32(rng.IntN(9))
		}
		members := make([]group.Member, rng.IntN(7))
		for k := range members {
			m := group.Member{ID: fmt.Sprintf("m%d", k), Generation: int32(rng.IntN(3))}
			for _, topic := range topics {
				if rng.IntN(3) > 0 {
					m.Topics = append(m.Topics, topic)
				}
				var ps []int32
				for p := range parts[topic] {
					if rng.IntN(4) == 0 {
						ps = append(ps, p)
					}
				}
				if len(ps) > 0 {
					m.OwnedPartitions = append(m.OwnedPartitions, group.TopicPartitions{Topic: topic, Partitions: ps})
				}
			}
			members[k] = m
		}
		target, err := group.Sticky().Assign(members, parts)
		require.NoError(t, err)
		want, revoked := group.CooperativeAdjust(members, target)
		got, err := group.CooperativeSticky().Assign(members, parts)
		require.NoError(t, err)
		require.Equal(t, normalize(want), normalize(got), "case %d: members %v", i, members)
		again, againRevoked := group.CooperativeAdjust(members, got)
		require.Equal(t, normalize(got), normalize(again), "case %d: adjusting twice changes the result", i)
		require.Equal(t, revoked, againRevoked, "case %d", i)

		// A partition added to a member (given, not owned) is never one
		// another member revokes in the same round.
		revokedBy := map[string]string{}
		for id, rl := range revoked {
			for _, l := range rl {
				for _, p := range l.Partitions {
					revokedBy[fmt.Sprintf("%s-%d", l.Topic, p)] = id
				}
			}
		}
		for _, m := range members {
			owns := map[string]bool{}
			for _, l := range m.OwnedPartitions {
				for _, p := range l.Partitions {
					owns[fmt.Sprintf("%s-%d", l.Topic, p)] = true
				}
			}
			for _, l := range got[m.ID] {
				for _, p := range l.Partitions {
					k := fmt.Sprintf("%s-%d", l.Topic, p)
					if from, ok := revokedBy[k]; ok && !owns[k] {
						t.Errorf("case %d: %s given to %s while %s revokes it; members %v", i, k, m.ID, from, members)
					}
				}
			}
		}
	}
}

// normalize maps empty lists to nil for comparison.
func normalize(a group.Assignment) group.Assignment {
	out := make(group.Assignment, len(a))
	for id, l := range a {
		if len(l) == 0 {
			l = nil
		}
		out[id] = slices.Clone(l)
	}
	return out
}

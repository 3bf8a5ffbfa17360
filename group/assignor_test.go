package group_test

import (
	"flag"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/group"
	"github.com/samsalog/samsa/group/assignortest"
)

var (
	seedFlag   = flag.Int64("seed", 0, "seed for the random tests; 0 picks one from the clock")
	groupsFlag = flag.Int("groups", 0, "random groups per assignor in TestConformance; 0 means the checker's default")
)

// testSeed returns the seed of a random test and logs it, so that a
// failure can be replayed with -seed.
func testSeed(t *testing.T) int64 {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (replay with -seed=%d)", seed, seed)
	return seed
}

// tps parses "t1:0,1 t2:2" into a sorted-as-given partition list; "" is
// nil.
func tps(s string) []group.TopicPartitions {
	var out []group.TopicPartitions
	for _, f := range strings.Fields(s) {
		topic, parts, _ := strings.Cut(f, ":")
		l := group.TopicPartitions{Topic: topic}
		for _, p := range strings.Split(parts, ",") {
			n, err := strconv.Atoi(p)
			if err != nil {
				panic(err)
			}
			l.Partitions = append(l.Partitions, int32(n))
		}
		out = append(out, l)
	}
	return out
}

// member returns a dynamic member subscribing to topics.
func member(id string, topics ...string) group.Member {
	return group.Member{ID: id, Topics: topics}
}

// owning returns m owning owned (see tps) since generation 1.
func owning(m group.Member, owned string) group.Member {
	m.OwnedPartitions = tps(owned)
	m.Generation = 1
	return m
}

// static returns m with a group.instance.id.
func static(m group.Member, instance string) group.Member {
	m.InstanceID = instance
	return m
}

// expect builds an Assignment from member ID / tps pairs.
func expect(kv ...string) group.Assignment {
	a := make(group.Assignment)
	for i := 0; i < len(kv); i += 2 {
		a[kv[i]] = tps(kv[i+1])
	}
	return a
}

// TestWorkedExamples runs the worked examples of reference 7.6, which
// come from Kafka's own assignor tests. Range and RoundRobin are fully
// determined by sorting and must match Java exactly. Sticky's output in
// Java depends on HashMap iteration order where the input leaves a choice
// (reference 7.7); ours breaks such ties by member order and is fully
// determined, and in each example here it happens to give Java's result:
// in S4 Java trims consumer1 because HashMap visits consumer3, consumer2,
// consumer1, and we trim it because it is first among the members with
// the most partitions. The properties that Java's test asserts (validity,
// balance, the partitions transferring ownership) are also checked on
// these inputs by TestConformance's fixed and random cases.
func TestWorkedExamples(t *testing.T) {
	both := []group.Member{member("consumer1", "topic1", "topic2"), member("consumer2", "topic1", "topic2")}
	mixed := []group.Member{member("consumer1", "topic1"), member("consumer2", "topic1", "topic2"), member("consumer3", "topic1")}
	for _, tc := range []struct {
		name       string
		assignors  []group.Assignor
		partitions map[string]int32
		members    []group.Member
		want       group.Assignment
	}{
		{
			name:       "R1 testTwoConsumersTwoTopicsSixPartitions",
			assignors:  []group.Assignor{group.Range()},
			partitions: map[string]int32{"topic1": 3, "topic2": 3},
			members:    both,
			want:       expect("consumer1", "topic1:0,1 topic2:0,1", "consumer2", "topic1:2 topic2:2"),
		},
		{
			name:       "R2 testMultipleConsumersMixedTopics",
			assignors:  []group.Assignor{group.Range()},
			partitions: map[string]int32{"topic1": 3, "topic2": 2},
			members:    mixed,
			want:       expect("consumer1", "topic1:0", "consumer2", "topic1:1 topic2:0,1", "consumer3", "topic1:2"),
		},
		{
			name:       "R3 testStaticMemberRangeAssignmentPersistent",
			assignors:  []group.Assignor{group.Range()},
			partitions: map[string]int32{"topic1": 5, "topic2": 4},
			members: []group.Member{
				static(member("consumer1", "topic1", "topic2"), "instance1"),
				static(member("consumer2", "topic1", "topic2"), "instance2"),
				static(member("consumer3", "topic1", "topic2"), "instance3"),
				member("consumer4", "topic1", "topic2"),
			},
			want: expect("consumer1", "topic1:0,1 topic2:0", "consumer2", "topic1:2 topic2:1",
				"consumer3", "topic1:3 topic2:2", "consumer4", "topic1:4 topic2:3"),
		},
		{
			name:       "R3 with consumer4 replaced by consumer5",
			assignors:  []group.Assignor{group.Range()},
			partitions: map[string]int32{"topic1": 5, "topic2": 4},
			members: []group.Member{
				static(member("consumer1", "topic1", "topic2"), "instance1"),
				static(member("consumer2", "topic1", "topic2"), "instance2"),
				static(member("consumer3", "topic1", "topic2"), "instance3"),
				member("consumer5", "topic1", "topic2"),
			},
			want: expect("consumer1", "topic1:0,1 topic2:0", "consumer2", "topic1:2 topic2:1",
				"consumer3", "topic1:3 topic2:2", "consumer5", "topic1:4 topic2:3"),
		},
		{
			name:       "R3 static members keep their ranges under new member ids",
			assignors:  []group.Assignor{group.Range()},
			partitions: map[string]int32{"topic1": 5, "topic2": 4},
			members: []group.Member{
				static(member("z-restarted", "topic1", "topic2"), "instance1"),
				static(member("consumer2", "topic1", "topic2"), "instance2"),
				static(member("consumer3", "topic1", "topic2"), "instance3"),
				member("a-dynamic", "topic1", "topic2"),
			},
			want: expect("z-restarted", "topic1:0,1 topic2:0", "consumer2", "topic1:2 topic2:1",
				"consumer3", "topic1:3 topic2:2", "a-dynamic", "topic1:4 topic2:3"),
		},
		{
			name:       "R4 testTwoStaticConsumersTwoTopicsSixPartitions",
			assignors:  []group.Assignor{group.Range()},
			partitions: map[string]int32{"topic1": 3, "topic2": 3},
			members: []group.Member{
				static(member("consumer-b", "topic1", "topic2"), "instance1"),
				static(member("consumer-a", "topic1", "topic2"), "instance2"),
			},
			want: expect("consumer-b", "topic1:0,1 topic2:0,1", "consumer-a", "topic1:2 topic2:2"),
		},
		{
			name:       "RR1 testTwoDynamicConsumersTwoTopicsSixPartitions",
			assignors:  []group.Assignor{group.RoundRobin()},
			partitions: map[string]int32{"topic1": 3, "topic2": 3},
			members:    both,
			want:       expect("consumer1", "topic1:0,2 topic2:1", "consumer2", "topic1:1 topic2:0,2"),
		},
		{
			name:       "RR2 testMultipleConsumersMixedTopics",
			assignors:  []group.Assignor{group.RoundRobin()},
			partitions: map[string]int32{"topic1": 3, "topic2": 2},
			members:    mixed,
			want:       expect("consumer1", "topic1:0", "consumer2", "topic1:1 topic2:0,1", "consumer3", "topic1:2"),
		},
		{
			name:       "RR3 testStaticMemberRoundRobinAssignmentPersistent",
			assignors:  []group.Assignor{group.RoundRobin()},
			partitions: map[string]int32{"topic1": 3, "topic2": 3},
			members: []group.Member{
				static(member("consumer1", "topic1", "topic2"), "instance1"),
				static(member("consumer2", "topic1", "topic2"), "instance2"),
				static(member("consumer3", "topic1", "topic2"), "instance3"),
				member("consumer4", "topic1", "topic2"),
			},
			want: expect("consumer1", "topic1:0 topic2:1", "consumer2", "topic1:1 topic2:2",
				"consumer3", "topic1:2", "consumer4", "topic2:0"),
		},
		{
			name:       "RR partitions sort numerically, not as strings (Sarama differs, 7.8)",
			assignors:  []group.Assignor{group.RoundRobin()},
			partitions: map[string]int32{"t": 12},
			members:    []group.Member{member("a", "t"), member("b", "t")},
			want:       expect("a", "t:0,2,4,6,8,10", "b", "t:1,3,5,7,9,11"),
		},
		{
			name:       "S1 testTwoConsumersTwoTopicsSixPartitions",
			assignors:  []group.Assignor{group.Sticky(), group.CooperativeSticky()},
			partitions: map[string]int32{"topic1": 3, "topic2": 3},
			members:    both,
			want:       expect("consumer1", "topic1:0,2 topic2:1", "consumer2", "topic1:1 topic2:0,2"),
		},
		{
			name:       "S2 testMultipleConsumersMixedTopicSubscriptions",
			assignors:  []group.Assignor{group.Sticky(), group.CooperativeSticky()},
			partitions: map[string]int32{"topic1": 3, "topic2": 2},
			members:    mixed,
			want:       expect("consumer1", "topic1:0,2", "consumer2", "topic2:0,1", "consumer3", "topic1:1"),
		},
		{
			// Nothing transfers ownership: topic2-0 was unowned, so the
			// cooperative round gives the same.
			name:       "S3 testConsumerOwningMinQuotaExpectedMaxQuota",
			assignors:  []group.Assignor{group.Sticky(), group.CooperativeSticky()},
			partitions: map[string]int32{"topic1": 2, "topic2": 3},
			members: []group.Member{
				owning(member("consumer1", "topic1", "topic2"), "topic1:0 topic2:1"),
				owning(member("consumer2", "topic1", "topic2"), "topic1:1 topic2:2"),
			},
			want: expect("consumer1", "topic1:0 topic2:0,1", "consumer2", "topic1:1 topic2:2"),
		},
		{
			name:       "S4 testMaxQuotaConsumerMoreThanNumExpectedMaxCapacityMembers",
			assignors:  []group.Assignor{group.Sticky()},
			partitions: map[string]int32{"topic1": 2, "topic2": 2},
			members: []group.Member{
				owning(member("consumer1", "topic1", "topic2"), "topic1:0 topic2:0"),
				owning(member("consumer2", "topic1", "topic2"), "topic1:1 topic2:1"),
				member("consumer3", "topic1", "topic2"),
			},
			want: expect("consumer1", "topic1:0", "consumer2", "topic1:1 topic2:1", "consumer3", "topic2:0"),
		},
		{
			// S4's transferring partition topic2-0 is withheld in the
			// cooperative round; TestCooperativeRounds runs round two.
			name:       "S4 cooperative round one",
			assignors:  []group.Assignor{group.CooperativeSticky()},
			partitions: map[string]int32{"topic1": 2, "topic2": 2},
			members: []group.Member{
				owning(member("consumer1", "topic1", "topic2"), "topic1:0 topic2:0"),
				owning(member("consumer2", "topic1", "topic2"), "topic1:1 topic2:1"),
				member("consumer3", "topic1", "topic2"),
			},
			want: expect("consumer1", "topic1:0", "consumer2", "topic1:1 topic2:1", "consumer3", ""),
		},
		{
			name:       "C1 testAddRemoveConsumerOneTopic, sticky",
			assignors:  []group.Assignor{group.Sticky()},
			partitions: map[string]int32{"topic": 3},
			members:    []group.Member{owning(member("consumer1", "topic"), "topic:0,1,2"), member("consumer2", "topic")},
			want:       expect("consumer1", "topic:0,1", "consumer2", "topic:2"),
		},
	} {
		for _, a := range tc.assignors {
			t.Run(tc.name+"/"+a.Name(), func(t *testing.T) {
				got, err := a.Assign(tc.members, tc.partitions)
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
			})
		}
	}
}

// TestConformance runs the conformance checker on the built-in
// assignors; -seed replays a failure and -groups runs more groups.
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		a    group.Assignor
		opts assignortest.Options
	}{
		{group.Range(), assignortest.Options{Balance: assignortest.BalancePerTopic}},
		{group.RoundRobin(), assignortest.Options{}},
		{group.Sticky(), assignortest.Options{Sticky: true}},
		{group.CooperativeSticky(), assignortest.Options{Sticky: true}},
	} {
		t.Run(tc.a.Name(), func(t *testing.T) {
			t.Parallel()
			tc.opts.Seed, tc.opts.Groups = *seedFlag, *groupsFlag
			assignortest.Run(t, tc.a, &tc.opts)
		})
	}
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		name     string
		protocol group.RebalanceProtocol
	}{
		{"range", group.Eager},
		{"roundrobin", group.Eager},
		{"sticky", group.Eager},
		{"cooperative-sticky", group.Cooperative},
	} {
		a, ok := group.Lookup(tc.name)
		require.True(t, ok, tc.name)
		assert.Equal(t, tc.name, a.Name())
		assert.Equal(t, tc.protocol, a.Protocol(), tc.name)
	}
	_, ok := group.Lookup("Range")
	assert.False(t, ok, "names are case-sensitive, as Kafka's are")
	_, ok = group.Lookup("")
	assert.False(t, ok)
}

func TestDefaultAssignors(t *testing.T) {
	d := group.DefaultAssignors()
	require.Len(t, d, 2)
	assert.Equal(t, "range", d[0].Name())
	assert.Equal(t, "cooperative-sticky", d[1].Name())
	assert.Equal(t, group.Eager, group.CommonProtocol(d), "Kafka's default list rebalances eagerly")
	d[0] = nil
	assert.NotNil(t, group.DefaultAssignors()[0], "each call returns a new slice")
}

func TestCommonProtocol(t *testing.T) {
	assert.Equal(t, group.Eager, group.CommonProtocol(nil))
	assert.Equal(t, group.Cooperative, group.CommonProtocol([]group.Assignor{group.CooperativeSticky()}))
	assert.Equal(t, group.Eager, group.CommonProtocol([]group.Assignor{group.CooperativeSticky(), group.Sticky()}))
	assert.Equal(t, "eager", group.Eager.String())
	assert.Equal(t, "cooperative", group.Cooperative.String())
	assert.Equal(t, "RebalanceProtocol(7)", group.RebalanceProtocol(7).String())
}

func TestInvalidInput(t *testing.T) {
	parts := map[string]int32{"t": 3}
	for _, tc := range []struct {
		name       string
		members    []group.Member
		partitions map[string]int32
		err        error
		msg        string
	}{
		{"empty id", []group.Member{member("", "t")}, parts, group.ErrInvalidMember, "empty member id"},
		{"duplicate id", []group.Member{member("a", "t"), member("a", "t")}, parts, group.ErrInvalidMember, `duplicate member id "a"`},
		{"duplicate instance", []group.Member{static(member("a", "t"), "i"), static(member("b", "t"), "i")}, parts, group.ErrInvalidMember, `duplicate instance id "i"`},
		{"negative count", []group.Member{member("a", "t")}, map[string]int32{"t": 3, "u": -1, "v": -2}, group.ErrInvalidPartitionCount, `topic "u" has -1 partitions`},
	} {
		for _, a := range []group.Assignor{group.Range(), group.RoundRobin(), group.Sticky(), group.CooperativeSticky()} {
			t.Run(tc.name+"/"+a.Name(), func(t *testing.T) {
				got, err := a.Assign(tc.members, tc.partitions)
				require.ErrorIs(t, err, tc.err)
				assert.Contains(t, err.Error(), tc.msg)
				assert.True(t, strings.HasPrefix(err.Error(), "group: "))
				assert.Nil(t, got)
			})
		}
	}
}

// TestEdgeCases checks inputs every assignor must accept.
func TestEdgeCases(t *testing.T) {
	for _, a := range []group.Assignor{group.Range(), group.RoundRobin(), group.Sticky(), group.CooperativeSticky()} {
		t.Run(a.Name(), func(t *testing.T) {
			got, err := a.Assign(nil, map[string]int32{"t": 3})
			require.NoError(t, err)
			assert.NotNil(t, got)
			assert.Empty(t, got)

			// A member with no (existing) subscription gets an empty
			// entry; topics with no partitions and missing topics are
			// ignored.
			got, err = a.Assign([]group.Member{member("a", "gone", "empty"), member("b", "t", "t")},
				map[string]int32{"t": 2, "empty": 0})
			require.NoError(t, err)
			assert.Equal(t, expect("a", "", "b", "t:0,1"), got)

			// The lists returned do not share room: appending to one
			// does not overwrite another.
			got, err = a.Assign([]group.Member{member("a", "t", "u"), member("b", "t", "u")},
				map[string]int32{"t": 4, "u": 4})
			require.NoError(t, err)
			before := expect("a", "", "b", "")
			for id, l := range got {
				before[id] = tps(format(l))
			}
			for _, l := range got {
				for i := range l {
					l[i].Partitions = append(l[i].Partitions, 99)
				}
			}
			for id, l := range got {
				for i := range l {
					assert.Equal(t, before[id][i].Partitions, l[i].Partitions[:len(l[i].Partitions)-1])
				}
			}
		})
	}
}

// format is the inverse of tps.
func format(list []group.TopicPartitions) string {
	var b strings.Builder
	for i, l := range list {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(l.Topic + ":")
		for j, p := range l.Partitions {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString(strconv.Itoa(int(p)))
		}
	}
	return b.String()
}

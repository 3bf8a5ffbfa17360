package group

import (
	"fmt"
	"slices"
	"strings"
)

// assignInput is the normalized form of an Assign call that the built-in
// assignors share. Partitions are numbered flat: the subscribed topics
// sorted by name, each topic's partitions ascending, so that ascending
// flat numbers are Java's sorted order of TopicPartition and building the
// sorted Assignment is a single pass. Members are numbered in member
// order (compareMembers).
type assignInput struct {
	members     []*Member // in member order; never modified
	topics      []string  // subscribed topics with at least one partition, sorted
	topicOf     []int32   // flat partition -> index into topics
	first       []int32   // topic index -> flat number of its partition 0; one extra entry: the total
	index       map[string]int32
	subs        [][]int32 // member -> sorted indexes of the topics it subscribes to
	subscribers [][]int32 // topic -> indexes of its subscribers, ascending
}

// newAssignInput validates and normalizes the arguments of Assign.
func newAssignInput(members []Member, partitions map[string]int32) (*assignInput, error) {
	var bad []string
	for topic, n := range partitions {
		if n < 0 {
			bad = append(bad, topic)
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return nil, fmt.Errorf("%w: topic %q has %d partitions", ErrInvalidPartitionCount, bad[0], partitions[bad[0]])
	}

	in := &assignInput{members: make([]*Member, len(members))}
	ids := make(map[string]struct{}, len(members))
	for i := range members {
		m := &members[i]
		if m.ID == "" {
			return nil, fmt.Errorf("%w: empty member id", ErrInvalidMember)
		}
		if _, dup := ids[m.ID]; dup {
			return nil, fmt.Errorf("%w: duplicate member id %q", ErrInvalidMember, m.ID)
		}
		ids[m.ID] = struct{}{}
		in.members[i] = m
	}
	slices.SortFunc(in.members, compareMembers)
	for i := 1; i < len(in.members); i++ {
		if id := in.members[i].InstanceID; id != "" && id == in.members[i-1].InstanceID {
			return nil, fmt.Errorf("%w: duplicate instance id %q", ErrInvalidMember, id)
		}
	}

	// The topics that some member subscribes to and that have partitions.
	seen := make(map[string]struct{})
	for _, m := range in.members {
		for _, topic := range m.Topics {
			if partitions[topic] > 0 {
				seen[topic] = struct{}{}
			}
		}
	}
	in.topics = make([]string, 0, len(seen))
	for topic := range seen {
		in.topics = append(in.topics, topic)
	}
	slices.SortFunc(in.topics, strings.Compare)
	in.index = make(map[string]int32, len(in.topics))
	in.first = make([]int32, len(in.topics)+1)
	var total int64
	for t, topic := range in.topics {
		in.index[topic] = int32(t)
		in.first[t] = int32(total)
		total += int64(partitions[topic])
		if total > 1<<31-1 {
			return nil, fmt.Errorf("%w: more than 2^31-1 partitions in all", ErrInvalidPartitionCount)
		}
	}
	in.first[len(in.topics)] = int32(total)
	in.topicOf = make([]int32, total)
	for t := range in.topics {
		for p := in.first[t]; p < in.first[t+1]; p++ {
			in.topicOf[p] = int32(t)
		}
	}

	in.subs = make([][]int32, len(in.members))
	in.subscribers = make([][]int32, len(in.topics))
	for i, m := range in.members {
		var ts []int32
		for _, topic := range m.Topics {
			if t, ok := in.index[topic]; ok {
				ts = append(ts, t)
			}
		}
		slices.Sort(ts)
		ts = slices.Compact(ts)
		in.subs[i] = ts
		for _, t := range ts {
			in.subscribers[t] = append(in.subscribers[t], int32(i))
		}
	}
	return in, nil
}

// numPartitions is the number of flat partitions.
func (in *assignInput) numPartitions() int { return len(in.topicOf) }

// subscribes reports whether member i subscribes to topic t.
func (in *assignInput) subscribes(i int, t int32) bool {
	_, ok := slices.BinarySearch(in.subs[i], t)
	return ok
}

// unowned returns an owner table with every partition unassigned (-1).
func (in *assignInput) unowned() []int32 {
	owner := make([]int32, in.numPartitions())
	for p := range owner {
		owner[p] = -1
	}
	return owner
}

// result builds the Assignment of an owner table (flat partition ->
// member index, -1 for none): one entry per member, lists sorted because
// flat numbers are. All lists share two allocations; each is capped so
// that appending to one cannot overwrite another.
func (in *assignInput) result(owner []int32) Assignment {
	n := make([]int32, len(in.members))       // partitions per member
	ntopics := make([]int32, len(in.members)) // topic entries per member
	last := make([]int32, len(in.members))    // last topic counted per member
	for i := range last {
		last[i] = -1
	}
	var total, totalTopics int
	for p, m := range owner {
		if m < 0 {
			continue
		}
		n[m]++
		total++
		if t := in.topicOf[p]; last[m] != t {
			last[m] = t
			ntopics[m]++
			totalTopics++
		}
	}
	parts := make([]int32, total)
	tps := make([]TopicPartitions, totalTopics)
	lists := make([][]TopicPartitions, len(in.members))
	fill := make([][]int32, len(in.members))
	for m := range in.members {
		if n[m] == 0 {
			continue
		}
		lists[m] = tps[:0:ntopics[m]]
		tps = tps[ntopics[m]:]
		fill[m] = parts[:n[m]:n[m]]
		parts = parts[n[m]:]
	}
	for i := range last {
		last[i] = -1
	}
	for p, m := range owner {
		if m < 0 {
			continue
		}
		t := in.topicOf[p]
		if last[m] != t {
			// Close the previous topic's list at its length and open
			// a new one on the rest of the member's region.
			if k := len(lists[m]); k > 0 {
				prev := &lists[m][k-1]
				prev.Partitions = prev.Partitions[:len(prev.Partitions):len(prev.Partitions)]
			}
			last[m] = t
			lists[m] = append(lists[m], TopicPartitions{Topic: in.topics[t], Partitions: fill[m][:0]})
		}
		cur := &lists[m][len(lists[m])-1]
		cur.Partitions = append(cur.Partitions, int32(p)-in.first[t])
		fill[m] = fill[m][1:]
	}
	a := make(Assignment, len(in.members))
	for i, m := range in.members {
		a[m.ID] = lists[i]
	}
	return a
}

package group

// roundRobinAssignor is Kafka's RoundRobinAssignor (reference 7.3).
type roundRobinAssignor struct{}

// Name returns "roundrobin".
func (roundRobinAssignor) Name() string { return "roundrobin" }

// Protocol returns Eager.
func (roundRobinAssignor) Protocol() RebalanceProtocol { return Eager }

// Assign deals the partitions of all subscribed topics, sorted by topic
// and partition, to the members in member order as Java's
// CircularIterator does: for each partition it skips members not
// subscribed to its topic, assigns, and moves one member on.
func (roundRobinAssignor) Assign(members []Member, partitions map[string]int32) (Assignment, error) {
	in, err := newAssignInput(members, partitions)
	if err != nil {
		return nil, err
	}
	owner := in.unowned()
	cur := 0
	for p, t := range in.topicOf {
		// Some member subscribes to t (newAssignInput keeps only such topics),
		// so this loop ends within one turn.
		for !in.subscribes(cur, t) {
			cur = (cur + 1) % len(in.members)
		}
		owner[p] = int32(cur)
		cur = (cur + 1) % len(in.members)
	}
	return in.result(owner), nil
}

package group

// rangeAssignor is Kafka's RangeAssignor (reference 7.2).
type rangeAssignor struct{}

// Name returns "range".
func (rangeAssignor) Name() string { return "range" }

// Protocol returns Eager.
func (rangeAssignor) Protocol() RebalanceProtocol { return Eager }

// Assign gives each topic's subscribers, in member order, consecutive
// ranges of its partitions: with P partitions and M subscribers the first
// P%M members get P/M+1 partitions and the others P/M.
func (rangeAssignor) Assign(members []Member, partitions map[string]int32) (Assignment, error) {
	in, err := newAssignInput(members, partitions)
	if err != nil {
		return nil, err
	}
	owner := in.unowned()
	for t, subs := range in.subscribers {
		first, end := in.first[t], in.first[t+1]
		n, m := end-first, int32(len(subs))
		q, r := n/m, n%m
		p := first
		for i, member := range subs {
			k := q
			if int32(i) < r {
				k++
			}
			for ; k > 0; k-- {
				owner[p] = member
				p++
			}
		}
	}
	return in.result(owner), nil
}

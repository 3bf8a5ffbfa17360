package group

import "slices"

// withholdMoving removes from the owner table, for this round of the
// cooperative protocol, every partition given to a member that does not
// own it while another member still does (Kafka's adjustAssignment). The
// partition is revoked from its owners in this round and given out in
// the follow-up rebalance. Claims count here whatever their generation or
// subscription: until it revokes a partition, its owner consumes it.
func withholdMoving(in *assignInput, owner []int32) {
	const (
		none  = -1
		multi = -2
	)
	claimer := in.unowned() // flat -> the one member claiming it, none or multi
	var claimers map[int32][]int32
	for i, m := range in.members {
		for _, tp := range m.OwnedPartitions {
			t, ok := in.index[tp.Topic]
			if !ok {
				continue
			}
			first, end := in.first[t], in.first[t+1]
			for _, part := range tp.Partitions {
				if part < 0 || part >= end-first {
					continue
				}
				p := first + part
				switch c := claimer[p]; c {
				case none:
					claimer[p] = int32(i)
				case int32(i):
				case multi:
					if !slices.Contains(claimers[p], int32(i)) {
						claimers[p] = append(claimers[p], int32(i))
					}
				default:
					if claimers == nil {
						claimers = make(map[int32][]int32)
					}
					claimer[p] = multi
					claimers[p] = []int32{c, int32(i)}
				}
			}
		}
	}
	for p, y := range owner {
		switch c := claimer[p]; {
		case y < 0, c == none, c == y:
		case c == multi && slices.Contains(claimers[int32(p)], y):
		default:
			owner[p] = none
		}
	}
}

// CooperativeAdjust turns target, the assignment an eager algorithm
// computed for members, into one round of the cooperative protocol, as
// Kafka's CooperativeStickyAssignor does with its sticky result: assign
// is target without every partition that it gives to a member which does
// not own it (in OwnedPartitions) while another member does. Such a
// partition is revoked from its owners in this round and given to nobody;
// once they have given it up the group rebalances again and it can go to
// its new owner. So no partition is ever added to one member in the round
// that revokes it from another, the rule Java's
// ConsumerCoordinator.validateCooperativeAssignment enforces.
//
// revoked maps each member that must give something up to the partitions
// it owns and assign does not give it, sorted as in an Assignment; it is
// empty when nothing is revoked, and then no follow-up rebalance is
// needed. Members of target not in members keep their lists. Adjusting
// an adjusted assignment changes nothing, so a coordinator may apply it
// to any cooperative assignor's result, CooperativeSticky's included.
// Neither argument is modified; assign shares no memory with target.
func CooperativeAdjust(members []Member, target Assignment) (assign Assignment, revoked map[string][]TopicPartitions) {
	owners := make(map[TopicPartition][]string)
	for _, m := range members {
		for _, o := range m.OwnedPartitions {
			for _, part := range o.Partitions {
				k := TopicPartition{o.Topic, part}
				if !slices.Contains(owners[k], m.ID) {
					owners[k] = append(owners[k], m.ID)
				}
			}
		}
	}
	keep := func(id, topic string, part int32) bool {
		ids := owners[TopicPartition{topic, part}]
		return len(ids) == 0 || slices.Contains(ids, id)
	}
	assign = make(Assignment, len(target))
	for id, list := range target {
		var out []TopicPartitions
		for _, l := range list {
			var parts []int32
			for _, part := range l.Partitions {
				if keep(id, l.Topic, part) {
					parts = append(parts, part)
				}
			}
			if len(parts) > 0 {
				out = append(out, TopicPartitions{Topic: l.Topic, Partitions: parts})
			}
		}
		assign[id] = out
	}
	for _, m := range members {
		has := make(map[TopicPartition]bool)
		for _, l := range assign[m.ID] {
			for _, part := range l.Partitions {
				has[TopicPartition{l.Topic, part}] = true
			}
		}
		var gone []TopicPartition
		for _, o := range m.OwnedPartitions {
			for _, part := range o.Partitions {
				if k := (TopicPartition{o.Topic, part}); !has[k] {
					gone = append(gone, k)
				}
			}
		}
		if len(gone) == 0 {
			continue
		}
		sortTopicPartitions(gone)
		gone = slices.Compact(gone)
		var list []TopicPartitions
		for _, k := range gone {
			if n := len(list); n > 0 && list[n-1].Topic == k.Topic {
				list[n-1].Partitions = append(list[n-1].Partitions, k.Partition)
			} else {
				list = append(list, TopicPartitions{Topic: k.Topic, Partitions: []int32{k.Partition}})
			}
		}
		if revoked == nil {
			revoked = make(map[string][]TopicPartitions)
		}
		revoked[m.ID] = list
	}
	return assign, revoked
}

package group

import "slices"

// stickyAssignor is Kafka's StickyAssignor, or with cooperative set its
// CooperativeStickyAssignor (reference 7.4, 7.5). The algorithm is
// described at CooperativeSticky.
type stickyAssignor struct{ cooperative bool }

// Name returns "sticky" or "cooperative-sticky".
func (a stickyAssignor) Name() string {
	if a.cooperative {
		return "cooperative-sticky"
	}
	return "sticky"
}

// Protocol returns Eager for sticky and Cooperative for
// cooperative-sticky.
func (a stickyAssignor) Protocol() RebalanceProtocol {
	if a.cooperative {
		return Cooperative
	}
	return Eager
}

// Assign computes the sticky assignment; the cooperative variant then
// withholds the partitions that change owner (see CooperativeSticky).
func (a stickyAssignor) Assign(members []Member, partitions map[string]int32) (Assignment, error) {
	in, err := newAssignInput(members, partitions)
	if err != nil {
		return nil, err
	}
	s := newSticky(in, !a.cooperative)
	s.fill()
	s.balance()
	if a.cooperative {
		withholdMoving(in, s.owner)
	}
	return in.result(s.owner), nil
}

// stickyState is the state of one sticky assignment.
type stickyState struct {
	in     *assignInput
	prev   []int32   // flat partition -> its valid previous owner, -1 if none
	owner  []int32   // flat partition -> current owner, -1 if none
	count  []int32   // member -> number of partitions owned
	parts  [][]int32 // member -> flat partitions owned
	sorted []bool    // member -> parts is in sortForMoves order
}

// newSticky reads the members' ownership claims and starts the
// assignment from the valid ones. A claim is valid for a partition that
// exists, of a topic its claimant subscribes to; of several valid claims
// on one partition the highest generation wins, and if two or more
// members share the highest generation none does (KIP-341; Kafka logs
// these as claimed by multiple owners). The result depends on the set of
// claims only, not on the order they are read in. With userData set, a
// member that reports no OwnedPartitions has its UserData decoded as
// StickyAssignorUserData, as the eager Java StickyAssignor does.
func newSticky(in *assignInput, userData bool) *stickyState {
	np := in.numPartitions()
	s := &stickyState{
		in:     in,
		prev:   in.unowned(),
		owner:  in.unowned(),
		count:  make([]int32, len(in.members)),
		parts:  make([][]int32, len(in.members)),
		sorted: make([]bool, len(in.members)),
	}
	gen := make([]int32, np)
	tie := make([]bool, np)
	for i, m := range in.members {
		owned, g := m.OwnedPartitions, m.Generation
		if userData && len(owned) == 0 && len(m.UserData) > 0 {
			if o, dg, err := DecodeStickyUserData(m.UserData); err == nil {
				owned, g = o, dg
			}
			// Java ignores user data it cannot parse; so do we.
		}
		for _, tp := range owned {
			t, ok := in.index[tp.Topic]
			if !ok || !in.subscribes(i, t) {
				continue
			}
			first, end := in.first[t], in.first[t+1]
			for _, part := range tp.Partitions {
				if part < 0 || part >= end-first {
					continue
				}
				p := first + part
				switch best := s.prev[p]; {
				case best == int32(i):
					// Listed twice by the same member.
				case best < 0, g > gen[p]:
					s.prev[p], gen[p], tie[p] = int32(i), g, false
				case g == gen[p]:
					tie[p] = true
				}
			}
		}
	}
	for p, i := range s.prev {
		if tie[p] {
			s.prev[p] = -1
			continue
		}
		if i >= 0 {
			s.add(int32(p), i)
		}
	}
	return s
}

// add makes member m the owner of the unowned partition p.
func (s *stickyState) add(p, m int32) {
	s.owner[p] = m
	s.parts[m] = append(s.parts[m], p)
	s.sorted[m] = false
	s.count[m]++
}

// move gives the i-th partition of member from to member to.
func (s *stickyState) move(from int32, i int, to int32) {
	p := s.parts[from][i]
	s.parts[from] = slices.Delete(s.parts[from], i, i+1)
	s.count[from]--
	s.add(p, to)
}

// sortForMoves sorts the partitions of member x so that the one best
// moved away comes last: partitions x did not own before the rebalance
// (moving them costs no stickiness) after those it did, then ascending
// partition number and topic, so that x keeps its lowest partition
// numbers as Java's trimming does.
func (s *stickyState) sortForMoves(x int32) {
	if s.sorted[x] {
		return
	}
	in := s.in
	slices.SortFunc(s.parts[x], func(a, b int32) int {
		if na, nb := s.prev[a] != x, s.prev[b] != x; na != nb {
			if na {
				return 1
			}
			return -1
		}
		ta, tb := in.topicOf[a], in.topicOf[b]
		if pa, pb := a-in.first[ta], b-in.first[tb]; pa != pb {
			return int(pa - pb)
		}
		return int(ta - tb)
	})
	s.sorted[x] = true
}

// fill hands out every unowned partition: topics with the fewest
// subscribers first (ties by name), each topic's partitions ascending,
// each to its subscriber with the fewest partitions, ties to the first in
// member order. A heap per topic keeps this O(P log M).
func (s *stickyState) fill() {
	in := s.in
	order := make([]int32, len(in.topics))
	for t := range order {
		order[t] = int32(t)
	}
	slices.SortStableFunc(order, func(a, b int32) int {
		return len(in.subscribers[a]) - len(in.subscribers[b])
	})
	var h memberHeap
	for _, t := range order {
		h.reset(s.count, in.subscribers[t])
		for p := in.first[t]; p < in.first[t+1]; p++ {
			if s.owner[p] >= 0 {
				continue
			}
			m := h.min()
			s.add(p, m)
			h.fixMin()
		}
	}
}

// balance moves partitions until no member could take a partition from a
// member that has two or more more: Kafka's definition of balanced
// (reference 7.4). Each step takes a partition from the member with the
// most partitions that has such a move (ties: first in member order),
// the first it can in sortForMoves's order from the end, and gives it to
// the subscriber of its topic with the fewest partitions (ties: first in
// member order). Each step lowers the sum of squared counts, so the loop
// ends; when all members subscribe to the same topics a step costs
// O(M) and the loop makes exactly the moves balance requires.
func (s *stickyState) balance() {
	in := s.in
	minSub := make([]int32, len(in.topics))
	minSubStep := make([]int, len(in.topics)) // step at which minSub[t] was computed, plus one
	var order []int32
	for step := 1; ; step++ {
		lo, hi := int32(-1), int32(-1)
		for i, c := range s.count {
			if len(in.subs[i]) == 0 {
				continue // takes nothing, so does not count
			}
			if lo < 0 || c < lo {
				lo = c
			}
			if c > hi {
				hi = c
			}
		}
		if hi-lo <= 1 {
			return
		}
		// leastLoaded returns topic t's subscriber with the fewest
		// partitions, computed once per step.
		leastLoaded := func(t int32) int32 {
			if minSubStep[t] != step {
				subs := in.subscribers[t]
				best := subs[0]
				for _, m := range subs[1:] {
					if s.count[m] < s.count[best] {
						best = m
					}
				}
				minSub[t], minSubStep[t] = best, step
			}
			return minSub[t]
		}
		order = order[:0]
		for i, c := range s.count {
			if c >= lo+2 {
				order = append(order, int32(i))
			}
		}
		moved := false
		for len(order) > 0 && !moved {
			// The member with the most partitions not tried yet.
			k := 0
			for j, m := range order {
				if s.count[m] > s.count[order[k]] {
					k = j // ties keep the first, the lowest index
				}
			}
			x := order[k]
			order = slices.Delete(order, k, k+1)
			s.sortForMoves(x)
			parts := s.parts[x]
			for i := len(parts) - 1; i >= 0; i-- {
				y := leastLoaded(in.topicOf[parts[i]])
				if y != x && s.count[y] <= s.count[x]-2 {
					s.move(x, i, y)
					moved = true
					break
				}
			}
		}
		if !moved {
			return
		}
	}
}

// memberHeap is a binary min-heap of member indexes ordered by
// (count, index), over the count slice of a stickyState.
type memberHeap struct {
	count []int32
	h     []int32
}

// reset fills the heap with members, whose counts are in count.
func (h *memberHeap) reset(count []int32, members []int32) {
	h.count = count
	h.h = append(h.h[:0], members...)
	for i := len(h.h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// min returns the member with the fewest partitions.
func (h *memberHeap) min() int32 { return h.h[0] }

// fixMin restores the heap after the minimum's count grew.
func (h *memberHeap) fixMin() { h.down(0) }

func (h *memberHeap) less(i, j int) bool {
	a, b := h.h[i], h.h[j]
	if h.count[a] != h.count[b] {
		return h.count[a] < h.count[b]
	}
	return a < b
}

func (h *memberHeap) down(i int) {
	n := len(h.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && h.less(r, l) {
			j = r
		}
		if !h.less(j, i) {
			return
		}
		h.h[i], h.h[j] = h.h[j], h.h[i]
		i = j
	}
}

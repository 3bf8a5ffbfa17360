// Package assignortest checks implementations of group.Assignor against
// the contract of the interface, the way testing/fstest checks an fs.FS.
//
// Check runs an assignor over fixed edge cases and over random groups
// (seeded, so a failure can be replayed) and verifies:
//
//   - every member handed to Assign has an entry and nobody else does; the
//     lists are sorted by topic, partitions ascending, with no empty or
//     repeated entries;
//   - each partition goes to at most one member, only to one subscribed
//     to its topic, never one that does not exist; and to exactly one
//     member once the group has settled;
//   - the output does not depend on the order of the members, of their
//     Topics or of their OwnedPartitions, and the input is not modified;
//   - the balance the assignor promises (Options.Balance);
//   - for a Cooperative assignor: no partition is given to a member in
//     the round it is revoked from another (Kafka's
//     validateCooperativeAssignment), and follow-up rebalances, with each
//     member owning what the previous round gave it, settle within four
//     rounds;
//   - with Options.Sticky, stickiness across generations: reassigning a
//     settled group moves nothing; when all members subscribe to the same
//     topics, members joining and leaving move exactly the fewest
//     partitions a balanced assignment can (so one member joining N
//     members that share P partitions moves at most ceil(P/(N+1))); and
//     Kafka's sticky balance for any subscriptions.
//
// The checker passes previous ownership the way the samsa coordinator
// does: in Member.OwnedPartitions, with the generation that assigned it
// in Member.Generation.
package assignortest

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsalog/samsa/group"
)

// Balance is the balance an assignor promises.
type Balance int

const (
	// BalanceTotal: when all members subscribe to the same topics, their
	// partition counts differ by at most one (RoundRobin, Sticky,
	// CooperativeSticky). The default.
	BalanceTotal Balance = iota
	// BalancePerTopic: each topic's partitions are split among its
	// subscribers with counts that differ by at most one (Range).
	BalancePerTopic
	// BalanceNone checks no balance.
	BalanceNone
)

// Options configures Check and Run; nil means all defaults.
type Options struct {
	// Balance is the balance to check. Default BalanceTotal.
	Balance Balance
	// Sticky also checks stickiness across generations and Kafka's
	// sticky balance (reference 7.4): no member holds two or more
	// partitions more than a member that could take one of them.
	// Default false.
	Sticky bool
	// Seed seeds the random groups; 0 means a seed from the clock. Every
	// error names the seed, and Run logs it, so a failure can be replayed
	// by setting it.
	Seed int64
	// Groups is the number of random groups. Default 200.
	Groups int
}

// maxErrors is how many failures Check collects before it stops.
const maxErrors = 10

// maxRounds is how many rounds a cooperative assignor may take to settle
// a group: the first round revokes, the second assigns what was freed;
// the rest is slack for subscriptions that need moves in chains.
const maxRounds = 4

// Run calls Check and reports its failures as errors of t. It logs the
// seed first.
func Run(t testing.TB, a group.Assignor, opts *Options) {
	t.Helper()
	o := withDefaults(opts)
	t.Logf("assignortest: %s: seed %d", a.Name(), o.Seed)
	if err := Check(a, &o); err != nil {
		for _, e := range unjoin(err) {
			t.Error(e)
		}
	}
}

// Check runs the checks described in the package documentation on a and
// returns what failed, joined (errors.Join), or nil. It stops after ten
// failures.
func Check(a group.Assignor, opts *Options) error {
	o := withDefaults(opts)
	c := &checker{a: a, o: o, rng: rand.New(rand.NewPCG(uint64(o.Seed), 0x5a115a))}
	c.run()
	return errors.Join(c.errs...)
}

func withDefaults(opts *Options) Options {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Seed == 0 {
		o.Seed = time.Now().UnixNano()
	}
	if o.Groups <= 0 {
		o.Groups = 200
	}
	return o
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// errStop ends a run once maxErrors failures are collected.
var errStop = errors.New("assignortest: too many failures")

type checker struct {
	a    group.Assignor
	o    Options
	rng  *rand.Rand
	errs []error
	name string // the case being checked, for messages
}

func (c *checker) failf(format string, args ...any) {
	if len(c.errs) >= maxErrors {
		panic(errStop)
	}
	c.errs = append(c.errs, fmt.Errorf("assignortest: %s (seed %d) %s: %s", c.a.Name(), c.o.Seed, c.name, fmt.Sprintf(format, args...)))
	if len(c.errs) >= maxErrors {
		panic(errStop)
	}
}

func (c *checker) run() {
	defer func() {
		if r := recover(); r != nil && r != errStop {
			panic(r)
		}
	}()
	c.name = "interface"
	if c.a.Name() == "" {
		c.failf("Name is empty")
	}
	if p := c.a.Protocol(); p != group.Eager && p != group.Cooperative {
		c.failf("Protocol returns %v", p)
	}
	for _, fc := range fixedCases() {
		c.name = "case " + fc.name
		c.group(fc.members, fc.partitions)
	}
	for i := range c.o.Groups {
		c.name = fmt.Sprintf("random group %d", i)
		members, partitions := c.randomGroup()
		c.group(members, partitions)
	}
	if c.o.Sticky {
		for i := range c.o.Groups / 4 {
			c.name = fmt.Sprintf("generations %d", i)
			c.generations()
		}
	}
	for i := range c.o.Groups / 4 {
		c.name = fmt.Sprintf("random ownership %d", i)
		c.randomOwnership()
	}
}

type fixedCase struct {
	name       string
	members    []group.Member
	partitions map[string]int32
}

func fixedCases() []fixedCase {
	sub := func(id string, topics ...string) group.Member { return group.Member{ID: id, Topics: topics} }
	return []fixedCase{
		{"no members", nil, map[string]int32{"t": 3}},
		{"no topics", []group.Member{sub("a", "t")}, nil},
		{"no subscriptions", []group.Member{sub("a"), sub("b")}, map[string]int32{"t": 3}},
		{"missing topic", []group.Member{sub("a", "gone"), sub("b", "t", "gone")}, map[string]int32{"t": 3}},
		{"empty topic", []group.Member{sub("a", "t", "u"), sub("b", "t")}, map[string]int32{"t": 0, "u": 2}},
		{"one member", []group.Member{sub("a", "t", "u")}, map[string]int32{"t": 3, "u": 1}},
		{"more members than partitions", []group.Member{sub("a", "t"), sub("b", "t"), sub("c", "t"), sub("d", "t")}, map[string]int32{"t": 2}},
		{"duplicate subscription", []group.Member{sub("a", "t", "t"), sub("b", "t")}, map[string]int32{"t": 5}},
		{"static and dynamic", []group.Member{
			{ID: "z", InstanceID: "i1", Topics: []string{"t", "u"}},
			{ID: "a", Topics: []string{"t", "u"}},
			{ID: "y", InstanceID: "i0", Topics: []string{"t", "u"}},
		}, map[string]int32{"t": 7, "u": 5}},
		{"many partitions", []group.Member{sub("a", "t"), sub("b", "t"), sub("c", "t")}, map[string]int32{"t": 100}},
	}
}

// randomGroup returns a group with random members, topics and
// subscriptions; half the time all members subscribe to the same topics.
func (c *checker) randomGroup() ([]group.Member, map[string]int32) {
	r := c.rng
	partitions := make(map[string]int32)
	topics := make([]string, 1+r.IntN(5))
	for i := range topics {
		topics[i] = fmt.Sprintf("t%d", i)
		switch r.IntN(8) {
		case 0:
			partitions[topics[i]] = 0
		case 1:
			// Subscribed but missing from metadata.
		default:
			partitions[topics[i]] = int32(1 + r.IntN(24))
		}
	}
	same := r.IntN(2) == 0
	shared := randomSubset(r, topics)
	n := r.IntN(11)
	members := make([]group.Member, n)
	for i := range members {
		m := &members[i]
		m.ID = fmt.Sprintf("m%03d-%x", r.IntN(1000), r.Uint32())
		if r.IntN(4) == 0 {
			m.InstanceID = fmt.Sprintf("i%02d", i)
		}
		if same {
			m.Topics = slices.Clone(shared)
		} else {
			m.Topics = randomSubset(r, topics)
		}
	}
	return members, partitions
}

func randomSubset(r *rand.Rand, topics []string) []string {
	var out []string
	for _, t := range topics {
		if r.IntN(3) != 0 {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		out = append(out, topics[r.IntN(len(topics))])
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// group checks one group with no previous ownership, and then that
// reassigning it with the result as ownership settles (for a sticky
// assignor, without moving anything).
func (c *checker) group(members []group.Member, partitions map[string]int32) {
	final, ok := c.settle(members, partitions)
	if !ok {
		return
	}
	c.balance(members, partitions, final)
	if len(members) == 0 {
		return
	}
	next := withOwnership(members, final, 1)
	again, ok := c.settle(next, partitions)
	if !ok {
		return
	}
	if c.o.Sticky {
		if moved := moves(final, again); moved > 0 {
			c.failf("reassigning a settled group moved %d partitions\nmembers: %s\nbefore: %v\nafter:  %v", moved, describe(next), final, again)
		}
	}
}

// settle assigns members until nothing is revoked (at once for an eager
// assignor) and returns the settled assignment, checked for completeness.
func (c *checker) settle(members []group.Member, partitions map[string]int32) (group.Assignment, bool) {
	gen := int32(0)
	for _, m := range members {
		gen = max(gen, m.Generation)
	}
	for round := 1; ; round++ {
		a, ok := c.assign(members, partitions)
		if !ok {
			return nil, false
		}
		revoked := false
		for _, m := range members {
			if len(difference(m.OwnedPartitions, a[m.ID])) > 0 {
				revoked = true
				break
			}
		}
		if !revoked || c.a.Protocol() == group.Eager {
			if !c.complete(members, partitions, a) {
				return nil, false
			}
			return a, true
		}
		if round == maxRounds {
			c.failf("still revoking partitions after %d rounds\nmembers: %s\nlast: %v", maxRounds, describe(members), a)
			return nil, false
		}
		gen++
		members = withOwnership(members, a, gen)
	}
}

// assign calls Assign and checks everything that must hold of any one
// round: validity, determinism, an unmodified input and, for a
// cooperative assignor, that nothing moves in the round it is revoked.
func (c *checker) assign(members []group.Member, partitions map[string]int32) (group.Assignment, bool) {
	in, inParts := cloneMembers(members), maps.Clone(partitions)
	a, err := c.a.Assign(in, inParts)
	if err != nil {
		c.failf("Assign: %v\nmembers: %s", err, describe(members))
		return nil, false
	}
	if !reflect.DeepEqual(in, members) || !reflect.DeepEqual(inParts, partitions) {
		c.failf("Assign modified its input\nmembers: %s\nafter:   %s", describe(members), describe(in))
		return nil, false
	}
	if !c.valid(members, partitions, a) {
		return nil, false
	}
	if c.a.Protocol() == group.Cooperative && !c.cooperative(members, a) {
		return nil, false
	}
	// Same input in another order: same output.
	for range 2 {
		shuffled := cloneMembers(members)
		c.rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for i := range shuffled {
			m := &shuffled[i]
			c.rng.Shuffle(len(m.Topics), func(i, j int) { m.Topics[i], m.Topics[j] = m.Topics[j], m.Topics[i] })
			c.rng.Shuffle(len(m.OwnedPartitions), func(i, j int) {
				m.OwnedPartitions[i], m.OwnedPartitions[j] = m.OwnedPartitions[j], m.OwnedPartitions[i]
			})
			for _, tp := range m.OwnedPartitions {
				c.rng.Shuffle(len(tp.Partitions), func(i, j int) { tp.Partitions[i], tp.Partitions[j] = tp.Partitions[j], tp.Partitions[i] })
			}
		}
		b, err := c.a.Assign(shuffled, maps.Clone(partitions))
		if err != nil {
			c.failf("Assign of the same group in another order: %v\nmembers: %s", err, describe(shuffled))
			return nil, false
		}
		if !equal(a, b) {
			c.failf("not deterministic: the same group in another order got another assignment\nmembers:  %s\nfirst:    %v\nshuffled: %s\nsecond:   %v", describe(members), a, describe(shuffled), b)
			return nil, false
		}
	}
	return a, true
}

// valid checks the shape of a and that it gives partitions only to
// subscribers, each at most once.
func (c *checker) valid(members []group.Member, partitions map[string]int32, a group.Assignment) bool {
	ok := true
	ids := make(map[string]group.Member, len(members))
	for _, m := range members {
		ids[m.ID] = m
		if _, has := a[m.ID]; !has {
			c.failf("member %q has no entry in the assignment %v\nmembers: %s", m.ID, a, describe(members))
			ok = false
		}
	}
	owner := make(map[group.TopicPartition]string)
	for _, id := range sortedKeys(a) {
		m, known := ids[id]
		if !known {
			c.failf("assignment names %q, which is not a member\nmembers: %s", id, describe(members))
			ok = false
			continue
		}
		list := a[id]
		for i, l := range list {
			if i > 0 && list[i-1].Topic >= l.Topic {
				c.failf("member %q: topics not sorted or repeated: %v", id, list)
				ok = false
			}
			if len(l.Partitions) == 0 {
				c.failf("member %q: empty entry for topic %q", id, l.Topic)
				ok = false
			}
			if !slices.Contains(m.Topics, l.Topic) {
				c.failf("member %q gets %v of topic %q, to which it does not subscribe (topics %q)", id, l.Partitions, l.Topic, m.Topics)
				ok = false
			}
			n, exists := partitions[l.Topic]
			for j, p := range l.Partitions {
				if j > 0 && l.Partitions[j-1] >= p {
					c.failf("member %q: partitions of %q not sorted or repeated: %v", id, l.Topic, l.Partitions)
					ok = false
				}
				if !exists || p < 0 || p >= n {
					c.failf("member %q gets %s-%d, which does not exist", id, l.Topic, p)
					ok = false
					continue
				}
				k := group.TopicPartition{Topic: l.Topic, Partition: p}
				if prev, dup := owner[k]; dup && prev != id {
					c.failf("%s-%d is assigned to both %q and %q\nmembers: %s", l.Topic, p, prev, id, describe(members))
					ok = false
				}
				owner[k] = id
			}
		}
	}
	return ok
}

// complete checks that every partition of every subscribed topic is
// assigned.
func (c *checker) complete(members []group.Member, partitions map[string]int32, a group.Assignment) bool {
	got := make(map[group.TopicPartition]bool)
	for _, list := range a {
		for _, l := range list {
			for _, p := range l.Partitions {
				got[group.TopicPartition{Topic: l.Topic, Partition: p}] = true
			}
		}
	}
	var missing []string
	for _, topic := range subscribed(members, partitions) {
		for p := range partitions[topic] {
			if !got[group.TopicPartition{Topic: topic, Partition: p}] {
				missing = append(missing, fmt.Sprintf("%s-%d", topic, p))
			}
		}
	}
	if len(missing) > 0 {
		c.failf("partitions assigned to nobody: %v\nmembers: %s\nassignment: %v", missing, describe(members), a)
		return false
	}
	return true
}

// cooperative checks that no partition is added to a member while
// another member that owns it is revoking it.
func (c *checker) cooperative(members []group.Member, a group.Assignment) bool {
	revokedBy := make(map[group.TopicPartition]string)
	for _, m := range members {
		for _, k := range difference(m.OwnedPartitions, a[m.ID]) {
			revokedBy[k] = m.ID
		}
	}
	ok := true
	for _, m := range members {
		for _, k := range difference(a[m.ID], m.OwnedPartitions) {
			if from, revoked := revokedBy[k]; revoked {
				c.failf("%s-%d is given to %q in the round it is revoked from %q\nmembers: %s\nassignment: %v", k.Topic, k.Partition, m.ID, from, describe(members), a)
				ok = false
			}
		}
	}
	return ok
}

// balance checks the promised balance of a settled assignment.
func (c *checker) balance(members []group.Member, partitions map[string]int32, a group.Assignment) {
	if len(members) == 0 {
		return
	}
	count := func(id string) int {
		n := 0
		for _, l := range a[id] {
			n += len(l.Partitions)
		}
		return n
	}
	switch c.o.Balance {
	case BalanceTotal:
		if !sameSubscriptions(members, partitions) {
			break
		}
		lo, hi := count(members[0].ID), count(members[0].ID)
		for _, m := range members {
			lo, hi = min(lo, count(m.ID)), max(hi, count(m.ID))
		}
		if hi-lo > 1 {
			c.failf("members subscribing to the same topics hold between %d and %d partitions\nmembers: %s\nassignment: %v", lo, hi, describe(members), a)
		}
	case BalancePerTopic:
		for _, topic := range subscribed(members, partitions) {
			lo, hi := -1, -1
			for _, m := range members {
				if !slices.Contains(m.Topics, topic) {
					continue
				}
				n := 0
				for _, l := range a[m.ID] {
					if l.Topic == topic {
						n = len(l.Partitions)
					}
				}
				if lo < 0 || n < lo {
					lo = n
				}
				hi = max(hi, n)
			}
			if hi-lo > 1 {
				c.failf("subscribers of %q hold between %d and %d of its partitions\nmembers: %s\nassignment: %v", topic, lo, hi, describe(members), a)
			}
		}
	}
	if !c.o.Sticky {
		return
	}
	for _, x := range members {
		for _, y := range members {
			if count(x.ID) < count(y.ID)+2 {
				continue
			}
			for _, l := range a[x.ID] {
				if slices.Contains(y.Topics, l.Topic) {
					c.failf("not balanced: %q holds %d partitions, %q holds %d and could take %s-%d\nmembers: %s\nassignment: %v",
						x.ID, count(x.ID), y.ID, count(y.ID), l.Topic, l.Partitions[0], describe(members), a)
					return
				}
			}
		}
	}
}

// generations runs a group of members sharing their subscriptions
// through random joins and leaves, checking after each that exactly the
// fewest possible partitions moved.
func (c *checker) generations() {
	r := c.rng
	partitions := map[string]int32{}
	var topics []string
	for i := range 1 + r.IntN(4) {
		topic := fmt.Sprintf("t%d", i)
		topics = append(topics, topic)
		partitions[topic] = int32(1 + r.IntN(30))
	}
	next := 0
	newMember := func() group.Member {
		next++
		return group.Member{ID: fmt.Sprintf("m%03d", next), Topics: slices.Clone(topics)}
	}
	members := []group.Member{newMember()}
	for range 1 + r.IntN(3) {
		members = append(members, newMember())
	}
	prev, ok := c.settle(members, partitions)
	if !ok {
		return
	}
	for gen := int32(1); gen <= 8; gen++ {
		members = withOwnership(members, prev, gen*maxRounds)
		event := "no change"
		switch k := r.IntN(5); {
		case k < 2 || len(members) == 1:
			members = append(members, newMember())
			event = "one joins"
		case k < 4:
			i := r.IntN(len(members))
			event = fmt.Sprintf("%q leaves", members[i].ID)
			members = slices.Delete(members, i, i+1)
		default:
			if len(members) > 2 {
				i := r.IntN(len(members))
				members = slices.Delete(members, i, i+1)
			}
			members = append(members, newMember(), newMember())
			event = "churn"
		}
		final, ok := c.settle(members, partitions)
		if !ok {
			return
		}
		c.balance(members, partitions, final)
		moved := moves(prev, final)
		if least := fewestMoves(members, partitions); moved != least {
			c.failf("generation %d (%s): %d partitions moved, the fewest possible is %d\nmembers: %s\nbefore: %v\nafter:  %v",
				gen, event, moved, least, describe(members), prev, final)
			return
		}
		prev = final
	}
}

// fewestMoves returns how few of the partitions owned by members must
// move for a balanced assignment when all members subscribe to the same
// topics: the P%M larger quotas go to the members that own most.
func fewestMoves(members []group.Member, partitions map[string]int32) int {
	total := 0
	for _, topic := range subscribed(members, partitions) {
		total += int(partitions[topic])
	}
	owned := make([]int, len(members))
	sum := 0
	for i, m := range members {
		for _, l := range m.OwnedPartitions {
			owned[i] += len(l.Partitions)
		}
		sum += owned[i]
	}
	slices.SortFunc(owned, func(a, b int) int { return b - a })
	q, extra := total/len(members), total%len(members)
	kept := 0
	for i, n := range owned {
		quota := q
		if i < extra {
			quota++
		}
		kept += min(n, quota)
	}
	return sum - kept
}

// randomOwnership gives members random, possibly stale, conflicting or
// invalid ownership claims and checks that every round stays valid (and
// safe, for a cooperative assignor) and that the group settles.
func (c *checker) randomOwnership() {
	members, partitions := c.randomGroup()
	r := c.rng
	var topics []string
	for t := range partitions {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	topics = append(topics, "unknown")
	for i := range members {
		m := &members[i]
		m.Generation = int32(r.IntN(3))
		for _, t := range topics {
			if r.IntN(2) == 0 {
				continue
			}
			var ps []int32
			for p := range partitions[t] + 2 {
				if r.IntN(3) == 0 {
					ps = append(ps, p-1)
				}
			}
			if len(ps) > 0 {
				m.OwnedPartitions = append(m.OwnedPartitions, group.TopicPartitions{Topic: t, Partitions: ps})
			}
		}
	}
	c.settle(members, partitions)
}

// difference returns the partitions of a that are not in b.
func difference(a, b []group.TopicPartitions) []group.TopicPartition {
	in := make(map[group.TopicPartition]bool)
	for _, l := range b {
		for _, p := range l.Partitions {
			in[group.TopicPartition{Topic: l.Topic, Partition: p}] = true
		}
	}
	var out []group.TopicPartition
	for _, l := range a {
		for _, p := range l.Partitions {
			if k := (group.TopicPartition{Topic: l.Topic, Partition: p}); !in[k] {
				out = append(out, k)
				in[k] = true
			}
		}
	}
	return out
}

// moves counts the partitions that before gave to a member still in
// after and that after gives to someone else.
func moves(before, after group.Assignment) int {
	n := 0
	for id, list := range before {
		now, present := after[id]
		if !present {
			continue
		}
		n += len(difference(list, now))
	}
	return n
}

// withOwnership returns members owning what a gave them in generation
// gen.
func withOwnership(members []group.Member, a group.Assignment, gen int32) []group.Member {
	out := cloneMembers(members)
	for i := range out {
		out[i].OwnedPartitions = cloneList(a[out[i].ID])
		out[i].Generation = gen
	}
	return out
}

// subscribed returns the sorted topics with partitions that some member
// subscribes to.
func subscribed(members []group.Member, partitions map[string]int32) []string {
	var out []string
	for _, m := range members {
		for _, t := range m.Topics {
			if partitions[t] > 0 && !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	slices.Sort(out)
	return out
}

// sameSubscriptions reports whether all members subscribe to the same
// topics that have partitions.
func sameSubscriptions(members []group.Member, partitions map[string]int32) bool {
	key := func(m group.Member) string { return strings.Join(subscribed([]group.Member{m}, partitions), ",") }
	for _, m := range members[1:] {
		if key(m) != key(members[0]) {
			return false
		}
	}
	return true
}

// equal compares assignments, an empty list equal to a nil one.
func equal(a, b group.Assignment) bool {
	if len(a) != len(b) {
		return false
	}
	for id, l := range a {
		m, ok := b[id]
		if !ok || len(l) != len(m) {
			return false
		}
		for i := range l {
			if l[i].Topic != m[i].Topic || !slices.Equal(l[i].Partitions, m[i].Partitions) {
				return false
			}
		}
	}
	return true
}

func cloneMembers(members []group.Member) []group.Member {
	if members == nil {
		return nil
	}
	out := make([]group.Member, len(members))
	for i, m := range members {
		m.Topics = slices.Clone(m.Topics)
		m.UserData = slices.Clone(m.UserData)
		m.OwnedPartitions = cloneList(m.OwnedPartitions)
		out[i] = m
	}
	return out
}

func cloneList(list []group.TopicPartitions) []group.TopicPartitions {
	if list == nil {
		return nil
	}
	out := make([]group.TopicPartitions, len(list))
	for i, l := range list {
		out[i] = group.TopicPartitions{Topic: l.Topic, Partitions: slices.Clone(l.Partitions)}
	}
	return out
}

func sortedKeys(a group.Assignment) []string {
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp.Compare)
	return keys
}

// describe prints members compactly for failure messages.
func describe(members []group.Member) string {
	var b strings.Builder
	b.WriteString("[")
	for i, m := range members {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "{%s", m.ID)
		if m.InstanceID != "" {
			fmt.Fprintf(&b, " instance=%s", m.InstanceID)
		}
		fmt.Fprintf(&b, " topics=%v", m.Topics)
		if len(m.OwnedPartitions) > 0 {
			fmt.Fprintf(&b, " owned=%v gen=%d", m.OwnedPartitions, m.Generation)
		}
		b.WriteString("}")
	}
	b.WriteString("]")
	return b.String()
}

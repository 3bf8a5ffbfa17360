package assignortest_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/samsalog/samsa/group"
	"github.com/samsalog/samsa/group/assignortest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeTB records what Run reports instead of failing the test.
type fakeTB struct {
	testing.TB
	errors []string
	logs   []string
}

func (f *fakeTB) Helper()                   {}
func (f *fakeTB) Error(args ...any)         { f.errors = append(f.errors, fmt.Sprint(args...)) }
func (f *fakeTB) Errorf(s string, a ...any) { f.errors = append(f.errors, fmt.Sprintf(s, a...)) }
func (f *fakeTB) Log(args ...any)           { f.logs = append(f.logs, fmt.Sprint(args...)) }
func (f *fakeTB) Logf(s string, a ...any)   { f.logs = append(f.logs, fmt.Sprintf(s, a...)) }

// funcAssignor adapts a function to group.Assignor.
type funcAssignor struct {
	name     string
	protocol group.RebalanceProtocol
	assign   func([]group.Member, map[string]int32) (group.Assignment, error)
}

func (f funcAssignor) Name() string                      { return f.name }
func (f funcAssignor) Protocol() group.RebalanceProtocol { return f.protocol }
func (f funcAssignor) Assign(m []group.Member, p map[string]int32) (group.Assignment, error) {
	return f.assign(m, p)
}

// wrap returns an assignor that post-processes a's output.
func wrap(name string, a group.Assignor, fix func(members []group.Member, out group.Assignment) group.Assignment) group.Assignor {
	return funcAssignor{name: name, protocol: a.Protocol(), assign: func(m []group.Member, p map[string]int32) (group.Assignment, error) {
		out, err := a.Assign(m, p)
		if err != nil {
			return nil, err
		}
		return fix(m, out), nil
	}}
}

// firstWithPartitions returns the sorted ID of the first member that was
// assigned something, or "".
func firstWithPartitions(out group.Assignment) string {
	var ids []string
	for id, l := range out {
		if len(l) > 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// TestBroken proves that Check catches each kind of broken assignor.
func TestBroken(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    group.Assignor
		opts assignortest.Options
		want string
	}{
		{
			name: "duplicate",
			a: wrap("dup", group.RoundRobin(), func(m []group.Member, out group.Assignment) group.Assignment {
				// Give the first member's first partition to every member.
				id := firstWithPartitions(out)
				if id == "" {
					return out
				}
				first := group.TopicPartitions{Topic: out[id][0].Topic, Partitions: out[id][0].Partitions[:1]}
				for _, member := range m {
					if member.ID != id && len(out[member.ID]) == 0 && slices.Contains(member.Topics, first.Topic) {
						out[member.ID] = []group.TopicPartitions{first}
					}
				}
				return out
			}),
			want: "is assigned to both",
		},
		{
			name: "non-subscriber",
			a: funcAssignor{name: "all-to-one", assign: func(m []group.Member, p map[string]int32) (group.Assignment, error) {
				out := make(group.Assignment)
				var topics []string
				for topic := range p {
					topics = append(topics, topic)
				}
				slices.Sort(topics)
				for i, member := range m {
					out[member.ID] = nil
					if i > 0 {
						continue
					}
					for _, topic := range topics {
						if n := p[topic]; n > 0 {
							l := group.TopicPartitions{Topic: topic}
							for part := range n {
								l.Partitions = append(l.Partitions, part)
							}
							out[member.ID] = append(out[member.ID], l)
						}
					}
				}
				return out, nil
			}},
			want: "to which it does not subscribe",
		},
		{
			name: "missing partition",
			a: wrap("drop-last", group.RoundRobin(), func(_ []group.Member, out group.Assignment) group.Assignment {
				if id := firstWithPartitions(out); id != "" {
					l := out[id]
					last := &l[len(l)-1]
					last.Partitions = last.Partitions[:len(last.Partitions)-1]
					if len(last.Partitions) == 0 {
						out[id] = l[:len(l)-1]
					}
				}
				return out
			}),
			want: "assigned to nobody",
		},
		{
			name: "order dependent",
			a: funcAssignor{name: "slice-order", assign: func(m []group.Member, p map[string]int32) (group.Assignment, error) {
				// Round robin over the members as given, without sorting.
				renamed := slices.Clone(m)
				for i := range renamed {
					renamed[i].ID = fmt.Sprintf("%06d", i)
				}
				out, err := group.RoundRobin().Assign(renamed, p)
				if err != nil {
					return nil, err
				}
				real := make(group.Assignment)
				for i := range m {
					real[m[i].ID] = out[renamed[i].ID]
				}
				return real, nil
			}},
			want: "not deterministic",
		},
		{
			name: "unbalanced",
			a:    group.Range(), // balanced per topic only
			opts: assignortest.Options{Balance: assignortest.BalanceTotal},
			want: "members subscribing to the same topics hold between",
		},
		{
			name: "not sticky",
			a: funcAssignor{name: "forgets-ownership", assign: func(m []group.Member, p map[string]int32) (group.Assignment, error) {
				// Balanced as Sticky is, but always from scratch.
				fresh := slices.Clone(m)
				for i := range fresh {
					fresh[i].OwnedPartitions = nil
				}
				return group.Sticky().Assign(fresh, p)
			}},
			opts: assignortest.Options{Sticky: true},
			want: "partitions moved, the fewest possible is",
		},
		{
			name: "cooperative without revoking first",
			a:    funcAssignor{name: "eager-as-cooperative", protocol: group.Cooperative, assign: group.Sticky().Assign},
			want: "in the round it is revoked from",
		},
		{
			name: "modifies input",
			a: funcAssignor{name: "sorts-topics", assign: func(m []group.Member, p map[string]int32) (group.Assignment, error) {
				for _, member := range m {
					slices.Sort(member.Topics)
				}
				return group.RoundRobin().Assign(m, p)
			}},
			want: "modified its input",
		},
		{
			name: "unsorted",
			a: wrap("reversed", group.Range(), func(_ []group.Member, out group.Assignment) group.Assignment {
				for _, l := range out {
					slices.Reverse(l)
					for _, tp := range l {
						slices.Reverse(tp.Partitions)
					}
				}
				return out
			}),
			opts: assignortest.Options{Balance: assignortest.BalancePerTopic},
			want: "not sorted or repeated",
		},
		{
			name: "missing member",
			a: wrap("drops-empty", group.Range(), func(_ []group.Member, out group.Assignment) group.Assignment {
				for id, l := range out {
					if len(l) == 0 {
						delete(out, id)
					}
				}
				return out
			}),
			opts: assignortest.Options{Balance: assignortest.BalancePerTopic},
			want: "has no entry in the assignment",
		},
		{
			name: "error",
			a: funcAssignor{name: "fails", assign: func([]group.Member, map[string]int32) (group.Assignment, error) {
				return nil, errors.New("boom")
			}},
			want: "Assign: boom",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Seed = 1
			err := assignortest.Check(tc.a, &tc.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "(seed 1)")

			// Run reports the same failures through t.
			f := &fakeTB{TB: t}
			assignortest.Run(f, tc.a, &tc.opts)
			require.NotEmpty(t, f.errors)
			assert.Contains(t, strings.Join(f.errors, "\n"), tc.want)
			require.NotEmpty(t, f.logs)
			assert.Contains(t, f.logs[0], "seed 1")
		})
	}
}

// TestCheckStops checks that a hopeless assignor yields a bounded report.
func TestCheckStops(t *testing.T) {
	a := funcAssignor{name: "nothing", assign: func([]group.Member, map[string]int32) (group.Assignment, error) {
		return group.Assignment{"nobody": nil}, nil
	}}
	err := assignortest.Check(a, &assignortest.Options{Seed: 1})
	require.Error(t, err)
	assert.LessOrEqual(t, strings.Count(err.Error(), "assignortest: nothing"), 10)
}

// TestRunPasses checks that Run reports nothing for a correct assignor
// and that a nil Options works.
func TestRunPasses(t *testing.T) {
	f := &fakeTB{TB: t}
	assignortest.Run(f, group.RoundRobin(), nil)
	assert.Empty(t, f.errors)
	require.Len(t, f.logs, 1)
	assert.Contains(t, f.logs[0], "assignortest: roundrobin: seed ")
}

package samsatest

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/consumer"
)

// WaitCommitted waits until the consumer group has committed, for every
// partition of topic, the partition's high watermark; see
// Options.WaitCommitted.
func WaitCommitted(t testing.TB, b *samsa.Broker, group, topic string) {
	t.Helper()
	Options{}.WaitCommitted(t, b, group, topic)
}

// WaitCommitted waits until the consumer group has committed, for every
// partition of topic, the partition's high watermark (its lag is zero): the
// code under test has processed every record of topic produced so far, if it
// commits after processing. Then what it wrote is complete, and an Expect of
// its output, even of no records, tells. It stops the test with the group's
// lag per partition if that does not happen within o.Timeout.
func (o Options) WaitCommitted(t testing.TB, b *samsa.Broker, group, topic string) {
	t.Helper()
	begin := time.Now()
	deadline := begin.Add(o.timeout())
	var (
		lag   map[consumer.TopicPartition]consumer.PartitionLag
		total int64
		err   error
	)
	for {
		lag, total, err = consumer.GroupLag(b, group, topic)
		if err == nil && total == 0 {
			return
		}
		if errors.Is(err, samsa.ErrClosed) || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	waited := time.Since(begin).Round(time.Millisecond)
	if err != nil {
		t.Fatalf("samsatest: group %q on topic %q: waited %v for its lag to reach zero: %v", group, topic, waited, err)
	}
	var sb strings.Builder
	for _, tp := range slices.SortedFunc(maps.Keys(lag), func(a, b consumer.TopicPartition) int {
		return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	}) {
		l := lag[tp]
		if l.Lag != 0 {
			fmt.Fprintf(&sb, "\n  %s: committed %d, high watermark %d, lag %d", tp, l.Committed, l.HighWatermark, l.Lag)
		}
	}
	t.Fatalf("samsatest: group %q on topic %q: lag %d after %v, want 0:%s", group, topic, total, waited, sb.String())
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/consumer"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEventStore(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, run(dir, 500, 5, &out))
	require.Contains(t, out.String(), "replayed 0 events of 0 accounts")
	checkBalances(t, dir, out.String())

	// A second run starts from the first one's accounts.
	out.Reset()
	require.NoError(t, run(dir, 300, 5, &out))
	require.Regexp(t, `replayed [1-9]\d* events of 5 accounts`, out.String())
	checkBalances(t, dir, out.String())
}

func TestEventStoreTempDir(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run("", 50, 3, &out))
	require.Contains(t, out.String(), "reopened: replaying")
}

// checkBalances compares the balances the program printed with a model: the
// events read back from the directory, summed here independently of the
// program's code. No balance may have gone below zero at any point.
func checkBalances(t *testing.T, dir, output string) {
	t.Helper()
	b, err := samsa.Open(dir, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close()) }()
	c, err := consumer.New(b, &consumer.Config{AutoOffsetReset: consumer.OffsetResetEarliest})
	require.NoError(t, err)
	defer c.Close()
	d, err := b.DescribeTopic(topic)
	require.NoError(t, err)
	var tps []consumer.TopicPartition
	var total int64
	for _, pd := range d.PartitionDetails {
		tps = append(tps, consumer.TopicPartition{Topic: topic, Partition: pd.Partition})
		total += pd.LogEndOffset
	}
	require.NoError(t, c.Assign(tps))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	model := map[string]int64{}
	for n := int64(0); n < total; {
		recs, err := c.Poll(ctx)
		require.NoError(t, err)
		for _, r := range recs { // in order per partition, so per account
			var e struct {
				Type   string
				Amount int64
			}
			require.NoError(t, json.Unmarshal(r.Value, &e))
			switch e.Type {
			case "deposit":
				model[string(r.Key)] += e.Amount
			case "withdraw":
				model[string(r.Key)] -= e.Amount
			default:
				t.Fatalf("event %s: type %q", r.Value, e.Type)
			}
			require.GreaterOrEqual(t, model[string(r.Key)], int64(0), "account %s below zero at offset %d", r.Key, r.Offset)
		}
		n += int64(len(recs))
	}

	printed := map[string]int64{}
	for _, m := range regexp.MustCompile(`(?m)^  (acct-\d+) +(-?\d+)\.(\d\d)$`).FindAllStringSubmatch(output, -1) {
		units, _ := strconv.ParseInt(m[2], 10, 64)
		cents, _ := strconv.ParseInt(m[3], 10, 64)
		printed[m[1]] = units*100 + cents
	}
	require.Equal(t, model, printed, "balances printed vs the events on disk:\n%s", output)
}

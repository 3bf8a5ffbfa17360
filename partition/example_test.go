package partition_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/samsalog/samsa/partition"
	"github.com/samsalog/samsa/record"
)

func Example() {
	dir, _ := os.MkdirTemp("", "partition-example")
	defer os.RemoveAll(dir)

	p, err := partition.Open(filepath.Join(dir, "orders-0"), "orders", 0, nil)
	if err != nil {
		panic(err)
	}
	defer p.Close()

	// A producer's batch: encoded once, validated and appended.
	var enc record.Encoder
	batch, _ := enc.AppendBatch(nil, []record.Record{
		{Key: []byte("k"), Value: []byte("hello"), Timestamp: time.UnixMilli(1000)},
		{Key: []byte("k"), Value: []byte("world"), Timestamp: time.UnixMilli(1001)},
	}, record.BatchOptions{LeaderEpoch: record.NoLeaderEpoch})
	res, err := p.Append(batch)
	if err != nil {
		panic(err)
	}
	fmt.Println("appended", res.BaseOffset, "to", res.LastOffset, "HW", p.HighWatermark())

	// acks=all: wait until the batch is synced, and so visible.
	if err := p.WaitSynced(context.Background(), res.LastOffset); err != nil {
		panic(err)
	}
	fmt.Println("synced, HW", p.HighWatermark())

	f, err := p.Fetch(context.Background(), 0, 1, 1<<20, 500*time.Millisecond)
	if err != nil {
		panic(err)
	}
	defer f.View.Release()
	var dec record.Decoder
	_, recs, _ := dec.Decode(f.View.Data, nil)
	for _, r := range recs {
		fmt.Printf("%d %s\n", r.Offset, r.Value)
	}
	// Output:
	// appended 0 to 1 HW 0
	// synced, HW 2
	// 0 hello
	// 1 world
}

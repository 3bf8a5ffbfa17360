package partition_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/samsalog/samsa/partition"
	"github.com/samsalog/samsa/record"
)

// An idempotent producer's retry after a lost acknowledgement, across a
// restart: the partition recognises the batch and returns its original
// offsets instead of appending it twice.
func ExamplePartition_Append_idempotent() {
	dir, _ := os.MkdirTemp("", "partition-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "orders-0")

	var enc record.Encoder
	batch := func(seq int32, values ...string) []byte {
		recs := make([]record.Record, len(values))
		for i, v := range values {
			recs[i] = record.Record{Value: []byte(v), Timestamp: time.UnixMilli(1000)}
		}
		b, _ := enc.AppendBatch(nil, recs, record.BatchOptions{
			Idempotent: true, ProducerID: 42, ProducerEpoch: 0, BaseSequence: seq,
			LeaderEpoch: record.NoLeaderEpoch,
		})
		return b
	}

	p, _ := partition.Open(path, "orders", 0, nil)
	res, _ := p.Append(batch(0, "a", "b"))
	fmt.Println("appended", res.BaseOffset, res.LastOffset, res.Duplicate)
	_ = p.Close() // the acknowledgement is lost, the broker restarts

	p, _ = partition.Open(path, "orders", 0, nil)
	defer p.Close()
	res, _ = p.Append(batch(0, "a", "b")) // the producer retries
	fmt.Println("retried", res.BaseOffset, res.LastOffset, res.Duplicate)
	_, err := p.Append(batch(5, "c")) // sequences 2-4 are missing
	fmt.Println(errors.Is(err, partition.ErrOutOfOrderSequence))
	res, _ = p.Append(batch(2, "c"))
	fmt.Println("appended", res.BaseOffset, res.LastOffset, res.Duplicate)
	// Output:
	// appended 0 1 false
	// retried 0 1 true
	// true
	// appended 2 2 false
}

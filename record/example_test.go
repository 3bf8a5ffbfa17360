package record_test

import (
	"fmt"
	"time"

	"github.com/samsalog/samsa/record"
)

func Example() {
	var enc record.Encoder
	batch, err := enc.AppendBatch(nil, []record.Record{
		{Key: []byte("k1"), Value: []byte("v1"), Timestamp: time.UnixMilli(1700000000000)},
		{Value: []byte("v2"), Timestamp: time.UnixMilli(1700000000005),
			Headers: []record.Header{{Key: "h", Value: []byte("x")}}},
	}, record.BatchOptions{Compression: record.CompressionZstd})
	if err != nil {
		panic(err)
	}
	record.PutBaseOffset(batch, 42) // what a log does on append

	dec := record.Decoder{Topic: "orders", Partition: 3}
	h, recs, err := dec.Decode(batch, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(h.Attributes.Compression(), h.NumRecords, h.NextOffset())
	for _, r := range recs {
		fmt.Printf("%s/%d@%d key=%q value=%q headers=%d ts=%d\n",
			r.Topic, r.Partition, r.Offset, r.Key, r.Value, len(r.Headers), r.Timestamp.UnixMilli())
	}
	// Output:
	// zstd 2 44
	// orders/3@42 key="k1" value="v1" headers=0 ts=1700000000000
	// orders/3@43 key="" value="v2" headers=1 ts=1700000000005
}

func ExampleAppendControlBatch() {
	b := record.AppendControlBatch(nil, record.ControlCommit, 4000, 2, 7, 1700000000000)
	var dec record.Decoder
	h, recs, err := dec.Decode(b, nil)
	if err != nil {
		panic(err)
	}
	typ, coordinatorEpoch, err := record.ParseControlRecord(recs[0].Key, recs[0].Value)
	fmt.Println(len(b), h.Attributes.Control(), typ, coordinatorEpoch, err)
	// Output: 78 true COMMIT 7 <nil>
}

package log_test

import (
	"fmt"
	"os"
	"time"

	"github.com/samsalog/samsa/log"
	"github.com/samsalog/samsa/record"
)

func Example() {
	dir, _ := os.MkdirTemp("", "samsa-log-example")
	defer os.RemoveAll(dir)

	l, err := log.Open(dir, &log.Config{SegmentBytes: 1 << 20})
	if err != nil {
		panic(err)
	}
	var enc record.Encoder
	batch, _ := enc.AppendBatch(nil, []record.Record{
		{Key: []byte("k"), Value: []byte("hello"), Timestamp: time.UnixMilli(1000)},
		{Key: []byte("k"), Value: []byte("world"), Timestamp: time.UnixMilli(2000)},
	}, record.BatchOptions{})
	first, last, err := l.Append(batch) // assigns offsets 0 and 1
	if err != nil {
		panic(err)
	}
	if err := l.Sync(); err != nil { // durable from here on
		panic(err)
	}
	fmt.Println("appended", first, last, "synced below", l.SyncedOffset())

	v, err := l.Read(0, 1<<20, l.SyncedOffset())
	if err != nil {
		panic(err)
	}
	var dec record.Decoder
	_, recs, err := dec.Decode(v.Data, nil)
	if err != nil {
		panic(err)
	}
	for _, r := range recs {
		fmt.Println(r.Offset, string(r.Value))
	}
	v.Release()

	off, _ := l.OffsetForTimestamp(1500)
	fmt.Println("first record at or after t=1500ms:", off)
	if err := l.Close(); err != nil {
		panic(err)
	}
	// Output:
	// appended 0 1 synced below 2
	// 0 hello
	// 1 world
	// first record at or after t=1500ms: 1
}

package producer

import (
	"testing"

	"github.com/samsalog/samsa/record"
)

// BenchmarkPartition measures one record's partitioning with the calls a
// producer makes: Partition, then OnAppend where the partitioner counts
// bytes, and OnNewBatch every 100 records where it wants new batches.
func BenchmarkPartition(b *testing.B) {
	keyed := &record.Record{Key: []byte("user-0000001234"), Value: make([]byte, 100)}
	keyless := &record.Record{Value: make([]byte, 100)}
	cases := []struct {
		name string
		newP PartitionerConstructor
		r    *record.Record
	}{
		{"murmur2", NewDefaultPartitioner(0), keyed},
		{"fnv1a", NewFNV1aPartitioner, keyed},
		{"sticky", NewStickyPartitioner, keyless},
		{"uniformsticky", NewDefaultPartitioner(0), keyless},
		{"roundrobin", NewRoundRobinPartitioner, keyless},
		{"random", NewRandomPartitioner, keyless},
		{"manual", NewManualPartitioner, keyless},
	}
	for _, c := range cases {
		b.Run("partitioner="+c.name, func(b *testing.B) {
			p := c.newP("t")
			nb, _ := p.(BatchAware)
			by, _ := p.(BytesAware)
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				part, err := p.Partition(c.r, 12)
				if err != nil {
					b.Fatal(err)
				}
				if by != nil {
					by.OnAppend(c.r, part, 120, false)
				}
				if i++; nb != nil && i%100 == 0 {
					nb.OnNewBatch(part)
				}
			}
		})
	}
}

// BenchmarkPartitionParallel is BenchmarkPartition from GOMAXPROCS
// goroutines sharing one partitioner, as producers to one topic do: it shows
// the cost of the shared atomic word.
func BenchmarkPartitionParallel(b *testing.B) {
	keyed := &record.Record{Key: []byte("user-0000001234"), Value: make([]byte, 100)}
	keyless := &record.Record{Value: make([]byte, 100)}
	cases := []struct {
		name string
		newP PartitionerConstructor
		r    *record.Record
	}{
		{"murmur2", NewDefaultPartitioner(0), keyed},
		{"sticky", NewStickyPartitioner, keyless},
		{"uniformsticky", NewDefaultPartitioner(0), keyless},
		{"roundrobin", NewRoundRobinPartitioner, keyless},
		{"random", NewRandomPartitioner, keyless},
	}
	for _, c := range cases {
		b.Run("partitioner="+c.name, func(b *testing.B) {
			p := c.newP("t")
			nb, _ := p.(BatchAware)
			by, _ := p.(BytesAware)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					part, err := p.Partition(c.r, 12)
					if err != nil {
						b.Error(err)
						return
					}
					if by != nil {
						by.OnAppend(c.r, part, 120, false)
					}
					if i++; nb != nil && i%100 == 0 {
						nb.OnNewBatch(part)
					}
				}
			})
		})
	}
}

func BenchmarkMurmur2(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"size=16B", 16}, {"size=100B", 100}, {"size=1KiB", 1024}} {
		b.Run(size.name, func(b *testing.B) {
			key := make([]byte, size.n)
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			var sink uint32
			for b.Loop() {
				sink += Murmur2(key)
			}
			_ = sink
		})
	}
}

package producer

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// Kafka's UtilsTest.testMurmur2 (signed Java ints), repeated in franz-go's
// TestMurmur2KafkaVectors.
var kafkaMurmur2Vectors = []struct {
	key  string
	want int32
}{
	{"21", -973932308},
	{"foobar", -790332482},
	{"a-little-bit-long-string", -985981536},
	{"a-little-bit-longer-string", -1486304829},
	{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
	{"abc", 479470107},
}

// Sarama's TestMurmur2 (uint32) and TestMurmur2Partitioner (100 partitions,
// checked there against the Java client); -1 where Sarama gives no partition.
var saramaMurmur2Vectors = []struct {
	key  string
	want uint32
	p100 int32
}{
	{"foo", 597841616, 16},
	{"bar", 988958145, 45},
	{"baz", 1973573280, 80},
	{"", 275646681, -1},
	{"kafka", 3496464228, 80},
	{"sarama", 770765511, 11},
}

func TestMurmur2KafkaVectors(t *testing.T) {
	for _, v := range kafkaMurmur2Vectors {
		t.Run(v.key, func(t *testing.T) {
			got := Murmur2([]byte(v.key))
			if int32(got) != v.want {
				t.Errorf("Murmur2(%q) = %d (int32 %d), want int32 %d", v.key, got, int32(got), v.want)
			}
		})
	}
}

func TestMurmur2SaramaVectors(t *testing.T) {
	for _, v := range saramaMurmur2Vectors {
		t.Run("key="+v.key, func(t *testing.T) {
			if got := Murmur2([]byte(v.key)); got != v.want {
				t.Errorf("Murmur2(%q) = %d, want %d", v.key, got, v.want)
			}
			if v.p100 < 0 {
				return
			}
			if got := KafkaKeyHash([]byte(v.key), 100); got != v.p100 {
				t.Errorf("KafkaKeyHash(%q, 100) = %d, want %d", v.key, got, v.p100)
			}
		})
	}
}

func TestMurmur2NilIsEmpty(t *testing.T) {
	if Murmur2(nil) != Murmur2([]byte{}) || Murmur2(nil) != 275646681 {
		t.Fatalf("Murmur2(nil) = %d, Murmur2(empty) = %d, want both 275646681", Murmur2(nil), Murmur2([]byte{}))
	}
}

// javaMurmur2 is a line-by-line transliteration of Kafka's Utils.murmur2,
// with Java's int arithmetic (int32 wrap-around, >>> as a shift of the
// unsigned bits, bytes sign-extended then masked with 0xff), kept apart from
// Murmur2's unsigned formulation so that each checks the other.
func javaMurmur2(data []byte) int32 {
	length := int32(len(data))
	const seed = int32(-1756908916) // 0x9747b28c
	const m = int32(0x5bd1e995)
	const r = 24
	ushr := func(x int32, n uint) int32 { return int32(uint32(x) >> n) }
	b := func(i int32) int32 { return int32(int8(data[i])) } // Java byte

	h := seed ^ length
	length4 := length / 4
	for i := int32(0); i < length4; i++ {
		i4 := i * 4
		k := (b(i4+0) & 0xff) + ((b(i4+1) & 0xff) << 8) + ((b(i4+2) & 0xff) << 16) + ((b(i4+3) & 0xff) << 24)
		k *= m
		k ^= ushr(k, r)
		k *= m
		h *= m
		h ^= k
	}
	switch length % 4 {
	case 3:
		h ^= (b((length&^3)+2) & 0xff) << 16
		fallthrough
	case 2:
		h ^= (b((length&^3)+1) & 0xff) << 8
		fallthrough
	case 1:
		h ^= b(length&^3) & 0xff
		h *= m
	}
	h ^= ushr(h, 13)
	h *= m
	h ^= ushr(h, 15)
	return h
}

// TestMurmur2MatchesJava compares Murmur2 with the Java transliteration on
// every length up to 260 (all tail cases, bytes >= 0x80 that Java
// sign-extends) and on the upstream vectors.
func TestMurmur2MatchesJava(t *testing.T) {
	for _, v := range kafkaMurmur2Vectors {
		if got := javaMurmur2([]byte(v.key)); got != v.want {
			t.Fatalf("javaMurmur2(%q) = %d, want %d: the reference itself is wrong", v.key, got, v.want)
		}
	}
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	for n := range 261 {
		for range 20 {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			if got, want := int32(Murmur2(b)), javaMurmur2(b); got != want {
				t.Fatalf("seed %d: Murmur2(%x) = %d, Java %d", seed, b, got, want)
			}
		}
	}
	all := bytes.Repeat([]byte{0xff}, 7)
	for n := range len(all) + 1 {
		if got, want := int32(Murmur2(all[:n])), javaMurmur2(all[:n]); got != want {
			t.Fatalf("Murmur2(%x) = %d, Java %d", all[:n], got, want)
		}
	}
}

func FuzzMurmur2(f *testing.F) {
	for _, v := range kafkaMurmur2Vectors {
		f.Add([]byte(v.key))
	}
	f.Add([]byte{})
	f.Add([]byte{0x80, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := int32(Murmur2(b)), javaMurmur2(b); got != want {
			t.Fatalf("Murmur2(%x) = %d, Java %d", b, got, want)
		}
		p := KafkaKeyHash(b, 7)
		if p < 0 || p >= 7 {
			t.Fatalf("KafkaKeyHash(%x, 7) = %d", b, p)
		}
	})
}

func TestMurmur2ZeroAlloc(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under -cover and -race")
	}
	key := []byte("a-little-bit-longer-string")
	var sink uint32
	if n := testing.AllocsPerRun(100, func() { sink += Murmur2(key) }); n != 0 {
		t.Fatalf("Murmur2 allocates %v times per call", n)
	}
	_ = sink
}

package producer

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// keyTable is the partition table of kafka-internals.md section 6.6,
// computed there with Go transliterations of both clients: the Java client
// (murmur2, masked) and Sarama's default (FNV-1a, signed remainder negated).
var keyTable = []struct {
	name   string
	key    []byte
	java   [3]int32 // N = 3, 10, 100
	sarama [3]int32 // N = 3, 10, 100
}{
	{"21", []byte("21"), [3]int32{0, 0, 40}, [3]int32{0, 2, 52}},
	{"foobar", []byte("foobar"), [3]int32{0, 6, 66}, [3]int32{0, 6, 76}},
	{"a-little-bit-long-string", []byte("a-little-bit-long-string"), [3]int32{2, 2, 12}, [3]int32{1, 4, 4}},
	{"abc", []byte("abc"), [3]int32{0, 7, 7}, [3]int32{2, 1, 31}},
	{"foo", []byte("foo"), [3]int32{2, 6, 16}, [3]int32{1, 3, 73}},
	{"bar", []byte("bar"), [3]int32{0, 5, 45}, [3]int32{2, 2, 2}},
	{"kafka", []byte("kafka"), [3]int32{1, 0, 80}, [3]int32{2, 5, 45}},
	{"key", []byte("key"), [3]int32{1, 1, 81}, [3]int32{1, 8, 28}},
	{"empty", []byte{}, [3]int32{0, 1, 81}, [3]int32{0, 5, 35}},
}

var tableCounts = [3]int32{3, 10, 100}

func TestKeyHashTable(t *testing.T) {
	for _, tc := range keyTable {
		t.Run("key="+tc.name, func(t *testing.T) {
			for i, n := range tableCounts {
				if got := KafkaKeyHash(tc.key, n); got != tc.java[i] {
					t.Errorf("KafkaKeyHash(%q, %d) = %d, want %d", tc.key, n, got, tc.java[i])
				}
				if got := SaramaKeyHash(tc.key, n); got != tc.sarama[i] {
					t.Errorf("SaramaKeyHash(%q, %d) = %d, want %d", tc.key, n, got, tc.sarama[i])
				}
			}
		})
	}
}

// TestSaramaKeyHashMinInt32 is Sarama's TestHashPartitionerMinInt32: the
// FNV-1a hash of this key is 0x80000000, whose signed remainder is negative.
func TestSaramaKeyHashMinInt32(t *testing.T) {
	key := []byte("1468509572224")
	if h := fnv1a32(key); h != 2147483648 {
		t.Fatalf("fnv1a32(%q) = %d, want 2147483648", key, h)
	}
	if int32(fnv1a32(key)) != math.MinInt32 {
		t.Fatal("not MinInt32")
	}
	if got := SaramaKeyHash(key, 50); got != 48 {
		t.Errorf("SaramaKeyHash(%q, 50) = %d, want 48", key, got)
	}
	// The Java arithmetic masks the sign bit instead: 0 for any count.
	if got := int32(fnv1a32(key)&0x7fffffff) % 50; got != 0 {
		t.Errorf("masked = %d, want 0", got)
	}
	for _, n := range []int32{1, 2, 3, 7, 50, 100, math.MaxInt32} {
		if got := SaramaKeyHash(key, n); got < 0 || got >= n {
			t.Errorf("SaramaKeyHash(%q, %d) = %d, out of range", key, n, got)
		}
	}
}

func TestFNV1aMatchesStdlib(t *testing.T) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 1))
	for n := range 100 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		h := fnv.New32a()
		h.Write(b)
		if got, want := fnv1a32(b), h.Sum32(); got != want {
			t.Fatalf("seed %d: fnv1a32(%x) = %d, hash/fnv %d", seed, b, got, want)
		}
	}
}

func TestKeyHashRange(t *testing.T) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 2))
	counts := []int32{1, 2, 3, 10, 100, 1000, math.MaxInt32}
	for range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		for _, n := range counts {
			for name, h := range map[string]KeyHasher{"kafka": KafkaKeyHash, "sarama": SaramaKeyHash} {
				if p := h(b, n); p < 0 || p >= n {
					t.Fatalf("seed %d: %s(%x, %d) = %d", seed, name, b, n, p)
				}
			}
		}
	}
}

// TestKeyHashBalance: distinct keys spread evenly, with both hashers.
func TestKeyHashBalance(t *testing.T) {
	const n, keys = 10, 100000
	for name, h := range map[string]KeyHasher{"kafka": KafkaKeyHash, "sarama": SaramaKeyHash} {
		counts := make([]int, n)
		for i := range keys {
			counts[h([]byte("user-"+strconv.Itoa(i)), n)]++
		}
		for p, c := range counts {
			if c < keys/n*95/100 || c > keys/n*105/100 {
				t.Errorf("%s: partition %d got %d of %d keys: %v", name, p, c, keys, counts)
			}
		}
	}
}

package crashtest

import (
	"flag"
	"hash/fnv"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// Seed is the seed of a run's randomized tests: the value of a flag, or
// the clock, read once, so that every test of a run logs the same seed and
// one flag replays them all. It is safe for concurrent use.
type Seed struct {
	name  string
	value func() uint64
}

// SeedFlag defines a uint64 flag name with usage on flag.CommandLine and
// returns the Seed it sets; 0, its default, means the clock. Call it from
// a test package's variable declarations, as flag.Uint64.
func SeedFlag(name, usage string) *Seed {
	f := flag.Uint64(name, 0, usage)
	return &Seed{name: name, value: sync.OnceValue(func() uint64 {
		if *f != 0 {
			return *f
		}
		return uint64(time.Now().UnixNano())
	})}
}

// Rand returns t's random source: a PCG seeded with the run's seed and a
// hash of t's name, so that tests draw independent streams from one seed.
// It logs the seed and the command line that replays t, at once and again
// when t fails. The source is not safe for concurrent use.
func (s *Seed) Rand(t testing.TB) *rand.Rand {
	t.Helper()
	seed := s.value()
	t.Logf("seed %d (replay: -run '^%s$' -%s=%d)", seed, t.Name(), s.name, seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("FAILED with seed %d: replay with -run '^%s$' -%s=%d", seed, t.Name(), s.name, seed)
		}
	})
	h := fnv.New64a()
	h.Write([]byte(t.Name()))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

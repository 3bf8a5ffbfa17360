package crashtest_test

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/crashtest"
)

var seed = crashtest.SeedFlag("crashtest.seed", "seed of the crashtest package's tests (0: from the clock)")

// modeEnv tells TestHelperChild what to do.
const modeEnv = "SAMSA_CRASHTEST_TEST_MODE"

// TestHelperChild is the child of TestKill: it reports its directory and
// seed, then, by its mode, waits to be killed, exits by itself, pretends
// the race detector fired, or sends a line the parent refuses.
func TestHelperChild(t *testing.T) {
	c := crashtest.AsChild(t)
	c.Reportf("dir %s", c.Dir)
	c.Reportf("seed %d", c.Seed)
	switch os.Getenv(modeEnv) {
	case "exit":
		return
	case "race":
		fmt.Fprintln(os.Stderr, "WARNING: DATA RACE")
	case "bad":
		c.Reportf("bad")
	}
	c.Reportf("ready")
	c.WaitForKill()
}

func TestKill(t *testing.T) {
	rng := seed.Rand(t)
	for _, tc := range []struct {
		mode    string
		trigger bool
		want    error  // nil: a clean kill
		wantErr string // in the error
	}{
		{mode: "wait", trigger: true},
		{mode: "wait"},
		{mode: "exit", want: crashtest.ErrNotKilled},
		{mode: "race", trigger: true, want: crashtest.ErrDataRace, wantErr: "WARNING: DATA RACE"},
		{mode: "bad", trigger: true, wantErr: `refused "bad"`},
	} {
		t.Run(fmt.Sprintf("mode=%s/trigger=%v", tc.mode, tc.trigger), func(t *testing.T) {
			dir := t.TempDir()
			childSeed := rng.Uint64()
			var lines []string
			ready := make(chan struct{})
			p := crashtest.Start(t, &crashtest.Config{
				Test: "TestHelperChild",
				Dir:  dir,
				Seed: childSeed,
				Env:  []string{modeEnv + "=" + tc.mode},
				Report: func(line string) error {
					switch line {
					case "bad":
						close(ready) // the last report the parent reads
						return fmt.Errorf("refused %q", line)
					case "ready":
						close(ready)
					}
					lines = append(lines, line)
					return nil
				},
			})
			var err error
			switch {
			case tc.mode == "exit":
				<-p.Exited()
				err = p.Kill()
			case tc.trigger:
				err = p.KillAfter(ready, 0)
			default:
				err = p.KillAfter(nil, 0)
			}
			if tc.want == nil && tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				if tc.want != nil {
					require.ErrorIs(t, err, tc.want)
				}
				require.Contains(t, err.Error(), tc.wantErr)
			}
			require.Equal(t, err, p.Kill(), "a second Kill")
			if tc.trigger || tc.mode == "exit" {
				require.GreaterOrEqual(t, len(lines), 2)
				require.Equal(t, []string{"dir " + dir, fmt.Sprintf("seed %d", childSeed)}, lines[:2])
			}
		})
	}
}

// TestKillConcurrent kills children from several goroutines at once.
func TestKillConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		ready := make(chan struct{})
		p := crashtest.Start(t, &crashtest.Config{
			Test: "TestHelperChild",
			Env:  []string{modeEnv + "=wait"},
			Report: func(line string) error {
				if line == "ready" {
					close(ready)
				}
				return nil
			},
		})
		wg.Go(func() { errs[i] = p.KillAfter(ready, 0) })
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
}

func TestSeedRand(t *testing.T) {
	a, b := seed.Rand(t), seed.Rand(t)
	require.Equal(t, a.Uint64(), b.Uint64(), "one test, one stream")
	var other uint64
	t.Run("sub", func(t *testing.T) { other = seed.Rand(t).Uint64() })
	require.NotEqual(t, a.Uint64(), other, "another test, another stream")
}

package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// runAsMainEnv, when set, makes the test binary run the command line
// instead of the tests: TestBinary execs itself this way to check exit codes
// and stderr of the real program.
const runAsMainEnv = "SAMSA_CLI_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runAsMainEnv) == "1" {
		main()
		return
	}
	goleak.VerifyTestMain(m)
}

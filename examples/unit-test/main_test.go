package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/samsalog/samsa/samsatest"
)

// TestMain checks, once every test has run, that no goroutine is left
// behind: by Route, or by the brokers of the tests.
func TestMain(m *testing.M) { samsatest.VerifyTestMain(m) }

// TestRun runs the program briefly, as `go run ./examples/unit-test` does.
func TestRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.TempDir(), &out); err != nil {
		t.Fatal(err)
	}
	want := `payments.accepted:
  alice: 12.50 EUR
  carol: 99.99 USD
payments.rejected:
  bob: unsupported currency: 3 GBP
  alice: amount not positive: -1 EUR
`
	if !strings.HasPrefix(out.String(), want) {
		t.Errorf("output:\n%s\nwant it to start with:\n%s", out.String(), want)
	}
}

func TestRunTempDir(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run("", &out); err != nil {
		t.Fatal(err)
	}
}

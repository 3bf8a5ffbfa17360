package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// raw is `go test -bench` output as committed in docs/: comments, headers,
// PASS/ok lines, many metrics a line, the -2 suffix.
const raw = `# go version go1.26.8 linux/amd64; nproc 2; uptime: load average: 3.24
goos: linux
goarch: amd64
pkg: github.com/samsalog/samsa/log
cpu: Oxide Virtual Turin-like Processor             
BenchmarkAppend/record=100B/batch=100/encode=true/sync=none-2         	   58176	     22207 ns/op	 495.20 MB/s	         0.0000172 fsyncs/op	   4503020 records/s	       9 B/op	       0 allocs/op
BenchmarkAppend/record=100B/batch=100/encode=true/sync=none-2         	   58176	     22207 ns/op	 495.20 MB/s	         0.0000172 fsyncs/op	   4000000 records/s	       9 B/op	       0 allocs/op
BenchmarkAppend/record=100B/batch=100/encode=true/sync=none-2         	   58176	     22207 ns/op	 495.20 MB/s	         0.0000172 fsyncs/op	   5000000 records/s	       9 B/op	       0 allocs/op
PASS
ok  	github.com/samsalog/samsa/log	12.345s
# a comment: BenchmarkAppend/record=100B/batch=100/encode=true/sync=none-2 1 1 records/s
pkg: github.com/samsalog/samsa/consumer
BenchmarkEndToEndLatency/durability=synced-2         	    1000	    700000 ns/op	       600.0 p50-µs	       660.0 p99-µs
BenchmarkEndToEndLatency/durability=synced-2         	    1000	    700000 ns/op	       600.0 p50-µs	       680.0 p99-µs
BenchmarkEndToEndLatency/durability=synced
some log output a benchmark printed
BenchmarkPlain	     100	       12.5 ns/op
--- BENCH: BenchmarkPlain
PASS
`

func TestParseLine(t *testing.T) {
	res, ok := parseLine("BenchmarkAppend/record=100B/batch=100/encode=true/sync=none-2         	   58176	     22207 ns/op	 495.20 MB/s	         0.0000172 fsyncs/op	   4503020 records/s	       9 B/op	       0 allocs/op")
	if !ok {
		t.Fatal("not parsed")
	}
	if res.name != "BenchmarkAppend/record=100B/batch=100/encode=true/sync=none" {
		t.Errorf("name %q", res.name)
	}
	want := map[string]float64{"ns/op": 22207, "MB/s": 495.2, "fsyncs/op": 0.0000172, "records/s": 4503020, "B/op": 9, "allocs/op": 0}
	if len(res.metrics) != len(want) {
		t.Errorf("metrics %v, want %v", res.metrics, want)
	}
	for u, v := range want {
		if res.metrics[u] != v {
			t.Errorf("%s = %v, want %v", u, res.metrics[u], v)
		}
	}
	for _, line := range []string{
		"# BenchmarkX-2 10 1 ns/op",
		"PASS",
		"ok  	github.com/samsalog/samsa/log	12.345s",
		"goos: linux",
		"BenchmarkX/sub",
		"BenchmarkX-2 10 1",
		"BenchmarkX-2 ten 1 ns/op",
		"--- BENCH: BenchmarkX-2",
	} {
		if _, ok := parseLine(line); ok {
			t.Errorf("%q parsed as a result", line)
		}
	}
}

func TestTrimProcs(t *testing.T) {
	for in, want := range map[string]string{
		"BenchmarkX-2":                 "BenchmarkX",
		"BenchmarkX/a=1-16":            "BenchmarkX/a=1",
		"BenchmarkX":                   "BenchmarkX",
		"BenchmarkX/name=log-append":   "BenchmarkX/name=log-append",
		"BenchmarkX/name=log-append-2": "BenchmarkX/name=log-append",
		"BenchmarkX-":                  "BenchmarkX-",
	} {
		if got := trimProcs(in); got != want {
			t.Errorf("trimProcs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{10, 1, 2, 9, 3}, 3},
	} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestValue(t *testing.T) {
	results, err := parseBench(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 6 {
		t.Fatalf("%d results, want 6: %v", len(results), results)
	}
	for _, c := range []struct {
		bench, metric string
		want          float64
	}{
		{"BenchmarkAppend/record=100B/batch=100/encode=true/sync=none", "records/s", 4503020},
		{"Append/record=100B/batch=100/encode=true/sync=none", "MB/s", 495.2},
		{"BenchmarkEndToEndLatency/durability=synced", "p99-µs", 670},
		{"BenchmarkPlain", "ns/op", 12.5},
	} {
		got, err := value(results, c.bench, c.metric)
		if err != nil || got != c.want {
			t.Errorf("value(%s, %s) = %v, %v; want %v", c.bench, c.metric, got, err, c.want)
		}
	}
	_, err = value(results, "BenchmarkAppend/record=1KiB", "records/s")
	if err == nil || !strings.Contains(err.Error(), "BenchmarkAppend/record=1KiB not found") {
		t.Errorf("missing benchmark: error %v", err)
	}
	_, err = value(results, "BenchmarkPlain", "records/s")
	if err == nil || !strings.Contains(err.Error(), `BenchmarkPlain has no metric "records/s"`) {
		t.Errorf("missing metric: error %v", err)
	}
}

func TestChart(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "bench.spec")
	out := filepath.Join(dir, "bench.png")
	if err := os.WriteFile(filepath.Join(dir, "raw.txt"), []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
	in := "# comment\n" +
		"log append\traw.txt\tBenchmarkAppend/record=100B/batch=100/encode=true/sync=none\trecords/s\tM records/s\n" +
		"log append MB/s\traw.txt\tBenchmarkAppend/record=100B/batch=100/encode=true/sync=none\tMB/s\tMB/s\n" +
		"\n" +
		"e2e p99\traw.txt\tBenchmarkEndToEndLatency/durability=synced\tp99-µs\tus\n"
	if err := os.WriteFile(spec, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(spec, out); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("not a valid PNG: %v", err)
	}
	// A title, three group headings, three rows.
	wantW, wantH := width, 2*margin+7*rowH
	if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
		t.Fatalf("size %dx%d, want %dx%d", b.Dx(), b.Dy(), wantW, wantH)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "raw.txt"), []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ spec, want string }{
		"empty":        {"# nothing\n", "no rows"},
		"fields":       {"a\traw.txt\tBenchmarkPlain\tns/op\n", "want 5 tab-separated fields"},
		"empty field":  {"a\traw.txt\t\tns/op\tg\n", "field 3 is empty"},
		"missing file": {"a\tnope.txt\tBenchmarkPlain\tns/op\tg\n", "nope.txt"},
		"missing bench": {"a\traw.txt\tBenchmarkPlain\tns/op\tg\n" +
			"b\traw.txt\tBenchmarkProduce/baseline\tns/op\tg\n", "line 2: raw.txt: benchmark BenchmarkProduce/baseline not found"},
	} {
		t.Run(name, func(t *testing.T) {
			spec := filepath.Join(dir, "bench.spec")
			if err := os.WriteFile(spec, []byte(c.spec), 0o644); err != nil {
				t.Fatal(err)
			}
			err := run(spec, filepath.Join(dir, "out.png"))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	for v, want := range map[float64]string{
		4503020:  "4.5M",
		12526155: "12.5M",
		669:      "669",
		62:       "62",
		0.5:      "0.5",
		999.7:    "1k",
		2.74e9:   "2.74G",
	} {
		if got := format(v); got != want {
			t.Errorf("format(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestGlyphs(t *testing.T) {
	for ch, g := range glyphs {
		for _, line := range g {
			if len(line) != 5 {
				t.Errorf("glyph %q: row %q is not 5 wide", ch, line)
			}
		}
	}
}

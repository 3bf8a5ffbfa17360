// Command benchchart draws the benchmark summary chart of the README from
// raw `go test -bench` output: one horizontal bar per benchmark, grouped by
// caption, each group scaled to its largest value. It uses the standard
// library only (a built-in 5x7 bitmap font draws the labels).
//
//	go run ./internal/benchchart docs/bench.spec docs/bench.png
//
// The spec is tab-separated, one bar a line, five fields:
//
//	label	raw file	benchmark name	metric unit	group caption
//
// for example
//
//	log: sequential read	bench-storage.txt	BenchmarkRead/mode=sequential/records=1M/fetch=1MiB	records/s	M records/s (more is better)
//
// The raw file (relative to the spec's directory unless absolute) holds the
// output of `go test -bench` (several runs and packages may be
// concatenated). The benchmark name is the exact name as printed, without
// the -N GOMAXPROCS suffix (the "Benchmark" prefix may be left out); the
// metric unit is as printed by go test ("ns/op", "records/s", "p99-µs"). The
// bar's value is the median of that metric over all runs of the benchmark
// in the file. Empty lines and lines starting with '#' are skipped, in the
// spec and in the raw files.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// row is one bar of the chart.
type row struct {
	name  string
	value float64
	unit  string // the group caption
}

// specRow is one line of the spec.
type specRow struct {
	line   int
	label  string
	file   string
	bench  string
	metric string
	group  string
}

// result is one run of one benchmark: its metrics by unit.
type result struct {
	name    string // without the -N suffix
	metrics map[string]float64
}

// Layout, in pixels. Text is drawn at scale (each font pixel a square of
// scale x scale).
const (
	width   = 960
	margin  = 16
	scale   = 2
	advance = 6 * scale // glyph width plus one column of spacing
	textH   = 7 * scale
	rowH    = 26
	labelW  = 36 * advance // the label column: 36 characters
	barX    = margin + labelW + 8
	barMaxW = width - barX - margin - 10*advance // room for the value after the bar
	title   = "samsa benchmarks (medians of the go test -bench runs in docs/)"
)

var (
	background = color.RGBA{0xff, 0xff, 0xff, 0xff}
	ink        = color.RGBA{0x20, 0x20, 0x20, 0xff}
	grey       = color.RGBA{0x70, 0x70, 0x70, 0xff}
	bar        = color.RGBA{0x3b, 0x6e, 0xa8, 0xff}
	baseline   = color.RGBA{0xa0, 0xa0, 0xa0, 0xff}
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: benchchart SPEC OUT.png")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "benchchart:", err)
		os.Exit(1)
	}
}

// run reads the spec file in and the raw files it names, and writes the
// chart to the PNG file out.
func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	specs, err := parseSpec(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	rows, err := resolve(specs, filepath.Dir(in))
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	img := render(rows)
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := png.Encode(w, img); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// parseSpec reads the lines of a spec.
func parseSpec(r io.Reader) ([]specRow, error) {
	var specs []specRow
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 5 {
			return nil, fmt.Errorf("line %d: want 5 tab-separated fields (label, raw file, benchmark, metric unit, group caption), have %d", n, len(fields))
		}
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
			if fields[i] == "" {
				return nil, fmt.Errorf("line %d: field %d is empty", n, i+1)
			}
		}
		specs = append(specs, specRow{line: n, label: fields[0], file: fields[1], bench: fields[2], metric: fields[3], group: fields[4]})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, errors.New("no rows")
	}
	return specs, nil
}

// resolve reads the raw files of specs (relative paths are relative to dir)
// and returns the chart's rows: per spec line the median of its metric.
func resolve(specs []specRow, dir string) ([]row, error) {
	files := map[string][]result{}
	var rows []row
	for _, s := range specs {
		path := s.file
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		results, ok := files[path]
		if !ok {
			f, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", s.line, err)
			}
			results, err = parseBench(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			files[path] = results
		}
		v, err := value(results, s.bench, s.metric)
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", s.line, s.file, err)
		}
		rows = append(rows, row{name: s.label, value: v, unit: s.group})
	}
	return rows, nil
}

// parseBench reads `go test -bench` output: benchmark result lines (name,
// iterations, then value/unit pairs), skipping every other line (goos:,
// PASS, ok, comments starting with '#', log output).
func parseBench(r io.Reader) ([]result, error) {
	var results []result
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if res, ok := parseLine(sc.Text()); ok {
			results = append(results, res)
		}
	}
	return results, sc.Err()
}

// parseLine parses one benchmark result line, reporting false if line is
// not one.
func parseLine(line string) (result, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 || !strings.HasPrefix(f[0], "Benchmark") {
		return result{}, false
	}
	if _, err := strconv.ParseUint(f[1], 10, 64); err != nil {
		return result{}, false
	}
	res := result{name: trimProcs(f[0]), metrics: map[string]float64{}}
	for i := 2; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return result{}, false
		}
		res.metrics[f[i+1]] = v
	}
	return res, true
}

// trimProcs removes the -N GOMAXPROCS suffix of a benchmark name.
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 || i == len(name)-1 {
		return name
	}
	if _, err := strconv.ParseUint(name[i+1:], 10, 32); err != nil {
		return name
	}
	return name[:i]
}

// value returns the median of metric over the runs of bench in results.
func value(results []result, bench, metric string) (float64, error) {
	if !strings.HasPrefix(bench, "Benchmark") {
		bench = "Benchmark" + bench
	}
	var vs []float64
	runs := 0
	for _, r := range results {
		if r.name != bench {
			continue
		}
		runs++
		if v, ok := r.metrics[metric]; ok {
			vs = append(vs, v)
		}
	}
	switch {
	case runs == 0:
		return 0, fmt.Errorf("benchmark %s not found", bench)
	case len(vs) == 0:
		return 0, fmt.Errorf("benchmark %s has no metric %q", bench, metric)
	}
	return median(vs), nil
}

// median returns the median of vs (the mean of the middle two if their
// number is even); vs is sorted in place.
func median(vs []float64) float64 {
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}

// units returns the units of rows in the order they first appear.
func units(rows []row) []string {
	var us []string
	for _, r := range rows {
		if !contains(us, r.unit) {
			us = append(us, r.unit)
		}
	}
	return us
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// size returns the chart's size for rows: a title line, then per group a
// heading line and one line per row.
func size(rows []row) (w, h int) {
	lines := 1 + len(units(rows)) + len(rows)
	return width, 2*margin + lines*rowH
}

// render draws the chart.
func render(rows []row) *image.RGBA {
	w, h := size(rows)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(img, img.Bounds(), background)
	y := margin
	text(img, margin, y+(rowH-textH)/2, title, ink)
	y += rowH
	for _, u := range units(rows) {
		maxV := 0.0
		for _, r := range rows {
			if r.unit == u {
				maxV = max(maxV, r.value)
			}
		}
		text(img, margin, y+(rowH-textH)/2, u, grey)
		y += rowH
		for _, r := range rows {
			if r.unit != u {
				continue
			}
			text(img, margin, y+(rowH-textH)/2, clip(r.name, labelW/advance), ink)
			bw := 0
			if maxV > 0 {
				bw = int(r.value / maxV * barMaxW)
			}
			fill(img, image.Rect(barX-1, y, barX, y+rowH), baseline) // the bars' origin
			fill(img, image.Rect(barX, y+4, barX+max(bw, 1), y+rowH-4), bar)
			text(img, barX+bw+6, y+(rowH-textH)/2, format(r.value), ink)
			y += rowH
		}
	}
	return img
}

// format prints v with three significant digits, with a k, M or G suffix
// from a thousand on (12.8M).
func format(v float64) string {
	suffix := ""
	for _, s := range []string{"k", "M", "G"} {
		if v < 999.5 {
			break
		}
		v /= 1000
		suffix = s
	}
	return strconv.FormatFloat(round3(v), 'f', -1, 64) + suffix
}

// round3 rounds v to three significant digits.
func round3(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	return r
}

// clip shortens s to n characters.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-2]) + ".."
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// text draws s with its top-left corner at (x, y).
func text(img *image.RGBA, x, y int, s string, c color.RGBA) {
	for _, ch := range s {
		g, ok := glyphs[ch]
		if !ok {
			g, ok = glyphs[unicode.ToUpper(ch)]
		}
		if !ok {
			g = glyphs['?']
		}
		for gy, line := range g {
			for gx, px := range line {
				if px == '#' {
					fill(img, image.Rect(x+gx*scale, y+gy*scale, x+(gx+1)*scale, y+(gy+1)*scale), c)
				}
			}
		}
		x += advance
	}
}

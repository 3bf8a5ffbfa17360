// Command benchchart draws the benchmark summary chart of the README: one
// horizontal bar per benchmark, grouped by unit, each group scaled to its
// largest value. It uses the standard library only (a built-in 5x7 bitmap
// font draws the labels).
//
//	go run ./internal/benchchart docs/bench.tsv docs/bench.png
//
// The input is tab-separated, one benchmark a line: name, value, unit
// (for example "producer acks=1\t2.25\tM records/s"). Empty lines and lines
// starting with '#' are skipped.
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
	"strconv"
	"strings"
	"unicode"
)

// row is one benchmark of the input.
type row struct {
	name  string
	value float64
	unit  string
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
	title   = "samsa benchmarks (medians, see BENCHMARKS.md)"
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
		fmt.Fprintln(os.Stderr, "usage: benchchart IN.tsv OUT.png")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "benchchart:", err)
		os.Exit(1)
	}
}

// run reads the TSV file in and writes the chart to the PNG file out.
func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	rows, err := parse(f)
	f.Close()
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

// parse reads the rows of a TSV input.
func parse(r io.Reader) ([]row, error) {
	var rows []row
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 3 {
			return nil, fmt.Errorf("line %d: want 3 tab-separated fields (name, value, unit), have %d", n, len(fields))
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(fields[1]), 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("line %d: value %q is not a number >= 0", n, fields[1])
		}
		rows = append(rows, row{name: strings.TrimSpace(fields[0]), value: v, unit: strings.TrimSpace(fields[2])})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errors.New("no rows")
	}
	return rows, nil
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

// size returns the chart's size for rows: a title line, then per unit a
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

// format prints v with three significant digits.
func format(v float64) string {
	return strconv.FormatFloat(v, 'g', 3, 64)
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

package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestChart(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "bench.tsv")
	out := filepath.Join(dir, "bench.png")
	tsv := "# comment\n" +
		"log append\t3.53\tM records/s\n" +
		"baseline\t11.4\tM records/s\n" +
		"\n" +
		"poll p99\t0.6\tms\n"
	if err := os.WriteFile(in, []byte(tsv), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(in, out); err != nil {
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
	// A title, two unit headings, three rows.
	wantW, wantH := width, 2*margin+6*rowH
	if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
		t.Fatalf("size %dx%d, want %dx%d", b.Dx(), b.Dy(), wantW, wantH)
	}
}

func TestParseErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":     "# nothing\n",
		"fields":    "a\t1\n",
		"not a num": "a\tx\tunit\n",
		"negative":  "a\t-1\tunit\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parse(strings.NewReader(in)); err == nil {
				t.Fatal("no error")
			}
		})
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

package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/samsalog/samsa/segment"
)

// partitionDirRE matches "<topic>-<partition>"; deleted topics' directories
// ("<topic>-<partition>.<id>-delete") do not match.
var partitionDirRE = regexp.MustCompile(`^[a-zA-Z0-9._-]+-[0-9]+$`)

// verifyResult is the outcome of verify, the --json output.
type verifyResult struct {
	Dir        string   `json:"dir"`
	OK         bool     `json:"ok"`
	Partitions int      `json:"partitions"`
	Segments   int      `json:"segments"`
	Batches    int64    `json:"batches"`
	Records    int64    `json:"records"`
	Bytes      int64    `json:"bytes"`
	Problems   []string `json:"problems"`
}

func runVerify(e *env, args []string) error {
	fset := e.newFlags("verify", "verify [--json] [--quiet]",
		"Checks every partition of the data directory without taking its lock: every\n"+
			"batch's CRC and structure, offsets increasing without gaps (gaps are allowed in\n"+
			"compacted topics), and every .index and .timeindex entry against the log.\n"+
			"Exits 0 if all is well, 1 on any problem. A running broker may be writing while\n"+
			"it reads, which can show up as a torn tail of an active segment.")
	asJSON := fset.Bool("json", false, "print the result as JSON")
	quiet := fset.Bool("quiet", false, "print nothing but problems")
	if _, err := parse(fset, args); err != nil {
		return err
	}
	if err := e.needDir(); err != nil {
		return err
	}
	if _, err := os.Stat(e.dir); err != nil {
		return err
	}
	compact := map[string]bool{}
	if reg, err := readRegistry(e.dir); err == nil {
		for _, t := range reg.Topics {
			compact[t.Name] = strings.Contains(t.Config["cleanup.policy"], "compact")
		}
	}
	ents, err := os.ReadDir(e.dir)
	if err != nil {
		return err
	}
	var pdirs []string
	var total int64
	for _, de := range ents {
		if !de.IsDir() || !partitionDirRE.MatchString(de.Name()) {
			continue
		}
		pdirs = append(pdirs, de.Name())
		bases, _ := segmentBases(filepath.Join(e.dir, de.Name()))
		for _, b := range bases {
			if fi, err := os.Stat(segment.Filename(filepath.Join(e.dir, de.Name()), b, segment.LogSuffix)); err == nil {
				total += fi.Size()
			}
		}
	}
	res := &verifyResult{Dir: e.dir, Problems: []string{}}
	bar := newProgress(e.stderr, total)
	for _, name := range pdirs {
		topic := name[:strings.LastIndexByte(name, '-')]
		verifyPartition(filepath.Join(e.dir, name), name, compact[topic], res, bar)
	}
	bar.done()
	res.OK = len(res.Problems) == 0
	if *asJSON {
		if err := writeJSON(e.stdout, res); err != nil {
			return err
		}
	} else {
		for _, p := range res.Problems {
			fmt.Fprintf(e.stdout, "PROBLEM %s\n", p)
		}
		if !*quiet {
			fmt.Fprintf(e.stdout, "%s (%s)\n", e.dir, readOnlyNote)
			fmt.Fprintf(e.stdout, "%d partitions, %d segments, %d batches, %d records, %s checked: ",
				res.Partitions, res.Segments, res.Batches, res.Records, humanBytes(res.Bytes))
			if res.OK {
				fmt.Fprintln(e.stdout, "OK")
			} else {
				fmt.Fprintf(e.stdout, "%d problems\n", len(res.Problems))
			}
		}
	}
	if !res.OK {
		return exitError{exitFailure}
	}
	return nil
}

func verifyPartition(pdir, name string, compacted bool, res *verifyResult, bar *progress) {
	res.Partitions++
	bases, err := segmentBases(pdir)
	if err != nil {
		res.Problems = append(res.Problems, fmt.Sprintf("%s: %v", name, err))
		return
	}
	next := int64(-1) // the offset the next batch should have
	for _, base := range bases {
		res.Segments++
		logPath := segment.Filename(pdir, base, segment.LogSuffix)
		rel := filepath.Join(name, filepath.Base(logPath))
		problem := func(format string, args ...any) {
			res.Problems = append(res.Problems, rel+": "+fmt.Sprintf(format, args...))
		}
		data, err := os.ReadFile(logPath)
		if err != nil {
			problem("%v", err)
			continue
		}
		if next >= 0 && base < next {
			problem("base offset %d overlaps the previous segment, which ends at offset %d", base, next)
		} else if next >= 0 && base > next && !compacted {
			problem("offsets %d to %d are missing between segments", next, base-1)
		}
		next = base
		byPos := map[int64]int64{} // batch position -> last offset
		lastOffsets := map[int64]bool{}
		var maxTs int64 = -1
		end, err := scanLog(data, func(b batchInfo) error {
			h := b.Header
			res.Batches++
			res.Records += int64(h.NumRecords)
			switch {
			case h.BaseOffset < next:
				problem("position %d: batch at offset %d, but offset %d was expected", b.Position, h.BaseOffset, next)
			case h.BaseOffset > next && !compacted:
				problem("position %d: offsets %d to %d are missing", b.Position, next, h.BaseOffset-1)
			}
			next = h.NextOffset()
			byPos[b.Position] = h.LastOffset()
			lastOffsets[h.LastOffset()] = true
			maxTs = max(maxTs, h.MaxTimestamp)
			bar.add(int64(len(b.Bytes)))
			return nil
		})
		res.Bytes += end
		bar.add(int64(len(data)) - end)
		if err != nil {
			problem("%v (%d bytes after it unchecked)", err, int64(len(data))-end)
		}
		verifyOffsetIndex(segment.Filename(pdir, base, segment.IndexSuffix), base, end, byPos, problem)
		verifyTimeIndex(segment.Filename(pdir, base, segment.TimeIndexSuffix), base, next, maxTs, lastOffsets, problem)
	}
}

func verifyOffsetIndex(path string, base, end int64, byPos map[int64]int64, problem func(string, ...any)) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return // an index is a cache; the broker rebuilds a missing one
	}
	if err != nil {
		problem("%v", err)
		return
	}
	offs, poss := offsetEntries(data, base)
	for i := range offs {
		if i > 0 && (offs[i] <= offs[i-1] || poss[i] <= poss[i-1]) {
			problem(".index entry %d (offset %d, position %d) does not follow (offset %d, position %d)",
				i, offs[i], poss[i], offs[i-1], poss[i-1])
			continue
		}
		last, ok := byPos[poss[i]]
		switch {
		case poss[i] >= end:
			problem(".index entry %d points at position %d, past the log's end %d", i, poss[i], end)
		case !ok:
			problem(".index entry %d points at position %d, where no batch starts", i, poss[i])
		case last != offs[i]:
			problem(".index entry %d says offset %d at position %d, but that batch's last offset is %d", i, offs[i], poss[i], last)
		}
	}
	for i := len(offs) * 8; i < len(data); i++ {
		if data[i] != 0 {
			problem(".index has non-zero bytes at position %d after its last entry", i)
			break
		}
	}
}

func verifyTimeIndex(path string, base, next, maxTs int64, lastOffsets map[int64]bool, problem func(string, ...any)) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		problem("%v", err)
		return
	}
	tss, offs := timeEntries(data, base)
	for i := range tss {
		if i > 0 && (tss[i] <= tss[i-1] || offs[i] < offs[i-1]) {
			problem(".timeindex entry %d (timestamp %d, offset %d) does not follow (timestamp %d, offset %d)",
				i, tss[i], offs[i], tss[i-1], offs[i-1])
			continue
		}
		switch {
		case offs[i] >= next:
			problem(".timeindex entry %d points at offset %d, past the log's end %d", i, offs[i], next)
		case !lastOffsets[offs[i]]:
			problem(".timeindex entry %d points at offset %d, which ends no batch", i, offs[i])
		case tss[i] > maxTs:
			problem(".timeindex entry %d has timestamp %d, later than any batch's (%d)", i, tss[i], maxTs)
		}
	}
	for i := len(tss) * 12; i < len(data); i++ {
		if data[i] != 0 {
			problem(".timeindex has non-zero bytes at position %d after its last entry", i)
			break
		}
	}
}

// progress draws a progress bar on a terminal, and nothing elsewhere.
type progress struct {
	w                io.Writer
	total, completed int64
	last             int
}

func newProgress(w io.Writer, total int64) *progress {
	f, ok := w.(*os.File)
	if !ok || total <= 0 {
		return &progress{}
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return &progress{}
	}
	return &progress{w: w, total: total, last: -1}
}

func (p *progress) add(n int64) {
	if p.w == nil {
		return
	}
	p.completed += n
	pct := int(p.completed * 100 / p.total)
	if pct == p.last {
		return
	}
	p.last = pct
	const width = 40
	filled := pct * width / 100
	fmt.Fprintf(p.w, "\rverifying [%s%s] %3d%% %s", strings.Repeat("#", filled), strings.Repeat(".", width-filled), pct, humanBytes(p.completed))
}

func (p *progress) done() {
	if p.w != nil {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 72))
	}
}

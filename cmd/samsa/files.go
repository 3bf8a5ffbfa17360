package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/record"
	"github.com/samsalog/samsa/segment"
)

// This file reads a data directory's files directly, without the lock, for
// the read-only commands. It never writes.

// registry is the part of topics.json the tool reads.
type registry struct {
	Version int `json:"version"`
	Topics  []struct {
		Name       string            `json:"name"`
		ID         string            `json:"id"`
		Partitions int32             `json:"partitions"`
		Created    time.Time         `json:"created"`
		Config     map[string]string `json:"config"`
	} `json:"topics"`
}

func readRegistry(dir string) (*registry, error) {
	b, err := os.ReadFile(filepath.Join(dir, "topics.json"))
	if err != nil {
		return nil, err
	}
	var r registry
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "topics.json"), err)
	}
	return &r, nil
}

// segmentBases returns the base offsets of the .log files in a partition
// directory, sorted.
func segmentBases(pdir string) ([]int64, error) {
	ents, err := os.ReadDir(pdir)
	if err != nil {
		return nil, err
	}
	var bases []int64
	for _, de := range ents {
		name, ok := strings.CutSuffix(de.Name(), segment.LogSuffix)
		if !ok || len(name) != 20 {
			continue
		}
		base, err := strconv.ParseInt(name, 10, 64)
		if err != nil {
			continue
		}
		bases = append(bases, base)
	}
	slices.Sort(bases)
	return bases, nil
}

// batchInfo is one batch found in a .log file.
type batchInfo struct {
	Position int64
	Header   record.BatchHeader
	Bytes    []byte
}

// scanLog reads the batches of a .log file's contents in order, calling fn
// for each valid one. It stops at the first bad batch and returns its
// position and error; trailing zero bytes (preallocated space of an active
// segment) end the log quietly.
func scanLog(data []byte, fn func(b batchInfo) error) (end int64, err error) {
	pos := 0
	for pos < len(data) {
		rest := data[pos:]
		if allZero(rest) {
			return int64(pos), nil
		}
		h, batch, _, err := record.NextBatch(rest)
		if err != nil {
			return int64(pos), fmt.Errorf("position %d: %w", pos, err)
		}
		if err := fn(batchInfo{Position: int64(pos), Header: h, Bytes: batch}); err != nil {
			return int64(pos), err
		}
		pos += len(batch)
	}
	return int64(pos), nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// describeFiles builds topic descriptions from the files alone.
func describeFiles(dir, topic string) ([]topicJSON, error) {
	reg, err := readRegistry(dir)
	if err != nil {
		return nil, err
	}
	var out []topicJSON
	found := false
	for _, t := range reg.Topics {
		internal := samsa.IsInternalTopic(t.Name)
		if topic == "" && internal || topic != "" && t.Name != topic {
			continue
		}
		found = true
		tj := topicJSON{Name: t.Name, ID: t.ID, Partitions: t.Partitions, Created: t.Created,
			Overrides: t.Config, ReadOnly: true, Internal: internal}
		if tj.Overrides == nil {
			tj.Overrides = map[string]string{}
		}
		for p := int32(0); p < t.Partitions; p++ {
			pj := partitionJSON{Partition: p}
			pdir := filepath.Join(dir, fmt.Sprintf("%s-%d", t.Name, p))
			bases, err := segmentBases(pdir)
			if err != nil {
				return nil, err
			}
			pj.Segments = len(bases)
			for i, base := range bases {
				path := segment.Filename(pdir, base, segment.LogSuffix)
				fi, err := os.Stat(path)
				if err != nil {
					return nil, err
				}
				pj.SizeBytes += fi.Size()
				if i == 0 {
					pj.LogStartOffset = base
				}
				if i == len(bases)-1 {
					pj.LogEndOffset = base
					data, err := os.ReadFile(path)
					if err != nil {
						return nil, err
					}
					_, _ = scanLog(data, func(b batchInfo) error {
						pj.LogEndOffset = b.Header.NextOffset()
						return nil
					})
					pj.HighWatermark = pj.LogEndOffset
				}
			}
			tj.Details = append(tj.Details, pj)
		}
		out = append(out, tj)
	}
	if topic != "" && !found {
		return nil, fmt.Errorf("unknown topic %q", topic)
	}
	return out, nil
}

package samsa

// The broker keeps its partitions' recovery state the way Kafka does, in two
// text files of the data directory rather than one per partition:
//
//	recovery-point-offset-checkpoint   offsets below which each partition is synced
//	log-start-offset-checkpoint        each partition's first kept offset
//
// Both are Kafka's OffsetCheckpointFile format: a version line "0", a line
// with the number of entries, then one "<topic> <partition> <offset>" line
// per partition. They are replaced atomically (fs.WriteFileAtomic) at Open,
// every Config.CheckpointInterval, after a topic is deleted, and at Close.
//
// The empty file ".clean-shutdown" says the checkpoints were written by a
// Close that synced and sealed every partition: only then does a log trust
// its checkpoint as clean and skip scanning (log.Checkpoint.Clean). Open
// removes it (and syncs the directory) before writing anything else, so a
// crash after Open never leaves a marker that lies.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/samsalog/samsa/internal/fs"
)

const (
	recoveryPointFileName  = "recovery-point-offset-checkpoint"
	logStartOffsetFileName = "log-start-offset-checkpoint"
	cleanShutdownFileName  = ".clean-shutdown"
	// checkpointVersion is the version line of Kafka's checkpoint files.
	checkpointVersion = 0
	// maxCheckpointBytes bounds what is read of a checkpoint file: ~30
	// bytes a partition, so room for millions of partitions.
	maxCheckpointBytes = 256 << 20
)

// topicPartition names one partition.
type topicPartition struct {
	topic     string
	partition int32
}

// checkpointEntry is one partition's line in both checkpoint files.
type checkpointEntry struct {
	tp             topicPartition
	recoveryPoint  int64
	logStartOffset int64
}

// encodeCheckpoint writes Kafka's checkpoint text for the entries, taking
// each one's offset with get. Entries are written in the order given.
func encodeCheckpoint(entries []checkpointEntry, get func(*checkpointEntry) int64) []byte {
	var b bytes.Buffer
	b.Grow(16 + 40*len(entries))
	fmt.Fprintf(&b, "%d\n%d\n", checkpointVersion, len(entries))
	var num []byte
	for i := range entries {
		e := &entries[i]
		b.WriteString(e.tp.topic)
		b.WriteByte(' ')
		num = strconv.AppendInt(num[:0], int64(e.tp.partition), 10)
		b.Write(num)
		b.WriteByte(' ')
		num = strconv.AppendInt(num[:0], get(e), 10)
		b.Write(num)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// decodeCheckpoint parses Kafka's checkpoint text. Anything else (another
// version, a count that does not match, a malformed line, a negative
// offset, a partition listed twice) is an error naming the line.
func decodeCheckpoint(data []byte) (map[topicPartition]int64, error) {
	text := string(data)
	lines := strings.Split(text, "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	if len(lines) < 2 {
		return nil, errors.New("missing version or count line")
	}
	if v, err := strconv.Atoi(lines[0]); err != nil || v != checkpointVersion {
		return nil, fmt.Errorf("line 1: version %q, want %d", lines[0], checkpointVersion)
	}
	count, err := strconv.Atoi(lines[1])
	if err != nil || count < 0 {
		return nil, fmt.Errorf("line 2: bad entry count %q", lines[1])
	}
	if count != len(lines)-2 {
		return nil, fmt.Errorf("line 2: %d entries announced, %d present", count, len(lines)-2)
	}
	out := make(map[topicPartition]int64, count)
	for i, line := range lines[2:] {
		f := strings.Split(line, " ")
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: malformed %q", i+3, line)
		}
		p, perr := strconv.ParseInt(f[1], 10, 32)
		off, oerr := strconv.ParseInt(f[2], 10, 64)
		if ValidateTopicName(f[0]) != nil || perr != nil || p < 0 || oerr != nil || off < 0 {
			return nil, fmt.Errorf("line %d: malformed %q", i+3, line)
		}
		tp := topicPartition{f[0], int32(p)}
		if _, dup := out[tp]; dup {
			return nil, fmt.Errorf("line %d: %s-%d listed twice", i+3, tp.topic, tp.partition)
		}
		out[tp] = off
	}
	return out, nil
}

// loadedCheckpoints is what Open found in the data directory.
type loadedCheckpoints struct {
	clean          bool // .clean-shutdown was present
	recoveryPoints map[topicPartition]int64
	logStarts      map[topicPartition]int64
}

// loadCheckpoints reads both checkpoint files (a missing or unreadable file
// is no checkpoint: its partitions are recovered from offset 0, which is
// slow but safe, and a warning is logged) and removes any temp files an
// interrupted atomic replace left.
func (b *Broker) loadCheckpoints(clean bool) loadedCheckpoints {
	lc := loadedCheckpoints{clean: clean}
	read := func(name string) map[topicPartition]int64 {
		path := filepath.Join(b.dir, name)
		if err := b.fs.Remove(path + ".tmp"); err != nil && !errors.Is(err, os.ErrNotExist) {
			b.logger.Warn("samsa: could not remove stale checkpoint temp file", "file", path+".tmp", "err", err)
		}
		data, err := readFileFS(b.fs, path, maxCheckpointBytes)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err == nil {
			var m map[topicPartition]int64
			if m, err = decodeCheckpoint(data); err == nil {
				return m
			}
		}
		b.logger.Warn("samsa: ignoring unreadable checkpoint file: its partitions are recovered in full",
			"file", path, "err", err)
		lc.clean = false
		return nil
	}
	lc.recoveryPoints = read(recoveryPointFileName)
	lc.logStarts = read(logStartOffsetFileName)
	return lc
}

// writeCheckpointsLocked writes both checkpoint files from the partitions
// open now (b.adminMu held, so that no topic comes or goes meanwhile:
// the files never name a partition the registry does not hold). Entries are
// sorted by topic, then partition.
func (b *Broker) writeCheckpointsLocked() error {
	tm := b.topicMap()
	var entries []checkpointEntry
	for _, t := range tm {
		for _, p := range t.parts {
			ck := p.Checkpoint()
			entries = append(entries, checkpointEntry{
				tp:             topicPartition{t.meta.name, p.ID()},
				recoveryPoint:  ck.RecoveryPoint,
				logStartOffset: ck.LogStartOffset,
			})
		}
	}
	return b.writeCheckpointEntries(entries)
}

func (b *Broker) writeCheckpointEntries(entries []checkpointEntry) error {
	slices.SortFunc(entries, func(x, y checkpointEntry) int {
		if c := strings.Compare(x.tp.topic, y.tp.topic); c != 0 {
			return c
		}
		return int(x.tp.partition) - int(y.tp.partition)
	})
	rp := encodeCheckpoint(entries, func(e *checkpointEntry) int64 { return e.recoveryPoint })
	if err := fs.WriteFileAtomic(b.fs, filepath.Join(b.dir, recoveryPointFileName), rp); err != nil {
		b.stats.checkpointErrors.Add(1)
		return fmt.Errorf("samsa: write %s: %w", recoveryPointFileName, err)
	}
	ls := encodeCheckpoint(entries, func(e *checkpointEntry) int64 { return e.logStartOffset })
	if err := fs.WriteFileAtomic(b.fs, filepath.Join(b.dir, logStartOffsetFileName), ls); err != nil {
		b.stats.checkpointErrors.Add(1)
		return fmt.Errorf("samsa: write %s: %w", logStartOffsetFileName, err)
	}
	b.stats.checkpoints.Add(1)
	return nil
}

// removeCleanShutdown removes the clean-shutdown marker, durably, and
// reports whether it was there.
func removeCleanShutdown(fsys fs.FS, dir string) (bool, error) {
	path := filepath.Join(dir, cleanShutdownFileName)
	if _, err := fsys.Stat(path); errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("samsa: stat %s: %w", path, err)
	}
	if err := fsys.Remove(path); err != nil {
		return false, fmt.Errorf("samsa: remove %s: %w", path, err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		return false, fmt.Errorf("samsa: sync %s: %w", dir, err)
	}
	return true, nil
}

// writeCleanShutdown creates the clean-shutdown marker, durably.
func writeCleanShutdown(fsys fs.FS, dir string) error {
	if err := fs.WriteFileAtomic(fsys, filepath.Join(dir, cleanShutdownFileName), nil); err != nil {
		return fmt.Errorf("samsa: write %s: %w", cleanShutdownFileName, err)
	}
	return nil
}

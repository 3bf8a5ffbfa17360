package log

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/samsalog/samsa/internal/fs"
)

// CheckpointFile is the name, inside the log's directory, of the file in
// which a log that was given no Config.Checkpoint keeps its recovery state.
const CheckpointFile = ".checkpoint"

// checkpointMagic is the first line of a checkpoint file.
const checkpointMagic = "samsa-log-checkpoint 1"

// maxCheckpointSize bounds how much of a checkpoint file is read.
const maxCheckpointSize = 4096

// Checkpoint is a log's recovery state: what must survive between an Open
// and the next to make the next one fast and correct.
type Checkpoint struct {
	// RecoveryPoint is an offset below which all data was fsynced when the
	// checkpoint was taken. After an unclean stop, recovery validates only
	// the segments from the one holding RecoveryPoint onwards, and damage
	// below it is ErrCorrupt, never cut.
	RecoveryPoint int64
	// LogStartOffset is the first offset still readable (moved by
	// retention and DeleteRecordsBefore).
	LogStartOffset int64
	// Clean is true only in a checkpoint taken by a successful Close: the
	// next Open then trusts the segments and their indexes and scans no
	// data. An open log's checkpoint is never clean.
	Clean bool
}

// encodeCheckpoint renders cp in the checkpoint file format: a few text
// lines an operator can read, closed by a CRC-32C of everything before it:
//
//	samsa-log-checkpoint 1
//	recovery-point <offset>
//	log-start-offset <offset>
//	clean <0|1>
//	crc32c <8 hex digits>
func encodeCheckpoint(cp Checkpoint) []byte {
	clean := 0
	if cp.Clean {
		clean = 1
	}
	b := fmt.Appendf(nil, "%s\nrecovery-point %d\nlog-start-offset %d\nclean %d\n",
		checkpointMagic, cp.RecoveryPoint, cp.LogStartOffset, clean)
	return fmt.Appendf(b, "crc32c %08x\n", crc32.Checksum(b, castagnoli))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// decodeCheckpoint parses a checkpoint file's contents.
func decodeCheckpoint(b []byte) (Checkpoint, error) {
	var cp Checkpoint
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) != 6 || len(lines[5]) != 0 {
		return cp, errors.New("want 5 lines")
	}
	if string(lines[0]) != checkpointMagic {
		return cp, fmt.Errorf("bad first line %q", lines[0])
	}
	crcLine := lines[4]
	body := b[:len(b)-len(crcLine)-1]
	var err error
	field := func(line []byte, name string) int64 {
		v, ok := bytes.CutPrefix(line, []byte(name+" "))
		if !ok && err == nil {
			err = fmt.Errorf("want %q, got %q", name, line)
			return 0
		}
		n, perr := strconv.ParseInt(string(v), 10, 64)
		if perr != nil && err == nil {
			err = fmt.Errorf("bad %s: %w", name, perr)
		}
		return n
	}
	cp.RecoveryPoint = field(lines[1], "recovery-point")
	cp.LogStartOffset = field(lines[2], "log-start-offset")
	clean := field(lines[3], "clean")
	hex, ok := bytes.CutPrefix(crcLine, []byte("crc32c "))
	if err == nil && (!ok || len(hex) != 8) {
		err = fmt.Errorf("bad crc line %q", crcLine)
	}
	if err != nil {
		return Checkpoint{}, err
	}
	want, perr := strconv.ParseUint(string(hex), 16, 32)
	if perr != nil {
		return Checkpoint{}, fmt.Errorf("bad crc: %w", perr)
	}
	if got := crc32.Checksum(body, castagnoli); uint32(want) != got {
		return Checkpoint{}, fmt.Errorf("crc mismatch: file says %08x, contents give %08x", want, got)
	}
	if clean != 0 && clean != 1 {
		return Checkpoint{}, fmt.Errorf("bad clean flag %d", clean)
	}
	if cp.RecoveryPoint < 0 || cp.LogStartOffset < 0 {
		return Checkpoint{}, fmt.Errorf("negative offset")
	}
	cp.Clean = clean == 1
	return cp, nil
}

// readCheckpointFile reads dir's checkpoint file. A missing file is
// (Checkpoint{}, false, nil): a new log, or one whose state was lost, which
// recovery then treats as unclean from offset 0. A damaged file is
// ErrCorrupt: it is replaced atomically, so damage is not a crash artefact,
// and guessing could cut synced data.
func readCheckpointFile(fsys fs.FS, dir string) (cp Checkpoint, found bool, err error) {
	path := filepath.Join(dir, CheckpointFile)
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return Checkpoint{}, false, nil
	}
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("log: open checkpoint: %w", err)
	}
	defer f.Close()
	buf := make([]byte, maxCheckpointSize)
	n, err := f.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		return Checkpoint{}, false, fmt.Errorf("log: read checkpoint: %w", err)
	}
	cp, err = decodeCheckpoint(buf[:n])
	if err != nil {
		return Checkpoint{}, false, &CorruptError{File: path, Position: -1, Err: err}
	}
	return cp, true, nil
}

// writeCheckpointFile replaces dir's checkpoint file atomically (temp file,
// fsync, rename, fsync directory).
func writeCheckpointFile(fsys fs.FS, dir string, cp Checkpoint) error {
	if err := fs.WriteFileAtomic(fsys, filepath.Join(dir, CheckpointFile), encodeCheckpoint(cp)); err != nil {
		return fmt.Errorf("log: write checkpoint: %w", err)
	}
	return nil
}

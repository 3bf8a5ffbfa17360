package main

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/samsalog/samsa/record"
	"github.com/samsalog/samsa/segment"
)

// snapshotSuffix names a producer-state snapshot (partition package).
const snapshotSuffix = ".snapshot"

func runDump(e *env, args []string) error {
	fs := e.newFlags("dump", "dump [--print-data-log] [--max-bytes N] FILE...",
		"Prints a segment file as kafka-dump-log does: the batches of a .log file (with\n"+
			"--print-data-log their records), the entries of an .index or .timeindex file,\n"+
			"or the producers of a .snapshot file. It reads the file without any lock:\n"+
			"a running broker may be writing it.")
	printData := fs.Bool("print-data-log", false, "print each record of a .log file")
	maxBytes := fs.Int64("max-bytes", 0, "stop after this many bytes of a .log file (0: all)")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("dump: no file given")
	}
	failed := false
	for _, f := range files {
		fmt.Fprintf(e.stdout, "Dumping %s\n", f)
		if err := dumpFile(e.stdout, f, *printData, *maxBytes); err != nil {
			e.errf("dump %s: %v", f, err)
			failed = true
		}
	}
	if failed {
		return exitError{exitFailure}
	}
	return nil
}

// fileBase returns the base offset in a segment file's name.
func fileBase(path string) (int64, error) {
	name := filepath.Base(path)
	if i := strings.IndexByte(name, '.'); i >= 0 {
		name = name[:i]
	}
	base, err := strconv.ParseInt(name, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("file name does not start with a base offset")
	}
	return base, nil
}

func dumpFile(w io.Writer, path string, printData bool, maxBytes int64) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	base, err := fileBase(path)
	if err != nil {
		return err
	}
	switch {
	case strings.HasSuffix(path, segment.LogSuffix):
		return dumpLog(w, data, printData, maxBytes)
	case strings.HasSuffix(path, segment.IndexSuffix):
		return dumpOffsetIndex(w, data, base)
	case strings.HasSuffix(path, segment.TimeIndexSuffix):
		return dumpTimeIndex(w, data, base)
	case strings.HasSuffix(path, snapshotSuffix):
		return dumpSnapshot(w, data)
	}
	return fmt.Errorf("unknown file type (want .log, .index, .timeindex or .snapshot)")
}

func dumpLog(w io.Writer, data []byte, printData bool, maxBytes int64) error {
	if maxBytes > 0 && int64(len(data)) > maxBytes {
		data = data[:maxBytes]
	}
	fmt.Fprintf(w, "Log starting offset: ")
	if h, err := record.ParseBatchHeader(data); err == nil {
		fmt.Fprintf(w, "%d\n", h.BaseOffset)
	} else {
		fmt.Fprintf(w, "(empty)\n")
	}
	var dec record.Decoder
	var recs []record.Record
	end, err := scanLog(data, func(b batchInfo) error {
		h := b.Header
		fmt.Fprintf(w, "baseOffset: %d lastOffset: %d count: %d baseSequence: %d lastSequence: %d producerId: %d producerEpoch: %d partitionLeaderEpoch: %d isTransactional: %t isControl: %t deleteHorizonMs: %s position: %d %s: %d size: %d magic: %d compresscodec: %s crc: %d isvalid: true\n",
			h.BaseOffset, h.LastOffset(), h.NumRecords, h.BaseSequence, lastSequence(h), h.ProducerID, h.ProducerEpoch,
			h.LeaderEpoch, h.Attributes.Transactional(), h.Attributes.Control(), deleteHorizon(h), b.Position,
			timestampType(h), h.MaxTimestamp, h.Size(), h.Magic, h.Attributes.Compression(), h.CRC)
		if !printData {
			return nil
		}
		var derr error
		_, recs, derr = dec.Decode(b.Bytes, recs[:0])
		if derr != nil {
			return fmt.Errorf("position %d: %w", b.Position, derr)
		}
		for _, r := range recs {
			fmt.Fprintf(w, "| offset: %d %s: %d keySize: %d valueSize: %d sequence: %d headerKeys: [%s]",
				r.Offset, timestampType(h), r.Timestamp.UnixMilli(), size(r.Key), size(r.Value),
				sequence(h, r.Offset), headerKeys(r.Headers))
			if h.Attributes.Control() {
				typ, _, cerr := record.ParseControlRecord(r.Key, r.Value)
				if cerr == nil {
					fmt.Fprintf(w, " endTxnMarker: %s", typ)
				}
			} else {
				if r.Key != nil {
					fmt.Fprintf(w, " key: %s", r.Key)
				}
				fmt.Fprintf(w, " payload: %s", orNull(r.Value))
			}
			fmt.Fprintln(w)
		}
		return nil
	})
	if err != nil {
		fmt.Fprintf(w, "Found invalid batch at position %d: %v\n", end, err)
		return err
	}
	if tail := int64(len(data)) - end; tail > 0 {
		fmt.Fprintf(w, "(%d bytes of unused preallocated space at position %d)\n", tail, end)
	}
	return nil
}

func size(b []byte) int {
	if b == nil {
		return -1
	}
	return len(b)
}

func timestampType(h record.BatchHeader) string {
	if h.Attributes.LogAppendTime() {
		return "LogAppendTime"
	}
	return "CreateTime"
}

func lastSequence(h record.BatchHeader) int32 {
	if h.BaseSequence < 0 {
		return -1
	}
	return int32((int64(h.BaseSequence) + int64(h.LastOffsetDelta)) % (1 << 31))
}

func sequence(h record.BatchHeader, offset int64) int32 {
	if h.BaseSequence < 0 {
		return -1
	}
	return int32((int64(h.BaseSequence) + offset - h.BaseOffset) % (1 << 31))
}

func deleteHorizon(h record.BatchHeader) string {
	if h.Attributes.HasDeleteHorizon() {
		return strconv.FormatInt(h.BaseTimestamp, 10)
	}
	return "OptionalLong.empty"
}

func headerKeys(hs []record.Header) string {
	keys := make([]string, len(hs))
	for i, h := range hs {
		keys[i] = h.Key
	}
	return strings.Join(keys, ",")
}

// offsetEntries returns the entries of an offset index up to its first
// all-zero slot (the end, found from the contents as the index package does).
func offsetEntries(data []byte, base int64) (offs, poss []int64) {
	for i := 0; i+8 <= len(data); i += 8 {
		rel := binary.BigEndian.Uint32(data[i:])
		pos := binary.BigEndian.Uint32(data[i+4:])
		if rel == 0 && pos == 0 {
			break
		}
		offs = append(offs, base+int64(rel))
		poss = append(poss, int64(pos))
	}
	return offs, poss
}

// timeEntries returns the entries of a time index up to its first all-zero
// slot.
func timeEntries(data []byte, base int64) (tss, offs []int64) {
	for i := 0; i+12 <= len(data); i += 12 {
		ts := int64(binary.BigEndian.Uint64(data[i:]))
		rel := binary.BigEndian.Uint32(data[i+8:])
		if ts == 0 && rel == 0 {
			break
		}
		tss = append(tss, ts)
		offs = append(offs, base+int64(rel))
	}
	return tss, offs
}

func dumpOffsetIndex(w io.Writer, data []byte, base int64) error {
	offs, poss := offsetEntries(data, base)
	for i := range offs {
		fmt.Fprintf(w, "offset: %d position: %d\n", offs[i], poss[i])
	}
	if len(data)%8 != 0 {
		return fmt.Errorf("size %d is not a multiple of 8", len(data))
	}
	return nil
}

func dumpTimeIndex(w io.Writer, data []byte, base int64) error {
	tss, offs := timeEntries(data, base)
	for i := range tss {
		fmt.Fprintf(w, "timestamp: %d offset: %d\n", tss[i], offs[i])
	}
	if len(data)%12 != 0 {
		return fmt.Errorf("size %d is not a multiple of 12", len(data))
	}
	return nil
}

// dumpSnapshot prints a producer-state snapshot, version 1: version int16,
// CRC-32C of [6, end) uint32, count int32, then 46-byte entries.
func dumpSnapshot(w io.Writer, data []byte) error {
	if len(data) < 10 {
		return fmt.Errorf("snapshot of %d bytes is shorter than its header", len(data))
	}
	version := int16(binary.BigEndian.Uint16(data))
	crc := binary.BigEndian.Uint32(data[2:])
	count := int32(binary.BigEndian.Uint32(data[6:]))
	if version != 1 {
		return fmt.Errorf("unknown snapshot version %d", version)
	}
	if got := crc32.Checksum(data[6:], crc32.MakeTable(crc32.Castagnoli)); got != crc {
		return fmt.Errorf("snapshot CRC mismatch: stored %d, computed %d", crc, got)
	}
	if count < 0 || int64(len(data)) != 10+46*int64(count) {
		return fmt.Errorf("snapshot of %d bytes does not hold %d entries", len(data), count)
	}
	for i := 0; i < int(count); i++ {
		b := data[10+46*i:]
		fmt.Fprintf(w, "producerId: %d producerEpoch: %d lastSequence: %d lastOffset: %d offsetDelta: %d lastTimestamp: %d coordinatorEpoch: %d currentTxnFirstOffset: %d\n",
			int64(binary.BigEndian.Uint64(b)), int16(binary.BigEndian.Uint16(b[8:])), int32(binary.BigEndian.Uint32(b[10:])),
			int64(binary.BigEndian.Uint64(b[14:])), int32(binary.BigEndian.Uint32(b[22:])), int64(binary.BigEndian.Uint64(b[26:])),
			int32(binary.BigEndian.Uint32(b[34:])), int64(binary.BigEndian.Uint64(b[38:])))
	}
	return nil
}

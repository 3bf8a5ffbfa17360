package partition

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/record"
)

// The producer-state snapshot: Kafka's .snapshot file, version 1
// (kafka-internals §3.5, ProducerStateManager.writeSnapshot), named by the
// offset it describes, <20 digits>.snapshot, beside the segments:
//
//	offset  size  field
//	     0     2  version int16 = 1
//	     2     4  CRC-32C (Castagnoli) of bytes [6, end), uint32
//	     6     4  entry count int32
//	    10  46*n  entries:
//	                producerId int64, epoch int16, lastSequence int32,
//	                lastOffset int64, offsetDelta int32 (lastSequence -
//	                firstSequence of the batch), timestamp int64 (the
//	                batch's max timestamp), coordinatorEpoch int32 (-1),
//	                currentTxnFirstOffset int64 (-1: no open transaction)
//
// A snapshot at offset X is the state after every batch below X. Kafka
// writes one entry per producer, its newest batch; samsa writes one entry
// per remembered batch, up to five per producer, oldest first and the
// producers in increasing ID order. The bytes are Kafka's layout, and
// Kafka's reader, which keeps the last entry it reads for a producer ID,
// gets from it exactly the state Kafka would have written; samsa's reader
// gets the whole dedup window back.
//
// The timestamp of a producer's newest entry is also what the producer is
// aged from after a restart (Kafka's lastTimestamp). For a CreateTime
// topic samsa writes there the later of the batch's max timestamp and the
// broker's time the producer was last seen (see producerEntry.lastSeen),
// so that a producer writing old timestamps does not expire at the next
// Open; nothing reads a CreateTime batch's timestamp otherwise.
const (
	snapshotSuffix     = ".snapshot"
	snapshotVersion    = 1
	snapshotHeaderSize = 10
	snapshotEntrySize  = 46
	// snapshotMaxBytes bounds what Open reads: 10 million entries.
	snapshotMaxBytes = snapshotHeaderSize + 10_000_000*snapshotEntrySize
	// snapshotsKept is how many snapshots stay after a new one is
	// written: the newest, and one older in case the newest is damaged.
	snapshotsKept = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errBadSnapshot is matched by the error of decodeSnapshot: the file is
// not a valid snapshot and is deleted and ignored.
var errBadSnapshot = errors.New("partition: bad producer snapshot")

// snapshotName returns the file name of the snapshot at offset.
func snapshotName(offset int64) string { return fmt.Sprintf("%020d%s", offset, snapshotSuffix) }

// parseSnapshotName returns the offset a snapshot file name carries.
func parseSnapshotName(name string) (int64, bool) {
	num, ok := strings.CutSuffix(name, snapshotSuffix)
	if !ok || len(num) != 20 {
		return 0, false
	}
	off, err := strconv.ParseInt(num, 10, 64)
	return off, err == nil && off >= 0
}

// encodeSnapshot returns the snapshot of s.
func (s *producerStates) encodeSnapshot() []byte {
	n := 0
	for _, e := range s.m {
		n += e.n
	}
	b := make([]byte, snapshotHeaderSize, snapshotHeaderSize+n*snapshotEntrySize)
	binary.BigEndian.PutUint16(b[0:], snapshotVersion)
	binary.BigEndian.PutUint32(b[6:], uint32(n))
	for _, pid := range s.producerIDs() {
		e := s.m[pid]
		for i := range e.n {
			m := &e.batches[(e.head+i)%producerWindow]
			ts := m.timestamp
			if i == e.n-1 && !s.logAppendTime {
				ts = max(ts, e.lastSeen)
			}
			b = binary.BigEndian.AppendUint64(b, uint64(pid))
			b = binary.BigEndian.AppendUint16(b, uint16(e.epoch))
			b = binary.BigEndian.AppendUint32(b, uint32(m.lastSeq))
			b = binary.BigEndian.AppendUint64(b, uint64(m.lastOffset))
			b = binary.BigEndian.AppendUint32(b, uint32(m.offsetDelta))
			b = binary.BigEndian.AppendUint64(b, uint64(ts))
			b = binary.BigEndian.AppendUint32(b, math.MaxUint32) // coordinatorEpoch -1
			b = binary.BigEndian.AppendUint64(b, math.MaxUint64) // currentTxnFirstOffset -1
		}
	}
	binary.BigEndian.PutUint32(b[2:], crc32.Checksum(b[6:], castagnoli))
	return b
}

// decodeSnapshot loads the snapshot data, taken at offset, into s, which
// must be empty. Every entry is checked: version, CRC, count against the
// size, and per entry a producer ID, epoch and sequence >= 0, offsets
// within [0, offset), and a producer's entries together with increasing
// offsets. Errors match errBadSnapshot; s is then to be discarded.
func (s *producerStates) decodeSnapshot(data []byte, offset int64) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", errBadSnapshot, fmt.Sprintf(format, args...))
	}
	if len(data) < snapshotHeaderSize {
		return bad("%d bytes, shorter than its header", len(data))
	}
	if v := int16(binary.BigEndian.Uint16(data[0:])); v != snapshotVersion {
		return bad("version %d, want %d", v, snapshotVersion)
	}
	if stored, got := binary.BigEndian.Uint32(data[2:]), crc32.Checksum(data[6:], castagnoli); stored != got {
		return bad("CRC-32C %#08x, computed %#08x", stored, got)
	}
	count := int64(int32(binary.BigEndian.Uint32(data[6:])))
	if count < 0 || int64(len(data)) != snapshotHeaderSize+count*snapshotEntrySize {
		return bad("%d entries in %d bytes", count, len(data))
	}
	seen := make(map[int64]bool)
	prev := int64(-1)
	for i, b := 0, data[snapshotHeaderSize:]; len(b) > 0; i, b = i+1, b[snapshotEntrySize:] {
		pid := int64(binary.BigEndian.Uint64(b[0:]))
		epoch := int16(binary.BigEndian.Uint16(b[8:]))
		m := batchMetadata{
			lastSeq:     int32(binary.BigEndian.Uint32(b[10:])),
			lastOffset:  int64(binary.BigEndian.Uint64(b[14:])),
			offsetDelta: int32(binary.BigEndian.Uint32(b[22:])),
			timestamp:   int64(binary.BigEndian.Uint64(b[26:])),
		}
		// b[34:38] coordinatorEpoch and b[38:46] currentTxnFirstOffset
		// belong to transactions, which a partition does not have yet.
		if pid < 0 || epoch < 0 || m.lastSeq < 0 || m.offsetDelta < 0 || m.lastOffset >= offset || m.firstOffset() < 0 {
			return bad("entry %d: producer id %d, epoch %d, last sequence %d, offsets [%d, %d] (snapshot at %d)",
				i, pid, epoch, m.lastSeq, m.firstOffset(), m.lastOffset, offset)
		}
		if pid != prev {
			if seen[pid] {
				return bad("entry %d: producer id %d again after others", i, pid)
			}
			seen[pid] = true
		} else if m.firstOffset() <= s.m[pid].newest().lastOffset {
			return bad("entry %d: producer id %d: offsets do not increase", i, pid)
		}
		prev = pid
		s.record(pid, epoch, m)
	}
	return nil
}

// listSnapshots returns the offsets of the snapshot files in the
// partition's directory, in increasing order.
func (p *Partition) listSnapshots() ([]int64, error) {
	entries, err := p.fsys.ReadDir(p.log.Dir())
	if err != nil {
		return nil, err
	}
	var offs []int64
	for _, e := range entries {
		if off, ok := parseSnapshotName(e.Name()); ok && !e.IsDir() {
			offs = append(offs, off)
		}
	}
	slices.Sort(offs)
	return offs, nil
}

// readSnapshot reads the snapshot file at offset, at most
// snapshotMaxBytes of it.
func (p *Partition) readSnapshot(offset int64) ([]byte, error) {
	f, err := p.fsys.OpenFile(filepath.Join(p.log.Dir(), snapshotName(offset)), os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > snapshotMaxBytes {
		return nil, fmt.Errorf("%w: %d bytes", errBadSnapshot, fi.Size())
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil && !(errors.Is(err, io.EOF) && len(data) == 0) {
		return nil, err
	}
	return data, nil
}

// removeSnapshot deletes the snapshot file at offset.
func (p *Partition) removeSnapshot(offset int64) error {
	return p.fsys.Remove(filepath.Join(p.log.Dir(), snapshotName(offset)))
}

// loadProducers rebuilds the producer state at Open (Kafka's
// ProducerStateManager.truncateAndReload and UnifiedLog.loadProducerState):
//
//  1. Snapshots past the log end offset describe records the log no
//     longer has (a torn tail was cut after a power loss) and are deleted,
//     durably, before any append could reach their offset again; those at
//     or below the log start offset describe nothing left and are deleted.
//  2. The newest remaining snapshot that decodes is loaded; a damaged one
//     (bad version, CRC or contents) is deleted and the next older tried.
//  3. The batch headers from the snapshot's offset (without one, from the
//     log start offset) to the log end offset are replayed, reading no
//     record: after a clean Close the snapshot is at the log end offset
//     and nothing is read; after a crash, what was appended since the
//     last segment roll; without any snapshot, the whole log.
//  4. Producers whose newest batch is below the log start offset, and
//     expired producers, are dropped.
//  5. If anything was replayed, a snapshot is written at the log end
//     offset, so that the next Open does not replay it again.
//
// It runs before the partition is shared, so it takes no lock.
func (p *Partition) loadProducers() error {
	start, end := p.log.StartOffset(), p.log.EndOffset()
	offs, err := p.listSnapshots()
	if err != nil {
		return fmt.Errorf("partition: open: list snapshots: %w", err)
	}
	from, loaded, removedAhead := start, false, false
	for i := len(offs) - 1; i >= 0; i-- {
		off := offs[i]
		if off > end || off <= start {
			if err := p.removeSnapshot(off); err != nil {
				return fmt.Errorf("partition: open: remove snapshot: %w", err)
			}
			removedAhead = removedAhead || off > end
			continue
		}
		if loaded {
			continue
		}
		data, err := p.readSnapshot(off)
		if err == nil {
			s := newProducerStates(p.producers.expiration, p.producers.logAppendTime)
			if err = s.decodeSnapshot(data, off); err == nil {
				p.producers, from, loaded, p.snapshotAt = s, off, true, off
				continue
			}
		}
		if !errors.Is(err, errBadSnapshot) {
			return fmt.Errorf("partition: open: read snapshot %s: %w", snapshotName(off), err)
		}
		p.logWarn("partition: ignored a damaged producer snapshot, rebuilding from the log", "file", snapshotName(off), "err", err)
		if err := p.removeSnapshot(off); err != nil {
			return fmt.Errorf("partition: open: remove snapshot: %w", err)
		}
	}
	if removedAhead {
		if err := p.fsys.SyncDir(p.log.Dir()); err != nil {
			return fmt.Errorf("partition: open: %w", err)
		}
	}
	batches, err := p.replayProducers(from, end)
	if err != nil {
		return err
	}
	p.producers.dropBefore(start)
	p.producers.expire(p.now())
	if from < end {
		p.logger.Info("partition: rebuilt producer state from the log", "dir", p.log.Dir(),
			"from", from, "to", end, "batches", batches, "producers", p.producers.count.Load())
		if err := p.snapshotLocked(end); err != nil {
			p.logWarn("partition: producer snapshot not written", "err", err)
		}
	}
	return nil
}

// replayProducers feeds the producer state every batch header in [from,
// to) and returns how many it read. It reads the log through its mapping
// and parses headers only (the log validated the batches when it wrote or
// recovered them).
func (p *Partition) replayProducers(from, to int64) (int, error) {
	n := 0
	for off := from; off < to; {
		v, err := p.log.Read(off, math.MaxInt32, -1)
		if err != nil {
			return n, fmt.Errorf("partition: open: replay producer state at offset %d: %w", off, wrapLog(err))
		}
		if v.Len() == 0 {
			break // nothing at or past off: the log's end
		}
		for data := v.Data; len(data) > 0; {
			h, err := record.ParseBatchHeader(data)
			if err == nil && h.Size() > len(data) {
				err = record.ErrTruncated
			}
			if err != nil {
				v.Release()
				return n, fmt.Errorf("partition: open: replay producer state at offset %d: %w", off, err)
			}
			if h.LastOffset() >= from {
				p.producers.replayed(h)
			}
			off = h.NextOffset()
			n++
			data = data[h.Size():]
		}
		v.Release()
	}
	return n, nil
}

// snapshotLocked expires producers, writes the snapshot of the producer
// state at offset (atomically: temp file, fsync, rename, fsync of the
// directory) and deletes the snapshots that are no longer needed: all but
// the newest snapshotsKept, and those outside (log start, offset]. The
// caller holds the append mutex (or owns the partition alone) and
// guarantees that the state is the state at offset.
//
// Nothing is written when offset is at or below the log start offset: a
// snapshot there would hold nothing Open keeps.
func (p *Partition) snapshotLocked(offset int64) error {
	p.producers.expire(p.now())
	start := p.log.StartOffset()
	if offset <= start {
		return nil
	}
	if err := fs.WriteFileAtomic(p.fsys, filepath.Join(p.log.Dir(), snapshotName(offset)), p.producers.encodeSnapshot()); err != nil {
		return fmt.Errorf("partition: write producer snapshot: %w", err)
	}
	p.snapshotAt = offset
	offs, err := p.listSnapshots()
	if err != nil {
		return fmt.Errorf("partition: list producer snapshots: %w", err)
	}
	kept := 0
	for i := len(offs) - 1; i >= 0; i-- {
		off := offs[i]
		if off <= offset && off > start && kept < snapshotsKept {
			kept++
			continue
		}
		// A deletion need not be durable: an older snapshot that comes
		// back after a crash is still valid, only older.
		if err := p.removeSnapshot(off); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("partition: remove producer snapshot: %w", err)
		}
	}
	return nil
}

// logWarn logs to the log's Logger, with the partition's directory.
func (p *Partition) logWarn(msg string, args ...any) {
	p.logger.Warn(msg, append([]any{"dir", p.log.Dir()}, args...)...)
}

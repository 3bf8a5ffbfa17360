package record

import (
	"encoding/binary"
	"strconv"
)

// ControlType is the type in a control record's key (Kafka's
// ControlRecordType).
type ControlType int16

// Control record types. Readers ignore types they do not know.
const (
	// ControlAbort marks the end of an aborted transaction.
	ControlAbort ControlType = 0
	// ControlCommit marks the end of a committed transaction.
	ControlCommit ControlType = 1
	// ControlLeaderChange is written by KRaft on a leader change.
	ControlLeaderChange ControlType = 2
	// ControlSnapshotHeader starts a KRaft snapshot.
	ControlSnapshotHeader ControlType = 3
	// ControlSnapshotFooter ends a KRaft snapshot.
	ControlSnapshotFooter ControlType = 4
	// ControlKRaftVersion records the KRaft version.
	ControlKRaftVersion ControlType = 5
	// ControlKRaftVoters records the KRaft voter set.
	ControlKRaftVoters ControlType = 6
)

var controlNames = [...]string{"ABORT", "COMMIT", "LEADER_CHANGE", "SNAPSHOT_HEADER",
	"SNAPSHOT_FOOTER", "KRAFT_VERSION", "KRAFT_VOTERS"}

// String returns Kafka's name for t ("ABORT", "COMMIT", ...), or "UNKNOWN(n)".
func (t ControlType) String() string {
	if t >= 0 && int(t) < len(controlNames) {
		return controlNames[t]
	}
	return "UNKNOWN(" + strconv.Itoa(int(t)) + ")"
}

const (
	controlKeySize   = 4 // int16 version, int16 type
	controlValueSize = 6 // int16 version, int32 coordinatorEpoch
	// controlBatchSize is the size of a COMMIT/ABORT marker batch: header +
	// length varint 1 + body 16.
	controlBatchSize = BatchHeaderSize + 17
)

// AppendControlBatch appends a transaction marker batch to dst, as Kafka's
// MemoryRecords.withEndTransactionMarker writes it: 78 bytes, attributes
// transactional|control, producer ID and epoch as given, baseSequence -1,
// one record with offsetDelta 0 whose key is (version 0, typ) and whose value
// is (version 0, coordinatorEpoch), baseTimestamp = maxTimestamp = ts (Unix
// ms), baseOffset 0 and partitionLeaderEpoch -1 (set them with PutBaseOffset
// and PutLeaderEpoch; neither is CRC covered). The value layout is the end
// transaction marker's, so typ should be ControlAbort or ControlCommit.
func AppendControlBatch(dst []byte, typ ControlType, producerID int64, epoch int16, coordinatorEpoch int32, ts int64) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, controlBatchSize)...)
	b := dst[start:]
	r := b[BatchHeaderSize:]
	r[0] = 16 << 1 // record length 16
	r[1] = 0       // attributes
	r[2] = 0       // timestampDelta 0
	r[3] = 0       // offsetDelta 0
	r[4] = controlKeySize << 1
	binary.BigEndian.PutUint16(r[5:], 0) // key version
	binary.BigEndian.PutUint16(r[7:], uint16(typ))
	r[9] = controlValueSize << 1
	binary.BigEndian.PutUint16(r[10:], 0) // value version
	binary.BigEndian.PutUint32(r[12:], uint32(coordinatorEpoch))
	r[16] = 0 // header count
	PutBatchHeader(b, BatchHeader{
		Length:        controlBatchSize - LogOverhead,
		LeaderEpoch:   NoLeaderEpoch,
		Magic:         Magic,
		Attributes:    AttrTransactional | AttrControl,
		BaseTimestamp: ts,
		MaxTimestamp:  ts,
		ProducerID:    producerID,
		ProducerEpoch: epoch,
		BaseSequence:  NoSequence,
		NumRecords:    1,
	})
	return dst
}

// ParseControlRecord parses the key and value of a control record. The key
// is int16 version + int16 type; a negative version is ErrCorrupt and a higher
// one is read as version 0, as Kafka does. For ControlAbort and ControlCommit
// the value must hold int16 version (>= 0) + int32 coordinatorEpoch, which is
// returned; for other types the value is not parsed and coordinatorEpoch is
// -1. Errors match ErrCorrupt.
func ParseControlRecord(key, value []byte) (typ ControlType, coordinatorEpoch int32, err error) {
	if len(key) < controlKeySize {
		return 0, -1, corruptf("control record key of %d bytes", len(key))
	}
	if v := int16(binary.BigEndian.Uint16(key)); v < 0 {
		return 0, -1, corruptf("control record key version %d", v)
	}
	typ = ControlType(binary.BigEndian.Uint16(key[2:]))
	if typ != ControlAbort && typ != ControlCommit {
		return typ, -1, nil
	}
	if len(value) < controlValueSize {
		return typ, -1, corruptf("end transaction marker value of %d bytes", len(value))
	}
	if v := int16(binary.BigEndian.Uint16(value)); v < 0 {
		return typ, -1, corruptf("end transaction marker version %d", v)
	}
	return typ, int32(binary.BigEndian.Uint32(value[2:])), nil
}

package segment

import (
	"github.com/samsalog/samsa/record"
)

// FindOffsetByTimestamp returns the offset of the first record in the
// segment whose timestamp is at least ts (Unix milliseconds), as Kafka's
// ListOffsets does per segment: the time index gives the floor entry for
// ts, the offset index the position to start from, then batches whose
// MaxTimestamp is below ts are skipped by header and the first batch that
// reaches ts is decoded to find the record. found is false when no record
// in the segment is that new. Safe for concurrent use; it allocates (it
// decodes a batch).
func (s *Segment) FindOffsetByTimestamp(ts int64) (offset int64, found bool, err error) {
	if maxTs, _ := s.MaxTimestamp(); maxTs < ts {
		return 0, false, nil
	}
	m, _, size, err := s.acquire()
	if err != nil {
		return 0, false, err
	}
	defer m.release()
	data := m.data[:size]
	_, floor := m.res.tim.Lookup(ts)
	var pos int64
	if floor > s.base {
		if _, p := m.res.off.Lookup(floor); p > 0 && p < size {
			pos = p
		}
	}
	var dec record.Decoder
	var recs []record.Record
	for pos < size {
		h, err := s.header(data, pos)
		if err != nil {
			return 0, false, err
		}
		end := pos + int64(h.Size())
		if h.MaxTimestamp >= ts {
			_, recs, err = dec.Decode(data[pos:end], recs[:0])
			if err != nil {
				return 0, false, corruptAt(s.logPath, pos, err)
			}
			for i := range recs {
				if recs[i].Timestamp.UnixMilli() >= ts {
					return recs[i].Offset, true, nil
				}
			}
		}
		pos = end
	}
	return 0, false, nil
}

package segment

import (
	"github.com/samsalog/samsa/record"
)

// FindOffsetByTimestamp returns the offset of the first record in the
// segment whose timestamp is at least ts (Unix milliseconds), as Kafka's
// ListOffsets does per segment: the time index gives the floor entry for
// ts, the offset index the position of the batch it names, then batches
// whose MaxTimestamp is below ts are skipped by header and the first batch
// that reaches ts is decoded to find the record. found is false when no
// record in the segment is that new.
//
// The entries used are checked against the .log: the offset-index entry's
// batch must parse and end at its key, and the time-index entry (ts, o)
// must name the last offset o of a batch whose MaxTimestamp is ts (the
// batch that first carried it). An entry that fails is not trusted: the
// search starts from position 0 instead and the indexes are rebuilt (see
// Read). Headers walked must follow each other (see Read); damage is a
// *CorruptError. Safe for concurrent use; it allocates (it decodes a batch).
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
	pos, want, ok := s.timeStart(m.res, data, ts)
	if !ok {
		pos, want = 0, s.base
	}
	var dec record.Decoder
	var recs []record.Record
	for pos < size {
		h, err := headerAt(data, pos)
		if err == nil && h.BaseOffset != want {
			err = offsetsError(h, want)
		}
		if err != nil {
			return 0, false, corruptAt(s.logPath, pos, err)
		}
		end := pos + int64(h.Size())
		if h.MaxTimestamp >= ts {
			_, recs, err = dec.Decode(data[pos:end], recs[:0])
			if err != nil {
				return 0, false, corruptAt(s.logPath, pos, err)
			}
			for i := range recs {
				if recs[i].Timestamp.UnixMilli() >= ts {
					if !ok {
						s.indexSuspect.Store(true)
					}
					return recs[i].Offset, true, nil
				}
			}
		}
		want = h.NextOffset()
		pos = end
	}
	if !ok {
		s.indexSuspect.Store(true)
	}
	return 0, false, nil
}

// timeStart returns where the search for ts may start: the position of the
// batch named by the time index's floor entry for ts and that batch's base
// offset, or position 0 and the segment's base when there is no such entry.
// ok is false when an entry used does not describe the .log.
//
// Starting at that batch is right because the entry (T, o) was written as
// (max timestamp so far, last offset of the first batch carrying it): every
// batch before o's has a MaxTimestamp below T <= ts.
func (s *Segment) timeStart(res *resources, data []byte, ts int64) (pos, base int64, ok bool) {
	entryTs, entryOff := res.tim.Lookup(ts)
	if entryTs < 0 {
		return 0, s.base, true
	}
	size := int64(len(data))
	want := int64(-1) // base offset expected at pos; -1: unknown (an offset-index entry's batch)
	key, p := res.off.Lookup(entryOff)
	switch {
	case p == 0:
		want = s.base
	case p < 0 || p >= size:
		return 0, s.base, false
	}
	for pos = p; pos < size; {
		h, err := headerAt(data, pos)
		switch {
		case err != nil:
			return 0, s.base, false
		case want < 0 && h.LastOffset() != key:
			return 0, s.base, false // the offset-index entry is wrong
		case want >= 0 && h.BaseOffset != want:
			// Damage in the .log (or a wrong entry): let the walk from
			// the start decide.
			return 0, s.base, false
		}
		if h.LastOffset() >= entryOff {
			if h.LastOffset() != entryOff || h.MaxTimestamp != entryTs {
				return 0, s.base, false // the time-index entry is wrong
			}
			return pos, h.BaseOffset, true
		}
		want = h.NextOffset()
		pos += int64(h.Size())
	}
	return 0, s.base, false
}

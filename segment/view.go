package segment

import (
	"sync/atomic"

	"github.com/samsalog/samsa/index"
	"github.com/samsalog/samsa/internal/mmap"
)

// View is the result of Read: whole batches, back to back, aliasing the
// segment's read-only mapping of its .log without a copy.
//
// Data stays valid until Release. While a View is held the mapping it points
// into is not unmapped and the bytes it covers are neither truncated nor
// deleted: Seal, Close and Delete of the segment leave the View readable, and
// TruncateTo below the View's end waits for it. Views must therefore be
// released, and promptly: a View held forever pins its mapping (and the
// files of a deleted segment) forever.
//
// A View is a small value; copy it freely but release exactly one copy.
// Release on the same variable twice is a no-op. The zero View is empty and
// needs no release. A View is not safe for concurrent use (its Data is: it
// is read-only).
type View struct {
	// Data holds zero or more complete batches. It must not be written to
	// (the mapping is read-only: a write faults) nor used after Release.
	Data []byte
	m    *mapping
}

// Release ends the View's hold on the segment's mapping. It does not
// allocate; it is a decrement except when it drops the last reference to a
// retired mapping, which is then unmapped. After Release, Data is nil.
func (v *View) Release() {
	if v.m != nil {
		v.m.release()
		v.m = nil
	}
	v.Data = nil
}

// Len returns len(Data).
func (v *View) Len() int { return len(v.Data) }

// mapping is one read-only mapping of a .log, shared by the segment (one
// reference while it is the segment's current mapping) and every View cut
// from it (one reference each). It is unmapped when the count reaches zero;
// a count that reached zero never rises again (tryAcquire), so a reader
// either holds a live mapping or retries with the segment's new one.
type mapping struct {
	data []byte // len = mapped length; only [0, published size) is ever read
	refs atomic.Int64
	res  *resources
}

func newMapping(data []byte, res *resources) *mapping {
	m := &mapping{data: data, res: res}
	m.refs.Store(1)
	res.acquire()
	res.seg.mapOpened()
	return m
}

// tryAcquire takes a reference unless the mapping is already retired.
func (m *mapping) tryAcquire() bool {
	for {
		n := m.refs.Load()
		if n <= 0 {
			return false
		}
		if m.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release drops a reference; the last one unmaps and releases the
// resources (indexes) the mapping was read with.
func (m *mapping) release() error {
	if m.refs.Add(-1) != 0 {
		return nil
	}
	err := mmap.Unmap(m.data)
	m.data = nil
	seg := m.res.seg
	if rerr := m.res.release(); err == nil {
		err = rerr
	}
	seg.mapClosed()
	return err
}

// resources are the segment's open indexes as seen by readers. They are
// closed when the segment has let go of them and the last mapping that
// readers could use them through is gone; then, if the segment was deleted,
// its files are removed.
type resources struct {
	seg  *Segment
	off  *index.OffsetIndex
	tim  *index.TimeIndex
	refs atomic.Int64
}

func newResources(seg *Segment, off *index.OffsetIndex, tim *index.TimeIndex) *resources {
	r := &resources{seg: seg, off: off, tim: tim}
	r.refs.Store(1) // the segment's own reference
	return r
}

func (r *resources) acquire() { r.refs.Add(1) }

func (r *resources) release() error {
	if r.refs.Add(-1) != 0 {
		return nil
	}
	var err error
	if r.off != nil {
		err = r.off.Close()
	}
	if r.tim != nil {
		if terr := r.tim.Close(); err == nil {
			err = terr
		}
	}
	if r.seg.deleted.Load() {
		if rerr := r.seg.removeDeletedFiles(); err == nil {
			err = rerr
		}
	}
	return err
}

package index

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsalog/samsa/internal/fs"
	"github.com/samsalog/samsa/internal/mmap"
)

// generation is one read-only mapping of the index file as readers see it.
// Readers pin it with acquire/release; the writer replaces it with a new
// generation (swap) and waits until the old one has no reader (drain)
// before it unmaps the old bytes, zeroes entries readers could still see,
// or truncates the file. Readers hold a generation only for one binary
// search (they never block while holding it), so the wait is short.
type generation struct {
	data []byte       // the mapping; nil for an empty file, or while no entry needs it
	refs atomic.Int64 // readers inside the mapping right now
}

// drain waits until no reader holds g. It is called after g stopped being
// current, so no new reader can pin it (see acquire).
func (g *generation) drain() {
	for i := 0; g.refs.Load() != 0; i++ {
		if i < 64 {
			runtime.Gosched()
		} else {
			time.Sleep(5 * time.Microsecond)
		}
	}
}

func (g *generation) release() { g.refs.Add(-1) }

// tailEntries is how many entries a writable index keeps in memory before
// it writes them to the file, all at once with one WriteAt.
const tailEntries = 512

// minTailEntries is the capacity of a tail when it first needs one: a
// tail starts small and doubles up to tailEntries, so that an idle index
// (most of a broker's) holds a few bytes, not 4 or 6 KiB.
const minTailEntries = 8

// pending is the in-memory tail of the index as readers see it: entries
// [0, flushed) are read from the mapping, entries [flushed, flushed +
// len(buf)/es) from buf (slot i at (i-flushed)*es), in both cases only
// below the published count. Some of buf's entries may also be in the file
// already (those below core.written): an index reopened with few entries
// reads them into its tail instead of mapping the file. A pending is never
// changed once published, except that the writer fills buf's slots at and
// above the published count before it publishes them; whenever anything
// else must change (buf is full and was written to the file, buf grows,
// entries are dropped, the index is reset or sealed) the writer publishes a
// new pending, so a reader holding an old one reads entries that were right
// when they were published and never a slot being written. A sealed index
// has no buf: everything is in the mapping.
type pending struct {
	flushed int
	buf     []byte
}

// snapshot is what one reader may read: entries [0, n), the first m of
// them in d (the mapping), the others in tail.
type snapshot struct {
	d, tail []byte
	m, n    int
}

// entry returns the bytes of entry i < n (and whatever follows it).
func (s *snapshot) entry(i, es int) []byte {
	if i < s.m {
		return s.d[i*es:]
	}
	return s.tail[(i-s.m)*es:]
}

// core is the machinery shared by the offset and time indexes: a file of
// fixed-width entries, sized (sparse) to its capacity while writable,
// mapped read-only once entries outgrow the in-memory tail, appended with
// WriteAt. OffsetIndex and TimeIndex add the key rules.
//
// The index holds no file descriptor: every write-side operation that
// needs the file (the write of a full tail, Flush, Sync, TruncateTo,
// Reset, Seal, a first mapping) opens it, and closes it when done. Those
// are rare (one per 512 entries while appending), and a broker with
// thousands of idle partitions then keeps one descriptor per partition
// (its active .log), not three.
type core struct {
	fsys     fs.FS
	path     string
	base     int64
	es       int // entry size in bytes
	relOff   int // where the relative offset (u32) sits in an entry
	maxBytes int // capacity in bytes of a writable index, a multiple of es

	gen  atomic.Pointer[generation] // nil after Close
	tail atomic.Pointer[pending]    // where readers find the entries below n
	n    atomic.Int64               // published entries
	capN atomic.Int64               // slots appends may use (== n once sealed)

	mu       sync.Mutex // serializes the writer-side methods
	writable bool
	closed   bool
	dirty    bool  // written since the last Sync: Sync has something to do
	badSize  bool  // the file's size was not a whole number of entries
	broken   error // a structural change failed half way: appends refuse
	written  int   // entries [0, written) are in the file; the rest only in the tail
	fileLen  int   // size of a writable index's file: what a mapping of it covers
}

// acquire pins the current generation; nil after Close. Zero-alloc and
// syscall-free. The check after the increment is what makes it safe: the
// writer publishes a new generation and then waits for the old one's count
// to reach zero; a reader that increments after that wait started finds the
// pointer changed and backs off without touching the bytes (Go's atomics
// are sequentially consistent, so one of the two sees the other).
func (c *core) acquire() *generation {
	for {
		g := c.gen.Load()
		if g == nil {
			return nil
		}
		g.refs.Add(1)
		if c.gen.Load() == g {
			return g
		}
		g.refs.Add(-1)
	}
}

// snap returns what a reader holding g may read. The order matters: g is
// pinned first, then the tail and only then the count are loaded. The
// writer fills a tail slot before it publishes the count that covers it, so
// the entries below the count that lie in the loaded tail are there; a
// count beyond the loaded tail's capacity (the writer moved on to a newer
// tail meanwhile) is clamped to it; the entries below the loaded tail's
// flushed count were written to the file, and mapped by the current
// generation, before that tail was published. A writer that drops entries
// publishes the smaller count and a new tail before it swaps the
// generation, and waits for g's readers before it reuses anything they
// could see.
func (c *core) snap(g *generation) snapshot {
	t := c.tail.Load()
	n := int(c.n.Load())
	n = min(n, t.flushed+len(t.buf)/c.es)
	m := t.flushed
	if mapped := len(g.data) / c.es; m > mapped { // never so while g is current; belt and braces
		m, n = mapped, min(n, mapped)
	}
	m = min(m, n)
	return snapshot{d: g.data, tail: t.buf, m: m, n: n}
}

// newTail returns a tail whose first slot is entry flushed, with room for
// up to slots entries (fewer when the index has fewer slots left).
// Readers may still hold the previous one, so it is never reused.
func (c *core) newTail(flushed, slots int) *pending {
	slots = min(slots, max(int(c.capN.Load())-flushed, 0))
	return &pending{flushed: flushed, buf: make([]byte, slots*c.es)}
}

// swap publishes g and waits until nobody reads the previous generation,
// which it returns (its bytes are then the caller's to unmap or rewrite).
func (c *core) swap(g *generation) *generation {
	old := c.gen.Swap(g)
	if old != nil {
		old.drain()
	}
	return old
}

func (c *core) errorf(format string, args ...any) error {
	return fmt.Errorf("index: %s: "+format, append([]any{c.path}, args...)...)
}

// init opens the file. See OpenOffsetIndex for the procedure.
func (c *core) init(fsys fs.FS, path string, base int64, maxBytes, es, relOff int, writable bool) error {
	c.fsys, c.path, c.base, c.es, c.relOff = fs.Or(fsys), path, base, es, relOff
	if base < 0 {
		return c.errorf("negative base offset %d", base)
	}
	c.maxBytes = maxBytes / es * es
	if c.maxBytes < es {
		return c.errorf("maxBytes %d is less than one %d-byte entry", maxBytes, es)
	}
	if writable {
		return c.openWritable()
	}
	return c.openSealed()
}

// withFile opens the index file with flag, runs fn and closes the file.
// The index holds no descriptor between operations (see core).
func (c *core) withFile(flag int, fn func(f fs.File) error) error {
	f, err := c.fsys.OpenFile(c.path, flag, 0o644)
	if err != nil {
		return fmt.Errorf("index: open: %w", err)
	}
	err = fn(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = c.errorf("close: %w", cerr)
	}
	return err
}

// openSealed maps the file as it is and closes the descriptor: a sealed
// index holds a mapping, not a file descriptor.
func (c *core) openSealed() error {
	return c.withFile(os.O_RDONLY, func(f fs.File) error {
		size, err := fileSize(f)
		if err != nil {
			return err
		}
		if size > math.MaxInt32*int64(c.es) {
			return fmt.Errorf("%w: %s: size %d too large", ErrCorruptIndex, c.path, size)
		}
		c.badSize = size%int64(c.es) != 0
		data, err := mmap.Map(f.Fd(), int(size))
		if err != nil {
			return fmt.Errorf("index: %s: %w", c.path, err)
		}
		mmap.Random(data)
		slots := len(data) / c.es
		n := slots
		// A sealed file is trimmed to its entries, so its size gives the
		// end at once and only the last slot is read; a zero last slot
		// means it was not trimmed (a crash before the trim, or an active
		// index opened as sealed): find the end from the contents.
		if n > 0 && c.zeroSlot(data, n-1) {
			n = c.firstZero(data, slots)
		}
		c.tail.Store(&pending{flushed: n})
		c.gen.Store(&generation{data: data})
		c.n.Store(int64(n))
		c.capN.Store(int64(n))
		c.written = n
		return nil
	})
}

// openWritable opens or creates the file, finds its end and sizes it to
// maxBytes. Either the entries found are few enough for the tail and are
// read into it (the file is not mapped: an idle active index holds neither
// a descriptor nor a mapping), or the file is mapped.
//
// The file is sized with Truncate alone: the capacity stays sparse, and no
// block is reserved ahead. Entries reach the file by WriteAt, never through
// the mapping, so a full disk is an error of that write (matching
// fs.ErrNoSpace), never a SIGBUS; and the mapping lies inside the file, so
// no reader faults past its end. Reserving the whole capacity (fallocate)
// would cost 10 MiB of disk per index and, worse, make every probe of the
// search for the end zero-fill pages of unwritten extents.
func (c *core) openWritable() error {
	return c.withFile(os.O_RDWR|os.O_CREATE, func(f fs.File) error {
		size, err := fileSize(f)
		if err != nil {
			return err
		}
		c.badSize = size%int64(c.es) != 0
		length := c.maxBytes
		n, small := 0, []byte(nil)
		if size > 0 {
			if size > math.MaxInt32*int64(c.es) {
				return fmt.Errorf("%w: %s: size %d too large", ErrCorruptIndex, c.path, size)
			}
			if n, small, err = c.findEnd(f, size); err != nil {
				return err
			}
			// Bigger than the configured capacity (the setting shrank):
			// keep the entries it holds, drop the empty slots past it.
			length = max(length, n*c.es)
		}
		if size != int64(length) {
			// Not mapped yet, so shrinking cannot cut under a reader.
			if err := f.Truncate(int64(length)); err != nil {
				return c.errorf("resize to %d bytes: %w", length, err)
			}
		}
		c.fileLen = length
		c.capN.Store(int64(length / c.es))
		c.written = n
		c.n.Store(int64(n))
		switch {
		case n == 0:
			c.tail.Store(&pending{})
			c.gen.Store(&generation{})
		case small != nil:
			t := c.newTail(0, tailCap(n))
			copy(t.buf, small[:n*c.es])
			c.tail.Store(t)
			c.gen.Store(&generation{})
		default:
			data, err := mmap.Map(f.Fd(), length)
			if err != nil {
				return c.errorf("%w", err)
			}
			mmap.Random(data)
			c.tail.Store(&pending{flushed: n})
			c.gen.Store(&generation{data: data})
		}
		c.writable = true
		return nil
	})
}

// tailCap is the capacity of a tail that must hold n entries: a power of
// two from minTailEntries up to tailEntries.
func tailCap(n int) int {
	k := minTailEntries
	for k < n && k < tailEntries {
		k <<= 1
	}
	return k
}

// findEnd finds the number of entries of the writable file f of size bytes
// from its contents: the first all-zero slot. Cheap whatever the capacity:
// the search is bounded by where the file's data ends (the rest of a
// preallocated index is a hole; see dataEnd), so an index without entries
// costs two lseeks and no read, one with up to 512 entries one read (whose
// bytes are returned in small, to become the tail), and a larger one a
// binary search of single-entry reads without readahead.
func (c *core) findEnd(f fs.File, size int64) (n int, small []byte, err error) {
	hi := int(size / int64(c.es))
	if end, ok := dataEnd(f, size); ok {
		hi = min(hi, int((end+int64(c.es)-1)/int64(c.es)))
	}
	if hi == 0 {
		return 0, nil, nil
	}
	if hi <= tailEntries {
		small = make([]byte, hi*c.es)
		if _, err := f.ReadAt(small, 0); err != nil {
			return 0, nil, c.errorf("read: %w", err)
		}
		return c.firstZero(small, hi), small, nil
	}
	adviseRandom(f)
	e := make([]byte, c.es)
	lo := 0
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if _, err := f.ReadAt(e, int64(mid*c.es)); err != nil {
			return 0, nil, c.errorf("read: %w", err)
		}
		if c.zeroSlot(e, 0) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil, nil
}

func fileSize(f fs.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("index: stat: %w", err)
	}
	return fi.Size(), nil
}

// zeroSlot reports whether slot i is all zero bytes: never written.
func (c *core) zeroSlot(data []byte, i int) bool {
	e := data[i*c.es : (i+1)*c.es]
	if binary.BigEndian.Uint64(e) != 0 {
		return false
	}
	for _, b := range e[8:] {
		if b != 0 {
			return false
		}
	}
	return true
}

// firstZero finds the first all-zero slot among the first slots of data by
// binary search, assuming what the writer guarantees: entries are written in
// order and every slot past the end is zero. Contents that break that
// assumption give some end in [0, slots]; SanityCheck then finds the
// entries before it do not increase.
func (c *core) firstZero(data []byte, slots int) int {
	lo, hi := 0, slots
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if c.zeroSlot(data, mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// writerSnap is the writer's view of its entries (it needs no pin: only
// the writer replaces the generation).
func (c *core) writerSnap() (snapshot, bool) {
	g := c.gen.Load()
	if g == nil {
		return snapshot{}, false
	}
	return c.snap(g), true
}

// usable is the common precondition of the writer-side methods that need
// the entries: not closed, and no structural change failed half way.
func (c *core) usable() error {
	switch {
	case c.closed:
		return ErrClosed
	case c.broken != nil:
		return c.errorf("unusable after a failed change: %w", c.broken)
	}
	return nil
}

// writerCheck is the common precondition of the appending methods.
func (c *core) writerCheck() error {
	if err := c.usable(); err != nil {
		return err
	}
	if !c.writable {
		return ErrReadOnly
	}
	return nil
}

// relOf converts an absolute offset to the 32-bit relative offset.
func (c *core) relOf(offset int64) (uint32, error) {
	if offset < c.base || offset-c.base > math.MaxUint32 {
		return 0, fmt.Errorf("%w: %s: offset %d with base offset %d", ErrOutOfRange, c.path, offset, c.base)
	}
	return uint32(offset - c.base), nil
}

// appendEntry copies the entry e (es bytes) into the next tail slot and
// publishes it: the count is stored only after the bytes are in the tail,
// so a reader that sees the count sees the entry. No system call, except
// when the tail is full at its largest: its entries are then written to the
// file with one WriteAt (the first such write also maps the file, for the
// readers of those entries) and a new tail is published before the entry
// goes into it. If that write fails, the entry is not published and nothing
// changes (the next append or flush writes the same entries again). A tail
// smaller than tailEntries is replaced by one twice its size instead.
func (c *core) appendEntry(e []byte) error {
	n := int(c.n.Load())
	if n >= int(c.capN.Load()) {
		return fmt.Errorf("%w: %s: %d entries", ErrIndexFull, c.path, n)
	}
	t := c.tail.Load()
	if slots := len(t.buf) / c.es; n-t.flushed >= slots {
		if slots < tailEntries && t.flushed+slots < int(c.capN.Load()) {
			nt := c.newTail(t.flushed, max(2*slots, minTailEntries))
			copy(nt.buf, t.buf[:(n-t.flushed)*c.es])
			t = nt
		} else {
			if err := c.flush(); err != nil {
				return err
			}
			if err := c.ensureMapped(); err != nil {
				return err
			}
			t = c.newTail(n, tailEntries)
		}
		c.tail.Store(t) // its entries below n are in t, or in the file and mapped
	}
	copy(t.buf[(n-t.flushed)*c.es:], e[:c.es])
	c.n.Store(int64(n + 1))
	return nil
}

// ensureMapped maps the whole file of a writable index if it is not mapped
// yet, before a tail whose first entries must be read from the mapping is
// published. The old generation (no mapping) is simply replaced: readers
// holding it read only the tail they loaded, whose entries are all in
// memory.
func (c *core) ensureMapped() error {
	if g := c.gen.Load(); g == nil || g.data != nil {
		return nil
	}
	return c.withFile(os.O_RDONLY, func(f fs.File) error {
		data, err := mmap.Map(f.Fd(), c.fileLen)
		if err != nil {
			return c.errorf("%w", err)
		}
		mmap.Random(data)
		c.swap(&generation{data: data})
		return nil
	})
}

// flush writes the entries only the tail holds to the file, with one
// WriteAt (none if there are none). Readers are not affected: they keep
// reading those entries from the tail until a new tail is published.
func (c *core) flush() error {
	n := int(c.n.Load())
	if c.written >= n {
		return nil
	}
	t := c.tail.Load()
	b := t.buf[(c.written-t.flushed)*c.es : (n-t.flushed)*c.es]
	// Without O_CREATE: a file renamed away (a segment being deleted) is
	// an error, not a new stray file.
	err := c.withFile(os.O_WRONLY, func(f fs.File) error {
		if _, err := f.WriteAt(b, int64(c.written*c.es)); err != nil {
			return c.errorf("write %d entries: %w", n-c.written, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.written = n
	c.dirty = true
	return nil
}

// flushWriter is flush for the exported Flush: a no-op on a sealed index
// (everything is in the file then).
func (c *core) flushWriter() error {
	if err := c.usable(); err != nil || !c.writable {
		return err
	}
	return c.flush()
}

var zeros [4096]byte

// truncateRel drops the entries whose relative offset is >= rel (rel may
// be negative: drop all, or above 2^32-1: drop none).
func (c *core) truncateRel(rel int64) error {
	if err := c.usable(); err != nil {
		return err
	}
	s, _ := c.writerSnap()
	n := s.n
	newN := 0
	if rel > math.MaxUint32 {
		newN = n
	} else if rel > 0 {
		lo, hi := 0, n
		for lo < hi {
			mid := int(uint(lo+hi) >> 1)
			if int64(binary.BigEndian.Uint32(s.entry(mid, c.es)[c.relOff:])) < rel {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		newN = lo
	}
	if newN == n {
		return nil
	}
	return c.shrink(newN)
}

// shrink keeps the first newN entries.
func (c *core) shrink(newN int) error {
	c.n.Store(int64(newN))
	if c.writable {
		// A new tail holding what is left of the pending entries (readers
		// holding the old one keep reading it, unchanged), published after
		// the smaller count and before the new generation. Then, once the
		// readers that may have seen the old count and tail are gone (the
		// writer could otherwise refill slots they see), the dropped slots
		// that reached the file are zeroed, so that the end found from the
		// contents at the next open is newN.
		old := c.tail.Load()
		if newN < old.flushed {
			c.tail.Store(&pending{flushed: newN}) // grows at the next append
		} else {
			t := &pending{flushed: old.flushed, buf: make([]byte, len(old.buf))}
			copy(t.buf, old.buf[:(newN-old.flushed)*c.es])
			c.tail.Store(t)
		}
		c.swap(&generation{data: c.gen.Load().data})
		if c.written > newN {
			err := c.withFile(os.O_WRONLY, func(f fs.File) error {
				for off, end := int64(newN*c.es), int64(c.written*c.es); off < end; {
					chunk := min(end-off, int64(len(zeros)))
					if _, err := f.WriteAt(zeros[:chunk], off); err != nil {
						return err
					}
					off += chunk
				}
				return nil
			})
			if err != nil {
				c.broken = err
				return c.errorf("truncate: %w", err)
			}
			c.dirty = true
		}
		c.written = min(c.written, newN)
		return nil
	}
	// Sealed: the file is trimmed to the entries; map the shorter length
	// first, and cut the file only once nobody reads the longer mapping.
	c.tail.Store(&pending{flushed: newN})
	c.written = newN
	err := c.withFile(os.O_RDWR, func(f fs.File) error {
		if err := c.remap(f, newN); err != nil {
			return err
		}
		c.capN.Store(int64(newN))
		if err := f.Truncate(int64(newN * c.es)); err != nil {
			return c.errorf("truncate: %w", err)
		}
		return nil
	})
	if err != nil {
		c.broken = err
		return err
	}
	c.dirty = true
	return nil
}

// remap replaces the mapping by one of exactly n entries of f and unmaps
// the old one after its last reader left.
func (c *core) remap(f fs.File, n int) error {
	data, err := mmap.Map(f.Fd(), n*c.es)
	if err != nil {
		return c.errorf("%w", err)
	}
	mmap.Random(data)
	old := c.swap(&generation{data: data})
	if err := mmap.Unmap(old.data); err != nil {
		return c.errorf("%w", err)
	}
	return nil
}

// reset drops every entry and makes the index writable, its file empty and
// sized to the capacity (sparse).
func (c *core) reset() error {
	if c.closed {
		return ErrClosed
	}
	c.broken = nil
	c.writable = true
	c.n.Store(0)
	c.capN.Store(0)
	c.written = 0
	c.tail.Store(&pending{}) // the pending entries are dropped with the rest
	// Readers see an empty index from here on; the old mapping is unmapped
	// after they leave it and only then is the file cut to nothing (which
	// also clears whatever garbage lay past the end) and sized again.
	old := c.swap(&generation{})
	if err := mmap.Unmap(old.data); err != nil {
		c.broken = err
		return c.errorf("%w", err)
	}
	err := c.withFile(os.O_RDWR, func(f fs.File) error {
		if err := f.Truncate(0); err != nil {
			return c.errorf("reset: %w", err)
		}
		if err := f.Truncate(int64(c.maxBytes)); err != nil {
			return c.errorf("reset: %w", err)
		}
		return nil
	})
	if err != nil {
		c.broken = err
		return err
	}
	c.dirty = true
	c.badSize = false
	c.fileLen = c.maxBytes
	c.capN.Store(int64(c.maxBytes / c.es))
	return nil
}

// seal trims the file to its entries and maps exactly them.
func (c *core) seal() error {
	if c.closed {
		return ErrClosed
	}
	if !c.writable {
		return nil
	}
	if err := c.usable(); err != nil {
		return err
	}
	if err := c.flush(); err != nil {
		return err
	}
	n := int(c.n.Load())
	err := c.withFile(os.O_RDWR, func(f fs.File) error {
		// The exact mapping first, then (once the readers of the old
		// generation left) the tail saying everything is in it: a reader
		// of the new generation with the old tail finds every entry in one
		// or the other; the old generation, maybe without a mapping, is
		// never combined with the new tail.
		if err := c.remap(f, n); err != nil {
			return err
		}
		c.tail.Store(&pending{flushed: n})
		c.writable = false
		c.capN.Store(int64(n))
		// The old, longer mapping is gone: no mapping extends past the
		// new end.
		if err := f.Truncate(int64(n * c.es)); err != nil {
			return c.errorf("trim: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.dirty = true
	return nil
}

func (c *core) sync() error {
	if c.closed {
		return ErrClosed
	}
	if c.writable && c.broken == nil {
		if err := c.flush(); err != nil {
			return err
		}
	}
	if !c.dirty {
		return nil // nothing written since opened or last synced
	}
	// fsync is per file, not per descriptor: a fresh one flushes what the
	// earlier ones wrote.
	err := c.withFile(os.O_RDONLY, func(f fs.File) error {
		if err := f.Sync(); err != nil {
			return c.errorf("sync: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.dirty = false
	return nil
}

func (c *core) close() error {
	if c.closed {
		return nil
	}
	var ferr error
	if c.writable && c.broken == nil {
		// A failed write loses the pending entries: the index is a cache,
		// and the next open finds the end of what reached the file.
		ferr = c.flush()
	}
	c.closed = true
	var err error
	if old := c.swap(nil); old != nil {
		err = mmap.Unmap(old.data)
	}
	if ferr != nil {
		return ferr
	}
	if err != nil {
		return c.errorf("close: %w", err)
	}
	return nil
}

// writtenEntries is the number of entries in the file.
func (c *core) writtenEntries() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.written
}

// check verifies the file size and every entry, in order, with ok.
func (c *core) check(ok func(e []byte) bool) error {
	c.mu.Lock()
	badSize := c.badSize
	c.mu.Unlock()
	if badSize {
		return fmt.Errorf("%w: %s: size is not a multiple of %d", ErrCorruptIndex, c.path, c.es)
	}
	g := c.acquire()
	if g == nil {
		return ErrClosed
	}
	defer g.release()
	s := c.snap(g)
	for i := range s.n {
		if !ok(s.entry(i, c.es)) {
			return fmt.Errorf("%w: %s: entry %d of %d does not increase", ErrCorruptIndex, c.path, i, s.n)
		}
	}
	return nil
}

package record

import (
	"bytes"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Decoder decodes record batches. It keeps decompressors, a scratch buffer,
// a header slab and a small cache of header-key strings between calls, so
// reuse one Decoder per goroutine. The zero value is ready to use. A Decoder
// is not safe for concurrent use.
//
// Lifetime of decoded data: for an uncompressed batch, Record.Key,
// Record.Value and Header.Value alias the input b, and stay valid exactly as
// long as b does (for a memory-mapped segment: until the mapping is
// released; copy them to keep them longer). For a compressed batch they alias
// a fresh buffer allocated for that batch, which Decode never reuses. Header
// slices are carved from slabs that Decode never rewrites, and header keys are
// ordinary strings, so headers stay valid independently of later Decode calls
// (their values alias as above). Nothing a Decode call returns is invalidated
// by a later Decode call.
type Decoder struct {
	// Topic is copied into Record.Topic of every decoded record.
	Topic string
	// Partition is copied into Record.Partition of every decoded record.
	Partition int32
	// MaxDecompressedSize bounds the decompressed size of one batch's
	// records section; a larger batch fails with ErrTooLarge. Zero means
	// DefaultMaxDecompressedSize (64 MiB).
	MaxDecompressedSize int

	scratch []byte   // decompression output, reused
	slab    []Header // unused tail of the current header slab
	keys    map[string]string

	br      bytes.Reader
	gz      *gzip.Reader
	lz      *lz4.Reader
	zd      *zstd.Decoder
	zdLimit int
}

const (
	headerSlabSize = 256 // headers per slab allocation
	maxCachedKeys  = 256 // header-key strings remembered per Decoder
	maxCachedKey   = 64  // longest header key remembered
)

// Decode decodes the batch at b[0:] (bytes after it are ignored), appends its
// records to dst and returns the header and the extended slice. It checks the
// header and CRC (see CheckBatch), decompresses, and validates every record:
// varints within Kafka's limits (5 bytes for int32 fields, 10 for varlongs),
// lengths within the record, record lengths consumed exactly, offset deltas
// strictly increasing and at most LastOffsetDelta, exactly NumRecords records
// and no trailing bytes. Control batches are decoded like any other; check
// h.Attributes.Control() and use ParseControlRecord.
//
// Errors match ErrCorrupt (with ErrTruncated, ErrCRC, ErrUnsupportedMagic or
// ErrUnknownCompression where they apply), or are ErrTooLarge. On error dst is
// returned with its original length; h is filled as far as it was parsed.
// Decode never panics on any input and allocates no more than the input
// justifies: nothing is preallocated from a record count that the remaining
// bytes cannot hold, and decompression stops at MaxDecompressedSize.
//
// An uncompressed batch whose records have no headers decodes without
// allocating once dst has capacity for the records. See Decoder for the
// lifetime of what Decode returns.
func (d *Decoder) Decode(b []byte, dst []Record) (BatchHeader, []Record, error) {
	h, err := CheckBatch(b)
	if err != nil {
		return h, dst, err
	}
	section := b[BatchHeaderSize:h.Size()]
	if c := h.Attributes.Compression(); c != CompressionNone {
		if section, err = d.decompress(c, section); err != nil {
			return h, dst, err
		}
	}
	n := int(h.NumRecords)
	if n > len(section)/minRecordSize {
		return h, dst, corruptf("%d records cannot fit in %d bytes", n, len(section))
	}
	orig := len(dst)
	if cap(dst)-orig < n {
		grown := make([]Record, orig, orig+n)
		copy(grown, dst)
		dst = grown
	}
	dst = dst[:orig+n]
	if err := d.decodeRecords(&h, section, dst[orig:]); err != nil {
		clear(dst[orig:])
		return h, dst[:orig], err
	}
	return h, dst, nil
}

// decodeRecords parses exactly len(out) records filling section into out.
func (d *Decoder) decodeRecords(h *BatchHeader, section []byte, out []Record) error {
	lat := h.Attributes.LogAppendTime()
	prevDelta := int32(-1)
	for i := range out {
		length, k := readVarint(section)
		if k <= 0 {
			return corruptf("record %d: bad length varint", i)
		}
		section = section[k:]
		if length < minRecordSize-1 || int(length) > len(section) {
			return corruptf("record %d: length %d, %d bytes left", i, length, len(section))
		}
		body := section[:length]
		section = section[length:]

		r := &out[i]
		// body[0] is the record attributes byte: unused, ignored as Kafka does.
		p := 1
		tsDelta, k := readVarlong(body[p:])
		if k <= 0 {
			return corruptf("record %d: bad timestamp delta", i)
		}
		p += k
		offDelta, k := readVarint(body[p:])
		if k <= 0 {
			return corruptf("record %d: bad offset delta", i)
		}
		p += k
		if offDelta <= prevDelta || offDelta > h.LastOffsetDelta {
			return corruptf("record %d: offset delta %d after %d, last %d", i, offDelta, prevDelta, h.LastOffsetDelta)
		}
		prevDelta = offDelta
		var ok bool
		if r.Key, p, ok = readBytes(body, p); !ok {
			return corruptf("record %d: bad key", i)
		}
		if r.Value, p, ok = readBytes(body, p); !ok {
			return corruptf("record %d: bad value", i)
		}
		nh, k := readVarint(body[p:])
		if k <= 0 || nh < 0 || int(nh) > (len(body)-p-k)/2 {
			return corruptf("record %d: bad header count", i)
		}
		p += k
		r.Headers = nil
		if nh > 0 {
			hs := d.headers(int(nh))
			for j := range hs {
				kl, k := readVarint(body[p:])
				if k <= 0 || kl < 0 || int(kl) > len(body)-p-k {
					return corruptf("record %d: header %d: bad key", i, j)
				}
				p += k
				hs[j].Key = d.headerKey(body[p : p+int(kl)])
				p += int(kl)
				if hs[j].Value, p, ok = readBytes(body, p); !ok {
					return corruptf("record %d: header %d: bad value", i, j)
				}
			}
			r.Headers = hs
		}
		if p != len(body) {
			return corruptf("record %d: %d bytes after headers", i, len(body)-p)
		}

		ts := h.MaxTimestamp
		if !lat {
			ts = h.BaseTimestamp + tsDelta
		}
		r.Topic = d.Topic
		r.Partition = d.Partition
		r.Offset = h.BaseOffset + int64(offDelta)
		r.Timestamp = timeFromMillis(ts)
		r.LeaderEpoch = h.LeaderEpoch
	}
	if len(section) != 0 {
		return corruptf("%d bytes after %d records", len(section), len(out))
	}
	return nil
}

// readBytes reads a nullable varint-length byte field at b[p:].
func readBytes(b []byte, p int) (v []byte, next int, ok bool) {
	n, k := readVarint(b[p:])
	if k <= 0 || n < -1 {
		return nil, p, false
	}
	p += k
	if n == -1 {
		return nil, p, true
	}
	if int(n) > len(b)-p {
		return nil, p, false
	}
	return b[p : p+int(n) : p+int(n)], p + int(n), true
}

// headers returns n zeroed headers carved from the current slab. Slabs are
// never reused, so earlier results stay valid; the three-index slice keeps a
// caller's append from running into a neighbour.
func (d *Decoder) headers(n int) []Header {
	if n > len(d.slab) {
		d.slab = make([]Header, max(n, headerSlabSize))
	}
	hs := d.slab[:n:n]
	d.slab = d.slab[n:]
	return hs
}

// headerKey returns key as a string, reusing a cached string for common keys
// so steady-state decoding of records with headers does not allocate them.
func (d *Decoder) headerKey(key []byte) string {
	if len(key) == 0 {
		return ""
	}
	if len(key) > maxCachedKey {
		return string(key)
	}
	if s, ok := d.keys[string(key)]; ok {
		return s
	}
	s := string(key)
	if d.keys == nil {
		d.keys = make(map[string]string)
	}
	if len(d.keys) < maxCachedKeys {
		d.keys[s] = s
	}
	return s
}

// timeFromMillis converts a Kafka timestamp; NoTimestamp becomes time.Time{}.
func timeFromMillis(ms int64) time.Time {
	if ms == NoTimestamp {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

package record

import (
	"math"
	"slices"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// BatchOptions are the batch-level fields of an encoded batch. The zero value
// is a non-idempotent, uncompressed CreateTime batch at base offset 0 with
// partitionLeaderEpoch 0.
//
// Producer fields: ProducerID, ProducerEpoch and BaseSequence are written only
// when Idempotent is set (and then must all be >= 0). Without Idempotent the
// batch carries Kafka's -1 values (NoProducerID, NoProducerEpoch, NoSequence)
// and the three fields must be left zero or set to those -1 constants; any
// other value is ErrInvalidOptions, so a forgotten Idempotent flag fails
// loudly instead of silently dropping the producer identity. Transactional
// requires Idempotent.
type BatchOptions struct {
	// Compression is the codec for the records section. Default none.
	Compression Compression
	// Level is the codec's compression level; 0 means the codec default:
	// gzip -1 (zlib default, levels 1-9 accepted), lz4 fast (1-9 select the
	// LZ4HC levels; Java clients since 3.8 default to 9, earlier ones and
	// franz-go use fast), zstd 3 (other levels map to the nearest klauspost
	// encoder level). Ignored for none and snappy.
	Level int
	// Idempotent makes the batch carry ProducerID, ProducerEpoch and
	// BaseSequence. Default false: the batch carries -1 for all three.
	Idempotent bool
	// ProducerID is the idempotent producer's ID (>= 0). Used only with
	// Idempotent.
	ProducerID int64
	// ProducerEpoch is the producer's epoch (>= 0). Used only with Idempotent.
	ProducerEpoch int16
	// BaseSequence is the sequence number of the first record (>= 0). Used
	// only with Idempotent.
	BaseSequence int32
	// Transactional sets attribute bit 4. Requires Idempotent.
	Transactional bool
	// LogAppendTime sets attribute bit 3. MaxTimestamp is still the largest
	// record timestamp, which readers then report for every record; to stamp
	// an append time onto an encoded batch use SetLogAppendTime.
	LogAppendTime bool
	// BaseOffset is written to the baseOffset field. Default 0, what a
	// producer sends; a log overwrites it with PutBaseOffset.
	BaseOffset int64
	// LeaderEpoch is written verbatim to partitionLeaderEpoch. The zero value
	// writes epoch 0; pass NoLeaderEpoch for the -1 a producer sends.
	LeaderEpoch int32
}

// producer returns the producer fields to write, validating the options.
func (o *BatchOptions) producer() (id int64, epoch int16, seq int32, err error) {
	if o.Idempotent {
		if o.ProducerID < 0 || o.ProducerEpoch < 0 || o.BaseSequence < 0 {
			return 0, 0, 0, kindf(ErrInvalidOptions, "idempotent batch needs producer id, epoch and sequence >= 0, got %d/%d/%d",
				o.ProducerID, o.ProducerEpoch, o.BaseSequence)
		}
		return o.ProducerID, o.ProducerEpoch, o.BaseSequence, nil
	}
	if o.Transactional {
		return 0, 0, 0, kindf(ErrInvalidOptions, "transactional batch requires Idempotent")
	}
	if (o.ProducerID != 0 && o.ProducerID != NoProducerID) ||
		(o.ProducerEpoch != 0 && o.ProducerEpoch != NoProducerEpoch) ||
		(o.BaseSequence != 0 && o.BaseSequence != NoSequence) {
		return 0, 0, 0, kindf(ErrInvalidOptions, "producer id/epoch/sequence %d/%d/%d set without Idempotent",
			o.ProducerID, o.ProducerEpoch, o.BaseSequence)
	}
	return NoProducerID, NoProducerEpoch, NoSequence, nil
}

// Encoder encodes record batches. It keeps scratch buffers and compressors
// between calls, so reuse one Encoder per goroutine: after warm-up an
// uncompressed AppendBatch into a dst with enough capacity does not allocate.
// The zero value is ready to use. An Encoder is not safe for concurrent use.
type Encoder struct {
	meta []recordMeta // per-record body size and timestamp
	raw  []byte       // uncompressed records section of a compressed batch
	aw   appendWriter // adapts dst to io.Writer for stream compressors

	gz      *gzip.Writer
	gzLevel int
	lz      *lz4.Writer
	lzLevel lz4.CompressionLevel
	zs      *zstd.Encoder
	zsLevel zstd.EncoderLevel
}

// recordMeta is what AppendBatch computes for a record before writing it.
type recordMeta struct {
	size int   // bytes after the record's length varint
	ts   int64 // timestamp, Unix ms
}

// AppendBatch appends one complete magic-v2 batch holding recs to dst and
// returns the extended slice. Record i gets offsetDelta i; baseTimestamp is
// the first record's timestamp and maxTimestamp the largest (milliseconds);
// a zero Record.Timestamp means time.Now(), read once per call. Only Key,
// Value, Headers and Timestamp of each record are used.
//
// Errors: ErrEmptyBatch for no records, ErrInvalidOptions for inconsistent
// options or an invalid Level, ErrUnknownCompression for an unknown codec,
// ErrTooLarge if the batch would exceed math.MaxInt32 bytes in total. On error dst is
// returned unextended (its spare capacity may have been written).
func (e *Encoder) AppendBatch(dst []byte, recs []Record, opts BatchOptions) ([]byte, error) {
	if len(recs) == 0 {
		return dst, ErrEmptyBatch
	}
	if !opts.Compression.valid() {
		return dst, kindf(ErrUnknownCompression, "codec %d", opts.Compression)
	}
	pid, pepoch, pseq, err := opts.producer()
	if err != nil {
		return dst, err
	}
	attrs := Attributes(opts.Compression)
	if opts.LogAppendTime {
		attrs |= AttrLogAppendTime
	}
	if opts.Transactional {
		attrs |= AttrTransactional
	}

	// Pass 1: timestamps and sizes, so the records can be written in place.
	if cap(e.meta) < len(recs) {
		e.meta = make([]recordMeta, len(recs))
	}
	meta := e.meta[:len(recs)]
	var now, base, maxTS int64
	total := 0
	for i := range recs {
		r := &recs[i]
		var ts int64
		if r.Timestamp.IsZero() {
			if now == 0 {
				now = time.Now().UnixMilli()
			}
			ts = now
		} else {
			ts = r.Timestamp.UnixMilli()
		}
		if i == 0 {
			base, maxTS = ts, ts
		} else if ts > maxTS {
			maxTS = ts
		}
		size := recordBodySize(r, ts-base, int32(i))
		if size > math.MaxInt32 {
			return dst, kindf(ErrTooLarge, "record %d is %d bytes", i, size)
		}
		meta[i] = recordMeta{size: size, ts: ts}
		total += uvarintSize(uint64(size)<<1) + size
		if total > math.MaxInt32-BatchHeaderSize {
			return dst, kindf(ErrTooLarge, "records section exceeds %d bytes", math.MaxInt32-BatchHeaderSize)
		}
	}

	start := len(dst)
	if opts.Compression == CompressionNone {
		dst = slices.Grow(dst, BatchHeaderSize+total)[:start+BatchHeaderSize+total]
		writeRecords(dst[start+BatchHeaderSize:], recs, meta, base)
	} else {
		if cap(e.raw) < total {
			e.raw = make([]byte, total)
		}
		raw := e.raw[:total]
		writeRecords(raw, recs, meta, base)
		dst = slices.Grow(dst, BatchHeaderSize+total/2)[:start+BatchHeaderSize]
		dst, err = e.compress(dst, opts.Compression, opts.Level, raw)
		if err != nil {
			return dst[:start], err
		}
		if len(dst)-start > math.MaxInt32 {
			return dst[:start], kindf(ErrTooLarge, "compressed batch exceeds %d bytes", math.MaxInt32)
		}
	}

	PutBatchHeader(dst[start:], BatchHeader{
		BaseOffset:      opts.BaseOffset,
		Length:          int32(len(dst) - start - LogOverhead),
		LeaderEpoch:     opts.LeaderEpoch,
		Magic:           Magic,
		Attributes:      attrs,
		LastOffsetDelta: int32(len(recs) - 1),
		BaseTimestamp:   base,
		MaxTimestamp:    maxTS,
		ProducerID:      pid,
		ProducerEpoch:   pepoch,
		BaseSequence:    pseq,
		NumRecords:      int32(len(recs)),
	})
	return dst, nil
}

// bytesSize is the encoded size of a nullable byte field (varint length +
// bytes); lengths beyond int32 are caught by the caller's total check.
func bytesSize(n int, null bool) int {
	if null {
		return 1
	}
	if n > math.MaxInt32 {
		return n + math.MaxInt32 // forces the record over the limit
	}
	return uvarintSize(uint64(n)<<1) + n
}

// recordBodySize returns the size of a record after its length varint.
func recordBodySize(r *Record, tsDelta int64, offDelta int32) int {
	n := 1 + varlongSize(tsDelta) + varintSize(offDelta) +
		bytesSize(len(r.Key), r.Key == nil) + bytesSize(len(r.Value), r.Value == nil)
	if len(r.Headers) > math.MaxInt32 {
		return math.MaxInt32 + 1
	}
	n += uvarintSize(uint64(len(r.Headers)) << 1)
	for i := range r.Headers {
		h := &r.Headers[i]
		n += bytesSize(len(h.Key), false) + bytesSize(len(h.Value), h.Value == nil)
	}
	return n
}

// writeRecords writes the records section into b, which has exactly the size
// computed from meta.
func writeRecords(b []byte, recs []Record, meta []recordMeta, base int64) {
	p := 0
	for i := range recs {
		r := &recs[i]
		p += putUvarint(b[p:], uint64(meta[i].size)<<1)
		b[p] = 0 // record attributes: unused
		p++
		p += putVarlong(b[p:], meta[i].ts-base)
		p += putVarint(b[p:], int32(i))
		p = putBytes(b, p, r.Key)
		p = putBytes(b, p, r.Value)
		p += putUvarint(b[p:], uint64(len(r.Headers))<<1)
		for j := range r.Headers {
			h := &r.Headers[j]
			p += putUvarint(b[p:], uint64(len(h.Key))<<1)
			p += copy(b[p:], h.Key)
			p = putBytes(b, p, h.Value)
		}
	}
}

// putBytes writes a nullable byte field at b[p:] and returns the new position.
func putBytes(b []byte, p int, v []byte) int {
	if v == nil {
		b[p] = 1 // zig-zag(-1)
		return p + 1
	}
	p += putUvarint(b[p:], uint64(len(v))<<1)
	return p + copy(b[p:], v)
}

// appendWriter is an io.Writer that appends to a slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

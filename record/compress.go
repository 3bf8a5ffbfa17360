package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"slices"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Framing, as Kafka's Java client writes it (clients/.../common/compress):
//
//	gzip    RFC 1952 stream
//	snappy  xerial (snappy-java SnappyOutputStream): 16-byte header
//	        82 'S' 'N' 'A' 'P' 'P' 'Y' 00, int32 version 1, int32 compatible 1,
//	        then per 32 KiB of input: int32 BE length + raw snappy block
//	lz4     LZ4 frame, 64 KiB blocks, independent, no block or content checksum
//	zstd    standard zstd frame, level 3
//
// Snappy is read in xerial or raw form: franz-go writes one raw snappy block
// and snappy-java's reader falls back to raw when the magic is absent.

var xerialMagic = [8]byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const (
	xerialHeaderSize = 16
	xerialBlockSize  = 32 << 10

	// DefaultMaxDecompressedSize is the default bound on the decompressed
	// size of one batch's records section.
	DefaultMaxDecompressedSize = 64 << 20

	// keepScratch is the largest decompression scratch buffer a Decoder keeps
	// between calls.
	keepScratch = 8 << 20
)

var lz4Levels = [...]lz4.CompressionLevel{lz4.Fast, lz4.Level1, lz4.Level2, lz4.Level3,
	lz4.Level4, lz4.Level5, lz4.Level6, lz4.Level7, lz4.Level8, lz4.Level9}

// compress appends src compressed with c to dst.
func (e *Encoder) compress(dst []byte, c Compression, level int, src []byte) ([]byte, error) {
	switch c {
	case CompressionGzip:
		return e.compressGzip(dst, level, src)
	case CompressionSnappy:
		return appendXerial(dst, src), nil
	case CompressionLZ4:
		return e.compressLZ4(dst, level, src)
	case CompressionZstd:
		return e.compressZstd(dst, level, src)
	}
	return dst, kindf(ErrUnknownCompression, "codec %d", c)
}

func (e *Encoder) compressGzip(dst []byte, level int, src []byte) ([]byte, error) {
	if level == 0 {
		level = gzip.DefaultCompression
	}
	if e.gz == nil || e.gzLevel != level {
		w, err := gzip.NewWriterLevel(&e.aw, level)
		if err != nil {
			return dst, kindf(ErrInvalidOptions, "gzip level %d", level)
		}
		e.gz, e.gzLevel = w, level
	} else {
		e.gz.Reset(&e.aw)
	}
	e.aw.b = dst
	_, err := e.gz.Write(src)
	if cerr := e.gz.Close(); err == nil {
		err = cerr
	}
	dst, e.aw.b = e.aw.b, nil
	return dst, err
}

// appendXerial appends src in xerial snappy framing.
func appendXerial(dst, src []byte) []byte {
	dst = append(dst, xerialMagic[:]...)
	dst = binary.BigEndian.AppendUint32(dst, 1) // version
	dst = binary.BigEndian.AppendUint32(dst, 1) // minimum compatible version
	for len(src) > 0 {
		chunk := src[:min(len(src), xerialBlockSize)]
		src = src[len(chunk):]
		p := len(dst)
		dst = slices.Grow(dst, 4+snappy.MaxEncodedLen(len(chunk)))
		enc := snappy.Encode(dst[p+4:cap(dst)], chunk)
		binary.BigEndian.PutUint32(dst[p:p+4], uint32(len(enc)))
		dst = dst[:p+4+len(enc)]
	}
	return dst
}

func (e *Encoder) compressLZ4(dst []byte, level int, src []byte) ([]byte, error) {
	if level < 0 || level >= len(lz4Levels) {
		return dst, kindf(ErrInvalidOptions, "lz4 level %d", level)
	}
	lvl := lz4Levels[level]
	if e.lz == nil {
		e.lz = lz4.NewWriter(&e.aw)
		if err := e.lz.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(false),
			lz4.BlockChecksumOption(false), lz4.ConcurrencyOption(1), lz4.CompressionLevelOption(lvl)); err != nil {
			e.lz = nil
			return dst, kindf(ErrInvalidOptions, "lz4: %v", err)
		}
		e.lzLevel = lvl
	} else {
		e.lz.Reset(&e.aw)
		if lvl != e.lzLevel {
			if err := e.lz.Apply(lz4.CompressionLevelOption(lvl)); err != nil {
				return dst, kindf(ErrInvalidOptions, "lz4: %v", err)
			}
			e.lzLevel = lvl
		}
	}
	e.aw.b = dst
	_, err := e.lz.Write(src)
	if cerr := e.lz.Close(); err == nil {
		err = cerr
	}
	dst, e.aw.b = e.aw.b, nil
	return dst, err
}

func (e *Encoder) compressZstd(dst []byte, level int, src []byte) ([]byte, error) {
	if level < 0 {
		return dst, kindf(ErrInvalidOptions, "zstd level %d", level)
	}
	lvl := zstd.SpeedDefault // zstd level 3
	if level != 0 {
		lvl = zstd.EncoderLevelFromZstd(level)
	}
	if e.zs == nil || e.zsLevel != lvl {
		// Creating a zstd encoder is expensive: do it once per Encoder and
		// level. Concurrency 1 makes EncodeAll run on the caller's goroutine.
		zs, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(lvl), zstd.WithEncoderConcurrency(1))
		if err != nil {
			return dst, kindf(ErrInvalidOptions, "zstd: %v", err)
		}
		e.zs, e.zsLevel = zs, lvl
	}
	return e.zs.EncodeAll(src, dst), nil
}

// decompress returns the decompressed records section src of codec c. The
// result is a fresh slice owned by the caller (records alias it); d's scratch
// buffer is reused between calls.
func (d *Decoder) decompress(c Compression, src []byte) ([]byte, error) {
	limit := d.MaxDecompressedSize
	if limit <= 0 {
		limit = DefaultMaxDecompressedSize
	}
	var out []byte
	var err error
	switch c {
	case CompressionGzip:
		out, err = d.gunzip(src, limit)
	case CompressionSnappy:
		out, err = d.unsnappy(src, limit)
	case CompressionLZ4:
		out, err = d.unlz4(src, limit)
	case CompressionZstd:
		out, err = d.unzstd(src, limit)
	default:
		return nil, corruptKindf(ErrUnknownCompression, "codec %d", c)
	}
	if err != nil {
		return nil, err
	}
	res := make([]byte, len(out))
	copy(res, out)
	if cap(out) > keepScratch {
		d.scratch = nil
	} else {
		d.scratch = out[:0]
	}
	return res, nil
}

// readLimited reads r to EOF into d.scratch, failing with ErrTooLarge past
// limit bytes. hint is a first guess at the output size.
func (d *Decoder) readLimited(r io.Reader, limit, hint int, codec string) ([]byte, error) {
	buf := d.scratch[:0]
	if want := min(max(hint, 512), limit+1); cap(buf) < want {
		buf = make([]byte, 0, want)
	}
	for {
		if len(buf) == cap(buf) {
			if len(buf) > limit {
				d.scratch = buf[:0]
				return nil, kindf(ErrTooLarge, "%s records section decompresses to more than %d bytes", codec, limit)
			}
			buf = slices.Grow(buf, min(max(len(buf), 512), limit+1-len(buf)))
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if len(buf) > limit {
				d.scratch = buf[:0]
				return nil, kindf(ErrTooLarge, "%s records section decompresses to more than %d bytes", codec, limit)
			}
			return buf, nil
		}
		if err != nil {
			d.scratch = buf[:0]
			return nil, corruptf("%s: %v", codec, err)
		}
	}
}

func (d *Decoder) gunzip(src []byte, limit int) ([]byte, error) {
	d.br.Reset(src)
	if d.gz == nil {
		gz, err := gzip.NewReader(&d.br)
		if err != nil {
			return nil, corruptf("gzip: %v", err)
		}
		d.gz = gz
	} else if err := d.gz.Reset(&d.br); err != nil {
		return nil, corruptf("gzip: %v", err)
	}
	return d.readLimited(d.gz, limit, 4*len(src), "gzip")
}

func (d *Decoder) unlz4(src []byte, limit int) ([]byte, error) {
	d.br.Reset(src)
	if d.lz == nil {
		d.lz = lz4.NewReader(&d.br)
		if err := d.lz.Apply(lz4.ConcurrencyOption(1)); err != nil {
			return nil, corruptf("lz4: %v", err)
		}
	} else {
		d.lz.Reset(&d.br)
	}
	return d.readLimited(d.lz, limit, 4*len(src), "lz4")
}

func (d *Decoder) unzstd(src []byte, limit int) ([]byte, error) {
	if d.zd == nil || d.zdLimit != limit {
		// Expensive: once per Decoder (and limit). Concurrency 1 keeps
		// DecodeAll on the caller's goroutine; the memory options bound
		// what a hostile frame header can make it allocate.
		zd, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(uint64(limit)),
			zstd.WithDecoderMaxWindow(uint64(max(limit, zstd.MinWindowSize))))
		if err != nil {
			return nil, corruptf("zstd: %v", err)
		}
		if d.zd != nil {
			d.zd.Close()
		}
		d.zd, d.zdLimit = zd, limit
	}
	out, err := d.zd.DecodeAll(src, d.scratch[:0])
	if err != nil {
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
			return nil, kindf(ErrTooLarge, "zstd records section decompresses to more than %d bytes", limit)
		}
		return nil, corruptf("zstd: %v", err)
	}
	if len(out) > limit {
		return nil, kindf(ErrTooLarge, "zstd records section decompresses to more than %d bytes", limit)
	}
	return out, nil
}

func (d *Decoder) unsnappy(src []byte, limit int) ([]byte, error) {
	if len(src) < len(xerialMagic) || !bytes.Equal(src[:len(xerialMagic)], xerialMagic[:]) {
		n, err := snappy.DecodedLen(src)
		if err != nil {
			return nil, corruptf("snappy: %v", err)
		}
		if n > limit {
			return nil, kindf(ErrTooLarge, "snappy records section decompresses to %d bytes, limit %d", n, limit)
		}
		buf := slices.Grow(d.scratch[:0], n)
		out, err := snappy.Decode(buf[:n], src)
		if err != nil {
			return nil, corruptf("snappy: %v", err)
		}
		return out, nil
	}
	if len(src) < xerialHeaderSize {
		return nil, corruptf("snappy: short xerial header")
	}
	buf := d.scratch[:0]
	for p := xerialHeaderSize; p < len(src); {
		if len(src)-p < 4 {
			return nil, corruptf("snappy: truncated xerial chunk length")
		}
		n := int(binary.BigEndian.Uint32(src[p:]))
		p += 4
		if n > len(src)-p {
			return nil, corruptf("snappy: xerial chunk of %d bytes exceeds input", n)
		}
		chunk := src[p : p+n]
		p += n
		dl, err := snappy.DecodedLen(chunk)
		if err != nil {
			return nil, corruptf("snappy: %v", err)
		}
		if dl > limit-len(buf) {
			return nil, kindf(ErrTooLarge, "snappy records section decompresses to more than %d bytes", limit)
		}
		buf = slices.Grow(buf, dl)
		if _, err := snappy.Decode(buf[len(buf):len(buf)+dl], chunk); err != nil {
			return nil, corruptf("snappy: %v", err)
		}
		buf = buf[:len(buf)+dl]
	}
	return buf, nil
}

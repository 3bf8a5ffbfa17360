// Package record is the Kafka magic-v2 RecordBatch codec: the Record type,
// byte-exact encoding and decoding of batches, CRC-32C, zig-zag varints with
// Kafka's limits, attributes, control (transaction marker) batches and the
// five compression codecs in the framing Kafka's Java client writes.
//
// Batches written here are byte-compatible with what Kafka brokers store and
// Kafka clients (Java, franz-go, Sarama) read, and this package reads what
// they write.
//
// # Batch layout
//
// All fixed-width integers are big-endian. The CRC-32C (Castagnoli) covers
// bytes [21, end): attributes through the last record byte, compressed bytes
// if compressed. baseOffset and partitionLeaderEpoch are outside it so a log
// can stamp them (PutBaseOffset, PutLeaderEpoch) without recomputing it.
//
//	offset size field
//	     0    8 baseOffset            int64
//	     8    4 batchLength           int32  = total size - 12 (LogOverhead)
//	    12    4 partitionLeaderEpoch  int32  (-1 if none)
//	    16    1 magic                 int8   = 2
//	    17    4 crc                   uint32 CRC-32C of [21, end) ─┐
//	    21    2 attributes            int16                        │
//	    23    4 lastOffsetDelta       int32                        │
//	    27    8 baseTimestamp         int64  ms                    │
//	    35    8 maxTimestamp          int64  ms                    │ CRC
//	    43    8 producerId            int64  (-1 if none)          │ span
//	    51    2 producerEpoch         int16  (-1 if none)          │
//	    53    4 baseSequence          int32  (-1 if none)          │
//	    57    4 recordsCount          int32  (never compressed)    │
//	    61    n records: raw, or one compressed stream of them    ─┘
//
//	attributes: bits 0-2 codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)
//	            bit 3 LogAppendTime, bit 4 transactional, bit 5 control,
//	            bit 6 delete horizon in baseTimestamp
//
// Each record (zig-zag varints; int32 varints at most 5 bytes, varlongs 10):
//
//	length varint | attributes int8 (0) | timestampDelta varlong |
//	offsetDelta varint | keyLength varint (-1 = null) | key |
//	valueLength varint (-1 = null) | value | headerCount varint |
//	headerCount × (keyLength varint (>= 0) | key | valueLength varint | value)
//
// # Compression framing
//
// Written: gzip as an RFC 1952 stream; snappy in xerial framing (the 16-byte
// header 82 'S' 'N' 'A' 'P' 'P' 'Y' 00, version 1, compatible 1, then
// length-prefixed raw snappy blocks of 32 KiB input each); lz4 as an LZ4
// frame with 64 KiB independent blocks and no block or content checksum;
// zstd as a standard frame at level 3. Read: the same, plus raw (unframed)
// snappy as franz-go writes it. Decompressed output is bounded by
// Decoder.MaxDecompressedSize (default 64 MiB).
//
// # Defaults and design decisions
//
// Producer identity: the zero BatchOptions is a non-idempotent batch, written
// with Kafka's -1 for producerId, producerEpoch and baseSequence. The
// producer fields are written only when BatchOptions.Idempotent is set (and
// must then be >= 0); without it they must be zero or the No* constants, so a
// forgotten flag is an ErrInvalidOptions rather than a batch silently
// attributed to producer 0. Transactional requires Idempotent.
//
// Leader epoch: BatchOptions.LeaderEpoch is written verbatim, so the zero
// value writes epoch 0; a producer-style batch passes NoLeaderEpoch.
//
// Timestamps are Unix milliseconds on the wire. Encoding a record whose
// Timestamp is the zero time.Time uses the current time (read once per
// AppendBatch), as Kafka clients do for an unset timestamp. baseTimestamp is
// the first record's timestamp and maxTimestamp the largest. Decoding gives
// baseTimestamp + timestampDelta for CreateTime batches and maxTimestamp for
// every record of a LogAppendTime batch; Kafka's NoTimestamp (-1) decodes to
// the zero time.Time.
//
// Offsets: record i of an encoded batch has offsetDelta i. Decoding checks
// that offset deltas strictly increase and do not exceed lastOffsetDelta
// (compaction may leave gaps, which are accepted).
//
// Empty batches: AppendBatch refuses them (ErrEmptyBatch); Decode accepts
// them (compaction can leave a batch with recordsCount 0), and readers must
// continue at BatchHeader.NextOffset whether or not records remain.
//
// # Errors
//
// Every problem with the bytes matches errors.Is(err, ErrCorrupt); short input
// also matches ErrTruncated, a checksum mismatch ErrCRC, a magic byte other
// than 2 ErrUnsupportedMagic and a codec above 4 ErrUnknownCompression. A
// batch that decompresses past the limit is ErrTooLarge, which is not
// ErrCorrupt. Decoding never panics.
//
// # Performance and lifetimes
//
// Encoder and Decoder keep buffers and (de)compressors between calls: keep
// one per goroutine. Encoding an uncompressed batch into a dst with spare
// capacity, and decoding an uncompressed batch without headers into a dst
// with capacity, do not allocate. Decoded keys and values alias the input
// for uncompressed batches (valid while the input is), or a buffer allocated
// for that batch when compressed; nothing returned by Decode is overwritten
// by a later Decode call. See Decoder.
//
// # Caveats
//
// Only magic 2 is supported; magic 0 and 1 message sets are rejected as
// corrupt. The Java lz4 reader rejects dependent-block frames; this package
// never writes them. Encoder and Decoder are not safe for concurrent use.
package record

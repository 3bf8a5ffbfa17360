package segment

import (
	"os"
	"testing"

	"github.com/samsalog/samsa/record"
)

// FuzzRecover writes arbitrary bytes as a .log, opens it as an active
// segment and recovers it: nothing panics, ValidBytes ends on the boundary
// of a prefix of CheckBatch-valid batches with increasing offsets, a nil Err
// means the whole file, and everything published reads back as valid
// batches.
func FuzzRecover(f *testing.F) {
	var valid []byte
	next := int64(0)
	for i := range 4 {
		b := makeBatch(f, next, 1+i, 20, 1000)
		valid = append(valid, b...)
		next += int64(1 + i)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-7])
	f.Add([]byte{})
	f.Fuzz(fuzzRecoverOne)
}

func fuzzRecoverOne(t *testing.T, data []byte) {
	dir := t.TempDir()
	if err := os.WriteFile(Filename(dir, 0, LogSuffix), data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{IndexIntervalBytes: 64, MaxIndexBytes: 4096, PreallocateBytes: 4096}
	s, err := Open(dir, 0, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Recover(0)
	if err != nil {
		t.Fatal(err)
	}
	if r.ValidBytes > int64(len(data)) || (r.Err == nil) != (r.ValidBytes == int64(len(data))) {
		t.Fatalf("ValidBytes %d of %d, Err %v", r.ValidBytes, len(data), r.Err)
	}
	pos, batches, nextOff := int64(0), 0, int64(0)
	for pos < r.ValidBytes {
		h, err := record.CheckBatch(data[pos:r.ValidBytes])
		if err != nil {
			t.Fatalf("batch at %d inside ValidBytes %d: %v", pos, r.ValidBytes, err)
		}
		if h.BaseOffset < nextOff {
			t.Fatalf("offsets decrease at %d", pos)
		}
		nextOff = h.NextOffset()
		pos += int64(h.Size())
		batches++
	}
	if pos != r.ValidBytes || batches != r.Batches {
		t.Fatalf("walk ended at %d after %d batches; ValidBytes %d, Batches %d", pos, batches, r.ValidBytes, r.Batches)
	}
	if batches > 0 && nextOff != r.NextOffset {
		t.Fatalf("next offset %d, ScanResult %d", nextOff, r.NextOffset)
	}
	if err := s.TruncateTo(r.ValidBytes); err != nil {
		t.Fatal(err)
	}
	v, err := s.Read(0, 1<<30, 1<<62, true)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(v.Data)) != r.ValidBytes {
		t.Fatalf("read %d bytes of %d valid", len(v.Data), r.ValidBytes)
	}
	v.Release()
}

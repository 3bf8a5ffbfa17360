package samsa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"

	samsafs "github.com/samsalog/samsa/internal/fs"
)

// producerIDFile is the file in the data directory that holds the next
// producer ID to hand out.
const producerIDFile = "producer-id-counter"

// producerIDFileVersion is the format version written to producerIDFile.
const producerIDFileVersion = 1

// ErrCorruptProducerIDs reports a producer-id-counter file that cannot be
// read back: not the JSON samsa writes, a version it does not know, or a
// negative counter. InitProducerID refuses to guess, because handing out an
// ID twice would let two producers' batches pass for each other's retries.
var ErrCorruptProducerIDs = errors.New("samsa: corrupt producer-id-counter")

// producerIDCounter is the content of producerIDFile.
type producerIDCounter struct {
	Version int   `json:"version"`
	Next    int64 `json:"next_producer_id"`
}

// InitProducerID hands out a new producer ID, with epoch 0, for an
// idempotent producer: Kafka's InitProducerId request without a
// transactional.id. Every call returns an ID no earlier call returned, on this
// data directory, across restarts and crashes: the counter is kept in the
// data directory's "producer-id-counter" file and replaced atomically (temp
// file, fsync, rename, directory fsync) before the ID is returned, so an ID
// is never reused even if the process dies right after the call.
//
// Each call costs one atomic file replacement (a few fsyncs): producers call
// it once, when they start. Calls are serialized with topic changes.
//
// Errors: ctx.Err() if ctx is done before the call starts; ErrClosed;
// ErrCorruptProducerIDs for a damaged counter file; I/O errors (no ID is
// handed out then).
func (b *Broker) InitProducerID(ctx context.Context) (id int64, epoch int16, err error) {
	if err := ctx.Err(); err != nil {
		return -1, -1, err
	}
	if err := b.checkOpen(); err != nil {
		return -1, -1, err
	}
	b.adminMu.Lock()
	defer b.adminMu.Unlock()
	// Close marks the broker closed before it takes adminMu: checked again
	// under it, so no counter is written after Close released the lock.
	if err := b.checkOpen(); err != nil {
		return -1, -1, err
	}
	path := filepath.Join(b.dir, producerIDFile)
	next, err := readProducerIDCounter(b.fs, path)
	if err != nil {
		return -1, -1, err
	}
	if next == math.MaxInt64 {
		return -1, -1, fmt.Errorf("%w: %s: producer IDs exhausted", ErrCorruptProducerIDs, path)
	}
	data, err := json.Marshal(producerIDCounter{Version: producerIDFileVersion, Next: next + 1})
	if err != nil {
		return -1, -1, err
	}
	if err := samsafs.WriteFileAtomic(b.fs, path, append(data, '\n')); err != nil {
		return -1, -1, fmt.Errorf("samsa: write %s: %w", path, err)
	}
	return next, 0, nil
}

// readProducerIDCounter returns the next producer ID stored at path, 0 if
// the file does not exist.
func readProducerIDCounter(fsys samsafs.FS, path string) (int64, error) {
	data, err := readFileFS(fsys, path, 4096)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if errors.Is(err, errFileTooLarge) {
		return 0, fmt.Errorf("%w: %s: %w", ErrCorruptProducerIDs, path, err)
	}
	if err != nil {
		return 0, fmt.Errorf("samsa: read %s: %w", path, err)
	}
	var c producerIDCounter
	if err := json.Unmarshal(data, &c); err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrCorruptProducerIDs, path, err)
	}
	if c.Version != producerIDFileVersion {
		return 0, fmt.Errorf("%w: %s: version %d, want %d", ErrCorruptProducerIDs, path, c.Version, producerIDFileVersion)
	}
	if c.Next < 0 {
		return 0, fmt.Errorf("%w: %s: next producer ID %d", ErrCorruptProducerIDs, path, c.Next)
	}
	return c.Next, nil
}

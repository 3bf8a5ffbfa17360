package samsa

// The topic registry: which topics exist, with how many partitions and which
// config overrides. It lives in <dir>/topics.json, replaced as a whole and
// atomically (fs.WriteFileAtomic: temp file, fsync, rename, fsync the
// directory) on every change, so a crash leaves the old registry or the new
// one, never a mix.
//
// In memory the registry is an immutable snapshot (registryState) behind an
// atomic pointer. A change copies the snapshot, edits the copy, writes it,
// and only then publishes it: readers (the produce and fetch paths looking
// a topic up) take no lock and never see a change that is not on disk.
// Changes are serialized by registry.mu, held across their disk writes.
//
// # Deleting a topic
//
// A partition's directory is "<topic>-<partition>", so a topic created
// again under the same name would find the old one's data if deletion left
// any behind. Deletion therefore goes in this order, each step durable
// before the next:
//
//  1. commit a registry without the topic but with a tombstone
//     {name, id, partitions} in its "deleting" list. This is the commit
//     point: from here the topic is gone for readers and after any crash.
//  2. the caller closes the topic's partitions (the release callback).
//  3. rename each "<topic>-<p>" still present to
//     "<topic>-<p>.<id>-delete" (Kafka's name, cut to 255 bytes), then
//     fsync the data directory.
//  4. commit a registry without the tombstone.
//  5. remove the "-delete" directories, then fsync the data directory.
//
// A crash before 1 is durable leaves the topic whole. A crash between 1
// and 4 leaves a tombstone: opening the registry redoes 3 and 4 (renames
// are skipped for directories already renamed). After 4, only "-delete"
// directories are left, and opening the registry removes every one it
// finds (5). Creating a topic whose name has a tombstone first finishes
// that deletion (3 and 4), so a tombstone never outlives into a new topic
// of its name and cannot rename the new topic's directories.
//
// Creating a topic and adding partitions only change the registry: the
// partitions' directories are the broker's to create when it opens their
// logs, after the commit, so a crash between the two leaves a registered
// partition without a directory, which the broker creates at open.

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsalog/samsa/internal/fs"
)

const (
	// registryFileName is the topic registry in a data directory.
	registryFileName = "topics.json"
	// registryVersion is the format of topics.json this code writes and
	// reads; any other is ErrRegistryVersion.
	registryVersion = 1
	// maxRegistryBytes bounds what is read of topics.json: far above what
	// a real registry needs (~200 bytes a topic), far below trouble.
	maxRegistryBytes = 64 << 20
)

// registryFile is topics.json.
type registryFile struct {
	// Version is registryVersion.
	Version int `json:"version"`
	// Topics are the topics, sorted by name.
	Topics []registryTopic `json:"topics"`
	// Deleting are topics deleted whose directories may not all have been
	// renamed yet, sorted by name.
	Deleting []registryTombstone `json:"deleting,omitempty"`
}

type registryTopic struct {
	Name       string            `json:"name"`
	ID         TopicID           `json:"id"`
	Partitions int32             `json:"partitions"`
	Created    time.Time         `json:"created"`
	Config     map[string]string `json:"config,omitempty"` // the overrides, as Kafka properties
}

type registryTombstone struct {
	Name       string  `json:"name"`
	ID         TopicID `json:"id"`
	Partitions int32   `json:"partitions"`
}

// topicMeta is what the registry holds of a topic. Immutable once
// published.
type topicMeta struct {
	name       string
	id         TopicID
	partitions int32
	created    time.Time
	overrides  TopicConfig // the topic's own settings; Partitions is zero
}

// tombstone is a deleted topic whose partition directories are not yet all
// renamed to "-delete" names.
type tombstone struct {
	name       string
	id         TopicID
	partitions int32
}

// registryState is one immutable snapshot of the registry. Nothing in it is
// modified after it is published; a change builds a new one with clone.
type registryState struct {
	topics   map[string]*topicMeta // by name
	unified  map[string]string     // unifyCollisionChars(name) -> name
	names    []string              // sorted
	deleting []tombstone           // sorted by name, then id
}

func emptyRegistryState() *registryState {
	return &registryState{topics: map[string]*topicMeta{}, unified: map[string]string{}}
}

// clone returns a copy of s that may be changed before it is published.
func (s *registryState) clone() *registryState {
	return &registryState{
		topics:   maps.Clone(s.topics),
		unified:  maps.Clone(s.unified),
		names:    slices.Clone(s.names),
		deleting: slices.Clone(s.deleting),
	}
}

// put adds or replaces a topic of an unpublished state.
func (s *registryState) put(m *topicMeta) {
	if _, ok := s.topics[m.name]; !ok {
		i, _ := slices.BinarySearch(s.names, m.name)
		s.names = slices.Insert(s.names, i, m.name)
	}
	s.topics[m.name] = m
	s.unified[unifyCollisionChars(m.name)] = m.name
}

// remove deletes a topic of an unpublished state.
func (s *registryState) remove(name string) {
	delete(s.topics, name)
	delete(s.unified, unifyCollisionChars(name))
	if i, ok := slices.BinarySearch(s.names, name); ok {
		s.names = slices.Delete(s.names, i, i+1)
	}
}

// lookup returns the topic named name, or nil.
func (s *registryState) lookup(name string) *topicMeta { return s.topics[name] }

// topicNames returns the names of the topics, sorted; the caller owns the
// slice.
func (s *registryState) topicNames() []string { return slices.Clone(s.names) }

// collision returns the existing topic that name collides with (another
// name, equal once '.' and '_' are unified), or "".
func (s *registryState) collision(name string) string {
	if other, ok := s.unified[unifyCollisionChars(name)]; ok && other != name {
		return other
	}
	return ""
}

// describeTopicMeta returns the description of m (without partition
// details) with its effective config merged over defaults.
func describeTopicMeta(m *topicMeta, defaults TopicConfig) TopicDescription {
	eff := m.overrides.effective(defaults)
	eff.Partitions = m.partitions
	return TopicDescription{
		Name:       m.name,
		ID:         m.id,
		Partitions: m.partitions,
		Internal:   IsInternalTopic(m.name),
		Created:    m.created,
		Overrides:  m.overrides,
		Config:     eff,
	}
}

// idInUse reports whether a topic or a tombstone has id.
func (s *registryState) idInUse(id TopicID) bool {
	for _, m := range s.topics {
		if m.id == id {
			return true
		}
	}
	for _, t := range s.deleting {
		if t.id == id {
			return true
		}
	}
	return false
}

// marshal encodes s as topics.json.
func (s *registryState) marshal() ([]byte, error) {
	f := registryFile{Version: registryVersion, Topics: make([]registryTopic, 0, len(s.names))}
	for _, name := range s.names {
		m := s.topics[name]
		t := registryTopic{Name: m.name, ID: m.id, Partitions: m.partitions, Created: m.created}
		if props := m.overrides.Properties(); len(props) > 0 {
			t.Config = props
		}
		f.Topics = append(f.Topics, t)
	}
	for _, d := range s.deleting {
		f.Deleting = append(f.Deleting, registryTombstone{Name: d.name, ID: d.id, Partitions: d.partitions})
	}
	b, err := json.MarshalIndent(&f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("samsa: encode topic registry: %w", err)
	}
	return append(b, '\n'), nil
}

// decodeRegistry parses and checks topics.json (path is for errors).
// Anything samsa would not have written is ErrCorruptRegistry; another
// version is ErrRegistryVersion.
func decodeRegistry(path string, data []byte) (*registryState, error) {
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrCorruptRegistry, path, fmt.Sprintf(format, args...))
	}
	// Read the version first, alone, so that a newer format is reported as
	// such even if the rest would not parse as this one.
	var v struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, corrupt("%v", err)
	}
	switch {
	case v.Version == nil:
		return nil, corrupt("no version")
	case *v.Version != registryVersion:
		return nil, fmt.Errorf("%w: %s: version %d (this samsa reads version %d)",
			ErrRegistryVersion, path, *v.Version, registryVersion)
	}
	var f registryFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, corrupt("%v", err)
	}
	s := emptyRegistryState()
	ids := map[TopicID]string{}
	for _, t := range f.Topics {
		if err := ValidateTopicName(t.Name); err != nil {
			return nil, corrupt("%v", err)
		}
		if s.lookup(t.Name) != nil {
			return nil, corrupt("topic %q listed twice", t.Name)
		}
		if other := s.collision(t.Name); other != "" {
			return nil, corrupt("topics %q and %q collide", t.Name, other)
		}
		if t.ID.IsZero() {
			return nil, corrupt("topic %q has no id", t.Name)
		}
		if other, ok := ids[t.ID]; ok {
			return nil, corrupt("topics %q and %q share the id %s", t.Name, other, t.ID)
		}
		ids[t.ID] = t.Name
		if err := checkPartitionCount(t.Name, t.Partitions); err != nil {
			return nil, corrupt("%v", err)
		}
		overrides, err := ParseTopicConfig(t.Config)
		if err != nil {
			return nil, corrupt("topic %q: %v", t.Name, err)
		}
		s.put(&topicMeta{name: t.Name, id: t.ID, partitions: t.Partitions, created: t.Created, overrides: overrides})
	}
	for _, d := range f.Deleting {
		if err := ValidateTopicName(d.Name); err != nil {
			return nil, corrupt("deleted topic: %v", err)
		}
		if d.ID.IsZero() || d.Partitions < 1 {
			return nil, corrupt("deleted topic %q: bad id %s or partition count %d", d.Name, d.ID, d.Partitions)
		}
		if other, ok := ids[d.ID]; ok {
			return nil, corrupt("deleted topic %q has the id %s of topic %q", d.Name, d.ID, other)
		}
		ids[d.ID] = d.Name
		if s.lookup(d.Name) != nil {
			// Finishing the deletion would rename the live topic's
			// directories: never written so, refuse rather than lose data.
			return nil, corrupt("topic %q is both live and being deleted", d.Name)
		}
		s.deleting = append(s.deleting, tombstone{name: d.Name, id: d.ID, partitions: d.Partitions})
	}
	sortTombstones(s.deleting)
	return s, nil
}

func sortTombstones(ts []tombstone) {
	slices.SortFunc(ts, func(a, b tombstone) int {
		return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.id.String(), b.id.String()))
	})
}

// registry is the topic registry of a data directory. Its methods are safe
// for concurrent use: snapshot never blocks; changes are serialized.
type registry struct {
	fs     fs.FS
	dir    string
	logger *slog.Logger
	now    func() time.Time

	mu      sync.Mutex // serializes changes, held across their disk writes
	state   atomic.Pointer[registryState]
	sweepMu sync.Mutex // serializes removals of "-delete" directories
}

// openRegistry loads dir's topics.json (none: no topics), finishes the
// deletions a crash interrupted, and removes leftover "-delete"
// directories. dir must exist and be locked by the caller (lockDir).
// fsys and logger must not be nil.
func openRegistry(fsys fs.FS, dir string, logger *slog.Logger) (*registry, error) {
	r := &registry{fs: fsys, dir: dir, logger: logger, now: time.Now}
	path := r.path()

	// A crash inside WriteFileAtomic may leave its temp file; topics.json
	// itself is then the old or the new registry, whole.
	if err := fsys.Remove(path + ".tmp"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("samsa: remove stale %s.tmp: %w", path, err)
	}
	data, err := readFileFS(fsys, path, maxRegistryBytes)
	var s *registryState
	switch {
	case errors.Is(err, os.ErrNotExist):
		s = emptyRegistryState()
	case errors.Is(err, errFileTooLarge):
		return nil, fmt.Errorf("%w: %s: %v", ErrCorruptRegistry, path, err)
	case err != nil:
		return nil, fmt.Errorf("samsa: read topic registry: %w", err)
	default:
		if s, err = decodeRegistry(path, data); err != nil {
			return nil, err
		}
	}
	r.state.Store(s)

	if n := len(s.deleting); n > 0 {
		logger.Info("samsa: finishing interrupted topic deletions", "count", n)
	}
	r.mu.Lock()
	err = r.finishDeletesLocked()
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := r.sweep(true); err != nil {
		// Garbage left behind threatens no data: say so and go on.
		logger.Warn("samsa: could not remove deleted partition directories", "err", err)
	}
	return r, nil
}

func (r *registry) path() string { return filepath.Join(r.dir, registryFileName) }

// snapshot returns the current state. It never blocks; the state never
// changes.
func (r *registry) snapshot() *registryState { return r.state.Load() }

// commitLocked writes next as topics.json and, once it is durable,
// publishes it. On error the published state is unchanged (the file may
// hold either: whichever it holds is whole).
func (r *registry) commitLocked(next *registryState) error {
	data, err := next.marshal()
	if err != nil {
		return err
	}
	if err := fs.WriteFileAtomic(r.fs, r.path(), data); err != nil {
		return fmt.Errorf("samsa: write topic registry: %w", err)
	}
	r.state.Store(next)
	return nil
}

// createTopic registers a new topic with partitions partitions and the
// given overrides (their Partitions field is ignored). Errors:
// ErrInvalidTopicName (including a collision with an existing topic),
// ErrTopicExists, ErrInvalidPartitions, ErrInvalidConfig, or a disk error
// (then the topic may or may not exist after a crash, but is not published
// now). It does not check for internal names: checkUserTopic is the
// user-facing entry's job.
func (r *registry) createTopic(name string, overrides TopicConfig, partitions int32) (*topicMeta, error) {
	if err := ValidateTopicName(name); err != nil {
		return nil, err
	}
	overrides.Partitions = 0
	if err := overrides.Validate(); err != nil {
		return nil, err
	}
	if err := checkPartitionCount(name, partitions); err != nil {
		return nil, err
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.snapshot()
	if s.lookup(name) != nil {
		return nil, fmt.Errorf("%w: %q", ErrTopicExists, name)
	}
	if other := s.collision(name); other != "" {
		return nil, fmt.Errorf("%w %q: it collides with existing topic %q ('.' and '_' collide in Kafka's metric names)",
			ErrInvalidTopicName, name, other)
	}
	if slices.ContainsFunc(s.deleting, func(t tombstone) bool { return t.name == name }) {
		// The old topic's directories must be out of the way before its
		// name is taken again.
		if err := r.finishDeletesLocked(); err != nil {
			return nil, err
		}
		s = r.snapshot()
	}
	id := newTopicID()
	for s.idInUse(id) {
		id = newTopicID()
	}
	m := &topicMeta{name: name, id: id, partitions: partitions, created: r.now().UTC(), overrides: overrides}
	next := s.clone()
	next.put(m)
	if err := r.commitLocked(next); err != nil {
		return nil, err
	}
	return m, nil
}

// deleteTopic unregisters a topic and removes its partition directories,
// crash-safely (see the top of this file). release is called after the
// commit, with the registry locked, and must close whatever the caller has
// open in the topic's directories; if it fails, the directories stay until
// the next open of the registry or the next creation of the name. Errors:
// ErrUnknownTopic, a disk error before the commit (the topic is then still
// published), or release's error or a rename's (the topic is deleted all
// the same). A failure to remove the renamed directories is only logged.
func (r *registry) deleteTopic(name string, release func(*topicMeta) error) (*topicMeta, error) {
	r.mu.Lock()
	m, err := r.deleteTopicLocked(name, release)
	r.mu.Unlock()
	if m != nil {
		if serr := r.sweep(false); serr != nil {
			r.logger.Warn("samsa: could not remove deleted partition directories", "topic", name, "err", serr)
		}
	}
	return m, err
}

func (r *registry) deleteTopicLocked(name string, release func(*topicMeta) error) (*topicMeta, error) {
	s := r.snapshot()
	m := s.lookup(name)
	if m == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownTopic, name)
	}
	next := s.clone()
	next.remove(name)
	next.deleting = append(next.deleting, tombstone{name: m.name, id: m.id, partitions: m.partitions})
	sortTombstones(next.deleting)
	if err := r.commitLocked(next); err != nil {
		return nil, err
	}
	// Committed: the topic is gone. What follows only tidies the disk.
	if release != nil {
		if err := release(m); err != nil {
			return m, fmt.Errorf("samsa: delete topic %q: close partitions: %w", name, err)
		}
	}
	if err := r.finishDeletesLocked(); err != nil {
		return m, err
	}
	return m, nil
}

// finishDeletesLocked renames the partition directories of every tombstone
// to their "-delete" names, makes the renames durable, and commits a
// registry without the tombstones (steps 3 and 4).
func (r *registry) finishDeletesLocked() error {
	s := r.snapshot()
	if len(s.deleting) == 0 {
		return nil
	}
	renamed := false
	for _, t := range s.deleting {
		for p := range t.partitions {
			src := filepath.Join(r.dir, partitionDirName(t.name, p))
			if _, err := r.fs.Stat(src); errors.Is(err, os.ErrNotExist) {
				continue // renamed before a crash, or never created
			}
			dst := filepath.Join(r.dir, deleteDirName(t.name, p, t.id))
			if err := r.fs.Rename(src, dst); err != nil {
				return fmt.Errorf("samsa: delete topic %q: %w", t.name, err)
			}
			renamed = true
		}
	}
	if renamed {
		if err := r.fs.SyncDir(r.dir); err != nil {
			return fmt.Errorf("samsa: delete topics: sync %s: %w", r.dir, err)
		}
	}
	next := s.clone()
	next.deleting = nil
	return r.commitLocked(next)
}

// sweep removes every "-delete" directory in the data directory (step 5),
// then syncs the directory. At open, it also warns about directories that
// look like partitions of topics the registry does not know.
func (r *registry) sweep(atOpen bool) error {
	r.sweepMu.Lock()
	defer r.sweepMu.Unlock()
	entries, err := r.fs.ReadDir(r.dir)
	if err != nil {
		return err
	}
	var errs []error
	removed := false
	s := r.snapshot()
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		if isDeleteDirName(name) {
			if err := r.fs.RemoveAll(filepath.Join(r.dir, name)); err != nil {
				errs = append(errs, err)
				continue
			}
			removed = true
			continue
		}
		if atOpen {
			if topic, p, ok := parsePartitionDirName(name); ok {
				if m := s.lookup(topic); m == nil || p >= m.partitions {
					r.logger.Warn("samsa: directory looks like a partition of no registered topic; left alone",
						"dir", filepath.Join(r.dir, name))
				}
			}
		}
	}
	if removed {
		if err := r.fs.SyncDir(r.dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// parsePartitionDirName splits "<topic>-<partition>".
func parsePartitionDirName(name string) (topic string, partition int32, ok bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 {
		return "", 0, false
	}
	digits := name[i+1:]
	for j := 0; j < len(digits); j++ {
		if digits[j] < '0' || digits[j] > '9' {
			return "", 0, false
		}
	}
	p, err := strconv.ParseInt(digits, 10, 32)
	if err != nil || ValidateTopicName(name[:i]) != nil {
		return "", 0, false
	}
	return name[:i], int32(p), true
}

// alterTopicConfig replaces the overrides of a topic (Kafka's AlterConfigs;
// for incremental changes the caller applies SetProperty to the current
// overrides first). overrides.Partitions must be zero or the current
// count: partitions change only by createPartitions. Errors:
// ErrUnknownTopic, ErrInvalidConfig, or a disk error.
func (r *registry) alterTopicConfig(name string, overrides TopicConfig) (*topicMeta, error) {
	if err := overrides.Validate(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.snapshot()
	m := s.lookup(name)
	if m == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownTopic, name)
	}
	if p := overrides.Partitions; p != 0 && p != m.partitions {
		return nil, &configError{field: "TopicConfig.Partitions",
			reason: fmt.Sprintf("cannot be changed by altering the config (topic %q has %d, got %d): use CreatePartitions",
				name, m.partitions, p)}
	}
	overrides.Partitions = 0
	if overrides == m.overrides {
		return m, nil
	}
	nm := *m
	nm.overrides = overrides
	next := s.clone()
	next.put(&nm)
	if err := r.commitLocked(next); err != nil {
		return nil, err
	}
	return &nm, nil
}

// createPartitions grows a topic to total partitions (Kafka's
// CreatePartitions: growing only). The new partitions' directories are the
// caller's to create. Errors: ErrUnknownTopic, ErrInvalidPartitions, or a
// disk error.
func (r *registry) createPartitions(name string, total int32) (*topicMeta, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.snapshot()
	m := s.lookup(name)
	switch {
	case m == nil:
		return nil, fmt.Errorf("%w: %q", ErrUnknownTopic, name)
	case total == m.partitions:
		return nil, fmt.Errorf("%w: topic %q already has %d partitions", ErrInvalidPartitions, name, m.partitions)
	case total < m.partitions:
		return nil, fmt.Errorf("%w: topic %q currently has %d partitions, which is higher than the requested %d (partitions can only be added)",
			ErrInvalidPartitions, name, m.partitions, total)
	}
	if err := checkPartitionCount(name, total); err != nil {
		return nil, err
	}
	nm := *m
	nm.partitions = total
	next := s.clone()
	next.put(&nm)
	if err := r.commitLocked(next); err != nil {
		return nil, err
	}
	return &nm, nil
}

// errFileTooLarge reports a file longer than its reader accepts.
var errFileTooLarge = errors.New("file too large")

// readFileFS reads a whole file through fsys, refusing one longer than
// limit.
func readFileFS(fsys fs.FS, path string, limit int64) ([]byte, error) {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", errFileTooLarge, fi.Size(), limit)
	}
	buf := make([]byte, fi.Size())
	n, err := f.ReadAt(buf, 0)
	if err != nil && !(errors.Is(err, io.EOF) && n == len(buf)) {
		return nil, err
	}
	return buf, nil
}

package samsa

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/samsalog/samsa/internal/fs"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func openTestRegistry(t *testing.T, fsys fs.FS, dir string) *registry {
	t.Helper()
	r, err := openRegistry(fs.Or(fsys), dir, testLogger(t))
	require.NoError(t, err)
	return r
}

// makePartitionDirs creates the directories of partitions [from, to) of a
// topic, each with a file whose content names it, as a log would.
func makePartitionDirs(t *testing.T, dir, topic string, from, to int32) {
	t.Helper()
	for p := from; p < to; p++ {
		d := filepath.Join(dir, partitionDirName(topic, p))
		require.NoError(t, os.MkdirAll(d, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(d, "00000000000000000000.log"), []byte(d), 0o644))
	}
}

// requirePartitionDirs checks that partitions [0, n) of topic have their
// directories with their data, and that partition n has none.
func requirePartitionDirs(t *testing.T, dir, topic string, n int32) {
	t.Helper()
	for p := range n {
		d := filepath.Join(dir, partitionDirName(topic, p))
		data, err := os.ReadFile(filepath.Join(d, "00000000000000000000.log"))
		require.NoError(t, err, "partition %d of %q", p, topic)
		require.Equal(t, d, string(data))
	}
	_, err := os.Stat(filepath.Join(dir, partitionDirName(topic, n)))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// dirNames lists the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// topicView is what a test compares of a topic: all but its id and
// creation time, which differ between runs.
type topicView struct {
	Partitions int32
	Config     map[string]string
}

func viewOf(s *registryState) map[string]topicView {
	v := map[string]topicView{}
	for name, m := range s.topics {
		v[name] = topicView{Partitions: m.partitions, Config: m.overrides.Properties()}
	}
	return v
}

func TestRegistryLifecycle(t *testing.T) {
	dir := t.TempDir()
	r := openTestRegistry(t, nil, dir)
	require.Empty(t, r.snapshot().topicNames())
	_, err := os.Stat(filepath.Join(dir, registryFileName))
	require.ErrorIs(t, err, os.ErrNotExist, "an empty registry is not written")

	now := time.Date(2025, 3, 4, 5, 6, 7, 8, time.FixedZone("x", 3600))
	r.now = func() time.Time { return now }

	orders, err := r.createTopic("orders", TopicConfig{RetentionMs: time.Hour, Partitions: 99}, 3)
	require.NoError(t, err)
	require.Equal(t, "orders", orders.name)
	require.EqualValues(t, 3, orders.partitions, "the partitions argument wins over overrides.Partitions")
	require.Equal(t, TopicConfig{RetentionMs: time.Hour}, orders.overrides)
	require.True(t, orders.created.Equal(now))
	require.Equal(t, time.UTC, orders.created.Location())

	before := r.snapshot()
	_, err = r.createTopic("a.b", TopicConfig{}, 1)
	require.NoError(t, err)
	_, err = r.createTopic(ConsumerOffsetsTopic, TopicConfig{CleanupPolicy: CleanupCompact}, 50)
	require.NoError(t, err, "the broker creates internal topics through the registry")
	require.Equal(t, []string{"orders"}, before.topicNames(), "a snapshot never changes")
	require.Equal(t, []string{"__consumer_offsets", "a.b", "orders"}, r.snapshot().topicNames())

	_, err = r.alterTopicConfig("orders", TopicConfig{SegmentBytes: 1 << 20})
	require.NoError(t, err)
	_, err = r.createPartitions("orders", 5)
	require.NoError(t, err)

	d, ok := r.snapshot().describe("orders", TopicConfig{Partitions: 1, MaxMessageBytes: 5000})
	require.True(t, ok)
	require.Equal(t, orders.id, d.ID, "altering keeps the id")
	require.EqualValues(t, 5, d.Partitions)
	require.False(t, d.Internal)
	require.Equal(t, TopicConfig{SegmentBytes: 1 << 20}, d.Overrides, "alter replaces the overrides")
	require.EqualValues(t, 5, d.Config.Partitions)
	require.EqualValues(t, 1<<20, d.Config.SegmentBytes)
	require.EqualValues(t, 5000, d.Config.MaxMessageBytes, "broker default")
	require.Equal(t, 7*24*time.Hour, d.Config.RetentionMs, "Kafka default once the override is gone")
	d, ok = r.snapshot().describe(ConsumerOffsetsTopic, TopicConfig{})
	require.True(t, ok)
	require.True(t, d.Internal)
	_, ok = r.snapshot().describe("nope", TopicConfig{})
	require.False(t, ok)

	// The file is versioned, sorted, and holds overrides as Kafka properties.
	data, err := os.ReadFile(filepath.Join(dir, registryFileName))
	require.NoError(t, err)
	var f registryFile
	require.NoError(t, json.Unmarshal(data, &f))
	require.Equal(t, 1, f.Version)
	require.Len(t, f.Topics, 3)
	require.Equal(t, "orders", f.Topics[2].Name)
	require.Equal(t, map[string]string{"segment.bytes": "1048576"}, f.Topics[2].Config)
	require.Nil(t, f.Topics[1].Config, "no overrides, no config")
	require.Contains(t, string(data), `"id": "`+orders.id.String()+`"`)

	// Reopening reads back the same registry.
	want := r.snapshot()
	r2 := openTestRegistry(t, nil, dir)
	got := r2.snapshot()
	require.Equal(t, want.names, got.names)
	for _, name := range want.names {
		w, g := *want.lookup(name), *got.lookup(name)
		require.True(t, w.created.Equal(g.created))
		w.created, g.created = time.Time{}, time.Time{}
		require.Equal(t, w, g)
	}

	released := 0
	m, err := r2.deleteTopic("orders", func(m *topicMeta) error {
		released++
		require.Equal(t, "orders", m.name)
		require.Nil(t, r2.snapshot().lookup("orders"), "release runs after the commit")
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, orders.id, m.id)
	require.Equal(t, 1, released)
	require.Equal(t, []string{"__consumer_offsets", "a.b"}, r2.snapshot().topicNames())
	require.Empty(t, r2.snapshot().deleting)
	require.Equal(t, []string{"__consumer_offsets", "a.b"}, openTestRegistry(t, nil, dir).snapshot().topicNames())
}

func TestRegistryErrors(t *testing.T) {
	dir := t.TempDir()
	r := openTestRegistry(t, nil, dir)
	_, err := r.createTopic("orders", TopicConfig{}, 2)
	require.NoError(t, err)
	_, err = r.createTopic("a_b", TopicConfig{}, 1)
	require.NoError(t, err)
	long := strings.Repeat("x", MaxTopicNameLength)
	_, err = r.createTopic(long, TopicConfig{}, 1)
	require.NoError(t, err)
	snap := r.snapshot()
	file, err := os.ReadFile(filepath.Join(dir, registryFileName))
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		op   func() error
		is   []error
		msg  string
	}{
		{"create existing", func() error { _, err := r.createTopic("orders", TopicConfig{}, 1); return err },
			[]error{ErrTopicExists}, `samsa: topic already exists: "orders"`},
		{"create colliding", func() error { _, err := r.createTopic("a.b", TopicConfig{}, 1); return err },
			[]error{ErrInvalidTopicName}, `samsa: invalid topic name "a.b": it collides with existing topic "a_b"`},
		{"create invalid name", func() error { _, err := r.createTopic("a b", TopicConfig{}, 1); return err },
			[]error{ErrInvalidTopicName}, "contains a character other than"},
		{"create zero partitions", func() error { _, err := r.createTopic("new", TopicConfig{}, 0); return err },
			[]error{ErrInvalidPartitions}, "number of partitions must be larger than 0"},
		{"create invalid config", func() error { _, err := r.createTopic("new", TopicConfig{SegmentBytes: 1}, 1); return err },
			[]error{ErrInvalidConfig}, "TopicConfig.SegmentBytes (segment.bytes)"},
		{"create negative partitions in overrides is ignored, invalid config not", func() error {
			_, err := r.createTopic("new", TopicConfig{Partitions: -1, MaxMessageBytes: -1}, 1)
			return err
		}, []error{ErrInvalidConfig}, "TopicConfig.MaxMessageBytes"},
		{"delete unknown", func() error { _, err := r.deleteTopic("nope", nil); return err },
			[]error{ErrUnknownTopic}, `samsa: unknown topic: "nope"`},
		{"alter unknown", func() error { _, err := r.alterTopicConfig("nope", TopicConfig{}); return err },
			[]error{ErrUnknownTopic}, `"nope"`},
		{"alter invalid", func() error { _, err := r.alterTopicConfig("orders", TopicConfig{SegmentMs: -1}); return err },
			[]error{ErrInvalidConfig}, "TopicConfig.SegmentMs (segment.ms)"},
		{"alter partitions", func() error { _, err := r.alterTopicConfig("orders", TopicConfig{Partitions: 3}); return err },
			[]error{ErrInvalidConfig}, "use CreatePartitions"},
		{"grow unknown", func() error { _, err := r.createPartitions("nope", 3); return err },
			[]error{ErrUnknownTopic}, `"nope"`},
		{"grow to same", func() error { _, err := r.createPartitions("orders", 2); return err },
			[]error{ErrInvalidPartitions}, `topic "orders" already has 2 partitions`},
		{"shrink", func() error { _, err := r.createPartitions("orders", 1); return err },
			[]error{ErrInvalidPartitions}, "currently has 2 partitions, which is higher than the requested 1"},
		{"grow past file name length", func() error { _, err := r.createPartitions(long, 100001); return err },
			[]error{ErrInvalidPartitions}, "longer than 255 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.op()
			for _, target := range tc.is {
				require.ErrorIs(t, err, target)
			}
			require.Contains(t, err.Error(), tc.msg)
			require.Same(t, snap, r.snapshot(), "a failed change publishes nothing")
			after, err := os.ReadFile(filepath.Join(dir, registryFileName))
			require.NoError(t, err)
			require.Equal(t, string(file), string(after), "a failed change writes nothing")
		})
	}

	// Altering to the same overrides writes nothing either.
	m, err := r.alterTopicConfig("orders", TopicConfig{Partitions: 2})
	require.NoError(t, err)
	require.Same(t, snap.lookup("orders"), m)
	require.Same(t, snap, r.snapshot())
}

func TestRegistryDeleteRemovesDirs(t *testing.T) {
	dir := t.TempDir()
	r := openTestRegistry(t, nil, dir)
	old, err := r.createTopic("orders", TopicConfig{}, 3)
	require.NoError(t, err)
	_, err = r.createTopic("orders2", TopicConfig{}, 1)
	require.NoError(t, err)
	makePartitionDirs(t, dir, "orders", 0, 2) // partition 2 never opened: no directory
	makePartitionDirs(t, dir, "orders2", 0, 1)
	makePartitionDirs(t, dir, "other", 0, 1) // not registered: left alone

	_, err = r.deleteTopic("orders", nil)
	require.NoError(t, err)
	require.Equal(t, []string{"orders2-0", "other-0", "topics.json"}, dirNames(t, dir))
	requirePartitionDirs(t, dir, "orders2", 1)

	// A new topic of the same name is a new incarnation, with no old data.
	m, err := r.createTopic("orders", TopicConfig{}, 1)
	require.NoError(t, err)
	require.NotEqual(t, old.id, m.id)
	_, err = os.Stat(filepath.Join(dir, "orders-0"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestRegistryOpenCleansUp(t *testing.T) {
	dir := t.TempDir()
	id := newTopicID()
	garbage := []string{
		deleteDirName("gone", 0, id),
		deleteDirName("gone", 1, id),
	}
	kept := []string{
		"gone-2.nothex-delete", // not ours: left alone
		"orders-0",
		"stray-0", // looks like a partition of no topic: warned about, left alone
	}
	for _, d := range append(slices.Clone(garbage), kept...) {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, d, "sub"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, d, "sub", "f"), []byte("x"), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, registryFileName+".tmp"), []byte("half"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "file-delete"), nil, 0o644))

	r := openTestRegistry(t, nil, dir)
	require.Empty(t, r.snapshot().topicNames())
	require.Equal(t, []string{"file-delete", "gone-2.nothex-delete", "orders-0", "stray-0"}, dirNames(t, dir))
}

func TestRegistryFinishesTombstonesAtOpen(t *testing.T) {
	// A registry written just after step 1 of a deletion: the topic is gone,
	// its tombstone listed, one directory renamed and one not.
	dir := t.TempDir()
	id := newTopicID()
	makePartitionDirs(t, dir, "gone", 0, 3)
	makePartitionDirs(t, dir, "kept", 0, 1)
	require.NoError(t, os.Rename(filepath.Join(dir, "gone-1"), filepath.Join(dir, deleteDirName("gone", 1, id))))
	reg := fmt.Sprintf(`{"version": 1, "topics": [{"name": "kept", "id": %q, "partitions": 1, "created": "2025-01-01T00:00:00Z"}],
		"deleting": [{"name": "gone", "id": %q, "partitions": 3}]}`, newTopicID(), id)
	require.NoError(t, os.WriteFile(filepath.Join(dir, registryFileName), []byte(reg), 0o644))

	r := openTestRegistry(t, nil, dir)
	require.Equal(t, []string{"kept"}, r.snapshot().topicNames())
	require.Empty(t, r.snapshot().deleting)
	require.Equal(t, []string{"kept-0", "topics.json"}, dirNames(t, dir))
	data, err := os.ReadFile(filepath.Join(dir, registryFileName))
	require.NoError(t, err)
	require.NotContains(t, string(data), "deleting", "the tombstone is dropped from the file")
}

func TestRegistryCorrupt(t *testing.T) {
	id1, id2 := newTopicID().String(), newTopicID().String()
	topic := func(name, id string, partitions int, extra string) string {
		return fmt.Sprintf(`{"name": %q, "id": %q, "partitions": %d, "created": "2025-01-01T00:00:00Z"%s}`, name, id, partitions, extra)
	}
	reg := func(topics ...string) string {
		return `{"version": 1, "topics": [` + strings.Join(topics, ",") + `]}`
	}
	for _, tc := range []struct {
		name string
		data string
		is   error
		msg  string
	}{
		{"empty file", "", ErrCorruptRegistry, "unexpected end of JSON input"},
		{"not JSON", "hello", ErrCorruptRegistry, "invalid character"},
		{"truncated", reg(topic("a", id1, 1, ""))[:40], ErrCorruptRegistry, "unexpected end"},
		{"trailing garbage", reg() + "x", ErrCorruptRegistry, "invalid character"},
		{"no version", `{"topics": []}`, ErrCorruptRegistry, "no version"},
		{"version 0", `{"version": 0}`, ErrRegistryVersion, "version 0"},
		{"newer version", `{"version": 2, "topics": "some new shape"}`, ErrRegistryVersion, "version 2 (this samsa reads version 1)"},
		{"wrong type", `{"version": 1, "topics": {}}`, ErrCorruptRegistry, "cannot unmarshal"},
		{"bad name", reg(topic("a/b", id1, 1, "")), ErrCorruptRegistry, "invalid topic name"},
		{"duplicate", reg(topic("a", id1, 1, ""), topic("a", id2, 1, "")), ErrCorruptRegistry, `topic "a" listed twice`},
		{"collision", reg(topic("a.b", id1, 1, ""), topic("a_b", id2, 1, "")), ErrCorruptRegistry, "collide"},
		{"no id", reg(topic("a", "00000000000000000000000000000000", 1, "")), ErrCorruptRegistry, "has no id"},
		{"bad id", reg(topic("a", "xyz", 1, "")), ErrCorruptRegistry, "topic id"},
		{"shared id", reg(topic("a", id1, 1, ""), topic("b", id1, 1, "")), ErrCorruptRegistry, "share the id"},
		{"zero partitions", reg(topic("a", id1, 0, "")), ErrCorruptRegistry, "partitions must be larger than 0"},
		{"partitions overflow", reg(topic("a", id1, 1<<40, "")), ErrCorruptRegistry, "cannot unmarshal"},
		{"unknown config", reg(topic("a", id1, 1, `, "config": {"compression.type": "zstd"}`)), ErrCorruptRegistry, `unknown topic config "compression.type"`},
		{"bad config value", reg(topic("a", id1, 1, `, "config": {"segment.bytes": "1"}`)), ErrCorruptRegistry, "segment.bytes"},
		{"tombstone of a live topic", `{"version": 1, "topics": [` + topic("a", id1, 1, "") +
			`], "deleting": [{"name": "a", "id": "` + id2 + `", "partitions": 1}]}`, ErrCorruptRegistry, "both live and being deleted"},
		{"tombstone without partitions", `{"version": 1, "deleting": [{"name": "a", "id": "` + id2 + `", "partitions": 0}]}`,
			ErrCorruptRegistry, "bad id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, registryFileName)
			require.NoError(t, os.WriteFile(path, []byte(tc.data), 0o644))
			_, err := openRegistry(fs.Default, dir, testLogger(t))
			require.ErrorIs(t, err, tc.is)
			require.Contains(t, err.Error(), path)
			require.Contains(t, err.Error(), tc.msg)
			if tc.is == ErrRegistryVersion {
				require.NotErrorIs(t, err, ErrCorruptRegistry)
			}
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, tc.data, string(data), "a registry that cannot be read is never rewritten")
		})
	}

	t.Run("too large", func(t *testing.T) {
		dir := t.TempDir()
		f, err := os.Create(filepath.Join(dir, registryFileName))
		require.NoError(t, err)
		require.NoError(t, f.Truncate(maxRegistryBytes+1))
		require.NoError(t, f.Close())
		_, err = openRegistry(fs.Default, dir, testLogger(t))
		require.ErrorIs(t, err, ErrCorruptRegistry)
		require.Contains(t, err.Error(), "too large")
	})
}

// noSyncFS is the OS filesystem without fsyncs, for tests about something
// else than durability.
type noSyncFS struct{ fs.FS }

type noSyncFile struct{ fs.File }

func (noSyncFS) SyncDir(string) error { return nil }

func (n noSyncFS) OpenFile(name string, flag int, perm os.FileMode) (fs.File, error) {
	f, err := n.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return noSyncFile{f}, nil
}

func (noSyncFile) Sync() error { return nil }

func TestRegistryConcurrent(t *testing.T) {
	dir := t.TempDir()
	r := openTestRegistry(t, noSyncFS{fs.Default}, dir)
	const writers, perWriter = 4, 6
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := r.snapshot()
				for _, name := range s.topicNames() {
					m := s.lookup(name)
					if m == nil || m.name != name {
						panic("inconsistent snapshot")
					}
				}
			}
		})
	}
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				name := fmt.Sprintf("t%d-%d", w, i)
				if _, err := r.createTopic(name, TopicConfig{}, 1); err != nil {
					panic(err)
				}
				if i%2 == 0 {
					if _, err := r.createPartitions(name, 2); err != nil {
						panic(err)
					}
				}
				if i%3 == 0 {
					if _, err := r.deleteTopic(name, nil); err != nil {
						panic(err)
					}
				}
			}
		})
	}
	// Racing creations of one name: exactly one wins.
	var wins sync.Map
	for i := range 8 {
		wg.Go(func() {
			_, err := r.createTopic("race", TopicConfig{}, 1)
			if err == nil {
				wins.Store(i, true)
			} else if !errors.Is(err, ErrTopicExists) {
				panic(err)
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()

	n := 0
	wins.Range(func(any, any) bool { n++; return true })
	require.Equal(t, 1, n)
	want := r.snapshot()
	require.Len(t, want.topicNames(), writers*(perWriter-2)+1) // i = 0 and 3 deleted
	require.Equal(t, viewOf(want), viewOf(openTestRegistry(t, nil, dir).snapshot()))
}

// describe returns the description of topic name with its effective config
// merged over defaults (Config.topicDefaults).
func (s *registryState) describe(name string, defaults TopicConfig) (TopicDescription, bool) {
	m := s.lookup(name)
	if m == nil {
		return TopicDescription{}, false
	}
	return describeTopicMeta(m, defaults), true
}

package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/samsalog/samsa"
)

// readOnlyNote is printed by commands that read files without the lock.
const readOnlyNote = "read-only view; a running broker may be writing"

// kvFlag collects repeated "key=value" flags.
type kvFlag map[string]string

func (k kvFlag) String() string { return "" }

func (k kvFlag) Set(s string) error {
	for _, kv := range strings.Split(s, ",") {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return fmt.Errorf("want name=value, got %q", kv)
		}
		k[name] = value
	}
	return nil
}

// listFlag collects repeated string flags.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func runTopics(e *env, args []string) error {
	sub, args, err := subcommand(e, "topics", []string{"create", "list", "describe", "alter", "delete", "add-partitions"}, args)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		return topicsCreate(e, args)
	case "list":
		return topicsList(e, args)
	case "describe":
		return topicsDescribe(e, args)
	case "alter":
		return topicsAlter(e, args)
	case "delete":
		return topicsDelete(e, args)
	default:
		return topicsAddPartitions(e, args)
	}
}

func topicsCreate(e *env, args []string) error {
	fs := e.newFlags("topics create", "topics create --topic NAME [--partitions N] [--config name=value]...",
		"Creates a topic (kafka-topics --create). Configs are Kafka topic properties:\n"+strings.Join(samsa.TopicPropertyNames(), ", "))
	topic := fs.String("topic", "", "topic `name` (required)")
	parts := fs.Int("partitions", 1, "number of partitions")
	cfg := kvFlag{}
	fs.Var(cfg, "config", "a topic config `name=value`; repeat or separate with commas")
	ifNotExists := fs.Bool("if-not-exists", false, "succeed if the topic exists already")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *topic == "" {
		return usagef("topics create: --topic is required")
	}
	tc, err := samsa.ParseTopicConfig(cfg)
	if err != nil {
		return usagef("topics create: %v", err)
	}
	tc.Partitions = int32(*parts)
	b, err := e.createBroker()
	if err != nil {
		return err
	}
	defer closeBroker(b, &err)
	if err = b.CreateTopic(*topic, &tc); err != nil {
		if *ifNotExists && errors.Is(err, samsa.ErrTopicExists) {
			return nil
		}
		return err
	}
	fmt.Fprintf(e.stdout, "Created topic %s.\n", *topic)
	return nil
}

func topicsDelete(e *env, args []string) error {
	fs := e.newFlags("topics delete", "topics delete --topic NAME", "Deletes a topic and its data (kafka-topics --delete).")
	topic := fs.String("topic", "", "topic `name` (required)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *topic == "" {
		return usagef("topics delete: --topic is required")
	}
	b, err := e.openBroker()
	if err != nil {
		return err
	}
	defer closeBroker(b, &err)
	if err = b.DeleteTopic(*topic); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Deleted topic %s.\n", *topic)
	return nil
}

func topicsAddPartitions(e *env, args []string) error {
	fs := e.newFlags("topics add-partitions", "topics add-partitions --topic NAME --partitions TOTAL",
		"Grows a topic to TOTAL partitions (kafka-topics --alter --partitions). Keys may map to other partitions afterwards.")
	topic := fs.String("topic", "", "topic `name` (required)")
	parts := fs.Int("partitions", 0, "the new total number of partitions (required)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *topic == "" || *parts <= 0 {
		return usagef("topics add-partitions: --topic and --partitions are required")
	}
	b, err := e.openBroker()
	if err != nil {
		return err
	}
	defer closeBroker(b, &err)
	if err = b.CreatePartitions(*topic, int32(*parts)); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Topic %s now has %d partitions.\n", *topic, *parts)
	return nil
}

func topicsAlter(e *env, args []string) error {
	fs := e.newFlags("topics alter", "topics alter --topic NAME [--config name=value]... [--delete-config name]...",
		"Changes a topic's config overrides (kafka-configs --alter). Properties:\n"+strings.Join(samsa.TopicPropertyNames(), ", "))
	topic := fs.String("topic", "", "topic `name` (required)")
	cfg := kvFlag{}
	fs.Var(cfg, "config", "set a topic config `name=value`; repeat or separate with commas")
	var del listFlag
	fs.Var(&del, "delete-config", "remove the override `name` (back to the default); repeatable")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *topic == "" || len(cfg)+len(del) == 0 {
		return usagef("topics alter: --topic and at least one --config or --delete-config are required")
	}
	props := maps.Clone(map[string]string(cfg))
	for _, d := range del {
		props[d] = ""
	}
	b, err := e.openBroker()
	if err != nil {
		return err
	}
	defer closeBroker(b, &err)
	if err = b.AlterTopicConfig(*topic, props); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Altered config of topic %s.\n", *topic)
	return nil
}

func topicsList(e *env, args []string) error {
	fs := e.newFlags("topics list", "topics list [--internal] [--json]",
		"Lists the topics (kafka-topics --list). If another process holds the directory,\nreads topics.json without the lock.")
	internal := fs.Bool("internal", false, "include internal topics")
	asJSON := fs.Bool("json", false, "print a JSON array")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := e.needDir(); err != nil {
		return err
	}
	var names []string
	b, err := e.openBroker()
	switch {
	case errors.Is(err, samsa.ErrDirLocked):
		reg, rerr := readRegistry(e.dir)
		if rerr != nil {
			return rerr
		}
		fmt.Fprintf(e.stderr, "samsa: %s is in use by another process%s: %s\n", e.dir, lockHolder(err), readOnlyNote)
		for _, t := range reg.Topics {
			if *internal || !samsa.IsInternalTopic(t.Name) {
				names = append(names, t.Name)
			}
		}
		slices.Sort(names)
	case err != nil:
		return err
	default:
		names, err = b.ListTopics()
		if err == nil && *internal {
			for _, n := range []string{samsa.ConsumerOffsetsTopic, samsa.TransactionStateTopic} {
				if _, derr := b.DescribeTopic(n); derr == nil {
					names = append(names, n)
				}
			}
			slices.Sort(names)
		}
		if cerr := b.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return e.printNames(names, *asJSON)
}

// topicJSON is a topic's description for --json.
type topicJSON struct {
	Name       string            `json:"name"`
	ID         string            `json:"id,omitempty"`
	Partitions int32             `json:"partitions"`
	Internal   bool              `json:"internal"`
	Created    time.Time         `json:"created"`
	Overrides  map[string]string `json:"overrides"`
	Config     map[string]string `json:"config,omitempty"`
	ReadOnly   bool              `json:"read_only,omitempty"`
	Details    []partitionJSON   `json:"partition_details"`
}

type partitionJSON struct {
	Partition      int32 `json:"partition"`
	LogStartOffset int64 `json:"log_start_offset"`
	HighWatermark  int64 `json:"high_watermark"`
	LogEndOffset   int64 `json:"log_end_offset"`
	SizeBytes      int64 `json:"size_bytes"`
	Segments       int   `json:"segments"`
}

func topicsDescribe(e *env, args []string) error {
	fs := e.newFlags("topics describe", "topics describe [--topic NAME] [--json]",
		"Describes topics (kafka-topics --describe): config overrides and, per partition,\n"+
			"log start offset, high watermark, log end offset, size and segments.\n"+
			"If another process holds the directory, reads the files without the lock\n"+
			"(the high watermark is then unknown and shown as the log end offset).")
	topic := fs.String("topic", "", "describe only this topic (default all)")
	asJSON := fs.Bool("json", false, "print a JSON array of topics")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := e.needDir(); err != nil {
		return err
	}
	var out []topicJSON
	b, err := e.openBroker()
	switch {
	case errors.Is(err, samsa.ErrDirLocked):
		fmt.Fprintf(e.stderr, "samsa: %s is in use by another process%s: %s\n", e.dir, lockHolder(err), readOnlyNote)
		out, err = describeFiles(e.dir, *topic)
		if err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		out, err = describeBroker(b, *topic)
		if cerr := b.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if *asJSON {
		if out == nil {
			out = []topicJSON{}
		}
		return writeJSON(e.stdout, out)
	}
	for i, t := range out {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		printTopic(e.stdout, t)
	}
	return nil
}

func describeBroker(b *samsa.Broker, topic string) ([]topicJSON, error) {
	names := []string{topic}
	if topic == "" {
		var err error
		if names, err = b.ListTopics(); err != nil {
			return nil, err
		}
	}
	var out []topicJSON
	for _, n := range names {
		d, err := b.DescribeTopic(n)
		if err != nil {
			return nil, err
		}
		t := topicJSON{
			Name: d.Name, ID: d.ID.String(), Partitions: d.Partitions, Internal: d.Internal,
			Created: d.Created, Overrides: d.Overrides.Properties(), Config: d.Config.Properties(),
		}
		for _, p := range d.PartitionDetails {
			t.Details = append(t.Details, partitionJSON{
				Partition: p.Partition, LogStartOffset: p.LogStartOffset, HighWatermark: p.HighWatermark,
				LogEndOffset: p.LogEndOffset, SizeBytes: p.SizeBytes, Segments: p.Segments,
			})
		}
		out = append(out, t)
	}
	return out, nil
}

func printTopic(w io.Writer, t topicJSON) {
	var cfg []string
	for _, k := range slices.Sorted(maps.Keys(t.Overrides)) {
		cfg = append(cfg, k+"="+t.Overrides[k])
	}
	fmt.Fprintf(w, "Topic: %s\tTopicId: %s\tPartitionCount: %d\tConfigs: %s\n", t.Name, t.ID, t.Partitions, strings.Join(cfg, ","))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tPARTITION\tLOG-START\tHIGH-WATERMARK\tLOG-END\tSIZE\tSEGMENTS")
	for _, p := range t.Details {
		fmt.Fprintf(tw, "\t%d\t%d\t%d\t%d\t%s\t%d\n", p.Partition, p.LogStartOffset, p.HighWatermark, p.LogEndOffset, humanBytes(p.SizeBytes), p.Segments)
	}
	_ = tw.Flush()
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	var set bool
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// printNames prints names one a line, or as a JSON array (never null) for
// --json: the output of `topics list` and `groups list`.
func (e *env) printNames(names []string, asJSON bool) error {
	if asJSON {
		if names == nil {
			names = []string{}
		}
		return writeJSON(e.stdout, names)
	}
	for _, n := range names {
		fmt.Fprintln(e.stdout, n)
	}
	return nil
}

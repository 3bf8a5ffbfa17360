package main

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/samsalog/samsa/group"
	"github.com/samsalog/samsa/partition"
)

func runGroups(e *env, args []string) error {
	sub, args, err := subcommand(e, "groups", []string{"list", "describe", "reset-offsets", "delete"}, args)
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		return groupsList(e, args)
	case "describe":
		return groupsDescribe(e, args)
	case "reset-offsets":
		return groupsReset(e, args)
	default:
		return groupsDelete(e, args)
	}
}

func groupsList(e *env, args []string) error {
	fs := e.newFlags("groups list", "groups list [--json]", "Lists the consumer groups (kafka-consumer-groups --list).")
	asJSON := fs.Bool("json", false, "print a JSON array")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	b, err := e.openBroker()
	if err != nil {
		return err
	}
	defer closeBroker(b, &err)
	names, err := b.Coordinator().ListGroups()
	if err != nil {
		return err
	}
	slices.Sort(names)
	return e.printNames(names, *asJSON)
}

// groupJSON is a group's description for --json.
type groupJSON struct {
	Group      string         `json:"group"`
	State      string         `json:"state"`
	Generation int32          `json:"generation"`
	Protocol   string         `json:"protocol"`
	Members    int            `json:"members"`
	TotalLag   int64          `json:"total_lag"`
	Partitions []groupLagJSON `json:"partitions"`
}

type groupLagJSON struct {
	Topic         string `json:"topic"`
	Partition     int32  `json:"partition"`
	Committed     int64  `json:"current_offset"`
	HighWatermark int64  `json:"log_end_offset"`
	Lag           int64  `json:"lag"`
	MemberID      string `json:"consumer_id"`
}

func groupsDescribe(e *env, args []string) error {
	fs := e.newFlags("groups describe", "groups describe --group ID [--json]",
		"Describes a consumer group (kafka-consumer-groups --describe): its state and members,\n"+
			"and per partition the committed offset, the log end offset (the high watermark)\n"+
			"and the lag. \"-\" marks an unknown value.")
	grp := fs.String("group", "", "group `id` (required)")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *grp == "" {
		return usagef("groups describe: --group is required")
	}
	b, err := e.openBroker()
	if err != nil {
		return err
	}
	defer closeBroker(b, &err)
	d, err := b.Coordinator().DescribeGroup(*grp)
	if err != nil {
		return err
	}
	lag, err := b.GroupLag(*grp)
	if err != nil {
		return err
	}
	out := groupJSON{Group: d.Group, State: d.State.String(), Generation: d.Generation, Protocol: d.Protocol,
		Members: len(d.Members), TotalLag: lag.Total, Partitions: []groupLagJSON{}}
	for _, p := range lag.Partitions {
		out.Partitions = append(out.Partitions, groupLagJSON{Topic: p.Topic, Partition: p.Partition,
			Committed: p.Committed, HighWatermark: p.HighWatermark, Lag: p.Lag, MemberID: p.MemberID})
	}
	if *asJSON {
		return writeJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "Consumer group '%s' is %s (generation %d, %d members, total lag %d)\n\n",
		out.Group, out.State, out.Generation, out.Members, out.TotalLag)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tTOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tCONSUMER-ID")
	for _, p := range out.Partitions {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", out.Group, p.Topic, p.Partition,
			dash(p.Committed), dash(p.HighWatermark), dash(p.Lag), orDash(p.MemberID))
	}
	return tw.Flush()
}

func dash(n int64) string {
	if n < 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// parseDatetime parses Kafka's --to-datetime format (YYYY-MM-DDTHH:mm:SS.sss,
// optionally with a zone) or RFC 3339; without a zone it is local time.
func parseDatetime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05.000", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad datetime %q (want YYYY-MM-DDTHH:mm:SS.sss or RFC 3339)", s)
}

// parseResetDuration parses --by-duration: Kafka's ISO-8601 form, which is
// Java's Duration.parse (PnDTnHnMn.nS, a day being 24 hours), or else a Go
// duration. Negative durations, which would point into the future, are
// refused.
func parseResetDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("bad duration %q (want ISO-8601 PnDTnHnMnS such as P1DT12H or PT30M, or a Go duration such as 90m)", s)
	if s == "" || s[0] == '-' || s[0] == '+' {
		return 0, bad
	}
	if s[0] != 'P' && s[0] != 'p' {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, bad
		}
		return d, nil
	}
	m := isoDurationRE.FindStringSubmatch(s)
	// Java's grammar wants at least one number, and one after a T.
	if m == nil || m[1]+m[3]+m[4]+m[5] == "" || (m[2] != "" && m[3]+m[4]+m[5] == "") {
		return 0, bad
	}
	var d time.Duration
	for i, unit := range []time.Duration{1: 24 * time.Hour, 3: time.Hour, 4: time.Minute, 5: time.Second} {
		if unit == 0 || m[i] == "" {
			continue
		}
		n, err := strconv.ParseInt(m[i], 10, 64)
		if err != nil || n > int64((math.MaxInt64-d)/unit) {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
		d += time.Duration(n) * unit
	}
	if frac := m[6]; frac != "" {
		ns, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		if time.Duration(ns) > math.MaxInt64-d {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
		d += time.Duration(ns)
	}
	return d, nil
}

// isoDurationRE is Java's Duration.parse grammar without signs: days, then
// after T hours, minutes and seconds with up to 9 fraction digits.
var isoDurationRE = regexp.MustCompile(`^[Pp](?:(\d+)[Dd])?([Tt](?:(\d+)[Hh])?(?:(\d+)[Mm])?(?:(\d+)(?:[.,](\d{0,9}))?[Ss])?)?$`)

// addClamped returns a+b, saturating at the int64 limits.
func addClamped(a, b int64) int64 {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}

type resetJSON struct {
	Group    string      `json:"group"`
	Executed bool        `json:"executed"`
	Offsets  []resetLine `json:"offsets"`
}

type resetLine struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Old       int64  `json:"old_offset"`
	New       int64  `json:"new_offset"`
}

func groupsReset(e *env, args []string) error {
	fs := e.newFlags("groups reset-offsets",
		"groups reset-offsets --group ID [--topic NAME] (--to-earliest|--to-latest|--to-offset N|--shift-by N|--to-datetime T|--by-duration D) [--dry-run|--execute] [--json]",
		"Resets a group's committed offsets (kafka-consumer-groups --reset-offsets). Without\n"+
			"--execute it only prints the plan (a dry run). The group must have no members.\n"+
			"Without --topic, every partition the group has offsets for is reset.\n"+
			"Offsets are clamped to the partition's [log start, high watermark], as Kafka does;\n"+
			"--to-datetime and --by-duration past the last record reset to the high watermark.\n"+
			"--shift-by moves each partition's committed offset by N (negative: back); a\n"+
			"partition without a committed offset is an error, as in Kafka.\n"+
			"--by-duration D resets to the first record at or after now minus D, where D is\n"+
			"Kafka's ISO-8601 PnDTnHnMn.nS (P1DT2H, PT30M, PT0.5S; a day is 24 hours; no\n"+
			"years, months, weeks or signs) or a Go duration (90m, 1h30m, 1.5s).")
	grp := fs.String("group", "", "group `id` (required)")
	topic := fs.String("topic", "", "reset only this topic's partitions (all of them)")
	toEarliest := fs.Bool("to-earliest", false, "reset to the log start offset")
	toLatest := fs.Bool("to-latest", false, "reset to the high watermark")
	toOffset := fs.Int64("to-offset", -1, "reset to this `offset`")
	shiftBy := fs.Int64("shift-by", 0, "move each committed offset by `n` records (negative: back)")
	toDatetime := fs.String("to-datetime", "", "reset to the first record at or after this `time`")
	byDuration := fs.String("by-duration", "", "reset to the first record at or after now minus this `duration` (PnDTnHnMnS or 90m)")
	dryRun := fs.Bool("dry-run", false, "print the plan only (the default)")
	execute := fs.Bool("execute", false, "commit the new offsets")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *grp == "" {
		return usagef("groups reset-offsets: --group is required")
	}
	shift := flagSet(fs, "shift-by")
	n := 0
	for _, set := range []bool{*toEarliest, *toLatest, *toOffset >= 0, shift, *toDatetime != "", *byDuration != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return usagef("groups reset-offsets: give exactly one of --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime, --by-duration")
	}
	if *dryRun && *execute {
		return usagef("groups reset-offsets: --dry-run and --execute are exclusive")
	}
	// ts is the timestamp of --to-datetime or --by-duration, found once
	// for every partition as Kafka does. Before 1970 it is 0: a negative
	// one would be ListOffsets' Earliest or Latest, or invalid.
	var ts int64
	switch {
	case *toDatetime != "":
		t, err := parseDatetime(*toDatetime)
		if err != nil {
			return usagef("groups reset-offsets: %v", err)
		}
		ts = max(t.UnixMilli(), 0)
	case *byDuration != "":
		d, err := parseResetDuration(*byDuration)
		if err != nil {
			return usagef("groups reset-offsets: %v", err)
		}
		ts = max(time.Now().Add(-d).UnixMilli(), 0)
	}
	b, err := e.openBroker()
	if err != nil {
		return err
	}
	defer closeBroker(b, &err)
	lag, err := b.GroupLag(*grp)
	if err != nil {
		// An unknown group gets offsets only for a named topic.
		if *topic == "" || !errors.Is(err, group.ErrUnknownGroup) {
			return err
		}
		err = nil
	}
	old := map[group.TopicPartition]int64{}
	var tps []group.TopicPartition
	for _, p := range lag.Partitions {
		old[p.TopicPartition] = p.Committed
		if *topic == "" {
			tps = append(tps, p.TopicPartition)
		}
	}
	if *topic != "" {
		d, err := b.DescribeTopic(*topic)
		if err != nil {
			return err
		}
		for p := int32(0); p < d.Partitions; p++ {
			tps = append(tps, group.TopicPartition{Topic: *topic, Partition: p})
		}
	}
	out := resetJSON{Group: *grp, Executed: *execute, Offsets: []resetLine{}}
	offsets := map[group.TopicPartition]group.OffsetAndMetadata{}
	for _, tp := range tps {
		p, err := b.Partition(tp.Topic, tp.Partition)
		if err != nil {
			return err
		}
		lo, err := p.ListOffsets(partition.Earliest)
		if err != nil {
			return err
		}
		hi, err := p.ListOffsets(partition.Latest)
		if err != nil {
			return err
		}
		o, ok := old[tp]
		if !ok {
			o = -1
		}
		var target int64
		switch {
		case *toEarliest:
			target = lo
		case *toLatest:
			target = hi
		case *toOffset >= 0:
			target = min(max(*toOffset, lo), hi)
		case shift:
			if o < 0 {
				return fmt.Errorf("groups reset-offsets: cannot shift %s-%d: group %s has no committed offset for it", tp.Topic, tp.Partition, *grp)
			}
			target = min(max(addClamped(o, *shiftBy), lo), hi)
		default:
			if target, err = p.ListOffsets(ts); err != nil {
				return err
			}
			if target == partition.NoOffset {
				target = hi
			}
		}
		out.Offsets = append(out.Offsets, resetLine{Topic: tp.Topic, Partition: tp.Partition, Old: o, New: target})
		offsets[tp] = group.OffsetAndMetadata{Offset: target, LeaderEpoch: -1}
	}
	if *execute && len(offsets) > 0 {
		if err = b.Coordinator().ResetOffsets(e.ctx, *grp, offsets); err != nil {
			return err
		}
	}
	if *asJSON {
		return writeJSON(e.stdout, out)
	}
	if !*execute {
		fmt.Fprintln(e.stdout, "Dry run: nothing changed; pass --execute to commit these offsets.")
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tTOPIC\tPARTITION\tOLD-OFFSET\tNEW-OFFSET")
	for _, l := range out.Offsets {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\n", *grp, l.Topic, l.Partition, dash(l.Old), l.New)
	}
	return tw.Flush()
}

func groupsDelete(e *env, args []string) error {
	fs := e.newFlags("groups delete", "groups delete --group ID", "Deletes a consumer group and its offsets (kafka-consumer-groups --delete).\nThe group must have no members.")
	grp := fs.String("group", "", "group `id` (required)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *grp == "" {
		return usagef("groups delete: --group is required")
	}
	b, err := e.openBroker()
	if err != nil {
		return err
	}
	defer closeBroker(b, &err)
	if err = b.Coordinator().DeleteGroup(e.ctx, *grp); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Deletion of requested consumer group ('%s') was successful.\n", *grp)
	return nil
}

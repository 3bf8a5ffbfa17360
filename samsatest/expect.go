package samsatest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/record"
)

// Want is a record an Expect helper looks for: its key and value, compared as
// strings. An empty Key matches a record without key (or with an empty one).
type Want struct {
	Key   string
	Value string
}

// Expect reports whether topic holds exactly the records want; see
// Options.Expect.
func Expect(t testing.TB, b *samsa.Broker, topic string, want ...Want) bool {
	t.Helper()
	return Options{}.Expect(t, b, topic, want...)
}

// ExpectValues reports whether topic holds exactly records of these values;
// see Options.ExpectValues.
func ExpectValues(t testing.TB, b *samsa.Broker, topic string, values ...string) bool {
	t.Helper()
	return Options{}.ExpectValues(t, b, topic, values...)
}

// ExpectKeys reports whether topic holds exactly records of these keys; see
// Options.ExpectKeys.
func ExpectKeys(t testing.TB, b *samsa.Broker, topic string, keys ...string) bool {
	t.Helper()
	return Options{}.ExpectKeys(t, b, topic, keys...)
}

// Expect reads topic from its beginning, every partition, without a consumer
// group, until it holds as many records as want or o.Timeout passes, reads
// what else is already there, and reports whether the records are exactly
// want, comparing keys and values. The order checked is that of the package
// documentation: all of it for a topic of one partition, per key otherwise.
// A mismatch is reported with t.Errorf, listing the records wanted and those
// found; the test goes on. A topic that does not exist yet is waited for.
//
// Expect with no want checks that the topic is empty (or does not exist yet,
// once o.Timeout has passed).
func (o Options) Expect(t testing.TB, b *samsa.Broker, topic string, want ...Want) bool {
	t.Helper()
	labels := make([]string, len(want))
	keys := make([]string, len(want))
	for i, w := range want {
		labels[i] = kvLabel(w.Key, w.Value)
		keys[i] = w.Key
	}
	return o.expect(t, b, topic, labels, func(r *record.Record) string {
		return kvLabel(string(r.Key), string(r.Value))
	}, keys)
}

// ExpectValues is Expect comparing only the records' values: whatever their
// keys, topic must hold one record per value, in the order given if it has one
// partition, as a multiset otherwise.
func (o Options) ExpectValues(t testing.TB, b *samsa.Broker, topic string, values ...string) bool {
	t.Helper()
	labels := make([]string, len(values))
	for i, v := range values {
		labels[i] = "value=" + fmt.Sprintf("%q", v)
	}
	return o.expect(t, b, topic, labels, func(r *record.Record) string {
		return fmt.Sprintf("value=%q", r.Value)
	}, nil)
}

// ExpectKeys is Expect comparing only the records' keys: topic must hold one
// record per key given (an empty key stands for a record without key), in the
// order given if it has one partition, as a multiset otherwise.
func (o Options) ExpectKeys(t testing.TB, b *samsa.Broker, topic string, keys ...string) bool {
	t.Helper()
	labels := make([]string, len(keys))
	for i, k := range keys {
		labels[i] = "key=" + keyText(k)
	}
	return o.expect(t, b, topic, labels, func(r *record.Record) string {
		return "key=" + keyText(string(r.Key))
	}, nil)
}

// kvLabel is how Expect shows a key and value, wanted or found.
func kvLabel(key, value string) string {
	return fmt.Sprintf("key=%s value=%q", keyText(key), value)
}

// keyText quotes a key; an empty key is shown as null.
func keyText(k string) string {
	if k == "" {
		return "null"
	}
	return fmt.Sprintf("%q", k)
}

// expect is the Expect helpers' common part: want holds the labels of the
// records wanted, label gives a record's, and keys, when not nil, holds the
// key of each record wanted, asking for the order of each key's records to be
// checked on topics of several partitions.
func (o Options) expect(t testing.TB, b *samsa.Broker, topic string, want []string, label func(*record.Record) string, keys []string) bool {
	t.Helper()
	got, res := read(b, topic, len(want), true, o.timeout())
	if res.err != nil {
		if len(want) == 0 && res.parts == 0 {
			return true // no topic: it holds nothing, as wanted
		}
		t.Errorf("samsatest: topic %q: reading the records: %v", topic, res.err)
		return false
	}
	var d diff
	if res.parts <= 1 {
		d = ordered(want, got, label)
	} else {
		d = unordered(want, got, label)
		if keys != nil && d.ok() {
			d.notes = keyOrder(want, keys, got, label)
		}
	}
	if d.ok() {
		return true
	}
	var head string
	switch {
	case len(got) < len(want):
		head = fmt.Sprintf("got %s, want %d (waited %v)", records(len(got)), len(want), res.waited)
	case len(got) > len(want):
		head = fmt.Sprintf("got %s, want %d", records(len(got)), len(want))
	case len(d.notes) > 0:
		head = "records of a key out of order"
	default:
		head = fmt.Sprintf("got %s, as many as wanted, but not those", records(len(got)))
	}
	order := "in order"
	if res.parts > 1 {
		order = fmt.Sprintf("%d partitions: in order per key", res.parts)
		if keys == nil {
			order = fmt.Sprintf("%d partitions: in any order", res.parts)
		}
	}
	t.Errorf("samsatest: topic %q (%s): %s:%s", topic, order, head, d.String())
	return false
}

// diff is the listing of a comparison: one line per record wanted or found,
// and notes on order.
type diff struct {
	listing
	bad   bool
	notes []string
}

func (d *diff) ok() bool { return !d.bad && len(d.notes) == 0 }

func (d *diff) String() string {
	s := d.listing.String()
	for _, n := range d.notes {
		s += "\n  " + n
	}
	return s
}

// listing accumulates the lines of a failure message.
type listing struct {
	lines [][3]string
}

// line adds a line: mark is ' ' (as wanted), '-' (wanted, missing) or '+'
// (found, not wanted).
func (l *listing) line(mark byte, label, note string) {
	l.lines = append(l.lines, [3]string{string(mark), label, note})
}

// String lays the lines out in columns, each on a line of its own.
func (l *listing) String() string {
	width := 0
	for _, ln := range l.lines {
		width = max(width, len(ln[1]))
	}
	var sb strings.Builder
	for _, ln := range l.lines {
		fmt.Fprintf(&sb, "\n  %s %-*s  %s", ln[0], width, ln[1], ln[2])
	}
	if len(l.lines) == 0 {
		sb.WriteString("\n  (no records)")
	}
	return sb.String()
}

// ordered compares want and got in order, as a diff of the longest common
// subsequence.
func ordered(want []string, got []*record.Record, label func(*record.Record) string) diff {
	g := make([]string, len(got))
	for i, r := range got {
		g[i] = label(r)
	}
	// lcs[i][j] is the length of the longest common subsequence of want[i:]
	// and g[j:].
	lcs := make([][]int, len(want)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(g)+1)
	}
	for i := len(want) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if want[i] == g[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var d diff
	i, j := 0, 0
	for i < len(want) || j < len(g) {
		switch {
		case i < len(want) && j < len(g) && want[i] == g[j]:
			d.line(' ', want[i], where(got[j]))
			i, j = i+1, j+1
		case j < len(g) && (i == len(want) || lcs[i][j+1] > lcs[i+1][j]):
			d.line('+', g[j], where(got[j])+", not wanted here")
			d.bad = true
			j++
		default:
			d.line('-', want[i], "missing")
			d.bad = true
			i++
		}
	}
	return d
}

// unordered compares want and got as multisets: each wanted record is
// matched with the first record found of the same label not matched yet.
func unordered(want []string, got []*record.Record, label func(*record.Record) string) diff {
	used := make([]bool, len(got))
	var d diff
	for _, w := range want {
		found := -1
		for j, r := range got {
			if !used[j] && label(r) == w {
				found = j
				break
			}
		}
		if found < 0 {
			d.line('-', w, "missing")
			d.bad = true
			continue
		}
		used[found] = true
		d.line(' ', w, where(got[found]))
	}
	for j, r := range got {
		if !used[j] {
			d.line('+', label(r), where(r)+", not wanted")
			d.bad = true
		}
	}
	return d
}

// keyOrder checks that the records of each key come in the order wanted, got
// being sorted by partition and offset (a key's records are in one
// partition). It is called once got matches want as a multiset, so each key
// has as many records found as wanted.
func keyOrder(want, wantKeys []string, got []*record.Record, label func(*record.Record) string) []string {
	wantByKey := map[string][]string{}
	var keys []string
	for i, w := range want {
		k := wantKeys[i]
		if _, ok := wantByKey[k]; !ok {
			keys = append(keys, k)
		}
		wantByKey[k] = append(wantByKey[k], w)
	}
	gotByKey := map[string][]*record.Record{}
	for _, r := range got {
		gotByKey[string(r.Key)] = append(gotByKey[string(r.Key)], r)
	}
	var notes []string
	for _, k := range keys {
		if k == "" {
			continue // records without key are spread over the partitions
		}
		w, g := wantByKey[k], gotByKey[k]
		for i := range w {
			if label(g[i]) == w[i] {
				continue
			}
			var found []string
			for _, r := range g {
				found = append(found, fmt.Sprintf("%q (%s)", r.Value, where(r)))
			}
			var wanted []string
			for _, s := range w {
				wanted = append(wanted, s[len(kvLabel(k, ""))-2:]) // the quoted value
			}
			notes = append(notes, fmt.Sprintf("key %s: values in order %s; want %s",
				keyText(k), strings.Join(found, ", "), strings.Join(wanted, ", ")))
			break
		}
	}
	return notes
}

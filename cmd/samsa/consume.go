package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/consumer"
	"github.com/samsalog/samsa/record"
)

func runConsume(e *env, args []string) error {
	fs := e.newFlags("consume", "consume --topic NAME [flags]",
		"Prints a topic's records and follows new ones until interrupted (Ctrl-C),\n"+
			"--max-messages or --timeout-ms (kafka-console-consumer). Without --group it reads\n"+
			"every partition from the end (or the beginning with --from-beginning) and commits\n"+
			"nothing; with --group it joins the group, starts at its committed offsets, and\n"+
			"commits what it printed when it stops.\n\n"+
			"If another process holds the directory, consume without --group reads the\n"+
			"segment files read-only and follows what that process appends (synced or not).\n\n"+
			"Formats: value (the value), key-value (key, separator, value), json (one object a\n"+
			"line with topic, partition, offset, timestamp, key, value and headers).")
	topic := fs.String("topic", "", "topic `name` (required)")
	grp := fs.String("group", "", "consumer group `id`")
	fromBeginning := fs.Bool("from-beginning", false, "start at the earliest offset when there is no committed one")
	part := fs.Int("partition", -1, "read only this partition")
	offset := fs.String("offset", "", "with --partition: earliest, latest, or an offset to start at")
	maxMessages := fs.Int("max-messages", 0, "stop after this many records (0: no limit)")
	timeoutMs := fs.Int("timeout-ms", 0, "stop when no record arrives for this long (0: wait forever)")
	format := fs.String("format", "value", "output format: value, key-value, json")
	keySep := fs.String("key-separator", "\t", "separator between key and value in the key-value format")
	printHeaders := fs.Bool("print-headers", false, "in the value and key-value formats, print headers first")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *topic == "" {
		return usagef("consume: --topic is required")
	}
	if *format != "value" && *format != "key-value" && *format != "json" {
		return usagef("consume: --format must be value, key-value or json")
	}
	if *offset != "" && *part < 0 {
		return usagef("consume: --offset needs --partition")
	}
	if *grp != "" && *part >= 0 {
		return usagef("consume: --group cannot be used with --partition")
	}
	var startOffset int64 = -1
	switch *offset {
	case "", "latest":
	case "earliest":
		startOffset = -2
	default:
		n, err := strconv.ParseInt(*offset, 10, 64)
		if err != nil || n < 0 {
			return usagef("consume: --offset must be earliest, latest or a non-negative offset")
		}
		startOffset = n
	}
	if *fromBeginning && *offset == "" {
		startOffset = -2
	}

	w := bufio.NewWriter(e.stdout)
	pr := &printer{w: w, format: *format, keySep: *keySep, headers: *printHeaders}
	b, err := e.openBroker()
	if errors.Is(err, samsa.ErrDirLocked) && *grp == "" {
		fmt.Fprintf(e.stderr, "samsa: %s is in use by another process%s: reading its files: %s, records may not be synced yet\n",
			e.dir, lockHolder(err), readOnlyNote)
		count, err := tailFiles(e, tailOptions{topic: *topic, partition: *part, start: startOffset,
			maxMessages: *maxMessages, timeout: time.Duration(*timeoutMs) * time.Millisecond}, pr, w)
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
		fmt.Fprintf(e.stderr, "Processed a total of %d messages\n", count)
		return err
	}
	if err != nil {
		return err
	}
	defer closeBroker(b, &err)
	n, err := b.PartitionsForProduce(*topic)
	if err != nil {
		return err
	}
	cfg := &consumer.Config{}
	if *fromBeginning {
		cfg.AutoOffsetReset = consumer.OffsetResetEarliest
	}
	if *grp != "" {
		cfg.Group = *grp
		cfg.Topics = []string{*topic}
		cfg.AutoCommit.Disable = true
	}
	c, err := consumer.New(b, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := c.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if *grp == "" {
		var tps []consumer.TopicPartition
		for p := int32(0); p < n; p++ {
			if *part < 0 || int32(*part) == p {
				tps = append(tps, consumer.TopicPartition{Topic: *topic, Partition: p})
			}
		}
		if len(tps) == 0 {
			return fmt.Errorf("consume: topic %s has no partition %d", *topic, *part)
		}
		if err = c.Assign(tps); err != nil {
			return err
		}
		switch {
		case startOffset == -2:
			err = c.SeekToBeginning(tps...)
		case startOffset == -1:
			err = c.SeekToEnd(tps...)
		default:
			err = c.Seek(tps[0], startOffset)
		}
		if err != nil {
			return err
		}
	}

	count := 0
	for *maxMessages == 0 || count < *maxMessages {
		ctx, cancel := e.ctx, context.CancelFunc(func() {})
		if *timeoutMs > 0 {
			ctx, cancel = context.WithTimeout(e.ctx, time.Duration(*timeoutMs)*time.Millisecond)
		}
		recs, perr := c.Poll(ctx)
		cancel()
		if perr != nil {
			if e.ctx.Err() != nil || errors.Is(perr, context.DeadlineExceeded) {
				break
			}
			_ = w.Flush()
			return perr
		}
		rewound := map[int32]bool{}
		for _, r := range recs {
			if *maxMessages > 0 && count >= *maxMessages {
				// Records past the limit are not printed: rewind to the
				// first of each partition so that a group's commit does
				// not skip them.
				if !rewound[r.Partition] {
					rewound[r.Partition] = true
					_ = c.Seek(consumer.TopicPartition{Topic: r.Topic, Partition: r.Partition}, r.Offset)
				}
				continue
			}
			pr.print(r)
			count++
		}
		if err = w.Flush(); err != nil {
			return err
		}
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if *grp != "" {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(e.ctx), 10*time.Second)
		defer cancel()
		if err = c.Commit(ctx); err != nil {
			return fmt.Errorf("consume: commit: %w", err)
		}
	}
	fmt.Fprintf(e.stderr, "Processed a total of %d messages\n", count)
	return nil
}

// printer writes records in one of the consume formats.
type printer struct {
	w       io.Writer
	format  string
	keySep  string
	headers bool
}

// recordJSON is the json format of a record.
type recordJSON struct {
	Topic     string       `json:"topic"`
	Partition int32        `json:"partition"`
	Offset    int64        `json:"offset"`
	Timestamp int64        `json:"timestamp"`
	Key       *string      `json:"key"`
	Value     *string      `json:"value"`
	Headers   []headerJSON `json:"headers,omitempty"`
}

type headerJSON struct {
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

func strPtr(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	if !utf8.ValidString(s) {
		s = strconv.Quote(s)
	}
	return &s
}

func orNull(b []byte) string {
	if b == nil {
		return "null"
	}
	return string(b)
}

func (p *printer) print(r *record.Record) {
	if p.format == "json" {
		j := recordJSON{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
			Timestamp: r.Timestamp.UnixMilli(), Key: strPtr(r.Key), Value: strPtr(r.Value)}
		for _, h := range r.Headers {
			j.Headers = append(j.Headers, headerJSON{Key: h.Key, Value: strPtr(h.Value)})
		}
		b, _ := json.Marshal(j)
		fmt.Fprintf(p.w, "%s\n", b)
		return
	}
	if p.headers {
		if len(r.Headers) == 0 {
			fmt.Fprint(p.w, "NO_HEADERS")
		}
		for i, h := range r.Headers {
			if i > 0 {
				fmt.Fprint(p.w, ",")
			}
			fmt.Fprintf(p.w, "%s:%s", h.Key, orNull(h.Value))
		}
		fmt.Fprint(p.w, "\t")
	}
	if p.format == "key-value" {
		fmt.Fprintf(p.w, "%s%s", orNull(r.Key), p.keySep)
	}
	fmt.Fprintln(p.w, orNull(r.Value))
}

package main

import (
	"bufio"
	"fmt"
	"strings"
	"sync"

	"github.com/samsalog/samsa/producer"
	"github.com/samsalog/samsa/record"
)

func parseAcks(s string) (producer.Acks, error) {
	switch s {
	case "0":
		return producer.AcksNone, nil
	case "1":
		return producer.AcksLeader, nil
	case "all", "-1":
		return producer.AcksAll, nil
	}
	return 0, usagef("--acks must be 0, 1 or all, not %q", s)
}

func runProduce(e *env, args []string) error {
	fs := e.newFlags("produce", "produce --topic NAME [flags] < lines",
		"Produces each line of stdin as a record (kafka-console-producer).\n"+
			"With --parse-key (or --key-separator), a line is KEY<sep>VALUE; a line without\n"+
			"the separator is an error. With --parse-headers a line starts with headers:\n"+
			"k1:v1,k2:v2<TAB>[KEY<sep>]VALUE. --header adds fixed headers to every record.")
	topic := fs.String("topic", "", "topic `name` (required)")
	parseKey := fs.Bool("parse-key", false, "split each line into key and value at the key separator")
	keySep := fs.String("key-separator", "\t", "key separator (implies --parse-key when given)")
	parseHeaders := fs.Bool("parse-headers", false, "read headers at the start of each line")
	headersDelim := fs.String("headers-delimiter", "\t", "separates the headers from the rest of the line")
	headersSep := fs.String("headers-separator", ",", "separates headers from each other")
	headerKeySep := fs.String("headers-key-separator", ":", "separates a header's key from its value")
	var fixed listFlag
	fs.Var(&fixed, "header", "add header `key=value` to every record; repeatable")
	partition := fs.Int("partition", -1, "write every record to this partition (default: Kafka's partitioner)")
	acks := fs.String("acks", "all", "acks: 0, 1 or all")
	compression := fs.String("compression", "none", "compression.type: none, gzip, snappy, lz4, zstd")
	linger := fs.Duration("linger", 0, "linger.ms (default the producer's 5ms)")
	asJSON := fs.Bool("json", false, "print a JSON summary at the end")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *topic == "" {
		return usagef("produce: --topic is required")
	}
	if flagSet(fs, "key-separator") {
		*parseKey = true
	}
	if *parseKey && *keySep == "" || *parseHeaders && (*headersDelim == "" || *headersSep == "" || *headerKeySep == "") {
		return usagef("produce: separators must not be empty")
	}
	var fixedHeaders []record.Header
	for _, h := range fixed {
		k, v, ok := strings.Cut(h, "=")
		if !ok || k == "" {
			return usagef("produce: --header wants key=value, got %q", h)
		}
		fixedHeaders = append(fixedHeaders, record.Header{Key: k, Value: []byte(v)})
	}
	cfg := &producer.Config{Linger: *linger}
	var err error
	if cfg.Acks, err = parseAcks(*acks); err != nil {
		return err
	}
	if cfg.Compression, err = record.ParseCompression(*compression); err != nil {
		return usagef("produce: %v", err)
	}
	if *partition >= 0 {
		cfg.Partitioner = producer.NewManualPartitioner
	}
	b, err := e.openBroker()
	if err != nil {
		return err
	}
	defer closeBroker(b, &err)
	if _, err = b.Partition(*topic, 0); err != nil {
		return err
	}
	p, err := producer.New(b, cfg)
	if err != nil {
		return err
	}
	var (
		mu       sync.Mutex
		sent     int
		failed   int
		firstErr error
	)
	done := func(_ *record.Record, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed++
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		sent++
	}
	sc := bufio.NewScanner(e.stdin)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	lineNo := 0
	var lineErr error
	for sc.Scan() && e.ctx.Err() == nil {
		lineNo++
		line := sc.Text()
		r := &record.Record{Topic: *topic, Headers: append([]record.Header(nil), fixedHeaders...)}
		if *partition >= 0 {
			r.Partition = int32(*partition)
		}
		if *parseHeaders {
			hs, rest, ok := strings.Cut(line, *headersDelim)
			if !ok {
				lineErr = fmt.Errorf("line %d: no headers delimiter %q", lineNo, *headersDelim)
				break
			}
			line = rest
			if hs != "" {
				for _, h := range strings.Split(hs, *headersSep) {
					k, v, ok := strings.Cut(h, *headerKeySep)
					if !ok {
						lineErr = fmt.Errorf("line %d: header %q has no key separator %q", lineNo, h, *headerKeySep)
						break
					}
					r.Headers = append(r.Headers, record.Header{Key: k, Value: []byte(v)})
				}
				if lineErr != nil {
					break
				}
			}
		}
		if *parseKey {
			k, v, ok := strings.Cut(line, *keySep)
			if !ok {
				lineErr = fmt.Errorf("line %d: no key separator %q", lineNo, *keySep)
				break
			}
			r.Key, line = []byte(k), v
		}
		r.Value = []byte(line)
		p.Produce(e.ctx, r, done)
	}
	if lineErr == nil {
		lineErr = sc.Err()
	}
	if err = p.Close(); err != nil && firstErr == nil {
		firstErr = err
	}
	mu.Lock()
	defer mu.Unlock()
	if *asJSON {
		_ = writeJSON(e.stdout, map[string]any{"topic": *topic, "sent": sent, "failed": failed})
	}
	if lineErr != nil {
		return fmt.Errorf("produce: %w (%d records sent)", lineErr, sent)
	}
	if firstErr != nil {
		return fmt.Errorf("produce: %d of %d records failed: %w", failed, sent+failed, firstErr)
	}
	return nil
}

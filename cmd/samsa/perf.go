package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/consumer"
	"github.com/samsalog/samsa/producer"
	"github.com/samsalog/samsa/record"
)

// perfResult is one --json line of perf: a progress line for an interval
// (Type "progress": the records completed in it, its rates and latencies)
// or the summary of the run (Type "summary").
type perfResult struct {
	Type          string  `json:"type"`
	Mode          string  `json:"mode"`
	Records       int64   `json:"records"`
	Failed        int64   `json:"failed,omitempty"`
	Bytes         int64   `json:"bytes"`
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	AvgLatencyMs  float64 `json:"avg_latency_ms,omitempty"`
	MaxLatencyMs  float64 `json:"max_latency_ms,omitempty"`
	P50Ms         float64 `json:"p50_ms,omitempty"`
	P95Ms         float64 `json:"p95_ms,omitempty"`
	P99Ms         float64 `json:"p99_ms,omitempty"`
	P999Ms        float64 `json:"p999_ms,omitempty"`
	// ElapsedSeconds is, on a progress line, the time since the run began;
	// Seconds is the interval's length.
	ElapsedSeconds float64 `json:"elapsed_seconds,omitempty"`
}

func runPerf(e *env, args []string) error {
	fs := e.newFlags("perf", "perf --topic NAME --num-records N [--record-size B] [--throughput R] [--consumer] [--reporting-interval I] [--json]",
		"Producer load like kafka-producer-perf-test: sends N records of B bytes, as fast as\n"+
			"possible or at R records/s, and reports records/s, MB/s and latency percentiles\n"+
			"(from Produce to acknowledgement). The topic is created if missing.\n"+
			"With --consumer, reads N records from the beginning instead, like\n"+
			"kafka-consumer-perf-test.\n"+
			"Every --reporting-interval it prints a progress line for the records completed\n"+
			"in that interval (records/s, MB/s and, producing, avg and max latency), as the\n"+
			"Kafka tools do, then the summary of the whole run. With --json each of these is\n"+
			"one JSON object on its own line, \"type\" \"progress\" or \"summary\".")
	topic := fs.String("topic", "", "topic `name` (required)")
	num := fs.Int64("num-records", 0, "number of records (required)")
	size := fs.Int("record-size", 100, "record size in bytes")
	throughput := fs.Float64("throughput", -1, "records per second at most; -1 for no limit")
	acks := fs.String("acks", "all", "acks: 0, 1 or all")
	compression := fs.String("compression", "none", "compression.type: none, gzip, snappy, lz4, zstd")
	batchSize := fs.Int("batch-size", 0, "batch.size in bytes (default 16384)")
	linger := fs.Duration("linger", 0, "linger.ms (default 5ms)")
	partitions := fs.Int("partitions", 1, "partitions of the topic if perf creates it")
	asConsumer := fs.Bool("consumer", false, "consumer load instead: read --num-records records")
	timeoutMs := fs.Int("timeout-ms", 10000, "with --consumer: give up when no record arrives for this long")
	interval := reportingInterval(5 * time.Second)
	fs.Var(&interval, "reporting-interval", "print a progress line every `interval`: milliseconds as Kafka's, or a duration such as 5s; 0 for none")
	asJSON := fs.Bool("json", false, "print one JSON object a line: progress lines, then the summary")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *topic == "" || *num <= 0 {
		return usagef("perf: --topic and a positive --num-records are required")
	}
	if *size < 0 {
		return usagef("perf: --record-size must not be negative")
	}
	b, err := e.createBroker()
	if err != nil {
		return err
	}
	defer closeBroker(b, &err)
	if _, derr := b.DescribeTopic(*topic); errors.Is(derr, samsa.ErrUnknownTopic) {
		if *asConsumer {
			return derr
		}
		if err = b.CreateTopic(*topic, &samsa.TopicConfig{Partitions: int32(*partitions)}); err != nil {
			return err
		}
	}
	progress := func(r perfResult) { _ = printPerf(e.stdout, r, *asJSON) }
	if interval == 0 {
		progress = nil
	}
	var res perfResult
	if *asConsumer {
		res, err = perfConsume(e, b, *topic, *num, time.Duration(*timeoutMs)*time.Millisecond, time.Duration(interval), progress)
	} else {
		cfg := &producer.Config{Linger: *linger, Flush: producer.FlushConfig{Bytes: *batchSize}}
		if cfg.Acks, err = parseAcks(*acks); err != nil {
			return err
		}
		if cfg.Compression, err = record.ParseCompression(*compression); err != nil {
			return usagef("perf: %v", err)
		}
		res, err = perfProduce(e, b, cfg, *topic, *num, *size, *throughput, time.Duration(interval), progress)
	}
	if err != nil {
		return err
	}
	if err = printPerf(e.stdout, res, *asJSON); err != nil {
		return err
	}
	if res.Failed > 0 {
		return fmt.Errorf("perf: %d records failed", res.Failed)
	}
	return nil
}

// printPerf prints a progress line or the summary, as text like Kafka's
// perf tools or as one line of JSON.
func printPerf(w io.Writer, r perfResult, asJSON bool) error {
	var err error
	switch {
	case asJSON:
		err = json.NewEncoder(w).Encode(r)
	case r.Type == "progress" && r.Mode == "consumer":
		_, err = fmt.Fprintf(w, "%d records consumed, %.1f records/sec (%.2f MB/sec).\n",
			r.Records, r.RecordsPerSec, r.MBPerSec)
	case r.Type == "progress":
		_, err = fmt.Fprintf(w, "%d records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.\n",
			r.Records, r.RecordsPerSec, r.MBPerSec, r.AvgLatencyMs, r.MaxLatencyMs)
	case r.Mode == "consumer":
		_, err = fmt.Fprintf(w, "%d records consumed, %.1f records/sec (%.2f MB/sec), %.2f MB in %.3f s.\n",
			r.Records, r.RecordsPerSec, r.MBPerSec, float64(r.Bytes)/(1<<20), r.Seconds)
	default:
		_, err = fmt.Fprintf(w, "%d records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, %.0f ms 50th, %.0f ms 95th, %.0f ms 99th, %.0f ms 99.9th.\n",
			r.Records, r.RecordsPerSec, r.MBPerSec, r.AvgLatencyMs, r.MaxLatencyMs, r.P50Ms, r.P95Ms, r.P99Ms, r.P999Ms)
	}
	return err
}

// perfProduce sends num records and returns the summary. Every interval it
// passes a progress line to progress (if not nil) from another goroutine,
// never after it returns.
func perfProduce(e *env, b *samsa.Broker, cfg *producer.Config, topic string, num int64, size int, throughput float64,
	interval time.Duration, progress func(perfResult)) (perfResult, error) {
	p, err := producer.New(b, cfg)
	if err != nil {
		return perfResult{}, err
	}
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte('A' + rand.IntN(26))
	}
	latencies := make([]time.Duration, num)
	var (
		mu       sync.Mutex
		failed   int64
		firstErr error
	)
	var window perfWindow
	start := time.Now()
	stopProgress := reportProgress(interval, "producer", &window, progress)
	defer stopProgress()
	var sent int64
	for sent = 0; sent < num && e.ctx.Err() == nil; sent++ {
		if throughput > 0 {
			if d := time.Until(start.Add(time.Duration(float64(sent) / throughput * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		i := sent
		t0 := time.Now()
		p.Produce(e.ctx, &record.Record{Topic: topic, Value: payload}, func(_ *record.Record, err error) {
			latencies[i] = time.Since(t0)
			window.add(1, int64(size), latencies[i])
			if err != nil {
				mu.Lock()
				failed++
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	cerr := p.Close()
	elapsed := time.Since(start)
	stopProgress()
	mu.Lock()
	defer mu.Unlock()
	if firstErr == nil {
		firstErr = cerr
	}
	if firstErr != nil && failed == 0 {
		return perfResult{}, firstErr
	}
	lat := latencies[:sent] // every callback has run: Close waited
	slices.Sort(lat)
	res := perfResult{Type: "summary", Mode: "producer", Records: sent, Failed: failed, Bytes: sent * int64(size), Seconds: elapsed.Seconds()}
	res.RecordsPerSec = float64(sent) / elapsed.Seconds()
	res.MBPerSec = float64(res.Bytes) / (1 << 20) / elapsed.Seconds()
	if len(lat) > 0 {
		var sum time.Duration
		for _, l := range lat {
			sum += l
		}
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		pct := func(q float64) float64 { return ms(lat[int(q*float64(len(lat)-1))]) }
		res.AvgLatencyMs = ms(sum) / float64(len(lat))
		res.MaxLatencyMs = ms(lat[len(lat)-1])
		res.P50Ms, res.P95Ms, res.P99Ms, res.P999Ms = pct(0.5), pct(0.95), pct(0.99), pct(0.999)
	}
	if firstErr != nil {
		fmt.Fprintf(e.stderr, "samsa: perf: first error: %v\n", firstErr)
	}
	return res, nil
}

// perfConsume reads num records from the beginning of topic and returns the
// summary; progress is as for perfProduce.
func perfConsume(e *env, b *samsa.Broker, topic string, num int64, timeout time.Duration,
	interval time.Duration, progress func(perfResult)) (res perfResult, err error) {
	d, err := b.DescribeTopic(topic)
	if err != nil {
		return res, err
	}
	c, err := consumer.New(b, &consumer.Config{})
	if err != nil {
		return res, err
	}
	defer func() {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}()
	var tps []consumer.TopicPartition
	for p := int32(0); p < d.Partitions; p++ {
		tps = append(tps, consumer.TopicPartition{Topic: topic, Partition: p})
	}
	if err = c.Assign(tps); err != nil {
		return res, err
	}
	if err = c.SeekToBeginning(tps...); err != nil {
		return res, err
	}
	var window perfWindow
	start := time.Now()
	stopProgress := reportProgress(interval, "consumer", &window, progress)
	defer stopProgress()
	for res.Records < num {
		ctx, cancel := context.WithTimeout(e.ctx, timeout)
		recs, perr := c.Poll(ctx)
		cancel()
		if perr != nil {
			if errors.Is(perr, context.DeadlineExceeded) || e.ctx.Err() != nil {
				fmt.Fprintf(e.stderr, "samsa: perf: stopped after %d of %d records: no record for %v\n", res.Records, num, timeout)
				break
			}
			return res, perr
		}
		var n int64
		for _, r := range recs {
			n += int64(len(r.Key) + len(r.Value))
		}
		res.Records += int64(len(recs))
		res.Bytes += n
		window.add(int64(len(recs)), n, 0)
	}
	elapsed := time.Since(start)
	stopProgress()
	res.Type, res.Mode = "summary", "consumer"
	res.Seconds = elapsed.Seconds()
	res.RecordsPerSec = float64(res.Records) / elapsed.Seconds()
	res.MBPerSec = float64(res.Bytes) / (1 << 20) / elapsed.Seconds()
	return res, nil
}

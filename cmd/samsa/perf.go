package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/samsalog/samsa"
	"github.com/samsalog/samsa/consumer"
	"github.com/samsalog/samsa/producer"
	"github.com/samsalog/samsa/record"
)

// perfResult is the --json output of perf.
type perfResult struct {
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
}

func runPerf(e *env, args []string) error {
	fs := e.newFlags("perf", "perf --topic NAME --num-records N [--record-size B] [--throughput R] [--consumer]",
		"Producer load like kafka-producer-perf-test: sends N records of B bytes, as fast as\n"+
			"possible or at R records/s, and reports records/s, MB/s and latency percentiles\n"+
			"(from Produce to acknowledgement). The topic is created if missing.\n"+
			"With --consumer, reads N records from the beginning instead, like\n"+
			"kafka-consumer-perf-test.")
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
	asJSON := fs.Bool("json", false, "print the result as JSON")
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
	var res perfResult
	if *asConsumer {
		res, err = perfConsume(e, b, *topic, *num, time.Duration(*timeoutMs)*time.Millisecond)
	} else {
		cfg := &producer.Config{Linger: *linger, Flush: producer.FlushConfig{Bytes: *batchSize}}
		if cfg.Acks, err = parseAcks(*acks); err != nil {
			return err
		}
		if cfg.Compression, err = record.ParseCompression(*compression); err != nil {
			return usagef("perf: %v", err)
		}
		res, err = perfProduce(e, b, cfg, *topic, *num, *size, *throughput)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, res)
	}
	if *asConsumer {
		fmt.Fprintf(e.stdout, "%d records consumed, %.1f records/sec (%.2f MB/sec), %.2f MB in %.3f s.\n",
			res.Records, res.RecordsPerSec, res.MBPerSec, float64(res.Bytes)/(1<<20), res.Seconds)
		return nil
	}
	fmt.Fprintf(e.stdout, "%d records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, %.0f ms 50th, %.0f ms 95th, %.0f ms 99th, %.0f ms 99.9th.\n",
		res.Records, res.RecordsPerSec, res.MBPerSec, res.AvgLatencyMs, res.MaxLatencyMs, res.P50Ms, res.P95Ms, res.P99Ms, res.P999Ms)
	if res.Failed > 0 {
		return fmt.Errorf("perf: %d records failed", res.Failed)
	}
	return nil
}

func perfProduce(e *env, b *samsa.Broker, cfg *producer.Config, topic string, num int64, size int, throughput float64) (perfResult, error) {
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
	start := time.Now()
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
	mu.Lock()
	defer mu.Unlock()
	if firstErr == nil {
		firstErr = cerr
	}
	if firstErr != nil && failed == 0 {
		return perfResult{}, firstErr
	}
	lat := slices.Clone(latencies[:sent])
	slices.Sort(lat)
	res := perfResult{Mode: "producer", Records: sent, Failed: failed, Bytes: sent * int64(size), Seconds: elapsed.Seconds()}
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

func perfConsume(e *env, b *samsa.Broker, topic string, num int64, timeout time.Duration) (res perfResult, err error) {
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
	start := time.Now()
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
		for _, r := range recs {
			res.Records++
			res.Bytes += int64(len(r.Key) + len(r.Value))
		}
	}
	elapsed := time.Since(start)
	res.Mode = "consumer"
	res.Seconds = elapsed.Seconds()
	res.RecordsPerSec = float64(res.Records) / elapsed.Seconds()
	res.MBPerSec = float64(res.Bytes) / (1 << 20) / elapsed.Seconds()
	return res, nil
}

package main

import (
	"errors"
	"strconv"
	"sync"
	"time"
)

// reportingInterval is perf's --reporting-interval: a plain number is
// milliseconds, as Kafka's --reporting-interval; anything else is a Go
// duration ("5s", "250ms").
type reportingInterval time.Duration

func (r *reportingInterval) String() string { return time.Duration(*r).String() }

func (r *reportingInterval) Set(s string) error {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		if ms < 0 || ms > int64(time.Duration(1<<63-1)/time.Millisecond) {
			return errors.New("must be between 0 and 9223372036854 ms")
		}
		*r = reportingInterval(time.Duration(ms) * time.Millisecond)
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want milliseconds or a duration such as 5s")
	}
	if d < 0 {
		return errors.New("must not be negative")
	}
	*r = reportingInterval(d)
	return nil
}

// perfWindow counts the records completed since the last progress line.
// It is safe for concurrent use: producer callbacks add to it while the
// reporter takes it.
type perfWindow struct {
	mu      sync.Mutex
	records int64
	bytes   int64
	latSum  time.Duration
	latMax  time.Duration
}

// add counts records of bytes in all; lat is one record's latency, 0 when
// there is none to report (consuming).
func (w *perfWindow) add(records, bytes int64, lat time.Duration) {
	w.mu.Lock()
	w.records += records
	w.bytes += bytes
	w.latSum += lat
	w.latMax = max(w.latMax, lat)
	w.mu.Unlock()
}

// take returns the window as a progress line over an interval of length
// seconds and starts a new window.
func (w *perfWindow) take(mode string, seconds, elapsed time.Duration) perfResult {
	w.mu.Lock()
	records, bytes, latSum, latMax := w.records, w.bytes, w.latSum, w.latMax
	w.records, w.bytes, w.latSum, w.latMax = 0, 0, 0, 0
	w.mu.Unlock()
	r := perfResult{Type: "progress", Mode: mode, Records: records, Bytes: bytes,
		Seconds: seconds.Seconds(), ElapsedSeconds: elapsed.Seconds()}
	if seconds > 0 {
		r.RecordsPerSec = float64(records) / seconds.Seconds()
		r.MBPerSec = float64(bytes) / (1 << 20) / seconds.Seconds()
	}
	if records > 0 {
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		r.AvgLatencyMs = ms(latSum) / float64(records)
		r.MaxLatencyMs = ms(latMax)
	}
	return r
}

// reportProgress passes w's progress line to report every interval, from a
// goroutine of its own, until the returned stop is called. stop waits for
// that goroutine to end, so report is never called once stop has returned;
// stop may be called more than once. With interval <= 0 or a nil report it
// starts nothing.
func reportProgress(interval time.Duration, mode string, w *perfWindow, report func(perfResult)) (stop func()) {
	if interval <= 0 || report == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		start := time.Now()
		last := start
		for {
			select {
			case <-done:
				return
			case <-t.C:
				// A tick and stop can be ready together: stop wins, the
				// run is over and its summary covers the rest.
				select {
				case <-done:
					return
				default:
				}
				now := time.Now()
				report(w.take(mode, now.Sub(last), now.Sub(start)))
				last = now
			}
		}
	})
	return sync.OnceFunc(func() {
		close(done)
		wg.Wait()
	})
}

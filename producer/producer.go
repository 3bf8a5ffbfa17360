package producer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsalog/samsa"
	part "github.com/samsalog/samsa/partition"
	"github.com/samsalog/samsa/record"
)

// Producer writes records to a Broker's topics: Kafka's KafkaProducer,
// Sarama's AsyncProducer and SyncProducer in one. Create one with New and
// Close it when done; one producer serves any number of topics and
// goroutines.
//
// A Producer is safe for concurrent use. It runs a fixed set of goroutines
// (a timer, a few senders, and with acks=all a pool of syncers), none per
// partition or per record, and Close stops them all.
type Producer struct {
	b          *samsa.Broker
	cfg        Config // withDefaults applied
	log        *slog.Logger
	start      time.Time // the monotonic clock's origin for batch times
	batchLimit int       // min(Flush.Bytes, MaxMessageBytes)

	idempotent    bool
	producerID    int64
	producerEpoch int16

	topicsMu sync.Mutex // serializes topic creation with Close
	topics   atomic.Pointer[map[string]*topicState]

	mem  memory
	free freeList // batches of arena capacity batchLimit

	appendQ workQueue
	syncQ   workQueue
	timer   lingerQueue

	// callerRuns enables the caller-runs append of full batches (callerRun):
	// acks=1 and uncompressed batches only (a compressing encoder per
	// caller would cost too much memory; with acks=all the syncers deliver
	// anyway). callers keeps the callers' senders for reuse.
	callerRuns bool
	callers    sync.Pool

	closing   atomic.Bool
	closingCh chan struct{} // closed when Close begins
	aborted   atomic.Bool   // CloseContext's deadline passed
	abortCtx  context.Context
	abort     context.CancelFunc
	stop      chan struct{} // closed to stop the timer goroutine
	wg        sync.WaitGroup

	closeMu   sync.Mutex
	closeDone chan struct{} // non-nil once Close began; closed when done

	flushMu      sync.Mutex
	flushCh      chan struct{} // closed when a batch completes; under flushMu
	flushWaiters atomic.Int32

	deferredMu  sync.Mutex
	deferredErr error
	deferredN   int

	stats counters

	// The producer's clock (Unix ms and time since start), read by Produce
	// instead of time.Now for every record: see refreshClock.
	clockMS   atomic.Int64
	clockMono atomic.Int64

	// appendHook appends an encoded batch: appendToPartition, or a test's
	// fault injection.
	appendHook func(*part.Partition, []byte) (part.AppendResult, error)
}

// counters are the counters of Stats.
type counters struct {
	records, errors, batches, bytes, duplicates atomic.Uint64
	retries, syncWaits, bufferWaits             atomic.Uint64
	interceptorPanics                           atomic.Uint64
}

// New returns a producer writing to b, with cfg (nil: every default).
// An idempotent producer (the default) gets its producer ID from
// b.InitProducerID.
//
// Errors: ErrInvalidConfig (cfg.Validate); the broker's (samsa.ErrClosed,
// I/O errors from InitProducerID).
func New(b *samsa.Broker, cfg *Config) (*Producer, error) {
	return newProducer(b, cfg, appendToPartition)
}

func newProducer(b *samsa.Broker, cfg *Config, hook func(*part.Partition, []byte) (part.AppendResult, error)) (*Producer, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: nil Broker", ErrInvalidConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := cfg.withDefaults()
	p := &Producer{
		b:          b,
		cfg:        c,
		log:        c.Logger,
		start:      time.Now(),
		batchLimit: min(c.Flush.Bytes, c.MaxMessageBytes),
		idempotent: !c.DisableIdempotence,
		closingCh:  make(chan struct{}),
		stop:       make(chan struct{}),
		appendHook: hook,
		callerRuns: c.Acks == AcksLeader && c.Compression == record.CompressionNone,
	}
	if p.idempotent {
		id, epoch, err := b.InitProducerID(context.Background())
		if err != nil {
			return nil, fmt.Errorf("producer: init producer ID: %w", err)
		}
		p.producerID, p.producerEpoch = id, epoch
	}
	p.refreshClock()
	p.mem.limit = c.BufferMemory
	// Up to 8 MiB of batch buffers kept for reuse, and not more than the
	// buffer memory holds.
	p.free.max = int(min(c.BufferMemory, 8<<20) / int64(p.batchLimit))
	p.topics.Store(&map[string]*topicState{})
	p.appendQ.init()
	p.syncQ.init()
	p.timer.wake = make(chan struct{}, 1)
	p.abortCtx, p.abort = context.WithCancel(context.Background())

	senders := min(max(runtime.GOMAXPROCS(0), 2), 8)
	p.wg.Add(1 + senders)
	go p.timerLoop()
	for range senders {
		go p.appendWorker()
	}
	if c.Acks == AcksAll {
		// Syncers mostly wait for fdatasyncs, each of one partition's log:
		// enough of them for many partitions to sync at once.
		const syncers = 16
		p.wg.Add(syncers)
		for range syncers {
			go p.syncWorker()
		}
	}
	return p, nil
}

// refreshClock reads the time, publishes it as the producer's clock and
// returns it as time since p.start. It is called when a batch is created,
// after each batch is appended, and by the timer goroutine, which wakes at
// least every millisecond while a batch lingers; so a record stamped from
// the clock in Produce is at most about a millisecond behind, where
// time.Now for every record would cost more than the rest of Produce on
// machines with a slow clock source (300ns a call on the KVM guests the
// benchmarks ran on).
func (p *Producer) refreshClock() time.Duration {
	t := time.Now()
	p.clockMS.Store(t.UnixMilli())
	d := t.Sub(p.start)
	p.clockMono.Store(int64(d))
	return d
}

// now returns the producer's clock as time since p.start.
func (p *Producer) now() time.Duration { return time.Duration(p.clockMono.Load()) }

// ProducerID returns the producer ID and epoch the broker handed this
// producer, or -1, -1 if idempotence is disabled.
func (p *Producer) ProducerID() (id int64, epoch int16) {
	if !p.idempotent {
		return -1, -1
	}
	return p.producerID, p.producerEpoch
}

// Produce sends r to r.Topic asynchronously: it partitions r (see
// Config.Partitioner), copies it into the partition's open batch and
// returns; fn runs once r is delivered as Config.Acks defines, with a nil
// error, or once it has failed, with the error. fn runs exactly once for
// every call, accepted or not; it must not be nil (Produce panics).
//
// Where fn runs: with no lock of the producer held, on the caller's
// goroutine before Produce returns when r fails at once (ErrClosed,
// ErrRecordTooLarge, ErrBufferFull, ctx's error, a partitioner's or the
// broker's error) or with AcksNone; otherwise, in order for the records of
// one partition, on one of the producer's goroutines or, with AcksLeader
// and no compression, possibly on the goroutine of a Produce call (this
// one or another producing to the partition) that filled the batch and
// appended it itself (caller-runs, below). It should be
// quick: it holds up the partition's later records and that Produce call.
//
// Ownership: Produce copies r's Key, Value and Headers before it returns,
// so the caller may reuse those slices at once. The *Record itself belongs
// to the producer until fn runs: Produce sets Partition and, if zero,
// Timestamp (to now); on success fn sees Offset set (and, for a topic with
// message.timestamp.type=LogAppendTime, Timestamp set to the append time);
// Offset is -1 on failure and with AcksNone.
//
// Produce blocks only when buffer memory is used up (Config.BufferMemory),
// until batches are delivered, Config.MaxBlock passes (ErrBufferFull) or ctx
// ends (ctx's error); and the first time it sees a topic, while the broker
// looks it up or auto-creates it. ctx has no effect once r is accepted.
// Caller-runs: with AcksLeader and no compression, when r fills its batch
// and no sender is busy with the partition, Produce appends the batch
// itself (one write to the partition's log, no hand-off to a sender) and
// runs its records' callbacks before it returns, so it also waits for that
// append; an append that must be retried is left to the senders.
//
// In steady state Produce allocates nothing beyond what the caller's record
// and callback are.
func (p *Producer) Produce(ctx context.Context, r *record.Record, fn func(*record.Record, error)) {
	if fn == nil {
		panic("producer: Produce with a nil callback")
	}
	p.produce(ctx, r, fn)
}

// produce is Produce; it returns r's partition, nil if r failed at once.
func (p *Producer) produce(ctx context.Context, r *record.Record, fn func(*record.Record, error)) *partState {
	if p.closing.Load() {
		p.fail(r, fn, ErrClosed)
		return nil
	}
	if len(p.cfg.Interceptors) > 0 {
		p.onSend(r)
	}
	ts, err := p.topicFor(r.Topic)
	if err != nil {
		p.fail(r, fn, err)
		return nil
	}
	s := measure(r)
	if need := record.BatchHeaderSize + s.maxSize(); need > p.cfg.MaxMessageBytes || int64(need) > p.cfg.BufferMemory {
		p.fail(r, fn, fmt.Errorf("%w: %d bytes as a batch, max.request.size %d, buffer.memory %d",
			ErrRecordTooLarge, need, p.cfg.MaxMessageBytes, p.cfg.BufferMemory))
		return nil
	}
	// A zero timestamp is the producer's clock, which is read at least
	// every millisecond while batches are open (refreshClock).
	stamp := r.Timestamp.IsZero()
	var ms int64
	if stamp {
		ms = p.clockMS.Load()
		r.Timestamp = time.UnixMilli(ms)
	} else {
		ms = r.Timestamp.UnixMilli()
	}
	parts := *ts.parts.Load()
	pid, err := p.partition(ts, parts, r)
	if err != nil {
		p.fail(r, fn, err)
		return nil
	}
	return p.appendRecord(ctx, ts, parts, pid, r, fn, s, ms, stamp)
}

// partition asks ts's partitioner for r's partition and sets r.Partition.
func (p *Producer) partition(ts *topicState, parts []*partState, r *record.Record) (int32, error) {
	n := int32(len(parts))
	pid, err := ts.partitioner.Partition(r, n)
	if err != nil {
		return 0, err
	}
	if pid < 0 || pid >= n {
		return 0, errInvalidPartition(pid, n)
	}
	r.Partition = pid
	return pid, nil
}

// fail delivers r, which was not accepted, with err.
func (p *Producer) fail(r *record.Record, fn func(*record.Record, error), err error) {
	p.stats.errors.Add(1)
	r.Offset = -1
	if len(p.cfg.Interceptors) > 0 {
		p.onAck(r, err)
	}
	fn(r, err)
}

// topicFor returns the state of topic name, creating it (and, through the
// broker's auto-creation, the topic) the first time.
func (p *Producer) topicFor(name string) (*topicState, error) {
	if ts := (*p.topics.Load())[name]; ts != nil {
		return ts, nil
	}
	p.topicsMu.Lock()
	defer p.topicsMu.Unlock()
	if ts := (*p.topics.Load())[name]; ts != nil {
		return ts, nil
	}
	if p.closing.Load() {
		return nil, ErrClosed
	}
	ts := &topicState{name: name, partitioner: p.cfg.Partitioner(name)}
	if ts.partitioner == nil {
		return nil, fmt.Errorf("%w: Config.Partitioner (partitioner.class) returned nil for topic %q", ErrInvalidConfig, name)
	}
	ts.batchAware, _ = ts.partitioner.(BatchAware)
	ts.bytesAware, _ = ts.partitioner.(BytesAware)
	ts.parts.Store(&[]*partState{})
	if err := p.growTopicLocked(ts); err != nil {
		return nil, err
	}
	next := maps.Clone(*p.topics.Load())
	next[name] = ts
	p.topics.Store(&next)
	return ts, nil
}

// growTopic adds the partitions the topic has gained to ts.
func (p *Producer) growTopic(ts *topicState) {
	p.topicsMu.Lock()
	defer p.topicsMu.Unlock()
	if p.closing.Load() {
		return
	}
	if err := p.growTopicLocked(ts); err != nil && p.log != nil {
		p.log.Warn("producer: cannot add the topic's new partitions", "topic", ts.name, "error", err)
	}
}

func (p *Producer) growTopicLocked(ts *topicState) error {
	old := *ts.parts.Load()
	n, err := p.b.PartitionsForProduce(ts.name)
	if err != nil {
		return err
	}
	if int(n) <= len(old) {
		return nil
	}
	parts := make([]*partState, n)
	copy(parts, old)
	for i := int32(len(old)); i < n; i++ {
		h, err := p.b.PartitionForProduce(ts.name, i)
		if err != nil {
			return err
		}
		parts[i] = &partState{topic: ts, id: i, part: h}
	}
	ts.parts.Store(&parts)
	return nil
}

// allParts returns every partition state.
func (p *Producer) allParts() []*partState {
	var all []*partState
	for _, ts := range *p.topics.Load() {
		all = append(all, *ts.parts.Load()...)
	}
	return all
}

// ProduceResult is the outcome of one record of ProduceSync.
type ProduceResult struct {
	// Record is the record produced, with Partition and Offset set on
	// success.
	Record *record.Record
	// Err is nil if the record was delivered.
	Err error
}

// ProduceResults are the outcomes of ProduceSync, in the order of its
// records.
type ProduceResults []ProduceResult

// FirstErr returns the first error of rs, nil if every record was
// delivered.
func (rs ProduceResults) FirstErr() error {
	for _, r := range rs {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

// ProduceSync produces recs as Produce does and waits until each is
// delivered or has failed: Sarama's SyncProducer.SendMessages. The batches
// holding them are sent at once, without waiting for Linger. ctx bounds only
// the blocking of Produce (buffer memory); once accepted, a record is waited
// for until it is delivered or fails (at the latest after
// Config.DeliveryTimeout), so the results are always complete.
func (p *Producer) ProduceSync(ctx context.Context, recs ...*record.Record) ProduceResults {
	results := make(ProduceResults, len(recs))
	var wg sync.WaitGroup
	wg.Add(len(recs))
	var touched []*partState
	for i, r := range recs {
		results[i].Record = r
		ps := p.produce(ctx, r, func(_ *record.Record, err error) {
			results[i].Err = err
			wg.Done()
		})
		if ps != nil && !slices.Contains(touched, ps) {
			touched = append(touched, ps)
		}
	}
	for _, ps := range touched {
		p.sendNow(ps)
	}
	wg.Wait()
	return results
}

// Flush sends every buffered record at once, without waiting for Linger,
// and waits until every record produced before the call is delivered or
// has failed (its callback has run), or ctx ends (ctx's error; the records
// are still sent). Records produced during the call may or may not be
// waited for. Kafka's flush.
//
// With AcksNone, whose callbacks report no later error, Flush returns the
// errors of records that failed after their callbacks ran (since the last
// Flush), as one error naming how many and the first.
func (p *Producer) Flush(ctx context.Context) error {
	type target struct {
		ps *partState
		id uint64
	}
	var targets []target
	for _, ps := range p.allParts() {
		ps.mu.Lock()
		if b := ps.open; b != nil {
			p.sealLocked(ps, b)
		}
		if len(ps.live) > 0 {
			targets = append(targets, target{ps, ps.created})
		}
		ps.mu.Unlock()
	}
	for _, t := range targets {
		if err := p.waitLive(ctx, t.ps, t.id); err != nil {
			return err
		}
	}
	return p.takeDeferred()
}

// waitLive waits until ps has no live batch with an id up to id.
func (p *Producer) waitLive(ctx context.Context, ps *partState, id uint64) error {
	p.flushWaiters.Add(1)
	defer p.flushWaiters.Add(-1)
	for {
		p.flushMu.Lock()
		if p.flushCh == nil {
			p.flushCh = make(chan struct{})
		}
		ch := p.flushCh
		p.flushMu.Unlock()
		ps.mu.Lock()
		done := len(ps.live) == 0 || ps.live[0].id > id
		ps.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close stops accepting records (Produce fails them with ErrClosed), sends
// every buffered record at once and waits until each is delivered or has
// failed, then stops the producer's goroutines: Kafka's close(). It waits
// as long as delivery takes, at most Config.DeliveryTimeout per record; use
// CloseContext to bound the wait. It returns what Flush would (the errors
// of AcksNone records whose callbacks had run). Closing a closed producer
// returns nil.
//
// Close does not close the Broker.
func (p *Producer) Close() error { return p.CloseContext(context.Background()) }

// CloseContext is Close with the wait bounded by ctx: when ctx ends before
// every record is delivered, the records not yet appended fail with
// ErrClosed, the syncs still awaited are abandoned (their records fail with
// ErrClosed, although appended), a batch being appended is let finish (one
// bounded write), and CloseContext returns ctx's error once every callback
// has run. Every record accepted gets its callback exactly once either way.
// A second call waits for the first to finish, bounded by its own ctx, and
// returns nil.
func (p *Producer) CloseContext(ctx context.Context) error {
	p.closeMu.Lock()
	if done := p.closeDone; done != nil {
		p.closeMu.Unlock()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.closeDone = make(chan struct{})
	p.closeMu.Unlock()
	defer close(p.closeDone)

	// After this no topic or partition is added, and no record is added
	// to a partition marked closed below.
	p.topicsMu.Lock()
	p.closing.Store(true)
	p.topicsMu.Unlock()
	close(p.closingCh)
	parts := p.allParts()
	for _, ps := range parts {
		ps.mu.Lock()
		ps.closed = true
		if b := ps.open; b != nil {
			p.sealLocked(ps, b)
		}
		ps.mu.Unlock()
	}

	var errs []error
	if err := p.waitAllLive(ctx, parts); err != nil {
		errs = append(errs, err)
		p.aborted.Store(true)
		p.abort()
		for _, ps := range parts {
			ps.mu.Lock()
			queued := ps.queue
			ps.queue = nil
			ps.mu.Unlock()
			for _, b := range queued {
				b.err = ErrClosed
				p.complete(ps, b)
			}
		}
		// Bounded now: senders fail what they take, syncers' waits end.
		_ = p.waitAllLive(context.Background(), parts)
	}

	p.appendQ.stop()
	p.syncQ.stop()
	close(p.stop)
	p.wg.Wait()
	p.abort()
	if err := p.takeDeferred(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (p *Producer) waitAllLive(ctx context.Context, parts []*partState) error {
	for _, ps := range parts {
		if err := p.waitLive(ctx, ps, ^uint64(0)); err != nil {
			return err
		}
	}
	return nil
}

// Stats is a snapshot of a producer's counters.
type Stats struct {
	// Records and Errors count the records delivered and failed (their
	// callbacks, with AcksNone their appends).
	Records, Errors uint64
	// Batches counts the batches appended to partitions, Duplicates those
	// the partition recognised as retries of batches it had (idempotence),
	// Bytes their encoded (compressed) size.
	Batches, Duplicates, Bytes uint64
	// Retries counts appends retried after a retriable error.
	Retries uint64
	// SyncWaits counts the waits for a sync of acks=all batches: one per
	// group of batches a partition's syncer found appended. The fdatasyncs
	// themselves are the partitions' (partition.Stats.Log.Syncs), shared
	// with the broker's flusher.
	SyncWaits uint64
	// BufferedBytes is the buffer memory in use now, BufferWaits the number
	// of times Produce had to wait for some.
	BufferedBytes int64
	BufferWaits   uint64
	// InterceptorPanics counts the panics recovered from interceptors.
	InterceptorPanics uint64
}

// Stats returns a snapshot of the producer's counters. It takes no lock.
func (p *Producer) Stats() Stats {
	return Stats{
		Records:           p.stats.records.Load(),
		Errors:            p.stats.errors.Load(),
		Batches:           p.stats.batches.Load(),
		Duplicates:        p.stats.duplicates.Load(),
		Bytes:             p.stats.bytes.Load(),
		Retries:           p.stats.retries.Load(),
		SyncWaits:         p.stats.syncWaits.Load(),
		BufferedBytes:     p.mem.used.Load(),
		BufferWaits:       p.stats.bufferWaits.Load(),
		InterceptorPanics: p.stats.interceptorPanics.Load(),
	}
}

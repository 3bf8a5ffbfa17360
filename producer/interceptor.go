package producer

import (
	"fmt"
	"runtime/debug"

	"github.com/samsalog/samsa/record"
)

// Interceptor sees every record a producer handles: Kafka's
// ProducerInterceptor (interceptor.classes), Sarama's ProducerInterceptor.
//
// OnSend is called by Produce, on the caller's goroutine, before the record
// is partitioned or checked; it may modify the record in place (add a
// header, rewrite the value), and the producer then sends the modified
// record. OnAcknowledgement is called once per record with its outcome,
// right before the record's callback, on the goroutine that runs the
// callback; err is nil on success.
//
// Interceptors run in the order of Config.Interceptors, never with a lock of
// the producer held, and concurrently for different records, so an
// implementation must be safe for concurrent use. They run on the produce
// and delivery paths of every record: keep them cheap. A panic in an
// interceptor is recovered and logged (Config.Logger), and the record goes
// on as if the interceptor had returned, as Kafka logs and ignores an
// interceptor's exception.
type Interceptor interface {
	OnSend(r *record.Record)
	OnAcknowledgement(r *record.Record, err error)
}

// onSend runs the interceptors' OnSend.
func (p *Producer) onSend(r *record.Record) {
	for _, ic := range p.cfg.Interceptors {
		p.safeOnSend(ic, r)
	}
}

func (p *Producer) safeOnSend(ic Interceptor, r *record.Record) {
	defer p.recoverInterceptor("OnSend")
	ic.OnSend(r)
}

// onAck runs the interceptors' OnAcknowledgement.
func (p *Producer) onAck(r *record.Record, err error) {
	for _, ic := range p.cfg.Interceptors {
		p.safeOnAck(ic, r, err)
	}
}

func (p *Producer) safeOnAck(ic Interceptor, r *record.Record, err error) {
	defer p.recoverInterceptor("OnAcknowledgement")
	ic.OnAcknowledgement(r, err)
}

func (p *Producer) recoverInterceptor(method string) {
	if v := recover(); v != nil {
		p.stats.interceptorPanics.Add(1)
		if p.log != nil {
			p.log.Error("producer: interceptor panicked; ignored", "method", method,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}
}

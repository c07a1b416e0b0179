package decisionlog

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Policy is the serving policy's decision-log rules (engine.Snapshot provides them).
type Policy interface {
	// LogRules reports which of data.system.log.drop and data.system.log.mask are defined.
	LogRules() (drop, mask bool)
	LogDrop(ctx context.Context, event any) (bool, error)
	LogMask(ctx context.Context, event any) (any, error)
}

// Options are what the Logger does with records besides writing them.
type Options struct {
	// Buffer bounds the records waiting to be written.
	Buffer int
	// SampleAllowed is the share of allowed decisions logged (0..1).
	SampleAllowed float64
	// Mask lists pointers erased from every event.
	Mask []string
}

// Deps are the Logger's collaborators.
type Deps struct {
	Logger *slog.Logger
	// Registry, when set, gets the verdict_decision_log_* counters.
	Registry prometheus.Registerer
	// Policy returns the serving policy, or nil when none is (or it defines no log rules).
	Policy func() Policy
	// Version is Verdict's version, labels.version in every event.
	Version string
}

// sink is where encoded events go.
type sink interface {
	// write takes encoded events, each one JSON document, in order. An error means all of them
	// were lost; the sink logs it.
	write(events [][]byte) error
	// close flushes what the sink holds, within ctx.
	close(ctx context.Context) error
}

// Stats count what became of the records handed to a Logger.
type Stats struct {
	// Dropped were lost because a buffer (the queue, the http sink's memory or spill) was full.
	Dropped uint64 `json:"dropped"`
	// WriteErrors were lost because the sink refused them (a full disk, a receiver that failed
	// with no spill to fall back on).
	WriteErrors uint64 `json:"write_errors"`
	// Sampled were allowed decisions left out by decision_log.sample_allowed.
	Sampled uint64 `json:"sampled"`
	// PolicyDropped were dropped by the policy's data.system.log.drop.
	PolicyDropped uint64 `json:"policy_dropped"`
	// MaskErrors were not logged because the policy's log rules failed: never logged unmasked.
	MaskErrors uint64 `json:"mask_errors"`
	// Sent were delivered to the http receiver.
	Sent uint64 `json:"sent"`
	// Spilled were kept on disk while the http receiver was down.
	Spilled uint64 `json:"spilled"`
}

// counters are the Logger's Stats as they change; the sinks count into them too.
type counters struct {
	dropped, writeErrors, sampled, policyDropped, maskErrors, sent, spilled atomic.Uint64
}

// Logger builds and writes decision-log events asynchronously. Use New, NewWriter or Discard.
type Logger struct {
	opts Options
	// labels are OPA's event labels, encoded: this process's random id and the version.
	labels []byte
	masks  []maskRule
	deps   Deps
	sink   sink
	counts *counters
	// wake tells run that records are pending; Close closes it. done closes when run ends.
	wake chan struct{}
	done chan struct{}
	// mu guards pending, the records handed in and not yet taken by run, and closed: a
	// handler still running when shutdown gives up on it may log after Close, and that record
	// is dropped, not a send on a closed channel.
	mu      sync.Mutex
	pending []Record
	closed  bool
}

// Discard returns a Logger that keeps nothing.
func Discard() *Logger {
	l := &Logger{done: make(chan struct{}), counts: &counters{}}
	close(l.done)
	return l
}

// Keeps reports whether l keeps records at all; a Logger from Discard (sink none) does not,
// so callers need not hold on to what only a record would carry.
func (l *Logger) Keeps() bool { return l.wake != nil }

// newLogger starts a Logger writing to s, counting into c (which s counts into too).
func newLogger(opts Options, s sink, c *counters, deps Deps) (*Logger, error) {
	// The id tells the replicas apart (OPA: labels.id).
	labels, err := json.Marshal(map[string]string{"id": crand.Text(), "version": deps.Version})
	if err != nil {
		return nil, err
	}
	l := &Logger{
		opts: opts, deps: deps, sink: s, counts: c, wake: make(chan struct{}, 1), done: make(chan struct{}),
		labels: labels,
	}
	for _, p := range opts.Mask {
		r, err := parseMaskRule(p)
		if err != nil {
			return nil, fmt.Errorf("decision_log.%w", err)
		}
		l.masks = append(l.masks, r)
	}
	if deps.Registry != nil {
		if err := l.register(deps.Registry); err != nil {
			return nil, err
		}
	}
	go l.run()
	return l, nil
}

// Log hands r to the log. It never blocks and never encodes: it appends r to the pending
// records, which the log's goroutine takes in batches. When Options.Buffer records are
// pending, or the Logger is closed, r is dropped and counted. An allowed decision may be
// sampled away; a deny or an error never is.
func (l *Logger) Log(r Record) {
	if l.wake == nil {
		return
	}
	if r.Allow && r.Error == "" && l.opts.SampleAllowed < 1 && rand.Float64() >= l.opts.SampleAllowed {
		l.counts.sampled.Add(1)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || len(l.pending) >= l.opts.Buffer {
		l.counts.dropped.Add(1)
		return
	}
	l.pending = append(l.pending, r)
	if len(l.pending) == 1 {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// Stats returns the counters.
func (l *Logger) Stats() Stats {
	c := l.counts
	return Stats{
		Dropped: c.dropped.Load(), WriteErrors: c.writeErrors.Load(), Sampled: c.sampled.Load(),
		PolicyDropped: c.policyDropped.Load(), MaskErrors: c.maskErrors.Load(),
		Sent: c.sent.Load(), Spilled: c.spilled.Load(),
	}
}

// Close stops accepting records and waits until the queued ones are written and the sink has
// flushed, or ctx ends. Closing again does nothing.
func (l *Logger) Close(ctx context.Context) error {
	l.mu.Lock()
	first := !l.closed
	if l.wake != nil && first {
		close(l.wake)
	}
	l.closed = true
	l.mu.Unlock()
	if !first || l.sink == nil {
		return nil
	}
	select {
	case <-l.done:
	case <-ctx.Done():
		// The process is going: what is still pending will not be written.
		l.mu.Lock()
		n := uint64(len(l.pending))
		l.mu.Unlock()
		l.counts.dropped.Add(n)
		l.deps.Logger.Error("decision log not flushed in time", "records", n)
		return ctx.Err()
	}
	return l.sink.close(ctx)
}

// maxBatch bounds the events handed to the sink at once.
const maxBatch = 512

// gather is how long run lets records accumulate after the first one of a batch arrives, so
// that a busy server wakes its log goroutine once per batch rather than once per decision.
const gather = time.Millisecond

// run takes the pending records in batches, encodes them and hands them to the sink, until
// Close; then it writes what is left and returns.
func (l *Logger) run() {
	defer close(l.done)
	var records []Record
	// scratch is reused for encoding; each batch's events are then copied out together, at
	// their size, which the http sink's memory bound counts.
	var scratch []byte
	var ends []int
	for open := true; open; {
		if _, open = <-l.wake; open {
			time.Sleep(gather)
		}
		l.mu.Lock()
		records, l.pending = l.pending, records[:0]
		l.mu.Unlock()
		for start := 0; start < len(records); start += maxBatch {
			scratch, ends = scratch[:0], ends[:0]
			for i := range records[start:min(start+maxBatch, len(records))] {
				var ok bool
				if scratch, ok = l.encode(scratch, &records[start+i]); ok {
					ends = append(ends, len(scratch))
				}
			}
			l.writeBatch(bytes.Clone(scratch), ends)
		}
		clear(records) // the inputs they hold may go
	}
}

// writeBatch hands the sink the events encoded one after another in all, each ending at its
// offset in ends.
func (l *Logger) writeBatch(all []byte, ends []int) {
	if len(ends) == 0 {
		return
	}
	batch := make([][]byte, len(ends))
	start := 0
	for i, end := range ends {
		batch[i], start = all[start:end:end], end
	}
	if err := l.sink.write(batch); err != nil {
		l.counts.writeErrors.Add(uint64(len(batch)))
	}
}

// encode appends r's event to dst, lets the policy drop or mask it and applies the configured
// masks. It reports false when the event is not to be written (dropped by policy, or a policy
// rule failed, which never lets an unmasked event through).
func (l *Logger) encode(dst []byte, r *Record) (out []byte, ok bool) {
	defer func() {
		// A record that cannot be encoded is lost and counted; it must not take the server down.
		if p := recover(); p != nil {
			out, ok = dst, l.encoded(fmt.Errorf("panic: %v", p))
		}
	}()
	b, err := appendEvent(dst, r, l.labels)
	if !l.encoded(err) {
		return dst, false
	}
	var policy Policy
	var drop, mask bool
	if l.deps.Policy != nil {
		if policy = l.deps.Policy(); policy != nil {
			drop, mask = policy.LogRules()
		}
	}
	if !drop && !mask && len(l.masks) == 0 {
		return b, true
	}
	g, err := generic(b[len(dst):])
	if !l.encoded(err) {
		return dst, false
	}
	ctx := context.Background()
	if drop {
		dropped, err := policy.LogDrop(ctx, g)
		if err != nil {
			return dst, l.ruleFailed("drop", err)
		}
		if dropped {
			l.counts.policyDropped.Add(1)
			return dst, false
		}
	}
	rules := l.masks
	if mask {
		v, err := policy.LogMask(ctx, g)
		var more []maskRule
		if err == nil && v != nil {
			more, err = parseMaskRules(v)
		}
		if err != nil {
			return dst, l.ruleFailed("mask", err)
		}
		rules = append(more, rules...)
	}
	for _, m := range rules {
		m.apply(g)
	}
	masked, err := json.Marshal(g)
	return append(dst, masked...), l.encoded(err)
}

// encoded counts and logs an event that could not be encoded (a value that is not JSON) and
// reports whether err is nil.
func (l *Logger) encoded(err error) bool {
	if err != nil {
		l.counts.writeErrors.Add(1)
		l.deps.Logger.Error("decision log record not encoded", "error", err)
	}
	return err == nil
}

// ruleFailed counts an event not logged because the policy's rule failed; it returns false.
func (l *Logger) ruleFailed(rule string, err error) bool {
	l.counts.maskErrors.Add(1)
	l.deps.Logger.Error("decision log rule failed; record not logged", "rule", "data.system.log."+rule, "error", err)
	return false
}

// register exposes the counters as verdict_decision_log_* metrics, read at scrape time.
func (l *Logger) register(reg prometheus.Registerer) error {
	for _, m := range []struct {
		name, help string
		v          *atomic.Uint64
	}{
		{"dropped_total", "Decision log records dropped because a buffer (queue, http memory or spill) was full.", &l.counts.dropped},
		{"write_errors_total", "Decision log records lost because the sink refused them (a full disk, a failed receiver with no spill).", &l.counts.writeErrors},
		{"sampled_total", "Allowed decisions left out of the log by decision_log.sample_allowed.", &l.counts.sampled},
		{"policy_dropped_total", "Decision log records dropped by the policy's data.system.log.drop.", &l.counts.policyDropped},
		{"mask_errors_total", "Decision log records not logged because data.system.log.drop or mask failed.", &l.counts.maskErrors},
		{"sent_total", "Decision log records delivered to the http receiver.", &l.counts.sent},
		{"spilled_total", "Decision log records written to the on-disk spill while the http receiver was down.", &l.counts.spilled},
	} {
		v := m.v
		if err := reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "verdict_decision_log_" + m.name, Help: m.help,
		}, func() float64 { return float64(v.Load()) })); err != nil {
			return err
		}
	}
	return nil
}

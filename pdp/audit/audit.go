// Package audit writes the decision log: one JSON line per decision, written off the request
// path by a single goroutine through a bounded queue. A full queue drops the record and counts
// it rather than slowing decisions down; a record the sink refuses (a full disk) is counted
// too. Records never hold a token.
package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Record is one decision as the log keeps it.
type Record struct {
	Time        time.Time        `json:"time"`
	DecisionID  string           `json:"decision_id"`
	RequestID   string           `json:"request_id,omitempty"`
	Path        string           `json:"path"`
	Revision    string           `json:"revision,omitempty"`
	Allow       bool             `json:"allow"`
	Reasons     []string         `json:"reasons,omitempty"`
	Obligations []map[string]any `json:"obligations,omitempty"`
	Risk        map[string]any   `json:"risk,omitempty"`
	Issuer      string           `json:"issuer,omitempty"`
	Subject     string           `json:"subject,omitempty"`
	Action      string           `json:"action,omitempty"`
	Resource    string           `json:"resource,omitempty"`
	// Error is the short reason a decision failed; never a raw evaluation error or a token.
	Error      string  `json:"error,omitempty"`
	DurationMS float64 `json:"duration_ms"`
}

// Logger writes decision records asynchronously. The zero value is not usable; call New.
type Logger struct {
	queue   chan Record
	w       io.Writer
	log     *slog.Logger
	dropped atomic.Uint64
	// writeErrors counts records the writer failed to take.
	writeErrors atomic.Uint64
	done        chan struct{}
	// mu orders Log's sends before Close's close of queue: a handler still running when
	// shutdown gives up on it may log after Close, and that record is dropped, not a panic.
	mu     sync.RWMutex
	closed bool
}

// New starts a Logger writing JSON lines to w through a queue of the given size. A nil w
// discards records without starting a writer.
func New(w io.Writer, buffer int, log *slog.Logger) *Logger {
	l := &Logger{w: w, log: log, done: make(chan struct{})}
	if w == nil {
		close(l.done)
		return l
	}
	l.queue = make(chan Record, buffer)
	go l.run()
	return l
}

// Log queues r for writing. It never blocks: when the queue is full, or the Logger is closed,
// the record is dropped and counted.
func (l *Logger) Log(r Record) {
	if l.queue == nil {
		return
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.dropped.Add(1)
		return
	}
	select {
	case l.queue <- r:
	default:
		l.dropped.Add(1)
	}
}

// Dropped reports how many records were dropped because the queue was full.
func (l *Logger) Dropped() uint64 { return l.dropped.Load() }

// WriteErrors reports how many records were lost because writing them failed.
func (l *Logger) WriteErrors() uint64 { return l.writeErrors.Load() }

// Close stops accepting records and waits until the queued ones are written or ctx ends.
func (l *Logger) Close(ctx context.Context) error {
	l.mu.Lock()
	if l.queue != nil && !l.closed {
		close(l.queue)
	}
	l.closed = true
	l.mu.Unlock()
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run writes the queued records. Under load the queue holds several at a time: they go out in
// one write once the queue is empty (or the buffer full), not one system call each, so a busy
// server pays for its decision log by the batch. An idle one still writes each record at once.
func (l *Logger) run() {
	defer close(l.done)
	buf := bufio.NewWriterSize(l.w, writeBuffer)
	enc := json.NewEncoder(buf)
	pending := 0 // records in buf, lost together if the write fails
	for r := range l.queue {
		if err := enc.Encode(r); err != nil {
			// bufio writes through when full; a failure loses what it held.
			pending = l.failed(pending+1, buf, err)
			continue
		}
		pending++
		if len(l.queue) > 0 {
			continue
		}
		if err := buf.Flush(); err != nil {
			l.failed(pending, buf, err)
		}
		pending = 0
	}
}

// writeBuffer is how much of the decision log is gathered into one write.
const writeBuffer = 64 << 10

// failed counts n records lost to err and resets buf, whose error would otherwise stick, and
// returns the records now pending: none.
func (l *Logger) failed(n int, buf *bufio.Writer, err error) int {
	l.writeErrors.Add(uint64(n))
	l.log.Error("decision log write failed", "records", n, "error", err)
	buf.Reset(l.w)
	return 0
}

package decisionlog

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/outbound"
	"github.com/verdict-pdp/verdict/pdp/redact"
)

// httpSink sends events to an OPA-compatible decision-log receiver: each batch is a POST of a
// gzipped JSON array of events to <url>/logs. Events wait in memory (bounded by bytes) for a
// full batch or the flush interval. A failed upload is retried with exponential backoff and
// jitter; meanwhile, with a spill, what accumulates goes to disk (bounded) and is sent, oldest
// first, once the receiver takes a batch again. What no buffer can hold is counted as dropped.
type httpSink struct {
	cfg    config.DecisionLogHTTP
	url    string
	client *http.Client
	spill  *spill
	log    *slog.Logger
	counts *counters

	mu           sync.Mutex
	pending      [][]byte
	pendingBytes int

	// zippers are reused gzip writers (the uploader and the log's writer both compress) at
	// level (gzipLevel; benchmarks compare others).
	zippers sync.Pool
	level   int

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

// newHTTPSink starts a sink sending to cfg.URL, counting into c.
func newHTTPSink(cfg config.DecisionLogHTTP, dataDir string, c *counters, log *slog.Logger) (*httpSink, error) {
	tlsConfig, err := clientTLS(cfg)
	if err != nil {
		return nil, err
	}
	client := outbound.NewClient()
	client.Timeout = cfg.Timeout
	client.Transport.(*http.Transport).TLSClientConfig = tlsConfig
	h := &httpSink{
		cfg: cfg, url: strings.TrimSuffix(cfg.URL, "/") + "/logs", log: log, client: client, counts: c, level: gzipLevel,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	if cfg.SpillBytes > 0 {
		if h.spill, err = openSpill(dataDir, cfg.SpillBytes); err != nil {
			return nil, err
		}
	}
	go h.run()
	return h, nil
}

// clientTLS is the TLS configuration cfg asks for: a CA to trust and a client certificate.
func clientTLS(cfg config.DecisionLogHTTP) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate", cfg.CAFile)
		}
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, err
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// write queues events for sending; it never waits on the network. Events the memory buffer
// cannot hold go straight to the spill, when there is one, or are dropped and counted.
func (h *httpSink) write(events [][]byte) error {
	var over [][]byte
	for _, e := range events {
		if !h.add(e) {
			over = append(over, e)
		}
	}
	h.spillEvents(over)
	h.mu.Lock()
	full := h.pendingBytes >= h.cfg.BatchBytes
	h.mu.Unlock()
	if full {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// add appends e to the pending events unless that would exceed the memory bound.
func (h *httpSink) add(e []byte) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pendingBytes+len(e) > h.cfg.BufferBytes {
		return false
	}
	h.pending = append(h.pending, e)
	h.pendingBytes += len(e)
	return true
}

// spillEvents writes events to the spill, a batch a file, counting each as spilled, or as
// dropped when there is no spill or it is full.
func (h *httpSink) spillEvents(events [][]byte) {
	for len(events) > 0 {
		n := batchLen(events, h.cfg.BatchBytes)
		err := errSpillFull
		if h.spill != nil {
			var body []byte
			if body, err = h.gzipArray(events[:n]); err == nil {
				err = h.spill.add(body, n)
			}
		}
		switch {
		case err == nil:
			h.counts.spilled.Add(uint64(n))
		case errors.Is(err, errSpillFull):
			h.counts.dropped.Add(uint64(n))
		default:
			h.counts.dropped.Add(uint64(n))
			h.log.Error("decision log spill failed", "records", n, "error", err)
		}
		events = events[n:]
	}
}

// run sends batches when one is full or the flush interval passes; after a failure it waits
// out the backoff, spilling what fills up meanwhile.
func (h *httpSink) run() {
	defer close(h.done)
	failures := 0
	timer := time.NewTimer(h.cfg.FlushInterval)
	defer timer.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-h.wake:
			if failures > 0 {
				h.spillPending()
				continue
			}
		case <-timer.C:
		}
		if h.send(context.Background()) {
			failures = 0
			timer.Reset(h.cfg.FlushInterval)
			continue
		}
		failures++
		timer.Reset(backoff(h.cfg.MinRetryDelay, h.cfg.MaxRetryDelay, failures))
	}
}

// send flushes, and spills what the receiver did not take; it reports whether all went. Only
// one goroutine sends: run, then close once run has stopped.
func (h *httpSink) send(ctx context.Context) bool {
	if h.flush(ctx) {
		return true
	}
	h.spillPending()
	return false
}

// backoff is the wait after the given number of consecutive failures: min doubled each time,
// capped at max, with jitter (a random point in its upper half) so replicas do not retry in step.
func backoff(lo, hi time.Duration, failures int) time.Duration {
	d := hi
	if failures < 32 && lo<<(failures-1) < hi && lo<<(failures-1) > 0 {
		d = lo << (failures - 1)
	}
	return d/2 + rand.N(d/2+1)
}

// flush sends the spilled batches, oldest first, then everything pending, and reports whether
// all went; it stops at the first failure, leaving the rest where it was.
func (h *httpSink) flush(ctx context.Context) bool {
	if h.spill != nil {
		for {
			name, body, n, ok := h.spill.oldest()
			if !ok {
				break
			}
			if h.post(ctx, body) != nil {
				return false
			}
			h.spill.remove(name)
			h.counts.sent.Add(uint64(n))
		}
	}
	for {
		batch := h.peek()
		if len(batch) == 0 {
			return true
		}
		body, err := h.gzipArray(batch)
		if err == nil {
			err = h.post(ctx, body)
		}
		if err != nil {
			return false
		}
		h.take(len(batch))
		h.counts.sent.Add(uint64(len(batch)))
	}
}

// peek returns the oldest pending events, up to a batch; they stay pending until take.
func (h *httpSink) peek() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := batchLen(h.pending, h.cfg.BatchBytes)
	return h.pending[:n:n]
}

// batchLen is how many of the first events make a batch of at most limit bytes (at least one).
func batchLen(events [][]byte, limit int) int {
	size := 0
	for i, e := range events {
		if size += len(e); size > limit && i > 0 {
			return i
		}
	}
	return len(events)
}

// take removes the n oldest pending events.
func (h *httpSink) take(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.pending[:n] {
		h.pendingBytes -= len(e)
	}
	// Not copied: with several batches pending, copying the rest after each would be
	// quadratic. Cleared so the sent events can be collected; append reallocates as it grows.
	clear(h.pending[:n])
	h.pending = h.pending[n:]
}

// spillPending moves every pending event to the spill, when there is one, so that the memory
// buffer has room while the receiver is down.
func (h *httpSink) spillPending() {
	if h.spill == nil {
		return
	}
	h.mu.Lock()
	events := h.pending
	h.pending, h.pendingBytes = nil, 0
	h.mu.Unlock()
	h.spillEvents(events)
}

// post uploads one gzipped batch.
func (h *httpSink) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	if h.cfg.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+h.cfg.BearerToken)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		err = redact.TransportError(err)
		h.log.Warn("decision log upload failed", "url", redact.URL(h.url), "error", err)
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		h.log.Warn("decision log upload refused", "url", redact.URL(h.url), "status", resp.StatusCode)
		return fmt.Errorf("receiver answered %d", resp.StatusCode)
	}
	return nil
}

// close stops the sender and sends what is pending within ctx; what the receiver does not take
// goes to the spill, and what cannot go there is counted as lost.
func (h *httpSink) close(ctx context.Context) error {
	close(h.stop)
	<-h.done
	h.send(ctx)
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.pending); n > 0 {
		h.counts.writeErrors.Add(uint64(n))
		h.log.Error("decision log records not delivered at shutdown", "records", n)
		h.pending, h.pendingBytes = nil, 0
	}
	return ctx.Err()
}

// gzipLevel is the uploads' compression: BestSpeed, as a decision log compresses well at any
// level and the CPU goes to decisions (BenchmarkGzipArray compares the levels).
const gzipLevel = gzip.BestSpeed

// gzipArray encodes events as one gzipped JSON array. The compressor is reused: a new one
// allocates and clears about a megabyte.
func (h *httpSink) gzipArray(events [][]byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, _ := h.zippers.Get().(*gzip.Writer)
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(&buf, h.level)
	} else {
		zw.Reset(&buf)
	}
	defer h.zippers.Put(zw)
	// The punctuation, one slice for the batch rather than one per event.
	punct := []byte("[,]")
	_, _ = zw.Write(punct[0:1])
	for i, e := range events {
		if i > 0 {
			_, _ = zw.Write(punct[1:2])
		}
		_, _ = zw.Write(e)
	}
	_, _ = zw.Write(punct[2:3])
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

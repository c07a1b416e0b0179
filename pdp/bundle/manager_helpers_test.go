package bundle_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	opabundle "github.com/open-policy-agent/opa/v1/bundle"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/engine"
)

const (
	// pollInterval is short so tests see several polls quickly.
	pollInterval = 50 * time.Millisecond
	// waitLimit bounds every wait for something the manager does asynchronously.
	waitLimit = 10 * time.Second
)

// policyFiles are the files of a bundle whose decision allows everything and names rev in its
// reasons, with a Rego test that passes.
func policyFiles(rev string) map[string]string {
	return map[string]string{
		".manifest":  `{"roots": ["verdict"]}`,
		"authz.rego": fmt.Sprintf("package verdict.authz\n\ndecision := {\"allow\": true, \"reasons\": [%q]}\n", rev),
		"authz_test.rego": "package verdict.authz_test\n\nimport data.verdict.authz\n\n" +
			"test_allows if authz.decision.allow\n",
	}
}

// writeFiles writes files into a new directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// buildArchive builds files as a bundle with revision rev, signed when sign is set.
func buildArchive(t *testing.T, rev string, files map[string]string, sign *bundle.SignOptions) []byte {
	t.Helper()
	raw, err := bundle.Build([]string{writeFiles(t, files)}, bundle.BuildOptions{MaxBytes: 1 << 20, Revision: rev, Sign: sign})
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	return raw
}

// policyArchive is policyFiles(rev) built as a bundle with revision rev.
func policyArchive(t *testing.T, rev string) []byte {
	t.Helper()
	return buildArchive(t, rev, policyFiles(rev), nil)
}

// rawTarGz writes entries (name, body pairs, in order) as a gzipped tar with no checks at all.
func rawTarGz(t testing.TB, entries ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for i := 0; i+1 < len(entries); i += 2 {
		body := entries[i+1]
		if err := tw.WriteHeader(&tar.Header{Name: entries[i], Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bundleServer is an in-process OPA-style bundle server: ETag and If-None-Match, 304, a
// switch to answer 503, and long polling (Prefer: wait=N) when enabled.
type bundleServer struct {
	*httptest.Server
	mu       sync.Mutex
	body     []byte
	etag     string
	down     bool
	longPoll bool
	changed  chan struct{}
	codes    map[int]int
	log      []served
}

// served is one request the server answered.
type served struct {
	code   int
	header http.Header
}

func newBundleServer(t *testing.T, body []byte) *bundleServer {
	t.Helper()
	s := &bundleServer{changed: make(chan struct{}), codes: map[int]int{}}
	s.set(body)
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

// set serves body from now on, with a new ETag, and wakes long polls.
func (s *bundleServer) set(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := sha256.Sum256(body)
	s.body, s.etag = body, `"`+hex.EncodeToString(sum[:8])+`"`
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *bundleServer) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

func (s *bundleServer) setLongPoll(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.longPoll = on
}

// count returns how many answers had status code.
func (s *bundleServer) count(code int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes[code]
}

// requests returns every request answered so far.
func (s *bundleServer) requests() []served {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]served(nil), s.log...)
}

var waitPref = regexp.MustCompile(`wait=(\d+)`)

func (s *bundleServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down, etag, longPoll, changed := s.down, s.etag, s.longPoll, s.changed
	s.mu.Unlock()
	if m := waitPref.FindStringSubmatch(r.Header.Get("Prefer")); longPoll && m != nil && r.Header.Get("If-None-Match") == etag && !down {
		secs, _ := strconv.Atoi(m[1])
		select {
		case <-changed:
		case <-time.After(time.Duration(secs) * time.Second):
		case <-r.Context().Done():
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	code := http.StatusOK
	switch {
	case s.down:
		code = http.StatusServiceUnavailable
	case r.Header.Get("If-None-Match") == s.etag:
		code = http.StatusNotModified
	}
	s.codes[code]++
	s.log = append(s.log, served{code: code, header: r.Header.Clone()})
	if s.longPoll {
		w.Header().Set("Content-Type", "application/vnd.openpolicyagent.bundles")
	} else {
		w.Header().Set("Content-Type", "application/gzip")
	}
	if code == http.StatusOK {
		w.Header().Set("ETag", s.etag)
	}
	w.WriteHeader(code)
	if code == http.StatusOK {
		_, _ = w.Write(s.body)
	}
}

// harness is a manager driving a real engine.
type harness struct {
	m   *bundle.Manager
	eng *engine.Engine
	reg *prometheus.Registry
}

// managerOpts adjust the configuration and dependencies of newHarness.
type managerOpts struct {
	dataDir  string
	verifier *bundle.Verifier
	policy   func(*config.Policy)
}

// newHarness creates a manager for source without starting it; it is closed at cleanup.
func newHarness(t testing.TB, source string, o managerOpts) *harness {
	t.Helper()
	cfg := config.Policy{Bundle: source, PollInterval: pollInterval, DownloadTimeout: 5 * time.Second}
	if o.policy != nil {
		o.policy(&cfg)
	}
	cfg.SetDefaults()
	log := slog.New(slog.DiscardHandler)
	eng, err := engine.New(cfg, engine.Deps{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := bundle.NewManager(bundle.ManagerConfig{Policy: cfg, DataDir: o.dataDir}, bundle.ManagerDeps{
		Activate: func(ctx context.Context, b *opabundle.Bundle) error {
			_, err := eng.Activate(ctx, b)
			return err
		},
		Verifier: o.verifier, Logger: log, Registry: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return &harness{m: m, eng: eng, reg: reg}
}

// start is newHarness then Start, which must succeed.
func start(t testing.TB, source string, o managerOpts) *harness {
	t.Helper()
	h := newHarness(t, source, o)
	if err := h.m.Start(context.Background()); err != nil {
		t.Fatalf("Start() error = %v", err)
	}
	return h
}

// answer decides once and returns the revision that answered; the decision must be an allow.
func (h *harness) answer(t *testing.T) string {
	t.Helper()
	d, err := h.eng.Decide(context.Background(), &engine.Input{Action: engine.Action{Name: "read"}})
	if err != nil || !d.Allow || len(d.Reasons) != 1 || d.Reasons[0] != d.Revision {
		t.Fatalf("Decide() = %+v, %v", d, err)
	}
	return d.Revision
}

// waitRevision waits until decisions carry rev, and returns how long that took.
func (h *harness) waitRevision(t *testing.T, rev string) time.Duration {
	t.Helper()
	start := time.Now()
	waitFor(t, "revision "+rev+" to serve", func() bool {
		s := h.eng.Current()
		return s != nil && s.Revision() == rev
	})
	return time.Since(start)
}

// waitFailures waits until the status counts n failures.
func (h *harness) waitFailures(t *testing.T, n uint64) bundle.Status {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d failures", n), func() bool { return h.m.Status().Failures >= n })
	return h.m.Status()
}

// waitPolls waits for n more polls.
func (h *harness) waitPolls(t *testing.T, n int) {
	t.Helper()
	for range n {
		before := h.m.Status().LastPoll
		waitFor(t, "a poll", func() bool {
			after := h.m.Status().LastPoll
			return after != nil && (before == nil || after.After(*before))
		})
	}
}

// metric returns the value of the sample of name whose labels include labels.
func (h *harness) metric(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for k, v := range labels {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == k && lp.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return -1
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

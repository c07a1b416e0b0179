package bundle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	opabundle "github.com/open-policy-agent/opa/v1/bundle"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/outbound"
	"github.com/verdict-pdp/verdict/pdp/redact"
)

// ActivateFunc publishes a bundle as the serving policy. It must build the new policy
// completely before publishing it and leave the serving one untouched when it fails;
// (*engine.Engine).Activate does both.
type ActivateFunc func(ctx context.Context, b *opabundle.Bundle) error

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	// Policy is the policy section; the manager reads bundle, poll_interval,
	// long_poll_timeout, download_timeout, max_bundle_bytes, require_tests, credentials and
	// watch.
	Policy config.Policy
	// DataDir keeps the last activated bundle under DataDir/bundles; "" keeps none.
	DataDir string
}

// ManagerDeps are a Manager's collaborators.
type ManagerDeps struct {
	// Activate publishes a bundle; required.
	Activate ActivateFunc
	// Verifier, when set, refuses bundles without a valid signature (see LoadVerifier).
	Verifier *Verifier
	// Logger receives activations and refusals; nil discards them.
	Logger *slog.Logger
	// Registry receives the manager's metrics; nil leaves them unregistered.
	Registry prometheus.Registerer
	// HTTPClient downloads from an http(s) source; nil means a client of its own. Requests
	// are bounded by policy.download_timeout through their context, not by the client.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Manager keeps the serving policy up to date with its source. Start activates a first
// revision (the source's, else the last good one persisted by an earlier run, or the built-in
// bundle when no source is configured), then polls the source in the background, or, with
// policy.watch, reads a directory or file source after each change file notifications report
// (debounced by WatchDebounce) instead of polling it. Every new
// revision is parsed, checked (archive safety, signature, the bundle's own tests when
// policy.require_tests is set) and built into a complete snapshot off the request path before
// one atomic swap publishes it; a refused revision leaves the serving one in place, and is
// logged, counted and shown in Status. Decisions never wait for the manager.
type Manager struct {
	cfg      config.Policy
	deps     ManagerDeps
	log      *slog.Logger
	now      func() time.Time
	metrics  *managerMetrics
	src      source // nil for the built-in bundle
	store    *store // nil when nothing is persisted
	sourceID string

	mu sync.Mutex
	st Status
	// activeDigest and lastDigest are SHA-256 digests of the serving archive and of the last
	// archive handled (served or refused), so content seen before is not handled twice.
	activeDigest, lastDigest string
	// confirmOnUnchanged is set while a persisted bundle serves with the ETag it was
	// downloaded with: a 304 for that ETag shows the source still offers it.
	confirmOnUnchanged bool
	// retries counts consecutive polls that failed to reach the source.
	retries int

	stop context.CancelFunc
	done chan struct{}
}

// NewManager returns a Manager for cfg. It checks the configuration and reads nothing yet.
func NewManager(cfg ManagerConfig, deps ManagerDeps) (*Manager, error) {
	p := cfg.Policy
	p.SetDefaults()
	switch {
	case deps.Activate == nil:
		return nil, errors.New("bundle manager: no Activate function")
	case p.PollInterval <= 0 || p.DownloadTimeout <= 0 || p.MaxBundleBytes <= 0:
		return nil, errors.New("bundle manager: poll_interval, download_timeout and max_bundle_bytes must be positive")
	}
	m := &Manager{cfg: p, deps: deps, log: deps.Logger, now: deps.Now, sourceID: sourceID(p.Bundle)}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	var err error
	if m.metrics, err = newManagerMetrics(deps.Registry); err != nil {
		return nil, fmt.Errorf("bundle manager: %w", err)
	}
	if m.src, err = m.newSource(); err != nil {
		return nil, fmt.Errorf("bundle manager: %w", err)
	}
	if p.Watch && (m.src == nil || m.remote()) {
		return nil, errors.New("bundle manager: policy.watch needs a directory or file bundle")
	}
	if cfg.DataDir != "" && m.src != nil {
		m.store = &store{dir: filepath.Join(cfg.DataDir, "bundles")}
	}
	m.st = Status{Source: OriginBuiltin, Kind: KindBuiltin, Verification: deps.Verifier != nil, Watching: p.Watch}
	if m.src != nil {
		m.st.Source, m.st.Kind = m.src.String(), m.src.kind()
	}
	return m, nil
}

func (m *Manager) remote() bool {
	_, ok := m.src.(*httpSource)
	return ok
}

func (m *Manager) newSource() (source, error) {
	b := m.cfg.Bundle
	switch {
	case b == "":
		return nil, nil
	case strings.HasPrefix(b, "http://") || strings.HasPrefix(b, "https://"):
		client := m.deps.HTTPClient
		if client == nil {
			client = outbound.NewClient()
		}
		return newHTTPSource(b, client, m.cfg.Credentials.BearerToken, m.cfg.MaxBundleBytes,
			m.cfg.DownloadTimeout, m.cfg.LongPollTimeout, func(n int) { m.metrics.downloadBytes.Add(float64(n)) }), nil
	case strings.Contains(b, "://"):
		return nil, fmt.Errorf("policy.bundle %q: only http(s) URLs, directories and .tar.gz files are supported", redact.URL(b))
	default:
		return newFileSource(b, m.cfg.MaxBundleBytes, m.cfg.Watch), nil
	}
}

// Start activates the first revision and starts polling. With no source configured it
// activates the built-in bundle and returns. With an http(s) source it serves the persisted
// last good bundle at once when there is one (and polls the source right away); otherwise it
// polls the source once, and when that fails falls back to the persisted bundle. When nothing
// could be activated, Start fails for a file or directory source (a local path is the
// operator's to fix), while an http(s) source keeps being polled with no policy serving, so
// decisions get 503 until the bundle server answers. Start must be called once; Close stops
// the polling.
func (m *Manager) Start(ctx context.Context) error {
	if m.src == nil {
		return m.startBuiltin(ctx)
	}
	if strings.HasPrefix(m.cfg.Bundle, "http://") && m.cfg.Credentials.BearerToken != "" {
		m.log.Warn("policy.credentials.bearer_token is sent to the bundle server over plain http", "source", m.src.String())
	}
	var w *watcher
	if m.cfg.Watch {
		// Watching starts before the first read, so a change made meanwhile is not missed.
		var err error
		if w, err = newWatcher(m.cfg.Bundle, WatchDebounce, m.log); err != nil {
			return err
		}
	}
	remote := m.remote()
	served, first := false, time.Duration(0)
	if remote {
		served = m.startPersisted(ctx)
	}
	if !served {
		first = m.poll(ctx)
		served = m.serving()
	}
	if !served && !remote {
		served = m.startPersisted(ctx)
	}
	if !served {
		last := m.Status().LastAttempt
		if !remote {
			if w != nil {
				w.close()
			}
			return fmt.Errorf("bundle %s: %s", m.src, last.Error)
		}
		m.log.Error("no policy is serving yet: the bundle source failed and nothing is persisted; polling goes on and decisions get 503 until it answers",
			"source", m.src.String(), "error", last.Error)
	}
	loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	m.stop, m.done = stop, make(chan struct{})
	if w != nil {
		m.log.Info("watching the bundle for changes", "source", m.src.String())
		go m.watch(loopCtx, w)
	} else {
		go m.loop(loopCtx, first)
	}
	return nil
}

// Close stops polling or watching and waits for a read in progress to end. It is safe to call
// more than once, and before Start.
func (m *Manager) Close() {
	if m.stop == nil {
		return
	}
	m.stop()
	<-m.done
}

// Status returns a snapshot of the manager's state.
func (m *Manager) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.st
	st.ActivatedAt = copyTime(st.ActivatedAt)
	st.LastPoll = copyTime(st.LastPoll)
	st.NextPoll = copyTime(st.NextPoll)
	if st.LastAttempt != nil {
		a := *st.LastAttempt
		st.LastAttempt = &a
	}
	if st.LastFailure != nil {
		a := *st.LastFailure
		st.LastFailure = &a
	}
	return st
}

func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

func (m *Manager) serving() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Revision != ""
}

func (m *Manager) startBuiltin(ctx context.Context) error {
	if m.deps.Verifier != nil {
		m.log.Warn("policy.verification is set but policy.bundle is not: the built-in bundle serves, unsigned")
	}
	start := m.now()
	b, err := Builtin()
	if err == nil {
		err = m.deps.Activate(ctx, b)
	}
	if err != nil {
		return fmt.Errorf("built-in bundle: %w", err)
	}
	m.activated(b.Manifest.Revision, OriginBuiltin, "", "", start)
	return nil
}

// startPersisted activates the last good bundle an earlier run kept, when there is one.
func (m *Manager) startPersisted(ctx context.Context) bool {
	if m.store == nil {
		return false
	}
	start := m.now()
	raw, rec, err := m.store.load(m.sourceID, m.cfg.MaxBundleBytes)
	if err != nil {
		m.log.Info("no persisted bundle to serve", "dir", m.store.dir, "reason", err)
		return false
	}
	att := m.apply(ctx, &fetched{raw: raw, etag: rec.ETag}, OriginPersisted, start)
	m.record(att)
	if att.Result != ResultActivated {
		return false
	}
	if h, ok := m.src.(*httpSource); ok && rec.ETag != "" {
		h.resume(rec.ETag)
		m.mu.Lock()
		m.confirmOnUnchanged = true
		m.mu.Unlock()
	}
	m.log.Info("serving the persisted last good bundle", "revision", att.Revision,
		"activated_at", rec.ActivatedAt, "source", m.src.String())
	return true
}

package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/redact"
)

// errRateLimited means a refresh was asked for within refresh_rate_limit of the last one.
var errRateLimited = errors.New("key refresh rate limited")

// remoteKeys is an issuer's key set fetched over HTTP, from jwks_url or from the jwks_uri that
// discovery finds.
//
// It fetches with net/http itself rather than through keyfunc v3.9.0 and jwkset's HTTP storage,
// whose refresh loop cannot give the controls Verdict needs: jwkset decodes the response with no
// size cap, makes New wait for the first fetch, waits on (rather than refuses) its unknown-kid
// rate limiter so a flood of misses queues one fetch each instead of sharing one, runs on the
// wall clock rather than an injected one, and swaps the whole set in without a hook for Verdict's
// key policy. jwkset still parses every JWK (keyFromJWK); keyfunc is not used.
//
// Behaviour: a background loop fetches at once and then every refresh_interval (sooner, with
// backoff, after a failure). A request whose kid is not in the set, or that finds no set yet,
// asks for a refresh: at most one fetch starts per refresh_rate_limit, concurrent askers share
// it, and each waits no longer than its own context. A failed fetch, or one that yields no usable
// key, keeps the last good set; with no set at all the issuer's tokens get ErrUnavailable.
type remoteKeys struct {
	issuer    string
	jwksURL   string // configured jwks_url; empty with discovery
	discovery bool
	allowed   []string
	client    *http.Client
	timeout   time.Duration
	maxBytes  int64
	interval  time.Duration
	rateLimit time.Duration
	now       func() time.Time
	log       *slog.Logger
	// life is the Verifier's lifetime, cancelled by Close. Fetches run under it rather than
	// under the request that asked for them, because other requests share the result.
	life context.Context

	// onRemoved is told the ids of keys a refresh dropped; set before the first fetch.
	onRemoved func(kids []string)

	set     atomic.Pointer[keySet]
	flights singleflight.Group
	fetches atomic.Uint64

	mu          sync.Mutex
	lastAttempt time.Time
	lastSuccess time.Time
	lastErr     error
	discovered  string // jwks_uri from the last successful discovery
}

func newRemoteKeys(life context.Context, cfg config.Issuer, client *http.Client, now func() time.Time, log *slog.Logger) *remoteKeys {
	return &remoteKeys{
		issuer:    cfg.Issuer,
		jwksURL:   cfg.JWKSURL,
		discovery: cfg.Discovery,
		allowed:   cfg.Algorithms,
		client:    client,
		timeout:   cfg.FetchTimeout,
		maxBytes:  cfg.MaxJWKSBytes,
		interval:  cfg.RefreshInterval,
		rateLimit: cfg.RefreshRateLimit,
		now:       now,
		log:       log.With("issuer", cfg.Issuer),
		life:      life,
	}
}

func (r *remoteKeys) current() *keySet { return r.set.Load() }

func (r *remoteKeys) kind() string {
	if r.discovery {
		return "discovery"
	}
	return "jwks_url"
}

// keys returns the set to verify a token naming kid with. A kid the set lacks triggers a
// refresh (rate limited, shared, bounded by ctx); the caller's lookup then decides. A token
// without kid never triggers one: refetching cannot tell which key it means.
func (r *remoteKeys) keys(ctx context.Context, kid string) (*keySet, error) {
	set := r.set.Load()
	if set != nil && (kid == "" || set.knows(kid)) {
		return set, nil
	}
	err := r.refresh(ctx, false)
	if set = r.set.Load(); set != nil {
		return set, nil
	}
	if err == nil || errors.Is(err, errRateLimited) {
		err = r.lastError()
	}
	return nil, fmt.Errorf("%w: no keys for issuer %s yet: %w", ErrUnavailable, r.issuer, err)
}

// refresh fetches the key set, joining a fetch already in flight. Unless forced (the schedule),
// it fetches only when the last attempt is at least refresh_rate_limit old. It returns when the
// fetch ends or ctx does, whichever is first; the fetch itself is bounded by fetch_timeout.
func (r *remoteKeys) refresh(ctx context.Context, forced bool) error {
	ch := r.flights.DoChan("keys", func() (any, error) { return nil, r.fetchIfDue(forced) })
	select {
	case res := <-ch:
		return res.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetchIfDue runs inside the single flight, so the rate-limit decision and the fetch it allows
// are one step: an asker arriving after a fetch ended starts a new flight and is refused here.
func (r *remoteKeys) fetchIfDue(forced bool) error {
	now := r.now()
	r.mu.Lock()
	if !forced && !r.lastAttempt.IsZero() && now.Sub(r.lastAttempt) < r.rateLimit {
		r.mu.Unlock()
		return errRateLimited
	}
	r.lastAttempt = now
	r.mu.Unlock()

	ctx, cancel := context.WithTimeout(r.life, r.timeout)
	defer cancel()
	r.fetches.Add(1)
	set, err := r.fetch(ctx, forced)
	r.mu.Lock()
	if err != nil {
		r.lastErr = err
		r.mu.Unlock()
		switch {
		case r.life.Err() != nil: // closing: not worth a log line
		case r.set.Load() == nil:
			r.log.Error("no signing keys: this issuer's tokens get 503 until a fetch succeeds", "error", err)
		default:
			r.log.Warn("key set refresh failed; keeping the last good keys", "error", err)
		}
		return err
	}
	r.lastErr, r.lastSuccess = nil, r.now()
	r.mu.Unlock()
	old := r.set.Swap(set)
	r.log.Debug("key set refreshed", "key_ids", set.ids())
	if removed := old.missingFrom(set); len(removed) > 0 && r.onRemoved != nil {
		r.onRemoved(removed)
	}
	return nil
}

// fetch downloads and parses the key set. With discovery, the scheduled (forced) refreshes
// rediscover the jwks_uri, since an IdP may move it; on-demand refreshes reuse the last one, so
// an unknown kid costs one request, not two.
func (r *remoteKeys) fetch(ctx context.Context, rediscover bool) (*keySet, error) {
	jwksURL, err := r.jwksLocation(ctx, rediscover)
	if err != nil {
		return nil, err
	}
	body, err := getJSON(ctx, r.client, jwksURL, r.maxBytes)
	if err != nil {
		return nil, fmt.Errorf("JWKS %s: %w", redact.URL(jwksURL), err)
	}
	parsed, err := parseJWKS(body, r.allowed)
	if err != nil {
		return nil, fmt.Errorf("JWKS %s: %w", redact.URL(jwksURL), err)
	}
	for _, refused := range parsed.refused {
		r.log.Warn("refusing a published key", "jwks_url", redact.URL(jwksURL), "error", refused)
	}
	set, err := newKeySet(parsed.keys)
	if err != nil {
		return nil, fmt.Errorf("JWKS %s: %w", redact.URL(jwksURL), err)
	}
	return set, nil
}

func (r *remoteKeys) jwksLocation(ctx context.Context, rediscover bool) (string, error) {
	if !r.discovery {
		return r.jwksURL, nil
	}
	r.mu.Lock()
	known := r.discovered
	r.mu.Unlock()
	if known != "" && !rediscover {
		return known, nil
	}
	found, err := discoverJWKS(ctx, r.client, r.issuer, r.maxBytes)
	if err != nil {
		if known != "" && !errors.Is(err, errIssuerMismatch) {
			r.log.Warn("rediscovery failed; using the last jwks_uri", "error", err)
			return known, nil
		}
		return "", err
	}
	r.mu.Lock()
	r.discovered = found
	r.mu.Unlock()
	return found, nil
}

// run keeps the key set fresh until ctx ends: a fetch at once, then one every refresh_interval;
// after a failure the next try comes after refresh_rate_limit, doubling up to refresh_interval.
func (r *remoteKeys) run(ctx context.Context) {
	delay := time.Duration(0)
	backoff := r.rateLimit
	for {
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		err := r.refresh(ctx, true)
		switch {
		case err == nil:
			delay, backoff = r.interval, r.rateLimit
		case errors.Is(err, errRateLimited):
			delay = r.rateLimit
		default:
			delay, backoff = backoff, min(2*backoff, r.interval)
		}
	}
}

func (r *remoteKeys) lastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastErr == nil {
		return errors.New("no fetch has completed")
	}
	return r.lastErr
}

// describe adds the remote source's state to an issuer's status.
func (r *remoteKeys) describe(st *IssuerStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st.JWKSURL = redact.URL(r.jwksURL)
	if r.discovery {
		st.JWKSURL = redact.URL(r.discovered)
	}
	if !r.lastSuccess.IsZero() {
		t := r.lastSuccess
		st.LastRefresh = &t
	}
	if r.lastErr != nil {
		st.LastError = r.lastErr.Error()
	}
	st.Fetches = r.fetches.Load()
}

// CheckKeySets fetches every remote key set now (jwks_url, and discovery's metadata then its
// jwks_uri), each within its fetch_timeout, and reports every issuer whose keys cannot be had
// under its place in the configuration. It is for `verdict check-config --online`; serving
// never waits for it.
func (v *Verifier) CheckKeySets(ctx context.Context) error {
	var errs []error
	for i, name := range v.order {
		r, ok := v.issuers[name].keys.(*remoteKeys)
		if !ok {
			continue
		}
		fctx, cancel := context.WithTimeout(ctx, r.timeout)
		_, err := r.fetch(fctx, true)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("tokens.issuers[%d] (%s): keys: %w", i, name, err))
		}
	}
	return errors.Join(errs...)
}

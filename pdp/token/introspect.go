package token

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	lru "github.com/hashicorp/golang-lru/v2"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/singleflight"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/redact"
	"github.com/verdict-pdp/verdict/pdp/strictjson"
)

// inactiveCacheSize bounds the cache of inactive introspection answers. It is separate from the
// verified-token cache so that a stream of garbage tokens evicts only other garbage.
const inactiveCacheSize = 4096

// introspector verifies opaque tokens with RFC 7662 token introspection. Concurrent requests for
// one token share one call; the answer's active, token_type, iss, aud, exp, nbf and iat are
// checked here, with the Verifier's clock, whatever the authorization server concluded.
type introspector struct {
	endpoint     string
	clientID     string
	clientSecret string
	issuer       string
	audiences    []string
	claims       map[string]string
	ttl          time.Duration
	timeout      time.Duration
	leeway       time.Duration
	maxBytes     int64
	client       *http.Client
	rt           verifierEnv

	flights  singleflight.Group
	inactive *inactiveCache
	// slots holds one token per call in flight, at most max_concurrent.
	slots chan struct{}

	calls, failures, shared atomic.Uint64
}

// IntrospectionStats are the introspection counters since the Verifier was built.
type IntrospectionStats struct {
	// Calls counts requests sent to the introspection endpoint; Failures those that ended
	// without a usable answer (transport error, status other than 200, not JSON).
	Calls    uint64 `json:"calls"`
	Failures uint64 `json:"failures"`
	// Shared counts verifications that waited on a call another request had started.
	Shared uint64 `json:"shared"`
	// InactiveHits counts tokens refused from the inactive cache; InactiveEntries is its size.
	InactiveHits    uint64 `json:"inactive_hits"`
	InactiveEntries int    `json:"inactive_entries"`
}

func newIntrospector(cfg config.Introspection, rt verifierEnv) (*introspector, error) {
	if err := checkHTTPURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("client_id: must be set")
	}
	ttl := config.ValueOr(cfg.CacheTTL, config.DefaultIntrospectionTTL)
	inactiveTTL := config.ValueOr(cfg.InactiveCacheTTL, config.DefaultInactiveCacheTTL)
	if cfg.Timeout <= 0 || cfg.MaxResponseBytes <= 0 || cfg.MaxConcurrent <= 0 || ttl < 0 || inactiveTTL < 0 {
		return nil, errors.New("timeout, max_response_bytes and max_concurrent must be positive, cache TTLs not negative")
	}
	if plainHTTP(cfg.URL) {
		rt.log.Warn("INSECURE: introspection over plain http sends the client secret and every opaque token in clear text",
			"url", redact.URL(cfg.URL))
	}
	inactive, err := newInactiveCache(inactiveTTL)
	if err != nil {
		return nil, err
	}
	claims := cfg.Claims
	if claims == nil {
		claims = config.DefaultClaims()
	}
	rt.log.Info("token introspection ready", "url", redact.URL(cfg.URL), "issuer", cfg.Issuer, "audiences", cfg.Audiences)
	return &introspector{
		endpoint: cfg.URL, clientID: cfg.ClientID, clientSecret: cfg.ClientSecret,
		issuer: cfg.Issuer, audiences: cfg.Audiences, claims: claims,
		ttl: ttl, timeout: cfg.Timeout, leeway: config.ValueOr(cfg.Leeway, config.DefaultLeeway), maxBytes: cfg.MaxResponseBytes,
		client: noRedirects(rt.client), rt: rt, inactive: inactive,
		slots: make(chan struct{}, cfg.MaxConcurrent),
	}, nil
}

// introspected is one active answer: the principal and when its cache entry ends.
type introspected struct {
	principal *Principal
	until     time.Time
}

// verify returns the principal of an opaque token and how long it may be cached. key is the
// token's cache key, which also names its shared call. ctx bounds only this caller's wait: the
// call runs under the Verifier's lifetime and the introspection timeout, for every sharer.
func (in *introspector) verify(ctx context.Context, key cacheKey, raw string) (*Principal, time.Time, error) {
	if err, ok := in.inactive.get(key, in.rt.now()); ok {
		return nil, time.Time{}, err
	}
	// The call is traced under the span of the caller that starts it, not bound to its context.
	caller := trace.SpanContextFromContext(ctx)
	ch := in.flights.DoChan(string(key[:]), func() (any, error) { return in.introspect(caller, key, raw) })
	var res singleflight.Result
	select {
	case res = <-ch:
	case <-ctx.Done():
		return nil, time.Time{}, fmt.Errorf("%w: introspection: %w", ErrUnavailable, ctx.Err())
	}
	if res.Shared {
		in.shared.Add(1)
	}
	if res.Err != nil {
		return nil, time.Time{}, res.Err
	}
	r := res.Val.(*introspected)
	return r.principal, r.until, nil
}

// introspect makes the call and judges the answer. It runs once per shared flight, under
// caller's span when it has one.
func (in *introspector) introspect(caller trace.SpanContext, key cacheKey, raw string) (*introspected, error) {
	life := in.rt.life
	if caller.IsValid() {
		life = trace.ContextWithSpanContext(life, caller)
	}
	ctx, cancel := context.WithTimeout(life, in.timeout)
	defer cancel()
	// A call waits for a free slot within its own timeout; one that finds none is unavailable
	// (503), like a call that times out.
	select {
	case in.slots <- struct{}{}:
		defer func() { <-in.slots }()
	case <-ctx.Done():
		in.failures.Add(1)
		return nil, fmt.Errorf("%w: introspection: %d calls already in flight", ErrUnavailable, cap(in.slots))
	}
	in.calls.Add(1)
	doc, err := in.call(ctx, raw)
	if err != nil {
		in.failures.Add(1)
		in.rt.log.Warn("token introspection failed", "url", redact.URL(in.endpoint), "error", err)
		return nil, fmt.Errorf("%w: introspection: %w", ErrUnavailable, err)
	}
	now := in.rt.now()
	p, until, err := in.check(doc, now)
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrInvalidToken, err)
		in.inactive.add(key, err, now)
		return nil, err
	}
	return &introspected{principal: p, until: until}, nil
}

// call posts the token (RFC 7662 §2.1) with client_secret_basic authentication, whose id and
// secret are form-urlencoded before base64 (RFC 6749 §2.3.1), and decodes the answer: status 200,
// Content-Type application/json, at most max_response_bytes, one JSON object with no duplicate
// members and numbers kept as json.Number.
func (in *introspector) call(ctx context.Context, raw string) (map[string]any, error) {
	form := url.Values{"token": {raw}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(in.clientID), url.QueryEscape(in.clientSecret))
	resp, err := in.client.Do(req)
	if err != nil {
		return nil, redact.TransportError(err)
	}
	defer resp.Body.Close()
	body, err := readCapped(resp.Body, in.maxBytes)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{code: resp.StatusCode}
	}
	if ct := resp.Header.Get("Content-Type"); !isJSONContentType(ct) {
		return nil, fmt.Errorf("Content-Type %q, want application/json", truncate(ct, 80))
	}
	return decodeIntrospection(body)
}

func decodeIntrospection(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("response is not a JSON object: %w", err)
	}
	if doc == nil {
		return nil, errors.New("response is not a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("response has data after the JSON object")
	}
	if err := strictjson.Check(body, nil); err != nil {
		return nil, fmt.Errorf("response: %w", err)
	}
	return doc, nil
}

// accessTokenTypes are the token_type values that describe an access token presented as a
// bearer token: the RFC 6749 §7.1 type and the names some servers use instead.
var accessTokenTypes = []string{"bearer", "access_token", "urn:ietf:params:oauth:token-type:access_token"}

// check judges an introspection answer at now and builds the principal. Only the JSON value
// true makes a token active (a string "true" does not).
func (in *introspector) check(doc map[string]any, now time.Time) (*Principal, time.Time, error) {
	if active, _ := doc["active"].(bool); !active {
		return nil, time.Time{}, ErrInactive
	}
	if tt, ok := doc["token_type"]; ok {
		s, _ := tt.(string)
		if !slices.ContainsFunc(accessTokenTypes, func(t string) bool { return strings.EqualFold(t, s) }) {
			return nil, time.Time{}, fmt.Errorf("%w: token_type %q is not an access token", ErrType, truncate(s, 40))
		}
	}
	if err := checkStringClaims(doc, "iss", "sub", "jti", "client_id", "username"); err != nil {
		return nil, time.Time{}, err
	}
	iss, _ := doc["iss"].(string)
	if in.issuer != "" && iss != in.issuer {
		return nil, time.Time{}, fmt.Errorf("%w: iss %q", jwt.ErrTokenInvalidIssuer, truncate(iss, 100))
	}
	if len(in.audiences) > 0 && !audienceMatches(doc["aud"], in.audiences) {
		return nil, time.Time{}, jwt.ErrTokenInvalidAudience
	}
	times, err := in.checkTimes(doc, now)
	if err != nil {
		return nil, time.Time{}, err
	}
	if iss == "" {
		iss = in.issuer
	}
	p := &Principal{
		Kind: "opaque", Issuer: iss, Claims: doc, Properties: mapClaims(doc, in.claims),
		ExpiresAt: times.exp, IssuedAt: times.iat,
	}
	p.Subject, _ = doc["sub"].(string)
	p.TokenID, _ = doc["jti"].(string)
	until := now.Add(in.ttl)
	if !times.exp.IsZero() && times.exp.Before(until) {
		until = times.exp
	}
	return p, until, nil
}

type answerTimes struct{ exp, iat time.Time }

// checkTimes checks exp, nbf and iat where present: within MinTime to MaxTime, and against now
// with the configured leeway.
func (in *introspector) checkTimes(doc map[string]any, now time.Time) (answerTimes, error) {
	var t answerTimes
	var nbf time.Time
	fields := []struct {
		name string
		into *time.Time
	}{{"exp", &t.exp}, {"nbf", &nbf}, {"iat", &t.iat}}
	for _, f := range fields {
		v, ok := doc[f.name]
		if !ok {
			continue
		}
		when, ok := numericDate(v)
		if !ok {
			return t, fmt.Errorf("%w: %s is not a NumericDate", ErrClaim, f.name)
		}
		if err := CheckTime(f.name, when); err != nil {
			return t, fmt.Errorf("%w: %w", ErrClaim, err)
		}
		*f.into = when
	}
	switch {
	case !t.exp.IsZero() && !now.Before(t.exp.Add(in.leeway)):
		return t, jwt.ErrTokenExpired
	case !nbf.IsZero() && now.Add(in.leeway).Before(nbf):
		return t, jwt.ErrTokenNotValidYet
	case !t.iat.IsZero() && now.Add(in.leeway).Before(t.iat):
		return t, jwt.ErrTokenUsedBeforeIssued
	}
	return t, nil
}

// numericDate reads a JSON number of seconds since the epoch (RFC 7519 NumericDate).
func numericDate(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return TimeOfSeconds(f), true
}

// audienceMatches reports whether aud, a string or an array of strings, names one of want.
func audienceMatches(aud any, want []string) bool {
	switch a := aud.(type) {
	case string:
		return slices.Contains(want, a)
	case []any:
		return slices.ContainsFunc(a, func(e any) bool {
			s, ok := e.(string)
			return ok && slices.Contains(want, s)
		})
	}
	return false
}

func (in *introspector) stats() IntrospectionStats {
	hits, entries := in.inactive.stats()
	return IntrospectionStats{
		Calls: in.calls.Load(), Failures: in.failures.Load(), Shared: in.shared.Load(),
		InactiveHits: hits, InactiveEntries: entries,
	}
}

// inactiveCache remembers refused introspection answers for a few seconds, so a client retrying
// a dead token does not cost a call each time. A nil *inactiveCache caches nothing.
type inactiveCache struct {
	lru  *lru.Cache[cacheKey, inactiveEntry]
	ttl  time.Duration
	hits atomic.Uint64
}

type inactiveEntry struct {
	err   error
	until time.Time
}

func newInactiveCache(ttl time.Duration) (*inactiveCache, error) {
	if ttl <= 0 {
		return nil, nil
	}
	c, err := lru.New[cacheKey, inactiveEntry](inactiveCacheSize)
	if err != nil {
		return nil, fmt.Errorf("inactive-token cache: %w", err)
	}
	return &inactiveCache{lru: c, ttl: ttl}, nil
}

func (c *inactiveCache) get(key cacheKey, now time.Time) (error, bool) {
	if c == nil {
		return nil, false
	}
	e, ok := c.lru.Get(key)
	if !ok {
		return nil, false
	}
	if !now.Before(e.until) {
		c.lru.Remove(key)
		return nil, false
	}
	c.hits.Add(1)
	return e.err, true
}

func (c *inactiveCache) add(key cacheKey, err error, now time.Time) {
	if c != nil {
		c.lru.Add(key, inactiveEntry{err: err, until: now.Add(c.ttl)})
	}
}

func (c *inactiveCache) stats() (hits uint64, entries int) {
	if c == nil {
		return 0, 0
	}
	return c.hits.Load(), c.lru.Len()
}

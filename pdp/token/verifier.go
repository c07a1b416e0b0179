package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/outbound"
	"github.com/verdict-pdp/verdict/pdp/tracing"
)

// RevocationChecker answers whether a verified token has been revoked. The Verifier asks it on
// every request, cache hits included; an error means the answer is unknown and the token is
// refused with ErrUnavailable (fail closed; a store that prefers availability says false).
type RevocationChecker interface {
	// Revoked reports whether the verified token p describes has been revoked, by its issuer
	// and jti or by a not-before for its subject.
	Revoked(ctx context.Context, p *Principal) (bool, error)
}

// Deps are the Verifier's collaborators. Every field is optional.
type Deps struct {
	// Logger receives load-time warnings and revocation-store failures; nil discards.
	Logger *slog.Logger
	// Now is the clock for exp, nbf, iat and cache expiry; nil means time.Now.
	Now func() time.Time
	// Revocation is consulted for every verified token; nil means no revocation.
	Revocation RevocationChecker
	// HTTPClient fetches key sets and discovery documents and calls the introspection
	// endpoint; nil means a client on the default transport that refuses https-to-http
	// redirects. Every call carries its own deadline (fetch_timeout, introspection timeout).
	HTTPClient *http.Client
	// Registry receives verdict_token_verifications_total; nil counts without exposing it.
	Registry prometheus.Registerer
	// TracerProvider traces verifications and revocation checks; nil or a no-op one is off.
	TracerProvider trace.TracerProvider
}

// verifierEnv is what the Verifier shares with its issuers and introspector.
type verifierEnv struct {
	// life ends when the Verifier is closed; background fetches and shared calls run under it.
	life   context.Context
	client *http.Client
	now    func() time.Time
	log    *slog.Logger
}

// Verifier verifies access tokens: JWTs against the configured issuers, opaque tokens through
// introspection, and caches the verified ones. It is safe for concurrent use; build a new one to
// change configuration, and Close it to stop its background key refreshes.
type Verifier struct {
	issuers       map[string]*issuer
	order         []string
	introspection *introspector
	cache         *verifiedCache
	maxBytes      int
	now           func() time.Time
	log           *slog.Logger
	revocation    RevocationChecker
	tracer        tracing.Tracer
	verifications verifications

	stop    context.CancelFunc
	running sync.WaitGroup
}

// Stats describe a Verifier for /v1/status and metrics.
type Stats struct {
	// Cache are the verified-token cache's counters.
	Cache CacheStats `json:"cache"`
	// Issuers describe the configured issuers, in configuration order.
	Issuers []IssuerStats `json:"issuers"`
	// Introspection are the introspection counters, nil when it is not configured.
	Introspection *IntrospectionStats `json:"introspection,omitempty"`
}

// IssuerStats describe one issuer's key set.
type IssuerStats struct {
	// Issuer is the issuer identifier (iss).
	Issuer string `json:"issuer"`
	// Source is jwks_file, public_keys, jwks_url or discovery.
	Source string `json:"source"`
	// KeyIDs are the usable keys' ids (RFC 7638 thumbprints for keys that declare none); empty
	// while a remote source has fetched no usable set.
	KeyIDs []string `json:"key_ids"`
	// JWKSURL is where a remote source fetches keys (the discovered jwks_uri with discovery).
	JWKSURL string `json:"jwks_url,omitempty"`
	// LastRefresh is when a remote source last fetched a usable set.
	LastRefresh *time.Time `json:"last_refresh,omitempty"`
	// LastError is why the last fetch of a remote source failed, empty after a success.
	LastError string `json:"last_error,omitempty"`
	// Fetches counts a remote source's fetch attempts.
	Fetches uint64 `json:"fetches,omitempty"`
}

// New builds a Verifier from the tokens section of the configuration, defaults already applied.
// It loads every issuer's file keys now and fails on any issuer it cannot use: no audience, an
// algorithm outside the asymmetric allow-list, an unreadable or empty key set, a key refused by
// policy (RSA under 2048 bits, private material, an alg that does not fit the key). Remote key
// sets (jwks_url, discovery) start fetching in the background: an IdP that is down does not fail
// New, its tokens get ErrUnavailable until keys arrive.
func New(cfg config.Tokens, deps Deps) (*Verifier, error) {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.HTTPClient == nil {
		deps.HTTPClient = outbound.NewClient()
	}
	if cfg.CacheSize <= 0 || cfg.CacheMaxBytes <= 0 {
		return nil, errors.New("tokens.cache_size and tokens.cache_max_bytes: must be positive")
	}
	if cfg.MaxTokenBytes <= 0 {
		return nil, errors.New("tokens.max_token_bytes: must be positive")
	}
	cache, err := newVerifiedCache(cfg.CacheSize, cfg.CacheMaxBytes)
	if err != nil {
		return nil, err
	}
	life, stop := context.WithCancel(context.Background())
	rt := verifierEnv{life: life, client: deps.HTTPClient, now: deps.Now, log: deps.Logger}
	v := &Verifier{
		issuers:    make(map[string]*issuer, len(cfg.Issuers)),
		cache:      cache,
		maxBytes:   cfg.MaxTokenBytes,
		now:        deps.Now,
		log:        deps.Logger,
		revocation: deps.Revocation,
		tracer:     tracing.NewTracer(deps.TracerProvider, "github.com/verdict-pdp/verdict/pdp/token"),
		stop:       stop,
	}
	if err := v.addIssuers(cfg.Issuers, rt); err != nil {
		stop()
		return nil, err
	}
	if cfg.Introspection != nil {
		if v.introspection, err = newIntrospector(*cfg.Introspection, rt); err != nil {
			stop()
			return nil, fmt.Errorf("tokens.introspection: %w", err)
		}
	}
	if v.verifications, err = newVerifications(deps.Registry, v.knownIssuers()); err != nil {
		stop()
		return nil, err
	}
	for _, name := range v.order {
		if remote, ok := v.issuers[name].keys.(*remoteKeys); ok {
			remote.onRemoved = func(kids []string) { v.forgetKeys(name, kids) }
			v.running.Add(1)
			go func() {
				defer v.running.Done()
				remote.run(life)
			}()
		}
	}
	return v, nil
}

func (v *Verifier) addIssuers(issuers []config.Issuer, rt verifierEnv) error {
	for i, ic := range issuers {
		is, err := newIssuer(ic, rt)
		if err != nil {
			return fmt.Errorf("tokens.issuers[%d] (%s): %w", i, ic.Issuer, err)
		}
		if _, dup := v.issuers[is.name]; dup {
			return fmt.Errorf("tokens.issuers[%d]: issuer %q is configured twice", i, is.name)
		}
		v.issuers[is.name] = is
		v.order = append(v.order, is.name)
		v.log.Info("token issuer ready", "issuer", is.name, "source", is.keys.kind(),
			"algorithms", ic.Algorithms, "audiences", ic.Audiences, "require_typ", is.requireTyp)
	}
	return nil
}

// Close stops the background key refreshes and cancels fetches and introspection calls in
// flight, then waits for the refresh loops to end. Verify keeps working on the keys in hand.
func (v *Verifier) Close() error {
	v.stop()
	v.running.Wait()
	return nil
}

// Verify checks raw, a bearer token as BearerToken returns it, and returns its Principal. A
// JWS compact serialization (three dot-separated segments) is verified as a JWT; anything else
// goes to introspection when it is configured and is refused otherwise. There is no fallback
// between the two: a malformed JWT is never introspected, an opaque token never parsed as a JWT.
// Every error wraps ErrInvalidToken (refused) or ErrUnavailable (could not be checked) and a
// finer reason. A verified token is served from the cache until its exp (for introspection, at
// most cache_ttl), but revocation is checked every time. Each call is counted by issuer and
// result (verdict_token_verifications_total) and, with tracing on, is a span.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Principal, error) {
	ctx, span := v.tracer.Start(ctx, "verdict.token.verify", trace.SpanKindInternal)
	p, hit, err := v.verifyOnce(ctx, raw)
	v.observe(span, raw, p, hit, err)
	return p, err
}

// verifyOnce is Verify uncounted; hit says the token was found in the cache.
func (v *Verifier) verifyOnce(ctx context.Context, raw string) (p *Principal, hit bool, err error) {
	if len(raw) > v.maxBytes {
		return nil, false, fmt.Errorf("%w: %w", ErrInvalidToken, ErrTokenTooLarge)
	}
	key := keyOf(raw)
	p, hit = v.cache.get(key, v.now())
	if !hit {
		var until time.Time
		switch {
		case isCompactJWS(raw):
			p, err = v.verify(ctx, raw)
			if p != nil {
				until = p.ExpiresAt
			}
		case v.introspection != nil:
			p, until, err = v.introspection.verify(ctx, key, raw)
		default:
			err = fmt.Errorf("%w: %w: not a JWS compact serialization, and no introspection is configured", ErrInvalidToken, ErrMalformed)
		}
		if err != nil {
			return nil, false, err
		}
		v.cache.add(key, p, until, v.now())
	}
	if err := v.checkRevoked(ctx, p); err != nil {
		if errors.Is(err, ErrRevoked) {
			v.cache.remove(key)
		}
		return nil, hit, err
	}
	return p, hit, nil
}

// isCompactJWS reports whether raw has the shape of a JWS compact serialization: three
// segments. Only the shape routes; whether the segments decode is the JWT path's business.
func isCompactJWS(raw string) bool { return strings.Count(raw, ".") == 2 }

// verify is the uncached JWT path: route by the unverified iss, then verify with that issuer only.
func (v *Verifier) verify(ctx context.Context, raw string) (*Principal, error) {
	u, err := peek(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	is, ok := v.issuers[u.iss]
	if !ok {
		return nil, fmt.Errorf("%w: %w: %q", ErrInvalidToken, ErrUnknownIssuer, truncate(u.iss, 100))
	}
	claims, kid, err := is.verify(ctx, raw, u)
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return is.principal(claims, kid), nil
}

func (v *Verifier) checkRevoked(ctx context.Context, p *Principal) error {
	if v.revocation == nil {
		return nil
	}
	ctx, span := v.tracer.Start(ctx, "verdict.token.revocation_check", trace.SpanKindInternal)
	defer span.End()
	revoked, err := v.revocation.Revoked(ctx, p)
	if err != nil {
		tracing.Fail(span, "unavailable")
		v.log.Warn("revocation check failed; refusing token", "issuer", p.Issuer, "error", err)
		return fmt.Errorf("%w: revocation check: %w", ErrUnavailable, err)
	}
	if revoked {
		if span.IsRecording() {
			span.SetAttributes(attribute.Bool("verdict.token.revoked", true))
		}
		return fmt.Errorf("%w: %w", ErrInvalidToken, ErrRevoked)
	}
	return nil
}

// Stats reports the cache counters, each issuer's current key set and the introspection
// counters. It never fetches keys.
func (v *Verifier) Stats() Stats {
	st := Stats{Cache: v.cache.stats(), Issuers: make([]IssuerStats, 0, len(v.order))}
	for _, name := range v.order {
		st.Issuers = append(st.Issuers, v.issuers[name].describe())
	}
	if v.introspection != nil {
		in := v.introspection.stats()
		st.Introspection = &in
	}
	return st
}

package revocation

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/verdict-pdp/verdict/pdp/token"
)

// Errors of the revocation store.
var (
	// ErrUnavailable means the backend could not be read or written (Redis down, file closed).
	// Callers answer 503; the Verifier turns a failed check into token.ErrUnavailable.
	ErrUnavailable = errors.New("revocation store unavailable")
	// ErrInvalid means a revocation was asked for without the fields it needs, or with a time
	// outside token.MinTime to token.MaxTime. Its text says which and is meant for the caller.
	ErrInvalid = errors.New("invalid revocation")
	// ErrDamaged means the store's file exists but cannot be read whole: empty, truncated, or
	// with damaged pages. Open refuses it rather than start without the revocations it held.
	ErrDamaged = errors.New("revocation store file is damaged")
	// ErrInUse means another process holds the store's file (bbolt's lock): most often a second
	// server started on the same data directory. Open fails at once rather than wait for it.
	ErrInUse = errors.New("revocation store file is in use by another process")
)

// Record is one revocation as the store keeps it.
type Record struct {
	// Issuer is the iss of the revoked tokens.
	Issuer string `json:"iss"`
	// TokenID is the jti of the one revoked token; empty for a subject revocation.
	TokenID string `json:"jti,omitempty"`
	// Subject is the sub whose earlier tokens are revoked; empty for a token revocation.
	Subject string `json:"sub,omitempty"`
	// NotBefore, for a subject revocation, is the instant before which the subject's tokens
	// were issued (iat) are refused.
	NotBefore time.Time `json:"not_before,omitzero"`
	// Expires is when the record is dropped: no token it matches can be accepted after it.
	Expires time.Time `json:"expires_at"`
}

// issuedBefore reports whether p was issued before notBefore. A token without iat cannot show
// that it is newer, so it counts as issued before (fail closed).
func issuedBefore(p *token.Principal, notBefore time.Time) bool {
	return !notBefore.IsZero() && p.IssuedAt.Before(notBefore)
}

// Deps are a Store's collaborators. Every field is optional.
type Deps struct {
	// Logger receives store failures and, with on_store_error allow, one warning per token
	// served unchecked; nil discards.
	Logger *slog.Logger
	// Now is the clock for record expiry; nil means time.Now. Redis expires keys on its own
	// clock from the TTL computed with it.
	Now func() time.Time
	// Registry receives the store's metrics; nil registers none.
	Registry prometheus.Registerer
}

// lookup is what a backend found for one token: whether its jti is listed and the subject's
// not-before (zero when none).
type lookup struct {
	tokenRevoked bool
	notBefore    time.Time
}

// backend is what differs between the file and the Redis store. Keys are already digested;
// records arrive with their defaults applied.
type backend interface {
	putToken(ctx context.Context, r Record, now time.Time) error
	putSubject(ctx context.Context, r Record, now time.Time) error
	// get looks up the token key (nil when the token has no jti) and the subject key.
	get(ctx context.Context, tokenKey *digest, subjectKey digest, now time.Time) (lookup, error)
	close() error
}

// Store records revocations and checks tokens against them. It is safe for concurrent use.
type Store struct {
	cfg     Config
	b       backend
	now     func() time.Time
	log     *slog.Logger
	metrics *metrics
}

var _ token.RevocationChecker = (*Store)(nil)

// Open opens the store cfg names: the bbolt file at cfg.Path (its directory created 0700) or the
// Redis server at cfg.RedisURL. A Redis server that does not answer yet is logged, not fatal:
// the client reconnects, and until then checks fail as on_store_error says. Close the Store when
// done.
func Open(ctx context.Context, cfg Config, deps Deps) (*Store, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	m, err := newMetrics(deps.Registry)
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, now: deps.Now, log: deps.Logger, metrics: m}
	switch cfg.Store {
	case StoreFile:
		s.b, err = openFile(cfg, deps.Now, deps.Logger)
	case StoreRedis:
		s.b, err = openRedis(ctx, cfg, deps.Logger)
	}
	if err != nil {
		return nil, err
	}
	s.log.Info("revocation store open", "store", cfg.Store, "on_store_error", cfg.OnStoreError,
		"retention", cfg.Retention.String())
	return s, nil
}

// RevokeToken revokes the token (iss, jti) until exp plus the leeway the verifier grants; a zero
// exp (unknown) keeps the record for the retention period. An exp outside token.MinTime to
// token.MaxTime is refused (ErrInvalid). Revoking again keeps the later expiry: a revocation
// only ever grows.
func (s *Store) RevokeToken(ctx context.Context, iss, jti string, exp time.Time) (Record, error) {
	if iss == "" || jti == "" {
		return Record{}, fmt.Errorf("%w: iss and jti are required", ErrInvalid)
	}
	if !exp.IsZero() {
		if err := token.CheckTime("exp", exp); err != nil {
			return Record{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	now := s.now()
	r := Record{Issuer: iss, TokenID: jti, Expires: now.Add(s.cfg.Retention)}
	if !exp.IsZero() {
		r.Expires = exp.Add(s.cfg.Leeway)
	}
	return s.put(ctx, r, now, s.b.putToken)
}

// RevokeSubject revokes every token of (iss, sub) issued before notBefore, for the retention
// period, which outlasts any such token. A notBefore outside token.MinTime to token.MaxTime is
// refused (ErrInvalid). A later not-before replaces an earlier one, never the reverse:
// revocations only ever add.
func (s *Store) RevokeSubject(ctx context.Context, iss, sub string, notBefore time.Time) (Record, error) {
	if iss == "" || sub == "" || notBefore.IsZero() {
		return Record{}, fmt.Errorf("%w: iss, sub and not_before are required", ErrInvalid)
	}
	if err := token.CheckTime("not_before", notBefore); err != nil {
		return Record{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	now := s.now()
	r := Record{Issuer: iss, Subject: sub, NotBefore: notBefore, Expires: now.Add(s.cfg.Retention)}
	if later := notBefore.Add(s.cfg.Retention); later.After(r.Expires) {
		r.Expires = later
	}
	return s.put(ctx, r, now, s.b.putSubject)
}

func (s *Store) put(ctx context.Context, r Record, now time.Time,
	write func(context.Context, Record, time.Time) error) (Record, error) {
	r.NotBefore, r.Expires = r.NotBefore.UTC(), r.Expires.UTC()
	// No token the verifier accepts expires after token.MaxTime, so no record needs to outlive
	// it (plus leeway); the cap keeps a long retention within what both backends can encode.
	if last := token.LatestTime().Add(s.cfg.Leeway); r.Expires.After(last) {
		r.Expires = last
	}
	if !r.Expires.After(now) {
		return r, nil // nothing it matches can still be accepted
	}
	if err := write(ctx, r, now); err != nil {
		s.metrics.errors.WithLabelValues(outcomeWrite).Inc()
		return Record{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	s.metrics.recorded.WithLabelValues(r.kind()).Inc()
	s.log.Info("revocation recorded", "kind", r.kind(), "issuer", r.Issuer, "jti", r.TokenID,
		"sub", r.Subject, "expires_at", r.Expires)
	return r, nil
}

func (r Record) kind() string {
	if r.TokenID != "" {
		return "token"
	}
	return "subject"
}

// Revoked reports whether p is revoked. A store failure is an error under on_store_error deny
// (the Verifier refuses the token with 503) and a logged, counted false under allow.
func (s *Store) Revoked(ctx context.Context, p *token.Principal) (bool, error) {
	var tk *digest
	if p.TokenID != "" {
		d := keyOf(p.Issuer, p.TokenID)
		tk = &d
	}
	found, err := s.b.get(ctx, tk, keyOf(p.Issuer, p.Subject), s.now())
	if err != nil {
		return s.onCheckError(ctx, p, err)
	}
	return found.tokenRevoked || issuedBefore(p, found.notBefore), nil
}

// onCheckError applies revocation.on_store_error. It is the only place that may let a token
// through unchecked, and it says so every time.
func (s *Store) onCheckError(ctx context.Context, p *token.Principal, err error) (bool, error) {
	err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	if s.cfg.OnStoreError != OnErrorAllow || ctx.Err() != nil {
		s.metrics.errors.WithLabelValues(outcomeCheckDenied).Inc()
		return false, err
	}
	s.metrics.errors.WithLabelValues(outcomeCheckAllowed).Inc()
	s.log.Warn("revocation store unreachable: serving a token without checking revocation (revocation.on_store_error: allow)",
		"store", s.cfg.Store, "issuer", p.Issuer, "error", err)
	return false, nil
}

// Close stops background work and closes the backend.
func (s *Store) Close() error { return s.b.close() }

// digest is the fixed-size key of an (issuer, id) pair: SHA-256 over the issuer, a NUL byte
// and the id. Issuers are configured URLs, so the NUL cannot be ambiguous; hashing bounds key
// size and keeps raw token ids out of the backend's key space.
type digest [sha256.Size]byte

func keyOf(iss, id string) digest {
	h := sha256.New()
	h.Write([]byte(iss))
	h.Write([]byte{0})
	h.Write([]byte(id))
	var d digest
	h.Sum(d[:0])
	return d
}

// Outcomes of a store failure: the outcome label of verdict_revocation_store_errors_total.
const (
	outcomeWrite        = "write"
	outcomeCheckDenied  = "check_denied"
	outcomeCheckAllowed = "check_allowed"
)

type metrics struct {
	recorded *prometheus.CounterVec
	errors   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		recorded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_revocations_recorded_total", Help: "Revocations recorded by this process, by kind (token or subject).",
		}, []string{"kind"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_revocation_store_errors_total",
			Help: "Revocation store failures by outcome: write, check_denied, or check_allowed (token served unchecked under on_store_error allow).",
		}, []string{"outcome"}),
	}
	// Every outcome is exported from the start at 0: an alert on increase() sees the first
	// failure, which a series born at 1 would hide.
	for _, o := range []string{outcomeWrite, outcomeCheckDenied, outcomeCheckAllowed} {
		m.errors.WithLabelValues(o)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.recorded, m.errors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("revocation metrics: %w", err)
		}
	}
	return m, nil
}

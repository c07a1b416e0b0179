package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/verdict-pdp/verdict/pdp/config"
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
}

// Verifier verifies JWT access tokens against the configured issuers and caches the verified
// ones. It is safe for concurrent use; build a new one to change configuration.
type Verifier struct {
	issuers    map[string]*issuer
	order      []string
	cache      *verifiedCache
	maxBytes   int
	now        func() time.Time
	log        *slog.Logger
	revocation RevocationChecker
}

// Stats describe a Verifier for /v1/status and metrics.
type Stats struct {
	// Cache are the verified-token cache's counters.
	Cache CacheStats `json:"cache"`
	// Issuers describe the configured issuers, in configuration order.
	Issuers []IssuerStats `json:"issuers"`
}

// IssuerStats describe one issuer's key set.
type IssuerStats struct {
	// Issuer is the issuer identifier (iss).
	Issuer string `json:"issuer"`
	// Source is jwks_file or public_keys.
	Source string `json:"source"`
	// KeyIDs are the usable keys' ids (RFC 7638 thumbprints for keys that declare none).
	KeyIDs []string `json:"key_ids"`
}

// New builds a Verifier from the tokens section of the configuration, defaults already applied.
// It loads every issuer's keys now and fails on any issuer it cannot use: no audience, an
// algorithm outside the asymmetric allow-list, an unreadable or empty key set, a key refused by
// policy (RSA under 2048 bits, private material, an alg that does not fit the key).
func New(cfg config.Tokens, deps Deps) (*Verifier, error) {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if cfg.CacheSize <= 0 {
		return nil, errors.New("tokens.cache_size: must be positive")
	}
	if cfg.MaxTokenBytes <= 0 {
		return nil, errors.New("tokens.max_token_bytes: must be positive")
	}
	cache, err := newVerifiedCache(cfg.CacheSize)
	if err != nil {
		return nil, err
	}
	v := &Verifier{
		issuers:    make(map[string]*issuer, len(cfg.Issuers)),
		cache:      cache,
		maxBytes:   cfg.MaxTokenBytes,
		now:        deps.Now,
		log:        deps.Logger,
		revocation: deps.Revocation,
	}
	for i, ic := range cfg.Issuers {
		is, err := newIssuer(ic, deps.Now, deps.Logger)
		if err != nil {
			return nil, fmt.Errorf("tokens.issuers[%d] (%s): %w", i, ic.Issuer, err)
		}
		if _, dup := v.issuers[is.name]; dup {
			return nil, fmt.Errorf("tokens.issuers[%d]: issuer %q is configured twice", i, is.name)
		}
		v.issuers[is.name] = is
		v.order = append(v.order, is.name)
		v.log.Info("token issuer ready", "issuer", is.name, "source", is.keys.kind(),
			"algorithms", ic.Algorithms, "audiences", ic.Audiences, "require_typ", is.requireTyp)
	}
	if cfg.Introspection != nil {
		v.log.Warn("tokens.introspection is not supported yet: opaque tokens are refused")
	}
	return v, nil
}

// Verify checks raw, a bearer token as BearerToken returns it, and returns its Principal. Every
// error wraps ErrInvalidToken (refused) or ErrUnavailable (could not be checked) and a finer
// reason. The same token string is served from the cache until its exp, but revocation is
// checked every time.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Principal, error) {
	if len(raw) > v.maxBytes {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, ErrTokenTooLarge)
	}
	key := keyOf(raw)
	p, hit := v.cache.get(key, v.now())
	if !hit {
		var err error
		if p, err = v.verify(ctx, raw); err != nil {
			return nil, err
		}
		v.cache.add(key, p, p.ExpiresAt, v.now())
	}
	if err := v.checkRevoked(ctx, p); err != nil {
		if errors.Is(err, ErrRevoked) {
			v.cache.remove(key)
		}
		return nil, err
	}
	return p, nil
}

// verify is the uncached path: route by the unverified iss, then verify with that issuer only.
func (v *Verifier) verify(ctx context.Context, raw string) (*Principal, error) {
	u, err := peek(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	is, ok := v.issuers[u.iss]
	if !ok {
		return nil, fmt.Errorf("%w: %w: %q", ErrInvalidToken, ErrUnknownIssuer, truncate(u.iss, 100))
	}
	claims, err := is.verify(ctx, raw, u)
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return is.principal(claims), nil
}

func (v *Verifier) checkRevoked(ctx context.Context, p *Principal) error {
	if v.revocation == nil {
		return nil
	}
	revoked, err := v.revocation.Revoked(ctx, p)
	if err != nil {
		v.log.Warn("revocation check failed; refusing token", "issuer", p.Issuer, "error", err)
		return fmt.Errorf("%w: revocation check: %w", ErrUnavailable, err)
	}
	if revoked {
		return fmt.Errorf("%w: %w", ErrInvalidToken, ErrRevoked)
	}
	return nil
}

// Stats reports the cache counters and each issuer's current key set. It never fetches keys.
func (v *Verifier) Stats() Stats {
	st := Stats{Cache: v.cache.stats(), Issuers: make([]IssuerStats, 0, len(v.order))}
	for _, name := range v.order {
		st.Issuers = append(st.Issuers, v.issuers[name].describe())
	}
	return st
}

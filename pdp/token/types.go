package token

import (
	"errors"
	"sync/atomic"
	"time"
)

// Errors of token verification. Every rejection wraps exactly one of the first four, so callers
// map it to a status with errors.Is; the finer reasons below say why, for logs and tests. Failures
// found by golang-jwt (signature, exp, nbf, iat, aud) also wrap its sentinels, such as
// jwt.ErrTokenExpired.
var (
	// ErrNoCredentials means the request carried no bearer token (401, no error code).
	ErrNoCredentials = errors.New("no bearer token")
	// ErrInvalidRequest means the credentials were malformed (400 invalid_request), such as two
	// Authorization headers.
	ErrInvalidRequest = errors.New("malformed credentials")
	// ErrInvalidToken means the token was refused (401 invalid_token).
	ErrInvalidToken = errors.New("invalid token")
	// ErrUnavailable means the token could not be checked: no usable keys yet, introspection
	// down or answering badly, or the revocation store down (503).
	ErrUnavailable = errors.New("token verification unavailable")

	// ErrTokenTooLarge means the token was longer than tokens.max_token_bytes.
	ErrTokenTooLarge = errors.New("token too large")
	// ErrMalformed means the token is not a well-formed JWS compact serialization (bad base64url,
	// header or payload that is not a JSON object, not UTF-8, or names a member twice), or is
	// opaque (not three segments) while no introspection is configured.
	ErrMalformed = errors.New("malformed token")
	// ErrUnknownIssuer means the iss claim names no configured issuer.
	ErrUnknownIssuer = errors.New("unknown issuer")
	// ErrUnknownKey means the issuer has no key with the token's kid, or the token names no kid
	// while the issuer has more than one key.
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrKeyAlgorithm means the token's alg is not one the selected key is bound to.
	ErrKeyAlgorithm = errors.New("algorithm not allowed for this key")
	// ErrType means the typ header is not the one the issuer requires (at+jwt by default).
	ErrType = errors.New("wrong token type")
	// ErrHeader means the JOSE header carries a parameter Verdict refuses (crit, jku, x5u, jwk,
	// x5c, b64, cty, zip, enc).
	ErrHeader = errors.New("forbidden token header")
	// ErrClaim means a required claim is missing or a claim has the wrong type.
	ErrClaim = errors.New("missing or invalid claim")
	// ErrLifetime means exp - iat exceeds the issuer's max_lifetime.
	ErrLifetime = errors.New("token lifetime too long")
	// ErrInactive means the introspection endpoint did not answer "active": true for an opaque
	// token.
	ErrInactive = errors.New("token not active")
	// ErrRevoked means the revocation checker reports the token revoked.
	ErrRevoked = errors.New("token revoked")
)

// Principal is what a verified token says about its holder. A Principal returned by Verify may be
// shared with the verified-token cache: treat it and its maps as read-only.
type Principal struct {
	// Kind is "jwt" or "opaque".
	Kind string
	// Issuer is the iss claim: for a JWT always one of the configured issuers; for an opaque
	// token the introspection answer's iss, or tokens.introspection.issuer when it has none
	// (empty when neither is set).
	Issuer string
	// Subject is the subject id: the claim the issuer's subject_claim names (sub by default),
	// or the introspection answer's sub.
	Subject string
	// Properties are the subject properties built through the issuer's claim mapping (roles,
	// tenant, scopes, amr, acr, auth_time, client_id, clearance, and any configured extra).
	// Absent claims are absent here; numbers are json.Number.
	Properties map[string]any
	// Claims are all verified claims, numbers kept as json.Number.
	Claims map[string]any
	// TokenID is the jti claim, empty when the token has none.
	TokenID string
	// IssuedAt is the iat claim, zero when the token has none.
	IssuedAt time.Time
	// ExpiresAt is the exp claim; zero for an opaque token whose introspection answer has none.
	ExpiresAt time.Time

	// keyID is the id of the key that verified a JWT, so cached tokens leave the cache when a
	// refresh drops their key.
	keyID string
	// derived is what Derived built from this principal.
	derived atomic.Pointer[any]
}

// Derived returns what build makes of p, calling build only the first time for p: later calls,
// from any goroutine, get the same value. A Principal from the verified-token cache serves
// every request that presents its token, so work done here once (converting claims into
// policy values) is not done again per request. Two first calls at once may both build; one
// value is kept and returned to both.
func (p *Principal) Derived(build func() any) any {
	if v := p.derived.Load(); v != nil {
		return *v
	}
	v := build()
	if p.derived.CompareAndSwap(nil, &v) {
		return v
	}
	return *p.derived.Load()
}

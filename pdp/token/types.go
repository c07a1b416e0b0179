package token

import (
	"errors"
	"time"
)

// Errors of token verification. Every rejection wraps exactly one of the first four, so callers
// map it to a status with errors.Is; the finer reasons below say why, for logs and tests.
var (
	// ErrNoCredentials means the request carried no bearer token (401, no error code).
	ErrNoCredentials = errors.New("no bearer token")
	// ErrInvalidRequest means the credentials were malformed (400 invalid_request), such as two
	// Authorization headers.
	ErrInvalidRequest = errors.New("malformed credentials")
	// ErrInvalidToken means the token was refused (401 invalid_token).
	ErrInvalidToken = errors.New("invalid token")
	// ErrUnavailable means the token could not be checked: no usable keys, introspection or the
	// revocation store down (503).
	ErrUnavailable = errors.New("token verification unavailable")
)

// Principal is what a verified token says about its holder.
type Principal struct {
	// Kind is "jwt" or "opaque".
	Kind   string
	Issuer string
	// Subject is the sub claim.
	Subject string
	// Properties are the subject properties built through the issuer's claim mapping.
	Properties map[string]any
	// Claims are all verified claims.
	Claims    map[string]any
	TokenID   string
	IssuedAt  time.Time
	ExpiresAt time.Time
}
